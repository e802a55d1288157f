//! The redb backend: the server's embedded store.
//!
//! Transactions read from a redb snapshot (MVCC), so readers never wait, and
//! buffer their writes. At commit, a transaction joins a queue, and
//! whichever committer holds the commit lock leads the group of all those
//! waiting (group commit, as FoundationDB's proxies batch commits): each is
//! checked optimistically as FoundationDB's resolvers do (if a transaction
//! that committed after this one's snapshot, an earlier member of the same
//! group included, wrote a key this one read, it fails alone with 1020 and
//! the runner retries it), and those that pass are applied in order in one
//! redb write transaction with `Durability::Immediate`: one fsync for all,
//! however many clients wait. Each gets a version of its own for its
//! versionstamps, and hears that it committed only once the group is on
//! disk.
//!
//! A [`Durability::Deferred`](crate::Durability::Deferred) commit uses
//! redb's `Durability::None`: its pages stay in redb's write buffer, visible
//! to later transactions, until a durable commit writes them with its own
//! (so a run of deferred commits ending in a durable one writes each page
//! once and syncs once). Until then it is past the durable version.
//!
//! redb's file grows and never shrinks by itself, and its leaves end about
//! half full wherever keys are appended in many places at once (every
//! tenant's audit trail and change log grow at their own end of the tree,
//! and redb splits a full leaf in two halves). [`Store::compact`] rewrites
//! the file instead: it copies a snapshot, in key order, into a new file
//! (whose leaves come out about nine tenths full) while reads and writes go
//! on; the commits made meanwhile are kept in a journal and replayed into
//! the copy, which then replaces the file by a rename, with commits held for
//! just that moment. A crash before the rename leaves the old file (and a
//! leftover copy, removed at the next open); after it, the new one.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use tokio::sync::{Mutex, oneshot};
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
    let backend = open_backend(path, &options)?;
    Ok(Store::from_backend(Arc::new(backend), options))
}

fn open_backend(path: &Path, options: &StoreOptions) -> Result<RedbBackend> {
    let db = create(path, options.cache_bytes)?;
    // A copy left by a compaction that did not finish: the file is whole
    // without it. Removed only once the file is ours (redb locks it), so
    // that a second opener never takes a running compaction's copy away.
    let leftover = copy_path(path);
    if leftover.exists() {
        std::fs::remove_file(&leftover).map_err(StoreError::io)?;
    }
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
        db: std::sync::RwLock::new(Arc::new(db)),
        path: path.to_owned(),
        cache_bytes: options.cache_bytes,
        journal: StdMutex::new(None),
        compacting: Mutex::new(()),
        commit_lock: Mutex::new(()),
        queue: StdMutex::new(VecDeque::new()),
        tickets: AtomicU64::new(0),
        stats: Stats::default(),
        version: AtomicU64::new(version),
        durable: AtomicU64::new(version),
        recent: StdMutex::new(VecDeque::new()),
        reading: StdMutex::new(std::collections::BTreeMap::new()),
        window: options.limits.max_duration * 2,
    }));
    Ok(backend)
}

/// redb's builder, with the page cache capped when `cache_bytes` says.
fn builder(cache_bytes: Option<u64>) -> redb::Builder {
    let mut builder = redb::Builder::new();
    if let Some(bytes) = cache_bytes {
        builder.set_cache_size(usize::try_from(bytes).unwrap_or(usize::MAX));
    }
    builder
}

fn create(path: &Path, cache_bytes: Option<u64>) -> Result<Database> {
    builder(cache_bytes)
        .create(path)
        .map_err(|e| StoreError::Io(format!("opening redb at {}: {e}", path.display())))
}

/// Where a compaction writes its copy: next to the file, so that the
/// rename that replaces the file stays on one file system.
fn copy_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".compacting");
    path.with_file_name(name)
}

fn decode_version(bytes: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| {
        StoreError::Io("corrupt commit version".into())
    })?))
}

struct RedbBackend(Arc<Shared>);

