//! How any record is stored: its envelope, chunking of large values, index
//! maintenance and the change log. The repositories are thin typed layers
//! over the four operations here: [`load`], [`write`], [`remove`] and the
//! index scans.
//!
//! Every operation runs inside the caller's transaction and is idempotent:
//! writing a record equal to the stored one changes nothing (no new
//! revision, no log entry), and removing a removed record is a no-op. That
//! is what makes a transaction body safe to run twice after a "commit
//! unknown" (1021).

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use stint_model::{Audit, DeviceId, RecordKind, TenantId, Timestamp, UserId, ValidationError};
use stint_store::tuple::Versionstamp;
use stint_store::{RangeRequest, Tx, prefix_end, versionstamp_template};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;

/// The largest serialized record stored in one value; larger ones are split
/// into chunks of this size (FoundationDB's value limit is 100,000 bytes).
pub(crate) const CHUNK_BYTES: usize = 90_000;

const INLINE: u8 = 0;
const CHUNKED: u8 = 1;

/// Who writes, and when, and what the audit trail says of it: computed
/// once, before the transaction, so that a retried transaction writes the
/// same thing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteCtx<'a> {
    /// The time of the write.
    pub at: Timestamp,
    /// The device that made the change, if known.
    pub device: Option<DeviceId>,
    /// Where the write comes from, which decides its bookkeeping.
    pub origin: Origin,
    /// The audit event the write records, in its own transaction: the
    /// write and its event commit together or not at all (see
    /// [`WriteCtx::audited`]).
    pub audit: Option<&'a Audit>,
}

/// Where a write comes from.
///
/// The server is the authority on revisions: its writes bump them, record
/// which revision changed each field, and go to the change log. A device's
/// own edits keep the server revision they were based on and go to its
/// outbox, with the fields they changed. What a device pulls is stored as
/// the server sent it, revision included, and goes nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// The authoritative store (the sync server).
    #[default]
    Server,
    /// A device's push, applied by the server: bookkept as [`Server`].
    /// When `device_has_it`, the result is exactly the pushing device's
    /// own copy (the push merged nothing from elsewhere): the change log
    /// says so, and that device's pulls skip the change instead of
    /// sending the device what it already holds.
    ///
    /// [`Server`]: Origin::Server
    Pushed {
        /// The pushing device holds the result already.
        device_has_it: bool,
    },
    /// An edit on a device, to be pushed.
    Local,
    /// A record pulled from the server, at this revision.
    Pulled(u64),
    /// A device's edit that no other device will hear of (its sessions
    /// before any login, in its local tenant).
    Unsynced,
}

impl<'a> WriteCtx<'a> {
    /// A write happening now, from no particular device.
    #[must_use]
    pub fn now() -> Self {
        Self {
            at: stint_model::now(),
            device: None,
            origin: Origin::Server,
            audit: None,
        }
    }

    /// The same write, recording `event` in the same transaction: one
    /// commit, and never the one without the other (a refused write leaves
    /// no event; a committed one always has it). Every write of the
    /// transaction carries it; it is stored once.
    #[must_use]
    pub fn audited<'b>(self, event: &'b Audit) -> WriteCtx<'b>
    where
        'a: 'b,
    {
        WriteCtx {
            audit: Some(event),
            ..self
        }
    }

    /// A write happening now, from `device`.
    #[must_use]
    pub fn from_device(device: DeviceId) -> Self {
        Self {
            device: Some(device),
            ..Self::now()
        }
    }

    /// An edit made now on `device`, which its outbox will push.
    #[must_use]
    pub fn local(device: DeviceId) -> Self {
        Self {
            origin: Origin::Local,
            ..Self::from_device(device)
        }
    }

    /// An edit made now on `device` that stays there.
    #[must_use]
    pub fn unsynced(device: DeviceId) -> Self {
        Self {
            origin: Origin::Unsynced,
            ..Self::from_device(device)
        }
    }
}

