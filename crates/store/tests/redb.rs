//! The conformance suite on the redb backend, and what only redb does:
//! optimistic conflict detection.

use stint_store::{RangeRequest, StoreError, StoreOptions, open_redb};

stint_store::conformance_tests!(|dir, options| {
    stint_store::open_redb(&dir.join("store.redb"), options).expect("open redb")
});

/// A transaction whose read was overwritten by a later commit fails with
/// 1020, whether it read a key or a range; one that read elsewhere commits.
#[tokio::test]
async fn a_stale_read_fails_with_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_redb(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();

    let check = async |read: &[u8], written: &[u8], expect_conflict: bool| {
        let mut t1 = store.begin().await.unwrap();
        if read.ends_with(b"*") {
            let begin = &read[..read.len() - 1];
            t1.get_range(RangeRequest::new(begin, &stint_store::prefix_end(begin)))
                .await
                .unwrap();
        } else {
            t1.get(read).await.unwrap();
        }
        let mut t2 = store.begin().await.unwrap();
        t2.set(written, b"t2");
        t2.commit().await.unwrap();
        t1.set(b"out", b"t1");
        let result = t1.commit().await;
        if expect_conflict {
            assert_eq!(
                result,
                Err(StoreError::NotCommitted),
                "{read:?} vs {written:?}"
            );
        } else {
            assert_eq!(result, Ok(()), "{read:?} vs {written:?}");
        }
    };
    check(b"k", b"k", true).await;
    check(b"k", b"j", false).await;
    check(b"p/*", b"p/x", true).await;
    check(b"p/*", b"q", false).await;
}

/// 4,000 values of 4 KB, then three in four removed.
const KEYS: u32 = 4_000;

fn key(n: u32) -> Vec<u8> {
    format!("compact/{n:05}").into_bytes()
}

fn value(n: u32) -> Vec<u8> {
    vec![(n % 251) as u8; 4_096]
}

/// A 16 MB file with three quarters of it free.
async fn fill_and_free(path: &std::path::Path) {
    let store = open_redb(path, StoreOptions::default()).unwrap();
    for batch in 0..KEYS / 100 {
        let mut tx = store.begin().await.unwrap();
        for n in batch * 100..(batch + 1) * 100 {
            tx.set(&key(n), &value(n));
        }
        tx.commit().await.unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    for n in (0..KEYS).filter(|n| n % 4 != 0) {
        tx.clear(&key(n));
    }
    tx.commit().await.unwrap();
}

/// Every key that should be there is, with its value; none of the others.
async fn check_every_key(path: &std::path::Path) {
    let store = open_redb(path, StoreOptions::default()).unwrap();
    let mut tx = store.begin().await.unwrap();
    let all = tx.get_all(b"compact/", b"compact0").await.unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..KEYS)
        .filter(|n| n % 4 == 0)
        .map(|n| (key(n), value(n)))
        .collect();
    assert!(all == expected, "{} keys after the crash", all.len());
}

/// The child's side: compacts the file named by `STINT_COMPACT_CHILD`,
/// saying when it starts and when it is done.
#[tokio::test]
async fn compaction_child() {
    let Ok(path) = std::env::var("STINT_COMPACT_CHILD") else {
        return; // run by the parent test only
    };
    let store = open_redb(std::path::Path::new(&path), StoreOptions::default()).unwrap();
    println!("compacting");
    let done = store.compact().await.unwrap().expect("redb compacts");
    println!("compacted in {} us", done.paused.as_micros());
}

/// Starts [`compaction_child`] on `path`, waits until it is compacting,
/// kills it with SIGKILL `after` that (unless `after` is `None`), and
/// returns whether it finished first.
fn compact_in_a_child(path: &std::path::Path, after: Option<std::time::Duration>) -> bool {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "compaction_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STINT_COMPACT_CHILD", path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.ends_with("compacting")),
        "the child did not start compacting"
    );
    if let Some(after) = after {
        // The moment of the crash: the one real wait of this test.
        std::thread::sleep(after);
        child.kill().unwrap();
    }
    // Read to the end, so that the child never writes to a closed pipe.
    let finished = lines
        .map_while(Result::ok)
        .filter(|l| l.contains("compacted in"))
        .count()
        > 0;
    child.wait().unwrap();
    finished
}