/// What the backend and its transactions share.
struct Shared {
    /// The database; replaced by its compacted copy, under the commit
    /// lock. Transactions keep the one they began on alive.
    db: std::sync::RwLock<Arc<Database>>,
    path: PathBuf,
    cache_bytes: Option<u64>,
    /// While a compaction copies: what commits wrote since its snapshot.
    journal: StdMutex<Option<Journal>>,
    /// One compaction at a time.
    compacting: Mutex<()>,
    /// Held by the leader of a group commit (and by compaction and
    /// [`make_durable`](Backend::make_durable)): serializes validation and
    /// apply.
    commit_lock: Mutex<()>,
    /// Transactions ready to commit, oldest first, for the next leader.
    queue: StdMutex<VecDeque<Pending>>,
    /// Numbers the pending commits, so that one can be withdrawn.
    tickets: AtomicU64,
    stats: Stats,
    /// Version of the last commit.
    version: AtomicU64,
    /// Version of the last durable commit: everything up to it is on disk.
    durable: AtomicU64,
    /// What recent commits wrote, for conflict checks: only those after
    /// the oldest snapshot still in use (a transaction checks the commits
    /// after its own snapshot), and, since a transaction lives at most
    /// `max_duration`, none older than `window`. Without the first bound
    /// it held ten seconds of write sets: 60 MB at 4,000 writes a second,
    /// each one scanned by every commit's check.
    recent: StdMutex<VecDeque<RecentCommit>>,
    /// The read versions of the transactions alive, with how many hold each.
    reading: StdMutex<std::collections::BTreeMap<u64, usize>>,
    window: Duration,
}

/// What the commit path did, for [`Store::commit_stats`](crate::Store::commit_stats).
#[derive(Default)]
struct Stats {
    transactions: AtomicU64,
    groups: AtomicU64,
    conflicts: AtomicU64,
}

/// Most bytes of writes one group commits: FoundationDB's limit is 10 MB
/// per transaction, so a group holds at least one of the largest, and
/// several small ones fit in the memory and time of one.
const GROUP_BYTES: usize = 16 << 20;

/// The commits made while a compaction copies, to replay into the copy.
#[derive(Default)]
struct Journal {
    commits: Vec<(WriteSet, Vec<KeyValue>, u64)>,
    /// About what `commits` holds in memory.
    bytes: usize,
    /// Past [`JOURNAL_BYTES`]: the compaction gives up rather than hold
    /// more in memory.
    overflowed: bool,
}

/// Journals commits while it lives: dropped (the compaction done, failed
/// or cancelled), commits stop being kept.
struct Journaling<'a>(&'a Shared);

impl<'a> Journaling<'a> {
    /// Call with the commit lock held, so no commit is half journaled.
    fn start(shared: &'a Shared) -> Self {
        *shared.journal.lock().expect("the journal lock") = Some(Journal::default());
        Self(shared)
    }
}

impl Drop for Journaling<'_> {
    fn drop(&mut self) {
        *self.0.journal.lock().expect("the journal lock") = None;
    }
}

/// Most bytes of commits a compaction keeps in memory while it copies.
const JOURNAL_BYTES: usize = 64 << 20;

/// A compaction replays the journal in rounds while commits go on, until
/// less than this is left for the final round, with commits held...
const CATCH_UP_BYTES: usize = 1 << 20;
/// ...or this many rounds have passed (writes outpacing the replay).
const CATCH_UP_ROUNDS: usize = 8;

/// What a journaled entry costs beyond its bytes (vectors, tree nodes).
const JOURNAL_ENTRY_OVERHEAD: usize = 64;

/// Bytes of keys and values per write transaction of a compaction's copy.
const COPY_BATCH_BYTES: usize = 8 << 20;

/// The copy's cache while it is written: small, since it is written once
/// and not read, and it comes on top of the live database's cache.
const COPY_CACHE_BYTES: u64 = 4 << 20;

impl Shared {
    fn db(&self) -> Arc<Database> {
        Arc::clone(&self.db.read().expect("the database lock"))
    }

    fn file_bytes(&self) -> Result<u64> {
        Ok(std::fs::metadata(&self.path).map_err(StoreError::io)?.len())
    }

    /// Keeps a commit for the running compaction, if one is copying.
    fn journal(&self, mut writes: WriteSet, stamped: Vec<KeyValue>, version: u64) {
        let mut journal = self.journal.lock().expect("the journal lock");
        let Some(journal) = journal.as_mut() else {
            return;
        };
        if journal.overflowed {
            return;
        }
        // The completed keys are in `stamped`; the templates are not needed.
        writes.versionstamped = Vec::new();
        journal.bytes += writes.bytes()
            + stamped
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + JOURNAL_ENTRY_OVERHEAD
                * (1 + writes.points.len() + writes.cleared.len() + stamped.len());
        if journal.bytes > JOURNAL_BYTES {
            journal.overflowed = true;
            journal.commits = Vec::new();
        } else {
            journal.commits.push((writes, stamped, version));
        }
    }

