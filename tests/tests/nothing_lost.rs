//! Sync never loses an acknowledged edit, whatever a client sends: a real
//! `stint-server` on port 0, devices as `stint` processes over data
//! directories of their own, and a hostile member speaking raw HTTP.
//!
//! Each test here reproduces a loss found by probing the server from
//! outside, and fails without the fix it names.

use std::path::Path;

use serde_json::{Value, json};
use stint_client::Device;
use stint_e2e::device::{json, login, ok, stint, stint_with_input};
use stint_e2e::{Api, PASSWORD, Server};

async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    (server, dir)
}

fn sync(dir: &Path) -> Value {
    json(dir, &["sync", "--json"])
}

fn device_id(dir: &Path) -> String {
    json(dir, &["status", "--json"])["device_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn start(dir: &Path, name: &str) -> String {
    ok(
        dir,
        &["session", "start", "--name", name, "--workspace", "/w"],
    )
    .trim()
    .to_owned()
}

/// The names of the live sessions the server holds for `api`'s tenant.
async fn names_on_server(api: &Api) -> Vec<String> {
    let mut names: Vec<String> = api
        .pull_everything()
        .await
        .iter()
        .filter(|c| c["kind"] == "workspace_session" && !c["body"].is_null())
        .map(|c| c["body"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn names_on(dir: &Path) -> Vec<String> {
    let all = json(dir, &["session", "list", "--all", "--limit", "0", "--json"]);
    let mut names: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn another_member_cannot_push_as_my_device() {
    let (server, _server_dir) = server().await;
    let api = Api::new(&server.url);
    let (ada, _) = api.register("ada@example.com").await;
    let (bob, _) = api.register("bob@example.com").await;
    let (org, ada_in_org) = ada.organization("Analytical Engines").await;
    let (status, added) = ada_in_org
        .post(
            &format!("/tenants/{org}/members"),
            json!({"email": "bob@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let bob_in_org = bob.switch_to(&org).await;

    // Ada's laptop works in the organization.
    let laptop = tempfile::tempdir().unwrap();
    let a = laptop.path();
    login(a, &server.url, "ada@example.com", false);
    ok(a, &["tenant", "switch", &org]);
    start(a, "first");
    assert_eq!(sync(a)["pushed"], 1);
    let mine = device_id(a);

    // Bob read her device id in a pull (`updated_by`) and tries to be it:
    // signing in with it is refused, and so is a push naming it.
    let (status, body) = api
        .post(
            "/auth/login",
            json!({"email": "bob@example.com", "password": PASSWORD, "tenant_id": org, "device_id": mine}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let huge = json!({"batches": [[{
        "number": u64::MAX, "kind": "workspace_session",
        "id": "01a20000-0000-7000-8000-00000000beef", "base_rev": 0,
        "fields": {"user_id": "00000000-0000-7000-8000-000000000000", "name": "bob's",
                   "workspace_path": "/w", "created_at": "2026-01-01T00:00:00Z",
                   "updated_at": "2026-01-01T00:00:00Z", "last_accessed_at": "2026-01-01T00:00:00Z"}
    }]]});
    let mut as_ada = huge.clone();
    as_ada["device_id"] = json!(mine);
    let (status, body) = bob_in_org.post("/sync/push", as_ada).await;
    assert_eq!(status, 403, "{body}");
    // His own device's numbers are his own business.
    let (status, body) = bob_in_org.post("/sync/push", huge).await;
    assert_eq!(status, 200, "{body}");

    // Every edit Ada's laptop makes still arrives.
    start(a, "second");
    start(a, "third");
    let report = sync(a);
    assert_eq!(report["pushed"], 2, "{report}");
    assert_eq!(report["set_aside"], 0, "{report}");
    assert_eq!(
        names_on_server(&ada_in_org).await,
        sorted(&["bob's", "first", "second", "third"])
    );
}

#[tokio::test]
async fn two_copies_of_one_data_directory_both_sync_everything() {
    let (server, _server_dir) = server().await;
    let home = tempfile::tempdir().unwrap();
    let a = home.path().join("original");
    let b = home.path().join("copy");
    std::fs::create_dir(&a).unwrap();
    login(&a, &server.url, "ada@example.com", true);
    start(&a, "synced before the copy");
    sync(&a);
    start(&a, "pending at the copy");

    // The data directory goes to a second machine (or a backup comes back).
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&a)
        .arg(&b)
        .status()
        .unwrap();
    assert!(copied.success());

    // The copy is a device of its own, and says it must sign in again.
    assert_ne!(device_id(&a), device_id(&b));
    let out = stint(&b, &["sync"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("copy") && said.contains("login"), "{said}");
    login(&b, &server.url, "ada@example.com", false);

    start(&a, "after, on the original");
    start(&b, "after, on the copy");
    for _ in 0..2 {
        sync(&a);
        sync(&b);
    }
    let everything = sorted(&[
        "synced before the copy",
        "pending at the copy",
        "after, on the original",
        "after, on the copy",
    ]);
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(names_on_server(&ada).await, everything);
    assert_eq!(names_on(&a), everything);
    assert_eq!(names_on(&b), everything);
    for dir in [&a, &b] {
        let status = json(dir, &["status", "--json"]);
        assert_eq!(status["sync"]["pending"], 0, "{status}");
        assert_eq!(status["sync"]["set_aside"], 0, "{status}");
    }
}

#[tokio::test]
async fn a_deleted_replica_comes_back_whole() {
    let (server, _server_dir) = server().await;
    let device = tempfile::tempdir().unwrap();
    let a = device.path();
    login(a, &server.url, "ada@example.com", true);
    start(a, "one");
    start(a, "two");
    sync(a);
    let before = device_id(a);

    // The replica goes (damaged, say); device.json stays.
    std::fs::remove_dir_all(a.join("replica")).unwrap();
    assert_ne!(device_id(a), before, "a new replica is a new device");
    login(a, &server.url, "ada@example.com", false);
    start(a, "three");
    let report = sync(a);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(report["set_aside"], 0, "{report}");
    let all = sorted(&["one", "two", "three"]);
    assert_eq!(names_on(a), all);
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(names_on_server(&ada).await, all);
}

#[tokio::test]
async fn a_stale_delete_keeps_the_newer_edit_until_the_user_decides() {
    let (server, _server_dir) = server().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    let id = start(a, "shared");
    sync(a);
    sync(b);

    // B renames it; A, which has not heard of that, deletes it.
    ok(b, &["session", "update", &id, "--name", "renamed on B"]);
    sync(b);
    ok(a, &["session", "delete", &id]);
    let report = sync(a);
    assert_eq!(report["conflicts"], 1, "{report}");
    sync(b);

    // The edit survives on every device, and both see the same question.
    for dir in [a, b] {
        assert_eq!(names_on(dir), ["renamed on B"], "{}", dir.display());
    }
    let on_a = json(a, &["conflicts", "--json"]);
    let on_b = json(b, &["conflicts", "--json"]);
    assert_eq!(on_a, on_b);
    let conflicts = on_a.as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{on_a}");
    assert_eq!(conflicts[0]["deleted"], true, "{on_a}");
    assert_eq!(conflicts[0]["record_id"], id.as_str());

    // A takes its delete after all: gone everywhere, the question closed.
    let conflict = conflicts[0]["id"].as_str().unwrap();
    let said = ok(a, &["conflicts", "resolve", conflict, "--mine"]);
    assert!(said.contains("deleted the record"), "{said}");
    sync(a);
    sync(b);
    for dir in [a, b] {
        assert!(names_on(dir).is_empty(), "{}", dir.display());
        assert_eq!(json(dir, &["conflicts", "--json"]), json!([]));
    }

    // A delete based on the current revision simply deletes; so does one
    // after another device merely opened the session (its access time is
    // no edit to lose).
    let other = start(b, "current");
    sync(b);
    sync(a);
    ok(b, &["session", "resume", &other]);
    sync(b);
    ok(a, &["session", "delete", &other]);
    assert_eq!(sync(a)["conflicts"], 0);
    sync(b);
    assert!(names_on(b).is_empty());
    assert!(names_on(a).is_empty());
}

/// Content of `bytes` bytes, non-ASCII included.
fn content(bytes: usize, seed: usize) -> String {
    let mut text = format!("{seed} ünïcødé ");
    while text.len() < bytes {
        text.push('x');
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_near_every_size_limit_reach_a_fresh_device() {
    let (server, _server_dir) = server().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    login(a, &server.url, "ada@example.com", true);
    let session = start(a, "with a long conversation");
    sync(a);
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;
    let (status, conversation) = ada
        .post(
            "/conversations",
            json!({"title": "big", "workspace_session_id": session}),
        )
        .await;
    assert_eq!(status, 201, "{conversation}");
    let path = format!(
        "/conversations/{}/messages",
        conversation["id"].as_str().unwrap()
    );
    // Around a chunk (90,000), a store value (100,000), a pulled page
    // (1,000,000) and a message (1,000,000), then a dozen of 900 KB: more
    // than one local transaction of FoundationDB's 10 MB.
    let mut sizes = vec![89_990, 90_010, 99_990, 100_010, 999_000, 1_000_000];
    sizes.extend([900_000; 12]);
    for (n, &size) in sizes.iter().enumerate() {
        let (status, body) = ada
            .post(&path, json!({"role": "user", "content": content(size, n)}))
            .await;
        assert_eq!(status, 201, "{size} bytes: {body}");
    }

    login(b, &server.url, "ada@example.com", false);
    let report = sync(b);
    assert!(
        report["pulled"].as_u64().unwrap() > sizes.len() as u64,
        "{report}"
    );
    assert_eq!(sync(b)["pulled"], 0, "all of it came in the first round");
    let device = Device::open(b).unwrap();
    let conversations = device.conversations(&session).await.unwrap();
    let mut got: Vec<usize> = conversations[0]
        .messages
        .messages
        .iter()
        .map(|m| m.content.len())
        .collect();
    let mut want = sizes.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
}

fn orphan_message(number: u64, padding: &str) -> Value {
    json!({"number": number, "kind": "message",
           "id": format!("01a20000-0000-7000-8000-{number:012x}"), "base_rev": 0,
           "fields": {"conversation_id": "01a20000-0000-7000-8000-00000000dead",
                      "role": "user", "content": format!("lost {padding}"),
                      "created_at": "2026-01-01T00:00:00Z"}})
}

fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_push_is_answered_and_a_refusal_stays_a_refusal() {
    let (server, _server_dir) = server().await;
    let (ada, _) = Api::new(&server.url).register("ada@example.com").await;

    // A thousand edits the server refuses (their conversation is gone):
    // answered, and answered the same when the device asks again.
    // Half of the first batch refused for a role the server quotes back
    // whole: a thousand control characters, six bytes each in JSON.
    let batches: Vec<Vec<Value>> = (0..10)
        .map(|b| {
            (1..=100)
                .map(|i| {
                    let mut m = orphan_message(b * 100 + i, &"é".repeat(200));
                    if b == 0 && i % 2 == 0 {
                        m["fields"]["role"] = json!("\u{1}".repeat(1_000));
                    }
                    m
                })
                .collect()
        })
        .collect();
    let push = json!({"batches": batches});
    let (status, first) = ada.post("/sync/push", push.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(statuses(&first), vec!["rejected"; 1000]);
    let (status, again) = ada.post("/sync/push", push).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(statuses(&again), vec!["rejected"; 1000]);

    // Pipelined: the next push was applied before the device, killed,
    // could settle this one; sent again, its refusal is told again.
    let refused = json!({"batches": [[orphan_message(1001, "")]]});
    let (_, answer) = ada.post("/sync/push", refused.clone()).await;
    assert_eq!(statuses(&answer), ["rejected"]);
    let (_, answer) = ada
        .post(
            "/sync/push",
            json!({"batches": [[orphan_message(1002, "")]]}),
        )
        .await;
    assert_eq!(statuses(&answer), ["rejected"]);
    let (_, answer) = ada.post("/sync/push", refused).await;
    assert_eq!(statuses(&answer), ["rejected"], "never `duplicate`");
}

#[tokio::test]
async fn an_edit_too_large_for_the_server_is_set_aside_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "16384"])
        .await
        .unwrap();
    let device = tempfile::tempdir().unwrap();
    let a = device.path();
    login(a, &server.url, "ada@example.com", true);
    let big = start(a, "with a long note");
    // 9,000 characters of three bytes each: 27 KB, more than the server takes.
    let note = "€".repeat(9_000);
    let out = stint_with_input(a, &["session", "note", &big, &note], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start(a, "small, after it");

    let report = sync(a);
    assert_eq!(report["set_aside"], 1, "{report}");
    assert_eq!(report["pushed"], 2, "{report}");
    let status = json(a, &["status", "--json"]);
    assert_eq!(status["sync"]["pending"], 0, "{status}");
    assert_eq!(status["sync"]["set_aside"], 1, "{status}");
    // Not sent again: the next round has nothing to do.
    let report = sync(a);
    assert_eq!(
        (report["pushed"].as_u64(), report["set_aside"].as_u64()),
        (Some(0), Some(0))
    );
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(
        names_on_server(&ada).await,
        sorted(&["small, after it", "with a long note"])
    );
}

#[tokio::test]
async fn a_pulled_record_is_the_one_its_log_entry_names() {
    let (server, _server_dir) = server().await;
    let (ada, _) = Api::new(&server.url).register("ada@example.com").await;
    let (_, made) = ada
        .post("/sessions", json!({"name": "v1", "workspace_path": "/w"}))
        .await;
    let id = made["id"].as_str().unwrap();
    ada.put(&format!("/sessions/{id}"), json!({"name": "v2"}))
        .await;

    // A page that ends at the first change: the record as it is now is a
    // later change's, which the page's cursor does not cover, so it is
    // not in this page but the next one (where a crash that took that
    // change back would also have taken back its position).
    let (status, first) = ada.get("/sync/pull?limit=1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["changes"], json!([]), "{first}");
    assert_eq!(first["more"], true);
    let cursor = first["cursor"].as_str().unwrap();
    let (_, second) = ada
        .get(&format!("/sync/pull?limit=1&cursor={cursor}"))
        .await;
    let changes = second["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{second}");
    assert_eq!(
        (
            changes[0]["rev"].as_u64(),
            changes[0]["body"]["name"].as_str()
        ),
        (Some(2), Some("v2"))
    );
}

#[tokio::test]
async fn a_members_settings_are_theirs_alone_through_every_door() {
    let (server, _server_dir) = server().await;
    let api = Api::new(&server.url);
    let (ada, ada_tokens) = api.register("ada@example.com").await;
    let (bob, _) = api.register("bob@example.com").await;
    let (org, ada_in_org) = ada.organization("Engines").await;
    let (status, _) = ada_in_org
        .post(
            &format!("/tenants/{org}/members"),
            json!({"email": "bob@example.com", "role": "developer"}),
        )
        .await;
    assert_eq!(status, 201);
    let bob_in_org = bob.switch_to(&org).await;
    let (status, theme) = ada_in_org
        .put("/settings/theme/mode", json!({"value": "dark"}))
        .await;
    assert_eq!(status, 200, "{theme}");
    let id = theme["id"].as_str().unwrap().to_owned();
    // The id can be worked out by anyone who knows Ada's user id.
    let ada_id: stint_model::UserId = ada_tokens["user"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        id,
        stint_model::SettingId::for_key(ada_id, "theme", "mode").to_string()
    );

    // Bob's pulls never carry it; Ada's do.
    let kinds_and_ids = async |api: &Api| {
        let (status, page) = api.get("/sync/pull?limit=1000").await;
        assert_eq!(status, 200, "{page}");
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(!kinds_and_ids(&bob_in_org).await.contains(&id));
    assert!(kinds_and_ids(&ada_in_org).await.contains(&id));

    // Bob's pushes can neither change, delete nor take over it.
    let setting = |value: &str| {
        json!({"tenant_id": org, "user_id": ada_id, "category": "theme", "key": "mode",
               "value": value, "updated_at": "2026-01-01T00:00:00Z"})
    };
    let push = json!({"batches": [[
        {"number": 1, "kind": "setting", "id": id, "base_rev": 1, "fields": {"value": "pink"}},
        {"number": 2, "kind": "setting", "id": id, "base_rev": 1, "deleted": true},
    ]]});
    let (status, answer) = bob_in_org.post("/sync/push", push).await;
    assert_eq!(status, 200, "{answer}");
    for result in answer["results"].as_array().unwrap() {
        assert_eq!(result["outcome"]["status"], "rejected", "{answer}");
        assert_eq!(result["outcome"]["code"], "not_found", "{answer}");
    }
    // A new setting under her id would be his, and its id is not his.
    let (_, answer) = bob_in_org
        .post("/sync/push", json!({"batches": [[
            {"number": 3, "kind": "setting", "id": stint_model::SettingId::for_key(ada_id, "theme", "font").to_string(),
             "base_rev": 0, "fields": setting("comic sans")}
        ]]}))
        .await;
    assert_eq!(
        answer["results"][0]["outcome"]["status"], "rejected",
        "{answer}"
    );
    // Nor forge a conflict that offers her his values for her setting.
    let (_, answer) = bob_in_org
        .post("/sync/push", json!({"batches": [[
            {"number": 4, "kind": "conflict", "id": "01a20000-0000-7000-8000-00000000c0f1", "base_rev": 0,
             "fields": {"tenant_id": org, "kind": "setting", "record_id": id, "fields": {"value": "pink"},
                        "device_id": "01a20000-0000-7000-8000-00000000beef", "owner": ada_id,
                        "created_at": "2026-01-01T00:00:00Z"}}
        ]]}))
        .await;
    assert_eq!(
        answer["results"][0]["outcome"]["status"], "rejected",
        "{answer}"
    );
    let (_, conflicts) = ada_in_org.get("/sync/pull?limit=1000").await;
    assert!(
        !conflicts["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "conflict"),
        "{conflicts}"
    );
    let (_, mine) = ada_in_org.get("/settings/theme").await;
    let values: Vec<&Value> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["value"])
        .collect();
    assert_eq!(values, [&json!("dark")], "{mine}");
    // Through REST Bob sees his own, none.
    let (_, his) = bob_in_org.get("/settings").await;
    assert_eq!(his, json!([]));
}

#[tokio::test]
async fn another_account_signs_in_where_one_signed_out() {
    let (server, _server_dir) = server().await;
    let device = tempfile::tempdir().unwrap();
    let a = device.path();
    login(a, &server.url, "ada@example.com", true);
    start(a, "ada's");
    sync(a);
    ok(a, &["logout"]);
    let ada_device = device_id(a);
    // Bob, on the same machine and data directory: Ada's device id is
    // hers, so this becomes a device of its own, and everything syncs.
    login(a, &server.url, "bob@example.com", true);
    assert_ne!(device_id(a), ada_device);
    start(a, "bob's");
    let report = sync(a);
    assert_eq!(
        (report["pushed"].as_u64(), report["set_aside"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    let (bob, _) = Api::new(&server.url)
        .login("bob@example.com", PASSWORD)
        .await;
    assert_eq!(names_on_server(&bob).await, ["bob's"]);
    // And back to Ada, as the device it became.
    ok(a, &["logout"]);
    login(a, &server.url, "ada@example.com", false);
    start(a, "ada's again");
    assert_eq!(sync(a)["set_aside"], 0);
    let (ada, _) = Api::new(&server.url)
        .login("ada@example.com", PASSWORD)
        .await;
    assert_eq!(
        names_on_server(&ada).await,
        sorted(&["ada's", "ada's again"])
    );
}
