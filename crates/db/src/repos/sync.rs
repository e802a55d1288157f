//! The server's side of sync: pushes applied once and merged field by
//! field, pulls read from the change log, and the log's compaction.
//!
//! A push holds one or more batches. Each batch is one transaction: its
//! mutations and the device's last mutation number commit together, so a
//! push retried after a lost answer finds its numbers applied and changes
//! nothing. Batches are bounded (about 100 mutations) so that a transaction
//! stays far below FoundationDB's limits; all but a push's last commit
//! deferred, and the last one's durable commit carries them to disk: one
//! disk sync per push, however many batches it holds.
//!
//! Merging: the server keeps, per field, the revision and device that last
//! changed it. A pushed field that another device changed after the
//! revision the edit was based on collides: the stored value stays (the
//! first edit to reach the server wins, the same answer for every device)
//! and the pushed one goes into a [`Conflict`] linked to the record. Every
//! other field applies.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use stint_model::sync::{Mutation, MutationResult, Outcome, RecordJson, SyncRecord};
use stint_model::{Conflict, DeviceId, ErrorCode, RecordKind, TenantId, Timestamp, UserId};
use stint_store::{Durability, Store, Tx};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;
use crate::record::{self, FieldRev, Mode, Origin, Record, Stored, WriteCtx, with_synced_type};
use crate::repos::changes::{self, LogPosition};

/// Fields a push can never change.
const IMMUTABLE: [&str; 4] = ["id", "tenant_id", "user_id", "created_at"];

/// Timestamps every edit moves: they never conflict, the later one stays.
const LATEST_WINS: [&str; 2] = ["updated_at", "last_accessed_at"];

/// The later of two timestamps in JSON (the pushed one if either does not
/// parse).
fn later(stored: Option<&serde_json::Value>, pushed: &serde_json::Value) -> serde_json::Value {
    let parse = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (stored.and_then(parse), parse(pushed)) {
        (Some(a), Some(b)) if a > b => stored.cloned().unwrap_or_else(|| pushed.clone()),
        _ => pushed.clone(),
    }
}

/// One page of a pull.
#[derive(Debug, Clone, PartialEq)]
pub struct PulledPage {
    /// Each changed record once, at its latest change in the page.
    pub records: Vec<SyncRecord>,
    /// The position of the page's last change (the next cursor); `None`
    /// when the page is empty.
    pub last: Option<LogPosition>,
    /// More changes follow.
    pub more: bool,
}

/// What one step of compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Log entries removed.
    pub removed: usize,
    /// Where to continue, if the log goes on.
    pub next: Option<LogPosition>,
}

/// The sync repository (server side).
#[derive(Debug, Clone, Copy)]
pub struct Sync<'a> {
    pub(crate) store: &'a Store,
}

