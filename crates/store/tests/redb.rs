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

/// Transactions ready to commit at the same moment share one write
/// transaction and one sync; the one whose read an earlier member of the
/// group overwrote fails alone, and the others commit.
#[tokio::test]
async fn commits_ready_together_share_a_group_and_a_conflict_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_redb(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
    let mut setup = store.begin().await.unwrap();
    setup.set(b"shared", b"old");
    setup.commit().await.unwrap();
    let before = store.commit_stats().expect("redb groups commits");

    let mut writer = store.begin().await.unwrap();
    writer.set(b"shared", b"new");
    let mut reader = store.begin().await.unwrap();
    assert_eq!(
        reader.get(b"shared").await.unwrap().as_deref(),
        Some(&b"old"[..])
    );
    reader.set(b"copy", b"old");
    let mut bystander = store.begin().await.unwrap();
    bystander.get(b"elsewhere").await.unwrap();
    bystander.set(b"bystander", b"here");
    // Polled in turn on one thread: the writer leads, and the two others
    // join its group while it yields.
    let (w, r, b) = tokio::join!(writer.commit(), reader.commit(), bystander.commit());
    assert_eq!((w, r, b), (Ok(()), Err(StoreError::NotCommitted), Ok(())));

    let after = store.commit_stats().unwrap();
    assert_eq!(after.groups - before.groups, 1, "one write transaction");
    assert_eq!(after.transactions - before.transactions, 2);
    assert_eq!(after.conflicts - before.conflicts, 1);
    let mut check = store.begin().await.unwrap();
    assert_eq!(
        check.get(b"shared").await.unwrap().as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(check.get(b"copy").await.unwrap(), None);
    assert_eq!(
        check.get(b"bystander").await.unwrap().as_deref(),
        Some(&b"here"[..])
    );
}

/// The parts of one child transaction: written together or not at all.
const PARTS: u32 = 3;

fn part_key(task: u32, n: u32, part: u32) -> Vec<u8> {
    format!("group/{task:02}/{n:06}/{part}").into_bytes()
}

/// The child's side: 16 writers commit transactions of three keys each,
/// as fast as they can, into the file named by `STINT_GROUP_CHILD`, and
/// say each one that is acknowledged (and, now and then, how many shared
/// a group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_child() {
    let Ok(path) = std::env::var("STINT_GROUP_CHILD") else {
        return; // run by the parent test only
    };
    let store = open_redb(std::path::Path::new(&path), StoreOptions::default()).unwrap();
    let mut writers = Vec::new();
    for task in 0..16 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                store
                    .run(|tx| {
                        Box::pin(async move {
                            for part in 0..PARTS {
                                tx.set(&part_key(task, n, part), &[part as u8; 2_048]);
                            }
                            Ok::<_, StoreError>(())
                        })
                    })
                    .await
                    .unwrap();
                println!("acked {task} {n}");
                if n % 50 == 0 {
                    let stats = store.commit_stats().unwrap();
                    println!("stats {} {}", stats.transactions, stats.groups);
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
}

/// SIGKILL in the middle of group commits loses only transactions that
/// were not acknowledged, and never part of one: after the crash, every
/// acknowledged transaction is in the file, and every transaction in the
/// file is whole.
#[tokio::test]
async fn a_crash_during_group_commits_loses_only_unacknowledged_transactions() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let path = dir.path().join(format!("crash-{round}.redb"));
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "group_commit_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("STINT_GROUP_CHILD", &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut acked = BTreeSet::new();
        let mut grouped = false;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // Killed at a different count of acknowledgements each round.
        let kill_at = 300 + round * 250;
        for line in lines.by_ref().map_while(Result::ok) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["acked", task, n] => {
                    acked.insert((task.parse::<u32>().unwrap(), n.parse::<u32>().unwrap()));
                }
                ["stats", transactions, groups] => {
                    grouped |= transactions.parse::<u64>().unwrap() > groups.parse().unwrap();
                }
                _ => {}
            }
            if acked.len() >= kill_at {
                child.kill().unwrap();
                break;
            }
        }
        // What the child said before it died counts too.
        for line in lines.map_while(Result::ok) {
            if let ["acked", task, n] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
                acked.insert((task.parse().unwrap(), n.parse().unwrap()));
            }
        }
        child.wait().unwrap();
        assert!(grouped, "the child's commits shared groups");

        let store = open_redb(&path, StoreOptions::default()).unwrap();
        let mut tx = store.begin().await.unwrap();
        let all = tx
            .get_all(b"group/", &stint_store::prefix_end(b"group/"))
            .await
            .unwrap();
        let mut found: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for (key, _) in &all {
            let key = std::str::from_utf8(key).unwrap();
            let parts: Vec<&str> = key.split('/').collect();
            *found
                .entry((parts[1].parse().unwrap(), parts[2].parse().unwrap()))
                .or_default() += 1;
        }
        let torn: Vec<_> = found.iter().filter(|(_, n)| **n != PARTS).collect();
        assert!(
            torn.is_empty(),
            "round {round}: transactions in part: {torn:?}"
        );
        let lost: Vec<_> = acked.iter().filter(|t| !found.contains_key(t)).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged and lost: {lost:?}"
        );
        println!(
            "round {round}: {} acknowledged, {} in the file",
            acked.len(),
            found.len()
        );
    }
}

/// The write sets kept for conflict checks are those after the oldest
/// snapshot in use: none pile up while no transaction runs, and a running
/// one keeps what committed after it began, and still conflicts with it.
#[tokio::test]
async fn commits_are_kept_for_conflict_checks_only_while_a_snapshot_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_redb(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
    let commit = async |n: u32| {
        let mut tx = store.begin().await.unwrap();
        tx.set(format!("k{n}").as_bytes(), b"v");
        tx.commit().await.unwrap();
    };
    for n in 0..1_000 {
        commit(n).await;
    }
    let kept = || store.commit_stats().unwrap().kept_for_checks;
    assert!(kept() <= 1, "{} kept with no transaction running", kept());

    let mut old = store.begin().await.unwrap();
    old.get(b"k5").await.unwrap();
    for n in 0..100 {
        commit(n).await;
    }
    assert!(
        kept() >= 100,
        "only {} kept for the running transaction",
        kept()
    );
    old.set(b"out", b"x");
    assert_eq!(old.commit().await, Err(StoreError::NotCommitted));
    commit(0).await;
    assert!(kept() <= 1, "{} kept once it ended", kept());
}