    fn journal_overflowed(&self) -> bool {
        self.journal
            .lock()
            .expect("the journal lock")
            .as_ref()
            .is_some_and(|j| j.overflowed)
    }

    /// What was journaled since the last take; an error if too much was.
    fn take_journaled(&self) -> Result<Journal> {
        let mut journal = self.journal.lock().expect("the journal lock");
        let journal = journal.as_mut().expect("journaling while compacting");
        if journal.overflowed {
            return Err(StoreError::Io(format!(
                "more than {} MiB were committed while the compaction copied; nothing compacted",
                JOURNAL_BYTES >> 20
            )));
        }
        Ok(std::mem::take(journal))
    }

    /// Puts a take back in front of what came since, to replay it later.
    fn put_back_journaled(&self, mut taken: Journal) {
        let mut journal = self.journal.lock().expect("the journal lock");
        let journal = journal.as_mut().expect("journaling while compacting");
        taken.commits.append(&mut journal.commits);
        taken.bytes += journal.bytes;
        taken.overflowed |= journal.overflowed;
        *journal = taken;
    }
}

/// Runs blocking redb work (a commit's fsync) on this thread. On a
/// multi-threaded runtime, tell tokio so it moves other tasks off this
/// thread (cheaper than handing the work to a blocking thread); on a
/// current-thread runtime (tests, tools) there is nothing to move.
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

    fn commit_stats(&self) -> Option<crate::CommitStats> {
        let stats = &self.0.stats;
        Some(crate::CommitStats {
            transactions: stats.transactions.load(Ordering::Relaxed),
            groups: stats.groups.load(Ordering::Relaxed),
            conflicts: stats.conflicts.load(Ordering::Relaxed),
            kept_for_checks: self.0.recent.lock().expect("conflict window lock").len(),
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
        // Walks the table's pages in a snapshot: no lock, nobody waits.
        let db = self.0.db();
        let stats = tokio::task::spawn_blocking(move || -> Result<redb::TableStats> {
            let rtx = db.begin_read().map_err(StoreError::io)?;
            let table = rtx.open_table(DATA).map_err(StoreError::io)?;
            table.stats().map_err(StoreError::io)
        })
        .await
        .map_err(StoreError::io)??;
        Ok(Some(Space {
            file_bytes: self.0.file_bytes()?,
            stored_bytes: stats.stored_bytes() + stats.metadata_bytes(),
        }))
    }

    async fn compact(&self) -> Result<Option<Compaction>> {
        let shared = Arc::clone(&self.0);
        let _one_at_a_time = shared.compacting.lock().await;
        let before_bytes = shared.file_bytes()?;
        let copy_path = copy_path(&shared.path);
        // The snapshot and the journal start together, between commits.
        let (journaling, snapshot) = {
            let _serialized = shared.commit_lock.lock().await;
            (
                Journaling::start(&shared),
                shared.db().begin_read().map_err(StoreError::io)?,
            )
        };
        let result = async {
            let copied = {
                let (path, shared) = (copy_path.clone(), Arc::clone(&shared));
                tokio::task::spawn_blocking(move || {
                    copy(&snapshot, &shared.path, &path, || {
                        shared.journal_overflowed()
                    })
                })
                .await
                .map_err(StoreError::io)??
            };
            // Catch up with what was committed meanwhile, commits going on,
            // until little is left; then reopen the copy with the store's
            // cache (a database's cache is set when it is opened).
            let mut copied = Some(copied);
            for _ in 0..CATCH_UP_ROUNDS {
                let commits = shared.take_journaled()?;
                if commits.bytes < CATCH_UP_BYTES {
                    shared.put_back_journaled(commits);
                    break;
                }
                let db = copied.take().expect("the copy");
                copied = Some(
                    tokio::task::spawn_blocking(move || {
                        replay(&db, &commits, Durability::None).map(|()| db)
                    })
                    .await
                    .map_err(StoreError::io)??,
                );
            }
            drop(copied);
            let reopened = {
                let (path, cache) = (copy_path.clone(), shared.cache_bytes);
                tokio::task::spawn_blocking(move || open_existing(&path, cache))
                    .await
                    .map_err(StoreError::io)??
            };
            // Commits wait from here to the swap: the rest of the journal
            // is replayed and the copy takes the file's place.
            let serialized = shared.commit_lock.lock().await;
            let started = Instant::now();
            let rest = shared.take_journaled()?;
            drop(journaling);
            blocking(|| replay(&reopened, &rest, Durability::Immediate))?;
            blocking(|| std::fs::rename(&copy_path, &shared.path)).map_err(StoreError::io)?;
            // From here the copy is the file: it must be swapped in whatever
            // follows, or later commits would go to a file no longer in the
            // directory.
            if let Err(e) = blocking(|| sync_parent(&shared.path)) {
                tracing::warn!(%e, "compaction: syncing the directory after the rename failed");
            }
            let old = std::mem::replace(
                &mut *shared.db.write().expect("the database lock"),
                Arc::new(reopened),
            );
            // The copy was committed durably, with everything before it.
            shared
                .durable
                .store(shared.version.load(Ordering::Acquire), Ordering::Release);
            let paused = started.elapsed();
            drop(serialized);
            // Closing a database commits and syncs: not under any lock, nor
            // on a runtime thread; awaited, so that its cache is freed when
            // the compaction returns. (A transaction still reading it keeps
            // it open; it closes when that one ends.)
            let _ = tokio::task::spawn_blocking(move || drop(old)).await;
            Ok(Compaction {
                before_bytes,
                after_bytes: shared.file_bytes()?,
                paused,
            })
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&copy_path);
        }
        result.map(Some)
    }

    async fn begin(&self) -> Result<Box<dyn BackendTx>> {
        // Read the version before taking the snapshot: the snapshot is then at
        // least as new as the version, so a conflict can be over-reported
        // (and retried) but never missed.
        let snapshot = Snapshot::take(&self.0);
        // Read before the snapshot too: the snapshot then holds at least
        // everything up to it, and what it holds beyond may not be durable.
        let durable_version = self.0.durable.load(Ordering::Acquire);
        let db = self.0.db();
        let rtx = db.begin_read().map_err(StoreError::io)?;
        let table = rtx.open_table(DATA).map_err(StoreError::io)?;
        Ok(Box::new(RedbTx {
            _db: db,
            shared: Arc::clone(&self.0),
            view: RedbView(table),
            snapshot,
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
    shared: Arc<Shared>,
    view: RedbView,
    /// The version its snapshot is at, registered until it ends.
    snapshot: Snapshot,
    durable_version: u64,
    /// What this transaction read: its read conflict ranges.
    reads: Vec<KeyRange>,
    writes: WriteSet,
    /// The database the snapshot is of, kept open while it is read (a
    /// compaction may have replaced it meanwhile). Last, so that it is
    /// dropped after the view.
    _db: Arc<Database>,
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
            _db,
            shared,
            view,
            snapshot,
            reads,
            writes,
            ..
        } = *self;
        // Registered until this returns: the commits after it are kept
        // until its own check is done.
        let read_version = snapshot.read_version;
        // Release the snapshot first: redb reclaims pages only past it.
        drop(view);
        if writes.is_empty() {
            // Snapshot reads are consistent by themselves.
            return Ok(());
        }
        let (done, mut outcome) = oneshot::channel();
        let ticket = shared.enqueue(Pending {
            ticket: 0,
            read_version,
            began: snapshot.began,
            reads,
            writes,
            durability,
            done,
        });
        // Dropped before an answer (the caller gave up waiting): taken out
        // of the queue, so that no later group commits it behind its back.
        let _withdraw = Withdraw(&shared, ticket);
        loop {
            // Answered by a leader, or leading: whichever comes first. (A
            // commit that waited for the lock after its answer came would
            // wait for the next whole group too, fsync included.)
            let serialized = tokio::select! {
                biased;
                answer = &mut outcome => {
                    return answer.unwrap_or(Err(StoreError::CommitUnknownResult));
                }
                serialized = shared.commit_lock.lock() => serialized,
            };
            // A leader may have committed this one just before: the leader
            // answers before it lets the lock go.
            match outcome.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Empty) => {}
                // Its leader panicked with it taken: whether it committed
                // is not known.
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(StoreError::CommitUnknownResult);
                }
            }
            // Lead. On one thread, let the commits that are ready join
            // first: they can only queue while this one yields. On several,
            // they queue from the other threads during the group before;
            // a yield would put this commit behind every task ready on
            // this thread (a few milliseconds of requests, under load).
            if tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::CurrentThread
            {
                tokio::task::yield_now().await;
            }
            let group = shared.take_group();
            blocking(|| shared.commit_group(group));
            drop(serialized);
            // This one was in the group, and is answered, unless the
            // group's byte cap left it for the next round.
        }
    }
}

