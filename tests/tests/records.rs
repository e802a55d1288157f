//! The records API against a real server: sessions and the cross-session
//! queries, conversations and messages, files, agents, settings, the audit
//! log, tenants and members; and the data surviving a restart.

use serde_json::{Value, json};
use stint_e2e::{Api, PASSWORD, Server};

async fn server() -> (Server, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    (server, api, dir)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sessions_crud_fork_and_cross_session_queries() {
    let (_server, api, _dir) = server().await;
    let (me, _) = api.register("ada@example.com").await;
    let create = async |name: &str, path: &str, tags: &[&str]| {
        let (status, body) = me
            .post(
                "/sessions",
                json!({"name": name, "workspace_path": path, "tags": tags}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    };
    let auth = create("Auth", "/src/app", &["auth", "backend"]).await;
    let ui = create("UI", "/src/app", &["ui"]).await;
    let docs = create("Docs", "/src/docs", &["backend"]).await;
    assert_eq!(auth["editor_state"]["layout"], "single");

    let (status, got) = me.get(&format!("/sessions/{}", id(&auth))).await;
    assert_eq!((status, got), (200, auth.clone()));

    // Partial update: only what is sent changes; `null` clears.
    let update = json!({
        "editor_state": {"open_tabs": [{"file_path": "src/main.rs", "cursor": {"line": 42, "column": 7}}], "active_tab_index": 0, "layout": "split_horizontal"},
        "terminal_state": {"cwd": "/src/app", "command_history": ["cargo test"], "environment_vars": {"RUST_LOG": "debug"}},
        "breakpoints": [{"file_path": "src/lib.rs", "line": 10}],
        "memory": {"decisions": [{"text": "Use token families", "created_at": "2026-01-01T00:00:00Z"}]},
    });
    let (status, updated) = me.put(&format!("/sessions/{}", id(&auth)), update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Auth");
    assert_eq!(
        updated["editor_state"]["open_tabs"][0]["cursor"]["line"],
        42
    );
    assert_eq!(updated["breakpoints"][0]["enabled"], true);
    let (status, body) = me
        .put(
            &format!("/sessions/{}", id(&auth)),
            json!({"tags": ["Bad Tag"]}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("tags[0]")));
    let (status, body) = me
        .put(
            &format!("/sessions/{}", id(&auth)),
            json!({"workspace_path": "relative"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("workspace_path"))
    );

    let (_, recent) = me.get("/sessions/recent?limit=2").await;
    assert_eq!(names(&recent), ["Auth", "Docs"], "the update moved Auth up");
    let (_, listed) = me.get("/sessions?tag=backend").await;
    assert_eq!(names(&listed), ["Docs", "Auth"]);
    let (_, listed) = me.get("/sessions?workspace=/src/app").await;
    assert_eq!(names(&listed), ["UI", "Auth"]);
    let (_, of_workspace) = me.get("/workspaces/sessions?path=/src/app").await;
    assert_eq!(of_workspace.as_array().unwrap().len(), 2);

    // Fork and children.
    let (status, child) = me
        .post(
            &format!("/sessions/{}/fork", id(&auth)),
            json!({"name": "Try async"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(child["parent_session_id"], auth["id"]);
    assert_eq!(child["editor_state"], updated["editor_state"]);
    let (_, children) = me.get(&format!("/sessions/{}/children", id(&auth))).await;
    assert_eq!(names(&children), ["Try async"]);

    // Related, with reasons.
    let (status, related) = me.get(&format!("/sessions/{}/related", id(&auth))).await;
    assert_eq!(status, 200);
    let summary: Vec<(String, Vec<String>)> = related
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reasons = r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect();
            (r["session"]["name"].as_str().unwrap().to_owned(), reasons)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "Try async".to_owned(),
                vec![
                    "shared tags: auth, backend".to_owned(),
                    "same workspace".to_owned()
                ]
            ),
            ("Docs".to_owned(), vec!["shared tags: backend".to_owned()]),
            ("UI".to_owned(), vec!["same workspace".to_owned()]),
        ]
    );
    let (_, by_tags) = me.get("/sessions/related?tags=backend,auth").await;
    assert_eq!(by_tags[0]["shared_tags"].as_array().unwrap().len(), 2);

    // Delete.
    assert_eq!(me.delete(&format!("/sessions/{}", id(&ui))).await.0, 204);
    assert_eq!(me.get(&format!("/sessions/{}", id(&ui))).await.0, 404);
    assert_eq!(me.delete(&format!("/sessions/{}", id(&ui))).await.0, 404);
    let _ = docs;
}

#[tokio::test]
async fn conversations_messages_and_token_counts() {
    let (_server, api, _dir) = server().await;
    let (me, _) = api.register("ada@example.com").await;
    let (_, session) = me
        .post("/sessions", json!({"name": "S", "workspace_path": "/s"}))
        .await;
    let (status, conv) = me
        .post("/conversations", json!({"title": "Design", "workspace_session_id": session["id"], "ai_provider": "local"}))
        .await;
    assert_eq!(status, 201, "{conv}");
    let cid = id(&conv);
    for i in 0..7 {
        let (status, m) = me
            .post(&format!("/conversations/{cid}/messages"), json!({"role": if i % 2 == 0 {"user"} else {"assistant"}, "content": format!("m{i}"), "token_count": 10}))
            .await;
        assert_eq!(status, 201, "{m}");
    }
    let (_, full) = me.get(&format!("/conversations/{cid}")).await;
    assert_eq!(full["conversation"]["message_count"], 7);
    assert_eq!(full["messages"]["messages"].as_array().unwrap().len(), 7);
    let (_, tokens) = me.get(&format!("/conversations/{cid}/tokens")).await;
    assert_eq!(
        (
            tokens["message_count"].as_u64(),
            tokens["token_count"].as_u64()
        ),
        (Some(7), Some(70))
    );

    // Pages of 3: 3 + 3 + 1.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/conversations/{cid}/messages?limit=3&after={a}"),
            None => format!("/conversations/{cid}/messages?limit=3"),
        };
        let (status, page) = me.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let (_, by_session) = me
        .get(&format!("/conversations?session_id={}", id(&session)))
        .await;
    assert_eq!(by_session.as_array().unwrap().len(), 1);

    let (status, body) = me
        .post(
            &format!("/conversations/{cid}/messages"),
            json!({"role": "robot", "content": "x"}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("role")));
    let (status, body) = me
        .post(
            &format!("/conversations/{cid}/messages"),
            json!({"role": "user", "content": ""}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("content")));
    let (status, _) = me
        .post(
            "/conversations",
            json!({"title": "x", "workspace_session_id": "01a20000-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(status, 422, "a conversation of an unknown session");
    assert_eq!(me.delete(&format!("/conversations/{cid}")).await.0, 204);
    assert_eq!(
        me.get(&format!("/conversations/{cid}/messages")).await.0,
        404
    );
}

#[tokio::test]
async fn files_agents_and_settings() {
    let (_server, api, _dir) = server().await;
    let (me, _) = api.register("ada@example.com").await;
    let (_, s1) = me
        .post("/sessions", json!({"name": "one", "workspace_path": "/w"}))
        .await;
    let (_, s2) = me
        .post("/sessions", json!({"name": "two", "workspace_path": "/w"}))
        .await;
    let sum = "ab".repeat(32);
    let put = async |session: &Value, path: &str, size: u64| {
        let (status, body) = me
            .put("/files", json!({"workspace_session_id": session["id"], "file_path": path, "file_size": size, "mime_type": "text/x-rust", "checksum": sum}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let main1 = put(&s1, "src/main.rs", 10).await;
    let again = put(&s1, "src/main.rs", 12).await;
    assert_eq!(
        (again["id"].clone(), again["file_size"].clone()),
        (main1["id"].clone(), json!(12)),
        "one record per path"
    );
    put(&s2, "src/main.rs", 10).await;
    let (_, found) = me
        .get("/files/search?workspace_path=/w&file_path=src/main.rs")
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        2,
        "which sessions touched it"
    );
    let (_, found) = me.get(&format!("/files/search?checksum={sum}")).await;
    assert_eq!(found.as_array().unwrap().len(), 2);
    assert_eq!(me.get("/files/search?checksum=nope").await.0, 422);
    assert_eq!(me.get("/files/search").await.0, 400);
    let (status, by_path) = me
        .get(&format!(
            "/sessions/{}/files/by-path?path=src/main.rs",
            id(&s1)
        ))
        .await;
    assert_eq!((status, by_path["id"].clone()), (200, main1["id"].clone()));
    let fid = id(&main1);
    let (status, deleted) = me.delete(&format!("/files/{fid}")).await;
    assert_eq!((status, deleted["is_deleted"].clone()), (200, json!(true)));
    let (_, listed) = me.get(&format!("/sessions/{}/files", id(&s1))).await;
    assert!(listed.as_array().unwrap().is_empty());
    let (_, listed) = me
        .get(&format!("/sessions/{}/files?include_deleted=true", id(&s1)))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, back) = me.post(&format!("/files/{fid}/undelete"), json!({})).await;
    assert_eq!((status, back["is_deleted"].clone()), (200, json!(false)));
    // A session's files come in pages, in path order, each path once
    // (`a` before `a/b` before `ab`, as the index sorts them).
    for path in ["a", "a/b", "ab", "z é", "zz"] {
        put(&s2, path, 1).await;
    }
    let mut paths = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(a) => format!("limit=2&after={}", a.replace(' ', "%20")),
            None => "limit=2".to_owned(),
        };
        let (status, page) = me
            .get(&format!("/sessions/{}/files?{query}", id(&s2)))
            .await;
        assert_eq!(status, 200, "{page}");
        let page: Vec<String> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file_path"].as_str().unwrap().to_owned())
            .collect();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().cloned();
        paths.extend(page);
    }
    assert_eq!(paths, ["a", "a/b", "ab", "src/main.rs", "z é", "zz"]);
    let (status, body) = me
        .put("/files", json!({"workspace_session_id": s1["id"], "file_path": "../etc/passwd", "file_size": 1, "mime_type": "text/plain"}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("file_path")));

    // Agents.
    let (status, agent) = me
        .post("/agents", json!({"name": "Reviewer", "agent_type": "specialist", "config": {"mcp_tools": ["lmstudio_chat"]}}))
        .await;
    assert_eq!(status, 201, "{agent}");
    me.post(
        "/agents",
        json!({"name": "Lead", "agent_type": "coordinator"}),
    )
    .await;
    let (_, specialists) = me.get("/agents?type=specialist").await;
    assert_eq!(names(&specialists), ["Reviewer"]);
    let (_, all) = me.get("/agents").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, changed) = me
        .put(
            &format!("/agents/{}", id(&agent)),
            json!({"is_active": false, "memory": {"facts": {"style": "terse"}}}),
        )
        .await;
    assert_eq!(
        (
            status,
            changed["is_active"].clone(),
            changed["name"].clone()
        ),
        (200, json!(false), json!("Reviewer"))
    );
    assert_eq!(me.delete(&format!("/agents/{}", id(&agent))).await.0, 204);
    assert_eq!(me.get(&format!("/agents/{}", id(&agent))).await.0, 404);

    // Settings.
    assert_eq!(
        me.put("/settings/editor/font_size", json!({"value": 14}))
            .await
            .0,
        200
    );
    assert_eq!(
        me.put("/settings/theme/mode", json!({"value": "dark"}))
            .await
            .0,
        200
    );
    let (_, editor) = me.get("/settings/editor").await;
    assert_eq!(editor[0]["value"], 14);
    let (_, all) = me.get("/settings").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(
        me.put("/settings/colours/x", json!({"value": 1})).await.0,
        404
    );
    let (status, body) = me
        .put("/settings/editor/Bad Key", json!({"value": 1}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("key")));
    assert_eq!(me.delete("/settings/editor/font_size").await.0, 204);
    assert_eq!(me.delete("/settings/editor/font_size").await.0, 404);
}

#[tokio::test]
async fn organizations_members_roles_and_the_audit_log() {
    let (_server, api, _dir) = server().await;
    let (ada, _) = api.register("ada@example.com").await;
    let (bob, _) = api.register("bob@example.com").await;
    let (status, org) = ada.post("/tenants", json!({"name": "Engines"})).await;
    assert_eq!((status, org["role"].clone()), (201, json!("admin")));
    let org_id = org["tenant"]["id"].as_str().unwrap().to_owned();
    let (_, mine) = ada.get("/tenants").await;
    assert_eq!(mine.as_array().unwrap().len(), 2);

    // Ada acts in the organization; adds Bob as a Viewer.
    let (status, switched) = ada
        .post("/auth/switch-tenant", json!({"tenant_id": org_id}))
        .await;
    assert_eq!(status, 200, "{switched}");
    let ada_org = api.with_token(switched["access_token"].as_str().unwrap());
    let (status, member) = ada_org
        .post(
            &format!("/tenants/{org_id}/members"),
            json!({"email": "bob@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let bob_id = member["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        ada_org
            .post(
                &format!("/tenants/{org_id}/members"),
                json!({"email": "bob@example.com", "role": "viewer"})
            )
            .await
            .0,
        409
    );
    assert_eq!(
        ada_org
            .post(
                &format!("/tenants/{org_id}/members"),
                json!({"email": "nobody@example.com", "role": "viewer"})
            )
            .await
            .0,
        404
    );
    let (_, members) = ada_org.get(&format!("/tenants/{org_id}/members")).await;
    assert_eq!(members.as_array().unwrap().len(), 2);

    // Bob, a Viewer in the organization, reads and cannot write.
    let (status, bob_switch) = bob
        .post("/auth/switch-tenant", json!({"tenant_id": org_id}))
        .await;
    assert_eq!(status, 200);
    let bob_org = api.with_token(bob_switch["access_token"].as_str().unwrap());
    let (_, shared) = ada_org
        .post(
            "/sessions",
            json!({"name": "Shared", "workspace_path": "/org"}),
        )
        .await;
    assert_eq!(
        bob_org.get(&format!("/sessions/{}", id(&shared))).await.0,
        200
    );
    let (status, body) = bob_org
        .post("/sessions", json!({"name": "x", "workspace_path": "/x"}))
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(bob_org.get("/audit").await.0, 403);
    // Bob's own tenant's data is not reachable from the organization, and back.
    assert_eq!(bob.get(&format!("/sessions/{}", id(&shared))).await.0, 404);

    // Promotion, the last Admin, removal.
    let (status, promoted) = ada_org
        .put(
            &format!("/tenants/{org_id}/members/{bob_id}"),
            json!({"role": "developer"}),
        )
        .await;
    assert_eq!(
        (status, promoted["role"].clone()),
        (200, json!("developer"))
    );
    assert_eq!(
        bob_org
            .post("/sessions", json!({"name": "x", "workspace_path": "/x"}))
            .await
            .0,
        201,
        "the role is read per request"
    );
    let ada_id = switched["user"]["id"].as_str().unwrap();
    assert_eq!(
        ada_org
            .put(
                &format!("/tenants/{org_id}/members/{ada_id}"),
                json!({"role": "viewer"})
            )
            .await
            .0,
        409
    );
    assert_eq!(
        bob_org
            .delete(&format!("/tenants/{org_id}/members/{ada_id}"))
            .await
            .0,
        403,
        "only Admins manage members"
    );
    assert_eq!(
        ada_org
            .delete(&format!("/tenants/{org_id}/members/{bob_id}"))
            .await
            .0,
        204
    );
    assert_eq!(
        bob_org.get(&format!("/sessions/{}", id(&shared))).await.0,
        401,
        "no longer a member"
    );
    // Managing another tenant's members through this token: not found.
    let bob_home = bob_switch["user"]["tenant_id"].as_str().unwrap();
    assert_eq!(
        ada_org.get(&format!("/tenants/{bob_home}/members")).await.0,
        404
    );
    assert_eq!(ada.get(&format!("/tenants/{bob_home}")).await.0, 404);

    // The audit log: Admins read it, filtered by event, user and dates.
    let (status, events) = ada_org.get("/audit?event=member_changed").await;
    assert_eq!(status, 200, "{events}");
    assert!(events.as_array().unwrap().len() >= 3);
    let (_, forbidden) = ada_org.get("/audit?event=unauthorized_access").await;
    assert_eq!(
        forbidden.as_array().unwrap().len(),
        3,
        "Bob's three refused attempts: {forbidden}"
    );
    let (_, by_bob) = ada_org.get(&format!("/audit?user_id={bob_id}")).await;
    assert!(
        by_bob
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == json!(bob_id))
    );
    let (_, future) = ada_org.get("/audit?from=2999-01-01T00:00:00Z").await;
    assert!(future.as_array().unwrap().is_empty());
    assert_eq!(
        ada_org
            .get(&format!("/audit?user_id={bob_id}&event=user_login"))
            .await
            .0,
        400
    );
    let _ = PASSWORD;
}

#[tokio::test]
async fn records_and_logins_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    let (me, tokens) = api.register("ada@example.com").await;
    let (_, session) = me
        .post(
            "/sessions",
            json!({"name": "Persistent", "workspace_path": "/p"}),
        )
        .await;
    assert!(server.stop().await.unwrap().success());

    let server = Server::start(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    // The same signing key: the access token from before still works.
    let me = api.with_token(tokens["access_token"].as_str().unwrap());
    let (status, got) = me.get(&format!("/sessions/{}", id(&session))).await;
    assert_eq!((status, got["name"].clone()), (200, json!("Persistent")));
    let (status, _) = api
        .post(
            "/auth/refresh",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 200);
    api.login("ada@example.com", PASSWORD).await;
}
