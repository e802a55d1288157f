//! Benchmark of the resume preflight: a command, not a test.
//!
//! Generates a tree of 50,000 small files, indexes it for a session with
//! `stint watch --once` (the real binary, a fresh data directory), edits
//! a few files, then prints, all in this run:
//! - the preflight of the session without an owner watching the folder
//!   (`Device::preflight`: the session's paths and checksums read from
//!   index keys, the local index brought up to date by a scan that hashes
//!   only the edited files meanwhile, the two merged), best and median of
//!   several runs;
//! - the same while the device watches the folder (an agent or the
//!   desktop app): its index is current and in memory, no rescan;
//! - beside them, the local index's own no-change rescan of the same tree
//!   (`stint_watch::scan` on a settled index), which the preflight
//!   contains, and the ratio.
//!
//! Target: a preflight under 200 ms over 50,000 files whose index is
//! current.
//!
//! `make bench-preflight`, or after `cargo build --release -p stint -p
//! stint-e2e`: `target/release/stint-preflightbench`. Environment:
//! `STINT_BENCH_FILES` (default 50000), `STINT_BENCH_RUNS` (default 7).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, ensure};
use stint_e2e::{binary, env_or};
use stint_watch::{Index, Options, scan};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let files: usize = env_or("STINT_BENCH_FILES", 50_000);
    let runs: usize = env_or("STINT_BENCH_RUNS", 7);
    let tree = tempfile::tempdir()?;
    let root = tree.path().join("app");
    generate(&root, files)?;
    let data = tempfile::tempdir()?;
    let stint = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(binary("stint"))
            .args(args)
            .env("STINT_DATA_DIR", data.path())
            .env("STINT_KEYRING", "off")
            .output()?;
        ensure!(
            out.status.success(),
            "stint {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    };
    let root_str = root.to_str().context("a UTF-8 path")?;
    let id = stint(&["session", "start", "bench", "--workspace", root_str])?
        .trim()
        .to_owned();
    let started = Instant::now();
    stint(&["watch", root_str, "--once"])?;
    println!(
        "tree: {files} files; indexed for session {} in {:.1} s",
        &id[..8],
        started.elapsed().as_secs_f64()
    );
    // Past the racy window, then a few edits the preflight must find.
    std::thread::sleep(std::time::Duration::from_millis(50));
    for i in 0..5 {
        std::fs::write(root.join(format!("d{}/f{i}.txt", i % 100)), "edited")?;
    }

    let device = stint_client::Device::open(data.path())?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let pre = device.preflight(&id).await?;
        times.push(started.elapsed().as_secs_f64());
        ensure!(pre.changed.len() == 5, "five edits found: {}", pre.summary);
        ensure!(pre.same == files - 5, "{}", pre.summary);
    }
    times.sort_by(f64::total_cmp);

    // With the owner watching the workspace (the agent, the desktop app),
    // its index is current: no rescan.
    device.watch_workspace(&id).await?;
    for _ in 0..600 {
        let watching = device
            .watch_statuses()
            .iter()
            .any(|w| w.state == stint_client::WatchState::Watching);
        if watching {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut live = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let pre = device.preflight(&id).await?;
        live.push(started.elapsed().as_secs_f64());
        // The watch wrote the edits into the session's records.
        ensure!(pre.same == files && pre.live, "{}", pre.summary);
    }
    device.stop_watches().await;
    live.sort_by(f64::total_cmp);
    let live = live[live.len() / 2];

    let started = Instant::now();
    let records = device.files(&id, None).await?.len();
    println!(
        "(reading the session's {records} whole records instead, which the preflight does not: {:.0} ms)",
        started.elapsed().as_secs_f64() * 1e3
    );
    let (best, median) = (times[0], times[times.len() / 2]);

    // The same tree's own no-change rescan, on a settled index.
    let mut index = Index::default();
    scan(&root, &mut index, &Options::default(), &mut |_| {});
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut rescans = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let report = scan(&root, &mut index, &Options::default(), &mut |_| {});
        rescans.push(started.elapsed().as_secs_f64());
        ensure!(report.files_hashed == 0, "a settled rescan hashed nothing");
    }
    rescans.sort_by(f64::total_cmp);
    let rescan = rescans[rescans.len() / 2];
    println!(
        "preflight over {files} files: best {:.0} ms, median {:.0} ms  (target < 200 ms: {})",
        best * 1e3,
        median * 1e3,
        if median < 0.2 { "met" } else { "MISSED" }
    );
    println!(
        "preflight with a live watch of the folder (no rescan): median {:.0} ms  (target < 200 ms: {})",
        live * 1e3,
        if live < 0.2 { "met" } else { "MISSED" }
    );
    println!(
        "no-change rescan of the index, same tree: median {:.0} ms; preflight / rescan = {:.2}×",
        rescan * 1e3,
        median / rescan
    );
    Ok(())
}

/// `files` small files in 100 folders.
fn generate(root: &Path, files: usize) -> anyhow::Result<()> {
    for i in 0..files {
        let dir = root.join(format!("d{}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join(format!("f{i}.txt")), format!("file {i}\n"))?;
    }
    Ok(())
}
