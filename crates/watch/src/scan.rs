//! Scans: walk, compare with the index, hash what changed on every core.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::hash::{Hashed, Hasher};
use crate::index::{Change, Index, Stat, dir_prefix};
use crate::walk::{self, Walked};

/// How a workspace is scanned.
#[derive(Debug, Clone)]
pub struct Options {
    /// Files hashed at once: one per core when the files are in the page
    /// cache (hashing is the limit), more when the disk is.
    pub threads: usize,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
    /// How often a watcher without live events (the inotify watch limit
    /// is reached) rescans the tree instead.
    pub fallback_rescan: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            follow_links: false,
            fallback_rescan: Duration::from_secs(30),
        }
    }
}

/// How far a scan is: files and bytes to hash, and hashed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Files found by the walk.
    pub files_seen: usize,
    /// Files that must be hashed.
    pub files_to_hash: usize,
    /// Of those, hashed so far.
    pub files_hashed: usize,
    /// Bytes that must be hashed.
    pub bytes_to_hash: u64,
    /// Of those, hashed so far.
    pub bytes_hashed: u64,
}

/// What kind of trouble a file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Permission denied, or another read error.
    Unreadable,
    /// The name is not UTF-8.
    NotUtf8,
    /// It kept changing while it was hashed.
    KeptChanging,
    /// A symbolic link loop (only when links are followed).
    Loop,
}

/// A file that could not be indexed, and why. Never fatal: the file is
/// left out of the index until a later look succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or folder.
    pub path: PathBuf,
    /// What kind of trouble.
    pub kind: ProblemKind,
    /// Said for a person.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: &Path, kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn from_walk(root: &Path, e: &ignore::Error) -> Self {
        let path = walk_error_path(e).unwrap_or(root).to_owned();
        let kind = if is_loop(e) {
            ProblemKind::Loop
        } else {
            ProblemKind::Unreadable
        };
        Self {
            path,
            kind,
            message: e.to_string(),
        }
    }
}

fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

