//! What the stores alone cost: the sync benchmark's floors.
//!
//! After a sync benchmark, the server's redb file and a device's sled
//! replica hold exactly the keys and values Stint wrote. Replaying them with
//! raw redb or sled calls, grouped as Stint groups them (a record with its
//! index entries and change-log entry, so many records per transaction),
//! measures the store's own share: no HTTP, no JSON, no merging, no
//! conflict checks. Whatever Stint does, a phase cannot take less than its
//! floor, so a target below the floor cannot be met with that store and
//! that grouping.
//!
//! Records are recognised by the key layout (`stint-db`'s `keys`): every
//! key of a record and of its index entries ends with the record's id, a
//! tuple-encoded UUID; a change-log entry names its record in its value.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

/// The server's one table (see `stint-store`'s redb backend).
const DATA: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("kv");

/// FoundationDB's tuple type code of a UUID, followed by its 16 bytes.
const UUID_CODE: u8 = 0x30;

/// The tuple-encoded `"log"` element of a change-log key.
const LOG_ELEMENT: &[u8] = b"\x02log\x00";

type Pair = (Vec<u8>, Vec<u8>);

/// The keys and values of each record, in the records' id order (UUIDv7:
/// the order they were made in).
#[derive(Debug, Default)]
pub struct Records(BTreeMap<[u8; 16], Vec<Pair>>);

impl Records {
    /// How many records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The records, `per` at a time, each group's pairs in key order (as a
    /// transaction's buffered writes are applied).
    fn groups(&self, per: usize) -> Vec<Vec<&Pair>> {
        let records: Vec<&Vec<Pair>> = self.0.values().collect();
        records
            .chunks(per)
            .map(|chunk| {
                let mut pairs: Vec<&Pair> = chunk.iter().flat_map(|r| r.iter()).collect();
                pairs.sort_unstable();
                pairs
            })
            .collect()
    }

    /// Sorts `pairs` into records: a pair whose key ends with a UUID
    /// belongs to the record of that id; a change-log entry to the record
    /// its value names. Only records with `required` pairs or more are
    /// kept (a record and its index entries, not a lone lookup).
    fn collect(pairs: impl Iterator<Item = Pair>, required: usize) -> Self {
        let mut by_id: BTreeMap<[u8; 16], Vec<Pair>> = BTreeMap::new();
        for (key, value) in pairs {
            let id = trailing_uuid(&key).or_else(|| logged_id(&key, &value));
            if let Some(id) = id {
                by_id.entry(id).or_default().push((key, value));
            }
        }
        by_id.retain(|_, pairs| pairs.len() >= required);
        Self(by_id)
    }
}

fn trailing_uuid(key: &[u8]) -> Option<[u8; 16]> {
    let at = key.len().checked_sub(17)?;
    (key[at] == UUID_CODE).then(|| key[at + 1..].try_into().expect("16 bytes"))
}

/// The id a change-log entry names (its value is the `Change` as JSON).
fn logged_id(key: &[u8], value: &[u8]) -> Option<[u8; 16]> {
    #[derive(serde::Deserialize)]
    struct Change {
        id: uuid::Uuid,
    }
    key.windows(LOG_ELEMENT.len())
        .any(|w| w == LOG_ELEMENT)
        .then_some(())?;
    serde_json::from_slice::<Change>(value)
        .ok()
        .map(|c| c.id.into_bytes())
}

/// The records in a stopped server's redb file: each with its index
/// entries and its change-log entries.
///
/// # Errors
/// When the file cannot be read.
pub fn server_records(redb_file: &Path) -> anyhow::Result<Records> {
    let db = redb::Database::open(redb_file)
        .with_context(|| format!("opening {}", redb_file.display()))?;
    let rtx = db.begin_read()?;
    let table = rtx.open_table(DATA)?;
    let mut pairs = Vec::new();
    for item in table.iter()? {
        let (k, v) = item?;
        pairs.push((k.value().to_vec(), v.value().to_vec()));
    }
    // A record, an index entry and a log entry at least.
    Ok(Records::collect(pairs.into_iter(), 3))
}

/// The bytes of every key and value in a stopped server's redb file (the
/// live data, against which its file size is measured), by area: a
/// tenant's record kind, index, `log`… (the key's third element), or the
/// global lookups (`g`, `m`).
///
/// # Errors
/// When the file cannot be read.
pub fn live_bytes(redb_file: &Path) -> anyhow::Result<BTreeMap<String, (u64, u64)>> {
    let db = redb::Database::open(redb_file)
        .with_context(|| format!("opening {}", redb_file.display()))?;
    let rtx = db.begin_read()?;
    let table = rtx.open_table(DATA)?;
    let mut areas: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for item in table.iter()? {
        let (k, v) = item?;
        let area = area(k.value());
        let entry = areas.entry(area).or_default();
        entry.0 += 1;
        entry.1 += (k.value().len() + v.value().len()) as u64;
    }
    Ok(areas)
}

