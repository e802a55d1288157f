//! Load benchmark of the sync server: a command, not a test.
//!
//! Starts a release `stint-server` on loopback with a temp data directory,
//! signs in a few users with sessions, then runs three phases of the same
//! length: authenticated session reads and writes (9 to 1) from many
//! concurrent clients, the same during a burst of logins, and writes alone.
//! Prints requests per second, p50 and p99 latency, and the server's
//! resident memory idle and under load, next to the targets.
//!
//! The same phases run first against the server as it was before group
//! commit (built once by `scripts/peer-stint.sh` into `target/peers/`),
//! in the same run: the machine's speed varies by the hour, so only
//! figures taken side by side compare. Each user's four clients write to
//! different sessions at a time, as a user's devices would.
//!
//! `make bench-server`, or after `cargo build --release -p stint-server -p stint-e2e`:
//! `target/release/stint-loadbench`. Environment: `STINT_BENCH_SECS` (per
//! phase, default 10), `STINT_BENCH_CLIENTS` (default 32),
//! `STINT_BENCH_LOGIN_CLIENTS` (default 4), `STINT_BENCH_SERVER_ARGS` (more
//! arguments for both servers, e.g. `--store-cache-mb 16`), `STINT_BENCH_PEER` (the earlier
//! build's binary; default `target/peers/stint-cd1d03b/bin/stint-server`,
//! skipped with a note when absent).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use stint_e2e::{Api, PASSWORD, Server, binary, env_or, percentile, resident_kib};

const USERS: usize = 8;
const SESSIONS_PER_USER: usize = 20;

struct Target {
    token: String,
    sessions: Vec<String>,
}

#[derive(Default)]
struct Samples {
    reads: Vec<u32>,
    writes: Vec<u32>,
    errors: u64,
}

struct Phase {
    secs: f64,
    samples: Samples,
    logins: u64,
    max_rss_kib: u64,
}

/// What the clients send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Nine reads to a write.
    ReadsAndWrites,
    /// Writes alone.
    Writes,
}

