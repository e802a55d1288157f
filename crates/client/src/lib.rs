//! # stint-client
//!
//! Everything a Stint device does, behind one facade, [`Device`]: the CLI
//! and the desktop app are thin faces over it and hold no logic of their own.
//!
//! ## Layout
//!
//! - `profile.rs`: the data directory and the device profile (device id,
//!   the local tenant used before any login, the server URL).
//! - `device.rs`: the facade: the local replica (`stint-db` over sled) and
//!   every operation on workspace sessions, all working offline. Every
//!   write is flushed before the call returns.
//! - `scrub.rs`: secrets (tokens, keys, passwords) removed from terminal
//!   history, environment and notes before they are stored.
//! - `resume.rs`: the command lines that bring a workspace back.
//! - `workspace.rs`: workspaces across devices: a folder's identity (git
//!   remote and root commit, or a content fingerprint), the device's map
//!   of identities to folders, and the preflight of a resume.
//! - `account.rs`: login, registration, tokens kept between runs (the
//!   refresh token in the OS keyring, else a 0600 file), refresh with the
//!   rotated token saved first, logout.
//!
//! - `hook.rs`: the shell hook: commands spooled by `stint hook`, drained
//!   into the active session by the replica's owner.
//! - `protocol.rs`: the local protocol (JSON-RPC 2.0, a message per line,
//!   a `hello` that names its version): every operation declared once,
//!   its params, dispatch and typed [`Client`] method derived from that.
//! - `local.rs`: one owner of the replica per device: `stint agent` serves
//!   the protocol on a 0600 Unix socket; every other process reaches it
//!   through [`connect`], or opens the replica itself when no agent runs.
//! - `owner.rs`: the owner of the replica (the agent, the desktop app):
//!   serves the socket, syncs in the background, runs the watches, and
//!   tells what happened as [`News`].
//! - `windows.rs`: editor windows listening on the owner's socket, so
//!   that a resume asked elsewhere happens in the window open on the
//!   workspace.
//! - `settings.rs`: the user's settings and a session's conversations.
//! - `tenancy.rs`: the tenants of the user, and switching between them.
//! - `sync.rs`: the sync engine: rounds that push the outbox in bounded
//!   batches, then pull pages with their cursor; `watch` runs them when the
//!   server announces changes, with backoff while it is unreachable.

mod account;
mod device;
mod error;
pub mod hook;
mod local;
mod owner;
mod profile;
pub mod protocol;
mod resume;
pub mod scrub;
mod settings;
mod sync;
mod tenancy;
mod watch;
mod windows;
mod workspace;

pub use account::Account;
pub use device::{Change, Device, FolderSession, NewSession, SessionFilter, Status};
pub use error::{ClientError, Result};
pub use local::{Client, connect, connect_agent};
pub use owner::{News, Owner, serve_agent};
pub use profile::{Profile, data_dir};
pub use resume::{OpenCommand, Resume};
pub use stint_db::SetAside;
pub use stint_model::Conflict;
pub use stint_model::api::RelatedSession;
pub use sync::{SyncReport, SyncStatus};
pub use watch::{FileMatch, FileQuery, WatchState, WatchStatus};
pub use windows::ResumedIn;
pub use workspace::{Identity, Placed, Placement, Preflight, WorkspaceView};