/// A stored record: its body (or `None` once deleted: a tombstone, kept so
/// that sync can tell devices) and its revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stored<T> {
    pub(crate) rev: u64,
    pub(crate) updated_at: Timestamp,
    #[serde(default)]
    pub(crate) updated_by: Option<DeviceId>,
    /// Per top-level field, the revision and device that last changed it
    /// (kept by the server, to tell merges from conflicts); a field absent
    /// here dates from the record's creation, `created`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) fields: BTreeMap<String, FieldRev>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created: Option<FieldRev>,
    pub(crate) body: Option<T>,
}

/// Which revision, and which device, last changed a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FieldRev {
    pub(crate) rev: u64,
    #[serde(default)]
    pub(crate) by: Option<DeviceId>,
}

/// The top-level fields of `new` that differ from `old` (all of them for a
/// new record), with their new values.
pub(crate) fn changed_fields(
    old: Option<&serde_json::Value>,
    new: &serde_json::Value,
) -> BTreeMap<String, serde_json::Value> {
    let Some(new) = new.as_object() else {
        return BTreeMap::new();
    };
    let old = old.and_then(serde_json::Value::as_object);
    new.iter()
        .filter(|(name, value)| old.and_then(|o| o.get(*name)) != Some(*value))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// What a record type tells the storage layer about itself.
pub(crate) trait Record:
    Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync + 'static
{
    const KIND: RecordKind;
    fn tenant(&self) -> TenantId;
    fn id(&self) -> Uuid;
    /// Its secondary index entries: full keys, empty values.
    fn index_keys(&self) -> Vec<Vec<u8>>;
    /// Its global lookups, `(key, value)`.
    fn global_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        Vec::new()
    }
    fn check(&self) -> Result<(), ValidationError>;
    /// The records it points to, which must exist in its tenant (a fork's
    /// parent, a message's conversation): see [`check_references`].
    fn references(&self) -> Vec<(RecordKind, Uuid)> {
        Vec::new()
    }
    /// The member whose personal record this is (a setting), if it is one:
    /// only they read it and change it, through any door.
    fn owner(&self) -> Option<UserId> {
        None
    }
}

/// Runs `$body` with `$R` bound to the record type of a synced `$kind`;
/// any other kind gives `$other`. Sync handles records by kind, as data;
/// this is where the kind becomes a type again.
macro_rules! with_synced_type {
    ($kind:expr, $R:ident => $body:expr, _ => $other:expr) => {
        with_synced_type!(@each $kind, $R, $body, $other;
            WorkspaceSession, Conversation, Message, File, Agent, Setting, Conflict)
    };
    (@each $kind:expr, $R:ident, $body:expr, $other:expr; $($T:ident),*) => {
        match $kind {
            $(stint_model::RecordKind::$T => {
                type $R = stint_model::$T;
                $body
            })*
            _ => $other,
        }
    };
}
pub(crate) use with_synced_type;

/// How [`write`] treats an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Must not exist (an equal record counts as the same insert, retried).
    Insert,
    /// Must exist and be live.
    Update,
    /// Either.
    Upsert,
}

/// The result of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) rev: u64,
    /// False when the stored record was already equal (a retry, or a no-op).
    pub(crate) changed: bool,
}

/// An entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The kind of the record that changed.
    pub kind: RecordKind,
    /// Its id.
    pub id: Uuid,
    /// Its revision after the change.
    pub rev: u64,
    /// Whether the change deleted it.
    pub deleted: bool,
    /// The device that made the change and already holds its result (see
    /// [`Origin::Pushed`]): its pulls skip this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<DeviceId>,
}

/// Reads a record, tombstones included.
pub(crate) async fn load<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Stored<R>>> {
    let key = keys::record(tenant, R::KIND, id);
    match tx.get(&key).await? {
        Some(value) => decode(tx, tenant, id, &value).await.map(Some),
        None => Ok(None),
    }
}

