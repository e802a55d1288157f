//! What the watcher tests share: a device's view of the index (the
//! watcher's changes applied to a map, as a device persists them) and its
//! comparison with a fresh full scan.

use std::collections::BTreeMap;
use std::path::Path;

use stint_watch::{Change, Index, Options, scan};

/// Path → SHA-256 (hex).
pub(crate) type Files = BTreeMap<String, String>;

/// Applies a watcher's changes; returns the paths it upserted.
pub(crate) fn apply(files: &mut Files, changes: Vec<Change>) -> Vec<String> {
    let mut upserted = Vec::new();
    for change in changes {
        match change {
            Change::Upsert(path, entry) => {
                upserted.push(path.clone());
                files.insert(path, entry.sha256_hex());
            }
            Change::Remove(path) => {
                files.remove(&path);
            }
        }
    }
    upserted
}

/// A fresh full scan of `root`.
pub(crate) fn fresh_scan(root: &Path) -> Files {
    let mut fresh = Index::default();
    scan(root, &mut fresh, &Options::default(), &mut |_| {});
    checksums(&fresh)
}

/// The checksums an index holds.
pub(crate) fn checksums(index: &Index) -> Files {
    index
        .iter()
        .map(|(p, e)| (p.to_owned(), e.sha256_hex()))
        .collect()
}

/// How `seen` differs from `fresh`, path by path, for a failure message.
pub(crate) fn differences(seen: &Files, fresh: &Files) -> String {
    let mut lines = Vec::new();
    for (path, sha) in fresh {
        match seen.get(path) {
            None => lines.push(format!("  missing: {path}")),
            Some(other) if other != sha => lines.push(format!("  stale:   {path}")),
            Some(_) => {}
        }
    }
    for path in seen.keys().filter(|p| !fresh.contains_key(*p)) {
        lines.push(format!("  extra:   {path}"));
    }
    lines.join("\n")
}
