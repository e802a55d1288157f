//! Sync between devices through a real `stint-server` on port 0: devices
//! are `stint` processes (or, for the many random runs, `stint-client`
//! devices in this process), each with its own data directory.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use stint_client::{Change, ClientError, Device, NewSession, SessionFilter};
use stint_e2e::device::{json, login, ok, stint};
use stint_e2e::{Api, PASSWORD, Server};

async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    (server, dir)
}

/// Every session of a device, whole, by id.
fn sessions(dir: &Path) -> Vec<Value> {
    let mut all = json(dir, &["session", "list", "--all", "--limit", "0", "--json"]);
    let all = all.as_array_mut().unwrap();
    all.sort_by_key(|s| s["id"].as_str().unwrap().to_owned());
    all.clone()
}

fn sync(dir: &Path) -> Value {
    json(dir, &["sync", "--json"])
}

#[tokio::test]
async fn offline_edits_reach_another_device() {
    let (server, _server_dir) = server().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());

    // Device A works before it has an account, and offline after.
    let first = ok(
        a,
        &[
            "session",
            "start",
            "--name",
            "before login",
            "--workspace",
            "/w",
        ],
    );
    login(a, &server.url, "ada@example.com", true);
    let second = ok(
        a,
        &[
            "session",
            "start",
            "--name",
            "offline",
            "--workspace",
            "/w2",
            "--tag",
            "t",
        ],
    );
    ok(a, &["session", "note", second.trim(), "a fact"]);
    ok(a, &["session", "update", first.trim(), "--name", "renamed"]);
    let fork = ok(a, &["session", "fork", second.trim(), "--name", "a fork"]);
    let gone = ok(
        a,
        &[
            "session",
            "start",
            "--name",
            "short-lived",
            "--workspace",
            "/w",
        ],
    );
    ok(a, &["session", "delete", gone.trim()]);
    let status = json(a, &["status", "--json"]);
    assert!(status["sync"]["pending"].as_u64().unwrap() >= 6, "{status}");

    let report = sync(a);
    assert_eq!(report["set_aside"], 0, "{report}");
    assert_eq!(report["pulled"], 0, "A is not sent back its own: {report}");
    assert_eq!(json(a, &["status", "--json"])["sync"]["pending"], 0);

    login(b, &server.url, "ada@example.com", false);
    let report = sync(b);
    assert_eq!(
        report["pulled"], 4,
        "three live sessions and one tombstone: {report}"
    );
    assert_eq!(sessions(a), sessions(b));
    let on_b = sessions(b);
    let names: BTreeSet<&str> = on_b.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["renamed", "offline", "a fork"]));
    let forked = on_b.iter().find(|s| s["id"] == fork.trim()).unwrap();
    assert_eq!(forked["parent_session_id"], second.trim());

    // An edit on B comes back to A; a round with nothing to do does nothing.
    ok(b, &["session", "tag", second.trim(), "from-b"]);
    sync(b);
    let report = sync(a);
    assert_eq!(
        (report["pushed"].as_u64(), report["pulled"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(sessions(a), sessions(b));
    let idle = sync(a);
    assert_eq!(
        (idle["pushed"].as_u64(), idle["pulled"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn rest_writes_reach_devices_and_device_edits_reach_the_api() {
    let (server, _server_dir) = server().await;
    let device = tempfile::tempdir().unwrap();
    let a = device.path();
    login(a, &server.url, "ada@example.com", true);
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;

    // Made, changed and deleted through the REST API: the device pulls
    // each as the API left it.
    let (status, made) = ada
        .post(
            "/sessions",
            json!({"name": "from the API", "workspace_path": "/api"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, gone) = ada
        .post(
            "/sessions",
            json!({"name": "short-lived", "workspace_path": "/api"}),
        )
        .await;
    let id = made["id"].as_str().unwrap();
    let (status, changed) = ada
        .put(&format!("/sessions/{id}"), json!({"tags": ["rest"]}))
        .await;
    assert_eq!(status, 200, "{changed}");
    let gone = gone["id"].as_str().unwrap();
    assert_eq!(ada.delete(&format!("/sessions/{gone}")).await.0, 204);
    let report = sync(a);
    assert_eq!(report["pulled"], 2, "one live, one tombstone: {report}");
    let on_a = sessions(a);
    assert_eq!(on_a.len(), 1, "{on_a:?}");
    assert_eq!(on_a[0], changed, "the device holds what the API answered");

    // And back: the device's edit is what the API reads.
    ok(
        a,
        &["session", "update", id, "--name", "renamed on the device"],
    );
    assert_eq!(sync(a)["pushed"], 1);
    let (_, read) = ada.get(&format!("/sessions/{id}")).await;
    assert_eq!(read["name"], "renamed on the device");
    assert_eq!(read["tags"], json!(["rest"]));
}

#[tokio::test]
async fn concurrent_edits_merge_or_conflict_and_devices_converge() {
    let (server, _server_dir) = server().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    let id = ok(
        a,
        &["session", "start", "--name", "shared", "--workspace", "/w"],
    );
    let id = id.trim();
    sync(a);
    sync(b);

    // Offline on both: different fields merge; the same field collides.
    ok(a, &["session", "update", id, "--name", "named on A"]);
    ok(b, &["session", "update", id, "--cwd", "/w/src"]);
    ok(b, &["session", "update", id, "--name", "named on B"]);
    sync(a);
    let report = sync(b);
    assert_eq!(report["conflicts"], 1, "{report}");
    sync(a);
    assert_eq!(sessions(a), sessions(b), "both devices end identical");
    let merged = &sessions(a)[0];
    assert_eq!(
        merged["name"], "named on A",
        "the first edit to arrive wins"
    );
    assert_eq!(
        merged["terminal_state"]["cwd"], "/w/src",
        "the other field merged"
    );

    let conflicts = json(a, &["conflicts", "--json"]);
    assert_eq!(conflicts, json(b, &["conflicts", "--json"]));
    let conflicts = conflicts.as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["record_id"], id);
    assert_eq!(conflicts[0]["fields"], json!({"name": "named on B"}));
    assert!(ok(a, &["status"]).contains("1 conflicts"));

    // B's user takes B's value; every device follows, the conflict closes.
    let conflict = conflicts[0]["id"].as_str().unwrap();
    ok(b, &["conflicts", "resolve", &conflict[..13], "--mine"]);
    sync(b);
    sync(a);
    assert_eq!(sessions(a), sessions(b));
    assert_eq!(sessions(a)[0]["name"], "named on B");
    assert_eq!(json(a, &["conflicts", "--json"]), json!([]));
    assert_eq!(json(b, &["conflicts", "--json"]), json!([]));
}

#[tokio::test]
async fn sync_needs_a_login_and_a_reachable_server() {
    let (server, _server_dir) = server().await;
    let a = tempfile::tempdir().unwrap();
    let a = a.path();
    assert_eq!(stint(a, &["sync"]).status.code(), Some(6), "not signed in");
    login(a, &server.url, "ada@example.com", true);
    ok(
        a,
        &["session", "start", "--name", "waits", "--workspace", "/w"],
    );
    server.stop().await.unwrap();
    let out = stint(a, &["sync"]);
    assert_eq!(out.status.code(), Some(7), "unreachable");
    assert_eq!(
        json(a, &["status", "--json"])["sync"]["pending"],
        1,
        "nothing lost"
    );
}

// ---- the protocol itself, over HTTP -------------------------------------

fn session_fields(name: &str) -> Value {
    json!({
        "user_id": "00000000-0000-7000-8000-000000000000",
        "name": name,
        "workspace_path": "/w",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "last_accessed_at": "2026-01-01T00:00:00Z",
    })
}

fn mutation(number: u64, id: &str, name: &str) -> Value {
    json!({"number": number, "kind": "workspace_session", "id": id, "base_rev": 0,
           "fields": session_fields(name)})
}

fn record_id(n: u64) -> String {
    format!("01a20000-0000-7000-8000-{n:012x}")
}

/// Pulls everything with pages of `limit`; returns the ids and the pages.
async fn pull_all(api: &Api, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/sync/pull?limit={limit}&cursor={c}"),
            None => format!("/sync/pull?limit={limit}"),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for change in page["changes"].as_array().unwrap() {
            ids.push(change["id"].as_str().unwrap().to_owned());
        }
        if !page["cursor"].as_str().unwrap().is_empty() {
            cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        }
        if !page["more"].as_bool().unwrap() {
            return (ids, pages);
        }
        assert!(pages < 100, "pagination never ends");
    }
}

#[tokio::test]
async fn pages_at_the_boundaries() {
    let (server, _server_dir) = server().await;
    let api = Api::new(&server.url);
    const LIMIT: usize = 5;
    let mut next = 1;
    for (n, total) in [0usize, 1, 4, 5, 6, 10, 11].into_iter().enumerate() {
        let (user, _) = api.register(&format!("pages{n}@example.com")).await;
        let mutations: Vec<Value> = (0..total)
            .map(|i| {
                next += 1;
                mutation(i as u64 + 1, &record_id(next), &format!("s{i}"))
            })
            .collect();
        let expected: Vec<String> = mutations
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        if total > 0 {
            let batches: Vec<&[Value]> = mutations.chunks(3).collect();
            let (status, answer) = user.post("/sync/push", json!({"batches": batches})).await;
            assert_eq!(status, 200, "{answer}");
        }
        let (ids, pages) = pull_all(&user, LIMIT).await;
        assert_eq!(ids, expected, "{total} records: each once, in commit order");
        let full_pages = total.div_ceil(LIMIT).max(1);
        assert!(
            pages == full_pages || pages == full_pages + 1,
            "{total} records in {pages} pages of {LIMIT}"
        );
    }
}

#[tokio::test]
async fn a_retried_push_applies_once_and_tenants_stay_apart() {
    let (server, _server_dir) = server().await;
    let api = Api::new(&server.url);
    let (ada, _) = api.register("ada@example.com").await;
    let (bob, _) = api.register("bob@example.com").await;
    // Two batches: two transactions, one answer.
    let push = json!({"batches": [
        [mutation(1, &record_id(1), "first")],
        [{"number": 2, "kind": "workspace_session", "id": record_id(1), "base_rev": 1,
          "fields": {"name": "renamed"}}],
    ]});
    let (status, first) = ada.post("/sync/push", push.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["results"][1]["outcome"],
        json!({"status": "applied", "rev": 2})
    );
    // The answer was lost; the device pushes the same batch again and gets
    // the same answer, applied once.
    let (_, again) = ada.post("/sync/push", push.clone()).await;
    assert_eq!(again, first);
    let (_, page) = ada.get("/sync/pull").await;
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0]["rev"], 2,
        "applied once: two revisions, not four"
    );
    assert_eq!(changes[0]["body"]["name"], "renamed");

    // Bob sees nothing of Ada's, and his push of the same id lands in his
    // own tenant, leaving hers alone.
    let (_, page) = bob.get("/sync/pull").await;
    assert_eq!(page["changes"], json!([]));
    let (_, answer) = bob
        .post(
            "/sync/push",
            json!({"batches": [[mutation(1, &record_id(1), "bob's")]]}),
        )
        .await;
    assert_eq!(
        answer["results"][0]["outcome"],
        json!({"status": "applied", "rev": 1})
    );
    let (_, page) = bob.get("/sync/pull").await;
    assert_eq!(page["changes"][0]["body"]["name"], "bob's");
    let (_, page) = ada.get("/sync/pull").await;
    assert_eq!(page["changes"][0]["body"]["name"], "renamed");
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);

    // Refusals are per mutation, with a reason; the rest applies.
    let (_, answer) = ada
        .post("/sync/push", json!({"batches": [[
            {"number": 3, "kind": "workspace_session", "id": record_id(2), "base_rev": 0,
             "fields": {"name": "orphan fork", "workspace_path": "/w", "user_id": record_id(9),
                        "parent_session_id": record_id(404),
                        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                        "last_accessed_at": "2026-01-01T00:00:00Z"}},
            {"number": 4, "kind": "user", "id": record_id(3), "base_rev": 0, "fields": {}},
        ], [
            mutation(5, &record_id(4), ""),
            mutation(6, &record_id(5), "fine"),
        ]]}))
        .await;
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["rejected", "rejected", "rejected", "applied"],
        "{answer}"
    );

    // Bad input is refused whole, and changes nothing.
    let (status, _) = ada.post("/sync/push", json!({})).await;
    assert_eq!(status, 422);
    let (a, b) = (
        mutation(8, &record_id(6), "a"),
        mutation(9, &record_id(7), "b"),
    );
    let too_big: Vec<Value> = (0..101)
        .map(|i| mutation(10 + i, &record_id(100 + i), "x"))
        .collect();
    let too_many: Vec<Vec<Value>> = (0..11).map(|_| vec![a.clone()]).collect();
    for (what, batches) in [
        ("numbers going down", json!([[b.clone(), a.clone()]])),
        (
            "numbers going down across batches",
            json!([[b.clone()], [a.clone()]]),
        ),
        ("an empty batch", json!([[a.clone()], []])),
        ("a batch of 101", json!([too_big])),
        ("11 batches", json!(too_many)),
    ] {
        let (status, body) = ada.post("/sync/push", json!({"batches": batches})).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("batches")),
            "{what}: {body}"
        );
    }
    let (_, page) = ada.get("/sync/pull").await;
    let names: Vec<&str> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"]["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| ["a", "b", "x"].contains(n)),
        "refused pushes changed nothing: {names:?}"
    );
    for cursor in ["not-a-cursor", "AAAA", ""] {
        let (status, body) = ada.get(&format!("/sync/pull?cursor={cursor}")).await;
        assert_eq!(status, 400, "{cursor}: {body}");
    }
    let (status, _) = ada.get("/sync/pull?limit=0").await;
    assert_eq!(status, 422);
    // A cursor of another store (say, before a move to FoundationDB) starts over.
    let foreign = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 28])
    };
    let (status, body) = ada.get(&format!("/sync/pull?cursor={foreign}")).await;
    assert_eq!((status, body["code"].as_str()), (410, Some("refetch")));
}

