//! A device's side of sync, in its replica: the outbox of local edits, the
//! edits the server refused (set aside, never blocking the rest), the pull
//! cursor, and pulled pages.
//!
//! Every local edit of a synced record writes its outbox entry in the same
//! transaction (see `record::write` with [`Origin::Local`]), so an edit is
//! never stored without being queued, nor queued without being stored. A
//! pulled page and its cursor are stored in one transaction too, so a crash
//! between them neither loses nor repeats a change.
//!
//! [`Origin::Local`]: crate::Origin::Local

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stint_model::sync::{Mutation, Outcome, SyncRecord};
use stint_model::{ErrorCode, RecordKind, TenantId, Timestamp};
use stint_store::{Durability, Store, Tx};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;
use crate::record::{self, Mode, Origin, Record, WriteCtx, with_synced_type};

/// How much waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Local edits not yet accepted by the server.
    pub pending: usize,
    /// Edits the server refused for good.
    pub set_aside: usize,
}

/// An edit the server refused, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetAside {
    /// The tenant it was for.
    pub tenant: TenantId,
    /// The edit.
    pub mutation: Mutation,
    /// Why, for programs.
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
}

/// An outbox entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    tenant: TenantId,
    mutation: Mutation,
}

/// Queues a local edit, inside the edit's own transaction.
pub(crate) async fn append(
    tx: &mut Tx<'_>,
    kind: RecordKind,
    tenant: TenantId,
    id: Uuid,
    base_rev: u64,
    deleted: bool,
    fields: BTreeMap<String, serde_json::Value>,
) -> Result<()> {
    if !deleted && fields.is_empty() {
        return Ok(());
    }
    let counter = keys::mutation_counter();
    let number = read_u64(tx, &counter).await? + 1;
    tx.set(&counter, &number.to_be_bytes());
    let entry = Entry {
        tenant,
        mutation: Mutation {
            number,
            kind,
            id,
            base_rev,
            deleted,
            fields,
        },
    };
    tx.set(&keys::outbox().pack(&number), &to_vec(&entry));
    Ok(())
}

async fn read_u64(tx: &mut Tx<'_>, key: &[u8]) -> Result<u64> {
    Ok(match tx.get(key).await? {
        Some(v) => u64::from_be_bytes(v.try_into().map_err(|_| DbError::Corrupt {
            kind: RecordKind::Tenant,
            reason: "mutation counter".into(),
        })?),
        None => 0,
    })
}

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("outbox entries serialize")
}

fn from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| DbError::Corrupt {
        kind: RecordKind::Tenant,
        reason: format!("outbox entry: {e}"),
    })
}

/// How a push is cut from the outbox: batches of at most `batch_edits`
/// edits and `batch_bytes` bytes (each one transaction on the server), at
/// most `batches` of them and `push_bytes` in all (one request). An edit
/// larger than a bound still goes, alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushShape {
    /// Most edits in a batch.
    pub batch_edits: usize,
    /// Most bytes in a batch.
    pub batch_bytes: usize,
    /// Most batches in a push.
    pub batches: usize,
    /// Most bytes in a push.
    pub push_bytes: usize,
}

/// A push being cut, edit by edit.
#[derive(Default)]
struct Cut {
    batches: Vec<Vec<Mutation>>,
    batch_bytes: usize,
    push_bytes: usize,
}

impl Cut {
    /// Adds `mutation` (`bytes` long) if it fits; `false` when the push is
    /// full. `shape`'s counts are at least 1.
    fn take(&mut self, mutation: Mutation, bytes: usize, shape: PushShape) -> bool {
        let empty = self.batches.is_empty();
        if !empty && self.push_bytes + bytes > shape.push_bytes {
            return false;
        }
        let batch_full = self.batches.last().is_none_or(|batch| {
            batch.len() >= shape.batch_edits || self.batch_bytes + bytes > shape.batch_bytes
        });
        if batch_full {
            if self.batches.len() >= shape.batches {
                return false;
            }
            self.batches.push(Vec::new());
            self.batch_bytes = 0;
        }
        self.batches
            .last_mut()
            .expect("a batch was just ensured")
            .push(mutation);
        self.batch_bytes += bytes;
        self.push_bytes += bytes;
        true
    }
}

/// The outbox repository (device side).
#[derive(Debug, Clone, Copy)]
pub struct Outbox<'a> {
    pub(crate) store: &'a Store,
}

