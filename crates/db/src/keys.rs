//! The key layout. Every key is built here, nowhere else.
//!
//! Keys are FoundationDB tuples, so they sort the same on every backend:
//!
//! ```text
//! ("t", tenant, kind, id)                   a record (kind = RecordKind name)
//! ("t", tenant, "ix", index, field…, id)    a secondary index entry (empty value)
//! ("t", tenant, "chunk", kind, id, n)       the n-th chunk of a large record
//! ("t", tenant, "log", versionstamp)        the change log, in commit order
//! ("g", "email", email)                     → (tenant, user): login by email
//! ("g", "refresh", sha256)                  → (tenant, auth session): refresh
//! ("g", "tenant", tenant)                   active tenants
//! ("t", tenant, "sync", "device", device)   → last mutation number applied
//! ("t", tenant, "sync", "floor")            → the log position compacted up to
//! ("t", tenant, "local", "file_stat", session, path)
//!                                           → the stat a file's checksum belongs
//!                                             to (a device's watcher; never synced)
//! ("m", "identity")                         the store's own identity
//!
//! On a device's replica only (the outbox and the sync state):
//! ("o", number)                             a local change waiting to be pushed
//! ("x", number)                             one the server refused, set aside
//! ("m", "mutation")                         → the last mutation number used
//! ("m", "cursor", tenant)                   → where the next pull starts
//! ("m", "last_sync")                        → when a round last completed
//! ("w", workspace identity)                 → the folders of a workspace on
//!                                             this device
//! ```
//!
//! Every key holding tenant data starts with `("t", tenant)`, so a tenant is
//! one contiguous range: isolated by construction, deleted with one
//! `clear_range`. The few `"g"` keys are lookups needed before a tenant is
//! known (login, refresh) and hold only ids.

use stint_model::{RecordKind, TenantId};
use stint_store::tuple::{Subspace, TuplePack};
use uuid::Uuid;

/// The subspace of one tenant.
pub(crate) fn tenant(tenant: TenantId) -> Subspace {
    Subspace::from_bytes(("t", tenant.as_uuid()).pack_to_vec())
}

/// The key of a record.
pub(crate) fn record(t: TenantId, kind: RecordKind, id: Uuid) -> Vec<u8> {
    tenant(t).pack(&(kind.as_str(), id))
}

/// The subspace of every record of `kind` in a tenant.
pub(crate) fn records(t: TenantId, kind: RecordKind) -> Subspace {
    tenant(t).subspace(&kind.as_str())
}

/// The subspace of index `name` in a tenant.
pub(crate) fn index(t: TenantId, name: &str) -> Subspace {
    tenant(t).subspace(&("ix", name))
}

/// The subspace of the chunks of one record.
pub(crate) fn chunks(t: TenantId, kind: RecordKind, id: Uuid) -> Subspace {
    tenant(t).subspace(&("chunk", kind.as_str(), id))
}

/// The stats a device's watcher keeps for the files of a session (local
/// data: no record, no index, no change log).
pub(crate) fn file_stats(t: TenantId, session: Uuid) -> Subspace {
    tenant(t).subspace(&("local", "file_stat", session))
}

/// The subspace of a tenant's change log.
pub(crate) fn log(t: TenantId) -> Subspace {
    tenant(t).subspace(&"log")
}

/// Global lookup: email → user.
pub(crate) fn email(email: &str) -> Vec<u8> {
    ("g", "email", email).pack_to_vec()
}

/// Global lookup: refresh-token hash → auth session.
pub(crate) fn refresh(hash: &str) -> Vec<u8> {
    ("g", "refresh", hash).pack_to_vec()
}

/// Global lookup: the hash of a refresh token that was exchanged and whose
/// row is gone → its login (family), so that presenting it again still
/// revokes the family.
pub(crate) fn spent_refresh(hash: &str) -> Vec<u8> {
    ("g", "spent", hash).pack_to_vec()
}

/// A tenant's spent refresh tokens by expiry: `(micros, hash)`.
pub(crate) fn spent_by_expiry(t: TenantId) -> Subspace {
    tenant(t).subspace(&("auth", "spent_by_expiry"))
}

/// A revoked login (token family): one key revokes every row of it.
pub(crate) fn revoked_family(t: TenantId, family: Uuid) -> Vec<u8> {
    tenant(t).pack(&("auth", "revoked", family))
}

/// A tenant's revoked families by revocation time: `(micros, family)`.
pub(crate) fn revoked_by_time(t: TenantId) -> Subspace {
    tenant(t).subspace(&("auth", "revoked_at"))
}

/// Global list of active tenants.
pub(crate) fn active_tenants() -> Subspace {
    Subspace::from_bytes(("g", "tenant").pack_to_vec())
}

/// The store's identity.
pub(crate) fn identity() -> Vec<u8> {
    ("m", "identity").pack_to_vec()
}

/// The last mutation number applied for a device, on the server.
pub(crate) fn device_mutations(t: TenantId, device: Uuid) -> Vec<u8> {
    tenant(t).pack(&("sync", "device", device))
}

/// The position a tenant's change log was compacted up to.
pub(crate) fn log_floor(t: TenantId) -> Vec<u8> {
    tenant(t).pack(&("sync", "floor"))
}

/// A device's outbox.
pub(crate) fn outbox() -> Subspace {
    Subspace::from_bytes("o".pack_to_vec())
}

/// What a device's server refused, set aside.
pub(crate) fn set_aside() -> Subspace {
    Subspace::from_bytes("x".pack_to_vec())
}

/// A device's refusals, by mutation number, in tenant `t`.
pub(crate) fn device_answers(t: TenantId, device: Uuid) -> Subspace {
    tenant(t).subspace(&("sync", "answer", device))
}

/// The account a device id belongs to (the first to sign in with it).
pub(crate) fn device_owner(device: Uuid) -> Vec<u8> {
    ("g", "device", device).pack_to_vec()
}

/// The last mutation number a device used.
pub(crate) fn mutation_counter() -> Vec<u8> {
    ("m", "mutation").pack_to_vec()
}

/// Where a device's next pull of `t` starts.
pub(crate) fn pull_cursor(t: TenantId) -> Vec<u8> {
    ("m", "cursor", t.as_uuid()).pack_to_vec()
}

/// The device's map of workspace identities to its folders.
pub(crate) fn workspaces() -> Subspace {
    Subspace::from_bytes("w".pack_to_vec())
}

/// When a device last completed a sync round.
pub(crate) fn last_sync() -> Vec<u8> {
    ("m", "last_sync").pack_to_vec()
}

/// An instant as index keys order it: microseconds since the epoch.
pub(crate) fn micros(t: stint_model::Timestamp) -> i64 {
    t.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_key_starts_with_the_tenant() {
        let t = TenantId::new();
        let prefix = tenant(t);
        let id = Uuid::now_v7();
        for key in [
            record(t, RecordKind::WorkspaceSession, id),
            index(t, "ws_by_tag").pack(&("backend", id)),
            chunks(t, RecordKind::Message, id).pack(&0u32),
            log(t).pack(&1u64),
        ] {
            assert!(prefix.is_start_of(&key));
        }
        let other = tenant(TenantId::new());
        assert!(!other.is_start_of(&record(t, RecordKind::User, id)));
    }

    #[test]
    fn index_keys_sort_by_time() {
        let t = TenantId::new();
        let ix = index(t, "recent");
        let a = ix.pack(&(-5i64, Uuid::nil()));
        let b = ix.pack(&(3i64, Uuid::nil()));
        let c = ix.pack(&(1_700_000_000_000_000i64, Uuid::nil()));
        assert!(a < b && b < c);
    }
}
