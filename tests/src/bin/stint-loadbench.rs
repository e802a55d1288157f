//! Load benchmark of the sync server: a command, not a test.
//!
//! Starts a release `stint-server` on loopback with a temp data directory,
//! signs in a few users with sessions, then runs two phases of the same
//! length: authenticated session reads and writes (9 to 1) from many
//! concurrent clients, then the same during a burst of logins. Prints
//! requests per second, p50 and p99 latency, and the server's resident
//! memory idle and under load, next to the targets.
//!
//! `make bench-server`, or after `cargo build --release -p stint-server -p stint-e2e`:
//! `target/release/stint-loadbench`. Environment: `STINT_BENCH_SECS` (per
//! phase, default 10), `STINT_BENCH_CLIENTS` (default 32),
//! `STINT_BENCH_LOGIN_CLIENTS` (default 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use stint_e2e::{Api, PASSWORD, Server, env_or, percentile, resident_kib};

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

async fn run_phase(
    url: &str,
    targets: &Arc<Vec<Target>>,
    pid: u32,
    secs: u64,
    clients: u64,
    login_clients: u64,
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
            while Instant::now() < deadline {
                n += 1;
                let session = &target.sessions[n % target.sessions.len()];
                let url = format!("{url}/api/v5/sessions/{session}");
                let write = n.is_multiple_of(10);
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = env_or("STINT_BENCH_SECS", 10);
    let clients = env_or("STINT_BENCH_CLIENTS", 32);
    let login_clients = env_or("STINT_BENCH_LOGIN_CLIENTS", 4);
    let dir = tempfile::tempdir()?;
    let server = Server::start_with(
        dir.path(),
        &[
            "--login-per-ip-per-minute",
            "10000000",
            "--login-per-account-per-minute",
            "10000000",
            "--register-per-ip-per-minute",
            "10000000",
            "--refresh-per-login-per-minute",
            "10000000",
        ],
    )
    .await?;
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
    let idle = resident_kib(pid).unwrap_or(0);

    println!(
        "stint-server load benchmark: {clients} clients (session reads and writes 9:1), {secs} s per phase, loopback, one 2-core machine running both sides"
    );
    let steady = run_phase(&server.url, &targets, pid, secs, clients, 0).await;
    let burst = run_phase(&server.url, &targets, pid, secs, clients, login_clients).await;
    print_phase("steady", &steady);
    print_phase("during login burst", &burst);
    let rate = steady.samples.reads.len() as f64 / steady.secs;
    let p99 = percentile(&steady.samples.reads, 0.99);
    let burst_p99 = percentile(&burst.samples.reads, 0.99);
    println!("targets:");
    println!("  reads ≥ 5,000/s with p99 ≤ 5 ms:        {rate:.0}/s, p99 {p99:.2} ms");
    println!(
        "  p99 during the login burst ≤ 2× steady:  {:.2}×",
        burst_p99 / p99
    );
    println!(
        "  resident memory idle ≤ 15 MB:           {:.1} MB",
        idle as f64 / 1024.0
    );
    println!(
        "  resident memory under load ≤ 50 MB:     {:.1} MB steady, {:.1} MB with logins",
        steady.max_rss_kib as f64 / 1024.0,
        burst.max_rss_kib as f64 / 1024.0
    );
    server.stop().await?;
    Ok(())
}
