//! The VS Code extension (`editors/vscode`) inside the real VS Code:
//! code-server's server and extension host, its workbench in headless
//! Chromium (`editors/vscode/test/run.mjs`; see
//! `../shared/notes/vscode-extension-tests.md`), against a real
//! `stint agent`. Each run is one phase of `editors/vscode/test/suite.ts`
//! in a fresh window (its own user-data-dir); between runs, the replica is
//! read through the CLI.
//!
//! - What the window shows (tabs in two groups, a pinned one, cursors after
//!   an emoji, a two-line selection and a second cursor, breakpoints with a
//!   condition, a log message and one disabled) is exactly what the
//!   session holds; a file outside the folder is not.
//! - Resume in a fresh window shows exactly that again, and so does a
//!   resume asked from outside (`stint session resume ID --open`) in the
//!   window open on the folder.
//! - The same session resumes in Neovim, and what Neovim then captures
//!   resumes in VS Code (columns in characters both ways).
//! - With no owner running the extension starts `stint agent`; without
//!   `stint` it says so once.
//!
//! A screenshot of the captured window goes to `$STINT_SCREENSHOTS` when
//! set (the README's comes from there).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use stint_e2e::device::{Agent, json as stint_json};
use stint_e2e::editors::{CanonicalizeOrCreate, DAP, Nvim, agents_of, report_command, write};

fn extension() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode")
}

/// The extension and its test suite, type-checked against the generated
/// protocol (esbuild only strips types) and bundled from the sources as
/// they are: once for all the tests here, which run at the same time.
fn build_extension() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        for step in ["check", "build"] {
            let built = Command::new("npm")
                .args(["run", "--silent", step])
                .current_dir(extension())
                .output()
                .expect("npm runs (scripts/install-deps.sh installs Node)");
            assert!(
                built.status.success(),
                "the extension's {step}: {}{}",
                String::from_utf8_lossy(&built.stdout),
                String::from_utf8_lossy(&built.stderr)
            );
        }
    });
}

/// VS Code on one data directory.
struct Code {
    data: PathBuf,
    out: tempfile::TempDir,
}

impl Code {
    fn new(data: &Path) -> Self {
        Self {
            data: data.to_owned(),
            out: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `phase` in a fresh window on `folder`, with `stint` as the
    /// extension's program; what the phase saved.
    fn run(
        &self,
        folder: &Path,
        phase: &str,
        expect: Option<&Value>,
        stint: &Path,
        screenshot: Option<&Path>,
    ) -> Value {
        let mut c = Command::new("node");
        c.arg(extension().join("test/run.mjs"))
            .args(["--folder", folder.to_str().unwrap(), "--phase", phase])
            .args(["--out", self.out.path().to_str().unwrap()])
            .args(["--stint", stint.to_str().unwrap()])
            .env("STINT_DATA_DIR", &self.data)
            .env("STINT_KEYRING", "off");
        if let Some(expect) = expect {
            let file = self.out.path().join(format!("{phase}-expect.json"));
            std::fs::write(&file, expect.to_string()).unwrap();
            c.args(["--expect", file.to_str().unwrap()]);
        }
        if let Some(shot) = screenshot {
            c.args(["--screenshot", shot.to_str().unwrap()]);
        }
        let out = c.output().expect("node runs");
        assert!(
            out.status.success(),
            "the {phase} phase failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let saved = std::fs::read(self.out.path().join(format!("{phase}.json")))
            .unwrap_or_else(|e| panic!("the {phase} phase saved nothing: {e}"));
        serde_json::from_slice(&saved).unwrap()
    }
}

/// A session's tabs as (file, line, column, group, pinned, selections).
fn vscode_tabs(session: &Value) -> Vec<Value> {
    session["editor_state"]["open_tabs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            json!([
                t["file_path"],
                t["cursor"]["line"],
                t["cursor"]["column"],
                t["group"],
                t["is_pinned"],
                t["selections"]
            ])
        })
        .collect()
}