impl Sync<'_> {
    /// Applies a device's push: its batches in order, each in one
    /// transaction, each mutation once. One result per mutation, in order.
    ///
    /// The batches before the last commit deferred, and the last one's
    /// durable commit makes them all durable before the answer goes out. A
    /// crash before it loses the push's batches (or, if another commit
    /// made them durable meanwhile, keeps them): either way the device,
    /// unanswered, pushes again and each mutation applies once.
    pub async fn push(
        &self,
        tenant: TenantId,
        user: UserId,
        device: DeviceId,
        batches: &[Vec<Mutation>],
        at: Timestamp,
    ) -> Result<Vec<MutationResult>> {
        let who = Who {
            tenant,
            user,
            device,
            at,
        };
        let mut results = Vec::with_capacity(batches.iter().map(Vec::len).sum());
        for (n, batch) in batches.iter().enumerate() {
            let durability = if n + 1 == batches.len() {
                Durability::Immediate
            } else {
                Durability::Deferred
            };
            results.extend(self.push_batch(who, batch, durability).await?);
        }
        Ok(results)
    }

    /// Applies one batch of a push in one transaction, with the device's
    /// progress: its last mutation number, and the batch's answers (one
    /// key per batch, kept for the device's recent numbers).
    async fn push_batch(
        &self,
        who: Who,
        mutations: &[Mutation],
        durability: Durability,
    ) -> Result<Vec<MutationResult>> {
        let Who { tenant, device, .. } = who;
        self.store
            .run_with(durability, |tx| {
                Box::pin(async move {
                    let key = keys::device_mutations(tenant, device.as_uuid());
                    let mut seen: DeviceProgress = match tx.get(&key).await? {
                        Some(v) => serde_json::from_slice(&v).map_err(|e| DbError::Corrupt {
                            kind: RecordKind::Tenant,
                            reason: format!("device progress: {e}"),
                        })?,
                        None => DeviceProgress::default(),
                    };
                    let answers = keys::device_answers(tenant, device.as_uuid());
                    let mut earlier = Answers::default();
                    let mut results = Vec::with_capacity(mutations.len());
                    for m in mutations {
                        let outcome = if m.number <= seen.last {
                            // Applied before (this push is a retry, or an
                            // earlier push's answer was lost while the
                            // next one went through): the same answer as
                            // then, for a refusal must stay a refusal or
                            // the device would drop the edit.
                            earlier
                                .find(tx, &answers, m.number)
                                .await?
                                .unwrap_or(Outcome::Duplicate)
                        } else if m.kind == RecordKind::Conflict && !m.deleted {
                            // Conflicts are the server's record of a
                            // collision: a device only closes them.
                            rejected(
                                ErrorCode::ValidationFailed,
                                "conflicts are made by the server; a device may only delete one".into(),
                            )
                        } else {
                            with_synced_type!(m.kind, R => apply::<R>(tx, who, m).await?, _ => rejected(
                                ErrorCode::ValidationFailed,
                                format!("{} records are not synced", m.kind),
                            ))
                        };
                        results.push(MutationResult {
                            number: m.number,
                            outcome,
                        });
                    }
                    let fresh: Vec<MutationResult> = results
                        .iter()
                        .filter(|r| r.number > seen.last)
                        .map(kept_answer)
                        .collect();
                    if let (Some(first), Some(newest)) = (fresh.first(), fresh.last()) {
                        tx.set(&answers.pack(&first.number), &to_json(&fresh));
                        // Answers far behind the newest number can no
                        // longer be asked for (a device sends again only
                        // what it has not settled, a push or two back);
                        // pruned once per thousand numbers.
                        let bucket = |n: u64| n.saturating_sub(ANSWERS_KEPT) / 1_000;
                        if bucket(newest.number) > bucket(seen.last) {
                            let (begin, _) = answers.range();
                            let floor = newest.number.saturating_sub(ANSWERS_KEPT);
                            tx.clear_range(&begin, &answers.pack(&floor));
                        }
                        seen.last = newest.number;
                    }
                    // Written even when nothing changed: a retry's durable
                    // commit then carries the deferred batches of the push
                    // it retries to disk.
                    tx.set(&key, &to_json(&seen));
                    Ok(results)
                })
            })
            .await
    }

    /// The records of `tenant` changed after `after`, at most `limit`
    /// changes and about `max_bytes` of record bodies (a record larger
    /// than that comes alone), each at the revision its log entry names,
    /// leaving out other members' personal records (their settings), and those whose latest change `device` made and
    /// holds already (see [`Origin::Pushed`]): a device is not sent back
    /// what it pushed. A position below the compacted part of the log is
    /// [`DbError::CursorTooOld`]: the device must pull everything again.
    pub async fn pull(
        &self,
        tenant: TenantId,
        reader: UserId,
        after: Option<LogPosition>,
        limit: usize,
        max_bytes: usize,
        device: Option<DeviceId>,
    ) -> Result<PulledPage> {
        let read = || self.pull_once(tenant, reader, after, limit, max_bytes, device);
        let (page, passed_newer) = read().await?;
        if !passed_newer {
            return Ok(page);
        }
        // The page passed over an entry whose record changed since, maybe
        // in a commit not yet durable: were that commit lost, the entry
        // would be the record's last, and passed. Once every commit seen is
        // durable, a later entry surely brings the record: read again.
        if !self.store.make_durable().await? {
            // Everything seen was durable already.
            return Ok(page);
        }
        Ok(read().await?.0)
    }

    /// One read of a page; also whether it passed over an entry whose
    /// record is at a later revision, while the store may hold commits
    /// that are not durable.
    async fn pull_once(
        &self,
        tenant: TenantId,
        reader: UserId,
        after: Option<LogPosition>,
        limit: usize,
        max_bytes: usize,
        device: Option<DeviceId>,
    ) -> Result<(PulledPage, bool)> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let may_be_lost = tx.durable_version().is_some();
                    let mut passed_newer = false;
                    if let (Some(after), Some(floor)) = (after, floor(tx, tenant).await?)
                        && after < floor
                    {
                        return Err(DbError::CursorTooOld);
                    }
                    let page = changes::read_page(tx, tenant, after, limit).await?;
                    // Each record once, at its latest change in the page.
                    let mut latest: BTreeMap<(RecordKind, Uuid), usize> = BTreeMap::new();
                    for (n, (_, change)) in page.changes.iter().enumerate() {
                        latest.insert((change.kind, change.id), n);
                    }
                    let mut records = Vec::with_capacity(latest.len());
                    let mut bytes = 0;
                    let mut cut = None;
                    for (n, (_, change)) in page.changes.iter().enumerate() {
                        let (kind, id) = (change.kind, change.id);
                        let held = device.is_some() && change.held_by == device;
                        if held || latest.get(&(kind, id)) != Some(&n) {
                            continue;
                        }
                        let Some(stored) =
                            record::load_raw::<RecordJson>(tx, tenant, kind, id).await?
                        else {
                            // Compacted away meanwhile: nothing to tell.
                            continue;
                        };
                        // Another member's personal record (a setting):
                        // not theirs to read. The cursor moves past it.
                        if let Some(body) = &stored.body
                            && personal_owner(kind, body)?.is_some_and(|owner| owner != reader)
                        {
                            continue;
                        }
                        // Changed again since this entry: the body is of a
                        // later entry, which may not be durable yet (a
                        // crash could take it back from a device that got
                        // it). That entry brings it, once it is read.
                        if stored.rev != change.rev {
                            passed_newer |= may_be_lost;
                            continue;
                        }
                        let size = stored.body.as_ref().map_or(0, |b| b.get().len());
                        // The page ends before the record that would take
                        // it past its bytes; a larger record goes alone.
                        if !records.is_empty() && bytes + size > max_bytes {
                            cut = Some(n);
                            break;
                        }
                        bytes += size;
                        records.push(SyncRecord {
                            kind,
                            id,
                            rev: stored.rev,
                            updated_at: stored.updated_at,
                            updated_by: stored.updated_by,
                            body: stored.body,
                        });
                    }
                    // Cut short, the page ends at the entry before the
                    // record left out: the rest of the read comes again.
                    let (last, more) = match cut {
                        Some(n) => (Some(page.changes[n - 1].0), true),
                        None => (
                            page.changes.last().map(|(position, _)| *position),
                            page.more,
                        ),
                    };
                    Ok((
                        PulledPage {
                            records,
                            last,
                            more,
                        },
                        passed_newer,
                    ))
                })
            })
            .await
    }

    /// Compacts up to `batch` entries of a tenant's change log after `from`
    /// (from its start for `None`): entries
    /// superseded by a later change of the same record go (a device behind
    /// them still gets the later one), and so do tombstones older than
    /// `forget_deleted_before`, with their log entries; the log's floor
    /// rises past them, so a device whose cursor is older pulls everything
    /// again.
    pub async fn compact(
        &self,
        tenant: TenantId,
        from: Option<LogPosition>,
        forget_deleted_before: Timestamp,
        batch: usize,
    ) -> Result<Compacted> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let page = changes::read_page(tx, tenant, from, batch).await?;
                    let mut removed = 0;
                    let mut floor_now = floor(tx, tenant).await?;
                    for (position, change) in &page.changes {
                        let (kind, id) = (change.kind, change.id);
                        match record::load_raw::<IgnoredAny>(tx, tenant, kind, id).await? {
                            Some(s) if s.rev > change.rev => {}
                            Some(s) if s.body.is_none() && s.updated_at < forget_deleted_before => {
                                tx.clear(&keys::record(tenant, kind, id));
                                let (b, e) = keys::chunks(tenant, kind, id).range();
                                tx.clear_range(&b, &e);
                                floor_now = floor_now.max(Some(*position));
                            }
                            None => floor_now = floor_now.max(Some(*position)),
                            Some(_) => continue,
                        }
                        tx.clear(&changes::entry_key(tenant, *position));
                        removed += 1;
                    }
                    if let Some(LogPosition(floor)) = floor_now {
                        tx.set(&keys::log_floor(tenant), &floor);
                    }
                    let last = page.changes.last().map(|(position, _)| *position);
                    Ok(Compacted {
                        removed,
                        next: last.filter(|_| page.more),
                    })
                })
            })
            .await
    }
}

