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
//! - `account.rs`: login, registration, tokens kept between runs (0600
//!   file), refresh with the rotated token saved first, logout.
//!
//! The local socket of the replica's owner, and sync, come next.

mod account;
mod device;
mod error;
mod profile;
mod resume;
pub mod scrub;

pub use account::Credentials;
pub use device::{Change, Device, NewSession, SessionFilter, Status};
pub use error::{ClientError, Result};
pub use profile::{Profile, data_dir};
pub use resume::{OpenCommand, Resume};
pub use stint_db::Related;
