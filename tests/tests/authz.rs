//! The authorization matrix (`tests/authz.matrix`) played for real: every
//! endpoint × every caller, each request with fresh tokens and fresh objects,
//! every answer checked. And the matrix, the OpenAPI document and the router
//! must agree: an endpoint without a row, a row without an endpoint, or a
//! success status the document does not declare fails the suite.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use stint_e2e::{Api, PASSWORD, Server};

const CALLERS: [&str; 6] = ["anon", "admin", "developer", "manager", "viewer", "foreign"];

/// One row: method, path template, expected status per caller (None: n/a).
#[derive(Debug)]
struct Row {
    method: String,
    path: String,
    expected: BTreeMap<&'static str, Option<u16>>,
}

fn matrix() -> Vec<Row> {
    let text = include_str!("../authz.matrix");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                cells.len(),
                2 + CALLERS.len(),
                "malformed matrix row: {line}"
            );
            let expected = CALLERS
                .iter()
                .zip(&cells[2..])
                .map(|(caller, cell)| {
                    (
                        *caller,
                        (*cell != "-").then(|| cell.parse().expect("a status")),
                    )
                })
                .collect();
            Row {
                method: cells[0].to_owned(),
                path: cells[1].to_owned(),
                expected,
            }
        })
        .collect()
}

/// The accounts and tenants the requests are made in.
struct World {
    api: Api,
    org: String,
    foreign: Api,
    foreign_tenant: String,
    fresh: AtomicU32,
    /// A login per account, reused to mint fresh tokens cheaply.
    homes: tokio::sync::Mutex<BTreeMap<String, Api>>,
}