/// A transaction waiting for a group to commit it.
struct Pending {
    ticket: u64,
    read_version: u64,
    /// When its snapshot was taken.
    began: Instant,
    reads: Vec<KeyRange>,
    writes: WriteSet,
    durability: crate::Durability,
    done: oneshot::Sender<Result<()>>,
}

/// Takes a pending commit out of the queue when its caller stops waiting.
struct Withdraw<'a>(&'a Shared, u64);

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().expect("the commit queue lock");
        queue.retain(|p| p.ticket != self.1);
    }
}

/// A pending commit that passed its conflict check, with its version.
struct Accepted {
    pending: Pending,
    version: u64,
    stamped: Vec<KeyValue>,
    conflict_ranges: Vec<KeyRange>,
}

impl Shared {
    fn enqueue(&self, mut pending: Pending) -> u64 {
        let mut queue = self.queue.lock().expect("the commit queue lock");
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        pending.ticket = ticket;
        queue.push_back(pending);
        ticket
    }

    /// The oldest pending commits, up to [`GROUP_BYTES`] (at least one).
    fn take_group(&self) -> Vec<Pending> {
        let mut queue = self.queue.lock().expect("the commit queue lock");
        let mut bytes = 0;
        let mut group = Vec::new();
        while let Some(next) = queue.front() {
            let size = next.writes.bytes();
            if !group.is_empty() && bytes + size > GROUP_BYTES {
                break;
            }
            bytes += size;
            group.extend(queue.pop_front());
        }
        group
    }

