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
