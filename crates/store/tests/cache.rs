//! The page cache's size reaches the embedded backends.
//!
//! redb reports its evictions: a database read through a cache much
//! smaller than itself evicts, through a larger one it does not. sled
//! reports nothing, so its test measures what the cap is for: the peak
//! memory of a process that writes and reads a database far larger than
//! a small cache, against the same process with a large one. Each such
//! process is this test binary run again (`STINT_CACHE_CHILD`), so that
//! one measurement's memory does not count in the other's.

use std::path::Path;

use stint_store::{Store, StoreOptions, open_redb, open_sled};

/// 60,000 values of 600 B: a 36 MB database.
const VALUES: usize = 60_000;
const VALUE_BYTES: usize = 600;
const MB: u64 = 1024 * 1024;

fn options(cache_bytes: u64) -> StoreOptions {
    StoreOptions {
        cache_bytes: Some(cache_bytes),
        ..StoreOptions::default()
    }
}

fn key(n: usize) -> Vec<u8> {
    format!("value/{n:06}").into_bytes()
}

/// Writes the database, 100 values a transaction, then reads every value
/// back twice.
async fn fill_and_read(store: &Store) {
    let value = vec![7u8; VALUE_BYTES];
    for batch in 0..VALUES / 100 {
        let mut tx = store.begin().await.unwrap();
        for n in batch * 100..(batch + 1) * 100 {
            tx.set(&key(n), &value);
        }
        tx.commit().await.unwrap();
    }
    for _ in 0..2 {
        for n in 0..VALUES {
            let mut tx = store.begin().await.unwrap();
            let read = tx.get(&key(n)).await.unwrap();
            assert_eq!(read.map(|v| v.len()), Some(VALUE_BYTES));
        }
    }
}

#[tokio::test]
async fn redb_evicts_within_a_small_cache_only() {
    // (cache, whether reading the 30 MB database evicts)
    for (cache, evicts) in [(MB, true), (256 * MB, false)] {
        let dir = tempfile::tempdir().unwrap();
        let store = open_redb(&dir.path().join("s.redb"), options(cache)).unwrap();
        fill_and_read(&store).await;
        let evictions = store.cache_stats().expect("redb tells").evictions;
        assert_eq!(
            evictions > 0,
            evicts,
            "cache {cache} B: {evictions} evictions"
        );
    }
}

/// The peak resident memory of this process, in bytes (`VmHWM`).
fn peak_resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kib * 1024
}

/// The child's side: fills and reads a sled database with the cache
/// named by `STINT_CACHE_CHILD`, then prints its peak memory.
#[tokio::test]
async fn sled_child() {
    let Ok(cache) = std::env::var("STINT_CACHE_CHILD") else {
        return; // run by the parent test only
    };
    let dir = std::env::var("STINT_CACHE_DIR").unwrap();
    let store = open_sled(Path::new(&dir), options(cache.parse().unwrap())).unwrap();
    fill_and_read(&store).await;
    println!("peak={}", peak_resident());
}

/// Runs [`sled_child`] in a process of its own with `cache` bytes of cache.
fn sled_peak_with(cache: u64) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sled_child", "--nocapture", "--test-threads=1"])
        .env("STINT_CACHE_CHILD", cache.to_string())
        .env("STINT_CACHE_DIR", dir.path().join("db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split("peak=").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak printed: {stdout}"))
}

#[test]
fn sled_stays_within_a_small_cache() {
    let small = sled_peak_with(2 * MB);
    let large = sled_peak_with(512 * MB);
    println!(
        "sled peak: {} MB with a 2 MB cache, {} MB with 512 MB",
        small / MB,
        large / MB
    );
    // The large cache holds the 30 MB database; the small one cannot.
    assert!(
        small + 15 * MB < large,
        "a 2 MB cache peaked at {} MB, a 512 MB one at {} MB",
        small / MB,
        large / MB
    );
}
