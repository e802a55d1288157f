//! # stint-store
//!
//! A transactional, ordered key-value store with FoundationDB's semantics,
//! and three backends that keep them: `sled` (the desktop's replica), `redb`
//! (the server's embedded default) and `fdb` (the server in production).
//! It knows bytes and nothing of tenants or records; `stint-db` builds the
//! domain on top, unchanged on every backend.
//!
//! ## The contract
//!
//! - [`Store::run`] runs a closure in a serializable transaction and runs it
//!   *again* when the commit conflicts (1020), the transaction grew too old
//!   (1007) or the commit's outcome is unknown (1021). So a closure must be
//!   safe to run more than once: no id generation, no clock reads, no side
//!   effects inside; compute those before and capture them.
//! - Inside, a [`Tx`] offers point reads, paged range reads forward and
//!   reverse, `set`, `clear`, `clear_range` and versionstamped keys, and reads
//!   see the transaction's own writes.
//! - FoundationDB's limits hold everywhere ([`Limits::FDB`]): keys of at most
//!   10,000 bytes, values of at most 100,000, 10,000,000 bytes of mutations
//!   per transaction, five seconds per transaction. Errors carry FDB's codes.
//! - Commits are durable when they return, unless run with
//!   [`Durability::Deferred`] (see [`Store::run_with`]): then the next
//!   durable commit carries them to disk, and a crash before it loses them
//!   whole, never in part. Readers that hand versionstamps out to others
//!   (a change log) stop at [`Tx::durable_version`], so that nobody holds a
//!   position a crash could take back.
//! - [`Store::compact`] rewrites an embedded store's file without its free
//!   and half-empty pages while transactions go on (redb; sled and
//!   FoundationDB reclaim space by themselves), and [`Store::space`] says
//!   whether it is worth it.
//! - [`StoreOptions::inject_commit_unknown`] is a test mode: each write
//!   transaction commits, then reports 1021 once, so the closure runs again
//!   on committed data. Tests use it to prove that every write is idempotent.
//!
//! ## Layout
//!
//! - `lib.rs`: [`Store`], [`Tx`] and the retrying runner, shared by all
//!   backends; the limits are enforced here, once.
//! - `overlay.rs`: the write buffer with read-your-writes over a snapshot,
//!   shared by the two embedded backends.
//! - `sled_backend.rs`, `redb_backend.rs`, `fdb_backend.rs`: one per backend,
//!   each behind its feature.
//! - `conformance.rs`: the suite every backend's tests run.
//!
//! Keys are built with the FoundationDB tuple layer (re-exported as
//! [`tuple`]), so the byte layout is identical on every backend.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

pub mod conformance;
mod error;
mod limits;
#[cfg(any(feature = "sled", feature = "redb"))]
mod overlay;

#[cfg(feature = "fdb")]
mod fdb_backend;
#[cfg(feature = "redb")]
mod redb_backend;
#[cfg(feature = "sled")]
mod sled_backend;

pub use error::{AsStoreError, Result, StoreError};
#[cfg(feature = "fdb")]
pub use fdb_backend::open_fdb;
pub use foundationdb_tuple as tuple;
pub use limits::Limits;
#[cfg(feature = "redb")]
pub use redb_backend::open_redb;
#[cfg(feature = "sled")]
pub use sled_backend::open_sled;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The future a transaction body returns. The `'t` lifetime lets the body
/// borrow the transaction; see [`Store::run`].
pub type TxFuture<'t, T, E> = Pin<Box<dyn Future<Output = std::result::Result<T, E>> + Send + 't>>;

/// One page of a range read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangePage {
    /// Pairs in key order (descending when the read was reverse).
    pub items: Vec<KeyValue>,
    /// Whether the range holds more pairs beyond this page.
    pub more: bool,
}

