//! The redb backend: the server's embedded store.
//!
//! Transactions read from a redb snapshot (MVCC), so readers never wait, and
//! buffer their writes. At commit, under a commit lock, the transaction is
//! checked optimistically as FoundationDB's resolvers do: if a transaction
//! that committed after this one's snapshot wrote a key this one read, the
//! commit fails with 1020 and the runner retries. Otherwise the buffer is
//! applied in one redb write transaction with `Durability::Immediate`,
//! together with the commit counter when versionstamps were written.
//!
//! A [`Durability::Deferred`](crate::Durability::Deferred) commit uses
//! redb's `Durability::None`: its pages stay in redb's write buffer, visible
//! to later transactions, until a durable commit writes them with its own
//! (so a run of deferred commits ending in a durable one writes each page
//! once and syncs once). Until then it is past the durable version.
//!
//! redb's file grows and never shrinks by itself: freed pages are reused,
//! but the file keeps its high-water mark. [`Store::compact`] gives the
//! free pages back with `Database::compact`, which needs the database to
//! itself (no read transaction open, no write): every transaction holds a
//! share of the `gate` from begin to end, and a compaction takes it whole,
//! so it waits for running transactions while new ones wait for it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{Mutex, OwnedRwLockReadGuard, RwLock};
use tokio::time::Instant;

use crate::overlay::{KeyRange, View, WriteSet, intersects};
use crate::{
    Backend, BackendTx, Compaction, KeyValue, RangePage, RangeRequest, Result, Space, Store,
    StoreError, StoreOptions, complete_versionstamp,
};

/// Raw bytes to raw bytes: the tuple layer orders keys, not redb's types.
const DATA: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("kv");
/// The commit counter, in the system range that user keys cannot reach.
const VERSION_KEY: &[u8] = b"\xff/stint/commit_version";

/// Opens (or creates) a redb store in the file `path`.
pub fn open_redb(path: &Path, options: StoreOptions) -> Result<Store> {
    let mut builder = redb::Builder::new();
    if let Some(bytes) = options.cache_bytes {
        builder.set_cache_size(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    let db = builder
        .create(path)
        .map_err(|e| StoreError::Io(format!("opening redb at {}: {e}", path.display())))?;
    // Create the table up front so that read transactions always find it.
    let wtx = db.begin_write().map_err(StoreError::io)?;
    let version = {
        let table = wtx.open_table(DATA).map_err(StoreError::io)?;
        let stored = table.get(VERSION_KEY).map_err(StoreError::io)?;
        match stored {
            Some(bytes) => decode_version(bytes.value())?,
            None => 0,
        }
    };
    wtx.commit().map_err(StoreError::io)?;
    let backend = RedbBackend(Arc::new(Shared {
        db: std::sync::RwLock::new(db),
        path: path.to_owned(),
        gate: Arc::new(RwLock::new(())),
        max_duration: options.limits.max_duration,
        commit_lock: Mutex::new(()),
        version: AtomicU64::new(version),
        durable: AtomicU64::new(version),
        recent: StdMutex::new(VecDeque::new()),
        window: options.limits.max_duration * 2,
    }));
    Ok(Store::from_backend(Arc::new(backend), options))
}

fn decode_version(bytes: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| {
        StoreError::Io("corrupt commit version".into())
    })?))
}

struct RedbBackend(Arc<Shared>);

/// What the backend and its transactions share.
struct Shared {
    /// Written only by a compaction, with the `gate` and the commit lock
    /// held, so every other access is an uncontended read.
    db: std::sync::RwLock<Database>,
    path: PathBuf,
    /// Shared by every live transaction, taken whole by a compaction.
    gate: Arc<RwLock<()>>,
    /// How long a transaction may live: how long a compaction waits for
    /// the running ones.
    max_duration: Duration,
    /// Serializes validation and apply.
    commit_lock: Mutex<()>,
    /// Version of the last commit.
    version: AtomicU64,
    /// Version of the last durable commit: everything up to it is on disk.
    durable: AtomicU64,
    /// What recent commits wrote, for conflict checks. A transaction lives at
    /// most `max_duration`, so commits older than `window` can be forgotten.
    recent: StdMutex<VecDeque<RecentCommit>>,
    window: Duration,
}