impl World {
    async fn new(api: Api) -> Self {
        let (owner_home, _) = api.register("admin@example.com").await;
        let (org, owner) = owner_home.organization("Acme").await;
        for role in ["developer", "manager", "viewer"] {
            api.register(&format!("{role}@example.com")).await;
            let (status, body) = owner
                .post(
                    &format!("/tenants/{org}/members"),
                    json!({"email": format!("{role}@example.com"), "role": role}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let (foreign, tokens) = api.register("foreign@example.com").await;
        let foreign_tenant = tokens["tenant"]["id"].as_str().unwrap().to_owned();
        Self {
            api,
            org,
            foreign,
            foreign_tenant,
            fresh: AtomicU32::new(0),
            homes: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    fn fresh_email(&self) -> String {
        format!(
            "user{}@example.com",
            self.fresh.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A fresh login of `role` acting in the organization, and its tokens.
    async fn caller(&self, role: &str) -> (Api, Value) {
        let email = match role {
            "anon" => return (self.api.clone(), Value::Null),
            "foreign" => "admin@example.com".to_owned(),
            role => format!("{role}@example.com"),
        };
        let mut homes = self.homes.lock().await;
        for _ in 0..2 {
            let home = match homes.get(&email) {
                Some(home) => home.clone(),
                None => self.api.login(&email, PASSWORD).await.0,
            };
            // A new token family in the organization: no password hashing.
            let (status, tokens) = home
                .post("/auth/switch-tenant", json!({"tenant_id": self.org}))
                .await;
            if status == 200 {
                homes.insert(email, home);
                return (
                    self.api
                        .with_token(tokens["access_token"].as_str().unwrap()),
                    tokens,
                );
            }
            // A row (logout-all, password change) revoked the home login.
            homes.remove(&email);
        }
        panic!("cannot sign in as {email}")
    }

    /// Fresh objects for a path template: in the organization, or in the
    /// foreign tenant.
    async fn fixture(&self, template: &str, foreign: bool) -> BTreeMap<&'static str, String> {
        // A fresh Admin login: rows like logout-all revoke earlier ones.
        let admin = self.caller("admin").await.0;
        let creator = if foreign { &self.foreign } else { &admin };
        let mut vars = BTreeMap::new();
        vars.insert("category", "editor".to_owned());
        vars.insert("key", "font_size".to_owned());
        let new_session = async || {
            let (status, s) = creator
                .post(
                    "/sessions",
                    json!({"name": "fixture", "workspace_path": "/w", "tags": ["x"]}),
                )
                .await;
            assert_eq!(status, 201, "{s}");
            s["id"].as_str().unwrap().to_owned()
        };
        let new_file = async |session: &str| {
            let (status, f) = creator
                .put("/files", json!({"workspace_session_id": session, "file_path": "a.rs", "file_size": 1, "mime_type": "text/plain", "checksum": "ab".repeat(32)}))
                .await;
            assert_eq!(status, 200, "{f}");
            f["id"].as_str().unwrap().to_owned()
        };
        if template.starts_with("/api/v5/tenants/{id}") {
            vars.insert(
                "id",
                if foreign {
                    self.foreign_tenant.clone()
                } else {
                    self.org.clone()
                },
            );
            if template.contains("{user_id}") {
                let email = self.fresh_email();
                let (_, tokens) = self.api.register(&email).await;
                if !foreign {
                    let (status, body) = admin
                        .post(
                            &format!("/tenants/{}/members", self.org),
                            json!({"email": email, "role": "developer"}),
                        )
                        .await;
                    assert_eq!(status, 201, "{body}");
                }
                vars.insert("user_id", tokens["user"]["id"].as_str().unwrap().to_owned());
            }
        } else if template.starts_with("/api/v5/sessions/{id}") {
            let session = new_session().await;
            new_file(&session).await;
            vars.insert("id", session);
        } else if template.starts_with("/api/v5/conversations/{id}") {
            let (status, c) = creator
                .post("/conversations", json!({"title": "fixture"}))
                .await;
            assert_eq!(status, 201, "{c}");
            vars.insert("id", c["id"].as_str().unwrap().to_owned());
        } else if template.starts_with("/api/v5/files/{id}") {
            let session = new_session().await;
            vars.insert("id", new_file(&session).await);
        } else if template.starts_with("/api/v5/agents/{id}") {
            let (status, a) = creator
                .post(
                    "/agents",
                    json!({"name": "fixture", "agent_type": "specialist"}),
                )
                .await;
            assert_eq!(status, 201, "{a}");
            vars.insert("id", a["id"].as_str().unwrap().to_owned());
        }
        if template == "/api/v5/files" {
            vars.insert("session", new_session().await);
        }
        vars
    }

    /// The body of a request: valid, so that only authorization decides.
    async fn body(
        &self,
        row: &Row,
        caller: &str,
        tokens: &Value,
        vars: &BTreeMap<&str, String>,
    ) -> Option<Value> {
        let email = match caller {
            "anon" | "foreign" | "admin" => "admin@example.com".to_owned(),
            role => format!("{role}@example.com"),
        };
        Some(match (row.method.as_str(), row.path.as_str()) {
            ("POST", "/api/v5/auth/register") => {
                json!({"email": self.fresh_email(), "password": PASSWORD, "first_name": "A", "last_name": "B"})
            }
            ("POST", "/api/v5/auth/login") => json!({"email": email, "password": PASSWORD}),
            ("POST", "/api/v5/auth/refresh") => {
                let refresh = if tokens.is_null() {
                    self.caller("admin").await.1
                } else {
                    tokens.clone()
                };
                json!({"refresh_token": refresh["refresh_token"]})
            }
            ("POST", "/api/v5/auth/switch-tenant") => {
                json!({"tenant_id": if caller == "foreign" { &self.foreign_tenant } else { &self.org }})
            }
            ("POST", "/api/v5/sync/push") => json!({
                "batches": [[{
                    "number": self.fresh.fetch_add(1, Ordering::Relaxed), "kind": "workspace_session",
                    "id": uuid_like(self.fresh.fetch_add(1, Ordering::Relaxed)), "base_rev": 0,
                    "fields": {"user_id": "00000000-0000-7000-8000-000000000000", "name": "pushed",
                               "workspace_path": "/w", "created_at": "2026-01-01T00:00:00Z",
                               "updated_at": "2026-01-01T00:00:00Z", "last_accessed_at": "2026-01-01T00:00:00Z"}
                }]]
            }),
            ("PUT", "/api/v5/users/me") => json!({"first_name": "Renamed"}),
            ("PUT", "/api/v5/users/me/password") => {
                json!({"current_password": PASSWORD, "new_password": PASSWORD})
            }
            ("POST", "/api/v5/tenants") => json!({"name": "Another org"}),
            ("POST", "/api/v5/tenants/{id}/members") => {
                let email = self.fresh_email();
                self.api.register(&email).await;
                json!({"email": email, "role": "viewer"})
            }
            ("PUT", "/api/v5/tenants/{id}/members/{user_id}") => json!({"role": "manager"}),
            ("POST", "/api/v5/sessions") => json!({"name": "new", "workspace_path": "/w"}),
            ("PUT", "/api/v5/sessions/{id}") => json!({"name": "renamed"}),
            ("POST", "/api/v5/sessions/{id}/fork") => json!({"name": "fork"}),
            ("POST", "/api/v5/conversations") => json!({"title": "new"}),
            ("POST", "/api/v5/conversations/{id}/messages") => {
                json!({"role": "user", "content": "hello"})
            }
            ("PUT", "/api/v5/files") => {
                let session = if caller == "foreign" {
                    self.fixture("/api/v5/files", true).await["session"].clone()
                } else {
                    vars["session"].clone()
                };
                json!({"workspace_session_id": session, "file_path": "b.rs", "file_size": 2, "mime_type": "text/plain"})
            }
            ("POST", "/api/v5/files/{id}/undelete") => json!({}),
            ("POST", "/api/v5/agents") => json!({"name": "new", "agent_type": "coordinator"}),
            ("PUT", "/api/v5/agents/{id}") => json!({"name": "renamed"}),
            ("PUT", "/api/v5/settings/{category}/{key}") => json!({"value": 14}),
            ("POST", _) => json!({}),
            _ => return None,
        })
    }
}

/// A UUIDv7-shaped id that differs for each `n` (fresh devices and records).
fn uuid_like(n: u32) -> String {
    format!("01a20000-0000-7000-8000-{n:012x}")
}

fn query(template: &str) -> &'static str {
    match template {
        "/api/v5/sessions/related" => "?tags=x",
        "/api/v5/workspaces/sessions" => "?path=/w",
        "/api/v5/files/search" => "?workspace_path=/w&file_path=a.rs",
        "/api/v5/sessions/{id}/files/by-path" => "?path=a.rs",
        _ => "",
    }
}

async fn start() -> (Server, Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    (server, api, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_every_caller_as_the_matrix_says() {
    let (_server, api, _dir) = start().await;
    let world = World::new(api).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in matrix() {
        for caller in CALLERS {
            let Some(expected) = row.expected[caller] else {
                continue;
            };
            let (client, tokens) = world.caller(caller).await;
            let vars = world.fixture(&row.path, caller == "foreign").await;
            if row.method == "DELETE" && row.path.starts_with("/api/v5/settings/") {
                // The caller's own setting, so that deleting it can succeed.
                let _ = client
                    .put("/settings/editor/font_size", json!({"value": 1}))
                    .await;
            }
            let mut path = row.path.clone();
            for (name, value) in &vars {
                path = path.replace(&format!("{{{name}}}"), value);
            }
            path.push_str(query(&row.path));
            let body = world.body(&row, caller, &tokens, &vars).await;
            let relative = path.strip_prefix("/api/v5").unwrap();
            let (status, answer) = client.call(&row.method, relative, body.as_ref()).await;
            checked += 1;
            if status != expected {
                failures.push(format!(
                    "{} {} as {caller}: {status}, want {expected}: {answer}",
                    row.method, row.path
                ));
            } else if status >= 400 {
                assert!(
                    answer["code"].is_string() && answer["message"].is_string(),
                    "{path}: {answer}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 250, "only {checked} cells checked");
}

#[tokio::test]
async fn the_matrix_and_the_openapi_document_list_the_same_endpoints() {
    let (_server, api, _dir) = start().await;
    let (status, spec) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented: BTreeMap<(String, String), BTreeSet<u16>> = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let statuses = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|s| s.parse().unwrap())
                .collect();
            documented.insert((method.to_uppercase(), path.clone()), statuses);
        }
    }
    let rows = matrix();
    let in_matrix: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let in_spec: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    let missing_rows: Vec<_> = in_spec.difference(&in_matrix).collect();
    let stale_rows: Vec<_> = in_matrix.difference(&in_spec).collect();
    assert!(
        missing_rows.is_empty(),
        "endpoints without a matrix row: {missing_rows:?}"
    );
    assert!(
        stale_rows.is_empty(),
        "matrix rows without an endpoint: {stale_rows:?}"
    );

    // Every status the matrix expects, success or refusal, is declared in
    // the document: it tells the truth.
    for row in &rows {
        let declared = &documented[&(row.method.clone(), row.path.clone())];
        for status in row.expected.values().flatten() {
            assert!(
                declared.contains(status),
                "{} {} answers {status}, documented {declared:?}",
                row.method,
                row.path
            );
        }
    }
    // Every protected endpoint says so.
    for row in &rows {
        if row.expected["anon"] == Some(401) {
            let method = row.method.to_lowercase();
            let security = &spec["paths"][&row.path][&method]["security"];
            assert!(
                security.is_array(),
                "{} {} needs a bearer token but does not document it",
                row.method,
                row.path
            );
        }
    }
}
