//! The Neovim plugin (`editors/nvim`) in Debian's real Neovim, headless,
//! against a real `stint agent`: what Neovim shows is what the replica
//! holds (read through the CLI), and `:StintResume` in a fresh Neovim,
//! started elsewhere, brings exactly that back.
//!
//! nvim-dap is not on any registry this machine reaches, so its one
//! module the plugin uses, `dap.breakpoints` (`get()`, `set(opts, buf,
//! line)`), is stood in for by a file of the same API in a temp folder.

use std::process::Command;

use serde_json::{Value, json};
use stint_e2e::device::{Agent, json as stint_json, ok};
use stint_e2e::editors::{CanonicalizeOrCreate, DAP, Nvim, agents_of, report_command, tabs, write};

#[test]
fn neovim_captures_its_session_and_resumes_it_elsewhere() {
    let data = tempfile::tempdir().unwrap();
    let trees = tempfile::tempdir().unwrap();
    let ws = trees.path().join("crème app").canonicalize_or_create();
    write(
        &ws,
        "src/main.rs",
        "fn main() {\n    let café = \"ü\";\n    run(café);\n}\n",
    );
    write(&ws, "src/lib.rs", "pub fn run(_: &str) {}\n");
    write(&ws, "README.md", "# App\n\nRead me.\n");
    let outside = trees.path().join("elsewhere.txt");
    std::fs::write(&outside, "not the workspace's\n").unwrap();
    let dap = trees.path().join("dap");
    write(&dap, "lua/dap/breakpoints.lua", DAP);
    let nvim = Nvim {
        data: data.path().to_owned(),
        dap,
    };
    let agent = Agent::start(data.path());

    // Neovim: README (line 3), then main.rs in a split (the cursor after
    // `café`), lib.rs hidden; a file outside the workspace; two
    // breakpoints. README, shown again, is back at its line 3.
    nvim.run(
        &ws,
        true,
        None,
        &[
            "edit README.md",
            "call cursor(3, 3)",
            "edit src/lib.rs",
            "edit src/main.rs",
            "call cursor(2, 14)",
            "split README.md",
            &format!("edit {}", outside.display()),
            "edit README.md",
            "wincmd j",
            "lua require('dap.breakpoints').set({condition = 'café == \"ü\"'}, vim.fn.bufnr('src/main.rs'), 3)",
            "lua require('dap.breakpoints').set({}, vim.fn.bufnr('src/lib.rs'), 1)",
            "StintNote the cache is per tenant",
            "StintDecision ports come from the environment",
            "lua require('stint').flush()",
        ],
    );
    let ws_str = ws.to_str().unwrap();
    let listed = stint_json(
        data.path(),
        &["session", "list", "--workspace", ws_str, "--json"],
    );
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "one session, started by the plugin: {listed}"
    );
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let session = stint_json(data.path(), &["session", "show", &id, "--json"]);
    // Windows first (README above, main.rs below: the current one), then
    // the hidden buffer; the file outside is not sent. The column is in
    // characters: byte 14 of `    let café = ` (after the é's two bytes)
    // is its 13th character.
    assert_eq!(
        tabs(&session),
        [
            ("README.md".to_owned(), 3, 3),
            ("src/main.rs".to_owned(), 2, 13),
            ("src/lib.rs".to_owned(), 1, 1),
        ],
        "{session}"
    );
    let editor = &session["editor_state"];
    assert_eq!(editor["active_tab_index"], 1);
    assert!(
        editor["editor"].as_str().unwrap().starts_with("Neovim 0."),
        "{editor}"
    );
    assert!(
        editor["device"].as_str().is_some_and(|d| !d.is_empty()),
        "{editor}"
    );
    assert_eq!(session["terminal_state"]["cwd"], ws_str);
    assert_eq!(
        session["breakpoints"],
        json!([
            {"file_path": "src/lib.rs", "line": 1, "condition": null, "enabled": true,
             "anchor": session["breakpoints"][0]["anchor"]},
            {"file_path": "src/main.rs", "line": 3, "condition": "café == \"ü\"", "enabled": true,
             "anchor": session["breakpoints"][1]["anchor"]},
        ])
    );
    assert_eq!(
        session["memory"]["facts"][0]["text"],
        "the cache is per tenant"
    );
    assert_eq!(
        session["memory"]["decisions"][0]["text"],
        "ports come from the environment"
    );

    // A fresh Neovim started elsewhere: :StintResume brings it back.
    let report = trees.path().join("report.json");
    let out = nvim.run(
        trees.path(),
        true,
        None,
        &[
            &format!("StintResume {id}"),
            "lua require('stint').flush()",
            &report_command(&report),
        ],
    );
    // It says what it compared: nothing, as nobody indexed the folder.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("resumed crème app")
            && said.contains("content not compared (the session has no file index)"),
        "{said}"
    );
    let resumed: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(resumed["cwd"], ws_str, "{resumed}");
    assert_eq!(resumed["current"], "src/main.rs", "{resumed}");
    assert_eq!(
        resumed["cursor"],
        json!([2, 13]),
        "character 13 is byte 13 (0-based): {resumed}"
    );
    assert_eq!(
        resumed["buffers"],
        json!(["README.md", "src/main.rs", "src/lib.rs"]),
        "{resumed}"
    );
    assert_eq!(
        resumed["breakpoints"],
        json!(["src/lib.rs:1::", "src/main.rs:3:café == \"ü\":"]),
        "{resumed}"
    );

    // A Neovim that shows none of the folder's files (opened to run a
    // command, say) leaves what the session recorded as it was.
    let recorded = tabs(&stint_json(
        data.path(),
        &["session", "show", &id, "--json"],
    ));
    nvim.run(
        &ws,
        true,
        None,
        &["StintSession", "lua require('stint').flush()"],
    );
    let kept = stint_json(data.path(), &["session", "show", &id, "--json"]);
    assert_eq!(tabs(&kept), recorded, "{kept}");

    // Neovim in a folder inside the workspace records into its session,
    // the paths relative to the workspace.
    nvim.run(
        &ws.join("src"),
        false,
        None,
        &["edit lib.rs", "call cursor(1, 8)"],
    );
    let listed = stint_json(
        data.path(),
        &["session", "list", "--workspace", ws_str, "--json"],
    );
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "no session of its own: {listed}"
    );
    let inside = stint_json(data.path(), &["session", "show", &id, "--json"]);
    assert_eq!(tabs(&inside), [("src/lib.rs".to_owned(), 1, 8)], "{inside}");

    // No owner running: the plugin starts `stint agent`, which outlives
    // Neovim, so the replica is never held by the editor.
    let alone = tempfile::tempdir().unwrap();
    let lonely = Nvim {
        data: alone.path().to_owned(),
        dap: nvim.dap.clone(),
    };
    lonely.run(&ws, false, None, &["edit src/lib.rs", "call cursor(1, 5)"]);
    let started = agents_of(alone.path());
    assert_eq!(started.len(), 1, "one agent started for the editor");
    let listed = stint_json(alone.path(), &["session", "list", "--json"]);
    assert_eq!(tabs(&listed[0]), [("src/lib.rs".to_owned(), 1, 5)]);
    for pid in started {
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        assert!(killed.is_ok_and(|s| s.success()));
    }

    // No `stint` on PATH: it says so, and Neovim works on.
    let out = nvim.run(
        &ws,
        false,
        Some("/usr/bin:/bin"),
        &["edit README.md", "StintSession"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("`stint` is not installed or not on PATH"),
        "{said}"
    );
    ok(data.path(), &["session", "list"]);
    agent.stop();
}