/// A range read: the keys in `[begin, end)`, at most `limit` of them
/// (`0` means no limit), from the end when `reverse`.
#[derive(Debug, Clone, Copy)]
pub struct RangeRequest<'a> {
    /// First key included.
    pub begin: &'a [u8],
    /// First key excluded.
    pub end: &'a [u8],
    /// Most pairs to return; `0` for all.
    pub limit: usize,
    /// Read from the end of the range.
    pub reverse: bool,
}

impl<'a> RangeRequest<'a> {
    /// The whole range, forward.
    #[must_use]
    pub fn new(begin: &'a [u8], end: &'a [u8]) -> Self {
        Self {
            begin,
            end,
            limit: 0,
            reverse: false,
        }
    }

    /// At most `limit` pairs.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// From the end.
    #[must_use]
    pub fn reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }
}

/// What a backend provides. Implemented only inside this crate: the choice of
/// backend is made once, by calling [`open_sled`], [`open_redb`] or
/// `open_fdb`, and everything else sees a [`Store`].
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// For logs: `sled`, `redb`, `fdb`.
    fn name(&self) -> &'static str;
    /// Starts a transaction.
    async fn begin(&self) -> Result<Box<dyn BackendTx>>;
    /// Makes every commit so far durable (see [`Store::make_durable`]);
    /// whether any was not.
    async fn make_durable(&self) -> Result<bool> {
        Ok(false)
    }
    /// What the page cache did so far, where the backend tells.
    fn cache_stats(&self) -> Option<CacheStats> {
        None
    }
    /// What the commit path did so far, where the backend groups commits.
    fn commit_stats(&self) -> Option<CommitStats> {
        None
    }
    /// How the backend's file is used, where it has one to tell of.
    async fn space(&self) -> Result<Option<Space>> {
        Ok(None)
    }
    /// Gives the file's unused space back (see [`Store::compact`]).
    async fn compact(&self) -> Result<Option<Compaction>> {
        Ok(None)
    }
}

/// How an embedded store's file is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// The file's size.
    pub file_bytes: u64,
    /// The keys and values stored, and the trees' own bookkeeping: about
    /// what a compacted file holds.
    pub stored_bytes: u64,
}

impl Space {
    /// Whether a compaction would give back enough to be worth its copy:
    /// the file is at least twice what it stores, and 4 MiB larger (a new
    /// file is about a megabyte of nothing). A share of the file, not a
    /// fixed size, keeps compactions rare on a large file: each one costs a
    /// copy of the live data.
    #[must_use]
    pub fn worth_compacting(&self) -> bool {
        let spare = self.file_bytes.saturating_sub(self.stored_bytes);
        spare >= 4 << 20 && self.file_bytes >= self.stored_bytes.saturating_mul(2)
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// The file's size before.
    pub before_bytes: u64,
    /// And after.
    pub after_bytes: u64,
    /// How long commits waited for the copy to take the file's place
    /// (reads wait only for the swap of one pointer).
    pub paused: Duration,
}

/// What a backend's page cache did since the store was opened (on redb,
/// since its last compaction, which opens the file anew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Pages dropped from the cache to stay within its size.
    pub evictions: u64,
}

/// What a backend's group commit did since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed.
    pub transactions: u64,
    /// Write transactions (each with one sync, when durable) that carried
    /// them: `transactions / groups` is the mean group's size.
    pub groups: u64,
    /// Transactions refused with a conflict (1020), before their retry.
    pub conflicts: u64,
    /// Commits whose write sets are kept for the conflict checks of
    /// transactions still running (those after the oldest one's snapshot).
    pub kept_for_checks: usize,
}