/// The area of a key: `("t", tenant, AREA, …)` (with the index's name for
/// `ix`), else its first element.
fn area(key: &[u8]) -> String {
    // \x02 t \x00, then a UUID: \x30 and 16 bytes.
    const TENANT_PREFIX: usize = 3 + 17;
    let string_at = |at: usize| -> Option<(String, usize)> {
        (key.get(at) == Some(&0x02)).then_some(())?;
        let end = at + 1 + key[at + 1..].iter().position(|&b| b == 0)?;
        Some((
            String::from_utf8_lossy(&key[at + 1..end]).into_owned(),
            end + 1,
        ))
    };
    match string_at(0) {
        Some((first, _)) if first == "t" => match string_at(TENANT_PREFIX) {
            Some((area, next)) if area == "ix" => {
                format!("ix {}", string_at(next).map(|(n, _)| n).unwrap_or_default())
            }
            Some((area, _)) => area,
            None => "t".to_owned(),
        },
        Some((first, _)) => first,
        None => "other".to_owned(),
    }
}

/// The records in a closed device replica (sled).
///
/// # Errors
/// When the replica cannot be opened.
pub fn replica_records(replica_dir: &Path) -> anyhow::Result<Records> {
    let db = sled::open(replica_dir)
        .with_context(|| format!("opening the replica {}", replica_dir.display()))?;
    let pairs: Vec<Pair> = db
        .iter()
        .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()?;
    // A record and an index entry at least.
    Ok(Records::collect(pairs.into_iter(), 2))
}

/// Writes `records` into a new redb file in `dir` with raw calls, as the
/// server does for an upload: `batch` records per write transaction, each
/// `durable_every`-th transaction (and the last) durable, the others
/// carried to disk by it. The device's progress, which the server also
/// writes in each transaction, is left out: the floor is a lower bound.
///
/// # Errors
/// When redb fails.
pub fn redb_upload(
    records: &Records,
    dir: &Path,
    batch: usize,
    durable_every: usize,
) -> anyhow::Result<Duration> {
    std::fs::create_dir_all(dir)?;
    let db = redb::Database::create(dir.join("floor.redb"))?;
    let groups = records.groups(batch);
    let started = Instant::now();
    for (n, pairs) in groups.iter().enumerate() {
        let mut wtx = db.begin_write()?;
        if (n + 1) % durable_every != 0 && n + 1 != groups.len() {
            wtx.set_durability(redb::Durability::None)?;
        }
        {
            let mut table = wtx.open_table(DATA)?;
            for (key, value) in pairs {
                table.insert(key.as_slice(), value.as_slice())?;
            }
        }
        wtx.commit()?;
    }
    Ok(started.elapsed())
}

/// Writes `records` into a new sled database in `dir` with raw calls, as a
/// fresh device stores pulled pages: `page` records and a cursor per
/// batch, one flush at the end.
///
/// # Errors
/// When sled fails.
pub fn sled_download(records: &Records, dir: &Path, page: usize) -> anyhow::Result<Duration> {
    let db = sled::open(dir.join("floor.sled"))?;
    let started = Instant::now();
    for (n, pairs) in records.groups(page).iter().enumerate() {
        let mut batch = sled::Batch::default();
        for (key, value) in pairs {
            batch.insert(key.as_slice(), value.as_slice());
        }
        batch.insert(b"cursor".as_slice(), &n.to_be_bytes());
        db.apply_batch(batch)?;
    }
    db.flush()?;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid_key(prefix: &[u8], id: u8) -> Vec<u8> {
        let mut key = prefix.to_vec();
        key.push(UUID_CODE);
        key.extend([id; 16]);
        key
    }

    #[test]
    fn pairs_are_grouped_by_the_record_they_belong_to() {
        let log_key = b"\x02t\x00\x02log\x00\x33000000000000".to_vec();
        let log_value = serde_json::json!({
            "kind": "workspace_session",
            "id": uuid::Uuid::from_bytes([1; 16]),
            "rev": 1,
            "deleted": false,
        });
        let pairs = vec![
            (uuid_key(b"record", 1), b"body".to_vec()),
            (uuid_key(b"ix-a", 1), Vec::new()),
            (uuid_key(b"ix-b", 2), Vec::new()),
            (log_key.clone(), serde_json::to_vec(&log_value).unwrap()),
            (b"no id at the end".to_vec(), Vec::new()),
            (uuid_key(b"record", 2), b"other".to_vec()),
        ];
        let records = Records::collect(pairs.into_iter(), 3);
        // Record 2 has two pairs only; the key without an id belongs to none.
        assert_eq!(records.len(), 1);
        let record = &records.0[&[1; 16]];
        let keys: Vec<&[u8]> = record.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(
            keys,
            [
                uuid_key(b"record", 1).as_slice(),
                uuid_key(b"ix-a", 1).as_slice(),
                log_key.as_slice()
            ]
        );
    }

    #[test]
    fn groups_hold_whole_records_in_key_order() {
        let pairs = (0..5u8).flat_map(|id| {
            [
                (uuid_key(b"b-record", id), vec![id]),
                (uuid_key(b"a-index", id), Vec::new()),
            ]
        });
        let records = Records::collect(pairs, 2);
        let groups = records.groups(2);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        assert!(groups.iter().all(|g| g.is_sorted()));
        // The first group is records 0 and 1, indexes first.
        assert_eq!(groups[0][0].0, uuid_key(b"a-index", 0));
        assert_eq!(groups[0][3].0, uuid_key(b"b-record", 1));
    }
}
