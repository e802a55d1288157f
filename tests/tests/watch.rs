//! `stint watch` and `stint files` on real temp trees: checksums equal to
//! `sha256sum`'s, incremental restarts, the agent following changes live
//! and again after a restart, and "which sessions touched this?" answered
//! from the replica and from the server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use stint_e2e::Server;
use stint_e2e::device::{Agent, json, login, ok};

/// Writes `count` files of varied sizes under `root`.
fn generate(root: &Path, count: usize) {
    for i in 0..count {
        let path = root.join(format!("dir{}/sub{}/file{i}.txt", i % 4, i % 3));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let content: Vec<u8> = (0..(i * 97) % 5000)
            .map(|j| u8::try_from((i * 31 + j) % 251).unwrap())
            .collect();
        std::fs::write(path, content).unwrap();
    }
}

/// `sha256sum` of every file under `root`: relative path → checksum.
fn sha256sum(root: &Path) -> BTreeMap<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -print0 | xargs -0 sha256sum")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (sum, path) = line.split_once("  ").unwrap();
            (path.trim_start_matches("./").to_owned(), sum.to_owned())
        })
        .collect()
}

/// What `stint files --session ID --json` lists: path → checksum.
fn indexed(dir: &Path, session: &str) -> BTreeMap<String, String> {
    json(dir, &["files", "--session", session, "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file_path"].as_str().unwrap().to_owned(),
                f["checksum"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn watch_once(dir: &Path, root: &Path) -> Value {
    json(dir, &["watch", root.to_str().unwrap(), "--once", "--json"])
}

#[test]
fn the_initial_index_shows_its_progress_on_a_terminal() {
    let device = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    // Enough to hash for a while in a debug build: the progress is drawn
    // every 100 ms.
    for i in 0..48_u8 {
        std::fs::write(tree.path().join(format!("big{i}.bin")), vec![i; 1 << 20]).unwrap();
    }
    // The progress bar is for people: it is drawn on a terminal only, and
    // `script` gives the command one.
    let line = format!(
        "'{}' watch '{}' --once",
        stint_e2e::binary("stint").display(),
        tree.path().display()
    );
    let out = Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--flush",
            "--command",
            &line,
            "/dev/null",
        ])
        .env("STINT_DATA_DIR", device.path())
        .env("STINT_KEYRING", "off")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    for part in ["indexing", "/48 files", "MiB/s", "ETA", "indexed 48 files"] {
        assert!(shown.contains(part), "{part:?} not shown:\n{shown}");
    }
}

#[test]
fn an_index_equal_to_sha256sum_kept_current_across_runs() {
    let device = tempfile::tempdir().unwrap();
    let dir = device.path();
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().canonicalize().unwrap();
    generate(&root, 300);

    let first = watch_once(dir, &root);
    assert_eq!(first["state"], "watching");
    assert_eq!(first["files"], 300);
    assert_eq!(first["files_hashed"], 300);
    let session = first["session_id"].as_str().unwrap().to_owned();
    assert_eq!(indexed(dir, &session), sha256sum(&root));

    // Sizes, MIME types and times come with the checksums.
    let files = json(dir, &["files", "--session", &session, "--json"]);
    let one = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file_path"] == "dir1/sub1/file1.txt")
        .unwrap()
        .clone();
    assert_eq!(one["file_size"], 97);
    assert_eq!(one["mime_type"], "text/plain");
    assert!(one["modified_at"].is_string());

    // A later run hashes only what changed, and the index follows.
    std::fs::write(root.join("dir0/sub0/file0.txt"), b"edited").unwrap();
    std::fs::remove_file(root.join("dir1/sub1/file1.txt")).unwrap();
    std::fs::write(root.join("new.md"), b"# new").unwrap();
    let again = watch_once(dir, &root);
    assert_eq!(again["session_id"], first["session_id"], "the same session");
    assert_eq!(again["files_to_hash"], 2);
    assert_eq!(again["files"], 300);
    assert_eq!(indexed(dir, &session), sha256sum(&root));

    // --changed-since lists only what changed after a moment.
    let since = chrono::Utc::now().to_rfc3339();
    std::fs::write(root.join("later.txt"), b"later").unwrap();
    watch_once(dir, &root);
    let changed = json(
        dir,
        &[
            "files",
            "--session",
            &session,
            "--changed-since",
            &since,
            "--json",
        ],
    );
    let paths: Vec<&str> = changed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["later.txt"]);

    // Bad input changes nothing and says why.
    let missing = tree.path().join("missing");
    let out = stint_e2e::device::stint(dir, &["watch", missing.to_str().unwrap(), "--once"]);
    assert_eq!(out.status.code(), Some(4));
    let out = stint_e2e::device::stint(
        dir,
        &[
            "files",
            "--session",
            &session,
            "--changed-since",
            "yesterday",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

/// Polls `stint files` until the file at `rel` has `sha` (or is gone, for
/// `None`).
fn wait_for_file(dir: &Path, session: &str, rel: &str, sha: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files = indexed(dir, session);
        if files.get(rel).map(String::as_str) == sha {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{rel} never became {sha:?}: {:?}",
            files.get(rel)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sha(content: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content))
}

#[test]
fn the_agent_follows_changes_live_and_after_a_restart() {
    let device = tempfile::tempdir().unwrap();
    let dir = device.path();
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().canonicalize().unwrap();
    generate(&root, 50);

    let agent = Agent::start(dir);
    let status = json(dir, &["watch", root.to_str().unwrap(), "--json"]);
    assert_eq!(status["files"], 50, "the agent indexed the tree");
    let session = status["session_id"].as_str().unwrap().to_owned();

    std::fs::write(root.join("live.rs"), b"fn live() {}").unwrap();
    wait_for_file(dir, &session, "live.rs", Some(&sha(b"fn live() {}")));
    std::fs::remove_file(root.join("live.rs")).unwrap();
    wait_for_file(dir, &session, "live.rs", None);

    // Stopped, then changed, then started again: the agent watches the
    // workspace again by itself and catches up.
    agent.stop();
    std::fs::write(root.join("while-away.txt"), b"away").unwrap();
    let agent = Agent::start(dir);
    wait_for_file(dir, &session, "while-away.txt", Some(&sha(b"away")));
    assert_eq!(indexed(dir, &session), sha256sum(&root));

    // --stop forgets the workspace: a new file is no longer indexed.
    ok(dir, &["watch", root.to_str().unwrap(), "--stop"]);
    agent.stop();
    std::fs::write(root.join("unwatched.txt"), b"x").unwrap();
    let agent = Agent::start(dir);
    ok(dir, &["status"]);
    assert!(!indexed(dir, &session).contains_key("unwatched.txt"));
    agent.stop();
}

#[tokio::test]
async fn which_sessions_touched_a_file_from_the_replica_and_the_server() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, register) in [(a.path(), true), (b.path(), false)] {
        login(dir, &server.url, "ada@example.com", register);
    }
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/main.rs"), b"fn main() {}").unwrap();
    let status = watch_once(a.path(), &root);
    let session = status["session_id"].as_str().unwrap().to_owned();
    let checksum = sha(b"fn main() {}");

    // On device A, from its replica: by path and by content.
    let by_path = json(
        a.path(),
        &[
            "files",
            "which-sessions",
            root.join("src/main.rs").to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(by_path[0]["file"]["workspace_session_id"], session.as_str());
    assert_eq!(by_path[0]["source"], "replica");
    let by_sum = json(a.path(), &["files", "which-sessions", &checksum, "--json"]);
    assert_eq!(by_sum.as_array().unwrap().len(), 1);

    // Device B has not synced: the server answers.
    ok(a.path(), &["sync"]);
    let remote = json(b.path(), &["files", "which-sessions", &checksum, "--json"]);
    assert_eq!(remote[0]["file"]["workspace_session_id"], session.as_str());
    assert_eq!(remote[0]["source"], "server");
    // After a sync, B's own replica knows it too.
    ok(b.path(), &["sync"]);
    let local = json(b.path(), &["files", "which-sessions", &checksum, "--json"]);
    assert_eq!(local[0]["source"], "replica");
    assert_eq!(
        local.as_array().unwrap().len(),
        1,
        "no duplicate from the server"
    );
}