/// A backend's transaction. Limits are checked by [`Tx`] before these run.
#[async_trait]
pub(crate) trait BackendTx: Send {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    async fn get_range(&mut self, request: &RangeRequest<'_>) -> Result<RangePage>;
    fn set(&mut self, key: &[u8], value: &[u8]);
    fn clear(&mut self, key: &[u8]);
    fn clear_range(&mut self, begin: &[u8], end: &[u8]);
    /// `key` ends with the 4-byte little-endian offset of a 10-byte
    /// placeholder, as FoundationDB's `SetVersionstampedKey` expects.
    fn set_versionstamped_key(&mut self, key: &[u8], value: &[u8]);
    /// See [`Tx::durable_version`].
    fn durable_version(&self) -> Option<u64>;
    async fn commit(self: Box<Self>, durability: Durability) -> Result<()>;
}

/// When a commit is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Durable when the commit returns.
    #[default]
    Immediate,
    /// Durable with the next [`Immediate`](Durability::Immediate) commit
    /// (or the backend's own periodic flush); a crash before that loses it,
    /// whole, never in part. Later transactions see it at once. For writes
    /// that are redone when lost: a device settling a push (the server
    /// answers the retry "duplicate") or storing a pulled page with its
    /// cursor (pulled again). FoundationDB commits are always durable.
    Deferred,
}

/// How a [`Store`] runs transactions.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The limits to enforce (FoundationDB's by default).
    pub limits: Limits,
    /// Most attempts of one [`Store::run`] before giving up.
    pub max_attempts: u32,
    /// Test mode: every write transaction commits and then reports
    /// "commit unknown result" (1021) once, so its closure runs again.
    pub inject_commit_unknown: bool,
    /// Most bytes of the database the embedded backends keep in memory
    /// (sled's and redb's page caches). `None` leaves their own default,
    /// 1 GiB each: too much for a small machine, so the server and the
    /// device always set it. FoundationDB's cache is the cluster's.
    pub cache_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            limits: Limits::FDB,
            max_attempts: 100,
            inject_commit_unknown: false,
            cache_bytes: None,
        }
    }
}

/// A handle to an open store. Cheap to clone; every clone shares the backend.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    options: Arc<StoreOptions>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend.name())
            .field("options", &self.options)
            .finish()
    }
}

