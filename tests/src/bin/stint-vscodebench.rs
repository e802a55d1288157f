//! Benchmark of Resume in the real VS Code: a command, not a test.
//!
//! A workspace of 50 source files (300 lines each), watched by a real
//! `stint agent`; a session of it with 50 tabs (a cursor in each) and 100
//! breakpoints, set through the CLI. In code-server's VS Code (headless
//! Chromium, `editors/vscode/test/run.mjs`, phase `bench`), in turns:
//! - the peer: VS Code opening the same 50 files at their lines and
//!   setting the same 100 breakpoints by itself, with no Stint;
//! - *Stint: Resume Session* with the session's id: from the command to
//!   the last tab shown, and its parts (the owner's answer with its
//!   preflight, reading the documents, showing the tabs, the breakpoints).
//!
//! Prints each run, the medians, the ratio to the peer in this run, and
//! the peer's cost of a tab among the first and the last ten opened.
//! Target: under 1 s from the command to the last tab shown.
//!
//! `make bench-vscode`, or after `cargo build --release -p stint -p
//! stint-e2e`: `target/release/stint-vscodebench`. Environment:
//! `STINT_BENCH_RUNS` (default 5).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use stint_e2e::device::{Agent, ok};
use stint_e2e::env_or;

const TABS: usize = 50;
const BREAKPOINTS: usize = 100;
const LINES: usize = 300;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let runs: usize = env_or("STINT_BENCH_RUNS", 5);
    let root = tempfile::tempdir()?;
    let root = root.path().canonicalize()?;
    let data = root.join("data");
    let ws = root.join("app");
    let mut tabs = Vec::new();
    for i in 0..TABS {
        let file = format!(
            "src/mod{}/file{i}.{}",
            i % 5,
            std::env::var("STINT_BENCH_EXT").unwrap_or_else(|_| "js".into())
        );
        let text: String = (0..LINES)
            .map(|l| format!("function f{i}_{l}(x) {{ return x + {l}; }}\n"))
            .collect();
        let path = ws.join(&file);
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(path, text)?;
        tabs.push((file, 1 + (i * 7) % LINES));
    }
    let breakpoints: Vec<(String, usize)> = (0..BREAKPOINTS)
        .map(|i| (tabs[i % TABS].0.clone(), 2 + (i * 13) % (LINES - 2)))
        .collect();
    std::fs::create_dir_all(&data)?;
    let agent = Agent::start(&data);
    let ws_str = ws.to_str().context("a UTF-8 path")?;
    let id = ok(&data, &["session", "start", "bench", "--workspace", ws_str]);
    let id = id.trim().to_owned();
    ok(&data, &["watch", ws_str]);
    let mut update = vec!["session".to_owned(), "update".to_owned(), id.clone()];
    for (file, line) in &tabs {
        update.extend(["--tab".to_owned(), format!("{file}:{line}:5")]);
    }
    for (file, line) in &breakpoints {
        update.extend(["--breakpoint".to_owned(), format!("{file}:{line}")]);
    }
    let update: Vec<&str> = update.iter().map(String::as_str).collect();
    ok(&data, &update);

    let out = root.join("out");
    let expect = root.join("expect.json");
    std::fs::write(
        &expect,
        json!({"session": id, "tabs": tabs, "breakpoints": breakpoints, "runs": runs}).to_string(),
    )?;
    let extension = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode");
    let built = Command::new("npm")
        .args(["run", "--silent", "build"])
        .current_dir(&extension)
        .status()?;
    ensure!(built.success(), "the extension builds");
    let stint = stint_e2e::binary("stint");
    let ran = Command::new("node")
        .arg(extension.join("test/run.mjs"))
        .args(["--folder", ws_str, "--phase", "bench", "--timeout", "600"])
        .arg("--out")
        .arg(&out)
        .arg("--expect")
        .arg(&expect)
        .arg("--stint")
        .arg(&stint)
        .env("STINT_DATA_DIR", &data)
        .env("STINT_KEYRING", "off")
        .output()?;
    ensure!(
        ran.status.success(),
        "the bench phase failed:\n{}\n{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    agent.stop();
    let saved: Value = serde_json::from_slice(&std::fs::read(out.join("bench.json"))?)?;
    let runs = saved["runs"].as_array().context("runs")?;
    println!(
        "Resume in VS Code (code-server 4.100.3, headless Chromium): {TABS} tabs, {BREAKPOINTS} breakpoints, {LINES}-line files, watched"
    );
    println!("run  resume ms  (owner's answer  read  show  breakpoints)  peer ms  ratio");
    let field = |run: &Value, name: &str| run[name].as_f64().unwrap_or(f64::NAN);
    for (i, run) in runs.iter().enumerate() {
        println!(
            "{:>3}  {:>9.0}  ({:>14.0}  {:>4.0}  {:>4.0}  {:>11.0})  {:>7.0}  {:>5.2}",
            i + 1,
            field(run, "total"),
            field(run, "answer"),
            field(run, "read"),
            field(run, "show"),
            field(run, "breakpoints"),
            field(run, "peer"),
            field(run, "total") / field(run, "peer"),
        );
    }
    // Whether VS Code's own cost of a tab grows with the tabs already open
    // (the peer's tabs, every run's, by their place in the order).
    let per_tab: Vec<f64> = saved["perTab"]
        .as_array()
        .context("perTab")?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let at = |places: std::ops::Range<usize>| {
        median(
            per_tab
                .iter()
                .enumerate()
                .filter(|(i, _)| places.contains(&(i % TABS)))
                .map(|(_, ms)| *ms)
                .collect(),
        )
    };
    println!(
        "VS Code's own cost of a tab: median {:.0} ms for the first 10, {:.0} ms for the last 10",
        at(0..10),
        at(TABS - 10..TABS)
    );
    let of = |name: &str| median(runs.iter().map(|r| field(r, name)).collect());
    let (total, peer) = (of("total"), of("peer"));
    println!(
        "median: resume {total:.0} ms (target < 1000 ms), of which the owner's answer {:.0} ms; \
         VS Code doing the same by itself {peer:.0} ms; ratio {:.2}",
        of("answer"),
        total / peer
    );
    Ok(())
}
