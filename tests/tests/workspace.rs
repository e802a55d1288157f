//! Workspaces across devices, with the real binaries: two data
//! directories (two devices) and one server. One git repository is
//! checked out at a different path on each; a session started on A
//! resumes on B in B's checkout, after a preflight that lists exactly what
//! differs there, with the cursors following B's edits. A worktree is the
//! same workspace; a folder without git is recognized by its content; a
//! secret file's checksum never reaches the server.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use stint_e2e::device::{json, login, ok, stint};

/// Runs `git ARGS` in `dir`, expecting success.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=ada@example.com", "-c", "user.name=Ada"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Clones `from` to `to`, its `origin` then set to `url`.
fn clone_as(from: &Path, to: &Path, url: &str) {
    let parent = to.parent().unwrap();
    std::fs::create_dir_all(parent).unwrap();
    git(
        parent,
        &["clone", "-q", from.to_str().unwrap(), to.to_str().unwrap()],
    );
    git(to, &["remote", "set-url", "origin", url]);
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An origin repository in `trees`, its `files` committed on `main`.
fn origin_with(trees: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
    let origin = trees.join("origin");
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "-b", "main"]);
    for (file, text) in files {
        write(&origin, file, text);
    }
    git(&origin, &["add", "-A"]);
    git(&origin, &["commit", "-qm", "first"]);
    origin
}

/// A session started on the device in `dir` for `folder` (named `name`
/// when given), its files indexed (`stint watch --once`); its id.
fn indexed_session(dir: &Path, name: Option<&str>, folder: &Path) -> String {
    let folder = folder.to_str().unwrap();
    let mut args = vec!["session", "start"];
    args.extend(name);
    args.extend(["--workspace", folder]);
    let id = ok(dir, &args).trim().to_owned();
    ok(dir, &["watch", folder, "--once"]);
    id
}