impl Outbox<'_> {
    /// The next push of `tenant`'s edits numbered after `after`, cut into
    /// batches as `shape` says (empty when nothing waits). Read while the
    /// push before it is still on its way.
    pub async fn next_push(
        &self,
        tenant: TenantId,
        after: u64,
        shape: PushShape,
    ) -> Result<Vec<Vec<Mutation>>> {
        let outbox = keys::outbox();
        let (begin, end) = (&outbox.pack(&(after + 1)), &outbox.range().1);
        // A push of no batch, or batches of no edit, would never end.
        let shape = PushShape {
            batch_edits: shape.batch_edits.max(1),
            batches: shape.batches.max(1),
            ..shape
        };
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut cut = Cut::default();
                    let mut from = begin.clone();
                    // One more than a push: the entry that ends it. More
                    // would be read and decoded for nothing, every push.
                    let page_size = shape.batch_edits * shape.batches + 1;
                    loop {
                        let page = tx
                            .get_range(stint_store::RangeRequest::new(&from, end).limit(page_size))
                            .await?;
                        for (_, value) in &page.items {
                            let entry: Entry = from_slice(value)?;
                            // Edits of another tenant (the user switched)
                            // wait for a sync of that tenant.
                            if entry.tenant != tenant {
                                continue;
                            }
                            if !cut.take(entry.mutation, value.len(), shape) {
                                return Ok(cut.batches);
                            }
                        }
                        match page.items.last() {
                            Some((last, _)) if page.more => from = stint_store::key_after(last),
                            _ => return Ok(cut.batches),
                        }
                    }
                })
            })
            .await
    }

    /// Takes the server's answers to a push off the outbox: accepted edits
    /// go, refused ones are set aside with the reason.
    ///
    /// When every edit was accepted, durable with the next durable write
    /// ([`Outbox::mark_synced`] ends a round with one): lost in a crash,
    /// the edits are pushed again and the server answers "duplicate". A
    /// refusal is durable at once: the server repeats a refusal only for
    /// a device's recent numbers, and the reason must not be lost.
    pub async fn settle(&self, results: &[(u64, Outcome)]) -> Result<()> {
        let refused = results
            .iter()
            .any(|(_, outcome)| matches!(outcome, Outcome::Rejected { .. }));
        let durability = if refused {
            Durability::Immediate
        } else {
            Durability::Deferred
        };
        self.store
            .run_with(durability, |tx| {
                Box::pin(async move {
                    for (number, outcome) in results {
                        let key = keys::outbox().pack(number);
                        if let Outcome::Rejected { code, message } = outcome
                            && let Some(value) = tx.get(&key).await?
                        {
                            let entry: Entry = from_slice(&value)?;
                            let aside = SetAside {
                                tenant: entry.tenant,
                                mutation: entry.mutation,
                                code: *code,
                                message: message.clone(),
                            };
                            tx.set(&keys::set_aside().pack(number), &to_vec(&aside));
                        }
                        tx.clear(&key);
                    }
                    Ok(())
                })
            })
            .await
    }

    /// How many edits wait, and how many were set aside.
    pub async fn counts(&self) -> Result<OutboxCounts> {
        let (ob, oe) = keys::outbox().range();
        let (xb, xe) = keys::set_aside().range();
        let (ob, oe, xb, xe) = (&ob, &oe, &xb, &xe);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    Ok(OutboxCounts {
                        pending: tx.get_all(ob, oe).await?.len(),
                        set_aside: tx.get_all(xb, xe).await?.len(),
                    })
                })
            })
            .await
    }

    /// The edits the server refused, oldest first.
    pub async fn set_aside(&self) -> Result<Vec<SetAside>> {
        let (begin, end) = keys::set_aside().range();
        let (begin, end) = (&begin, &end);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    tx.get_all(begin, end)
                        .await?
                        .iter()
                        .map(|(_, v)| from_slice(v))
                        .collect()
                })
            })
            .await
    }

    /// Where the next pull of `tenant` starts, if it pulled before.
    pub async fn cursor(&self, tenant: TenantId) -> Result<Option<String>> {
        let key = keys::pull_cursor(tenant);
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    Ok(tx
                        .get(key)
                        .await?
                        .map(|v| String::from_utf8_lossy(&v).into_owned()))
                })
            })
            .await
    }

    /// Forgets the cursor of `tenant`: the next pull starts over.
    pub async fn forget_cursor(&self, tenant: TenantId) -> Result<()> {
        let key = keys::pull_cursor(tenant);
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    tx.clear(key);
                    Ok(())
                })
            })
            .await
    }

    /// When a sync round last completed.
    pub async fn last_sync(&self) -> Result<Option<Timestamp>> {
        let key = keys::last_sync();
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move { tx.get(key).await?.map(|v| from_slice(&v)).transpose() })
            })
            .await
    }

    /// Notes that a sync round completed at `at`.
    pub async fn mark_synced(&self, at: Timestamp) -> Result<()> {
        let key = keys::last_sync();
        let (key, value) = (&key, &to_vec(&at));
        self.store
            .run(|tx| {
                Box::pin(async move {
                    tx.set(key, value);
                    Ok(())
                })
            })
            .await
    }

    /// Stores a pulled page of `tenant` and the cursor after it, together.
    /// Local edits still waiting in the outbox stay on top of what was
    /// pulled: the push will settle them with the server.
    ///
    /// Durable with the next durable write (as [`Outbox::settle`]): lost in
    /// a crash, page and cursor go together, and the page is pulled again.
    pub async fn store_pulled(
        &self,
        tenant: TenantId,
        records: &[SyncRecord],
        cursor: &str,
    ) -> Result<()> {
        let cursor_key = keys::pull_cursor(tenant);
        let cursor_key = &cursor_key;
        self.store
            .run_with(Durability::Deferred, |tx| {
                Box::pin(async move {
                    let waiting = waiting(tx).await?;
                    for pulled in records {
                        let local = waiting.get(&(pulled.kind, pulled.id));
                        with_synced_type!(pulled.kind, R => {
                            store_one::<R>(tx, tenant, pulled, local).await?;
                        }, _ => {})
                    }
                    tx.set(cursor_key, cursor.as_bytes());
                    Ok(())
                })
            })
            .await
    }

    /// After pulling everything again (the server compacted past the
    /// cursor), removes the local copies of synced records the server no
    /// longer has: deleted while this device was away, their tombstones
    /// since forgotten. Records with edits waiting or set aside (never
    /// accepted by the server) stay. Returns how many went.
    pub async fn forget_unseen(
        &self,
        tenant: TenantId,
        seen: &std::collections::HashSet<(RecordKind, Uuid)>,
    ) -> Result<usize> {
        let at = stint_model::now();
        let mut removed = 0;
        for kind in RecordKind::ALL.into_iter().filter(|k| k.is_synced()) {
            let (begin, end) = keys::records(tenant, kind).range();
            let (begin, end) = (&begin, &end);
            removed += self
                .store
                .run(|tx| {
                    Box::pin(async move {
                        let mut kept = waiting(tx).await?;
                        let (xb, xe) = keys::set_aside().range();
                        for (_, value) in tx.get_all(&xb, &xe).await? {
                            let aside: SetAside = from_slice(&value)?;
                            let m = aside.mutation;
                            kept.entry((m.kind, m.id)).or_default();
                        }
                        let mut gone = Vec::new();
                        for (key, value) in tx.get_all(begin, end).await? {
                            let id = record::last_uuid(&key)?;
                            let stored: record::Stored<serde_json::Value> =
                                record::decode_raw(tx, tenant, kind, id, &value).await?;
                            let unseen =
                                !seen.contains(&(kind, id)) && !kept.contains_key(&(kind, id));
                            if stored.body.is_some() && unseen {
                                gone.push((id, stored.rev));
                            }
                        }
                        for (id, rev) in &gone {
                            let ctx = WriteCtx {
                                at,
                                device: None,
                                origin: Origin::Pulled(*rev),
                                audit: None,
                            };
                            with_synced_type!(kind, R => {
                                record::remove::<R>(tx, tenant, *id, &ctx).await?;
                            }, _ => {})
                        }
                        Ok::<_, DbError>(gone.len())
                    })
                })
                .await?;
        }
        Ok(removed)
    }
}