/// Reads a record as [`load`] does, and whether its value is split into
/// chunks, which a rewrite must clear.
async fn load_for_rewrite<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
) -> Result<(Option<Stored<R>>, bool)> {
    let key = keys::record(tenant, R::KIND, id);
    match tx.get(&key).await? {
        Some(value) => Ok((
            Some(decode(tx, tenant, id, &value).await?),
            value.first() == Some(&CHUNKED),
        )),
        None => Ok((None, false)),
    }
}

/// Reads a record of any kind, tombstones included, with its body as a `T`
/// that needs no record type: its JSON text for sync, which handles
/// records by kind, as data; `IgnoredAny` when only the envelope matters.
pub(crate) async fn load_raw<T: DeserializeOwned>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    kind: RecordKind,
    id: Uuid,
) -> Result<Option<Stored<T>>> {
    match tx.get(&keys::record(tenant, kind, id)).await? {
        Some(value) => decode_raw(tx, tenant, kind, id, &value).await.map(Some),
        None => Ok(None),
    }
}

/// Fails with `BrokenReference` unless every record `record` points to
/// (see [`Record::references`]) is live in its tenant.
pub(crate) async fn check_references<R: Record>(tx: &mut Tx<'_>, record: &R) -> Result<()> {
    for (kind, id) in record.references() {
        let live = load_raw::<IgnoredAny>(tx, record.tenant(), kind, id)
            .await?
            .is_some_and(|stored| stored.body.is_some());
        if !live {
            return Err(DbError::BrokenReference(format!(
                "{} {} points to {kind} {id}, which does not exist",
                R::KIND,
                record.id()
            )));
        }
    }
    Ok(())
}

/// Decodes a stored value, reading its chunks if it has any.
async fn decode<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
    value: &[u8],
) -> Result<Stored<R>> {
    decode_raw(tx, tenant, R::KIND, id, value).await
}

/// Decodes a stored value of `kind` into any shape (sync reads records as
/// JSON, whatever their type).
pub(crate) async fn decode_raw<T: DeserializeOwned>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    kind: RecordKind,
    id: Uuid,
    value: &[u8],
) -> Result<Stored<T>> {
    let corrupt = |reason: &str| DbError::Corrupt {
        kind,
        reason: reason.to_owned(),
    };
    let json = match value.split_first() {
        Some((&INLINE, json)) => json.to_vec(),
        Some((&CHUNKED, count)) => {
            let count = u32::from_be_bytes(count.try_into().map_err(|_| corrupt("chunk count"))?);
            let (begin, end) = keys::chunks(tenant, kind, id).range();
            let parts = tx.get_all(&begin, &end).await?;
            if parts.len() != count as usize {
                return Err(corrupt("missing chunks"));
            }
            parts.into_iter().flat_map(|(_, v)| v).collect()
        }
        _ => return Err(corrupt("unknown value format")),
    };
    serde_json::from_slice(&json).map_err(|e| corrupt(&e.to_string()))
}

fn corrupt<R: Record>(reason: &str) -> DbError {
    DbError::Corrupt {
        kind: R::KIND,
        reason: reason.to_owned(),
    }
}

/// Reads a live record.
pub(crate) async fn get<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<R>> {
    Ok(load::<R>(tx, tenant, id).await?.and_then(|s| s.body))
}

/// Reads a live record or fails with `NotFound`.
pub(crate) async fn must_get<R: Record>(tx: &mut Tx<'_>, tenant: TenantId, id: Uuid) -> Result<R> {
    get::<R>(tx, tenant, id)
        .await?
        .ok_or_else(|| DbError::not_found(R::KIND, id))
}

/// Stores `record`, moving its index entries and logging the change, and
/// records the context's audit event.
pub(crate) async fn write<R: Record>(
    tx: &mut Tx<'_>,
    record: &R,
    ctx: &WriteCtx<'_>,
    mode: Mode,
) -> Result<Written> {
    crate::repos::audit::record_in(tx, ctx).await?;
    write_unaudited(tx, record, ctx, mode).await
}