/// A session's breakpoints without their anchors.
fn breakpoints(session: &Value) -> Value {
    let mut bps = session["breakpoints"].clone();
    for bp in bps.as_array_mut().unwrap() {
        bp.as_object_mut().unwrap().remove("anchor");
    }
    bps
}

/// What a Neovim that resumed `id` shows, as the Neovim test reads it.
fn nvim_resume(nvim: &Nvim, id: &str) -> Value {
    let report = nvim.data.join("nvim-report.json");
    nvim.run(
        nvim.data.parent().unwrap(),
        true,
        None,
        &[
            &format!("StintResume {id}"),
            "lua require('stint').flush()",
            &report_command(&report),
        ],
    );
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

#[test]
fn vscode_captures_the_window_and_resumes_it_in_a_fresh_one_and_in_neovim() {
    build_extension();
    let trees = tempfile::tempdir().unwrap();
    let root = trees.path().to_owned().canonicalize_or_create();
    let data = root.join("data");
    let ws = root.join("my app").canonicalize_or_create();
    write(
        &ws,
        "a.js",
        "let x = 1;\nx++;\nconst ü = \"😀\"; x++;\nconsole.log(x);\n",
    );
    write(&ws, "notes.md", "# Notes\n\nsome text\n");
    write(
        &ws,
        "src/ü.js",
        "function f(x) {\n  return x;\n}\nf(1);\nf(2);\nf(3);\n",
    );
    write(&root, "outside.js", "not the workspace's\n");
    let dap = root.join("dap");
    write(&dap, "lua/dap/breakpoints.lua", DAP);
    std::fs::create_dir_all(&data).unwrap();
    let agent = Agent::start(&data);
    let stint = stint_e2e::binary("stint");
    let code = Code::new(&data);

    // Capture: the suite opens the files, moves the cursors, sets the
    // breakpoints, and waits for the extension's update.
    // The README's screenshot comes from here, with `$STINT_SCREENSHOTS` set.
    let shot = std::env::var_os("STINT_SCREENSHOTS").map(|dir| {
        std::fs::create_dir_all(&dir).unwrap();
        PathBuf::from(dir).join("vscode.png")
    });
    let captured = code.run(&ws, "capture", None, &stint, shot.as_deref());
    let id = captured["session"].as_str().unwrap().to_owned();
    let listed = stint_json(
        &data,
        &[
            "session",
            "list",
            "--workspace",
            ws.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(listed.as_array().unwrap().len(), 1, "one session: {listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    let session = stint_json(&data, &["session", "show", &id, "--json"]);
    // Pinned notes.md first in group 1, then a.js with its cursor after the
    // emoji (UTF-16 offset 13 is character 13); src/ü.js in group 2 with a
    // selection from line 2 to the end of line 3 (one character) and a
    // second cursor. outside.js is not there.
    assert_eq!(
        vscode_tabs(&session),
        [
            json!(["notes.md", 1, 1, 1, true, []]),
            json!(["a.js", 3, 13, 1, false, []]),
            json!(["src/ü.js", 3, 2, 2, false, [
                {"start": {"line": 2, "column": 1}, "end": {"line": 3, "column": 2}},
                {"start": {"line": 5, "column": 3}, "end": {"line": 5, "column": 3}},
            ]]),
        ],
        "{session}"
    );
    let editor = &session["editor_state"];
    assert_eq!(editor["active_tab_index"], 2, "{editor}");
    assert_eq!(editor["layout"], "split_vertical", "{editor}");
    assert!(
        editor["editor"]
            .as_str()
            .is_some_and(|e| e.starts_with("code-server 1.")),
        "{editor}"
    );
    assert!(
        editor["device"].as_str().is_some_and(|d| !d.is_empty()),
        "{editor}"
    );
    assert_eq!(
        breakpoints(&session),
        json!([
            {"file_path": "a.js", "line": 2, "condition": "x > 1", "enabled": true},
            {"file_path": "src/ü.js", "line": 1, "condition": null, "log_message": "hit {x}", "enabled": true},
            {"file_path": "src/ü.js", "line": 4, "condition": null, "enabled": false},
        ])
    );

    // A fresh window: the same tabs in the same groups, the same
    // selections, the same active tab and breakpoints; not outside.js.
    let mut want = captured;
    want["shown"]["tabs"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["file"] != "../outside.js");
    let resumed = code.run(&ws, "resume", Some(&want), &stint, None);
    assert_eq!(resumed["shown"], want["shown"]);
    println!(
        "resume of 3 tabs and 3 breakpoints: {} ms",
        resumed["took_ms"]
    );

    // Asked from outside, with a window open on the folder: the window
    // resumes it, and `--open` prints no command to run.
    let outside = std::thread::scope(|scope| {
        let window = scope.spawn(|| code.run(&ws, "outside", Some(&want), &stint, None));
        let listening = code.out.path().join("listening");
        let heard = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(stint_e2e::eventually(Duration::from_secs(120), || {
                let there = listening.exists() || window.is_finished();
                async move { there }
            }));
        assert!(heard && listening.exists(), "the window listens");
        let asked = stint_e2e::device::stint(&data, &["session", "resume", &id, "--open"]);
        assert!(asked.status.success(), "{asked:?}");
        assert_eq!(String::from_utf8_lossy(&asked.stdout), "", "nothing to run");
        let said = String::from_utf8_lossy(&asked.stderr).into_owned();
        assert!(
            said.starts_with("stint: resuming in code-server 1.")
                && said.contains(&format!("(the window on {})", ws.display())),
            "{said}"
        );
        window.join().unwrap()
    });
    assert_eq!(outside["shown"], want["shown"], "{outside}");
    assert_eq!(outside["problems"], json!([]), "{outside}");
    // That window closed: `--open` prints the commands again.
    let printed = stint_e2e::device::ok(&data, &["session", "resume", &id, "--open"]);
    assert!(printed.starts_with("code "), "{printed}");

    // Neovim resumes what VS Code captured: the files in order, the
    // cursor on its line (VS Code's was past the end of `}`, where
    // Neovim's normal mode cannot be: on its last character), the enabled
    // breakpoints with their condition and log message.
    let nvim = Nvim {
        data: data.clone(),
        dap,
    };
    let in_nvim = nvim_resume(&nvim, &id);
    assert_eq!(
        in_nvim["buffers"],
        json!(["notes.md", "a.js", "src/ü.js"]),
        "{in_nvim}"
    );
    assert_eq!(in_nvim["current"], "src/ü.js", "{in_nvim}");
    assert_eq!(in_nvim["cursor"], json!([3, 0]), "{in_nvim}");
    assert_eq!(
        in_nvim["breakpoints"],
        json!(["a.js:2:x > 1:", "src/ü.js:1::hit {x}"]),
        "{in_nvim}"
    );

    // What Neovim captures resumes in VS Code: a.js with the cursor after
    // the emoji (byte 17 in Neovim, UTF-16 13 in VS Code, character 13 in
    // the session), a breakpoint with a condition.
    nvim.run(
        &ws,
        true,
        None,
        &[
            "edit a.js",
            "call cursor(3, 17)",
            "lua require('dap.breakpoints').set({condition = 'x == 2'}, vim.fn.bufnr('a.js'), 4)",
            "lua require('stint').flush()",
        ],
    );
    let session = stint_json(&data, &["session", "show", &id, "--json"]);
    assert!(
        session["editor_state"]["editor"]
            .as_str()
            .is_some_and(|e| e.starts_with("Neovim")),
        "the editor that wrote it is recorded: {session}"
    );
    assert_eq!(
        vscode_tabs(&session),
        [json!(["a.js", 3, 13, null, false, []])],
        "{session}"
    );
    let from_nvim = json!({
        "session": id,
        "shown": {
            "tabs": [{"file": "a.js", "group": 1, "pinned": false, "selections": [[2, 13, 2, 13]]}],
            "active": "a.js",
            "breakpoints": [{"file": "a.js", "line": 3, "condition": "x == 2", "log": null, "enabled": true}],
        },
    });
    let resumed = code.run(&ws, "resume", Some(&from_nvim), &stint, None);
    assert_eq!(resumed["shown"], from_nvim["shown"]);
    agent.stop();
}

#[test]
fn vscode_starts_an_agent_when_none_runs_and_says_when_stint_is_missing() {
    build_extension();
    let trees = tempfile::tempdir().unwrap();
    let root = trees.path().to_owned().canonicalize_or_create();
    let data = root.join("data");
    let ws = root.join("app").canonicalize_or_create();
    write(&ws, "a.js", "let x = 1;\nx++;\n");
    write(&ws, "notes.md", "# Notes\n");
    std::fs::create_dir_all(&data).unwrap();
    let code = Code::new(&data);

    let alone = code.run(&ws, "alone", None, &stint_e2e::binary("stint"), None);
    let started = agents_of(&data);
    assert_eq!(started.len(), 1, "one agent started for the editor");
    let session = stint_json(
        &data,
        &[
            "session",
            "show",
            alone["session"].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        vscode_tabs(&session),
        [json!(["a.js", 2, 3, 1, false, []])],
        "{session}"
    );
    // The commands: a new session with a note and a decision, its fork,
    // and the picker resuming the newest (the fork).
    let ran = code.run(&ws, "commands", None, &stint_e2e::binary("stint"), None);
    assert_eq!(ran["problems"], json!([]), "{ran}");
    let show = |key: &str| {
        stint_json(
            &data,
            &["session", "show", ran[key].as_str().unwrap(), "--json"],
        )
    };
    let second = show("second");
    assert_eq!(second["name"], "Second ✓");
    assert_eq!(second["memory"]["facts"][0]["text"], "tokens rotate");
    assert_eq!(
        second["memory"]["decisions"][0]["rationale"],
        "OWASP says so"
    );
    let fork = show("fork");
    assert_eq!(fork["name"], "Try redb");
    assert_eq!(fork["parent_session_id"], ran["second"]);
    assert_eq!(
        vscode_tabs(&fork)
            .iter()
            .map(|t| t[0].clone())
            .collect::<Vec<_>>(),
        [json!("a.js"), json!("notes.md")],
        "{fork}"
    );
    for pid in started {
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        assert!(killed.is_ok_and(|s| s.success()));
    }

    let missing = code.run(&ws, "missing", None, &root.join("no/such/stint"), None);
    assert_eq!(
        missing["problems"].as_array().unwrap().len(),
        1,
        "{missing}"
    );
}

#[test]
fn the_extension_packages_as_a_vsix_that_vs_code_installs() {
    build_extension();
    let home = tempfile::tempdir().unwrap();
    let vsix = home.path().join("stint.vsix");
    let packaged = Command::new("npx")
        .args([
            "--no-install",
            "vsce",
            "package",
            "--no-dependencies",
            "--out",
        ])
        .arg(&vsix)
        .current_dir(extension())
        .output()
        .expect("npx runs");
    assert!(
        packaged.status.success(),
        "vsce packages it: {}{}",
        String::from_utf8_lossy(&packaged.stdout),
        String::from_utf8_lossy(&packaged.stderr)
    );
    let code = |args: &[&str]| {
        let out = Command::new(extension().join("host/node_modules/.bin/code-server"))
            .args([
                "--extensions-dir",
                home.path().join("ext").to_str().unwrap(),
            ])
            .args(["--user-data-dir", home.path().join("ud").to_str().unwrap()])
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("xdg"))
            .output()
            .expect("code-server runs (scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "code-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    code(&["--install-extension", vsix.to_str().unwrap()]);
    let listed = code(&["--list-extensions", "--show-versions"]);
    assert!(
        listed.lines().any(|l| l == "stint-dev.stint@0.1.0"),
        "{listed}"
    );
    let installed = home.path().join("ext/stint-dev.stint-0.1.0");
    for file in ["package.json", "dist/extension.js"] {
        assert!(installed.join(file).is_file(), "{file} is installed");
    }
}
