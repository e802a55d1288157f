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

/// One entry of a walk, classified.
enum Found {
    File(String, Stat),
    Dir(String),
    Problem(Problem),
    Nothing,
}

impl Walked {
    fn add(&mut self, found: Found) {
        match found {
            Found::File(path, stat) => self.files.push((path, stat)),
            Found::Dir(path) => self.dirs.push(path),
            Found::Problem(problem) => self.problems.push(problem),
            Found::Nothing => {}
        }
    }
}

/// Walks `root/sub` (all of it, or only its direct entries when
/// `shallow`), with the workspace's ignore rules; a whole tree on
/// `threads` threads.
pub(crate) fn walk(
    root: &Path,
    sub: &str,
    shallow: bool,
    follow_links: bool,
    threads: usize,
) -> Walked {
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
    if shallow || threads <= 1 {
        for result in builder.build() {
            walked.add(classify(root, result));
        }
    } else {
        let (tx, rx) = std::sync::mpsc::channel();
        builder.threads(threads).build_parallel().run(|| {
            let tx = tx.clone();
            Box::new(move |result| {
                let _ = tx.send(classify(root, result));
                ignore::WalkState::Continue
            })
        });
        drop(tx);
        for found in rx {
            walked.add(found);
        }
    }
    walked
}

fn classify(root: &Path, result: Result<ignore::DirEntry, ignore::Error>) -> Found {
    let entry = match result {
        Ok(entry) => entry,
        Err(e) => return Found::Problem(Problem::from_walk(root, &e)),
    };
    let Some(file_type) = entry.file_type() else {
        return Found::Nothing;
    };
    let Ok(rel) = entry.path().strip_prefix(root) else {
        return Found::Nothing;
    };
    let Some(rel) = rel.to_str() else {
        return Found::Problem(Problem::new(
            entry.path(),
            ProblemKind::NotUtf8,
            "the name is not UTF-8; the file is left out",
        ));
    };
    if file_type.is_dir() {
        Found::Dir(rel.to_owned())
    } else if file_type.is_file() {
        match entry.metadata() {
            Ok(meta) => Found::File(rel.to_owned(), Stat::of(&meta)),
            // Gone between the listing and the stat: as if never seen.
            Err(e)
                if e.io_error()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
            {
                Found::Nothing
            }
            Err(e) => Found::Problem(Problem::from_walk(root, &e)),
        }
    } else {
        // Symlinks (not followed), sockets, fifos, devices: not content.
        Found::Nothing
    }
}
