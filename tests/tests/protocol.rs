//! The local protocol from outside, as an editor's plugin speaks it: the
//! real `stint rpc` (alone, and relaying to a real `stint agent`) and the
//! agent's socket, fed JSON-RPC lines, good and hostile. Each bad message
//! gets a clear error and changes nothing.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::{Value, json};
use stint_e2e::device::{Agent, command, json as stint_json, ok, run};
use stint_e2e::editors::Plugin;

/// Feeds `lines` to `stint rpc` on the device in `dir`; its answers.
fn rpc(dir: &Path, lines: &[String]) -> Vec<Value> {
    let mut c = command(dir);
    c.arg("rpc");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = run(c, &input);
    assert!(
        out.status.success(),
        "stint rpc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn hello(id: u64, protocol: u64) -> String {
    request(
        id,
        "hello",
        json!({"protocol": protocol, "client": "stint-test 0.1"}),
    )
}

/// The lines of a conversation that exercises every kind of answer, and
/// checks of what came back.
fn conversation(workspace: &Path) -> Vec<String> {
    let ws = workspace.to_str().unwrap();
    vec![
        hello(1, 1),
        request(
            2,
            "start_session",
            json!({"session": {"name": "Débogage 🐛", "workspace": ws, "tags": []}}),
        ),
        request(3, "recent_sessions", json!({"limit": 5})),
        // A notification: runs, nothing answers.
        json!({"jsonrpc": "2.0", "method": "drain_hook"}).to_string(),
        // Hostile or mistaken.
        hello(4, 2),
        request(5, "teleport", json!({})),
        request(6, "find_session", json!({"id": "x", "extra": true})),
        request(7, "find_session", json!({})),
        "{not json".to_owned(),
        json!({"id": 8, "method": "ping"}).to_string(),
        request(9, "find_session", json!({"id": "00000000"})),
        request(11, "whoami", Value::Null),
        // A misspelt field deep in a write: refused, nothing started.
        request(
            12,
            "start_session",
            json!({"session": {"name": "typo", "workspace": ws, "tagz": []}}),
        ),
        // Not requests, or not served: each answered, with id null.
        "{}".to_owned(),
        json!([{"jsonrpc": "2.0", "id": 13, "method": "ping"}]).to_string(),
        request(14, "find_session", json!(["positional"])),
        // id null is a request (answered), not a notification.
        json!({"jsonrpc": "2.0", "id": null, "method": "ping"}).to_string(),
        // Last: what is stored after all that.
        request(10, "list_sessions", json!({"filter": {}})),
    ]
}

/// The answers in order, checked; returns the started session's id.
fn check(answers: &[Value]) -> String {
    assert_eq!(
        answers.len(),
        17,
        "one answer per request, none for the notification: {answers:#?}"
    );
    let by_id = |id: u64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer to {id}: {answers:#?}"))
    };
    let hello = &by_id(1)["result"];
    assert_eq!(hello["protocol"], 1);
    assert!(hello["server"].as_str().unwrap().starts_with("stint "));
    let ops = hello["operations"].as_array().unwrap();
    let op = |name: &str| ops.iter().find(|o| o["name"] == name).cloned();
    assert_eq!(
        op("update_session"),
        Some(json!({"name": "update_session", "writes": true}))
    );
    assert_eq!(
        op("find_session"),
        Some(json!({"name": "find_session", "writes": false}))
    );

    let started = &by_id(2)["result"];
    assert_eq!(started["name"], "Débogage 🐛");
    let id = started["id"].as_str().unwrap().to_owned();
    assert_eq!(by_id(3)["result"][0]["id"], id.as_str());

    let error = |id: u64| by_id(id)["error"].clone();
    let newer = error(4);
    assert_eq!(newer["code"], -32001);
    let said = newer["message"].as_str().unwrap();
    assert!(
        said.contains("speaks protocol 1, not 2") && said.contains("update stint"),
        "{said}"
    );
    let unknown = error(5);
    assert_eq!(unknown["code"], -32601);
    assert!(
        unknown["data"]["operations"]
            .as_array()
            .is_some_and(|o| o.len() > 20),
        "the operations served: {unknown}"
    );
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("no operation teleport"),
        "{unknown}"
    );
    let extra = error(6);
    assert_eq!(extra["code"], -32602);
    assert!(
        extra["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `extra`"),
        "{extra}"
    );
    assert_eq!(error(7)["code"], -32602, "a missing field");
    // Answered with id null, in order: not JSON, {}, a batch, then the
    // request whose id is null.
    let nulls: Vec<Value> = answers
        .iter()
        .filter(|a| a["id"].is_null())
        .map(|a| {
            a.get("error")
                .map_or(json!("result"), |e| e["code"].clone())
        })
        .collect();
    assert_eq!(
        nulls,
        [json!(-32700), json!(-32600), json!(-32600), json!("result")]
    );
    assert!(
        answers.iter().any(|a| a["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batches are not served"))),
        "{answers:#?}"
    );
    assert_eq!(error(14)["code"], -32602, "params by position");
    let typo = error(12);
    assert_eq!(typo["code"], -32602);
    assert!(
        typo["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `session.tagz`"),
        "{typo}"
    );
    assert_eq!(error(8)["code"], -32600, "no jsonrpc: 2.0");
    let missing = error(9);
    assert_eq!(missing["code"], -32000);
    assert_eq!(missing["data"]["kind"], "not_found");
    // Nothing the refused requests asked for was stored: one session.
    let listed = by_id(10)["result"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    // Signed out: a null result, not a missing one.
    let whoami = by_id(11).as_object().unwrap().clone();
    assert_eq!(whoami.get("result"), Some(&Value::Null), "{whoami:?}");
    id
}