// ---- many random interleavings ------------------------------------------

/// A small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_interleavings_converge_and_lose_nothing() {
    let (server, _server_dir) = server().await;
    // The runs meet every case: deletes, and deletes that lost to an edit.
    let (mut deleted, mut lost_deletes) = (0, 0);
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = Device::open(da.path()).unwrap();
        let b = Device::open(db.path()).unwrap();
        let email = format!("seed{seed}@example.com");
        let register = stint_model::api::RegisterRequest {
            email: email.clone(),
            password: PASSWORD.into(),
            first_name: "Seed".into(),
            last_name: seed.to_string(),
            device_id: None,
        };
        a.register(&server.url, &register).await.unwrap();
        b.login(&server.url, &email, PASSWORD).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..3 {
            let s = a
                .start_session(NewSession {
                    name: format!("s{n}"),
                    workspace: format!("/w{n}").into(),
                    tags: vec![],
                })
                .await
                .unwrap();
            ids.push(s.id.to_string());
        }
        a.sync().await.unwrap();
        b.sync().await.unwrap();

        let mut tags_added = Vec::new();
        // Each delete, with the tags its device saw: what it chose to drop.
        let mut deletes: Vec<(String, Vec<String>)> = Vec::new();
        for step in 0..40 {
            let device = if rng.below(2) == 0 { &a } else { &b };
            let id = &ids[rng.below(ids.len())];
            let (change, tag) = match rng.below(10) {
                0 | 1 => (Change::Name(format!("name {seed}.{step}")), None),
                2 | 3 => {
                    let tag = format!("t{seed}-{step}");
                    (Change::AddTag(tag.clone()), Some(tag))
                }
                4 | 5 => (Change::Fact(format!("fact {step}")), None),
                6 => (Change::Cwd(format!("/w/{step}")), None),
                7 => {
                    match device.find_session(id).await {
                        Ok(seen) => {
                            device.delete_session(id).await.unwrap();
                            deletes.push((id.clone(), seen.tags));
                        }
                        Err(ClientError::NotFound(_)) => {}
                        Err(e) => panic!("seed {seed}: {e}"),
                    }
                    continue;
                }
                _ => {
                    device.sync().await.unwrap();
                    continue;
                }
            };
            match device.update_session(id, vec![change]).await {
                Ok(_) => tags_added.extend(tag.map(|t| (id.clone(), t))),
                // Deleted on this device.
                Err(ClientError::NotFound(_)) => {}
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        for _ in 0..6 {
            let (ra, rb) = (a.sync().await.unwrap(), b.sync().await.unwrap());
            if ra.pushed + ra.pulled + rb.pushed + rb.pulled == 0 {
                break;
            }
        }
        let all = SessionFilter {
            include_archived: true,
            ..SessionFilter::default()
        };
        let on_a = a.list_sessions(&all).await.unwrap();
        assert_eq!(on_a, b.list_sessions(&all).await.unwrap(), "seed {seed}");
        let conflicts = a.conflicts().await.unwrap();
        assert_eq!(conflicts, b.conflicts().await.unwrap(), "seed {seed}");
        // Every tag anyone added is on its session or kept in a conflict
        // (which a delete of the session leaves open); or its session is
        // gone, deleted by a device that saw the tag, or the edit was
        // refused (the record deleted first) and is kept aside on its
        // device.
        deleted += deletes.len();
        lost_deletes += conflicts.iter().filter(|c| c.deleted).count();
        let mut set_aside = a.set_aside().await.unwrap();
        set_aside.extend(b.set_aside().await.unwrap());
        for (id, tag) in tags_added {
            let has = |tags: &Value| tags.as_array().is_some_and(|t| t.contains(&json!(tag)));
            let in_conflict = conflicts
                .iter()
                .any(|c| c.record_id.to_string() == id && c.fields.get("tags").is_some_and(has));
            let kept = in_conflict
                || match on_a.iter().find(|s| s.id.to_string() == id) {
                    Some(session) => session.tags.contains(&tag),
                    None => {
                        deletes
                            .iter()
                            .any(|(gone, seen)| *gone == id && seen.contains(&tag))
                            || set_aside.iter().any(|x| {
                                x.mutation.id.to_string() == id
                                    && x.mutation.fields.get("tags").is_some_and(has)
                            })
                    }
                };
            assert!(kept, "seed {seed}: tag {tag} of {id} was lost");
        }
    }
    assert!(
        deleted > 0 && lost_deletes > 0,
        "{deleted} deletes, {lost_deletes} lost"
    );
}

