//! Which files belong to a workspace, and their stats.

use std::path::Path;

use ignore::WalkBuilder;

use crate::index::Stat;
use crate::scan::{Problem, ProblemKind};

/// A workspace's own ignore file, in `.gitignore` syntax, beside `.gitignore`
/// and `.ignore` (which are honoured too).
pub const IGNORE_FILE: &str = ".stintignore";

/// Folders never worth indexing: version control internals and build and
/// dependency outputs, wherever they are in the tree.
const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// What a walk found.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    /// Regular files: relative path and stat.
    pub(crate) files: Vec<(String, Stat)>,
    /// Folders entered (the walk's own root included), relative.
    pub(crate) dirs: Vec<String>,
    pub(crate) problems: Vec<Problem>,
    /// The walk's root itself could not be listed (gone, or unreadable).
    pub(crate) root_missing: bool,
}

/// Whether a file's name makes the walk's rules change: then the whole
/// tree must be walked again.
pub(crate) fn is_rule_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(name, ".gitignore" | ".ignore" | IGNORE_FILE)
}

/// Whether `rel` lies in a folder that is always skipped.
pub(crate) fn in_skipped_dir(rel: &str) -> bool {
    rel.split('/').any(|c| SKIPPED_DIRS.contains(&c))
}

/// Walks `root/sub` (all of it, or only its direct entries when
/// `shallow`), with the workspace's ignore rules.
pub(crate) fn walk(root: &Path, sub: &str, shallow: bool, follow_links: bool) -> Walked {
    let mut walked = Walked::default();
    let start = if sub.is_empty() {
        root.to_owned()
    } else {
        root.join(sub)
    };
    match std::fs::symlink_metadata(&start) {
        Ok(meta) if meta.is_dir() => {}
        _ => {
            walked.root_missing = true;
            return walked;
        }
    }
    let mut builder = WalkBuilder::new(&start);
    builder
        .hidden(false)
        .require_git(false)
        .git_global(false)
        .follow_links(follow_links)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| SKIPPED_DIRS.contains(&n)))
        });
    if shallow {
        builder.max_depth(Some(1));
    }
    for result in builder.build() {
        let entry = match result {
            Ok(entry) => entry,
            Err(e) => {
                walked.problems.push(Problem::from_walk(root, &e));
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let rel = match entry.path().strip_prefix(root) {
            Ok(rel) => rel,
            Err(_) => continue,
        };
        let Some(rel) = rel.to_str() else {
            walked.problems.push(Problem::new(
                entry.path(),
                ProblemKind::NotUtf8,
                "the name is not UTF-8; the file is left out",
            ));
            continue;
        };
        if file_type.is_dir() {
            walked.dirs.push(rel.to_owned());
        } else if file_type.is_file() {
            match entry.metadata() {
                Ok(meta) => walked.files.push((rel.to_owned(), Stat::of(&meta))),
                // Gone between the listing and the stat: as if never seen.
                Err(e)
                    if e.io_error()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => {}
                Err(e) => walked.problems.push(Problem::from_walk(root, &e)),
            }
        }
        // Symlinks (not followed), sockets, fifos, devices: not content.
    }
    walked
}
