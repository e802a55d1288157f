//! The cost of our layer: the same work done through `Store`/`Tx` and with
//! raw sled and redb calls, in one process, printed as operations per second
//! and as a ratio (ours ÷ raw time; the target is at most 1.2×).
//!
//! `cargo bench -p stint-store --bench store` (or `make bench-store`).
//! Environment: `STINT_BENCH_TXS` (write transactions, default 300),
//! `STINT_BENCH_KEYS` (keys scanned, default 100,000).

use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Durability, ReadableDatabase, TableDefinition};
use stint_store::{RangeRequest, Store, StoreError, StoreOptions, key_after, open_redb, open_sled};

const BATCH: usize = 100;
const PAGE: usize = 1_000;
const ROUNDS: usize = 5;
const RAW_TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("raw");

fn key(i: usize) -> Vec<u8> {
    format!("k{i:015}").into_bytes()
}

fn value() -> Vec<u8> {
    vec![b'v'; 100]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The medians of `ROUNDS` runs of `ours` and of `raw`, alternating, so that
/// drift (cache warmth, CPU frequency) favours neither.
async fn medians<A, B, FA, FB>(mut ours: A, mut raw: B) -> (Duration, Duration)
where
    A: FnMut(usize) -> FA,
    B: FnMut(usize) -> FB,
    FA: std::future::Future<Output = Duration>,
    FB: std::future::Future<Output = Duration>,
{
    let (mut a, mut b) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            a.push(ours(round).await);
            b.push(raw(round).await);
        } else {
            b.push(raw(round).await);
            a.push(ours(round).await);
        }
    }
    a.sort();
    b.sort();
    (a[ROUNDS / 2], b[ROUNDS / 2])
}