const MAIN: &str = "use std::io;\n\nfn main() {\n    let port = 8080;\n    let host = \"localhost\";\n    serve(host, port);\n}\n\nfn serve(_: &str, _: u16) {}\n";
const ENV: &str = "DATABASE_PASSWORD=hunter2\n";

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_resumes_on_another_device_at_its_own_path_after_a_preflight() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = stint_e2e::Server::start(server_dir.path()).await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    let trees = tempfile::tempdir().unwrap();
    let origin = origin_with(
        trees.path(),
        &[
            ("src/main.rs", MAIN),
            ("src/lib.rs", "pub fn one() -> u8 {\n    1\n}\n"),
            ("README.md", "# App\n"),
            ("docs/guide.md", "Read me.\n"),
            (".env", ENV),
        ],
    );
    // Two checkouts at unrelated paths, their remote spelt two ways; A's
    // has a token in its URL, which must never be stored.
    let on_a = trees.path().join("home-ada/src/app");
    let on_b = trees.path().join("Users/ada/code/my app ü");
    for (checkout, url) in [
        (&on_a, "https://ada:ghp_T0KEN@github.com/ada/app.git"),
        (&on_b, "git@github.com:ada/app.git"),
    ] {
        clone_as(&origin, checkout, url);
        write(checkout, ".env", ENV);
    }
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);

    // A: a session with tabs and a breakpoint, indexed, synced.
    let on_a_str = on_a.to_str().unwrap();
    let id = indexed_session(a, Some("Ports"), &on_a);
    ok(
        a,
        &[
            "session",
            "update",
            &id,
            "--tab",
            "src/lib.rs:2:5",
            "--tab",
            "README.md:1:1",
            "--tab",
            "src/main.rs:6:5",
            "--breakpoint",
            "src/main.rs:5",
        ],
    );
    let on_a_session = json(a, &["session", "show", &id, "--json"]);
    let workspace = on_a_session["workspace_id"].as_str().unwrap().to_owned();
    assert!(
        workspace.starts_with("git:github.com/ada/app@"),
        "{workspace}"
    );
    assert_eq!(
        on_a_session["git"]["remote"],
        "https://github.com/ada/app.git"
    );
    assert_eq!(on_a_session["git"]["branch"], "main");
    ok(a, &["sync"]);

    // B: edits of its own before it resumes.
    write(
        &on_b,
        "src/main.rs",
        &format!("// Serves.\n// Ports.\n{MAIN}"),
    );
    write(&on_b, "src/lib.rs", "pub const ONE: u8 = 1;\n");
    std::fs::remove_file(on_b.join("docs/guide.md")).unwrap();
    write(&on_b, "notes.txt", "mine\n");
    git(&on_b, &["checkout", "-q", "-b", "experiment"]);
    ok(b, &["sync"]);
    // Two devices on one machine: A's folder is out of B's sight while B
    // resumes, as it would be on another machine.
    let parked = trees.path().join("parked");
    std::fs::rename(&on_a, &parked).unwrap();

    // No checkout known on B yet: it says how to make one.
    let resume = json(b, &["session", "resume", &id, "--json"]);
    let pre = &resume["preflight"];
    assert_eq!(pre["folder"], Value::Null, "{pre}");
    assert_eq!(pre["clone"], "git clone https://github.com/ada/app.git");
    assert!(!resume.to_string().contains("ghp_T0KEN"));

    // B's checkout, asked by folder, finds A's session by its workspace
    // (and maps the folder).
    let on_b_str = on_b.to_str().unwrap();
    let listed = json(b, &["session", "list", "--workspace", on_b_str, "--json"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    let resume = json(b, &["session", "resume", &id, "--json"]);
    let pre = &resume["preflight"];
    assert_eq!(pre["folder"], on_b_str);
    assert_eq!(strings(&pre["changed"]), ["src/lib.rs", "src/main.rs"]);
    assert_eq!(strings(&pre["missing"]), ["docs/guide.md"]);
    assert_eq!(strings(&pre["extra"]), ["notes.txt"]);
    assert_eq!(strings(&pre["unverified"]), [".env"]);
    assert_eq!(pre["same"], 1, "README.md: {pre}");
    assert_eq!(pre["branch"], serde_json::json!(["main", "experiment"]));
    // The cursor in main.rs follows the two lines added above it; lib.rs
    // was rewritten, so its cursor is lost, with a warning.
    let placed: Vec<(String, u64, u64, String)> = pre["tabs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["file_path"].as_str().unwrap().to_owned(),
                t["line"].as_u64().unwrap(),
                t["column"].as_u64().unwrap(),
                t["placed"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("src/lib.rs".into(), 1, 1, "lost".into()),
            ("README.md".into(), 1, 1, "exact".into()),
            ("src/main.rs".into(), 8, 5, "moved".into()),
        ]
    );
    assert_eq!(pre["breakpoints"][0]["line"], 7);
    let warnings = pre["warnings"].to_string();
    assert!(warnings.contains("src/lib.rs changed"), "{warnings}");
    let code = resume["commands"][0]["command"].as_str().unwrap();
    assert!(
        code.ends_with(&format!("-g '{on_b_str}/src/main.rs:8:5'")),
        "{code}"
    );
    assert!(
        code.contains(&format!("'{on_b_str}/src/lib.rs:1:1'")),
        "{code}"
    );
    assert_eq!(
        resume["commands"].as_array().unwrap().last().unwrap()["command"],
        format!("cd '{on_b_str}'")
    );
    let text = ok(b, &["session", "preflight", &id]);
    assert!(
        text.contains("same content except 4 files (2 changed, 1 missing, 1 extra)"),
        "{text}"
    );
    assert!(
        text.contains("branch experiment here, main in the session"),
        "{text}"
    );
    assert_eq!(pre["live"], false, "no watch ran: rescanned");

    // B's agent watching its checkout (B's own session of the workspace):
    // the preflight, asked through it, compares with the watch's index in
    // memory, the same answer without a rescan, and follows B's edits.
    let agent = stint_e2e::device::Agent::start(b);
    let own = ok(b, &["session", "start", "B", "--workspace", on_b_str])
        .trim()
        .to_owned();
    ok(b, &["watch", on_b_str, "--session", &own]);
    let live = json(b, &["session", "preflight", &id, "--json"]);
    assert_eq!(live["live"], true, "{live}");
    assert_eq!(live["hashed"], 0, "{live}");
    for field in ["changed", "missing", "extra", "unverified", "same", "tabs"] {
        assert_eq!(live[field], pre[field], "{field}");
    }
    write(&on_b, "README.md", "# App, on B\n");
    let followed = stint_e2e::eventually(std::time::Duration::from_secs(10), || async {
        let now = json(b, &["session", "preflight", &id, "--json"]);
        strings(&now["changed"]) == ["README.md", "src/lib.rs", "src/main.rs"]
    })
    .await;
    assert!(followed, "the live index follows an edit on B");
    write(&on_b, "README.md", "# App\n");
    agent.stop();

    std::fs::rename(&parked, &on_a).unwrap();

    // A worktree on A is the same workspace, on its own branch.
    let worktree = trees.path().join("home-ada/src/app-feature");
    git(
        &on_a,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            worktree.to_str().unwrap(),
        ],
    );
    let wt_id = ok(
        a,
        &[
            "session",
            "start",
            "--workspace",
            worktree.to_str().unwrap(),
        ],
    )
    .trim()
    .to_owned();
    let wt = json(a, &["session", "show", &wt_id, "--json"]);
    assert_eq!(wt["workspace_id"], workspace.as_str());
    assert_eq!(wt["git"]["branch"], "feature");
    let listed = json(a, &["workspace", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], workspace.as_str());
    assert_eq!(
        strings(&listed[0]["folders"]),
        [worktree.to_str().unwrap(), on_a_str]
    );
    assert_eq!(listed[0]["sessions"], 2);

    // The secret's checksum is on A (its local index) and nowhere on the
    // server; the token in A's remote URL is nowhere either.
    ok(a, &["sync"]);
    let api = stint_e2e::Api::new(&server.url)
        .login("ada@example.com", stint_e2e::PASSWORD)
        .await
        .0;
    let everything = serde_json::to_string(&api.pull_everything().await).unwrap();
    let secret = sha256_hex(ENV);
    assert!(everything.contains(".env"), "the file is listed");
    assert!(
        !everything.contains(&secret),
        "the .env checksum reached the server"
    );
    assert!(!everything.contains("ghp_T0KEN"));
    assert!(
        everything.contains(&sha256_hex(MAIN)),
        "other checksums sync"
    );
    let (status, found) = api.get(&format!("/files/search?checksum={secret}")).await;
    assert_eq!((status, found), (200, serde_json::json!([])));

    // Which sessions touched B's main.rs: found by its workspace-relative
    // path in A's session, though B's folder is elsewhere.
    let found = json(
        b,
        &[
            "files",
            "which-sessions",
            &format!("{on_b_str}/src/main.rs"),
            "--json",
        ],
    );
    let sessions: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["file"]["workspace_session_id"].as_str().unwrap())
        .collect();
    assert!(sessions.contains(&id.as_str()), "{found}");
    // A third device whose shell hook runs in its own checkout, never
    // mapped: the command lands in A's session, found by its workspace
    // (and by its branch: the worktree's session is newer, on `feature`).
    let c = tempfile::tempdir().unwrap();
    let c = c.path();
    login(c, &server.url, "ada@example.com", false);
    let on_c = trees.path().join("third/app");
    clone_as(&origin, &on_c, "https://github.com/ada/app");
    std::fs::create_dir_all(on_c.join("src/deep")).unwrap();
    ok(c, &["sync"]);
    let deep = on_c.join("src/deep");
    ok(
        c,
        &[
            "hook",
            "--cwd",
            deep.to_str().unwrap(),
            "--",
            "cargo test --all",
        ],
    );
    let history = json(c, &["session", "history", &id, "--json"]);
    assert_eq!(history[0]["command"], "cargo test --all", "{history}");
    assert_eq!(
        json(c, &["workspace", "list", "--json"])[0]["folders"][0],
        on_c.to_str().unwrap()
    );

    // The server answers by workspace too.
    let (status, by_workspace) = api
        .get(&format!(
            "/workspaces/sessions?workspace_id={}",
            workspace
                .replace('/', "%2F")
                .replace('@', "%40")
                .replace(':', "%3A")
        ))
        .await;
    assert_eq!(status, 200, "{by_workspace}");
    // A's, the worktree's, and B's own (synced by B's agent).
    let mut found: Vec<&str> = by_workspace
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    let mut expected = [id.as_str(), wt_id.as_str(), own.as_str()];
    expected.sort_unstable();
    assert_eq!(found, expected, "{by_workspace}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_older_than_identities_is_given_its_own() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = stint_e2e::Server::start(server_dir.path()).await.unwrap();
    let a = tempfile::tempdir().unwrap();
    let a = a.path();
    let trees = tempfile::tempdir().unwrap();
    let repo = trees.path().join("app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "f.txt", "x");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "first"]);
    git(
        &repo,
        &["remote", "add", "origin", "https://github.com/ada/app"],
    );
    // A session as an older client made it: a path, no identity.
    let (api, _) = stint_e2e::Api::new(&server.url)
        .register("ada@example.com")
        .await;
    let mut made = vec![];
    for name in ["older", "old"] {
        let (status, made_now) = api
            .post(
                "/sessions",
                serde_json::json!({"name": name, "workspace_path": repo.to_str().unwrap()}),
            )
            .await;
        assert_eq!(status, 201, "{made_now}");
        assert_eq!(made_now["workspace_id"], Value::Null);
        made.push(made_now);
    }
    let old = &made[1];
    login(a, &server.url, "ada@example.com", false);
    ok(a, &["sync"]);
    let listed = json(a, &["workspace", "list", "--json"]);
    let workspace = listed[0]["id"].as_str().unwrap();
    assert!(workspace.starts_with("git:github.com/ada/app@"), "{listed}");
    assert_eq!(listed[0]["sessions"], 2);
    // Learning its identity is no edit of the user's: "recent" keeps its
    // order, each session its `updated_at`.
    let recent = json(
        a,
        &[
            "session",
            "list",
            "--workspace",
            repo.to_str().unwrap(),
            "--json",
        ],
    );
    let order: Vec<(&Value, &Value)> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (&s["name"], &s["updated_at"]))
        .collect();
    let want: Vec<(&Value, &Value)> = made
        .iter()
        .rev()
        .map(|s| (&s["name"], &s["updated_at"]))
        .collect();
    assert_eq!(order, want, "{recent}");
    ok(a, &["sync"]);
    let id = old["id"].as_str().unwrap();
    let (status, now) = api.get(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(now["workspace_id"], workspace, "migrated, and synced");
    assert_eq!(now["git"]["branch"], "main");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_without_git_is_recognized_by_its_content() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = stint_e2e::Server::start(server_dir.path()).await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    let trees = tempfile::tempdir().unwrap();
    let on_a = trees.path().join("a/notes");
    for (i, text) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        write(&on_a, &format!("n{i}.md"), text);
    }
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    // Named by its content once it is indexed.
    let id = indexed_session(a, None, &on_a);
    let workspace = json(a, &["session", "show", &id, "--json"])["workspace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(workspace.starts_with("fp:"), "{workspace}");
    // Edited after: A's folder keeps its identity.
    write(&on_a, "n0.md", "one, edited");
    let again = json(
        a,
        &[
            "session",
            "list",
            "--workspace",
            on_a.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(again[0]["id"], id.as_str());
    ok(a, &["sync"]);
    ok(b, &["sync"]);

    // B: a copy, and a copy edited a little, are the same workspace; an
    // unrelated folder is not.
    let copy = trees.path().join("b/notes copy");
    let edited = trees.path().join("b/notes edited");
    let unrelated = trees.path().join("b/other");
    for (i, text) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        write(&copy, &format!("n{i}.md"), text);
        write(&edited, &format!("n{i}.md"), text);
        write(&unrelated, &format!("x{i}.md"), text);
    }
    write(&edited, "n4.md", "five, edited on B");
    for (folder, found) in [(&copy, true), (&edited, true), (&unrelated, false)] {
        let listed = json(
            b,
            &[
                "session",
                "list",
                "--workspace",
                folder.to_str().unwrap(),
                "--json",
            ],
        );
        let ids: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.contains(&id.as_str()), found, "{}", folder.display());
    }
    let pre = json(b, &["session", "preflight", &id, "--json"]);
    assert!(pre["folder"].as_str().is_some(), "{pre}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_to_a_missing_folder_or_another_checkout_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let a = a.path();
    let trees = tempfile::tempdir().unwrap();
    let mine = trees.path().join("mine");
    let theirs = trees.path().join("theirs");
    for (dir, url) in [
        (&mine, "https://github.com/ada/app"),
        (&theirs, "https://github.com/bob/other"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "-q", "-b", "main"]);
        write(dir, "f.txt", url);
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", "first"]);
        git(dir, &["remote", "add", "origin", url]);
    }
    let id = ok(
        a,
        &["session", "start", "--workspace", mine.to_str().unwrap()],
    )
    .trim()
    .to_owned();
    let before = json(a, &["workspace", "list", "--json"]);
    let missing = trees.path().join("nowhere");
    let inside = mine.join("src");
    let plain = trees.path().join("plain");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::create_dir_all(&plain).unwrap();
    for (args, says) in [
        (
            vec!["workspace", "link", &id, inside.to_str().unwrap()],
            "is not the top folder of a git checkout of git:github.com/ada/app@",
        ),
        (
            vec!["workspace", "link", &id, plain.to_str().unwrap()],
            "is not the top folder of a git checkout",
        ),
        (
            vec!["workspace", "link", &id, missing.to_str().unwrap()],
            "is not a folder here",
        ),
        (
            vec!["workspace", "link", &id, theirs.to_str().unwrap()],
            "is a checkout of another workspace (git:github.com/bob/other@",
        ),
        (
            vec![
                "workspace",
                "link",
                "git:github.com/nobody/none@0123456789ab",
                mine.to_str().unwrap(),
            ],
            "no workspace git:github.com/nobody/none@0123456789ab",
        ),
        (
            vec!["workspace", "link", "not-a-session", mine.to_str().unwrap()],
            "neither a workspace",
        ),
        (
            vec!["workspace", "forget", &id, theirs.to_str().unwrap()],
            "is not a folder of",
        ),
        (
            vec!["session", "update", &id, "--breakpoint", "f.txt:0"],
            "breakpoints[0].line",
        ),
    ] {
        let out = stint(a, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(json(a, &["workspace", "list", "--json"]), before);
    // A second checkout of the same repository is accepted, and forgotten.
    let clone = trees.path().join("clone");
    clone_as(&mine, &clone, "git@github.com:ada/app.git");
    let linked = json(
        a,
        &["workspace", "link", &id, clone.to_str().unwrap(), "--json"],
    );
    assert_eq!(linked["folders"][0], clone.to_str().unwrap());
    // Named by a session, forgotten: the answer names the workspace.
    let said = ok(a, &["workspace", "forget", &id, clone.to_str().unwrap()]);
    let workspace = before[0]["id"].as_str().unwrap();
    assert_eq!(
        said.trim(),
        format!("forgot {} as a folder of {workspace}", clone.display())
    );
    assert_eq!(json(a, &["workspace", "list", "--json"]), before);
}

/// Runs `stint ARGS` on the device in `dir` on a terminal (`script`
/// gives it one), typing `typed`.
fn in_a_terminal(dir: &Path, args: &[&str], typed: &str) -> std::process::Output {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(stint_e2e::binary("stint").to_str().unwrap().to_owned())
        .chain(args.iter().map(|a| (*a).to_owned()))
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .env("STINT_DATA_DIR", dir)
        .env("STINT_KEYRING", "off");
    stint_e2e::device::run(command, typed)
}

/// What the terminal showed.
fn screen(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

/// As [`in_a_terminal`], expecting success; what the terminal showed.
fn on_a_terminal(dir: &Path, args: &[&str], typed: &str) -> String {
    let out = in_a_terminal(dir, args, typed);
    assert!(
        out.status.success(),
        "stint {args:?} on a terminal:\n{}",
        screen(&out)
    );
    screen(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_on_a_terminal_asks_where_the_checkout_is() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = stint_e2e::Server::start(server_dir.path()).await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    let trees = tempfile::tempdir().unwrap();
    let origin = origin_with(trees.path(), &[("src/main.rs", MAIN)]);
    let on_a = trees.path().join("a/app");
    let on_b = trees.path().join("b/wherever ö");
    clone_as(&origin, &on_a, "https://github.com/ada/app");
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    let id = indexed_session(a, None, &on_a);
    ok(a, &["sync"]);
    ok(b, &["sync"]);
    // Out of B's sight, as on another machine.
    std::fs::rename(&on_a, trees.path().join("parked")).unwrap();

    // Enter skips: nothing is linked, the clone is offered.
    let shown = on_a_terminal(b, &["session", "resume", &id], "\n");
    assert!(
        shown.contains("Where is the checkout of git:github.com/ada/app@"),
        "{shown}"
    );
    assert!(
        shown.contains("git clone https://github.com/ada/app"),
        "{shown}"
    );
    let listed = json(b, &["workspace", "list", "--json"]);
    assert_eq!(listed, serde_json::json!([]), "nothing linked: {listed}");

    // A folder that is no checkout of it is refused, and nothing linked.
    let empty = trees.path().join("b/empty");
    std::fs::create_dir_all(&empty).unwrap();
    let refused = in_a_terminal(
        b,
        &["session", "resume", &id],
        &format!("{}\n", empty.display()),
    );
    assert!(!refused.status.success(), "{}", screen(&refused));
    assert!(
        screen(&refused).contains("is not the top folder of a git checkout"),
        "{}",
        screen(&refused)
    );
    assert_eq!(
        json(b, &["workspace", "list", "--json"]),
        serde_json::json!([])
    );

    // The path typed: linked, and the resume goes on there.
    clone_as(&origin, &on_b, "git@github.com:ada/app.git");
    let on_b_str = on_b.to_str().unwrap();
    let shown = on_a_terminal(b, &["session", "resume", &id], &format!("{on_b_str}\n"));
    assert!(
        shown.contains(&format!("Preflight: {on_b_str}: same content (1 file)")),
        "{shown}"
    );
    assert!(shown.contains(&format!("cd '{on_b_str}'")), "{shown}");
    let listed = json(b, &["workspace", "list", "--json"]);
    assert_eq!(strings(&listed[0]["folders"]), [on_b_str], "{listed}");
    // Asked once: the next resume knows the folder and asks nothing.
    let again = on_a_terminal(b, &["session", "resume", &id], "");
    assert!(!again.contains("Where is the checkout"), "{again}");
}
