//! The sled backend: the desktop's local replica.
//!
//! sled's own transactions cannot read ranges, so this backend serializes
//! transactions with one lock, held from `begin` to commit: a transaction
//! reads the live tree through its write buffer, and commits with one atomic
//! `apply_batch`. One writer at a time suits a desktop replica; conflicts
//! (1020) cannot happen here.
//!
//! ## Group commit
//!
//! The flush that makes a commit durable runs *after* the lock is let go
//! (early lock release): the next transactions run their bodies meanwhile,
//! and the flush after covers every batch applied by then, so that ten
//! editors sending updates at once cost a few flushes, not ten. (sled
//! applies a batch only between two of its flushes; the batch waits on a
//! blocking thread.) Nothing is acknowledged before it is durable:
//! - a transaction that wrote returns once a flush that began after its
//!   batch was applied has ended;
//! - one that only read (or wrote deferred) returns once every commit it
//!   could have read whose writer waits for durability is durable (such a
//!   write is visible before its flush ends, and what a reader returns
//!   must not be lost by a crash; a deferred commit is read undurable, as
//!   before). A body that fails, or a transaction dropped without a
//!   commit, returns at once: what it read may still be lost;
//! - sled's log is written in order, so a flush that covers a batch covers
//!   every batch applied before it, and a crash never keeps a later batch
//!   without an earlier one;
//! - a batch applied whose flush then fails is visible, so its commit is
//!   neither done nor failed: it is `CommitUnknownResult`, retried by
//!   `Store::run` as on FoundationDB.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::overlay::{View, WriteSet};
use crate::{
    Backend, BackendTx, Durability, KeyValue, RangePage, RangeRequest, Result, Store, StoreError,
    StoreOptions, complete_versionstamp,
};

/// Where the commit counter (the versionstamp source) lives: in the system
/// range, which user keys cannot reach.
const VERSION_KEY: &[u8] = b"\xff/stint/commit_version";

/// Opens (or creates) a sled store in the folder `path`.
///
/// sled allows one process per database: a second process gets an error
/// here, which is why a device has one owner of its replica.
pub fn open_sled(path: &Path, options: StoreOptions) -> Result<Store> {
    let backend = open_backend(path, &options)?;
    Ok(Store::from_backend(Arc::new(backend), options))
}

fn open_backend(path: &Path, options: &StoreOptions) -> Result<SledBackend> {
    let db = open_waiting_for_lock(path, options.cache_bytes)
        .map_err(|e| StoreError::Io(format!("opening sled at {}: {e}", path.display())))?;
    let version = match db.get(VERSION_KEY).map_err(StoreError::io)? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Io("corrupt commit version".into()))?,
        ),
        None => 0,
    };
    let backend = SledBackend {
        db,
        lock: Arc::new(Mutex::new(())),
        durability: Arc::new(Flusher {
            version: AtomicU64::new(version),
            immediate: AtomicU64::new(version),
            durable: AtomicU64::new(version),
            flushing: Mutex::new(()),
            #[cfg(test)]
            failing: std::sync::atomic::AtomicBool::new(false),
        }),
    };
    Ok(backend)
}

/// How long a reopen waits for the file lock of a database just closed.
///
/// sled's thread pool keeps a closed database's file, and so its lock, a
/// moment after the last handle drops: a job that flushed or wrote the log
/// lets go of it only when it returns. A reopen in the same process can
/// find the lock still held (sled's own tests block on it for this reason).
/// Another process holding the database still gets the error, this much
/// later.
const LOCK_GRACE: Duration = Duration::from_millis(500);

fn open_waiting_for_lock(path: &Path, cache_bytes: Option<u64>) -> sled::Result<sled::Db> {
    let mut config = sled::Config::new().path(path);
    if let Some(bytes) = cache_bytes {
        config = config.cache_capacity(bytes);
    }
    let deadline = Instant::now() + LOCK_GRACE;
    loop {
        match config.open() {
            // sled reports a held lock only by its message.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            opened => return opened,
        }
    }
}

struct SledBackend {
    db: sled::Db,
    /// The single-writer lock; every transaction holds it until its batch
    /// is applied.
    lock: Arc<Mutex<()>>,
    durability: Arc<Flusher>,
}