// ---- crashes and the live channel ---------------------------------------

/// A fresh server with Ada's account, her device A holding sessions made
/// offline, and the data directory of her device B, empty.
struct Bulk {
    server: Server,
    _server_dir: tempfile::TempDir,
    ada: Api,
    a: tempfile::TempDir,
    b: tempfile::TempDir,
}

/// [`Bulk`] with `n` sessions on A (made in this process, quickly).
async fn bulk(n: usize) -> Bulk {
    let (server, _server_dir) = server().await;
    let (ada, _) = Api::new(&server.url).register("ada@example.com").await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = Device::open(a.path()).unwrap();
    device
        .login(&server.url, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    for i in 0..n {
        device
            .start_session(NewSession {
                name: format!("bulk {i}"),
                workspace: "/bulk".into(),
                tags: vec![],
            })
            .await
            .unwrap();
    }
    Bulk {
        server,
        _server_dir,
        ada,
        a,
        b,
    }
}

/// Syncs A to the end; then the server holds its `n` sessions, each
/// applied once.
async fn finish_push(a: &Path, ada: &Api, n: usize) {
    sync(a);
    assert_eq!(json(a, &["status", "--json"])["sync"]["pending"], 0);
    assert_each_applied_once(ada, n).await;
}

fn spawn_sync(dir: &Path) -> std::process::Child {
    std::process::Command::new(stint_e2e::binary("stint"))
        .args(["sync"])
        .env("STINT_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the server lets `api` pull at least one change.
async fn wait_for_a_change(api: &Api) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, page) = api.get("/sync/pull?limit=1").await;
        if page["changes"].as_array().is_some_and(|c| !c.is_empty()) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "nothing was pushed");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// On the server: `n` sessions, each applied once (revision 1).
async fn assert_each_applied_once(api: &Api, n: usize) {
    let revs: Vec<u64> = api
        .pull_everything()
        .await
        .iter()
        .map(|c| c["rev"].as_u64().unwrap())
        .collect();
    assert_eq!(revs.len(), n);
    assert!(revs.iter().all(|r| *r == 1), "a retried push applied twice");
}

/// `kill -9` of the server while a device pushes: between a batch's commit
/// and the push's answer, or between the batches of a push (deferred, not
/// yet durable). Once the server is back, the device's retry applies each
/// edit once and loses none, and another device gets exactly them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_server_mid_push_applies_each_edit_once() {
    const N: usize = 1_500;
    let Bulk {
        mut server,
        _server_dir,
        ada,
        a,
        b,
    } = bulk(N).await;
    let (a, b) = (a.path(), b.path());

    // The first push (five batches of 100) is durable once it can be
    // pulled; the crash then lands in the next one.
    let mut pushing = spawn_sync(a);
    wait_for_a_change(&ada).await;
    server.crash_and_restart().await.unwrap();
    let round = pushing.wait().unwrap();
    assert!(!round.success(), "the crash came after the round");
    finish_push(a, &ada, N).await;

    login(b, &server.url, "ada@example.com", false);
    sync(b);
    assert_eq!(sessions(b), sessions(a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_sync_loses_and_repeats_nothing() {
    const N: usize = 1_500;
    let Bulk {
        server,
        _server_dir,
        ada,
        a,
        b,
    } = bulk(N).await;
    let (a, b) = (a.path(), b.path());

    // Kill A as soon as its first batch reached the server: between the
    // server's commit and A settling its outbox, or mid-stream.
    let mut pushing = spawn_sync(a);
    wait_for_a_change(&ada).await;
    pushing.kill().unwrap();
    pushing.wait().unwrap();
    finish_push(a, &ada, N).await;

    // Kill B while it pulls (its replica grows), then let it finish.
    login(b, &server.url, "ada@example.com", false);
    let replica = b.join("replica");
    let size = || {
        std::fs::read_dir(&replica)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum::<u64>()
            })
            .unwrap_or(0)
    };
    let before = size();
    let mut pulling = spawn_sync(b);
    while size() == before && pulling.try_wait().unwrap().is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    pulling.kill().unwrap();
    pulling.wait().unwrap();
    sync(b);
    let on_b = sessions(b);
    assert_eq!(on_b.len(), N);
    assert_eq!(on_b, sessions(a));
}

#[tokio::test]
async fn with_the_agent_running_an_edit_arrives_by_itself() {
    let (server, _server_dir) = server().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    let id = ok(
        a,
        &["session", "start", "--name", "live", "--workspace", "/w"],
    );
    let id = id.trim().to_owned();
    sync(a);
    let agent = stint_e2e::device::Agent::start(b);
    // The agent syncs at once: the session arrives without a command on B.
    let arrived = |name: &str| {
        let out = stint(b, &["session", "show", &id, "--json"]);
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout).unwrap()["name"] == name
    };
    let wait_for = |name: &str| {
        let started = std::time::Instant::now();
        while !arrived(name) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "`{name}` never reached the device with the agent"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        started.elapsed()
    };
    wait_for("live");
    ok(a, &["session", "update", &id, "--name", "edited on A"]);
    sync(a);
    let took = wait_for("edited on A");
    eprintln!("an edit on A reached B's agent in {took:?}");
    // B's own edit goes out through its agent, unasked.
    ok(b, &["session", "tag", &id, "from-b"]);
    let started = std::time::Instant::now();
    loop {
        sync(a);
        let on_a = json(a, &["session", "show", &id, "--json"]);
        if on_a["tags"] == json!(["from-b"]) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "B's agent never pushed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    agent.stop();
}

/// Reads a live channel until it ends; `false` if it is still open after
/// `within`.
async fn ends_within(mut stream: reqwest::Response, within: std::time::Duration) -> bool {
    tokio::time::timeout(within, async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .is_ok()
}

async fn listen(server: &Server, token: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v5/sync/events", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

#[tokio::test]
async fn a_live_channel_ends_with_its_login_and_each_user_holds_few() {
    let (server, _server_dir) = server().await;
    let api = Api::new(&server.url);
    let (ada, tokens) = api.register("ada@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let (_, bob_tokens) = api.register("bob@example.com").await;
    let bob = bob_tokens["access_token"].as_str().unwrap();

    // Signed out: the channel closes (its token would still verify).
    let stream = listen(&server, token).await;
    assert_eq!(ada.post("/auth/logout", json!({})).await.0, 204);
    assert!(ends_within(stream, std::time::Duration::from_secs(15)).await);

    // Removed from an organization: its channel there closes too.
    let (ada, _) = api.login("ada@example.com", PASSWORD).await;
    let (org, ada_in_org) = ada.organization("Engines").await;
    let (status, member) = ada_in_org
        .post(
            &format!("/tenants/{org}/members"),
            json!({"email": "bob@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let (_, switched) = api
        .with_token(bob)
        .post("/auth/switch-tenant", json!({"tenant_id": org}))
        .await;
    let stream = listen(&server, switched["access_token"].as_str().unwrap()).await;
    let bob_id = member["user"]["id"].as_str().unwrap();
    let (status, _) = ada_in_org
        .delete(&format!("/tenants/{org}/members/{bob_id}"))
        .await;
    assert_eq!(status, 204);
    assert!(ends_within(stream, std::time::Duration::from_secs(15)).await);

    // Sixteen at once per user; the seventeenth waits for one to close.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(listen(&server, bob).await);
    }
    let (status, body) = api.with_token(bob).get("/sync/events").await;
    assert_eq!(status, 429, "{body}");
    // Another user is not counted with Bob.
    let (carol, _) = api.register("carol@example.com").await;
    assert_eq!(carol.get("/sync/events").await.0, 200);
    held.pop();
    let bob = api.with_token(bob);
    let freed = stint_e2e::eventually(std::time::Duration::from_secs(20), || async {
        bob.get("/sync/events").await.0 == 200
    })
    .await;
    assert!(freed, "a place came free");
}