async fn ours_write(store: &Store, txs: usize, round: usize) -> Duration {
    let value = value();
    let start = Instant::now();
    for t in 0..txs {
        let keys: Vec<Vec<u8>> = (0..BATCH)
            .map(|i| key((round * txs + t) * BATCH + i))
            .collect();
        let (keys, value) = (&keys, &value);
        store
            .run(|tx| {
                Box::pin(async move {
                    for k in keys {
                        tx.set(k, value);
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
    }
    start.elapsed()
}

async fn ours_scan(store: &Store) -> (Duration, usize) {
    let start = Instant::now();
    let mut tx = store.begin().await.unwrap();
    let (mut from, end) = (b"k".to_vec(), b"l".to_vec());
    let mut seen = 0;
    loop {
        let page = tx
            .get_range(RangeRequest::new(&from, &end).limit(PAGE))
            .await
            .unwrap();
        seen += page.items.len();
        match page.items.last() {
            Some((last, _)) if page.more => from = key_after(last),
            _ => break,
        }
    }
    (start.elapsed(), seen)
}

async fn fill(store: &Store, keys: usize) {
    let value = value();
    for chunk in (0..keys).collect::<Vec<_>>().chunks(5_000) {
        let value = &value;
        store
            .run(|tx| {
                Box::pin(async move {
                    for i in chunk {
                        tx.set(&key(*i), value);
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .unwrap();
    }
}

async fn sled_raw_write(db: &sled::Db, txs: usize, round: usize) -> Duration {
    let value = value();
    let start = Instant::now();
    for t in 0..txs {
        let mut batch = sled::Batch::default();
        for i in 0..BATCH {
            batch.insert(key((round * txs + t) * BATCH + i), value.as_slice());
        }
        db.apply_batch(batch).unwrap();
        db.flush_async().await.unwrap();
    }
    start.elapsed()
}

fn sled_raw_scan(db: &sled::Db) -> (Duration, usize) {
    let start = Instant::now();
    let mut from = b"k".to_vec();
    let mut seen = 0;
    loop {
        let page: Vec<(Vec<u8>, Vec<u8>)> = db
            .range::<&[u8], _>(from.as_slice()..b"l".as_slice())
            .take(PAGE + 1)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
            .collect();
        let more = page.len() > PAGE;
        let page = &page[..page.len().min(PAGE)];
        seen += page.len();
        match page.last() {
            Some((last, _)) if more => from = key_after(last),
            _ => break,
        }
    }
    (start.elapsed(), seen)
}

fn redb_raw_write(db: &redb::Database, txs: usize, round: usize) -> Duration {
    let value = value();
    let start = Instant::now();
    for t in 0..txs {
        let mut wtx = db.begin_write().unwrap();
        wtx.set_durability(Durability::Immediate).unwrap();
        {
            let mut table = wtx.open_table(RAW_TABLE).unwrap();
            for i in 0..BATCH {
                table
                    .insert(
                        key((round * txs + t) * BATCH + i).as_slice(),
                        value.as_slice(),
                    )
                    .unwrap();
            }
        }
        wtx.commit().unwrap();
    }
    start.elapsed()
}

fn redb_raw_scan(db: &redb::Database) -> (Duration, usize) {
    let start = Instant::now();
    let rtx = db.begin_read().unwrap();
    let table = rtx.open_table(RAW_TABLE).unwrap();
    let mut from = b"k".to_vec();
    let mut seen = 0;
    loop {
        let page: Vec<(Vec<u8>, Vec<u8>)> = table
            .range::<&[u8]>(from.as_slice()..b"l".as_slice())
            .unwrap()
            .take(PAGE + 1)
            .map(|kv| {
                kv.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                    .unwrap()
            })
            .collect();
        let more = page.len() > PAGE;
        let page = &page[..page.len().min(PAGE)];
        seen += page.len();
        match page.last() {
            Some((last, _)) if more => from = key_after(last),
            _ => break,
        }
    }
    (start.elapsed(), seen)
}

fn row(work: &str, ops: usize, ours: Duration, raw: Duration) {
    let rate = |d: Duration| ops as f64 / d.as_secs_f64();
    println!(
        "  {work:<34} ours {:>12.0} ops/s   raw {:>12.0} ops/s   ours/raw time {:.2}×",
        rate(ours),
        rate(raw),
        ours.as_secs_f64() / raw.as_secs_f64()
    );
}

async fn bench_sled(dir: &Path, txs: usize, keys: usize) {
    println!("sled 0.34");
    let store = open_sled(&dir.join("ours"), StoreOptions::default()).unwrap();
    let raw = sled::open(dir.join("raw")).unwrap();
    let (ours_w, raw_w) = medians(
        |r| ours_write(&store, txs, r),
        |r| sled_raw_write(&raw, txs, r),
    )
    .await;
    row(
        &format!("write: {txs} tx × {BATCH} keys, flushed"),
        txs * BATCH,
        ours_w,
        raw_w,
    );

    fill(&store, keys).await;
    for chunk in (0..keys).collect::<Vec<_>>().chunks(5_000) {
        let mut batch = sled::Batch::default();
        for i in chunk {
            batch.insert(key(*i), value());
        }
        raw.apply_batch(batch).unwrap();
    }
    let (ours_s, raw_s) = medians(
        |_| async { ours_scan(&store).await.0 },
        |_| async { sled_raw_scan(&raw).0 },
    )
    .await;
    let (_, n) = ours_scan(&store).await;
    assert!(n >= keys && sled_raw_scan(&raw).1 >= keys);
    row(
        &format!("scan: {n} keys in pages of {PAGE}"),
        n,
        ours_s,
        raw_s,
    );
}

async fn bench_redb(dir: &Path, txs: usize, keys: usize) {
    println!("redb 4");
    let store = open_redb(&dir.join("ours.redb"), StoreOptions::default()).unwrap();
    let raw = redb::Database::create(dir.join("raw.redb")).unwrap();
    let raw_ref = &raw;
    let (ours_w, raw_w) = medians(
        |r| ours_write(&store, txs, r),
        |r| async move { redb_raw_write(raw_ref, txs, r) },
    )
    .await;
    row(
        &format!("write: {txs} tx × {BATCH} keys, durable"),
        txs * BATCH,
        ours_w,
        raw_w,
    );

    fill(&store, keys).await;
    for chunk in (0..keys).collect::<Vec<_>>().chunks(5_000) {
        let wtx = raw.begin_write().unwrap();
        {
            let mut table = wtx.open_table(RAW_TABLE).unwrap();
            for i in chunk {
                table
                    .insert(key(*i).as_slice(), value().as_slice())
                    .unwrap();
            }
        }
        wtx.commit().unwrap();
    }
    let (ours_s, raw_s) = medians(
        |_| async { ours_scan(&store).await.0 },
        |_| async { redb_raw_scan(&raw).0 },
    )
    .await;
    let (_, n) = ours_scan(&store).await;
    row(
        &format!("scan: {n} keys in pages of {PAGE}"),
        n,
        ours_s,
        raw_s,
    );
}

fn main() {
    let txs = env("STINT_BENCH_TXS", 300);
    let keys = env("STINT_BENCH_KEYS", 100_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "stint-store benchmark: median of {ROUNDS} alternating rounds, ratio = our time ÷ raw time (target ≤ 1.2×)"
    );
    runtime.block_on(async {
        bench_sled(dir.path(), txs, keys).await;
        bench_redb(dir.path(), txs, keys).await;
    });
}