/// What is applied, what is durable, and the one flush at a time that
/// moves the second up to the first.
#[derive(Debug)]
struct Flusher {
    /// The last applied commit's version; only changed under the writer
    /// lock, after the batch is applied.
    version: AtomicU64,
    /// The last applied commit's version that asked to be durable before
    /// it returns (`Durability::Immediate`): its flush may still run.
    immediate: AtomicU64,
    /// The last version known durable (sled's own periodic flush may have
    /// carried later ones to disk too: this errs on the safe side).
    durable: AtomicU64,
    /// Held while a flush runs: who waits for it finds, once it has it,
    /// whether that flush covered them already.
    flushing: Mutex<()>,
    /// Tests: every flush fails, as on a full or failing disk.
    #[cfg(test)]
    failing: std::sync::atomic::AtomicBool,
}

impl Flusher {
    /// Returns once every commit up to `target` is durable, flushing if
    /// no flush did it yet. Whether some were not durable when called.
    async fn durable_through(&self, db: &sled::Db, target: u64) -> Result<bool> {
        if self.durable.load(Ordering::Acquire) >= target {
            return Ok(false);
        }
        let _one_flush = self.flushing.lock().await;
        if self.durable.load(Ordering::Acquire) >= target {
            // The flush we waited behind began after our batch: done.
            return Ok(true);
        }
        // Everything applied up to here is in sled's log before this
        // flush begins.
        let upto = self.version.load(Ordering::Acquire);
        #[cfg(test)]
        if self.failing.load(Ordering::Acquire) {
            return Err(StoreError::Io("injected: the disk failed".into()));
        }
        db.flush_async().await.map_err(StoreError::io)?;
        self.durable.fetch_max(upto, Ordering::AcqRel);
        Ok(true)
    }
}

#[async_trait]
impl Backend for SledBackend {
    fn name(&self) -> &'static str {
        "sled"
    }

    async fn make_durable(&self) -> Result<bool> {
        let target = self.durability.version.load(Ordering::Acquire);
        self.durability.durable_through(&self.db, target).await
    }

    async fn begin(&self) -> Result<Box<dyn BackendTx>> {
        let guard = Arc::clone(&self.lock).lock_owned().await;
        Ok(Box::new(SledTx {
            db: SledView(self.db.clone()),
            seen: self.durability.immediate.load(Ordering::Acquire),
            durability: Arc::clone(&self.durability),
            guard,
            writes: WriteSet::default(),
        }))
    }
}

struct SledTx {
    db: SledView,
    /// The last durable-before-return commit applied when this
    /// transaction began (what it may read that its writer has not had
    /// acknowledged yet; deferred commits are read as before, undurable).
    seen: u64,
    durability: Arc<Flusher>,
    guard: OwnedMutexGuard<()>,
    writes: WriteSet,
}

/// sled's live tree as a [`View`] (a newtype, so that sled's own methods
/// keep their names).
struct SledView(sled::Db);

impl View for SledView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(StoreError::io)?.map(|v| v.to_vec()))
    }

    fn range<'a>(
        &'a self,
        begin: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Result<Box<dyn Iterator<Item = Result<KeyValue>> + 'a>> {
        let iter = self.0.range::<&[u8], _>(begin..end);
        let convert = |item: sled::Result<(sled::IVec, sled::IVec)>| {
            item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::io)
        };
        Ok(if reverse {
            Box::new(iter.rev().map(convert))
        } else {
            Box::new(iter.map(convert))
        })
    }

    fn page(&self, begin: &[u8], end: &[u8], reverse: bool, limit: usize) -> Result<Vec<KeyValue>> {
        let mut iter = self.0.range::<&[u8], _>(begin..end);
        let mut items = Vec::with_capacity(limit.min(1_024));
        while items.len() < limit {
            let next = if reverse {
                iter.next_back()
            } else {
                iter.next()
            };
            let Some(item) = next else { break };
            let (k, v) = item.map_err(StoreError::io)?;
            items.push((k.to_vec(), v.to_vec()));
        }
        Ok(items)
    }
}