fn walk_error_path(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// What a scan did.
#[derive(Debug, Default)]
pub struct Report {
    /// The changes made to the index, in the order made.
    pub changes: Vec<Change>,
    /// Files left out, and why.
    pub problems: Vec<Problem>,
    /// Files the walk found.
    pub files_seen: usize,
    /// Files hashed.
    pub files_hashed: usize,
    /// Bytes hashed.
    pub bytes_hashed: u64,
}

impl Report {
    /// Makes `change` to the index and records it.
    fn change(&mut self, index: &mut Index, change: Change) {
        index.apply(&change);
        self.changes.push(change);
    }

    /// Removes `path` from the index, if it is there.
    fn remove(&mut self, index: &mut Index, path: String) {
        if index.get(&path).is_some() {
            self.change(index, Change::Remove(path));
        }
    }

    fn absorb(&mut self, other: Self) {
        self.changes.extend(other.changes);
        self.problems.extend(other.problems);
        self.files_seen += other.files_seen;
        self.files_hashed += other.files_hashed;
        self.bytes_hashed += other.bytes_hashed;
    }
}

/// Scans the whole tree under `root` and brings `index` up to date:
/// files whose stat is unchanged (and not racy) keep their checksum, the
/// others are hashed, the missing ones removed. `progress` is called from
/// time to time, and once at the end.
pub fn scan(
    root: &Path,
    index: &mut Index,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let walked = walk::walk(root, "", false, options.follow_links, options.threads);
    reconcile(root, index, "", false, walked, options, progress)
}

/// Brings the folders `dirs` (relative) up to date: each is listed again
/// (its direct entries only), new subfolders are walked whole, vanished
/// ones forgotten with their files.
pub(crate) fn rescan_dirs(
    root: &Path,
    index: &mut Index,
    dirs: &[String],
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let mut report = Report::default();
    for dir in dirs {
        let walked = walk::walk(root, dir, true, options.follow_links, 1);
        let fresh: Vec<String> = walked
            .dirs
            .iter()
            .filter(|d| *d != dir && !index.knows_dir(d))
            .cloned()
            .collect();
        report.absorb(reconcile(root, index, dir, true, walked, options, progress));
        for new in fresh {
            let walked = walk::walk(root, &new, false, options.follow_links, options.threads);
            report.absorb(reconcile(
                root, index, &new, false, walked, options, progress,
            ));
        }
    }
    report
}

/// Makes the index agree with what a walk of `dir` found: `shallow` walks
/// saw `dir`'s direct entries only.
fn reconcile(
    root: &Path,
    index: &mut Index,
    dir: &str,
    shallow: bool,
    walked: Walked,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Report {
    let mut report = Report {
        problems: walked.problems,
        files_seen: walked.files.len(),
        ..Report::default()
    };
    if walked.root_missing {
        // The folder is gone: so is everything the index had under it.
        let gone: Vec<String> = index.files_under(dir).map(str::to_owned).collect();
        for path in gone {
            report.remove(index, path);
        }
        index.forget_dirs(dir);
        return report;
    }

    // What the index had in the scanned part of the tree.
    let listed_dirs: std::collections::HashSet<&str> =
        walked.dirs.iter().map(String::as_str).collect();
    let before: Vec<String> = if shallow {
        let prefix = dir_prefix(dir);
        index
            .files_under(dir)
            .filter(|p| {
                let rest = &p[prefix.len()..];
                match rest.split_once('/') {
                    // Directly in the folder.
                    None => true,
                    // In a subfolder: the shallow walk vouches for it only
                    // by the subfolder being listed.
                    Some((child, _)) => !listed_dirs.contains(format!("{prefix}{child}").as_str()),
                }
            })
            .map(str::to_owned)
            .collect()
    } else {
        index.files_under(dir).map(str::to_owned).collect()
    };
    if shallow {
        for child in index.child_dirs(dir) {
            if !listed_dirs.contains(child.as_str()) {
                index.forget_dirs(&child);
            }
        }
    } else {
        index.forget_dirs(dir);
    }
    for d in walked.dirs {
        index.add_dir(d);
    }

    let seen: std::collections::HashSet<&str> =
        walked.files.iter().map(|(p, _)| p.as_str()).collect();
    for path in before {
        if !seen.contains(path.as_str()) {
            report.remove(index, path);
        }
    }

    let mut jobs: Vec<(String, Stat)> = walked
        .files
        .into_iter()
        .filter(|(path, stat)| !index.get(path).is_some_and(|e| e.is_current(stat)))
        .collect();
    // Largest first, so that no core is left with a big file at the end.
    jobs.sort_unstable_by_key(|(_, stat)| std::cmp::Reverse(stat.size));
    let hashed = hash_all(root, &jobs, options, report.files_seen, progress);
    // Taken in path order, the new entries go into the index's B-tree left
    // to right (in one bottom-up pass when it was empty), not at random
    // places: in the size order of the hashing, 50,000 insertions took
    // 40–80 ms on one core while the other waited.
    let mut outcomes: Vec<(String, Hashed)> =
        jobs.into_iter().map(|(path, _)| path).zip(hashed).collect();
    outcomes.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    let mut hashed_files = Vec::with_capacity(outcomes.len());
    for (path, outcome) in outcomes {
        match outcome {
            Hashed::Done(entry) => {
                report.files_hashed += 1;
                report.bytes_hashed += entry.stat.size;
                // A racy entry hashed again to the same content and stat
                // is no news: only its hash time moves on.
                let news = index
                    .get(&path)
                    .is_none_or(|old| old.stat != entry.stat || old.sha256 != entry.sha256);
                if news {
                    report.changes.push(Change::Upsert(path.clone(), entry));
                }
                hashed_files.push((path, entry));
            }
            Hashed::Vanished => report.remove(index, path),
            Hashed::Changing => {
                report.problems.push(Problem::new(
                    &root.join(&path),
                    ProblemKind::KeptChanging,
                    "kept changing while it was read; it will be hashed when it settles",
                ));
                report.remove(index, path);
            }
            Hashed::Failed(e) => {
                report.problems.push(Problem::new(
                    &root.join(&path),
                    ProblemKind::Unreadable,
                    e.to_string(),
                ));
                report.remove(index, path);
            }
        }
    }
    // Each path once in `outcomes`: setting these after the removals
    // above leaves the index as setting each in turn would.
    index.set_sorted(hashed_files);
    report
}

/// Hashes `jobs` on `options.threads` threads, each with its own buffer,
/// reporting progress from the calling thread every 100 ms (and at once
/// when the last worker ends: the watcher's latency depends on it).
fn hash_all(
    root: &Path,
    jobs: &[(String, Stat)],
    options: &Options,
    files_seen: usize,
    progress: &mut dyn FnMut(Progress),
) -> Vec<Hashed> {
    let total = Progress {
        files_seen,
        files_to_hash: jobs.len(),
        bytes_to_hash: jobs.iter().map(|(_, s)| s.size).sum(),
        ..Progress::default()
    };
    let next = AtomicUsize::new(0);
    let done_files = AtomicUsize::new(0);
    let done_bytes = AtomicU64::new(0);
    let results: Vec<Mutex<Option<Hashed>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    if jobs.is_empty() {
        progress(total);
        return Vec::new();
    }
    // A few small files (what a watcher's batch usually holds) are hashed
    // here: starting threads would cost more than it saves.
    let bytes: u64 = jobs.iter().map(|(_, s)| s.size).sum();
    if jobs.len() <= 4 && bytes <= 4 * 1024 * 1024 {
        let mut hasher = Hasher::new();
        let hashed = jobs
            .iter()
            .map(|(path, stat)| hasher.hash(&root.join(path), *stat))
            .collect();
        progress(Progress {
            files_hashed: jobs.len(),
            bytes_hashed: bytes,
            ..total
        });
        return hashed;
    }
    let threads = options.threads.clamp(1, jobs.len());
    let caller = std::thread::current();
    let finished = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let caller = caller.clone();
            let finished = &finished;
            scope.spawn(|| {
                let _wake = Wake { caller, finished };
                let mut hasher = Hasher::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, stat)) = jobs.get(i) else {
                        break;
                    };
                    let outcome = hasher.hash(&root.join(path), *stat);
                    *results[i].lock().expect("result slot") = Some(outcome);
                    done_bytes.fetch_add(stat.size, Ordering::Relaxed);
                    done_files.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let report = || Progress {
            files_hashed: done_files.load(Ordering::Relaxed),
            bytes_hashed: done_bytes.load(Ordering::Relaxed),
            ..total
        };
        // Counted by the workers themselves: a thread's own "finished"
        // flag is set only after its last unpark, which would leave this
        // loop parked for a whole period.
        while finished.load(Ordering::SeqCst) < threads {
            progress(report());
            std::thread::park_timeout(Duration::from_millis(100));
        }
        progress(report());
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().expect("result slot").expect("hashed"))
        .collect()
}

/// Counts a worker as finished and wakes the scanning thread when the
/// worker ends, however it ends.
struct Wake<'a> {
    caller: std::thread::Thread,
    finished: &'a AtomicUsize,
}

impl Drop for Wake<'_> {
    fn drop(&mut self) {
        self.finished.fetch_add(1, Ordering::SeqCst);
        self.caller.unpark();
    }
}