    /// Commits a group, with the commit lock held: each transaction is
    /// checked for conflicts on its own (against the commits before it,
    /// this group's included) and gets a version of its own; those that
    /// pass are applied in one redb write transaction, synced once if any
    /// of them asked for durability. Each one hears its own outcome, and
    /// only once the group is on disk (or in redb's buffer, for a group of
    /// deferred commits).
    fn commit_group(&self, group: Vec<Pending>) {
        let mut version = self.version.load(Ordering::Acquire);
        let mut accepted: Vec<Accepted> = Vec::with_capacity(group.len());
        {
            let recent = self.recent.lock().expect("conflict window lock");
            let now = Instant::now();
            for pending in group {
                // Commits older than the window may be forgotten already:
                // one that waited that long in the queue is too old to be
                // checked (FoundationDB's 1007), not let through.
                if now.duration_since(pending.began) > self.window {
                    let _ = pending.done.send(Err(StoreError::TransactionTooOld));
                    continue;
                }
                let conflict = recent
                    .iter()
                    .filter(|c| c.version > pending.read_version)
                    .any(|c| intersects(&pending.reads, &c.writes))
                    // Every earlier member of the group committed after
                    // this one's snapshot was taken.
                    || accepted
                        .iter()
                        .any(|a| intersects(&pending.reads, &a.conflict_ranges));
                if conflict {
                    self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
                    let _ = pending.done.send(Err(StoreError::NotCommitted));
                    continue;
                }
                version += 1;
                let stamped: Vec<KeyValue> = pending
                    .writes
                    .versionstamped
                    .iter()
                    .map(|(template, value)| {
                        (complete_versionstamp(template, version), value.clone())
                    })
                    .collect();
                let stamped_keys: Vec<Vec<u8>> = stamped.iter().map(|(k, _)| k.clone()).collect();
                let conflict_ranges = pending.writes.conflict_ranges(&stamped_keys);
                accepted.push(Accepted {
                    pending,
                    version,
                    stamped,
                    conflict_ranges,
                });
            }
        }
        if accepted.is_empty() {
            return;
        }
        let durable = accepted
            .iter()
            .any(|a| a.pending.durability == crate::Durability::Immediate);
        if let Err(e) = apply_group(&self.db(), &accepted, durable) {
            // Nothing of the group was written: redb's transaction is whole.
            for a in accepted {
                let _ = a.pending.done.send(Err(e.clone()));
            }
            return;
        }
        self.version.store(version, Ordering::Release);
        if durable {
            // Carries every deferred commit before it to disk as well.
            self.durable.store(version, Ordering::Release);
        }
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats
            .transactions
            .fetch_add(accepted.len() as u64, Ordering::Relaxed);
        let now = Instant::now();
        // Read after the version moved on: a transaction that begins from
        // here checks only commits after this group.
        let oldest_snapshot = self.oldest_snapshot();
        let mut recent = self.recent.lock().expect("conflict window lock");
        while recent.front().is_some_and(|c| {
            oldest_snapshot.is_none_or(|oldest| c.version <= oldest)
                || now.duration_since(c.at) > self.window
        }) {
            recent.pop_front();
        }
        for a in accepted {
            let Accepted {
                pending,
                version,
                stamped,
                conflict_ranges,
            } = a;
            recent.push_back(RecentCommit {
                version,
                at: now,
                writes: conflict_ranges,
            });
            self.journal(pending.writes, stamped, version);
            let _ = pending.done.send(Ok(()));
        }
    }
}

