//! What a folder is, whatever its path: the git repository it is the top
//! of (read from git's own files with `gix`, never by running `git`), or
//! the fingerprint of its content.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::index::Index;

/// A git checkout, as its files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCheckout {
    /// The top of the working tree (a worktree's own top for a worktree).
    pub top: PathBuf,
    /// The URL of the `origin` remote, else of the first remote, as
    /// configured (it may hold credentials: see
    /// `stint_model::workspace::public_remote`).
    pub remote: Option<String>,
    /// The root commit: the end of HEAD's first-parent chain.
    pub root_commit: Option<String>,
    /// The checked-out branch, without `refs/heads/`.
    pub branch: Option<String>,
    /// The commit checked out.
    pub head: Option<String>,
}

/// The git checkout whose top is `folder`, if it is one. A folder inside
/// a checkout but not its top is not one: its sessions' paths are
/// relative to it, not to the repository.
///
/// Finding the root commit walks HEAD's history once (a few ms for
/// thousands of commits); callers keep the answer.
#[must_use]
pub fn git_checkout(folder: &Path) -> Option<GitCheckout> {
    let dotgit = folder.join(".git");
    // `.git` is a folder in a clone, a `gitdir:` file in a worktree.
    if !dotgit.exists() {
        return None;
    }
    let repo = gix::open(folder).ok()?;
    let top = repo.workdir()?.to_path_buf();
    let (branch, head) = head_of(&repo);
    let root_commit = repo.head_id().ok().and_then(|head| {
        let walk = repo
            .rev_walk([head.detach()])
            .first_parent_only()
            .all()
            .ok()?;
        walk.filter_map(Result::ok)
            .last()
            .map(|info| info.id.to_string())
    });
    let remote = repo
        .find_default_remote(gix::remote::Direction::Fetch)
        .and_then(Result::ok)
        .or_else(|| {
            let name = repo.remote_names().into_iter().next()?;
            repo.find_remote(name.as_ref()).ok()
        })
        .and_then(|r| {
            r.url(gix::remote::Direction::Fetch)
                .map(|u| u.to_bstring().to_string())
        });
    Some(GitCheckout {
        top,
        remote,
        root_commit,
        branch,
        head,
    })
}

/// The branch and commit checked out in the checkout at `folder`: a read
/// of HEAD, cheap enough to do at every session update.
#[must_use]
pub fn git_head(folder: &Path) -> Option<(Option<String>, Option<String>)> {
    if !folder.join(".git").exists() {
        return None;
    }
    let repo = gix::open(folder).ok()?;
    Some(head_of(&repo))
}

fn head_of(repo: &gix::Repository) -> (Option<String>, Option<String>) {
    let branch = repo
        .head_name()
        .ok()
        .flatten()
        .map(|name| name.shorten().to_string());
    let head = repo.head_id().ok().map(|id| id.to_string());
    (branch, head)
}

/// The fingerprint of a content index: SHA-256 over every path and its
/// checksum, in path order. Two folders with the same files (a copy)
/// have the same one, whatever their paths.
#[must_use]
pub fn fingerprint(index: &Index) -> String {
    let mut hasher = Sha256::new();
    for (path, entry) in index.iter() {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(entry.sha256);
    }
    hex::encode(hasher.finalize())
}