/// What a plugin must not store, sent to session `id` on the device in
/// `dir`: a tab outside the workspace, a breakpoint on line 0, a session
/// of a relative folder, a window without a name or with a relative
/// folder. Each is refused, and nothing changes.
fn refuses_what_a_plugin_must_not_store(dir: &Path, id: &str) {
    let before = stint_json(dir, &["session", "show", id, "--json"]);
    assert_eq!(before["name"], "Débogage 🐛");
    let outside =
        json!([{"editor": {"open_tabs": [{"file_path": "../../etc/passwd"}], "editor": "Test 1"}}]);
    let line_zero = json!([{"breakpoints": [{"file_path": "src/a.rs", "line": 0}]}]);
    let answers = rpc(
        dir,
        &[
            hello(1, 1),
            request(2, "update_session", json!({"id": id, "changes": outside})),
            request(3, "update_session", json!({"id": id, "changes": line_zero})),
            request(
                4,
                "session_of_folder",
                json!({"folder": "relative/app", "start": true}),
            ),
            // A window must name itself and its folders (refused alike
            // where no window can listen, `stint rpc` alone).
            request(5, "listen", json!({"editor": " ", "folders": []})),
            request(
                6,
                "listen",
                json!({"editor": "Ed", "folders": ["/ok", "rel"]}),
            ),
        ],
    );
    let refused: Vec<(i64, String)> = answers[1..]
        .iter()
        .map(|a| {
            (
                a["error"]["code"].as_i64().unwrap(),
                a["error"]["data"]["field"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (-32000, "editor_state.open_tabs[0].file_path".to_owned()),
            (-32000, "breakpoints[0].line".to_owned()),
            (-32000, "folder".to_owned()),
            (-32000, "editor".to_owned()),
            (-32000, "folders[1]".to_owned()),
        ],
        "{answers:#?}"
    );
    assert_eq!(stint_json(dir, &["session", "show", id, "--json"]), before);
    let all = stint_json(dir, &["session", "list", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
}

#[test]
fn stint_rpc_serves_the_protocol_alone_and_through_the_agent() {
    let workspace = tempfile::tempdir().unwrap();
    // Alone: `stint rpc` opens the replica itself.
    let alone = tempfile::tempdir().unwrap();
    let id = check(&rpc(alone.path(), &conversation(workspace.path())));
    refuses_what_a_plugin_must_not_store(alone.path(), &id);

    // Through the agent: the same answers; the agent holds the replica.
    let relayed = tempfile::tempdir().unwrap();
    let agent = Agent::start(relayed.path());
    let id = check(&rpc(relayed.path(), &conversation(workspace.path())));
    refuses_what_a_plugin_must_not_store(relayed.path(), &id);
    assert_eq!(
        stint_json(relayed.path(), &["session", "show", &id, "--json"])["name"],
        "Débogage 🐛"
    );
    agent.stop();
}

#[test]
fn what_cannot_be_framed_is_refused_and_the_next_message_served() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(dir.path());
    let socket = dir.path().join("agent.sock");
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"find_session\",\"params\":{{\"id\":\"{}\"}}}}",
        "a".repeat(17 * 1024 * 1024)
    );
    let ping = request(2, "ping", Value::Null);

    // On the agent's socket: a message over 16 MiB, one not in UTF-8,
    // then a ping on the same connection.
    let mut stream = UnixStream::connect(&socket).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let huge = huge.clone();
        let ping = ping.clone();
        std::thread::spawn(move || {
            stream.write_all(format!("{huge}\n").as_bytes()).unwrap();
            stream
                .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}\n")
                .unwrap();
            stream.write_all(format!("{ping}\n").as_bytes()).unwrap();
        })
    };
    let mut lines = BufReader::new(&mut stream);
    let mut answers = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        answers.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    writer.join().unwrap();
    assert_eq!(answers[0]["error"]["code"], -32600, "{}", answers[0]);
    assert!(
        answers[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over 16777216 bytes")
    );
    assert_eq!(answers[1]["error"]["code"], -32700, "{}", answers[1]);
    assert_eq!(
        answers[2],
        json!({"jsonrpc": "2.0", "id": 2, "result": true})
    );

    // Through `stint rpc`: the same.
    let answers = rpc(dir.path(), &[hello(1, 1), huge, ping]);
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[1]["error"]["code"], -32600);
    assert_eq!(answers[2]["result"], true);

    // The agent goes on serving.
    let listed = ok(dir.path(), &["session", "list", "--json"]);
    assert_eq!(listed.trim(), "[]");
    agent.stop();
}

