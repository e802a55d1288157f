//! # stint-db
//!
//! Stint's records in a [`Store`]: typed repositories for the ten record
//! types, the tenant-prefixed key layout with every secondary index, the
//! per-tenant change log, and the cross-session queries. It names no backend:
//! the same code runs on the desktop's sled replica, the server's redb file
//! and a FoundationDB cluster.
//!
//! ## Layout
//!
//! - `keys.rs`: the key layout, all of it (read its doc first).
//! - `record.rs`: how any record is stored: envelope with revision,
//!   tombstones, chunking of values over the store's limit, index
//!   maintenance and change-log appends, all inside the caller's transaction
//!   and all idempotent.
//! - `repos/`: one small repository per record type (queries and the few
//!   multi-record writes, such as adding a message and bumping its
//!   conversation's counts), and the change log reader.
//! - `repos/sync.rs` and `repos/outbox.rs`: the two sides of sync. The
//!   server applies pushes once, merging field by field (a collision becomes
//!   a `Conflict` record), serves pulls from the change log and compacts
//!   it; a device writes each local edit and its outbox entry together, and
//!   stores each pulled page with its cursor.
//!
//! ## Rules every repository keeps
//!
//! - A write and its index entries and log entry commit together or not at
//!   all; updates move index entries, deletes remove them.
//! - Every call takes the tenant and builds keys under it: no query can
//!   reach another tenant's records. Asking for another tenant's id is
//!   simply `NotFound`.
//! - Ids and timestamps come from the caller ([`WriteCtx`] for the time of a
//!   write), never from inside a transaction, so retried transactions write
//!   the same bytes.

mod error;
mod keys;
mod record;
mod repos;

pub use error::{DbError, Result};
pub use record::{Change, Origin, WriteCtx};
pub use repos::agents::Agents;
pub use repos::audit::{AuditLog, Window};
pub use repos::auth_sessions::AuthSessions;
pub use repos::changes::{ChangeLog, ChangePage, LogPosition};
pub use repos::conflicts::Conflicts;
pub use repos::conversations::{Conversations, MessagePage};
pub use repos::files::{FileStat, FileUpdate, Files, ScanApplied, file_id};
pub use repos::members::Members;
pub use repos::meta::{Meta, StoreIdentity};
pub use repos::outbox::{Outbox, OutboxCounts, PushShape, SetAside};
pub use repos::sessions::{Related, SessionList, Sessions};
pub use repos::settings::Settings;
pub use repos::sync::{Compacted, PulledPage, Sync};
pub use repos::tenants::Tenants;
pub use repos::users::Users;
pub use repos::workspaces::{LocalWorkspace, Workspaces};
use stint_store::Store;

/// The repositories over one store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    store: Store,
}

impl Db {
    /// Repositories over `store`.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Tenants.
    #[must_use]
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { store: &self.store }
    }

    /// Memberships of tenants.
    #[must_use]
    pub fn members(&self) -> Members<'_> {
        Members { store: &self.store }
    }

    /// Users.
    #[must_use]
    pub fn users(&self) -> Users<'_> {
        Users { store: &self.store }
    }

    /// Auth sessions (refresh-token rows).
    #[must_use]
    pub fn auth_sessions(&self) -> AuthSessions<'_> {
        AuthSessions { store: &self.store }
    }

    /// Workspace sessions.
    #[must_use]
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: &self.store }
    }

    /// Conversations and messages.
    #[must_use]
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations { store: &self.store }
    }

    /// The audit trail.
    #[must_use]
    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog { store: &self.store }
    }

    /// File records.
    #[must_use]
    pub fn files(&self) -> Files<'_> {
        Files { store: &self.store }
    }

    /// Agents.
    #[must_use]
    pub fn agents(&self) -> Agents<'_> {
        Agents { store: &self.store }
    }

    /// Settings.
    #[must_use]
    pub fn settings(&self) -> Settings<'_> {
        Settings { store: &self.store }
    }

    /// Facts about the store itself.
    #[must_use]
    pub fn meta(&self) -> Meta<'_> {
        Meta { store: &self.store }
    }

    /// The change log.
    #[must_use]
    pub fn changes(&self) -> ChangeLog<'_> {
        ChangeLog { store: &self.store }
    }

    /// Conflicts between devices' edits.
    #[must_use]
    pub fn conflicts(&self) -> Conflicts<'_> {
        Conflicts { store: &self.store }
    }

    /// Sync, the server's side: push, pull, compaction.
    #[must_use]
    pub fn sync(&self) -> Sync<'_> {
        Sync { store: &self.store }
    }

    /// A device's map of workspace identities to its folders.
    #[must_use]
    pub fn workspaces(&self) -> Workspaces<'_> {
        Workspaces { store: &self.store }
    }

    /// Sync, a device's side: the outbox, the cursor, pulled pages.
    #[must_use]
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { store: &self.store }
    }
}
