//! The conformance suite: what every backend must do, checked the same way.
//!
//! Each check is a public function over a [`Store`], and
//! [`conformance_tests!`](crate::conformance_tests) turns them all into tests
//! for one backend. sled and redb run them in `make test`; the FDB backend
//! runs them wherever `FDB_CLUSTER_FILE` points at a cluster. Every check
//! works under its own key prefix and clears it, so it can share a cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::tuple::{Versionstamp, pack};
use crate::{
    Durability, RangeRequest, Store, StoreError, StoreOptions, prefix_end, versionstamp_template,
};

/// A key prefix of one check, unique per process and call.
#[derive(Debug)]
pub struct Prefix(Vec<u8>);

impl Prefix {
    /// A fresh prefix.
    #[must_use]
    pub fn new() -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let unique = (
            std::process::id(),
            nanos,
            SEQ.fetch_add(1, Ordering::Relaxed),
        );
        Self(pack(&("stint-conformance", unique)))
    }

    /// `prefix + name`.
    #[must_use]
    pub fn key(&self, name: &str) -> Vec<u8> {
        let mut key = self.0.clone();
        key.extend_from_slice(&pack(&name));
        key
    }

    /// `prefix + (n,)`, so that keys sort by `n`.
    #[must_use]
    pub fn nth(&self, n: u32) -> Vec<u8> {
        let mut key = self.0.clone();
        key.extend_from_slice(&pack(&n));
        key
    }

    /// The range of every key under the prefix.
    #[must_use]
    pub fn range(&self) -> (Vec<u8>, Vec<u8>) {
        (self.0.clone(), prefix_end(&self.0))
    }

    /// Clears everything under the prefix.
    pub async fn clear(&self, store: &Store) {
        let (begin, end) = self.range();
        let (begin, end) = (&begin, &end);
        store
            .run(|tx| {
                Box::pin(async move {
                    tx.clear_range(begin, end);
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .expect("clearing the test prefix");
    }
}

impl Default for Prefix {
    fn default() -> Self {
        Self::new()
    }
}

async fn set(store: &Store, key: &[u8], value: &[u8]) {
    store
        .run(|tx| {
            Box::pin(async move {
                tx.set(key, value);
                Ok::<_, StoreError>(())
            })
        })
        .await
        .expect("set");
}

async fn get(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
    store
        .run(|tx| Box::pin(async move { tx.get(key).await }))
        .await
        .expect("get")
}

/// Writes are visible after commit; clears remove; overwrites replace.
pub async fn get_set_clear(store: &Store) {
    let p = Prefix::new();
    let (a, b) = (p.key("a"), p.key("b"));
    assert_eq!(get(store, &a).await, None);
    set(store, &a, b"1").await;
    set(store, &b, b"2").await;
    assert_eq!(get(store, &a).await.as_deref(), Some(&b"1"[..]));
    set(store, &a, b"one").await;
    assert_eq!(get(store, &a).await.as_deref(), Some(&b"one"[..]));
    let a_ref = &a;
    store
        .run(|tx| {
            Box::pin(async move {
                tx.clear(a_ref);
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    assert_eq!(get(store, &a).await, None);
    assert_eq!(get(store, &b).await.as_deref(), Some(&b"2"[..]));
    // An empty value is a value.
    set(store, &a, b"").await;
    assert_eq!(get(store, &a).await, Some(Vec::new()));
    p.clear(store).await;
}

/// Reads inside a transaction see its own writes, clears and cleared ranges,
/// and nothing of it is visible to others before the commit.
pub async fn read_your_writes(store: &Store) {
    let p = Prefix::new();
    for i in 0..5 {
        set(store, &p.nth(i), b"old").await;
    }
    let mut tx = store.begin().await.unwrap();
    tx.set(&p.nth(1), b"new");
    tx.clear(&p.nth(2));
    tx.clear_range(&p.nth(3), &p.nth(5));
    tx.set(&p.nth(4), b"again");
    tx.set(&p.nth(9), b"added");
    assert_eq!(
        tx.get(&p.nth(1)).await.unwrap().as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(tx.get(&p.nth(2)).await.unwrap(), None);
    assert_eq!(tx.get(&p.nth(3)).await.unwrap(), None);
    assert_eq!(
        tx.get(&p.nth(4)).await.unwrap().as_deref(),
        Some(&b"again"[..])
    );
    let (begin, end) = p.range();
    let page = tx.get_range(RangeRequest::new(&begin, &end)).await.unwrap();
    let seen: Vec<(Vec<u8>, Vec<u8>)> = page.items;
    let expected = vec![
        (p.nth(0), b"old".to_vec()),
        (p.nth(1), b"new".to_vec()),
        (p.nth(4), b"again".to_vec()),
        (p.nth(9), b"added".to_vec()),
    ];
    assert_eq!(seen, expected);
    tx.commit().await.unwrap();
    assert_eq!(get(store, &p.nth(9)).await.as_deref(), Some(&b"added"[..]));
    assert_eq!(get(store, &p.nth(3)).await, None);
    p.clear(store).await;
}

/// A transaction dropped without commit leaves no trace.
pub async fn abandoned_transactions_write_nothing(store: &Store) {
    let p = Prefix::new();
    {
        let mut tx = store.begin().await.unwrap();
        tx.set(&p.key("ghost"), b"boo");
    }
    assert_eq!(get(store, &p.key("ghost")).await, None);
    p.clear(store).await;
}

/// Range reads page forward and backward with `more` exact at every
/// boundary: empty range, one item, exactly one page, a page ± 1.
pub async fn ranges_and_paging(store: &Store) {
    for n in [0u32, 1, 9, 10, 11, 20, 25] {
        let p = Prefix::new();
        let keys: Vec<Vec<u8>> = (0..n).map(|i| p.nth(i)).collect();
        let keys_ref = &keys;
        store
            .run(|tx| {
                Box::pin(async move {
                    for (i, k) in keys_ref.iter().enumerate() {
                        tx.set(k, &(i as u32).to_be_bytes());
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
        let (begin, end) = p.range();
        for reverse in [false, true] {
            let mut collected = Vec::new();
            let (mut lo, mut hi) = (begin.clone(), end.clone());
            let mut pages = 0;
            loop {
                let mut tx = store.begin().await.unwrap();
                let page = tx
                    .get_range(RangeRequest::new(&lo, &hi).limit(10).reverse(reverse))
                    .await
                    .unwrap();
                pages += 1;
                assert!(page.items.len() <= 10);
                let more = page.more;
                if let Some((last, _)) = page.items.last() {
                    if reverse {
                        hi = last.clone();
                    } else {
                        lo = crate::key_after(last);
                    }
                }
                collected.extend(page.items.into_iter().map(|(k, _)| k));
                if !more {
                    break;
                }
                assert!(pages <= 4, "paging does not end");
            }
            let mut expected = keys.clone();
            if reverse {
                expected.reverse();
            }
            assert_eq!(collected, expected, "n = {n}, reverse = {reverse}");
            let expected_pages = (n as usize).div_ceil(10).max(1);
            assert_eq!(pages, expected_pages, "n = {n}, reverse = {reverse}");
        }
        // An inverted range is empty rather than an error.
        let mut tx = store.begin().await.unwrap();
        let page = tx.get_range(RangeRequest::new(&end, &begin)).await.unwrap();
        assert!(page.items.is_empty() && !page.more);
        drop(tx);
        p.clear(store).await;
    }
}

/// `clear_range` removes exactly `[begin, end)`.
pub async fn clear_range(store: &Store) {
    let p = Prefix::new();
    for i in 0..10 {
        set(store, &p.nth(i), b"x").await;
    }
    let (b, e) = (p.nth(3), p.nth(7));
    let (b, e) = (&b, &e);
    store
        .run(|tx| {
            Box::pin(async move {
                tx.clear_range(b, e);
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    for i in 0..10 {
        let present = get(store, &p.nth(i)).await.is_some();
        assert_eq!(present, !(3..7).contains(&i), "key {i}");
    }
    p.clear(store).await;
}

/// FoundationDB's size limits, with its codes, and nothing written when
/// one is broken.
pub async fn size_limits(store: &Store) {
    let p = Prefix::new();
    let limits = store.options().limits;
    let pad = |n: usize| {
        let mut k = p.key("k");
        k.resize(n, b'k');
        k
    };
    let try_set = |key: Vec<u8>, value: Vec<u8>| async move {
        let (key, value) = (&key, &value);
        store
            .run(|tx| {
                Box::pin(async move {
                    tx.set(key, value);
                    Ok::<_, StoreError>(())
                })
            })
            .await
    };
    let largest_key = pad(limits.max_key_bytes);
    try_set(largest_key.clone(), b"v".to_vec()).await.unwrap();
    assert_eq!(get(store, &largest_key).await.as_deref(), Some(&b"v"[..]));
    let err = try_set(pad(limits.max_key_bytes + 1), b"v".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.code(), 2102, "{err}");

    try_set(p.key("v"), vec![7; limits.max_value_bytes])
        .await
        .unwrap();
    let err = try_set(p.key("v2"), vec![7; limits.max_value_bytes + 1])
        .await
        .unwrap_err();
    assert_eq!(err.code(), 2103, "{err}");
    assert_eq!(get(store, &p.key("v2")).await, None);

    // 101 values of 100,000 bytes: over 10,000,000 bytes in one transaction.
    let keys: Vec<Vec<u8>> = (0..101).map(|i| p.nth(i)).collect();
    let value = vec![1u8; limits.max_value_bytes];
    let (keys_ref, value_ref) = (&keys, &value);
    let err = store
        .run(|tx| {
            Box::pin(async move {
                for k in keys_ref {
                    tx.set(k, value_ref);
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), 2101, "{err}");
    assert_eq!(get(store, &keys[0]).await, None, "a failed commit wrote");

    // Reading an oversized key fails at once, as on FDB.
    let mut tx = store.begin().await.unwrap();
    let err = tx.get(&pad(limits.max_key_bytes + 1)).await.unwrap_err();
    assert_eq!(err.code(), 2102);
    drop(tx);
    p.clear(store).await;
}

/// The system keyspace (`\xff…`) is out of reach (2004).
pub async fn system_keys_are_out_of_reach(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get(b"\xff/x").await.unwrap_err().code(), 2004);
    tx.set(b"\xffkey", b"v");
    assert_eq!(tx.commit().await.unwrap_err().code(), 2004);
}

/// A transaction older than the limit can neither read nor commit (1007).
/// Run with tokio's clock paused.
pub async fn transactions_expire(store: &Store) {
    let p = Prefix::new();
    let mut tx = store.begin().await.unwrap();
    tx.set(&p.key("late"), b"v");
    tokio::time::advance(store.options().limits.max_duration + Duration::from_millis(1)).await;
    assert_eq!(tx.get(&p.key("late")).await.unwrap_err().code(), 1007);
    assert_eq!(tx.commit().await.unwrap_err().code(), 1007);
    assert_eq!(get(store, &p.key("late")).await, None);
    p.clear(store).await;
}

/// Concurrent read-modify-write transactions lose no update: conflicts are
/// detected (or prevented) and retried.
pub async fn concurrent_increments_lose_nothing(store: &Store) {
    const TASKS: u32 = 8;
    const EACH: u32 = 20;
    let p = Arc::new(Prefix::new());
    let attempts = Arc::new(AtomicU32::new(0));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (store, p, attempts) = (store.clone(), Arc::clone(&p), Arc::clone(&attempts));
        handles.push(tokio::spawn(async move {
            let key = p.key("counter");
            for _ in 0..EACH {
                let (key, attempts) = (&key, &attempts);
                store
                    .run(|tx| {
                        Box::pin(async move {
                            attempts.fetch_add(1, Ordering::Relaxed);
                            let n = tx
                                .get(key)
                                .await?
                                .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()));
                            tokio::task::yield_now().await;
                            tx.set(key, &(n + 1).to_be_bytes());
                            Ok::<_, StoreError>(())
                        })
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let total = get(store, &p.key("counter")).await.unwrap();
    assert_eq!(u32::from_be_bytes(total.try_into().unwrap()), TASKS * EACH);
    assert!(attempts.load(Ordering::Relaxed) >= TASKS * EACH);
    p.clear(store).await;
}

/// Commits made at once from many tasks (the sled backend flushes them
/// together): a commit is there once it returns, and returns only once it
/// is durable, so that the durable version a transaction begun right after
/// it sees covers its own versionstamp.
pub async fn concurrent_commits_are_durable_when_they_return(store: &Store) {
    commits_and_reads(store, 0).await;
}

/// As [`concurrent_commits_are_durable_when_they_return`], with readers
/// going on meanwhile: what a reader returned (the newest versionstamp it
/// read) is durable once its `run` returns. For a backend whose writes
/// are visible before they are durable (sled, which lets its writer lock
/// go before the flush); redb shows a commit only once it is on disk, and
/// counts it durable a moment after.
pub async fn reads_are_durable_when_they_return(store: &Store) {
    commits_and_reads(store, 2).await;
}

async fn commits_and_reads(store: &Store, readers: usize) {
    const TASKS: usize = 8;
    const EACH: usize = 10;
    let p = Arc::new(Prefix::new());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stamp_of = |key: &[u8]| u64::from_be_bytes(key[key.len() - 12..][..8].try_into().unwrap());
    let mut reading = Vec::new();
    for _ in 0..readers {
        let (store, p, done) = (store.clone(), Arc::clone(&p), Arc::clone(&done));
        reading.push(tokio::spawn(async move {
            let (begin, end) = (p.key("log0"), p.key("log:"));
            let (begin, end) = (&begin, &end);
            let mut reads = 0;
            while !done.load(Ordering::Acquire) {
                let newest = store
                    .run(|tx| {
                        Box::pin(async move {
                            let all = tx.get_all(begin, end).await?;
                            Ok::<_, StoreError>(all.iter().map(|(k, _)| stamp_of(k)).max())
                        })
                    })
                    .await
                    .unwrap();
                let tx = store.begin().await.unwrap();
                if let (Some(newest), Some(durable)) = (newest, tx.durable_version()) {
                    assert!(durable >= newest, "read {newest}, durable {durable}");
                }
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        }));
    }
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let (store, p) = (store.clone(), Arc::clone(&p));
        handles.push(tokio::spawn(async move {
            for i in 0..EACH {
                let log = p.key(&format!("log{task}-{i}"));
                let template = versionstamp_template(&log, &(Versionstamp::incomplete(0),));
                let (log, template) = (&log, &template);
                store
                    .run(|tx| {
                        Box::pin(async move {
                            tx.set_versionstamped_key(template, b"x");
                            Ok::<_, StoreError>(())
                        })
                    })
                    .await
                    .unwrap();
                let mut tx = store.begin().await.unwrap();
                let entries = tx.get_all(log, &prefix_end(log)).await.unwrap();
                let [(key, _)] = entries.as_slice() else {
                    panic!("one entry expected, got {entries:?}");
                };
                let version = stamp_of(key);
                if let Some(durable) = tx.durable_version() {
                    assert!(
                        durable >= version,
                        "returned at {version}, durable {durable}"
                    );
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    done.store(true, Ordering::Release);
    for r in reading {
        assert!(r.await.unwrap() > 0, "the readers read");
    }
    p.clear(store).await;
}

/// Versionstamped keys sort in commit order, also under concurrency, and a
/// template without a valid placeholder is refused (2000).
pub async fn versionstamps_follow_commit_order(store: &Store) {
    let p = Arc::new(Prefix::new());
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (store, p) = (store.clone(), Arc::clone(&p));
        handles.push(tokio::spawn(async move {
            for _ in 0..10 {
                let p = &p;
                store
                    .run(|tx| {
                        Box::pin(async move {
                            // The counter serializes the commits; the log
                            // must list them in the same order.
                            let seq = tx
                                .get(&p.key("seq"))
                                .await?
                                .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()));
                            tx.set(&p.key("seq"), &(seq + 1).to_be_bytes());
                            // Two entries per commit: the user version
                            // orders them within it.
                            for part in 0..2u32 {
                                let template = versionstamp_template(
                                    &p.key("log"),
                                    &(Versionstamp::incomplete(tx.next_user_version()),),
                                );
                                tx.set_versionstamped_key(
                                    &template,
                                    &(seq * 2 + part).to_be_bytes(),
                                );
                            }
                            Ok::<_, StoreError>(())
                        })
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let log = p.key("log");
    let log_end = prefix_end(&log);
    let mut tx = store.begin().await.unwrap();
    let all = tx.get_all(&log, &log_end).await.unwrap();
    let order: Vec<u32> = all
        .iter()
        .map(|(_, v)| u32::from_be_bytes(v.clone().try_into().unwrap()))
        .collect();
    assert_eq!(order, (0..80).collect::<Vec<_>>());

    tx.set_versionstamped_key(b"no placeholder", b"v");
    assert_eq!(tx.commit().await.unwrap_err().code(), 2000);
    p.clear(store).await;
}

/// Many transactions committing at once (on redb, in shared group
/// commits) are serializable: read-modify-writes of one key, among readers
/// of it, commit as if one after another, in the order of their
/// versionstamps, each exactly once. Those whose read was overwritten
/// first, by a commit before them or in their own group, fail alone (1020)
/// and are retried. Run with [`injecting_options`] as well: then every
/// commit also reports "unknown result" once, in whatever group it was.
pub async fn concurrent_commits_are_serializable(store: &Store) {
    const TASKS: u32 = 16;
    const ROUNDS: u32 = 4;
    let p = Arc::new(Prefix::new());
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let (store, p) = (store.clone(), Arc::clone(&p));
        handles.push(tokio::spawn(async move {
            for round in 0..ROUNDS {
                let id = task * ROUNDS + round;
                // One in four increments the shared key; the rest read it.
                let writer = task.is_multiple_of(4);
                let (p, done) = (&p, &p.nth(id));
                store
                    .run(|tx| {
                        Box::pin(async move {
                            // Idempotent, for the commits that report an
                            // unknown result and run again.
                            if tx.get(done).await?.is_some() {
                                return Ok::<_, StoreError>(());
                            }
                            let seen = tx
                                .get(&p.key("shared"))
                                .await?
                                .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()));
                            tokio::task::yield_now().await;
                            if writer {
                                tx.set(&p.key("shared"), &(seen + 1).to_be_bytes());
                            }
                            tx.set(done, &seen.to_be_bytes());
                            let template = versionstamp_template(
                                &p.key("log"),
                                &(Versionstamp::incomplete(tx.next_user_version()),),
                            );
                            tx.set_versionstamped_key(&template, &id.to_be_bytes());
                            Ok(())
                        })
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    // Replay the log in stamp order: each saw what the ones before it left.
    let mut tx = store.begin().await.unwrap();
    let log = tx
        .get_all(&p.key("log"), &prefix_end(&p.key("log")))
        .await
        .unwrap();
    let order: Vec<u32> = log
        .iter()
        .map(|(_, v)| u32::from_be_bytes(v.clone().try_into().unwrap()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..TASKS * ROUNDS).collect::<Vec<_>>(), "each once");
    let mut shared = 0;
    for id in order {
        let seen = tx.get(&p.nth(id)).await.unwrap().expect("done");
        let seen = u32::from_be_bytes(seen.try_into().unwrap());
        assert_eq!(
            seen, shared,
            "commit {id} saw {seen}, the log's order says {shared}"
        );
        if (id / ROUNDS).is_multiple_of(4) {
            shared += 1;
        }
    }
    assert_eq!(shared, TASKS / 4 * ROUNDS);
    drop(tx);
    p.clear(store).await;
}

/// Errors that are not the store's pass through at once, without retry.
pub async fn caller_errors_are_not_retried(store: &Store) {
    #[derive(Debug)]
    enum AppError {
        Store(StoreError),
        Refused,
    }
    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            Self::Store(e)
        }
    }
    impl crate::AsStoreError for AppError {
        fn as_store_error(&self) -> Option<&StoreError> {
            match self {
                Self::Store(e) => Some(e),
                Self::Refused => None,
            }
        }
    }
    let p = Prefix::new();
    let runs = AtomicU32::new(0);
    let (runs_ref, key) = (&runs, p.key("refused"));
    let key = &key;
    let result: Result<(), AppError> = store
        .run(|tx| {
            Box::pin(async move {
                runs_ref.fetch_add(1, Ordering::Relaxed);
                tx.set(key, b"v");
                Err(AppError::Refused)
            })
        })
        .await;
    assert!(matches!(result, Err(AppError::Refused)));
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert_eq!(get(store, key).await, None, "a failed body must not commit");
}

/// In "commit unknown" test mode, a write commits and then reports 1021, so
/// the body runs a second time, on the committed data; read-only bodies run
/// once. `store` must have been opened with `inject_commit_unknown`.
pub async fn commit_unknown_reruns_the_body(store: &Store) {
    assert!(store.options().inject_commit_unknown);
    let p = Prefix::new();
    let runs = AtomicU32::new(0);
    let (runs_ref, key) = (&runs, p.key("once"));
    let key = &key;
    let first_seen = store
        .run(|tx| {
            Box::pin(async move {
                runs_ref.fetch_add(1, Ordering::Relaxed);
                let before = tx.get(key).await?;
                if before.is_none() {
                    tx.set(key, b"written");
                }
                Ok::<_, StoreError>(before)
            })
        })
        .await
        .unwrap();
    assert_eq!(
        runs.load(Ordering::Relaxed),
        2,
        "the body runs again after 1021"
    );
    assert_eq!(
        first_seen.as_deref(),
        Some(&b"written"[..]),
        "the rerun sees the commit"
    );

    runs.store(0, Ordering::Relaxed);
    store
        .run(|tx| {
            Box::pin(async move {
                runs_ref.fetch_add(1, Ordering::Relaxed);
                tx.get(key).await
            })
        })
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::Relaxed), 1, "reads are not rerun");
    p.clear(store).await;
}

/// A deferred commit is seen at once, and is on disk with the next
/// durable one. `open` opens the same store each time it is called.
pub async fn deferred_commits_last_with_the_next_durable_one(open: impl Fn() -> Store) {
    let p = Prefix::new();
    {
        let store = open();
        let key = &p.key("deferred");
        store
            .run_with(Durability::Deferred, |tx| {
                Box::pin(async move {
                    tx.set(key, b"later");
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
        assert_eq!(get(&store, key).await.as_deref(), Some(&b"later"[..]));
        set(&store, &p.key("durable"), b"now").await;
    }
    let store = open();
    assert_eq!(
        get(&store, &p.key("deferred")).await.as_deref(),
        Some(&b"later"[..])
    );
    assert_eq!(
        get(&store, &p.key("durable")).await.as_deref(),
        Some(&b"now"[..])
    );
}

/// A deferred commit lies past the durable version until a durable commit
/// follows it: a reader handing versionstamps out stops before it (see
/// [`crate::Tx::durable_version`]).
pub async fn deferred_commits_are_past_the_durable_version(store: &Store) {
    let p = Prefix::new();
    let log = p.key("log");
    let template = versionstamp_template(&log, &(Versionstamp::incomplete(0),));
    let template = &template;
    store
        .run_with(Durability::Deferred, |tx| {
            Box::pin(async move {
                tx.set_versionstamped_key(template, b"deferred");
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let entries = tx.get_all(&log, &prefix_end(&log)).await.unwrap();
    let [(key, _)] = entries.as_slice() else {
        panic!("one log entry expected, got {entries:?}");
    };
    // The key ends with the tuple's 12-byte versionstamp: 8 of them the
    // commit version.
    let stamp = &key[key.len() - 12..];
    let version = u64::from_be_bytes(stamp[..8].try_into().unwrap());
    if let Some(durable) = tx.durable_version() {
        assert!(durable < version, "durable {durable}, deferred {version}");
    }
    drop(tx);

    set(store, &p.key("durable"), b"now").await;
    let tx = store.begin().await.unwrap();
    if let Some(durable) = tx.durable_version() {
        assert!(durable >= version, "durable {durable}, deferred {version}");
    }
    drop(tx);
    p.clear(store).await;
}

/// A compaction (where the backend has one: redb) gives free space back
/// while reads and writes go on, and loses nothing: every key reads the
/// same after it, and every write acknowledged during it is there.
pub async fn compaction_loses_nothing(store: &Store) {
    const KEYS: u32 = 4_000;
    let value = |n: u32| vec![(n % 251) as u8; 4_096];
    let p = Arc::new(Prefix::new());
    // 16 MB, then three keys in four removed: pages to give back.
    for batch in 0..KEYS / 100 {
        let (p, value) = (&p, &value);
        store
            .run(|tx| {
                Box::pin(async move {
                    for n in batch * 100..(batch + 1) * 100 {
                        tx.set(&p.nth(n), &value(n));
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
    }
    for batch in 0..KEYS / 1_000 {
        let p = &p;
        store
            .run(|tx| {
                Box::pin(async move {
                    for n in (batch * 1_000..(batch + 1) * 1_000).filter(|n| n % 4 != 0) {
                        tx.clear(&p.nth(n));
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
    }
    let read_all = async |p: &Prefix| {
        let (begin, end) = p.range();
        let mut tx = store.begin().await.unwrap();
        tx.get_all(&begin, &end).await.unwrap()
    };
    let before = read_all(&p).await;
    assert_eq!(before.len(), (KEYS / 4) as usize);

    // A writer and a reader go on while it runs.
    let written = Arc::new(Prefix::new());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writes = Arc::new(AtomicU32::new(0));
    let writer = {
        let (store, written, stop, writes) = (
            store.clone(),
            Arc::clone(&written),
            Arc::clone(&stop),
            Arc::clone(&writes),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = writes.load(Ordering::Relaxed);
                set(&store, &written.nth(n), &n.to_be_bytes()).await;
                writes.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    let reader = {
        let (store, p, stop, value) = (store.clone(), Arc::clone(&p), Arc::clone(&stop), value);
        tokio::spawn(async move {
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) || reads == 0 {
                let n = (reads * 4) % KEYS;
                assert_eq!(get(&store, &p.nth(n)).await, Some(value(n)), "key {n}");
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };
    while writes.load(Ordering::Relaxed) < 10 {
        tokio::task::yield_now().await;
    }
    let during = writes.load(Ordering::Relaxed);
    let compaction = store.compact().await.unwrap();
    let went_on = writes.load(Ordering::Relaxed) > during;
    // Writes go on after it.
    while writes.load(Ordering::Relaxed) < during + 10 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(reader.await.unwrap() > 0);

    if let Some(done) = compaction {
        assert!(went_on, "no write committed while the compaction ran");
        assert!(
            done.after_bytes * 2 < done.before_bytes,
            "three quarters were freed, yet the file went from {} to {} bytes",
            done.before_bytes,
            done.after_bytes
        );
    }
    assert!(
        read_all(&p).await == before,
        "a key changed in the compaction"
    );
    let acknowledged = writes.load(Ordering::Relaxed);
    let kept = read_all(&written).await;
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..acknowledged)
        .map(|n| (written.nth(n), n.to_be_bytes().to_vec()))
        .collect();
    assert!(
        kept == expected,
        "a write acknowledged during the compaction is missing"
    );
    p.clear(store).await;
    written.clear(store).await;
}

/// Committed data survives closing and reopening the store. `open` opens
/// the same store each time it is called.
pub async fn durable_across_reopen(open: impl Fn() -> Store) {
    let p = Prefix::new();
    {
        let store = open();
        for i in 0..100 {
            set(&store, &p.nth(i), &i.to_be_bytes()).await;
        }
        let mut tx = store.begin().await.unwrap();
        let template = versionstamp_template(&p.key("log"), &(Versionstamp::incomplete(0),));
        tx.set_versionstamped_key(&template, b"before");
        tx.commit().await.unwrap();
    }
    let store = open();
    for i in 0..100 {
        assert_eq!(
            get(&store, &p.nth(i)).await,
            Some(i.to_be_bytes().to_vec()),
            "key {i} lost across reopen"
        );
    }
    // Versionstamps keep growing after a reopen.
    let mut tx = store.begin().await.unwrap();
    let template = versionstamp_template(&p.key("log"), &(Versionstamp::incomplete(0),));
    tx.set_versionstamped_key(&template, b"after");
    tx.commit().await.unwrap();
    let log = p.key("log");
    let mut tx = store.begin().await.unwrap();
    let entries = tx.get_all(&log, &prefix_end(&log)).await.unwrap();
    drop(tx);
    let values: Vec<&[u8]> = entries.iter().map(|(_, v)| v.as_slice()).collect();
    assert_eq!(values, [&b"before"[..], &b"after"[..]]);
    p.clear(&store).await;
}

/// Options for a store in "commit unknown" test mode.
#[must_use]
pub fn injecting_options() -> StoreOptions {
    StoreOptions {
        inject_commit_unknown: true,
        ..StoreOptions::default()
    }
}

/// Generates the conformance tests for one backend.
///
/// `$open` is an expression of type `fn(&Path, StoreOptions) -> Store` that
/// opens the backend's store at a path (which it may ignore).
#[macro_export]
macro_rules! conformance_tests {
    ($open:expr) => {
        mod conformance {
            use super::*;
            use $crate::conformance as c;

            fn open(dir: &std::path::Path, options: $crate::StoreOptions) -> $crate::Store {
                let open: fn(&std::path::Path, $crate::StoreOptions) -> $crate::Store = $open;
                open(dir, options)
            }

            macro_rules! check {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let dir = tempfile::tempdir().unwrap();
                        c::$name(&open(dir.path(), Default::default())).await;
                    }
                };
            }

            check!(get_set_clear);
            check!(read_your_writes);
            check!(abandoned_transactions_write_nothing);
            check!(ranges_and_paging);
            check!(clear_range);
            check!(size_limits);
            check!(system_keys_are_out_of_reach);
            check!(concurrent_increments_lose_nothing);
            check!(concurrent_commits_are_serializable);
            check!(concurrent_commits_are_durable_when_they_return);
            check!(versionstamps_follow_commit_order);
            check!(caller_errors_are_not_retried);
            check!(deferred_commits_are_past_the_durable_version);
            check!(compaction_loses_nothing);

            #[tokio::test(start_paused = true)]
            async fn transactions_expire() {
                let dir = tempfile::tempdir().unwrap();
                c::transactions_expire(&open(dir.path(), Default::default())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn commit_unknown_reruns_the_body() {
                let dir = tempfile::tempdir().unwrap();
                c::commit_unknown_reruns_the_body(&open(dir.path(), c::injecting_options())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_commits_are_serializable_with_unknown_results() {
                let dir = tempfile::tempdir().unwrap();
                c::concurrent_commits_are_serializable(&open(dir.path(), c::injecting_options()))
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn durable_across_reopen() {
                let dir = tempfile::tempdir().unwrap();
                c::durable_across_reopen(|| open(dir.path(), Default::default())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn deferred_commits_last_with_the_next_durable_one() {
                let dir = tempfile::tempdir().unwrap();
                c::deferred_commits_last_with_the_next_durable_one(|| {
                    open(dir.path(), Default::default())
                })
                .await;
            }
        }
    };
}