fn listen(id: u64, editor: &str, folders: &[&Path]) -> String {
    request(id, "listen", json!({"editor": editor, "folders": folders}))
}

#[test]
fn a_resume_asked_elsewhere_goes_to_the_window_open_on_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let trees = tempfile::tempdir().unwrap();
    let app = trees.path().join("my äpp");
    let other = trees.path().join("other");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let agent = Agent::start(dir.path());
    let started = |ws: &Path| {
        let mut c = command(dir.path());
        c.args(["session", "start", "s"]).current_dir(ws);
        let out = run(c, "");
        assert!(out.status.success(), "{out:?}");
        let said = String::from_utf8(out.stdout).unwrap();
        said.lines().last().unwrap().to_owned()
    };
    let id = started(&app);
    let resume_open = || {
        let mut c = command(dir.path());
        c.args(["session", "resume", &id, "--open"]);
        let out = run(c, "");
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };

    // Two windows: one on the workspace's src/, one on another folder.
    let mut inside = Plugin::start(dir.path());
    let mut elsewhere = Plugin::start(dir.path());
    for (plugin, folder) in [
        (&mut inside, app.join("src")),
        (&mut elsewhere, other.clone()),
    ] {
        assert_eq!(plugin.ask(&hello(1, 1))["result"]["protocol"], 1);
        let heard = plugin.ask(&listen(2, "Code 1.2 ✓", &[&folder]));
        assert_eq!(heard["result"], true, "{heard}");
        // Refused, and the registration it had stays as it was.
        let bad = plugin.ask(&listen(3, "Code", &[Path::new("relative")]));
        assert_eq!(bad["error"]["data"]["field"], "folders[0]", "{bad}");
        let bad = plugin.ask(&request(
            4,
            "listen",
            json!({"editor": "Code", "folderz": []}),
        ));
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
    }
    let (stdout, stderr) = resume_open();
    assert_eq!(stdout, "", "nothing to run: the window does it");
    assert_eq!(
        stderr.trim(),
        format!(
            "stint: resuming in Code 1.2 ✓ (the window on {})",
            app.join("src").display()
        )
    );
    assert_eq!(
        inside.read(),
        json!({"jsonrpc": "2.0", "method": "resume", "params": {"id": id, "name": "s"}})
    );
    // A request on the same connection is still answered in turn.
    assert_eq!(inside.ask(&request(5, "ping", Value::Null))["result"], true);

    // Through the protocol: unknown ids are not found, and no window is
    // told; a session of the other folder goes to that window, and once
    // that window is gone, nowhere.
    let mut asker = Plugin::start(dir.path());
    asker.ask(&hello(1, 1));
    let unknown = asker.ask(&request(2, "resume_in_window", json!({"id": "0000ffff"})));
    assert_eq!(unknown["error"]["data"]["kind"], "not_found", "{unknown}");
    let lone = started(&trees.path().join("my äpp/../other"));
    let to_other = asker.ask(&request(3, "resume_in_window", json!({"id": lone})));
    assert_eq!(
        to_other["result"],
        json!({"editor": "Code 1.2 ✓", "folder": other}),
        "{to_other}"
    );
    assert_eq!(elsewhere.read()["params"]["id"], lone.as_str());
    let (rest, ended) = elsewhere.close();
    assert!(ended.success() && rest.is_empty(), "{rest:?}");
    let gone = asker.ask(&request(4, "resume_in_window", json!({"id": lone})));
    assert_eq!(gone["result"], Value::Null, "{gone}");

    // The window closes: its last answers come first, then `--open`
    // prints the commands again.
    inside.send(&request(6, "ping", Value::Null));
    let (rest, ended) = inside.close();
    assert!(ended.success(), "{ended:?}");
    assert_eq!(rest, [json!({"jsonrpc": "2.0", "id": 6, "result": true})]);
    let (stdout, _) = resume_open();
    assert!(stdout.starts_with("cd "), "{stdout}");
    // The owner goes away under a listening window that sends nothing:
    // `stint rpc` ends by itself (so that the editor restarts it and
    // listens to the next owner), not at the editor's next line.
    let mut idle = Plugin::start(dir.path());
    assert_eq!(idle.listen("Code", &[&app]), true);
    agent.stop();
    let ended = idle.ended_by_itself();
    assert!(!ended.success(), "the owner was lost: {ended:?}");

    // With no owner, nothing can reach a window: `listen` says so.
    let alone = rpc(dir.path(), &[hello(1, 1), listen(2, "Code", &[&app])]);
    assert_eq!(alone[1]["result"], false, "{alone:?}");
}