#[async_trait]
impl BackendTx for SledTx {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.writes.get(&self.db, key)
    }

    async fn get_range(&mut self, request: &RangeRequest<'_>) -> Result<RangePage> {
        Ok(self.writes.get_range(&self.db, request)?.0)
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
        Some(self.durability.durable.load(Ordering::Acquire))
    }

    async fn commit(self: Box<Self>, durability: Durability) -> Result<()> {
        let Self {
            db,
            seen,
            durability: flusher,
            guard,
            writes,
        } = *self;
        if writes.is_empty() {
            // What it read must be durable before the caller sees it
            // (deferred or not: the data may be another commit's).
            drop(guard);
            flusher.durable_through(&db.0, seen).await?;
            return Ok(());
        }
        let version = flusher.version.load(Ordering::Acquire) + 1;
        let mut batch = sled::Batch::default();
        for (begin, end) in &writes.cleared {
            for key in
                db.0.range::<&[u8], _>(begin.as_slice()..end.as_slice())
                    .keys()
            {
                batch.remove(key.map_err(StoreError::io)?);
            }
        }
        for (key, write) in &writes.points {
            match write {
                Some(value) => batch.insert(key.as_slice(), value.as_slice()),
                None => batch.remove(key.as_slice()),
            }
        }
        for (template, value) in &writes.versionstamped {
            batch.insert(complete_versionstamp(template, version), value.as_slice());
        }
        // Persisted only when versionstamps used it (see the redb backend).
        if !writes.versionstamped.is_empty() {
            batch.insert(VERSION_KEY, &version.to_be_bytes());
        }
        // A batch is atomic in sled's log, flushed or not. sled applies it
        // only between two of its flushes (its own lock), so it waits on a
        // blocking thread, not on the runtime's; the writer lock goes with
        // it, let go once the counters say it is applied (a commit dropped
        // meanwhile cannot leave a version to be handed out twice).
        let immediate = durability == Durability::Immediate;
        let applied = {
            let (tree, flusher) = (db.0.clone(), Arc::clone(&flusher));
            tokio::task::spawn_blocking(move || {
                let applied = tree.apply_batch(batch).map_err(StoreError::io);
                if applied.is_ok() {
                    flusher.version.store(version, Ordering::Release);
                    if immediate {
                        flusher.immediate.store(version, Ordering::Release);
                    }
                }
                drop(guard);
                applied
            })
        };
        // A panic on the blocking thread may come before or after the
        // batch is applied: whether it committed is not known.
        applied.await.map_err(|e| {
            tracing::warn!("a sled commit stopped: {e}");
            StoreError::CommitUnknownResult
        })??;
        // The next transactions went on as soon as the batch was applied;
        // this one's flush covers them too if they are quick. Once applied,
        // a failed flush does not mean the commit failed: it is visible,
        // and a later flush may still carry it to disk (FoundationDB's
        // answer to the same doubt: unknown, retried by `Store::run`).
        flusher
            .durable_through(&db.0, if immediate { version } else { seen })
            .await
            .map_err(|e| {
                tracing::warn!("a sled commit's flush failed: {e}");
                StoreError::CommitUnknownResult
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch applied whose flush then fails is not a failed commit: it
    /// is visible, so its outcome is unknown (1021), which `Store::run`
    /// retries; a transaction that only read gets the error as it is. Once
    /// the disk works again, the retry commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_flush_after_the_batch_is_an_unknown_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions::default();
        let backend = open_backend(dir.path(), &options).unwrap();
        let flusher = Arc::clone(&backend.durability);
        let store = Store::from_backend(Arc::new(backend), options);
        flusher.failing.store(true, Ordering::Release);

        let mut tx = store.begin().await.unwrap();
        tx.set(b"k", b"v");
        assert_eq!(tx.commit().await, Err(StoreError::CommitUnknownResult));
        assert_eq!(StoreError::CommitUnknownResult.code(), 1021);
        // Applied: a reader sees it, but its own wait for that flush fails.
        let mut read = store.begin().await.unwrap();
        assert_eq!(read.get(b"k").await.unwrap().as_deref(), Some(&b"v"[..]));
        assert!(matches!(read.commit().await, Err(StoreError::Io(_))));

        // `Store::run` retries an unknown outcome; the disk comes back
        // after the first try.
        let tries = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&tries);
        let back = Arc::clone(&flusher);
        store
            .run(move |tx| {
                if counted.fetch_add(1, Ordering::Relaxed) == 1 {
                    back.failing.store(false, Ordering::Release);
                }
                Box::pin(async move {
                    tx.set(b"k", b"again");
                    Ok::<(), StoreError>(())
                })
            })
            .await
            .unwrap();
        assert_eq!(
            tries.load(Ordering::Relaxed),
            2,
            "once unknown, then committed"
        );
        let mut read = store.begin().await.unwrap();
        assert_eq!(
            read.get(b"k").await.unwrap().as_deref(),
            Some(&b"again"[..])
        );
        read.commit().await.unwrap();
    }
}
