//! The `stint` CLI as a user runs it: separate processes over one data
//! directory, offline, with JSON for scripts, clear errors and exit codes;
//! and no acknowledged write lost to `kill -9`.

use std::process::{Command, Stdio};

use stint_e2e::binary;
use stint_e2e::device::{json, ok, stint};

#[test]
fn sessions_from_the_command_line_offline() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let id = ok(
        dir,
        &[
            "session",
            "start",
            "--name",
            "Auth refactor",
            "--workspace",
            "/src/app",
            "--tag",
            "auth",
        ],
    );
    let id = id.trim().to_owned();
    assert_eq!(id.len(), 36, "prints the new id: {id}");
    let short = &id[..13];
    ok(dir, &["session", "note", short, "Grace window is 30 s"]);
    ok(
        dir,
        &[
            "session",
            "note",
            short,
            "Use token families",
            "--decision",
            "--why",
            "replays must revoke",
        ],
    );
    ok(dir, &["session", "tag", short, "backend"]);
    ok(
        dir,
        &[
            "session",
            "update",
            short,
            "--name",
            "Auth, take two",
            "--cwd",
            "/src/app/src",
        ],
    );
    ok(
        dir,
        &[
            "session",
            "start",
            "--name",
            "Docs",
            "--workspace",
            "/src/docs",
            "--tag",
            "backend",
        ],
    );

    let list = json(dir, &["session", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Docs", "Auth, take two"]);
    assert!(list[0]["id"].is_string());
    let shown = json(dir, &["session", "show", &id, "--json"]);
    assert_eq!(shown["memory"]["facts"][0]["text"], "Grace window is 30 s");
    assert_eq!(
        shown["memory"]["decisions"][0]["rationale"],
        "replays must revoke"
    );
    assert_eq!(shown["tags"], serde_json::json!(["auth", "backend"]));
    assert_eq!(shown["terminal_state"]["cwd"], "/src/app/src");

    let fork = ok(dir, &["session", "fork", short, "--name", "Try async"]);
    let children = json(dir, &["session", "children", short, "--json"]);
    assert_eq!(children[0]["id"], fork.trim());
    let related = json(dir, &["session", "related", short, "--json"]);
    assert_eq!(related[0]["session"]["name"], "Try async");
    assert_eq!(related[1]["session"]["name"], "Docs");
    assert_eq!(
        ok(dir, &["session", "resume", short, "--open"]).trim(),
        "cd /src/app/src"
    );

    ok(dir, &["session", "update", fork.trim(), "--archive"]);
    assert_eq!(
        json(dir, &["session", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        json(dir, &["session", "list", "--all", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    ok(dir, &["session", "delete", fork.trim()]);
    assert_eq!(
        json(dir, &["session", "list", "--all", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let human = ok(dir, &["session", "list"]);
    assert!(
        human.contains("Auth, take two") && human.contains("/src/docs"),
        "{human}"
    );
}

/// The name is the one obvious argument: given first, as `--name`, or not
/// at all (then named after the folder and the day, or the parent's name).
#[test]
fn a_session_is_named_as_a_new_user_would_type_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ws = tempfile::tempdir().unwrap();
    let app = ws.path().join("my app");
    std::fs::create_dir_all(&app).unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let name_of = |id: &str| json(dir, &["session", "show", id.trim(), "--json"])["name"].clone();
    let start = |args: &[&str]| {
        let mut all = vec!["session", "start", "--workspace", app.to_str().unwrap()];
        all.extend(args);
        ok(dir, &all)
    };
    // (the arguments, the name)
    for (args, name) in [
        (&["my work"][..], "my work".to_owned()),
        (&["--name", "Auth refactor"][..], "Auth refactor".to_owned()),
        (&["Ünïcode ✓", "--tag", "auth"][..], "Ünïcode ✓".to_owned()),
        (&[][..], format!("my app {today}")),
    ] {
        assert_eq!(name_of(&start(args)), name, "{args:?}");
    }
    let both = stint(dir, &["session", "start", "a", "--name", "b"]);
    assert_eq!(both.status.code(), Some(2), "one name, not two");
    let parent = start(&["Parent"]);
    let parent = parent.trim();
    assert_eq!(
        name_of(&ok(dir, &["session", "fork", parent, "Try B"])),
        "Try B"
    );
    assert_eq!(
        name_of(&ok(dir, &["session", "fork", parent, "--name", "Try C"])),
        "Try C"
    );
    assert_eq!(
        name_of(&ok(dir, &["session", "fork", parent])),
        "Parent (fork)"
    );
    let long = start(&[&"n".repeat(200)]);
    let fork = ok(dir, &["session", "fork", long.trim()]);
    assert_eq!(
        name_of(&fork).as_str().unwrap().chars().count(),
        200,
        "cut to fit"
    );
}

/// The replica's memory cap: shown by `stint status`, set by
/// `STINT_REPLICA_CACHE_MB`, and a bad value refused before anything opens.
#[test]
fn the_replica_cache_is_shown_and_a_bad_value_refused() {
    let dir = tempfile::tempdir().unwrap();
    // (STINT_REPLICA_CACHE_MB, exit code, what `stint status` says)
    for (set, code, said) in [
        (None, 0, "at most 32 MB in memory"),
        (Some("8"), 0, "at most 8 MB in memory"),
        (
            Some("0"),
            4,
            "STINT_REPLICA_CACHE_MB: must be a whole number",
        ),
        (Some("-1"), 4, "not \"-1\""),
        (Some("lots"), 4, "not \"lots\""),
        (Some(""), 4, "STINT_REPLICA_CACHE_MB: must be"),
    ] {
        let mut command = stint_e2e::device::command(dir.path());
        command.arg("status");
        if let Some(set) = set {
            command.env("STINT_REPLICA_CACHE_MB", set);
        }
        let out = stint_e2e::device::run(command, "");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{set:?}: {text}");
        assert!(text.contains(said), "{set:?}: {text}");
    }
    let status = json(dir.path(), &["status", "--json"]);
    assert_eq!(status["replica_cache_bytes"], 32 * 1024 * 1024);
    // A bad value on a new device makes nothing.
    let fresh = dir.path().join("fresh");
    let mut command = stint_e2e::device::command(&fresh);
    command.arg("status").env("STINT_REPLICA_CACHE_MB", "0");
    assert_eq!(stint_e2e::device::run(command, "").status.code(), Some(4));
    assert!(!fresh.exists(), "nothing was made");
}

/// A recorded command cannot drive the terminal it is listed on: control
/// characters are shown escaped, one line per command.
#[test]
fn history_shows_control_characters_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let id = ok(dir, &["session", "start", "Escapes", "--workspace", "/w"]);
    let id = id.trim();
    for command in ["printf '\u{1b}[2J'", "echo one\necho two", "echo ✓"] {
        ok(
            dir,
            &["hook", "--cwd", "/w", "--session", id, "--", command],
        );
    }
    let listed = ok(dir, &["session", "history", id]);
    assert_eq!(
        listed,
        "1  printf '\\u{1b}[2J'\n2  echo one\\necho two\n3  echo ✓\n"
    );
    let raw = json(dir, &["session", "history", id, "--json"]);
    assert_eq!(raw[0]["command"], "printf '\u{1b}[2J'", "kept as recorded");
}

#[test]
fn errors_are_clear_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // `check(args, exit code, message fragment)`
    let check = |args: &[&str], code: i32, fragment: &str| {
        let out = stint(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    };
    check(&["session", "show", "0000"], 3, "no session `0000`");
    check(&["session", "show", "ab"], 3, "at least 4 characters");
    let unknown = "01a23b29-70c1-77e6-bfd7-3593b322b6ab";
    check(
        &["session", "resume", unknown, "--open"],
        3,
        &format!("no session {unknown}"),
    );
    check(
        &["session", "start", "--name", "a\u{7}b"],
        4,
        "invalid name",
    );
    check(
        &["session", "start", "--name", "x", "--tag", "Bad Tag"],
        4,
        "invalid tags[0]",
    );
    check(&["session", "update", "0000"], 1, "nothing to change");
    check(&["session", "frobnicate"], 2, "unrecognized subcommand");
    check(&["session", "note", "x"], 2, "required");
    let help = ok(dir, &["session", "start", "--help"]);
    assert!(help.contains("Examples:"), "{help}");
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    let mut killed = 0;
    for i in 0..60 {
        let mut child = Command::new(binary("stint"))
            .args([
                "session",
                "start",
                "--name",
                &format!("s{i}"),
                "--workspace",
                "/w",
            ])
            .env("STINT_DATA_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if i % 10 == 5 {
            // SIGKILL somewhere in the middle of opening, writing or flushing.
            std::thread::sleep(std::time::Duration::from_millis(2 + (i as u64 % 7)));
            child.kill().unwrap();
            let _ = child.wait();
            killed += 1;
            continue;
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "write {i} after {killed} kills failed"
        );
        // Printed id = acknowledged: flushed before stint printed it.
        acknowledged.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    let all = json(
        dir.path(),
        &["session", "list", "--limit", "100000", "--json"],
    );
    let present: std::collections::BTreeSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in &acknowledged {
        assert!(
            present.contains(id.as_str()),
            "acknowledged session {id} lost"
        );
    }
    assert_eq!(acknowledged.len(), 54);
    assert!(present.len() >= 54 && present.len() <= 60);
}
