//! # stint-watch
//!
//! Keeps, for every file of a workspace folder, its size, modification
//! time and SHA-256 — current while the folder changes, cheap to bring up
//! to date after a restart. It knows files and folders only: no sessions,
//! no records, no database. The device (`stint-client`) persists what it
//! reports and turns it into File records.
//!
//! ## Layout
//!
//! - `index.rs`: the [`Index`] — what is known of each file ([`Entry`]:
//!   its [`Stat`] and checksum) and of each folder walked — and the
//!   [`Change`]s a scan makes to it.
//! - `walk.rs`: which files belong to the workspace: `.gitignore`,
//!   `.ignore` and `.stintignore` honoured, `.git/`, `target/` and
//!   `node_modules/` skipped, symlinks not followed unless asked.
//! - `hash.rs`: one file's SHA-256, streamed through a reused buffer (no
//!   whole-file read, no mmap), checked against a second look at the file
//!   so that a file written while it is read is hashed again.
//! - `scan.rs`: a full or partial scan — walk, compare with the index,
//!   hash what changed on every core, report [`Progress`] and
//!   [`Problem`]s. A file is hashed again only if its size, modification
//!   time (ns), inode or ctime changed, or if it was modified so close to
//!   its last hash that a later write could hide in the same clock tick.
//! - `identity.rs`: what a folder is whatever its path: the git checkout
//!   it is the top of (remote, root commit, branch, HEAD, read with `gix`
//!   from git's files) or the [`fingerprint`] of its index.
//! - `secrets.rs`: which files' checksums stay on the device ([`Secrets`]:
//!   `.env`, keys, … and the workspace's `.stintsecrets`).
//! - `anchor.rs`: a line found again after its file changed, from hashes
//!   of the lines around it.
//! - `watcher.rs`: the live [`Watcher`]: notify events debounced (about
//!   50 ms), then the folders they touched reconciled — the same code as a
//!   scan, so the index always ends as a fresh full scan would leave it.
//!   Its owner reads that index in place ([`Watcher::read`]).
//!
//! ## Why folders, not single events
//!
//! Events are hints. A burst, a rename, a folder created with files
//! already in it, or a lost event all end the same way: the folders the
//! events name are listed again and compared with the index. What was lost
//! entirely (the kernel's queue overflowed) is caught by a full rescan,
//! which only hashes what changed.

pub mod anchor;
mod hash;
mod identity;
mod index;
mod scan;
mod secrets;
mod walk;
mod watcher;

pub use hash::sha256_file;
pub use identity::{GitCheckout, fingerprint, git_checkout, git_head};
pub use index::{Change, Entry, Index, Stat};
pub use scan::{Options, Problem, ProblemKind, Progress, Report, scan};
pub use secrets::{DEFAULT_SECRETS, SECRETS_FILE, Secrets};
pub use walk::IGNORE_FILE;
pub use watcher::{Event, WatchError, Watcher};