async fn floor(tx: &mut Tx<'_>, tenant: TenantId) -> Result<Option<LogPosition>> {
    Ok(tx
        .get(&keys::log_floor(tenant))
        .await?
        .and_then(|v| <[u8; 12]>::try_from(v).ok())
        .map(LogPosition))
}

/// What the server remembers of a device: the last mutation number it
/// applied. Its answers are kept beside it, one key per batch
/// ([`keys::device_answers`]), so that a push retried after its answer was
/// lost, or sent again after a crash while the next push was already
/// applied, gets the same answers.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct DeviceProgress {
    last: u64,
}

/// How many mutation numbers back a device's answers are kept: far more
/// than two pushes (what a device can have sent and not yet settled).
const ANSWERS_KEPT: u64 = 10_000;

/// The longest reason kept with a refusal, in bytes: an answer stays small
/// however a record fails (a decoding error can quote its input). With
/// control characters replaced, JSON at most doubles it (`\"`, `\\`), so
/// a batch's hundred answers stay far below a value's 100,000 bytes.
const MAX_ANSWER_MESSAGE: usize = 300;

/// `text` cut to at most `max` bytes, at a character boundary.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("progress and answers serialize")
}

/// An answer as it is kept: a refusal's reason cut short, so that a
/// batch's answers stay far below a store value's 100,000 bytes.
fn kept_answer(result: &MutationResult) -> MutationResult {
    let outcome = match &result.outcome {
        Outcome::Rejected { code, message } => {
            let printable: String = message
                .chars()
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect();
            Outcome::Rejected {
                code: *code,
                message: shorten(&printable, MAX_ANSWER_MESSAGE),
            }
        }
        other => other.clone(),
    };
    MutationResult {
        number: result.number,
        outcome,
    }
}