impl Shared {
    fn db(&self) -> std::sync::RwLockReadGuard<'_, Database> {
        self.db.read().expect("the database lock")
    }

    fn file_bytes(&self) -> Result<u64> {
        Ok(std::fs::metadata(&self.path).map_err(StoreError::io)?.len())
    }
}

/// Runs blocking redb work (a commit's fsync, a compaction) on this
/// thread. On a multi-threaded runtime, tell tokio so it moves other tasks
/// off this thread (cheaper than handing the work to a blocking thread); on
/// a current-thread runtime (tests, tools) there is nothing to move.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => work(),
        _ => tokio::task::block_in_place(work),
    }
}

struct RecentCommit {
    version: u64,
    at: Instant,
    writes: Vec<KeyRange>,
}

#[async_trait]
impl Backend for RedbBackend {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn cache_stats(&self) -> Option<crate::CacheStats> {
        let stats = self.0.db().cache_stats();
        Some(crate::CacheStats {
            evictions: stats.evictions(),
        })
    }

    async fn make_durable(&self) -> Result<bool> {
        let shared = &self.0;
        if shared.durable.load(Ordering::Acquire) >= shared.version.load(Ordering::Acquire) {
            return Ok(false);
        }
        let _serialized = shared.commit_lock.lock().await;
        let version = shared.version.load(Ordering::Acquire);
        if shared.durable.load(Ordering::Acquire) >= version {
            return Ok(true);
        }
        // A durable commit of its own carries the deferred ones to disk.
        let commit = || -> Result<()> {
            let mut wtx = shared.db().begin_write().map_err(StoreError::io)?;
            wtx.set_durability(Durability::Immediate)
                .map_err(StoreError::io)?;
            {
                let mut table = wtx.open_table(DATA).map_err(StoreError::io)?;
                table
                    .insert(VERSION_KEY, version.to_be_bytes().as_slice())
                    .map_err(StoreError::io)?;
            }
            wtx.commit().map_err(StoreError::io)
        };
        blocking(commit)?;
        shared.durable.store(version, Ordering::Release);
        Ok(true)
    }

    async fn space(&self) -> Result<Option<Space>> {
        let shared = &self.0;
        // Stats are read in a write transaction: in line with commits.
        let _serialized = shared.commit_lock.lock().await;
        let stats = blocking(|| -> Result<redb::DatabaseStats> {
            let wtx = shared.db().begin_write().map_err(StoreError::io)?;
            let stats = wtx.stats().map_err(StoreError::io)?;
            wtx.abort().map_err(StoreError::io)?;
            Ok(stats)
        })?;
        let page = stats.page_size() as u64;
        Ok(Some(Space {
            file_bytes: shared.file_bytes()?,
            allocated_bytes: stats.allocated_pages() * page,
            stored_bytes: stats.stored_bytes() + stats.metadata_bytes(),
        }))
    }

    async fn compact(&self) -> Result<Option<Compaction>> {
        let shared = &self.0;
        let before_bytes = shared.file_bytes()?;
        // Running transactions end within their lifetime (or fail at
        // their next step); one that is still held after it is a bug
        // somewhere, and waiting on forever would stall every request.
        let Ok(_paused) = tokio::time::timeout(shared.max_duration, shared.gate.write()).await
        else {
            return Err(StoreError::TimedOut(format!(
                "a transaction was still open after {:?}; nothing compacted",
                shared.max_duration
            )));
        };
        let _serialized = shared.commit_lock.lock().await;
        let started = Instant::now();
        blocking(|| {
            let mut db = shared.db.write().expect("the database lock");
            db.compact()
                .map_err(|e| StoreError::Io(format!("compacting: {e}")))
        })?;
        // The compaction's commits are durable, and carried every deferred
        // commit before them to disk.
        shared
            .durable
            .store(shared.version.load(Ordering::Acquire), Ordering::Release);
        let paused = started.elapsed();
        Ok(Some(Compaction {
            before_bytes,
            after_bytes: shared.file_bytes()?,
            paused,
        }))
    }