/// [`write`], without the audit event.
pub(crate) async fn write_unaudited<R: Record>(
    tx: &mut Tx<'_>,
    record: &R,
    ctx: &WriteCtx<'_>,
    mode: Mode,
) -> Result<Written> {
    record.check()?;
    let (tenant, id) = (record.tenant(), record.id());
    let (old, chunked) = load_for_rewrite::<R>(tx, tenant, id).await?;
    let old_rev = old.as_ref().map_or(0, |s| s.rev);
    let (old_fields, old_created, old_body) = old
        .map(|s| (s.fields, s.created, s.body))
        .unwrap_or_default();
    let pulled_rev = match ctx.origin {
        Origin::Pulled(rev) => Some(rev),
        _ => None,
    };
    match (&old_body, mode) {
        (Some(existing), _)
            if existing == record && pulled_rev.is_none_or(|rev| rev == old_rev) =>
        {
            return Ok(Written {
                rev: old_rev,
                changed: false,
            });
        }
        (Some(_), Mode::Insert) => {
            return Err(DbError::AlreadyExists {
                kind: R::KIND,
                id: id.to_string(),
            });
        }
        (None, Mode::Update) => return Err(DbError::not_found(R::KIND, id)),
        _ => {}
    }
    for (key, value) in record.global_entries() {
        if let Some(holder) = tx.get(&key).await?
            && holder != value
        {
            return Err(DbError::AlreadyExists {
                kind: R::KIND,
                id: String::from_utf8_lossy(&key).into_owned(),
            });
        }
    }
    let (old_index, old_global) = old_body.as_ref().map_or_else(Default::default, entries);
    let (new_index, new_global) = entries(record);
    for key in old_index.difference(&new_index) {
        tx.clear(key);
    }
    for key in new_index.difference(&old_index) {
        tx.set(key, b"");
    }
    for (key, _) in old_global.difference(&new_global) {
        tx.clear(key);
    }
    for (key, value) in new_global.difference(&old_global) {
        tx.set(key, value);
    }
    let mut fields = old_fields;
    let mut created = old_created;
    let rev = match ctx.origin {
        Origin::Server | Origin::Pushed { .. } => {
            let rev = old_rev + 1;
            let now = FieldRev {
                rev,
                by: ctx.device,
            };
            match &old_body {
                // Every field of a new record dates from now: one entry
                // says so, instead of one per field.
                None => {
                    fields.clear();
                    created = Some(now);
                }
                Some(old) => {
                    let changed = changed_fields(Some(&to_json(old)?), &to_json(record)?);
                    for name in changed.into_keys() {
                        fields.insert(name, now);
                    }
                }
            }
            append_change::<R>(tx, tenant, id, rev, false, ctx);
            rev
        }
        Origin::Local => {
            if R::KIND.is_synced() {
                let new_json = to_json(record)?;
                let old_json = old_body.as_ref().map(to_json).transpose()?;
                let changed = changed_fields(old_json.as_ref(), &new_json);
                crate::repos::outbox::append(tx, R::KIND, tenant, id, old_rev, false, changed)
                    .await?;
            }
            old_rev
        }
        Origin::Pulled(rev) => rev,
        Origin::Unsynced => old_rev,
    };
    put_stored(
        tx,
        tenant,
        id,
        &Stored {
            rev,
            updated_at: ctx.at,
            updated_by: ctx.device,
            fields,
            created,
            body: Some(record),
        },
        chunked,
    )?;
    Ok(Written { rev, changed: true })
}

fn to_json<R: Record>(record: &R) -> Result<serde_json::Value> {
    serde_json::to_value(record).map_err(|e| corrupt::<R>(&e.to_string()))
}

type Entries = (BTreeSet<Vec<u8>>, BTreeSet<(Vec<u8>, Vec<u8>)>);

