//! The conformance suite on the sled backend.

stint_store::conformance_tests!(|dir, options| {
    stint_store::open_sled(&dir.join("replica"), options).expect("open sled")
});
