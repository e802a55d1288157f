//! Bad input gets a clear error in the API's shape, `{code, message}`, and
//! changes nothing: oversized bodies, malformed JSON, wrong types, unknown
//! routes, methods and ids, slow requests. And the background jobs purge.

use std::time::Duration;

use serde_json::{Value, json};
use stint_e2e::{Api, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw(
    api: &Api,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: &str,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            api.url(path),
        )
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_requests_answer_clearly_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "4096"])
        .await
        .unwrap();
    let api = Api::new(&server.url);
    let (me, tokens) = api.register("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let json = Some("application/json");

    // `check(method, path, content type, body, status, code)`
    let check =
        async |method: &str, path: &str, ct: Option<&str>, body: &[u8], status: u16, code: &str| {
            let (got, answer) = raw(&api, method, path, ct, body.to_vec(), token).await;
            assert_eq!(got, status, "{method} {path}: {answer}");
            assert_eq!(answer["code"], code, "{method} {path}: {answer}");
            assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
            answer
        };
    let big =
        serde_json::to_vec(&json!({"name": "x".repeat(5000), "workspace_path": "/w"})).unwrap();
    check("POST", "/sessions", json, &big, 413, "payload_too_large").await;
    check(
        "POST",
        "/sessions",
        json,
        b"{\"name\": ",
        400,
        "bad_request",
    )
    .await;
    check(
        "POST",
        "/sessions",
        json,
        br#"{"name": "a",, }"#,
        400,
        "bad_request",
    )
    .await;
    check(
        "POST",
        "/sessions",
        None,
        br#"{"name": "a", "workspace_path": "/w"}"#,
        415,
        "bad_request",
    )
    .await;
    check(
        "POST",
        "/sessions",
        Some("text/plain"),
        br#"{"name": "a", "workspace_path": "/w"}"#,
        415,
        "bad_request",
    )
    .await;
    let typed = check(
        "POST",
        "/sessions",
        json,
        br#"{"name": 5, "workspace_path": "/w"}"#,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(typed["field"], "name");
    let missing = check(
        "POST",
        "/sessions",
        json,
        br#"{"name": "a"}"#,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(missing["field"], "workspace_path");
    let invalid = check(
        "POST",
        "/sessions",
        json,
        br#"{"name": "a", "workspace_path": "relative"}"#,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid["field"], "workspace_path");
    check("GET", "/no/such/route", None, b"", 404, "not_found").await;
    check("DELETE", "/sessions/recent", None, b"", 405, "bad_request").await;
    check("GET", "/sessions/not-a-uuid", None, b"", 404, "not_found").await;
    check(
        "GET",
        "/sessions/01a20000-0000-7000-8000-000000000000",
        None,
        b"",
        404,
        "not_found",
    )
    .await;
    check("GET", "/sessions?limit=many", None, b"", 400, "bad_request").await;
    check("GET", "/settings/colours", None, b"", 404, "not_found").await;

    // Nothing of the refused requests was stored.
    let (status, sessions) = me.get("/sessions").await;
    assert_eq!((status, sessions), (200, json!([])));

    // JSON under a content type with parameters is JSON all the same.
    let (status, created) = raw(
        &api,
        "POST",
        "/sessions",
        Some("application/json; charset=utf-8"),
        br#"{"name": "with charset", "workspace_path": "/w"}"#.to_vec(),
        token,
    )
    .await;
    assert!((200..300).contains(&status), "{status}: {created}");
    assert_eq!(created["name"], "with charset");
}

#[tokio::test]
async fn a_stalled_request_times_out_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--request-timeout-secs", "1"])
        .await
        .unwrap();
    let address = server.url.strip_prefix("http://").unwrap().to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Promise 100 bytes of body, send one, and stall.
    let head = format!(
        "POST /api/v5/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .expect("the server answers within the timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"timeout""#), "{answer}");
}

#[tokio::test]
async fn background_jobs_purge_old_audit_events_and_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--job-interval-secs",
        "1",
        "--audit-retention-days",
        "0",
        "--deleted-file-retention-days",
        "0",
    ];
    let server = Server::start_with(dir.path(), &args).await.unwrap();
    let api = Api::new(&server.url);
    let (me, _) = api.register("ada@example.com").await;
    let (_, session) = me
        .post("/sessions", json!({"name": "s", "workspace_path": "/w"}))
        .await;
    let (_, file) = me
        .put("/files", json!({"workspace_session_id": session["id"], "file_path": "a.rs", "file_size": 1, "mime_type": "text/plain"}))
        .await;
    let file_path = format!("/files/{}", file["id"].as_str().unwrap());
    assert_eq!(me.delete(&file_path).await.0, 200);
    let session_path = format!(
        "/sessions/{}/files?include_deleted=true",
        session["id"].as_str().unwrap()
    );

    // Retention 0: within a few rounds both are gone (polled, not slept on).
    let mut purged = false;
    for _ in 0..100 {
        let (_, registered) = me.get("/audit?event=user_registered").await;
        let (_, files) = me.get(&session_path).await;
        if registered == json!([]) && files == json!([]) {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(purged, "the jobs did not purge within 10 s");
    assert_eq!(me.get(&file_path).await.0, 404);
    // A live file record is kept.
    let (status, _) = me
        .put("/files", json!({"workspace_session_id": session["id"], "file_path": "b.rs", "file_size": 1, "mime_type": "text/plain"}))
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, files) = me.get(&session_path).await;
    assert_eq!(files.as_array().unwrap().len(), 1);
}

/// The background jobs give the store's free space back: a file grown by
/// sessions that are then deleted (and purged, with their audit events,
/// at retention 0) shrinks while the server runs, and nothing live is
/// lost.
#[tokio::test]
async fn background_jobs_compact_the_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--job-interval-secs",
        "1",
        "--audit-retention-days",
        "0",
        "--sync-tombstone-retention-days",
        "0",
        "--log",
        "stint_server=info",
    ];
    let server = Server::start_with(dir.path(), &args).await.unwrap();
    let file = dir.path().join("stint.redb");
    let size = || std::fs::metadata(&file).unwrap().len();
    let api = Api::new(&server.url);
    let (me, _) = api.register("ada@example.com").await;
    // 80 sessions of about 100 KB each.
    let files: Vec<String> = (0..200)
        .map(|i| format!("src/{i:03}/{}", "é".repeat(240)))
        .collect();
    let mut ids = Vec::new();
    for n in 0..80 {
        let (status, session) = me
            .post(
                "/sessions",
                json!({"name": format!("big {n}"), "workspace_path": "/w"}),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        let id = session["id"].as_str().unwrap().to_owned();
        let (status, body) = me
            .put(&format!("/sessions/{id}"), json!({"active_files": files}))
            .await;
        assert_eq!(status, 200, "{body}");
        ids.push(id);
    }
    let (_, kept) = me
        .post("/sessions", json!({"name": "kept", "workspace_path": "/w"}))
        .await;
    // All of it is live: no compaction can have taken it back yet.
    let grown = size();
    assert!(grown > 8_000_000, "the file only grew to {grown} bytes");
    for id in &ids {
        assert_eq!(me.delete(&format!("/sessions/{id}")).await.0, 204);
    }
    // Shrunk, and compacted (redb also trims a free end of the file by
    // itself, in its own time; and a compaction may also have run before
    // the deletes): wait for both.
    let log = || std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let shrunk = stint_e2e::eventually(Duration::from_secs(30), || async {
        size() * 2 < grown && log().contains("compacted the store")
    })
    .await;
    assert!(
        shrunk,
        "the file is {} bytes (it was {grown}); the log: {}",
        size(),
        log()
    );
    // The new file is as private as the old one.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the compacted file's mode");
    let (status, listed) = me.get("/sessions").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["kept"], "{kept}");
}

