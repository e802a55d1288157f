//! What is known of a workspace's files, and the changes made to it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::Metadata;

/// A file modified within this much of the moment its hash began may have
/// been written again in the same timestamp tick without its stat changing:
/// such an entry is hashed again at the next look (git's "racy" rule).
const RACY_NS: i64 = 5_000_000;

/// A file's identity on disk: if none of these changed, neither did the
/// content (outside the racy window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the epoch (0 where unknown).
    pub ctime_ns: i64,
    /// Inode number (0 where unknown).
    pub ino: u64,
}

impl Stat {
    /// The stat of `meta`.
    #[must_use]
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                size: meta.size(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            Self {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                ino: 0,
            }
        }
    }
}

/// One file of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The stat the checksum belongs to.
    pub stat: Stat,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// When the hash began, nanoseconds since the epoch.
    pub hashed_at_ns: i64,
}

impl Entry {
    /// The checksum in lowercase hex, as `sha256sum` prints it.
    #[must_use]
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// Whether a write could hide in the tick of the last hash.
    #[must_use]
    pub fn is_racy(&self) -> bool {
        self.stat.mtime_ns + RACY_NS >= self.hashed_at_ns
    }

    /// Whether the entry still describes a file whose stat is now `now`.
    #[must_use]
    pub fn is_current(&self, now: &Stat) -> bool {
        self.stat == *now && !self.is_racy()
    }
}

/// A change a scan made to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A file is new or its content (or stat) changed.
    Upsert(String, Entry),
    /// A file is gone (or now ignored).
    Remove(String),
}

impl Change {
    /// The file's path, relative to the root.
    #[must_use]
    pub fn path(&self) -> &str {
        match self {
            Self::Upsert(path, _) | Self::Remove(path) => path,
        }
    }
}

/// Every file of a workspace by its path relative to the root (`/`
/// separated), and the folders the last scans walked.
#[derive(Debug, Clone, Default)]
pub struct Index {
    files: BTreeMap<String, Entry>,
    /// Folders walked (not ignored), relative; `""` is the root. A folder
    /// an event names that is not here is new, or ignored.
    dirs: BTreeSet<String>,
}

impl Index {
    /// An index holding `files` (as persisted by a previous run); the next
    /// scan rediscovers the folders.
    pub fn from_files(files: impl IntoIterator<Item = (String, Entry)>) -> Self {
        Self {
            files: files.into_iter().collect(),
            dirs: BTreeSet::new(),
        }
    }

    /// The entry of `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.files.iter().map(|(p, e)| (p.as_str(), e))
    }

    /// How many files.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub(crate) fn knows_dir(&self, dir: &str) -> bool {
        self.dirs.contains(dir)
    }

    pub(crate) fn add_dir(&mut self, dir: String) {
        self.dirs.insert(dir);
    }

    /// Files under `dir` (all depths), relative paths.
    pub(crate) fn files_under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = dir_prefix(dir);
        self.files
            .range(prefix.clone()..)
            .map(|(p, _)| p.as_str())
            .take_while(move |p| p.starts_with(&prefix))
    }

    /// Forgets `dir` and the folders under it.
    pub(crate) fn forget_dirs(&mut self, dir: &str) {
        if dir.is_empty() {
            self.dirs.clear();
            return;
        }
        let prefix = dir_prefix(dir);
        self.dirs.retain(|d| d != dir && !d.starts_with(&prefix));
    }

    /// The walked folders directly inside `dir`.
    pub(crate) fn child_dirs(&self, dir: &str) -> Vec<String> {
        let prefix = dir_prefix(dir);
        self.dirs
            .range(prefix.clone()..)
            .take_while(|d| d.starts_with(&prefix))
            .filter(|d| !d.is_empty() && !d[prefix.len()..].contains('/'))
            .cloned()
            .collect()
    }

    /// Sets the entries of `files`, given in path order. An empty index is
    /// built from them in one pass (`BTreeMap` builds bottom-up from
    /// sorted input) rather than by one insertion each.
    pub(crate) fn set_sorted(&mut self, files: Vec<(String, Entry)>) {
        debug_assert!(files.is_sorted_by(|(a, _), (b, _)| a < b));
        if self.files.is_empty() {
            self.files = files.into_iter().collect();
        } else {
            self.files.extend(files);
        }
    }

    /// Applies a change.
    pub(crate) fn apply(&mut self, change: &Change) {
        match change {
            Change::Upsert(path, entry) => {
                self.files.insert(path.clone(), *entry);
            }
            Change::Remove(path) => {
                self.files.remove(path);
            }
        }
    }
}

/// `dir` as a prefix of the paths inside it: `""` for the root, else
/// `dir/`.
pub(crate) fn dir_prefix(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

/// The folder holding `path` (`""` for the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}