fn entries<R: Record>(record: &R) -> Entries {
    (
        record.index_keys().into_iter().collect(),
        record.global_entries().into_iter().collect(),
    )
}

/// Deletes a record and its index entries. Synced kinds keep a tombstone
/// (so devices learn of the delete); the others are erased.
///
/// Deleting a deleted record succeeds (it may be this very delete, retried
/// after a "commit unknown"). A synced record that never existed is
/// `NotFound`; a server-only one is simply absent.
pub(crate) async fn remove<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
    ctx: &WriteCtx<'_>,
) -> Result<()> {
    crate::repos::audit::record_in(tx, ctx).await?;
    let (old, chunked) = load_for_rewrite::<R>(tx, tenant, id).await?;
    let Some(stored) = old else {
        return if R::KIND.is_synced() {
            Err(DbError::not_found(R::KIND, id))
        } else {
            Ok(())
        };
    };
    let Some(body) = stored.body else {
        return Ok(());
    };
    let (index, global) = entries(&body);
    for key in &index {
        tx.clear(key);
    }
    for (key, _) in &global {
        tx.clear(key);
    }
    if R::KIND.is_synced() {
        let rev = match ctx.origin {
            Origin::Server | Origin::Pushed { .. } => {
                append_change::<R>(tx, tenant, id, stored.rev + 1, true, ctx);
                stored.rev + 1
            }
            Origin::Local => {
                crate::repos::outbox::append(
                    tx,
                    R::KIND,
                    tenant,
                    id,
                    stored.rev,
                    true,
                    BTreeMap::new(),
                )
                .await?;
                stored.rev
            }
            Origin::Pulled(rev) => rev,
            Origin::Unsynced => stored.rev,
        };
        put_stored::<R>(
            tx,
            tenant,
            id,
            &Stored {
                rev,
                updated_at: ctx.at,
                updated_by: ctx.device,
                fields: stored.fields,
                created: stored.created,
                body: None,
            },
            chunked,
        )?;
    } else {
        tx.clear(&keys::record(tenant, R::KIND, id));
        let (begin, end) = keys::chunks(tenant, R::KIND, id).range();
        tx.clear_range(&begin, &end);
    }
    Ok(())
}

/// Logs a live record again, unchanged, at the next revision (a server
/// write): every device pulls it anew, also one that dropped it. Returns
/// the new revision.
pub(crate) async fn reissue<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
    ctx: &WriteCtx<'_>,
) -> Result<u64> {
    let (old, chunked) = load_for_rewrite::<R>(tx, tenant, id).await?;
    let Some(Stored {
        rev,
        updated_at,
        updated_by,
        fields,
        created,
        body: Some(body),
    }) = old
    else {
        return Err(DbError::not_found(R::KIND, id));
    };
    let rev = rev + 1;
    append_change::<R>(tx, tenant, id, rev, false, ctx);
    put_stored(
        tx,
        tenant,
        id,
        &Stored {
            rev,
            updated_at,
            updated_by,
            fields,
            created,
            body: Some(&body),
        },
        chunked,
    )?;
    Ok(rev)
}

/// Writes the envelope, inline or in chunks; `chunked_before`: the value
/// it replaces was in chunks, which go. The body is borrowed: it is only
/// serialized, and copying a record to serialize it showed in profiles.
fn put_stored<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
    stored: &Stored<&R>,
    chunked_before: bool,
) -> Result<()> {
    let json = serde_json::to_vec(stored).map_err(|e| corrupt::<R>(&e.to_string()))?;
    let key = keys::record(tenant, R::KIND, id);
    let chunks = keys::chunks(tenant, R::KIND, id);
    // Only when there are chunks to clear: a cleared range costs every
    // later read of the transaction a look, and the commit a range scan.
    if chunked_before {
        let (begin, end) = chunks.range();
        tx.clear_range(&begin, &end);
    }
    if json.len() < CHUNK_BYTES {
        let mut value = Vec::with_capacity(json.len() + 1);
        value.push(INLINE);
        value.extend_from_slice(&json);
        tx.set(&key, &value);
    } else {
        let mut count = 0u32;
        for (n, part) in json.chunks(CHUNK_BYTES).enumerate() {
            let n = u32::try_from(n).expect("records are far smaller than 4 billion chunks");
            tx.set(&chunks.pack(&n), part);
            count = n + 1;
        }
        let mut value = vec![CHUNKED];
        value.extend_from_slice(&count.to_be_bytes());
        tx.set(&key, &value);
    }
    Ok(())
}