/// The stored answers of a device's batch read last, within one
/// transaction: a retried batch asks for each of its numbers in turn.
#[derive(Default)]
struct Answers {
    /// The first number of the batch, and its answers.
    batch: Option<(u64, Vec<MutationResult>)>,
}

impl Answers {
    /// The answer given to mutation `number`, if it is still kept.
    async fn find(
        &mut self,
        tx: &mut Tx<'_>,
        answers: &stint_store::tuple::Subspace,
        number: u64,
    ) -> Result<Option<Outcome>> {
        let held = |batch: &Option<(u64, Vec<MutationResult>)>| {
            batch.as_ref().and_then(|(first, results)| {
                (*first <= number)
                    .then(|| results.iter().find(|r| r.number == number))
                    .flatten()
                    .map(|r| r.outcome.clone())
            })
        };
        if let Some(outcome) = held(&self.batch) {
            return Ok(Some(outcome));
        }
        // The batch holding `number` is the last one starting at or before it.
        let (begin, _) = answers.range();
        let end = answers.pack(&(number + 1));
        let page = tx
            .get_range(
                stint_store::RangeRequest::new(&begin, &end)
                    .limit(1)
                    .reverse(true),
            )
            .await?;
        let Some((key, value)) = page.items.into_iter().next() else {
            return Ok(None);
        };
        let first: u64 = answers.unpack(&key).map_err(|e| DbError::Corrupt {
            kind: RecordKind::Tenant,
            reason: format!("a stored answer's key: {e}"),
        })?;
        let results = serde_json::from_slice(&value).map_err(|e| DbError::Corrupt {
            kind: RecordKind::Tenant,
            reason: format!("stored answers: {e}"),
        })?;
        self.batch = Some((first, results));
        Ok(held(&self.batch))
    }
}

/// Who pushes, once per push.
#[derive(Debug, Clone, Copy)]
struct Who {
    tenant: TenantId,
    user: UserId,
    device: DeviceId,
    at: Timestamp,
}

impl Who {
    /// Whether the change `f` of a field was made after `m`'s base by
    /// another device: what `m` has not seen.
    fn changed_elsewhere(self, f: &FieldRev, m: &Mutation) -> bool {
        f.rev > m.base_rev && f.by != Some(self.device)
    }

