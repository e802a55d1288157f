//! The sync server as a process: it starts on port 0, answers health, keeps
//! its data across a restart, and stops cleanly on SIGTERM.

use serde_json::Value;
use stint_e2e::{Server, binary};

#[tokio::test]
async fn health_answers_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await.unwrap();
    let health: Value = reqwest::get(server.at("/api/v5/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "redb");
    let store_id = health["store_id"].as_str().unwrap().to_owned();
    assert!(dir.path().join("stint.redb").exists());

    let status = server.stop().await.unwrap();
    assert!(
        status.success(),
        "SIGTERM must end the server cleanly: {status}"
    );

    let again = Server::start(dir.path()).await.unwrap();
    let health: Value = reqwest::get(again.at("/api/v5/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["store_id"],
        store_id.as_str(),
        "the restarted server found its data"
    );

    // A fresh directory is a fresh store.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Server::start(other_dir.path()).await.unwrap();
    let health: Value = reqwest::get(other.at("/api/v5/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(health["store_id"], store_id.as_str());
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await.unwrap();
    for path in ["/api/v5/nope", "/", "/api/v4/health"] {
        let response = reqwest::get(server.at(path)).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test]
async fn bad_configuration_is_refused_clearly() {
    let check = |args: &[&str], expected: &str| {
        let output = std::process::Command::new(binary("stint-server"))
            .args(args)
            .env(
                "STINT_DATA_DIR",
                std::env::temp_dir().join("stint-never-used"),
            )
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    check(&["--listen", "not-an-address"], "invalid socket address");
    check(&["--store", "postgres"], "possible values: redb, fdb");
    // The store's cache: a whole number of megabytes, at least 1.
    check(
        &["--store-cache-mb", "0", "--listen", "127.0.0.1:0"],
        "store_cache_mb must be at least 1",
    );
    check(
        &["--store-cache-mb=-1"],
        "invalid value '-1' for '--store-cache-mb",
    );
    check(&["--store-cache-mb", "lots"], "invalid digit");
    if !cfg!(feature = "fdb") {
        check(
            &["--store", "fdb", "--listen", "127.0.0.1:0"],
            "rebuild with `--features fdb`",
        );
    }
    // The data directory must be usable.
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();
    check(&["--data-dir", path, "--listen", "127.0.0.1:0"], "creating");
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let check = |when: &str| {
        assert_eq!(mode(&dir), 0o700, "{when}: the data directory");
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            // The test harness writes the server's log there itself.
            if entry.file_name() == "server.log" {
                continue;
            }
            assert_eq!(
                mode(&entry.path()),
                0o600,
                "{when}: {:?}",
                entry.file_name()
            );
        }
    };
    let server = Server::start(&dir).await.unwrap();
    assert!(dir.join("stint.redb").exists() && dir.join("token-keys.json").exists());
    check("a new data directory");
    server.stop().await.unwrap();

    // One made by an older server, or loosened by hand, is tightened.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("stint.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let server = Server::start(&dir).await.unwrap();
    check("after a restart");
    server.stop().await.unwrap();
}