/// Appends to the tenant's change log, keyed by the commit's versionstamp.
fn append_change<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    id: Uuid,
    rev: u64,
    deleted: bool,
    ctx: &WriteCtx<'_>,
) {
    if !R::KIND.is_synced() {
        return;
    }
    let held_by = match ctx.origin {
        Origin::Pushed {
            device_has_it: true,
        } => ctx.device,
        _ => None,
    };
    let change = Change {
        kind: R::KIND,
        id,
        rev,
        deleted,
        held_by,
    };
    let value = serde_json::to_vec(&change).expect("a change serializes");
    let stamp = Versionstamp::incomplete(tx.next_user_version());
    let key = versionstamp_template(keys::log(tenant).bytes(), &(stamp,));
    tx.set_versionstamped_key(&key, &value);
}

/// Ids from an index: the last tuple element of each key under `prefix`,
/// in key order (or reverse), at most `limit` (0 for all).
pub(crate) async fn index_ids(
    tx: &mut Tx<'_>,
    prefix: &[u8],
    limit: usize,
    reverse: bool,
) -> Result<Vec<Uuid>> {
    index_ids_in(tx, prefix, &prefix_end(prefix), limit, reverse).await
}

/// Ids from the index keys of `[begin, end)`.
pub(crate) async fn index_ids_in(
    tx: &mut Tx<'_>,
    begin: &[u8],
    end: &[u8],
    limit: usize,
    reverse: bool,
) -> Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let (mut lo, mut hi) = (begin.to_vec(), end.to_vec());
    loop {
        let want = if limit == 0 {
            1_000
        } else {
            (limit - ids.len()).min(1_000)
        };
        let page = tx
            .get_range(RangeRequest::new(&lo, &hi).limit(want).reverse(reverse))
            .await?;
        for (key, _) in &page.items {
            ids.push(last_uuid(key)?);
        }
        let done = !page.more || (limit != 0 && ids.len() >= limit);
        match page.items.last() {
            Some((last, _)) if !done => {
                if reverse {
                    hi.clone_from(last);
                } else {
                    lo = stint_store::key_after(last);
                }
            }
            _ => return Ok(ids),
        }
    }
}

/// The UUID that ends an index key (16 bytes after the tuple layer's 0x30).
pub(crate) fn last_uuid(key: &[u8]) -> Result<Uuid> {
    let tail = key
        .len()
        .checked_sub(17)
        .and_then(|start| key.get(start..))
        .filter(|t| t[0] == 0x30)
        .ok_or_else(|| DbError::Corrupt {
            kind: RecordKind::Tenant,
            reason: "index key does not end with an id".into(),
        })?;
    Ok(Uuid::from_slice(&tail[1..]).expect("16 bytes"))
}

