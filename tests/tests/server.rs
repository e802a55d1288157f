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
