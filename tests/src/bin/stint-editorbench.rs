//! Benchmark of the device's owner under editors: a command, not a test.
//!
//! Starts the real `stint agent` on a fresh data directory, and ten
//! editors, each with its own connection to the agent's socket and its
//! own workspace session, speaking the local protocol (JSON-RPC lines).
//! Each sends `update_session` with an editor state of 10 tabs (the
//! cursor moving), and waits for the answer. Prints, in this run:
//! - the most the owner takes, every editor sending as fast as answered:
//!   updates per second, p50 and p99 of each;
//! - the same ten editors at the target's rate (200 a second each, 2,000
//!   in all): p50 and p99;
//! - beside them, `ping` from the same ten editors as fast as answered:
//!   the protocol's own round trip, with no replica write, and the ratio.
//!
//! Target: at least 2,000 updates a second from 10 editors, p99 under
//! 5 ms each.
//!
//! `make bench-editor`, or after `cargo build --release -p stint -p
//! stint-e2e`: `target/release/stint-editorbench`. Environment:
//! `STINT_BENCH_SECONDS` (default 5 per phase).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use stint_e2e::device::{Agent, ok};
use stint_e2e::{env_or, percentile};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const EDITORS: usize = 10;
const TABS: usize = 10;

/// One editor's connection.
struct Editor {
    stream: BufReader<UnixStream>,
    session: String,
    next: u64,
}

impl Editor {
    async fn connect(socket: &Path, workspace: &Path) -> anyhow::Result<Self> {
        let stream = BufReader::new(UnixStream::connect(socket).await?);
        let mut editor = Self {
            stream,
            session: String::new(),
            next: 1,
        };
        editor
            .call("hello", json!({"protocol": 1, "client": "editorbench"}))
            .await?;
        let session = editor
            .call(
                "session_of_folder",
                json!({"folder": workspace, "start": true}),
            )
            .await?;
        editor.session = session["session"]["id"]
            .as_str()
            .context("a session")?
            .to_owned();
        Ok(editor)
    }

    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next;
        self.next += 1;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.stream
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .await?;
        let mut answer = String::new();
        self.stream.read_line(&mut answer).await?;
        let mut answer: Value = serde_json::from_str(&answer)?;
        ensure!(answer["id"] == id, "answers in order");
        ensure!(answer.get("error").is_none(), "{method}: {answer}");
        Ok(answer["result"].take())
    }

    /// One editor-state update, the cursor at `line`.
    async fn update(&mut self, line: u32) -> anyhow::Result<()> {
        let tabs: Vec<Value> = (0..TABS)
            .map(|i| {
                json!({"file_path": format!("src/f{i}.rs"), "cursor": {"line": if i == 0 { line } else { 1 }, "column": 5}})
            })
            .collect();
        let changes = json!([{"editor": {"open_tabs": tabs, "active_tab_index": 0, "editor": "editorbench"}}]);
        self.call(
            "update_session",
            json!({"id": self.session, "changes": changes}),
        )
        .await?;
        Ok(())
    }
}

/// What a phase measured: operations, seconds, sorted latencies (µs).
struct Phase {
    done: usize,
    seconds: f64,
    latencies: Vec<u32>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.done as f64 / self.seconds
    }
}

/// Runs every editor for `seconds`: `what` once per turn, paced to `every`
/// when given (an editor that falls behind does not catch up in a burst).
async fn phase(
    editors: &mut Vec<Editor>,
    seconds: f64,
    every: Option<Duration>,
    ping: bool,
) -> anyhow::Result<Phase> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for mut editor in editors.drain(..) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut line = 1;
            let mut next = Instant::now();
            while Instant::now() < until {
                if let Some(every) = every {
                    tokio::time::sleep_until(next.into()).await;
                    next = (next + every).max(Instant::now());
                }
                let sent = Instant::now();
                if ping {
                    editor.call("ping", Value::Null).await?;
                } else {
                    line = line % 200 + 1;
                    editor.update(line).await?;
                }
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            anyhow::Ok((editor, latencies))
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let (editor, latencies) = task.await??;
        editors.push(editor);
        all.extend(latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok(Phase {
        done: all.len(),
        seconds,
        latencies: all,
    })
}

fn print(what: &str, p: &Phase) {
    println!(
        "{what:<44} {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        p.rate(),
        percentile(&p.latencies, 0.50),
        percentile(&p.latencies, 0.99)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: f64 = env_or("STINT_BENCH_SECONDS", 5.0);
    let data = tempfile::tempdir()?;
    let trees = tempfile::tempdir()?;
    let agent = Agent::start(data.path());
    let socket = data.path().join("agent.sock");
    let mut editors = Vec::new();
    for e in 0..EDITORS {
        let ws = trees.path().join(format!("app{e}"));
        std::fs::create_dir_all(ws.join("src"))?;
        for i in 0..TABS {
            let text: String = (1..=200)
                .map(|l| format!("    let line{l} = {l};\n"))
                .collect();
            std::fs::write(ws.join(format!("src/f{i}.rs")), text)?;
        }
        editors.push(Editor::connect(&socket, &ws).await?);
    }

    let most = phase(&mut editors, seconds, None, false).await?;
    let paced = phase(
        &mut editors,
        seconds,
        Some(Duration::from_micros(5_000)),
        false,
    )
    .await?;
    let pings = phase(&mut editors, seconds, None, true).await?;
    println!("{EDITORS} editors, {TABS} tabs each, {seconds} s a phase, one run:");
    print("update_session, as fast as answered", &most);
    print("update_session, 200/s each (2,000/s target)", &paced);
    print("ping, as fast as answered (the floor)", &pings);
    let p99 = percentile(&paced.latencies, 0.99);
    println!(
        "most updates/s: {:.0} (target ≥ 2,000: {}); p99 at 2,000/s: {p99:.2} ms (target < 5 ms: {}); \
         an update costs {:.1}× a ping",
        most.rate(),
        if most.rate() >= 2000.0 {
            "met"
        } else {
            "MISSED"
        },
        if p99 < 5.0 && paced.rate() >= 1900.0 {
            "met"
        } else {
            "MISSED"
        },
        pings.rate() / most.rate()
    );
    // The replica holds what the last update said.
    let listed = ok(data.path(), &["session", "list", "--json"]);
    ensure!(
        listed.contains("editorbench"),
        "the updates are in the replica"
    );
    agent.stop();
    Ok(())
}