impl Store {
    #[cfg_attr(
        not(any(feature = "sled", feature = "redb", feature = "fdb")),
        allow(dead_code)
    )]
    pub(crate) fn from_backend(backend: Arc<dyn Backend>, options: StoreOptions) -> Self {
        Self {
            backend,
            options: Arc::new(options),
        }
    }

    /// The backend's name: `sled`, `redb` or `fdb`.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The options this store runs with.
    #[must_use]
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Makes every commit made so far durable, as a durable commit does
    /// for the deferred ones before it; at once when they are already (and
    /// always on FoundationDB). For a reader that must hand out only what
    /// no crash can take back, once it has seen something that may not be.
    /// Returns whether any commit was not durable yet.
    pub async fn make_durable(&self) -> Result<bool> {
        self.backend.make_durable().await
    }

    /// What the page cache did so far: redb tells, sled and FoundationDB
    /// do not (`None`).
    #[must_use]
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.backend.cache_stats()
    }

    /// How many transactions each commit carried so far: redb tells (it
    /// groups commits), sled and FoundationDB do not (`None`).
    #[must_use]
    pub fn commit_stats(&self) -> Option<CommitStats> {
        self.backend.commit_stats()
    }

    /// How the store's file is used: redb tells, sled and FoundationDB do
    /// not (`None`). It walks the tree's pages in a snapshot (through the
    /// cache), so it is for a background job, not a request.
    pub async fn space(&self) -> Result<Option<Space>> {
        self.backend.space().await
    }

    /// Rewrites the file without its free and half-empty pages (redb):
    /// a copy of a snapshot in key order, while reads and writes go on;
    /// the commits made meanwhile are replayed into the copy (in rounds,
    /// while commits go on, then the last of them with commits held),
    /// which then replaces the file. It needs free disk for the copy: up
    /// to the live data, while the old file still stands. Nothing is lost:
    /// a crash leaves the file as before the compaction or after it.
    /// `None` where the backend reclaims space by itself (sled,
    /// FoundationDB).
    pub async fn compact(&self) -> Result<Option<Compaction>> {
        self.backend.compact().await
    }

    /// Starts a transaction that the caller commits with [`Tx::commit`].
    /// Most code wants [`Store::run`], which also retries.
    pub async fn begin(&self) -> Result<Tx<'static>> {
        self.begin_with(Durability::Immediate).await
    }

    async fn begin_with<'env>(&self, durability: Durability) -> Result<Tx<'env>> {
        Ok(Tx {
            inner: self.backend.begin().await?,
            limits: self.options.limits,
            durability,
            bytes: 0,
            deferred: None,
            wrote: false,
            user_versions: 0,
            started: Instant::now(),
            _env: PhantomData,
        })
    }

    /// Runs `body` in a transaction and commits it, retrying on retryable
    /// errors with a growing, jittered backoff.
    ///
    /// `body` may run several times, so it must not generate ids, read the
    /// clock or have side effects; compute those beforehand.
    ///
    /// ```
    /// # use stint_store::{StoreError, StoreOptions, open_sled};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), StoreError> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = open_sled(dir.path(), StoreOptions::default())?;
    /// let key = b"greeting".as_slice();
    /// let old = store
    ///     .run(|tx| {
    ///         Box::pin(async move {
    ///             let old = tx.get(key).await?;
    ///             tx.set(key, b"hello");
    ///             Ok::<_, StoreError>(old)
    ///         })
    ///     })
    ///     .await?;
    /// assert_eq!(old, None);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The `'env` lifetime ties the transaction to what `body` borrows, which
    /// lets the returned future borrow both and still be `Send`.
    pub async fn run<'env, T, E, F>(&self, body: F) -> std::result::Result<T, E>
    where
        F: for<'t> FnMut(&'t mut Tx<'env>) -> TxFuture<'t, T, E>,
        E: From<StoreError> + AsStoreError,
    {
        self.run_with(Durability::Immediate, body).await
    }

    /// [`Store::run`], with the commit's durability chosen: see
    /// [`Durability::Deferred`] for when a commit may return before it is
    /// on disk.
    pub async fn run_with<'env, T, E, F>(
        &self,
        durability: Durability,
        mut body: F,
    ) -> std::result::Result<T, E>
    where
        F: for<'t> FnMut(&'t mut Tx<'env>) -> TxFuture<'t, T, E>,
        E: From<StoreError> + AsStoreError,
    {
        let mut attempt = 0u32;
        let mut injected = false;
        loop {
            attempt += 1;
            // In a block, so that a failed transaction is dropped before the
            // backoff: it holds a snapshot, which keeps pages from reuse.
            let outcome: std::result::Result<T, E> = {
                let mut tx = self.begin_with(durability).await?;
                match body(&mut tx).await {
                    Ok(value) => {
                        let wrote = tx.wrote;
                        match tx.commit().await {
                            Ok(()) if wrote && self.options.inject_commit_unknown && !injected => {
                                injected = true;
                                Err(E::from(StoreError::CommitUnknownResult))
                            }
                            Ok(()) => return Ok(value),
                            Err(e) => Err(E::from(e)),
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            let Err(error) = outcome else {
                unreachable!("success returns above")
            };
            let retry = error.as_store_error().is_some_and(StoreError::is_retryable);
            if !retry {
                return Err(error);
            }
            if attempt >= self.options.max_attempts {
                let last = error
                    .as_store_error()
                    .map_or_else(String::new, ToString::to_string);
                return Err(E::from(StoreError::RetryLimitReached {
                    attempts: attempt,
                    last,
                }));
            }
            tracing::debug!(
                attempt,
                backend = self.backend.name(),
                "retrying transaction"
            );
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// How long to wait before attempt `attempt + 1`: the first retry at once
/// (under a millisecond, which tokio's timer rounds up to one), then waits
/// of 5–10 ms doubling up to 0.5–1 s, FoundationDB's client backoff; with
/// jitter, so that contending transactions do not retry in lockstep.
///
/// The first retry is at once because the usual cause, a conflict with a
/// commit of the same group or the one before, is already settled: the
/// retry's snapshot holds that commit, and waiting 10 ms would only add
/// to the write's latency. Contention that persists backs off.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let jitter = RandomState::new().hash_one(attempt);
    if attempt <= 1 {
        return Duration::from_micros(jitter % 1_000);
    }
    let base_ms = 10u64.saturating_mul(1 << (attempt - 2).min(7)).min(1_000);
    Duration::from_millis(base_ms / 2 + (jitter % base_ms) / 2)
}

/// A transaction. Reads see its own writes; nothing is visible to others
/// until [`Store::run`] (or [`Tx::commit`]) commits it.
///
/// Like FoundationDB's, `set` and `clear` cannot fail on the spot: a broken
/// limit is remembered and reported by the commit, with FDB's code.
pub struct Tx<'env> {
    inner: Box<dyn BackendTx>,
    limits: Limits,
    durability: Durability,
    bytes: usize,
    deferred: Option<StoreError>,
    wrote: bool,
    user_versions: u16,
    started: Instant,
    _env: PhantomData<&'env ()>,
}

impl fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("bytes", &self.bytes)
            .field("wrote", &self.wrote)
            .field("deferred", &self.deferred)
            .finish_non_exhaustive()
    }
}

impl Tx<'_> {
    /// The value of `key`, if any.
    pub async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_age()?;
        self.check_key(key)?;
        self.inner.get(key).await
    }

    /// One page of the range `request` names.
    pub async fn get_range(&mut self, request: RangeRequest<'_>) -> Result<RangePage> {
        self.check_age()?;
        if request.begin >= request.end {
            return Ok(RangePage::default());
        }
        self.inner.get_range(&request).await
    }

    /// Every pair of `[begin, end)`, read page by page. For ranges known to
    /// be small (an index of one record, one tenant's members): large ranges
    /// should be paged by the caller to stay within the transaction's limits.
    pub async fn get_all(&mut self, begin: &[u8], end: &[u8]) -> Result<Vec<KeyValue>> {
        const PAGE: usize = 1_000;
        let mut all = Vec::new();
        let mut from = begin.to_vec();
        loop {
            let page = self
                .get_range(RangeRequest::new(&from, end).limit(PAGE))
                .await?;
            let more = page.more;
            if let Some((last, _)) = page.items.last() {
                from = key_after(last);
            }
            all.extend(page.items);
            if !more {
                return Ok(all);
            }
        }
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &[u8], value: &[u8]) {
        if self.admit(key, Some(value), key.len() + value.len()) {
            self.inner.set(key, value);
        }
    }

    /// Removes `key`.
    pub fn clear(&mut self, key: &[u8]) {
        if self.admit(key, None, key.len()) {
            self.inner.clear(key);
        }
    }

    /// Removes every key of `[begin, end)`.
    pub fn clear_range(&mut self, begin: &[u8], end: &[u8]) {
        if begin >= end {
            return;
        }
        if self.admit(begin, None, begin.len() + end.len()) {
            self.inner.clear_range(begin, end);
        }
    }

    /// Sets a key that the commit completes with its versionstamp.
    ///
    /// `key` is a template whose last four bytes are the little-endian offset
    /// of a 10-byte placeholder in it, exactly as FoundationDB's
    /// `SetVersionstampedKey` takes it (the tuple layer's
    /// `pack_with_versionstamp` builds one). The placeholder becomes 8 bytes
    /// of commit version and 2 of order within it: keys written by later
    /// commits sort after earlier ones. Such keys are not readable within
    /// their own transaction.
    pub fn set_versionstamped_key(&mut self, key: &[u8], value: &[u8]) {
        if versionstamp_offset(key).is_none() {
            self.defer(StoreError::InvalidOperation(
                "versionstamped key without a valid placeholder offset".into(),
            ));
            return;
        }
        let real_len = key.len() - 4;
        if self.admit(&key[..real_len], Some(value), real_len + value.len()) {
            self.inner.set_versionstamped_key(key, value);
        }
    }

    /// Commits. Reports the first limit broken by a `set` or `clear`.
    pub async fn commit(self) -> Result<()> {
        if let Some(e) = self.deferred {
            return Err(e);
        }
        self.check_age()?;
        self.inner.commit(self.durability).await
    }

    /// A fresh user version for this transaction's next versionstamped key:
    /// all keys of one commit share the 10-byte versionstamp, so each needs
    /// its own 2-byte user version (0, 1, 2, … per attempt).
    pub fn next_user_version(&mut self) -> u16 {
        let next = self.user_versions;
        self.user_versions = self.user_versions.wrapping_add(1);
        next
    }

    /// The newest commit version that no crash can take back, when this
    /// transaction may read newer, not yet durable, commits (made with
    /// [`Durability::Deferred`]); `None` when all it reads is durable.
    ///
    /// A versionstamp's first 8 bytes are its commit version (big-endian),
    /// so a reader that gives positions to others (a device's pull cursor
    /// into the change log) stops after this version: a crash that lost a
    /// later commit would reissue its versionstamps to new changes, and a
    /// cursor already past them would skip those.
    #[must_use]
    pub fn durable_version(&self) -> Option<u64> {
        self.inner.durable_version()
    }

    /// Whether the transaction has written anything.
    #[must_use]
    pub fn has_writes(&self) -> bool {
        self.wrote
    }

    fn check_age(&self) -> Result<()> {
        if self.started.elapsed() > self.limits.max_duration {
            return Err(StoreError::TransactionTooOld);
        }
        Ok(())
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.limits.max_key_bytes {
            return Err(StoreError::KeyTooLarge { size: key.len() });
        }
        if key.first() == Some(&limits::SYSTEM_PREFIX) {
            return Err(StoreError::KeyOutsideLegalRange);
        }
        Ok(())
    }

    /// Checks a mutation against the limits; a failure is deferred to commit.
    fn admit(&mut self, key: &[u8], value: Option<&[u8]>, bytes: usize) -> bool {
        self.wrote = true;
        if self.deferred.is_some() {
            return false;
        }
        if let Err(e) = self.check_key(key) {
            self.defer(e);
            return false;
        }
        if let Some(value) = value
            && value.len() > self.limits.max_value_bytes
        {
            self.defer(StoreError::ValueTooLarge { size: value.len() });
            return false;
        }
        self.bytes += bytes;
        if self.bytes > self.limits.max_transaction_bytes {
            self.defer(StoreError::TransactionTooLarge { size: self.bytes });
            return false;
        }
        true
    }

    fn defer(&mut self, e: StoreError) {
        self.wrote = true;
        self.deferred.get_or_insert(e);
    }
}

