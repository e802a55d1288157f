//! Benchmark of the command line where a user feels it: a command, not a
//! test.
//!
//! Fills a device with 10,000 sessions, then prints, with the agent
//! running and without it:
//! - the cost of the shell hook per command (`stint hook`, what the shell
//!   runs after each command), next to the cost of starting `true`, the
//!   floor of any hook that runs a program;
//! - the latency of `stint session list` (the 50 newest, as a user types
//!   it) on those 10,000 sessions.
//!
//! Targets: hook ≤ 5 ms, list ≤ 20 ms.
//!
//! `make bench-cli`, or after `cargo build --release -p stint -p stint-e2e`:
//! `target/release/stint-clibench`. Environment: `STINT_BENCH_SESSIONS`
//! (default 10000), `STINT_BENCH_RUNS` (default 200).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};
use stint_client::{Device, NewSession};
use stint_e2e::device::Agent;
use stint_e2e::{binary, env_or, percentile};

/// Wall time of `runs` runs of `program args`, sorted, in microseconds.
fn time_runs(runs: usize, program: &Path, args: &[&str], dir: &Path) -> anyhow::Result<Vec<u32>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(program)
            .args(args)
            .env("STINT_DATA_DIR", dir)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", program.display()))?;
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        ensure!(status.success(), "{} {args:?} failed", program.display());
        samples.push(micros);
    }
    samples.sort_unstable();
    Ok(samples)
}

fn report(what: &str, samples: &[u32], floor: &[u32], target_ms: f64) {
    let p50 = percentile(samples, 0.50);
    let p99 = percentile(samples, 0.99);
    let verdict = if p50 <= target_ms { "met" } else { "MISSED" };
    println!(
        "{what:<38} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  ({:.1}× `true`)  target ≤ {target_ms} ms: {verdict}",
        p50 / percentile(floor, 0.50)
    );
}

async fn fill(dir: &Path, sessions: usize, workspace: &Path) -> anyhow::Result<()> {
    let device = Device::open(dir)?;
    let started = Instant::now();
    for i in 0..sessions {
        let workspace = if i == sessions - 1 {
            workspace.to_owned()
        } else {
            workspace.join(format!("project-{}", i % 500))
        };
        device
            .start_session(NewSession {
                name: format!("session {i}"),
                workspace,
                tags: vec![format!("t{}", i % 20)],
            })
            .await?;
    }
    println!(
        "filled the replica with {sessions} sessions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let sessions = env_or("STINT_BENCH_SESSIONS", 10_000);
    let runs = env_or("STINT_BENCH_RUNS", 200);
    let dir = tempfile::tempdir()?;
    let workspace = tempfile::tempdir()?;
    let ws = workspace.path().to_str().context("a UTF-8 temp dir")?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fill(dir.path(), sessions, workspace.path()))?;

    let stint = binary("stint");
    let truth = Path::new("/bin/true");
    let floor = time_runs(runs, truth, &[], dir.path())?;
    println!(
        "starting `true` (the floor):            p50 {:>6.2} ms  p99 {:>6.2} ms",
        percentile(&floor, 0.50),
        percentile(&floor, 0.99)
    );
    let hook = ["hook", "--cwd", ws, "--", "cargo test --workspace"];
    let list = ["session", "list"];
    let list_runs = runs.min(50);

    // Without the agent, `session list` opens the replica (and drains what
    // the hook spooled) itself.
    report(
        "hook per command, no agent",
        &time_runs(runs, &stint, &hook, dir.path())?,
        &floor,
        5.0,
    );
    report(
        &format!("session list of {sessions}, no agent"),
        &time_runs(list_runs, &stint, &list, dir.path())?,
        &floor,
        20.0,
    );

    let agent = Agent::start(dir.path());
    report(
        "hook per command, agent running",
        &time_runs(runs, &stint, &hook, dir.path())?,
        &floor,
        5.0,
    );
    report(
        &format!("session list of {sessions}, agent running"),
        &time_runs(list_runs, &stint, &list, dir.path())?,
        &floor,
        20.0,
    );
    agent.stop();
    Ok(())
}
