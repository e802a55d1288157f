//! Workspace identity: what makes two folders on two devices "the same
//! project", whatever their paths.
//!
//! - A git repository is named by its normalized remote URL and its root
//!   commit: `git:github.com/ada/app@903af048f9b2`. Every clone and every
//!   worktree of it has that name. Without a remote it is `git:@<root>`;
//!   a repository with a remote but no commit yet is `git:<remote>`.
//! - A folder without git is named by a fingerprint of its content index
//!   (`fp:` and 32 hex digits), taken when it is first seen, so that a
//!   copy of it is recognized.
//!
//! Paths always start with `/` (or a drive letter), identities with `git:`
//! or `fp:`, so one index can hold both without ambiguity.

use serde::{Deserialize, Serialize};

use crate::validate::ValidationError;

/// Longest identity accepted.
pub const MAX_ID_CHARS: usize = 512;

/// How many hex digits of the root commit an identity keeps: enough that
/// two unrelated repositories never meet, short enough to read.
const ROOT_DIGITS: usize = 12;

/// The git side of a session's workspace, as it was when last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitState {
    /// The `origin` remote (else the first one), credentials removed:
    /// what `git clone` takes on a device without a checkout.
    #[serde(default)]
    pub remote: Option<String>,
    /// The checked-out branch (`main`); none on a detached HEAD.
    #[serde(default)]
    pub branch: Option<String>,
    /// The commit checked out, in hex.
    #[serde(default)]
    pub head: Option<String>,
}

/// A remote URL reduced to what names the repository: host and path,
/// lowercase host, no user, password, port, scheme, `.git` or trailing
/// `/`. `git@github.com:a/b.git`, `https://github.com/a/b` and
/// `ssh://git@github.com:22/a/b.git` are all `github.com/a/b`. A local
/// path (`/srv/git/app.git`, `file://…`) names no shared repository:
/// `None`.
#[must_use]
pub fn normalize_remote(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = split_remote(url)?;
    let host = host.to_ascii_lowercase();
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if host.is_empty() || path.is_empty() || has_control(&host) || has_control(path) {
        return None;
    }
    Some(format!("{host}/{path}"))
}

/// The host and path of a remote URL; `None` for local paths.
fn split_remote(url: &str) -> Option<(&str, &str)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // `[::1]:22`, `host:22`: the port names no repository.
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        return Some((host, path));
    }
    // scp-like: `[user@]host:path`, where the host has no `/` (a local
    // path such as `./a:b` or `/srv/a:b` is not a remote).
    let (before, path) = url.split_once(':')?;
    if before.contains('/') || before.is_empty() {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
    Some((host, path))
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A remote URL fit to be stored and shown: a password or token in it
/// (`https://ada:ghp_…@github.com/a/b`) is removed, the user kept only
/// where no secret can hide in it (`git@github.com:a/b`). `None` for
/// local paths, which mean nothing on another device.
#[must_use]
pub fn public_remote(url: &str) -> Option<String> {
    let url = url.trim();
    normalize_remote(url)?;
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // ssh's user is a login name, not a secret; an http user often is
        // a token, so it goes.
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| user)
            .filter(|u| scheme.starts_with("ssh") && !u.contains(':'));
        return Some(match user {
            Some(user) => format!("{scheme}://{user}@{host}/{path}"),
            None => format!("{scheme}://{host}/{path}"),
        });
    }
    Some(url.to_owned())
}

/// The identity of a git repository with remote `remote` (any form) and
/// root commit `root` (hex); `None` when it has neither.
#[must_use]
pub fn git_id(remote: Option<&str>, root: Option<&str>) -> Option<String> {
    let remote = remote.and_then(normalize_remote);
    let root = root.map(|r| r.get(..ROOT_DIGITS).unwrap_or(r).to_ascii_lowercase());
    match (remote, root) {
        (None, None) => None,
        (Some(remote), None) => Some(format!("git:{remote}")),
        (remote, Some(root)) => Some(format!("git:{}@{root}", remote.unwrap_or_default())),
    }
}

/// The identity of a folder without git whose content fingerprint is
/// `digest` (hex).
#[must_use]
pub fn fingerprint_id(digest: &str) -> String {
    format!("fp:{}", &digest[..digest.len().min(32)])
}

/// Whether a workspace identity is a content fingerprint (rather than a
/// git repository's).
#[must_use]
pub fn is_fingerprint(id: &str) -> bool {
    id.starts_with("fp:")
}

