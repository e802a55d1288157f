//! Devices signing in: the `stint` CLI and `stint-client` against a real
//! server on port 0.

use serde_json::{Value, json};
use stint_e2e::device::{ok_with_input as ok, stint_with_input as stint};
use stint_e2e::{Api, PASSWORD, Server};

#[tokio::test]
async fn register_login_whoami_logout_from_the_command_line() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    let device = tempfile::tempdir().unwrap();
    let dir = device.path();

    // A session started before any account moves into it at registration.
    let early = ok(
        dir,
        &[
            "session",
            "start",
            "--name",
            "Before login",
            "--workspace",
            "/w",
        ],
        "",
    );
    let early = early.trim();
    let password = format!("{PASSWORD}\n");
    let register = [
        "register",
        "--server",
        &server.url,
        "--email",
        "ada@example.com",
        "--password-stdin",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
    ];
    let out = stint(dir, &register, &password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("readable by you only"),
        "says where the login is kept: {stderr}"
    );
    let whoami: Value = serde_json::from_str(&ok(dir, &["whoami", "--json"], "")).unwrap();
    assert_eq!(whoami["user"]["email"], "ada@example.com");
    let session: Value =
        serde_json::from_str(&ok(dir, &["session", "show", early, "--json"], "")).unwrap();
    assert_eq!(
        session["tenant_id"], whoami["tenant"]["id"],
        "adopted into the account's tenant"
    );
    assert_eq!(session["user_id"], whoami["user"]["id"]);
    let status: Value = serde_json::from_str(&ok(dir, &["status", "--json"], "")).unwrap();
    assert_eq!(status["signed_in_as"], "ada@example.com");
    assert_eq!(status["sessions"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Logout revokes on the server: the stored refresh token is dead there.
    let stored: Value =
        serde_json::from_slice(&std::fs::read(dir.join("credentials.json")).unwrap()).unwrap();
    assert_eq!(ok(dir, &["logout"], "").trim(), "signed out");
    let api = Api::new(&server.url);
    assert_eq!(
        api.post(
            "/auth/refresh",
            json!({"refresh_token": stored["refresh_token"]})
        )
        .await
        .0,
        401
    );
    let out = stint(dir, &["whoami"], "");
    assert_eq!(out.status.code(), Some(6));

    // Wrong password: exit 6, nothing stored. Right one: signed in again.
    let out = stint(
        dir,
        &[
            "login",
            "--server",
            &server.url,
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        "wrong password\n",
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("email or the password is wrong"));
    assert!(!dir.join("credentials.json").exists());
    ok(
        dir,
        &[
            "login",
            "--server",
            &server.url,
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        &password,
    );

    // Server down: exit 7 with a clear message.
    let url = server.url.clone();
    assert!(server.stop().await.unwrap().success());
    let other = tempfile::tempdir().unwrap();
    let out = stint(
        other.path(),
        &[
            "login",
            "--server",
            &url,
            "--email",
            "a@b.io",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
    let out = stint(
        other.path(),
        &[
            "login",
            "--server",
            "not a url",
            "--email",
            "a@b.io",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(out.status.code(), Some(4));
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_rotated_token_saved() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    Api::new(&server.url).register("ada@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let device = stint_client::Device::open(dir.path()).unwrap();
    device
        .login(&server.url, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let read_refresh = || {
        let stored: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("credentials.json")).unwrap())
                .unwrap();
        stored["refresh_token"].as_str().unwrap().to_owned()
    };
    let before = read_refresh();
    let first = device.access_token().await.unwrap();
    assert_eq!(read_refresh(), before, "a fresh token is reused");

    device.expire_access_token().unwrap();
    let renewed = device.access_token().await.unwrap();
    assert_ne!(renewed, first);
    let after = read_refresh();
    assert_ne!(after, before, "the rotated refresh token is saved");
    let api = Api::new(&server.url).with_token(&renewed);
    assert_eq!(api.get("/users/me").await.0, 200);

    // A new process reads the saved tokens and keeps going.
    drop(device);
    let device = stint_client::Device::open(dir.path()).unwrap();
    device.expire_access_token().unwrap();
    assert!(device.access_token().await.is_ok());
}
