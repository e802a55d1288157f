//! The conformance suite on the sled backend.

stint_store::conformance_tests!(|dir, options| {
    stint_store::open_sled(&dir.join("replica"), options).expect("open sled")
});

/// sled's writes are visible before their flush ends (the writer lock goes
/// first): a reader waits for what it read to be durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_durable_when_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let store = stint_store::open_sled(&dir.path().join("replica"), Default::default()).unwrap();
    stint_store::conformance::reads_are_durable_when_they_return(&store).await;
}
