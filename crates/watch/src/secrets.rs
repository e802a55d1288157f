//! Which files are secrets whose checksums stay on the device.
//!
//! The SHA-256 of a small, low-entropy file (`.env` holding
//! `DB_PASSWORD=hunter2`) lets anyone who reads it confirm a guess of the
//! content. Such files are indexed like any other, so the device still
//! knows when they change, but their checksums are never synced.
//!
//! The list is [`DEFAULT_SECRETS`] plus the workspace's `.stintsecrets`,
//! in `.gitignore` syntax: a line adds a pattern, `!pattern` takes one
//! back, and `!*` shares every checksum of the workspace (the opt-in).

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The workspace's own list, at its root.
pub const SECRETS_FILE: &str = ".stintsecrets";

/// Files whose checksums stay on the device unless `.stintsecrets` says
/// otherwise: environment files, keys, certificates' private halves and
/// credential stores.
pub const DEFAULT_SECRETS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_*",
    "credentials*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.kdbx",
    "secrets.*",
];

/// The secret-file rules of one workspace.
#[derive(Debug, Clone)]
pub struct Secrets {
    rules: Gitignore,
}

impl Secrets {
    /// The rules of the workspace at `root`: the defaults, then its
    /// `.stintsecrets` if it has one (a line that does not parse is
    /// skipped and reported through `tracing`).
    #[must_use]
    pub fn of(root: &Path) -> Self {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in DEFAULT_SECRETS {
            builder
                .add_line(None, pattern)
                .expect("the default secret patterns parse");
        }
        let own = root.join(SECRETS_FILE);
        if own.is_file()
            && let Some(e) = builder.add(&own)
        {
            tracing::warn!("{}: {e}", own.display());
        }
        let rules = builder.build().unwrap_or_else(|e| {
            tracing::warn!("{}: {e}", own.display());
            Gitignore::empty()
        });
        Self { rules }
    }

    /// Whether the file at `rel` (relative, `/`-separated) is a secret.
    #[must_use]
    pub fn is_secret(&self, rel: &str) -> bool {
        self.rules
            .matched_path_or_any_parents(rel, false)
            .is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(own: Option<&str>, expected: &[(&str, bool)]) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(own) = own {
            std::fs::write(dir.path().join(SECRETS_FILE), own).unwrap();
        }
        let secrets = Secrets::of(dir.path());
        for (path, secret) in expected {
            assert_eq!(secrets.is_secret(path), *secret, "{path} with {own:?}");
        }
    }

    #[test]
    fn secret_files_are_told_apart() {
        check(
            None,
            &[
                (".env", true),
                ("config/.env.production", true),
                ("deploy/server.pem", true),
                ("keys/id_ed25519", true),
                ("aws/credentials", true),
                ("src/main.rs", false),
                ("README.md", false),
                ("src/environment.rs", false),
            ],
        );
        check(
            Some("config/*.toml\n!.env.example\n"),
            &[
                ("config/prod.toml", true),
                (".env.example", false),
                (".env", true),
            ],
        );
        // The opt-in: every checksum of the workspace is shared.
        check(Some("!*\n"), &[(".env", false), ("keys/id_rsa", false)]);
    }
}
