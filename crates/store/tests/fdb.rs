//! The conformance suite on FoundationDB. Built only with `--features fdb`,
//! and it needs a cluster: `FDB_CLUSTER_FILE` must name one (and libfdb_c
//! be installed). Without them these tests fail loudly rather than pass.
#![cfg(feature = "fdb")]

stint_store::conformance_tests!(|_dir, options| {
    let cluster = std::env::var_os("FDB_CLUSTER_FILE").expect(
        "FDB_CLUSTER_FILE is not set: the FDB conformance tests need a FoundationDB cluster",
    );
    stint_store::open_fdb(Some(std::path::Path::new(&cluster)), options).expect("open fdb")
});