/// Removes up to `batch` records whose index keys lie in `range`. The ids
/// are selected by a read-only transaction (never rerun), then removed by an
/// idempotent one, so the count returned does not depend on retries.
pub(crate) async fn purge<R: Record>(
    store: &stint_store::Store,
    tenant: TenantId,
    range: (Vec<u8>, Vec<u8>),
    batch: usize,
    ctx: &WriteCtx<'_>,
) -> Result<usize> {
    let (begin, end) = (&range.0, &range.1);
    let ids = store
        .run(|tx| Box::pin(async move { index_ids_in(tx, begin, end, batch, false).await }))
        .await?;
    let ids = &ids;
    store
        .run(|tx| {
            Box::pin(async move {
                for id in ids {
                    match remove::<R>(tx, tenant, *id, ctx).await {
                        Ok(()) | Err(DbError::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
        })
        .await?;
    Ok(ids.len())
}

/// The live records an index lists under `prefix`: in key order (or
/// reverse), at most `limit` (0 for all), read in one transaction.
pub(crate) async fn list_by_index<R: Record>(
    store: &stint_store::Store,
    tenant: TenantId,
    prefix: &[u8],
    limit: usize,
    reverse: bool,
) -> Result<Vec<R>> {
    list_by_index_in(store, tenant, prefix, &prefix_end(prefix), limit, reverse).await
}

/// The live records an index lists in the keys `[begin, end)`: in key
/// order (or reverse), at most `limit` (0 for all), read in one
/// transaction.
pub(crate) async fn list_by_index_in<R: Record>(
    store: &stint_store::Store,
    tenant: TenantId,
    begin: &[u8],
    end: &[u8],
    limit: usize,
    reverse: bool,
) -> Result<Vec<R>> {
    store
        .run(|tx| {
            Box::pin(async move {
                let ids = index_ids_in(tx, begin, end, limit, reverse).await?;
                get_many(tx, tenant, &ids).await
            })
        })
        .await
}

/// The first `want` live records an index lists in `[begin, end)` (in key
/// order, or reverse) that `keep` accepts, read a page per transaction
/// until enough are found or the index ends: never the whole index at
/// once, however long it is. Index keys end with the record's id.
pub(crate) async fn first_matching<R: Record>(
    store: &stint_store::Store,
    tenant: TenantId,
    (begin, end): (&[u8], &[u8]),
    reverse: bool,
    want: usize,
    mut keep: impl FnMut(&R) -> bool,
) -> Result<Vec<R>> {
    const PAGE: usize = 500;
    let mut out = Vec::new();
    let (mut lo, mut hi) = (begin.to_vec(), end.to_vec());
    while out.len() < want {
        let (l, h) = (&lo, &hi);
        let (records, last, more) = store
            .run(|tx| {
                Box::pin(async move {
                    let page = tx
                        .get_range(RangeRequest::new(l, h).limit(PAGE).reverse(reverse))
                        .await?;
                    let ids = page
                        .items
                        .iter()
                        .map(|(key, _)| last_uuid(key))
                        .collect::<Result<Vec<_>>>()?;
                    let records: Vec<R> = get_many(tx, tenant, &ids).await?;
                    let last = page.items.last().map(|(key, _)| key.clone());
                    Ok::<_, DbError>((records, last, page.more))
                })
            })
            .await?;
        let room = want - out.len();
        out.extend(records.into_iter().filter(|r| keep(r)).take(room));
        match last {
            Some(last) if more => {
                if reverse {
                    hi = last;
                } else {
                    lo = stint_store::key_after(&last);
                }
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Loads the live records behind `ids`, skipping any that vanished.
pub(crate) async fn get_many<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    ids: &[Uuid],
) -> Result<Vec<R>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = get::<R>(tx, tenant, *id).await? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Every live record of a kind in a tenant, in id order, at most `limit`.
pub(crate) async fn scan<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    limit: usize,
) -> Result<Vec<R>> {
    let (begin, end) = keys::records(tenant, R::KIND).range();
    let mut out = Vec::new();
    let mut lo = begin;
    loop {
        let page = tx
            .get_range(RangeRequest::new(&lo, &end).limit(500))
            .await?;
        for (key, value) in &page.items {
            let stored = decode::<R>(tx, tenant, last_uuid(key)?, value).await?;
            if let Some(r) = stored.body {
                out.push(r);
                if limit != 0 && out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        match page.items.last() {
            Some((last, _)) if page.more => lo = stint_store::key_after(last),
            _ => return Ok(out),
        }
    }
}