    /// How this push writes: `device_has_it` when the result is exactly
    /// what the device sent (see [`Origin::Pushed`]).
    fn write_ctx(self, device_has_it: bool) -> WriteCtx<'static> {
        WriteCtx {
            at: self.at,
            device: Some(self.device),
            origin: Origin::Pushed { device_has_it },
            audit: None,
        }
    }
}

fn rejected(code: ErrorCode, message: String) -> Outcome {
    Outcome::Rejected { code, message }
}

/// The member a pulled record is personal to, read from its JSON: only
/// settings (`user_id`) and the conflicts of settings (`owner`) are.
fn personal_owner(kind: RecordKind, body: &RecordJson) -> Result<Option<UserId>> {
    #[derive(serde::Deserialize)]
    struct Owner {
        #[serde(default, alias = "user_id")]
        owner: Option<UserId>,
    }
    match kind {
        RecordKind::Setting | RecordKind::Conflict => body
            .parse::<Owner>()
            .map(|o| o.owner)
            .map_err(|e| corrupt(kind, &e)),
        _ => Ok(None),
    }
}

/// Applies one mutation of a record of type `R`. Refusals are outcomes,
/// not errors: the rest of the push goes on.
async fn apply<R: Record>(tx: &mut Tx<'_>, who: Who, m: &Mutation) -> Result<Outcome> {
    let stored = record::load::<R>(tx, who.tenant, m.id).await?;
    // Another member's personal record is not there, for this pusher.
    if let Some(Stored {
        body: Some(body), ..
    }) = &stored
        && body.owner().is_some_and(|owner| owner != who.user)
    {
        return Ok(rejected(
            ErrorCode::NotFound,
            format!("no {} {}", m.kind, m.id),
        ));
    }
    let (current, fields) = match stored {
        None if m.deleted => return Ok(Outcome::Applied { rev: 0 }),
        None => return create::<R>(tx, who, m).await,
        Some(Stored {
            body: None, rev, ..
        }) if m.deleted => return Ok(Outcome::Applied { rev }),
        Some(Stored { body: None, .. }) => {
            return Ok(rejected(
                ErrorCode::NotFound,
                format!("{} {} was deleted on another device", m.kind, m.id),
            ));
        }
        // A delete of a record another device changed since this one
        // last saw it would erase that edit: the record stays, and the
        // user decides (a conflict, the same on every device). The record
        // is issued again so that the deleting device, which dropped it,
        // hears of it even if it pulled the edit while its delete waited.
        Some(Stored {
            body: Some(body),
            fields,
            created,
            ..
        }) if m.deleted
            && fields
                .iter()
                // Timestamps every look moves are no edit to lose.
                .filter(|(name, _)| {
                    !LATEST_WINS.contains(&name.as_str()) && !IMMUTABLE.contains(&name.as_str())
                })
                .map(|(_, f)| f)
                .chain(&created)
                .any(|f| who.changed_elsewhere(f, m)) =>
        {
            let ctx = who.write_ctx(false);
            let rev = record::reissue::<R>(tx, who.tenant, m.id, &ctx).await?;
            let mut conflict = Conflict::deletion(who.tenant, m.kind, m.id, who.device);
            conflict.owner = body.owner();
            record::write(tx, &conflict, &ctx, Mode::Insert).await?;
            return Ok(Outcome::Conflicted {
                rev,
                conflict: conflict.id,
            });
        }
        // Deleted here as on the device: it holds the tombstone already.
        Some(Stored {
            body: Some(_), rev, ..
        }) if m.deleted => {
            record::remove::<R>(tx, who.tenant, m.id, &who.write_ctx(true)).await?;
            return Ok(Outcome::Applied { rev: rev + 1 });
        }
        Some(Stored {
            body: Some(body),
            fields,
            created,
            ..
        }) => (body, (fields, created)),
    };
    let (changes, created) = &fields;
    // The device holds the result when nothing changed since its base
    // came from elsewhere, and every pushed value is taken as it is.
    let mut device_has_it = changes
        .values()
        .chain(created)
        .all(|f| !who.changed_elsewhere(f, m));
    let mut merged = serde_json::to_value(&current).map_err(|e| corrupt(m.kind, &e))?;
    let mut losing = BTreeMap::new();
    let object = merged.as_object_mut().ok_or_else(|| DbError::Corrupt {
        kind: m.kind,
        reason: "not an object".into(),
    })?;
    for (name, value) in &m.fields {
        if object.get(name) == Some(value) {
            continue;
        }
        if IMMUTABLE.contains(&name.as_str()) {
            device_has_it = false;
            continue;
        }
        if LATEST_WINS.contains(&name.as_str()) {
            let latest = later(object.get(name), value);
            device_has_it &= latest == *value;
            object.insert(name.clone(), latest);
            continue;
        }
        let changed_elsewhere = changes
            .get(name)
            .or(created.as_ref())
            .is_some_and(|f| who.changed_elsewhere(f, m));
        if changed_elsewhere {
            losing.insert(name.clone(), value.clone());
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    let record: R = match serde_json::from_value(merged) {
        Ok(r) => r,
        Err(e) => return Ok(rejected(ErrorCode::ValidationFailed, e.to_string())),
    };
    // A conflict is news for the device too.
    let ctx = who.write_ctx(device_has_it && losing.is_empty());
    let rev = match write_checked(tx, &record, &ctx, Mode::Update).await? {
        Ok(rev) => rev,
        Err(refused) => return Ok(refused),
    };
    if losing.is_empty() {
        return Ok(Outcome::Applied { rev });
    }
    let mut conflict = Conflict::new(who.tenant, m.kind, m.id, losing, who.device);
    conflict.owner = record.owner();
    record::write(tx, &conflict, &ctx, Mode::Insert).await?;
    Ok(Outcome::Conflicted {
        rev,
        conflict: conflict.id,
    })
}

/// A record new to the server: its fields are the whole record; its tenant
/// and owner are the pusher's, whatever the fields say.
///
/// The record is read from the pushed fields where they are, not from a
/// copy: copying every field of every new record was a tenth of a bulk
/// upload's server time.
async fn create<R: Record>(tx: &mut Tx<'_>, who: Who, m: &Mutation) -> Result<Outcome> {
    let mut server_says = vec![
        ("id", serde_json::json!(m.id)),
        ("tenant_id", serde_json::json!(who.tenant)),
    ];
    if m.fields.contains_key("user_id") {
        server_says.push(("user_id", serde_json::json!(who.user)));
    }
    let device_has_it = server_says
        .iter()
        .all(|(name, value)| m.fields.get(*name) == Some(value));
    let fields = m
        .fields
        .iter()
        .filter(|(name, _)| server_says.iter().all(|(said, _)| said != name))
        .map(|(name, value)| (name.as_str(), value))
        .chain(server_says.iter().map(|(name, value)| (*name, value)));
    let body = serde::de::value::MapDeserializer::<_, serde_json::Error>::new(fields);
    let record = match R::deserialize(body) {
        Ok(r) => r,
        Err(e) => return Ok(rejected(ErrorCode::ValidationFailed, e.to_string())),
    };
    let ctx = who.write_ctx(device_has_it);
    Ok(
        match write_checked(tx, &record, &ctx, Mode::Insert).await? {
            Ok(rev) => Outcome::Applied { rev },
            Err(refused) => refused,
        },
    )
}

/// Writes after checking references; a refusal comes back as the outcome.
async fn write_checked<R: Record>(
    tx: &mut Tx<'_>,
    record: &R,
    ctx: &WriteCtx<'_>,
    mode: Mode,
) -> Result<Result<u64, Outcome>> {
    match record::check_references(tx, record).await {
        Ok(()) => {}
        Err(DbError::BrokenReference(why)) => return Ok(Err(rejected(ErrorCode::NotFound, why))),
        Err(e) => return Err(e),
    }
    match record::write(tx, record, ctx, mode).await {
        Ok(written) => Ok(Ok(written.rev)),
        Err(DbError::Invalid(v)) => Ok(Err(rejected(
            ErrorCode::ValidationFailed,
            format!("{}: {}", v.field, v.message),
        ))),
        Err(DbError::AlreadyExists { kind, id }) => Ok(Err(rejected(
            ErrorCode::Conflict,
            format!("{kind} {id} already exists"),
        ))),
        Err(e) => Err(e),
    }
}

fn corrupt(kind: RecordKind, e: &serde_json::Error) -> DbError {
    DbError::Corrupt {
        kind,
        reason: e.to_string(),
    }
}