/// A compaction killed with SIGKILL part way through loses nothing: the
/// file reopens with every key, and compacts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_killed_part_way_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // How long one takes here, undisturbed.
    let path = dir.path().join("measure.redb");
    fill_and_free(&path).await;
    let before = std::fs::metadata(&path).unwrap().len();
    let started = std::time::Instant::now();
    assert!(compact_in_a_child(&path, None));
    let took = started.elapsed();
    assert!(std::fs::metadata(&path).unwrap().len() * 2 < before);
    check_every_key(&path).await;

    let mut killed_part_way = 0;
    for (n, fraction) in [0.05, 0.2, 0.4, 0.6].into_iter().enumerate() {
        let path = dir.path().join(format!("killed-{n}.redb"));
        fill_and_free(&path).await;
        if !compact_in_a_child(&path, Some(took.mul_f64(fraction))) {
            killed_part_way += 1;
        }
        check_every_key(&path).await;
        assert!(
            !dir.path()
                .join(format!("killed-{n}.redb.compacting"))
                .exists(),
            "the unfinished copy is removed when the store opens"
        );
        // And it still compacts.
        let store = open_redb(&path, StoreOptions::default()).unwrap();
        store.compact().await.unwrap();
        drop(store);
        check_every_key(&path).await;
    }
    println!("a compaction takes {took:?}; {killed_part_way} of 4 killed part way");
    assert!(
        killed_part_way > 0,
        "every compaction finished before its kill (one takes {took:?})"
    );
}

/// Commits of every kind made while a compaction runs (point writes,
/// cleared ranges, versionstamped keys, deferred commits), and after it,
/// are all in the file when it is opened again: the journal replayed them
/// into the copy, and later commits went to the file that replaced the
/// old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_during_and_after_a_compaction_are_in_the_file_reopened() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use stint_store::tuple::Versionstamp;
    use stint_store::{Durability, versionstamp_template};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    fill_and_free(&path).await;
    let store = open_redb(&path, StoreOptions::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU32::new(0));
    let writer = {
        let (store, stop, acknowledged) =
            (store.clone(), Arc::clone(&stop), Arc::clone(&acknowledged));
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let durability = if n.is_multiple_of(2) {
                    Durability::Deferred
                } else {
                    Durability::Immediate
                };
                store
                    .run_with(durability, |tx| {
                        Box::pin(async move {
                            tx.set(format!("w/{n:06}").as_bytes(), &n.to_be_bytes());
                            // Only the latest `r/` key is left.
                            tx.clear_range(b"r/", b"r0");
                            tx.set(format!("r/{n:06}").as_bytes(), b"latest");
                            let template =
                                versionstamp_template(b"log/", &(Versionstamp::incomplete(0),));
                            tx.set_versionstamped_key(&template, &n.to_be_bytes());
                            Ok::<_, StoreError>(())
                        })
                    })
                    .await
                    .unwrap();
                n += 1;
                acknowledged.store(n, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    while acknowledged.load(Ordering::Relaxed) < 10 {
        tokio::task::yield_now().await;
    }
    let done = store.compact().await.unwrap().expect("redb compacts");
    assert!(done.after_bytes * 2 < done.before_bytes, "{done:?}");
    let after = acknowledged.load(Ordering::Relaxed);
    while acknowledged.load(Ordering::Relaxed) < after + 20 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    store.make_durable().await.unwrap();
    let written = acknowledged.load(Ordering::Relaxed);
    drop(store);

    check_every_key(&path).await;
    let store = open_redb(&path, StoreOptions::default()).unwrap();
    let mut tx = store.begin().await.unwrap();
    let points = tx.get_all(b"w/", b"w0").await.unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..written)
        .map(|n| (format!("w/{n:06}").into_bytes(), n.to_be_bytes().to_vec()))
        .collect();
    assert!(
        points == expected,
        "{} of {written} writes kept",
        points.len()
    );
    let latest = tx.get_all(b"r/", b"r0").await.unwrap();
    assert_eq!(
        latest,
        [(
            format!("r/{:06}", written - 1).into_bytes(),
            b"latest".to_vec()
        )]
    );
    let log: Vec<Vec<u8>> = tx
        .get_all(b"log/", b"log0")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let in_order: Vec<Vec<u8>> = (0..written).map(|n| n.to_be_bytes().to_vec()).collect();
    assert!(
        log == in_order,
        "the log has {} entries of {written}",
        log.len()
    );
}