async fn run_phase(
    url: &str,
    targets: &Arc<Vec<Target>>,
    pid: u32,
    secs: u64,
    clients: u64,
    login_clients: u64,
    mix: Mix,
) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, max_rss) = (Arc::clone(&stop), Arc::clone(&max_rss));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = resident_kib(pid) {
                    max_rss.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let logins = Arc::new(AtomicU64::new(0));
    let mut burst = Vec::new();
    for i in 0..login_clients {
        let (stop, logins, url) = (Arc::clone(&stop), Arc::clone(&logins), url.to_owned());
        burst.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let email = format!("user{}@bench.example", i as usize % USERS);
            while !stop.load(Ordering::Relaxed) {
                let response = http
                    .post(format!("{url}/api/v5/auth/login"))
                    .json(&json!({"email": email, "password": PASSWORD}))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status().is_success()) {
                    logins.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for c in 0..clients {
        let (targets, url) = (Arc::clone(targets), url.to_owned());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut samples = Samples::default();
            let target = &targets[c as usize % targets.len()];
            let mut n = c as usize;
            let mut writes = 0;
            while Instant::now() < deadline {
                n += 1;
                let write = mix == Mix::Writes || n.is_multiple_of(10);
                // A client writes to the next of its user's sessions each
                // time, starting from its own: a user's clients edit
                // different sessions at once, as their devices would.
                let pick = if write {
                    writes += 1;
                    c as usize / targets.len() * 5 + writes
                } else {
                    n
                };
                let session = &target.sessions[pick % target.sessions.len()];
                let url = format!("{url}/api/v5/sessions/{session}");
                let began = Instant::now();
                let request = if write {
                    http.put(&url)
                        .json(&json!({"name": format!("renamed {n}")}))
                } else {
                    http.get(&url)
                };
                let ok = match request.bearer_auth(&target.token).send().await {
                    Ok(response) => {
                        response.status().is_success() && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                let micros = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
                match (ok, write) {
                    (false, _) => samples.errors += 1,
                    (true, true) => samples.writes.push(micros),
                    (true, false) => samples.reads.push(micros),
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for w in workers {
        let s = w.await.expect("a client task");
        all.reads.extend(s.reads);
        all.writes.extend(s.writes);
        all.errors += s.errors;
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for b in burst {
        let _ = b.await;
    }
    let _ = sampler.await;
    all.reads.sort_unstable();
    all.writes.sort_unstable();
    Phase {
        secs,
        samples: all,
        logins: logins.load(Ordering::Relaxed),
        max_rss_kib: max_rss.load(Ordering::Relaxed),
    }
}

fn print_phase(name: &str, p: &Phase) {
    let s = &p.samples;
    println!(
        "  {name:<20} reads {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms | writes {:>6.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms | logins {:>5.1}/s | errors {} | max RSS {:.1} MB",
        s.reads.len() as f64 / p.secs,
        percentile(&s.reads, 0.50),
        percentile(&s.reads, 0.99),
        s.writes.len() as f64 / p.secs,
        percentile(&s.writes, 0.50),
        percentile(&s.writes, 0.99),
        p.logins as f64 / p.secs,
        s.errors,
        p.max_rss_kib as f64 / 1024.0,
    );
}

/// One build's phases.
struct Run {
    idle_kib: u64,
    steady: Phase,
    burst: Phase,
    writers: Phase,
}

async fn bench(
    server_binary: &Path,
    secs: u64,
    clients: u64,
    login_clients: u64,
) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let mut args = vec![
        "--login-per-ip-per-minute",
        "10000000",
        "--login-per-account-per-minute",
        "10000000",
        "--register-per-ip-per-minute",
        "10000000",
        "--refresh-per-login-per-minute",
        "10000000",
    ];
    let extra = std::env::var("STINT_BENCH_SERVER_ARGS").unwrap_or_default();
    args.extend(extra.split_whitespace());
    let server = Server::start_binary(server_binary, dir.path(), &args).await?;
    let pid = server.pid().context("server pid")?;
    let api = Api::new(&server.url);

    let mut targets = Vec::new();
    for u in 0..USERS {
        let (me, tokens) = api.register(&format!("user{u}@bench.example")).await;
        let mut sessions = Vec::new();
        for s in 0..SESSIONS_PER_USER {
            let (status, body) = me
                .post("/sessions", json!({"name": format!("session {s}"), "workspace_path": format!("/src/p{s}"), "tags": ["bench"]}))
                .await;
            anyhow::ensure!(status == 201, "setup failed: {body}");
            sessions.push(body["id"].as_str().context("id")?.to_owned());
        }
        targets.push(Target {
            token: tokens["access_token"].as_str().context("token")?.to_owned(),
            sessions,
        });
    }
    let targets = Arc::new(targets);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = resident_kib(pid).unwrap_or(0);
    let url = &server.url;
    let steady = run_phase(url, &targets, pid, secs, clients, 0, Mix::ReadsAndWrites).await;
    let burst = run_phase(
        url,
        &targets,
        pid,
        secs,
        clients,
        login_clients,
        Mix::ReadsAndWrites,
    )
    .await;
    let writers = run_phase(url, &targets, pid, secs, clients, 0, Mix::Writes).await;
    server.stop().await?;
    Ok(Run {
        idle_kib,
        steady,
        burst,
        writers,
    })
}

fn print_run(name: &str, run: &Run) {
    println!("{name} (idle {:.1} MB):", run.idle_kib as f64 / 1024.0);
    print_phase("steady", &run.steady);
    print_phase("during login burst", &run.burst);
    print_phase("writes alone", &run.writers);
}

fn rate(samples: &[u32], secs: f64) -> f64 {
    samples.len() as f64 / secs
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = env_or("STINT_BENCH_SECS", 10);
    let clients = env_or("STINT_BENCH_CLIENTS", 32);
    let login_clients = env_or("STINT_BENCH_LOGIN_CLIENTS", 4);
    let peer = std::env::var_os("STINT_BENCH_PEER").map_or_else(
        || {
            binary("stint-server")
                .parent()
                .and_then(Path::parent)
                .map(|target| target.join("peers/stint-cd1d03b/bin/stint-server"))
                .unwrap_or_default()
        },
        PathBuf::from,
    );
    println!(
        "stint-server load benchmark: {clients} clients, {secs} s per phase, loopback, one 2-core machine running both sides"
    );
    let before = if peer.exists() {
        let run = bench(&peer, secs, clients, login_clients).await?;
        print_run("before group commit (cd1d03b)", &run);
        Some(run)
    } else {
        println!(
            "(no earlier build at {}: `bash scripts/peer-stint.sh` builds it; make bench-server does)",
            peer.display()
        );
        None
    };
    let now = bench(&binary("stint-server"), secs, clients, login_clients).await?;
    print_run("this build", &now);

    let s = &now.steady.samples;
    let reads = rate(&s.reads, now.steady.secs);
    let write_p99 = percentile(&s.writes, 0.99);
    let writes_alone = rate(&now.writers.samples.writes, now.writers.secs);
    let burst_ratio = |pick: fn(&Samples) -> &Vec<u32>| {
        percentile(pick(&now.burst.samples), 0.99) / percentile(pick(&now.steady.samples), 0.99)
    };
    println!("targets (this build):");
    println!("  32 clients 9:1, write p99 ≤ 20 ms:      {write_p99:.2} ms");
    println!(
        "  32 clients 9:1, reads ≥ 5,000/s:        {reads:.0}/s (p99 {:.2} ms)",
        percentile(&s.reads, 0.99)
    );
    println!(
        "  32 writers, ≥ 3,000 writes/s:           {writes_alone:.0}/s (p99 {:.2} ms)",
        percentile(&now.writers.samples.writes, 0.99)
    );
    println!(
        "  p99 during the login burst ≤ 2× steady: reads {:.2}×, writes {:.2}×",
        burst_ratio(|s| &s.reads),
        burst_ratio(|s| &s.writes)
    );
    println!(
        "  resident memory idle ≤ 15 MB:           {:.1} MB",
        now.idle_kib as f64 / 1024.0
    );
    println!(
        "  resident memory under load ≤ 50 MB:     {:.1} MB steady, {:.1} MB writes alone, {:.1} MB with logins",
        now.steady.max_rss_kib as f64 / 1024.0,
        now.writers.max_rss_kib as f64 / 1024.0,
        now.burst.max_rss_kib as f64 / 1024.0
    );
    if let Some(before) = before {
        let b = &before.steady.samples;
        println!("this build against the one before, same run:");
        println!(
            "  9:1 reads {:.2}×, writes {:.2}×, write p99 {:.2} ms → {:.2} ms; writes alone {:.2}×",
            reads / rate(&b.reads, before.steady.secs),
            rate(&s.writes, now.steady.secs) / rate(&b.writes, before.steady.secs),
            percentile(&b.writes, 0.99),
            write_p99,
            writes_alone / rate(&before.writers.samples.writes, before.writers.secs),
        );
    }
    Ok(())
}
