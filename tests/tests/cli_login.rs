//! Devices signing in: the `stint` CLI and `stint-client` against a real
//! server on port 0.

use serde_json::{Value, json};
use stint_e2e::device::{login, ok_with_input as ok, stint_with_input as stint};
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

#[tokio::test]
async fn tenants_listed_and_switched_from_the_command_line() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    // Bea owns an organization and adds Ada to it as a developer.
    let (bea, bea_tokens) = api.register("bea@example.com").await;
    let bea_home_tenant = bea_tokens["tenant"]["id"].as_str().unwrap().to_owned();
    let (org, bea_in_org) = bea.organization("Acme").await;
    let (_, ada) = api.register("ada@example.com").await;
    let personal = ada["tenant"]["id"].as_str().unwrap().to_owned();
    let (status, body) = bea_in_org
        .post(
            &format!("/tenants/{org}/members"),
            json!({"email": "ada@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let device = tempfile::tempdir().unwrap();
    let dir = device.path();
    login(dir, &server.url, "ada@example.com", false);
    let listed: Value = serde_json::from_str(&ok(dir, &["tenant", "list", "--json"], "")).unwrap();
    let mut rows: Vec<(String, String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenant"]["id"].as_str().unwrap().to_owned(),
                t["role"].as_str().unwrap().to_owned(),
                t["current"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    let mut expected = vec![
        (personal.clone(), "admin".to_owned(), true),
        (org.clone(), "developer".to_owned(), false),
    ];
    expected.sort();
    assert_eq!(rows, expected);
    let text = ok(dir, &["tenant", "list"], "");
    let current: Vec<&str> = text.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1, "{text}");
    assert!(current[0].contains(&personal), "{text}");

    // Switched by the start of the id: what is started now is Acme's.
    let out = ok(dir, &["tenant", "switch", &org[..13]], "");
    assert!(out.contains("now in tenant Acme"), "{out}");
    let whoami: Value = serde_json::from_str(&ok(dir, &["whoami", "--json"], "")).unwrap();
    assert_eq!(whoami["tenant"]["id"], org.as_str());
    assert_eq!(whoami["role"], "developer");
    let started = ok(
        dir,
        &[
            "session",
            "start",
            "--name",
            "Acme work",
            "--workspace",
            "/w",
        ],
        "",
    );
    let started = started.trim();
    let session: Value =
        serde_json::from_str(&ok(dir, &["session", "show", started, "--json"], "")).unwrap();
    assert_eq!(session["tenant_id"], org.as_str());

    // Back home: Acme's session is not among the personal tenant's.
    ok(dir, &["tenant", "switch", &personal, "--json"], "");
    let sessions: Value =
        serde_json::from_str(&ok(dir, &["session", "list", "--json"], "")).unwrap();
    assert_eq!(sessions, json!([]));

    // A tenant Ada does not belong to, or too little of an id: refused
    // (exit 3, as for any id that names nothing), nothing changes.
    for bad in ["ffffffff", &bea_home_tenant, "0", ""] {
        let out = stint(dir, &["tenant", "switch", bad], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "switch to {bad:?}: {stderr}");
        assert!(stderr.contains("no tenant"), "{stderr}");
    }
    // Ids made the same day share their first characters (UUIDv7).
    let out = stint(dir, &["tenant", "switch", &org[..4]], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("matches several tenants"), "{stderr}");
    let whoami: Value = serde_json::from_str(&ok(dir, &["whoami", "--json"], "")).unwrap();
    assert_eq!(whoami["tenant"]["id"], personal.as_str());
}

/// `stint register URL` on a terminal asks for everything else (the
/// password twice, the names optional); without a terminal it says what to
/// give instead of waiting for input. A mistyped repeat creates nothing.
#[tokio::test]
async fn register_asks_for_what_is_missing_on_a_terminal_only() {
    use stint_e2e::terminal::{Answer, on_terminal};
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let device = tempfile::tempdir().unwrap();
    let dir = device.path();
    let register = |again: &'static str| {
        let mut command = stint_e2e::device::command(dir);
        command.args(["register", &server.url]);
        // A prompt is complete once its colon is shown.
        let answer = move |prompt: &str| {
            let text = |t: &str| Some(Answer::Text(t.to_owned()));
            match prompt.strip_suffix(':')? {
                "Email" => text("ada@example.com"),
                p if p.starts_with("First name") => text("Ada"),
                p if p.starts_with("Last name") => text(""),
                "Password" => Some(Answer::Secret(PASSWORD.to_owned())),
                "Password again" => Some(Answer::Secret(again.to_owned())),
                _ => None,
            }
        };
        on_terminal(command, answer, std::time::Duration::from_secs(30)).unwrap()
    };
    let can_sign_in = async || {
        api.post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .0 == 200
    };

    let typo = register("not the same");
    assert_eq!(typo.status.code(), Some(1), "{}", typo.screen);
    assert!(typo.screen.contains("differ"), "{}", typo.screen);
    assert!(!can_sign_in().await, "nothing was created");

    let typed = register(PASSWORD);
    assert!(typed.status.success(), "{}", typed.screen);
    for prompt in [
        "Email:",
        "First name (Enter to leave it empty):",
        "Last name",
        "Password again:",
    ] {
        assert!(
            typed.screen.contains(prompt),
            "asks {prompt}: {}",
            typed.screen
        );
    }
    assert!(
        !typed.screen.contains(PASSWORD),
        "the password is not echoed: {}",
        typed.screen
    );
    let (_, tokens) = api
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(tokens["user"]["first_name"], "Ada");
    assert_eq!(tokens["user"]["last_name"], "");
    let whoami: Value = serde_json::from_str(&ok(dir, &["whoami", "--json"], "")).unwrap();
    assert_eq!(whoami["user"]["email"], "ada@example.com");

    // No terminal: each missing answer is named, nothing is asked.
    let other = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            vec!["register"],
            "no terminal to ask for it: give the server's URL (`stint register URL`)",
        ),
        (
            vec!["register", &server.url],
            "no terminal to ask for it: give --email",
        ),
        (
            vec!["register", &server.url, "--email", "bob@example.com"],
            "--password-stdin",
        ),
        (
            vec!["login", &server.url],
            "no terminal to ask for it: give --email",
        ),
        (
            vec!["register", &server.url, "--server", &server.url],
            "given twice",
        ),
    ] {
        let out = stint(other.path(), &args, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Given as flags (the server as an argument), the names may be left out.
    let out = stint(
        other.path(),
        &[
            "register",
            &server.url,
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