#[tokio::test]
async fn ready_reports_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let (status, ready) = api.get("/ready").await;
    assert_eq!(
        (status, ready["status"].as_str(), ready["store"].as_str()),
        (200, Some("ready"), Some("redb"))
    );
}

/// Text that has broken text handling before: a character across the
/// bytes a check slices (`U&ïx`), combining marks, right-to-left, the last
/// code point, emoji, NUL and controls, long multi-byte runs.
fn odd_texts() -> Vec<String> {
    vec![
        "U&ïx/app".into(),
        "ï".into(),
        "Cï\\app".into(),
        "/ünï/cødé".into(),
        "e\u{301}\u{301}\u{301}".into(),
        "\u{202e}ppa/\u{202d}".into(),
        "\u{10ffff}\u{fffd}".into(),
        "👩‍💻🏳️‍🌈".into(),
        "a\0b".into(),
        "\u{7}\u{1b}[31m".into(),
        "é".repeat(5_000),
        " ".into(),
        String::new(),
    ]
}

#[tokio::test]
async fn every_text_field_takes_any_unicode_without_a_server_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let (ada, _) = api.register("ada@example.com").await;
    let (_, session) = ada
        .post("/sessions", json!({"name": "s", "workspace_path": "/w"}))
        .await;
    let sid = session["id"].as_str().unwrap().to_owned();
    let (_, conversation) = ada
        .post(
            "/conversations",
            json!({"title": "c", "workspace_session_id": sid}),
        )
        .await;
    let cid = conversation["id"].as_str().unwrap().to_owned();
    // Each request with one text field replaced by each odd text.
    let requests: Vec<(&str, String, Value, &str)> = vec![
        (
            "POST",
            "/sessions".into(),
            json!({"name": "n", "workspace_path": "/w"}),
            "name",
        ),
        (
            "POST",
            "/sessions".into(),
            json!({"name": "n", "workspace_path": "/w"}),
            "workspace_path",
        ),
        (
            "POST",
            "/sessions".into(),
            json!({"name": "n", "workspace_path": "/w", "tags": []}),
            "description",
        ),
        ("PUT", format!("/sessions/{sid}"), json!({}), "name"),
        (
            "PUT",
            format!("/sessions/{sid}"),
            json!({}),
            "workspace_path",
        ),
        (
            "POST",
            "/conversations".into(),
            json!({"title": "t"}),
            "title",
        ),
        (
            "POST",
            "/conversations".into(),
            json!({"title": "t"}),
            "ai_provider",
        ),
        (
            "POST",
            format!("/conversations/{cid}/messages"),
            json!({"role": "user", "content": "c"}),
            "content",
        ),
        (
            "POST",
            format!("/conversations/{cid}/messages"),
            json!({"role": "user", "content": "c"}),
            "model",
        ),
        ("PUT", "/users/me".into(), json!({}), "first_name"),
        ("PUT", "/users/me".into(), json!({}), "email"),
        (
            "POST",
            "/auth/login".into(),
            json!({"email": "ada@example.com", "password": "x"}),
            "email",
        ),
        (
            "POST",
            "/auth/register".into(),
            json!({"email": "z@example.com", "password": "correct horse", "first_name": "a", "last_name": "b"}),
            "first_name",
        ),
        (
            "POST",
            "/auth/register".into(),
            json!({"email": "z@example.com", "password": "correct horse", "first_name": "a", "last_name": "b"}),
            "email",
        ),
        ("POST", "/auth/refresh".into(), json!({}), "refresh_token"),
        ("POST", "/tenants".into(), json!({}), "name"),
    ];
    for (method, path, body, field) in &requests {
        for text in odd_texts() {
            let mut body = body.clone();
            body[*field] = json!(text);
            let (status, answer) = ada.call(method, path, Some(&body)).await;
            let shown: String = text.chars().take(20).collect();
            assert!(
                status < 500,
                "{method} {path} with {field} = {shown:?} ({} bytes): {status} {answer}",
                text.len()
            );
        }
    }
    // Query strings and path segments too.
    for text in odd_texts() {
        let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        for path in [
            format!("/sessions?tag={encoded}"),
            format!("/sessions?workspace={encoded}"),
            format!("/workspaces/sessions?path={encoded}"),
            format!("/files/search?path={encoded}"),
            format!("/sessions/{encoded}"),
            format!("/settings/{encoded}"),
            format!("/settings/{encoded}/{encoded}"),
        ] {
            let (status, answer) = ada.get(&path).await;
            assert!(status < 500, "GET {path}: {status} {answer}");
        }
    }
    assert_eq!(api.get("/health").await.0, 200, "the server is still up");
}