/// The first key after `key`: `key` followed by a zero byte.
#[must_use]
pub fn key_after(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// The end of the range of keys that start with `prefix`, as FoundationDB's
/// `strinc`: drop trailing `0xff` bytes, then add one to the last byte.
#[must_use]
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xff) {
        end.pop();
    }
    if let Some(last) = end.last_mut() {
        *last += 1;
    } else {
        end.push(0xff);
    }
    end
}

/// A versionstamped key template: `prefix` followed by `tuple` packed with
/// its incomplete [`tuple::Versionstamp`], with the placeholder's offset
/// counted from the start of the whole key, as [`Tx::set_versionstamped_key`]
/// expects.
///
/// # Panics
/// If `tuple` holds no incomplete versionstamp.
pub fn versionstamp_template<T: tuple::TuplePack>(prefix: &[u8], tuple: &T) -> Vec<u8> {
    let packed = tuple::pack_with_versionstamp(tuple);
    let (body, offset) = packed.split_at(packed.len() - 4);
    let offset = u32::from_le_bytes(offset.try_into().expect("4 bytes"))
        + u32::try_from(prefix.len()).expect("prefix shorter than 4 GiB");
    let mut key = Vec::with_capacity(prefix.len() + packed.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(body);
    key.extend_from_slice(&offset.to_le_bytes());
    key
}

/// The placeholder offset of a versionstamped key template, if valid.
pub(crate) fn versionstamp_offset(template: &[u8]) -> Option<usize> {
    let (body, tail) = template.split_at_checked(template.len().checked_sub(4)?)?;
    let offset = u32::from_le_bytes(tail.try_into().ok()?) as usize;
    (offset + 10 <= body.len()).then_some(offset)
}

/// Fills a versionstamped key template: the 10-byte placeholder becomes the
/// commit version (8 bytes, big-endian) and a batch order of 0. As on
/// FoundationDB, every key of one transaction gets the same 10 bytes; the
/// tuple's 2-byte user version (see [`Tx::next_user_version`]) tells them apart.
#[cfg(any(feature = "sled", feature = "redb"))]
pub(crate) fn complete_versionstamp(template: &[u8], version: u64) -> Vec<u8> {
    let offset = versionstamp_offset(template).expect("checked when the key was set");
    let mut key = template[..template.len() - 4].to_vec();
    key[offset..offset + 8].copy_from_slice(&version.to_be_bytes());
    key[offset + 8..offset + 10].copy_from_slice(&[0, 0]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_matches_fdb_strinc() {
        let check = |input: &[u8], expected: &[u8]| assert_eq!(prefix_end(input), expected);
        check(b"ab", b"ac");
        check(b"a\xff", b"b");
        check(b"a\xff\xff", b"b");
        check(b"", b"\xff");
    }

    #[test]
    fn versionstamp_templates() {
        let mut template = b"log/".to_vec();
        template.extend_from_slice(&[0xff; 10]);
        template.extend_from_slice(b"/x");
        template.extend_from_slice(&4u32.to_le_bytes());
        assert_eq!(versionstamp_offset(&template), Some(4));
        let key = complete_versionstamp(&template, 7);
        assert_eq!(&key[..4], b"log/");
        assert_eq!(&key[4..12], &7u64.to_be_bytes());
        assert_eq!(&key[12..14], &[0, 0]);
        assert_eq!(&key[14..], b"/x");

        let check = |template: &[u8]| assert_eq!(versionstamp_offset(template), None);
        check(b"abc");
        check(&[b'a', 9, 0, 0, 0]);
    }

    #[test]
    fn a_compaction_is_worth_it_at_twice_what_is_stored_and_4_mib() {
        const MB: u64 = 1 << 20;
        let check = |file: u64, stored: u64, expected: bool| {
            let space = Space {
                file_bytes: file,
                stored_bytes: stored,
            };
            assert_eq!(space.worth_compacting(), expected, "{file} / {stored}");
        };
        check(8 * MB, 4 * MB, true);
        check(8 * MB, 4 * MB + 1, false); // less than twice
        check(5 * MB, MB, true);
        check(4 * MB, 0, true);
        check(4 * MB - 1, 0, false); // under 4 MiB to gain
        check(2 * MB, 32 * 1024, false); // a new, empty file
        check(300 * MB, 151 * MB, false);
        check(300 * MB, 150 * MB, true);
        check(0, 0, false);
        check(MB, 2 * MB, false); // more stored than the file: nothing to gain
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) < Duration::from_millis(1));
        assert!(backoff(2) >= Duration::from_millis(5) && backoff(2) <= Duration::from_millis(10));
        assert!(backoff(3) >= Duration::from_millis(10));
        assert!(backoff(20) <= Duration::from_millis(1_000));
        assert!(backoff(20) >= Duration::from_millis(500));
    }
}