    async fn begin(&self) -> Result<Box<dyn BackendTx>> {
        // Waits while a compaction runs.
        let gate = Arc::clone(&self.0.gate).read_owned().await;
        // Read the version before taking the snapshot: the snapshot is then at
        // least as new as the version, so a conflict can be over-reported
        // (and retried) but never missed.
        let read_version = self.0.version.load(Ordering::Acquire);
        // Read before the snapshot too: the snapshot then holds at least
        // everything up to it, and what it holds beyond may not be durable.
        let durable_version = self.0.durable.load(Ordering::Acquire);
        let rtx = self.0.db().begin_read().map_err(StoreError::io)?;
        let table = rtx.open_table(DATA).map_err(StoreError::io)?;
        Ok(Box::new(RedbTx {
            _gate: gate,
            shared: Arc::clone(&self.0),
            view: RedbView(table),
            read_version,
            durable_version,
            reads: Vec::new(),
            writes: WriteSet::default(),
        }))
    }
}

struct RedbView(redb::ReadOnlyTable<&'static [u8], &'static [u8]>);

impl View for RedbView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .0
            .get(key)
            .map_err(StoreError::io)?
            .map(|v| v.value().to_vec()))
    }

    fn range<'a>(
        &'a self,
        begin: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Result<Box<dyn Iterator<Item = Result<KeyValue>> + 'a>> {
        let iter = self.0.range::<&[u8]>(begin..end).map_err(StoreError::io)?;
        let convert = |item: std::result::Result<_, redb::StorageError>| {
            item.map(
                |(k, v): (redb::AccessGuard<'_, &[u8]>, redb::AccessGuard<'_, &[u8]>)| {
                    (k.value().to_vec(), v.value().to_vec())
                },
            )
            .map_err(StoreError::io)
        };
        Ok(if reverse {
            Box::new(iter.rev().map(convert))
        } else {
            Box::new(iter.map(convert))
        })
    }

    fn page(&self, begin: &[u8], end: &[u8], reverse: bool, limit: usize) -> Result<Vec<KeyValue>> {
        let mut iter = self.0.range::<&[u8]>(begin..end).map_err(StoreError::io)?;
        let mut items = Vec::with_capacity(limit.min(1_024));
        while items.len() < limit {
            let next = if reverse {
                iter.next_back()
            } else {
                iter.next()
            };
            let Some(item) = next else { break };
            let (k, v) = item.map_err(StoreError::io)?;
            items.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(items)
    }
}

struct RedbTx {
    /// Held until the transaction ends, so a compaction waits for it.
    _gate: OwnedRwLockReadGuard<()>,
    shared: Arc<Shared>,
    view: RedbView,
    read_version: u64,
    durable_version: u64,
    /// What this transaction read: its read conflict ranges.
    reads: Vec<KeyRange>,
    writes: WriteSet,
}

