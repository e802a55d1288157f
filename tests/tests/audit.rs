//! The audit trail is written with the writes it tells of: a write and its
//! event commit in one transaction, so no committed write lacks its event,
//! not even across a crash, and no refused write leaves one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use stint_e2e::{Api, Server, eventually};

/// The events of one type, newest first (one page: at most 500).
async fn events(api: &Api, event: &str) -> Vec<Value> {
    let (status, events) = api.get(&format!("/audit?event={event}&limit=500")).await;
    assert_eq!(status, 200, "{events}");
    events.as_array().unwrap().clone()
}

/// The ids the events of one type name under `field`.
async fn audited(api: &Api, event: &str, field: &str) -> Vec<String> {
    events(api, event)
        .await
        .iter()
        .map(|e| e["event_data"][field].as_str().unwrap().to_owned())
        .collect()
}

/// 16 clients create sessions as fast as they can; the server is killed
/// with SIGKILL in the middle and started again. Every session it holds
/// then has its one `session_created` event, and every event its session.
/// (Written in two commits, as before, a crash between them left sessions
/// without an event.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_committed_write_has_its_event_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_unthrottled(dir.path()).await.unwrap();
    let (ada, _) = Api::new(&server.url).register("ada@example.com").await;
    let created = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..16 {
        let (ada, created) = (ada.clone(), Arc::clone(&created));
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0.. {
                let body = json!({"name": format!("s{c}-{n}"), "workspace_path": "/w"});
                let Some((201, session)) = ada.try_post("/sessions", body).await else {
                    break; // the server is gone
                };
                acknowledged.push(session["id"].as_str().unwrap().to_owned());
                created.fetch_add(1, Ordering::Relaxed);
            }
            acknowledged
        }));
    }
    assert!(
        eventually(Duration::from_secs(60), || async {
            created.load(Ordering::Relaxed) >= 100
        })
        .await,
        "100 sessions were not created in a minute"
    );
    server.crash_and_restart().await.unwrap();
    let mut acknowledged = Vec::new();
    for c in clients {
        acknowledged.extend(c.await.unwrap());
    }

    // Restarted on the same address: the same client and token go on.
    let (status, sessions) = ada.get("/sessions?limit=500").await;
    assert_eq!(status, 200, "{sessions}");
    let held: BTreeSet<String> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    // The lists below are one page of 500: the crash must come before.
    assert!(
        held.len() < 500,
        "{} sessions: more than a page",
        held.len()
    );
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !held.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged sessions were lost: {lost:?}");
    let events = audited(&ada, "session_created", "session_id").await;
    let told: BTreeSet<String> = events.iter().cloned().collect();
    assert_eq!(events.len(), told.len(), "one event per session");
    let without_event: Vec<_> = held.difference(&told).collect();
    let without_session: Vec<_> = told.difference(&held).collect();
    assert!(
        without_event.is_empty() && without_session.is_empty(),
        "sessions without their event: {without_event:?}; events without their session: {without_session:?}"
    );
}

/// Writes the store refuses record nothing; the same writes, allowed,
/// record exactly one event each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_records_no_event_and_a_committed_one_records_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let (ada, tokens) = api.register("ada@example.com").await;
    let ada_id = tokens["user"]["id"].as_str().unwrap().to_owned();
    api.register("bob@example.com").await;
    let (_, org) = ada.post("/tenants", json!({"name": "Engines"})).await;
    let org_id = org["tenant"]["id"].as_str().unwrap().to_owned();
    let ada_org = ada.switch_to(&org_id).await;

    let session_id = "0190a5f0-0000-7000-8000-000000000001";
    let members = format!("/tenants/{org_id}/members");
    let ada_member = format!("{members}/{ada_id}");
    // (what is asked, the status, the event it records, how many more)
    let cases: Vec<(&str, &str, Value, u16, &str, usize)> = vec![
        (
            "POST",
            "/sessions",
            json!({"id": session_id, "name": "one", "workspace_path": "/w"}),
            201,
            "session_created",
            1,
        ),
        // The same id again: the store refuses it (409).
        (
            "POST",
            "/sessions",
            json!({"id": session_id, "name": "two", "workspace_path": "/w"}),
            409,
            "session_created",
            0,
        ),
        (
            "POST",
            &members,
            json!({"email": "bob@example.com", "role": "viewer"}),
            201,
            "member_changed",
            1,
        ),
        // The last Admin demoted: refused inside the write's transaction.
        (
            "PUT",
            &ada_member,
            json!({"role": "viewer"}),
            409,
            "member_changed",
            0,
        ),
        ("DELETE", &ada_member, Value::Null, 409, "member_changed", 0),
    ];
    for (method, path, body, status, event, more) in cases {
        let caller = if path.starts_with("/tenants") {
            &ada_org
        } else {
            &ada
        };
        let before = count(caller, event).await;
        let body = (!body.is_null()).then_some(body);
        let (got, answer) = caller.call(method, path, body.as_ref()).await;
        assert_eq!(got, status, "{method} {path} {body:?}: {answer}");
        assert_eq!(
            count(caller, event).await - before,
            more,
            "{method} {path} {body:?}: {event} events"
        );
    }
}

async fn count(api: &Api, event: &str) -> usize {
    events(api, event).await.len()
}

/// A login stores the user's last login, its first token row and its
/// event in one transaction: all three are there after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_is_one_write_with_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let (ada, registered) = api.register("ada@example.com").await;
    assert_eq!(registered["user"]["last_login_at"], Value::Null);
    assert_eq!(count(&ada, "user_login").await, 0);
    let (again, tokens) = api.login("ada@example.com", stint_e2e::PASSWORD).await;
    assert!(tokens["user"]["last_login_at"].is_string(), "{tokens}");
    let (_, me) = again.get("/users/me").await;
    assert_eq!(me["last_login_at"], tokens["user"]["last_login_at"], "{me}");
    assert_eq!(count(&again, "user_login").await, 1);
}