/// Registers a transaction's snapshot while it lives, so that the commits
/// after it are kept for its conflict check.
struct Snapshot {
    shared: Arc<Shared>,
    read_version: u64,
    began: Instant,
}

impl Snapshot {
    /// Reads the version and registers it in one step: a group that
    /// commits meanwhile either sees this snapshot, or has moved the
    /// version on before it was read.
    fn take(shared: &Arc<Shared>) -> Self {
        let mut reading = shared.reading.lock().expect("the snapshots lock");
        let read_version = shared.version.load(Ordering::Acquire);
        *reading.entry(read_version).or_default() += 1;
        Self {
            shared: Arc::clone(shared),
            read_version,
            began: Instant::now(),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let mut reading = self.shared.reading.lock().expect("the snapshots lock");
        if let Some(count) = reading.get_mut(&self.read_version) {
            *count -= 1;
            if *count == 0 {
                reading.remove(&self.read_version);
            }
        }
    }
}

impl Shared {
    /// The read version of the oldest transaction alive, if any.
    fn oldest_snapshot(&self) -> Option<u64> {
        let reading = self.reading.lock().expect("the snapshots lock");
        reading.keys().next().copied()
    }
}

/// Applies a group's write sets, in order, in one redb transaction.
fn apply_group(db: &Database, group: &[Accepted], durable: bool) -> Result<()> {
    let mut wtx = db.begin_write().map_err(StoreError::io)?;
    wtx.set_durability(if durable {
        Durability::Immediate
    } else {
        Durability::None
    })
    .map_err(StoreError::io)?;
    {
        let mut table = wtx.open_table(DATA).map_err(StoreError::io)?;
        for a in group {
            apply_to(&mut table, &a.pending.writes, &a.stamped, a.version)?;
        }
    }
    wtx.commit().map_err(StoreError::io)
}

fn apply_to(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    writes: &WriteSet,
    stamped: &[KeyValue],
    version: u64,
) -> Result<()> {
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
    Ok(())
}

/// Copies a snapshot of the database in `original` into a new database at
/// `path`, in key order, so that its leaves come out full; gives up when
/// `give_up` says so. Not durable yet: the final [`replay`] makes it so.
fn copy(
    snapshot: &redb::ReadTransaction,
    original: &Path,
    path: &Path,
    give_up: impl Fn() -> bool,
) -> Result<Database> {
    let _ = std::fs::remove_file(path);
    let mut copied = create(path, Some(COPY_CACHE_BYTES))?;
    // The copy takes the file's place: it keeps the file's permissions (the
    // server's is its owner's alone), not the umask's.
    let permissions = std::fs::metadata(original)
        .map_err(StoreError::io)?
        .permissions();
    std::fs::set_permissions(path, permissions).map_err(StoreError::io)?;
    let source = snapshot.open_table(DATA).map_err(StoreError::io)?;
    let mut items = source.iter().map_err(StoreError::io)?.peekable();
    while items.peek().is_some() {
        if give_up() {
            return Err(StoreError::Io(format!(
                "more than {} MiB were committed while the compaction copied; nothing compacted",
                JOURNAL_BYTES >> 20
            )));
        }
        let mut wtx = copied.begin_write().map_err(StoreError::io)?;
        wtx.set_durability(Durability::None)
            .map_err(StoreError::io)?;
        {
            let mut table = wtx.open_table(DATA).map_err(StoreError::io)?;
            let mut bytes = 0;
            while bytes < COPY_BATCH_BYTES {
                let Some(item) = items.next() else { break };
                let (key, value) = item.map_err(StoreError::io)?;
                bytes += key.value().len() + value.value().len();
                table
                    .insert(key.value(), value.value())
                    .map_err(StoreError::io)?;
            }
        }
        wtx.commit().map_err(StoreError::io)?;
    }
    // redb grows a file by doubling its regions, so the copy ends with up
    // to half of it unused (a 141 MB copy in a 257 MB file): moving the
    // last pages down lets the file end where the data does.
    copied
        .compact()
        .map_err(|e| StoreError::Io(format!("compacting the copy: {e}")))?;
    Ok(copied)
}

/// Replays journaled commits into the copy, in one transaction.
fn replay(copied: &Database, journal: &Journal, durability: Durability) -> Result<()> {
    let mut wtx = copied.begin_write().map_err(StoreError::io)?;
    wtx.set_durability(durability).map_err(StoreError::io)?;
    {
        let mut table = wtx.open_table(DATA).map_err(StoreError::io)?;
        for (writes, stamped, version) in &journal.commits {
            apply_to(&mut table, writes, stamped, *version)?;
        }
    }
    wtx.commit().map_err(StoreError::io)
}

/// Opens the copy again, with the store's cache. It must be there: were it
/// not (removed by someone else), `create` would make an empty one, which
/// the rename would then put in the store's place.
fn open_existing(path: &Path, cache_bytes: Option<u64>) -> Result<Database> {
    builder(cache_bytes)
        .open(path)
        .map_err(|e| StoreError::Io(format!("reopening the compacted copy: {e}")))
}

/// Makes a rename in `path`'s directory durable.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit that waited in the queue longer than the conflict window
    /// (the commits it must be checked against may be forgotten) is
    /// refused as too old, FoundationDB's 1007, and writes nothing; the
    /// retry that `Store::run` makes of it commits.
    #[tokio::test(start_paused = true)]
    async fn a_commit_that_waited_past_the_window_is_too_old_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions::default();
        let backend = open_backend(&dir.path().join("s.redb"), &options).unwrap();
        let shared = Arc::clone(&backend.0);
        let store = Store::from_backend(Arc::new(backend), options);
        let window = shared.window;

