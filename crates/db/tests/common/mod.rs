//! Opening a `Db` on each embedded backend, in a temp dir, optionally in
//! "commit unknown" mode, and the macro that runs a check on all four.

use stint_db::Db;
use stint_store::{StoreOptions, open_redb, open_sled};
use tempfile::TempDir;

pub(crate) fn open(backend: &str, commit_unknown: bool) -> (Db, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        inject_commit_unknown: commit_unknown,
        ..StoreOptions::default()
    };
    let store = match backend {
        "sled" => open_sled(&dir.path().join("replica"), options),
        "redb" => open_redb(&dir.path().join("server.redb"), options),
        other => panic!("unknown backend {other}"),
    }
    .unwrap();
    (Db::new(store), dir)
}

/// Runs each named `async fn(&Db)` on sled and redb, each plainly and in
/// "commit unknown" mode (every write commits, reports 1021, and runs again).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        on_every_backend!(@mod sled_store, "sled", false, $($name),*);
        on_every_backend!(@mod redb_store, "redb", false, $($name),*);
        on_every_backend!(@mod sled_commit_unknown, "sled", true, $($name),*);
        on_every_backend!(@mod redb_commit_unknown, "redb", true, $($name),*);
    };
    (@mod $module:ident, $backend:literal, $inject:literal, $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (db, _dir) = $crate::common::open($backend, $inject);
                    super::$name(&db).await;
                }
            )*
        }
    };
}