#[async_trait]
impl BackendTx for RedbTx {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.reads.push((key.to_vec(), crate::key_after(key)));
        self.writes.get(&self.view, key)
    }

    async fn get_range(&mut self, request: &RangeRequest<'_>) -> Result<RangePage> {
        let (page, examined) = self.writes.get_range(&self.view, request)?;
        self.reads.push(examined);
        Ok(page)
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.writes.set(key, value);
    }

    fn clear(&mut self, key: &[u8]) {
        self.writes.clear(key);
    }

    fn clear_range(&mut self, begin: &[u8], end: &[u8]) {
        self.writes.clear_range(begin, end);
    }

    fn set_versionstamped_key(&mut self, key: &[u8], value: &[u8]) {
        self.writes
            .versionstamped
            .push((key.to_vec(), value.to_vec()));
    }

    fn durable_version(&self) -> Option<u64> {
        Some(self.durable_version)
    }

    async fn commit(self: Box<Self>, durability: crate::Durability) -> Result<()> {
        let RedbTx {
            _gate,
            shared,
            view,
            read_version,
            reads,
            writes,
            ..
        } = *self;
        // Release the snapshot first: redb reclaims pages only past it.
        drop(view);
        if writes.is_empty() {
            // Snapshot reads are consistent by themselves.
            return Ok(());
        }
        let _serialized = shared.commit_lock.lock().await;
        {
            let recent = shared.recent.lock().expect("conflict window lock");
            let conflict = recent
                .iter()
                .filter(|c| c.version > read_version)
                .any(|c| intersects(&reads, &c.writes));
            if conflict {
                return Err(StoreError::NotCommitted);
            }
        }
        let version = shared.version.load(Ordering::Acquire) + 1;
        let stamped: Vec<KeyValue> = writes
            .versionstamped
            .iter()
            .map(|(template, value)| (complete_versionstamp(template, version), value.clone()))
            .collect();
        let stamped_keys: Vec<Vec<u8>> = stamped.iter().map(|(k, _)| k.clone()).collect();
        let conflict_ranges = writes.conflict_ranges(&stamped_keys);

        // The commit blocks on fsync.
        blocking(|| apply(&shared.db(), &writes, &stamped, version, durability))?;

        shared.version.store(version, Ordering::Release);
        if durability == crate::Durability::Immediate {
            // Carries every deferred commit before it to disk as well.
            shared.durable.store(version, Ordering::Release);
        }
        let now = Instant::now();
        let mut recent = shared.recent.lock().expect("conflict window lock");
        while recent
            .front()
            .is_some_and(|c| now.duration_since(c.at) > shared.window)
        {
            recent.pop_front();
        }
        recent.push_back(RecentCommit {
            version,
            at: now,
            writes: conflict_ranges,
        });
        Ok(())
    }
}

/// Applies a write set in one redb transaction.
fn apply(
    db: &Database,
    writes: &WriteSet,
    stamped: &[KeyValue],
    version: u64,
    durability: crate::Durability,
) -> Result<()> {
    let mut wtx = db.begin_write().map_err(StoreError::io)?;
    let durability = match durability {
        crate::Durability::Immediate => Durability::Immediate,
        crate::Durability::Deferred => Durability::None,
    };
    wtx.set_durability(durability).map_err(StoreError::io)?;
    {
        let mut table = wtx.open_table(DATA).map_err(StoreError::io)?;
        for (begin, end) in &writes.cleared {
            let doomed: Vec<Vec<u8>> = table
                .range::<&[u8]>(begin.as_slice()..end.as_slice())
                .map_err(StoreError::io)?
                .map(|item| item.map(|(k, _)| k.value().to_vec()))
                .collect::<std::result::Result<_, _>>()
                .map_err(StoreError::io)?;
            for key in doomed {
                table.remove(key.as_slice()).map_err(StoreError::io)?;
            }
        }
        for (key, write) in &writes.points {
            match write {
                Some(value) => {
                    table
                        .insert(key.as_slice(), value.as_slice())
                        .map_err(StoreError::io)?;
                }
                None => {
                    table.remove(key.as_slice()).map_err(StoreError::io)?;
                }
            }
        }
        for (key, value) in stamped {
            table
                .insert(key.as_slice(), value.as_slice())
                .map_err(StoreError::io)?;
        }
        // Persisted only when versionstamps used it: then it must survive a
        // restart so later stamps sort after these. The conflict checks need
        // the version in memory only.
        if !stamped.is_empty() {
            table
                .insert(VERSION_KEY, version.to_be_bytes().as_slice())
                .map_err(StoreError::io)?;
        }
    }
    wtx.commit().map_err(StoreError::io)
}