/// The local edits of one record that wait in the outbox.
#[derive(Debug, Default)]
struct Waiting {
    deleted: bool,
    fields: BTreeMap<String, serde_json::Value>,
}

/// The edits waiting in the outbox, by record.
async fn waiting(tx: &mut Tx<'_>) -> Result<BTreeMap<(RecordKind, Uuid), Waiting>> {
    let (begin, end) = keys::outbox().range();
    let mut waiting: BTreeMap<(RecordKind, Uuid), Waiting> = BTreeMap::new();
    for (_, value) in tx.get_all(&begin, &end).await? {
        let entry: Entry = from_slice(&value)?;
        let m = entry.mutation;
        let w = waiting.entry((m.kind, m.id)).or_default();
        w.deleted |= m.deleted;
        // A pulled record exists on the server: a waiting create (the
        // whole record, its id included) went there already, so only
        // later edits stay on top.
        if !m.fields.contains_key("id") {
            w.fields.extend(m.fields);
        }
    }
    Ok(waiting)
}

async fn store_one<R: Record>(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    pulled: &SyncRecord,
    local: Option<&Waiting>,
) -> Result<()> {
    let ctx = WriteCtx {
        at: pulled.updated_at,
        device: pulled.updated_by,
        origin: Origin::Pulled(pulled.rev),
        audit: None,
    };
    if local.is_some_and(|w| w.deleted) {
        // Deleted here; the push tells the server.
        return Ok(());
    }
    let Some(body) = &pulled.body else {
        return match record::remove::<R>(tx, tenant, pulled.id, &ctx).await {
            Ok(()) | Err(DbError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        };
    };
    // Read straight from the text; through a tree only to lay local
    // edits over it.
    let decoded = match local {
        Some(local) => body
            .parse::<serde_json::Map<String, serde_json::Value>>()
            .and_then(|mut object| {
                object.extend(local.fields.clone());
                R::deserialize(serde_json::Value::Object(object))
            }),
        None => body.parse::<R>(),
    };
    let record: R = decoded.map_err(|e| DbError::Corrupt {
        kind: pulled.kind,
        reason: format!("pulled record: {e}"),
    })?;
    if record.tenant() != tenant || record.id() != pulled.id {
        return Err(DbError::Corrupt {
            kind: pulled.kind,
            reason: "a pulled record names another tenant or id".into(),
        });
    }
    record::write(tx, &record, &ctx, Mode::Upsert).await?;
    Ok(())
}