        // Another group holds the commit lock while this one waits.
        let held = shared.commit_lock.lock().await;
        let mut waiting = store.begin().await.unwrap();
        waiting.set(b"k", b"late");
        let commit = tokio::spawn(async move { waiting.commit().await });
        tokio::task::yield_now().await;
        assert_eq!(shared.queue.lock().unwrap().len(), 1, "queued");
        tokio::time::advance(window + Duration::from_millis(1)).await;
        drop(held);
        assert_eq!(
            commit.await.unwrap(),
            Err(StoreError::TransactionTooOld),
            "refused, not let through unchecked"
        );
        assert_eq!(StoreError::TransactionTooOld.code(), 1007);
        let mut read = store.begin().await.unwrap();
        assert_eq!(read.get(b"k").await.unwrap(), None, "nothing written");

        // `Store::run` retries it, and the retry commits.
        let held = shared.commit_lock.lock().await;
        let tries = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&tries);
        let run = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .run(move |tx| {
                        counted.fetch_add(1, Ordering::Relaxed);
                        Box::pin(async move {
                            tx.set(b"k", b"retried");
                            Ok::<(), StoreError>(())
                        })
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        tokio::time::advance(window + Duration::from_millis(1)).await;
        drop(held);
        run.await.unwrap().unwrap();
        assert_eq!(
            tries.load(Ordering::Relaxed),
            2,
            "refused once, then committed"
        );
        let mut read = store.begin().await.unwrap();
        assert_eq!(
            read.get(b"k").await.unwrap().as_deref(),
            Some(&b"retried"[..])
        );
    }
}