/// Checks a workspace identity as a client sends it.
pub fn validate_id(field: &str, id: &str) -> Result<(), ValidationError> {
    let well_formed = match id.split_once(':') {
        Some(("git", rest)) => !rest.is_empty(),
        Some(("fp", hex)) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => false,
    };
    if !well_formed {
        return Err(ValidationError::new(
            field,
            "must be a workspace identity: `git:HOST/PATH@ROOT` or `fp:HEX`",
        ));
    }
    if id.chars().count() > MAX_ID_CHARS || has_control(id) {
        return Err(ValidationError::new(
            field,
            format!(
                "must be at most {MAX_ID_CHARS} characters, without spaces or control characters"
            ),
        ));
    }
    Ok(())
}

impl GitState {
    /// Checks what a client sends.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if let Some(remote) = &self.remote
            && (remote.chars().count() > MAX_ID_CHARS || has_control(remote))
        {
            return Err(ValidationError::new(
                format!("{field}.remote"),
                "must be a URL of at most 512 characters",
            ));
        }
        if let Some(branch) = &self.branch
            && (branch.is_empty() || branch.chars().count() > 255 || has_control(branch))
        {
            return Err(ValidationError::new(
                format!("{field}.branch"),
                "must be a branch name of 1 to 255 characters",
            ));
        }
        if let Some(head) = &self.head
            && !(matches!(head.len(), 40 | 64) && head.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ValidationError::new(
                format!("{field}.head"),
                "must be a commit id in hex",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, normalized: Option<&str>, public: Option<&str>) {
        assert_eq!(normalize_remote(url).as_deref(), normalized, "{url}");
        assert_eq!(public_remote(url).as_deref(), public, "{url}");
    }

    #[test]
    fn remotes_of_one_repository_are_one() {
        let gh = Some("github.com/ada/app");
        check(
            "git@github.com:ada/app.git",
            gh,
            Some("git@github.com:ada/app.git"),
        );
        check(
            "https://github.com/ada/app",
            gh,
            Some("https://github.com/ada/app"),
        );
        check(
            "https://GitHub.com/ada/app.git/",
            gh,
            Some("https://GitHub.com/ada/app.git/"),
        );
        check(
            "ssh://git@github.com:22/ada/app.git",
            gh,
            Some("ssh://git@github.com:22/ada/app.git"),
        );
        // A token in the URL is never kept.
        check(
            "https://ada:ghp_s3cr3t@github.com/ada/app.git",
            gh,
            Some("https://github.com/ada/app.git"),
        );
        check(
            "https://ghp_s3cr3t@github.com/ada/app",
            gh,
            Some("https://github.com/ada/app"),
        );
        check(
            "ssh://ada:pw@host.example/ada/app",
            Some("host.example/ada/app"),
            Some("ssh://host.example/ada/app"),
        );
        check(
            "git://gitlab.com/g/sub/app.git",
            Some("gitlab.com/g/sub/app"),
            Some("git://gitlab.com/g/sub/app.git"),
        );
        // Paths on this machine name nothing another device has.
        check("/srv/git/app.git", None, None);
        check("file:///srv/git/app.git", None, None);
        check("../app", None, None);
        check("", None, None);
        check("https://github.com/", None, None);
    }

    #[test]
    fn identities_name_remote_and_root() {
        let root = "903af048f9b2a45ec6354af4387ad5a6b5aa5257";
        assert_eq!(
            git_id(Some("git@github.com:ada/app.git"), Some(root)).as_deref(),
            Some("git:github.com/ada/app@903af048f9b2")
        );
        assert_eq!(
            git_id(None, Some(root)).as_deref(),
            Some("git:@903af048f9b2")
        );
        assert_eq!(
            git_id(Some("https://github.com/ada/app"), None).as_deref(),
            Some("git:github.com/ada/app")
        );
        assert_eq!(git_id(Some("/local/path"), None), None);
        for id in [
            "git:github.com/ada/app@903af048f9b2",
            "git:@903af048f9b2",
            "fp:0123abcd",
        ] {
            assert!(validate_id("workspace_id", id).is_ok(), "{id}");
        }
        for id in ["", "/src/app", "git:", "fp:xyz", "git:a b", "svn:x"] {
            assert!(validate_id("workspace_id", id).is_err(), "{id}");
        }
    }
}
