//! Soak benchmark: a command, not a test. Does anything grow?
//!
//! Starts a release `stint-server` on loopback with a temp data directory
//! and a device (`stint agent`, signed in as one of the users) that syncs
//! continuously, then holds a steady mixed load for `STINT_SOAK_SECS`
//! (default 600): clients create, update (about 1 KB of state), read, list
//! and delete sessions at a fixed pace, so the live data stays about the
//! same size while every write leaves pages, log entries and audit events
//! behind. Every `STINT_SOAK_REPORT_SECS` (default 30) it prints the
//! server's and the device's resident memory, the server's file size, the
//! request rate and the errors; at the end, the trend (first quarter,
//! second quarter, last quarter), the throughput of the first and last
//! minute, whether the device ended in step with the server, and the file
//! size against the live bytes it holds, before and after the server's
//! online compaction.
//!
//! `make bench-soak`, or after `cargo build --release -p stint-server -p stint -p stint-e2e`:
//! `target/release/stint-soakbench`. Other knobs: `STINT_SOAK_RATE`
//! (requests per second in all, default 1000), `STINT_SOAK_CLIENTS`
//! (default 8), `STINT_SOAK_CACHE_MB` (the server's store cache, default
//! its own default, 64).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use stint_e2e::{Api, Server, device, env_or, percentile, resident_kib};

/// Sessions a client keeps alive: past this, it deletes its oldest.
const LIVE_PER_CLIENT: usize = 40;

/// What the clients did in one report window.
#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    errors: AtomicU64,
}

/// One line of the report.
struct Sample {
    at_secs: f64,
    server_kib: u64,
    device_kib: u64,
    file_bytes: u64,
    rate: f64,
    errors: u64,
    p99_ms: f64,
}

/// About 1 KB of session state, different each time.
fn update_body(n: u64) -> serde_json::Value {
    let files: Vec<String> = (0..10)
        .map(|i| format!("src/module_{i}/component_{n}_{i}_handler_with_a_long_name.rs"))
        .collect();
    json!({
        "name": format!("soak session, edit {n}"),
        "active_files": files,
        "watch_expressions": ["self.state.len()", format!("counter == {n}")],
    })
}

/// One client: a request every `every`, in the mix
/// 1 create : 1 delete : 4 updates : 2 lists : 12 reads.
async fn client(
    url: String,
    token: String,
    c: u64,
    every: Duration,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    latencies: Arc<std::sync::Mutex<Vec<u32>>>,
) {
    let http = reqwest::Client::new();
    let mut live: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut ticker = tokio::time::interval(every);
    // Behind schedule, skip ahead rather than burst: the rate shows it.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = c * 1_000_000_000;
    while !stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        n += 1;
        let began = Instant::now();
        let slot = n % 20;
        let request = if live.len() < 4 || slot == 0 {
            let id = uuid::Uuid::now_v7().to_string();
            live.push_back(id.clone());
            http.post(format!("{url}/api/v5/sessions")).json(&json!({
                "id": id,
                "name": format!("soak {n}"),
                "workspace_path": format!("/src/soak/project-{}", n % 7),
                "tags": ["soak", format!("client-{c}")],
            }))
        } else if slot == 1 && live.len() > LIVE_PER_CLIENT {
            let id = live.pop_front().expect("more than the cap");
            http.delete(format!("{url}/api/v5/sessions/{id}"))
        } else if slot < 6 {
            let id = &live[(n as usize) % live.len()];
            http.put(format!("{url}/api/v5/sessions/{id}"))
                .json(&update_body(n))
        } else if slot < 8 {
            http.get(format!("{url}/api/v5/sessions?limit=20"))
        } else {
            let id = &live[(n as usize) % live.len()];
            http.get(format!("{url}/api/v5/sessions/{id}"))
        };
        let ok = match request.bearer_auth(&token).send().await {
            Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
            Err(_) => false,
        };
        let micros = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
        if ok {
            counters.ok.fetch_add(1, Ordering::Relaxed);
            latencies.lock().expect("latencies").push(micros);
        } else {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn dir_bytes(dir: &Path) -> u64 {
    walk(dir).iter().map(|p| file_bytes(p)).sum()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mb(kib_or_bytes: u64, unit: u64) -> f64 {
    kib_or_bytes as f64 * unit as f64 / (1024.0 * 1024.0)
}

/// The mean of `f` over `samples`.
fn mean(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.iter().map(f).sum::<f64>() / samples.len() as f64
}

/// The ids of the sessions user 0 has, as the server lists them.
async fn server_ids(api: &Api) -> anyhow::Result<BTreeSet<String>> {
    let (status, body) = api.get("/sessions?limit=500").await;
    anyhow::ensure!(status == 200, "listing sessions: {status} {body}");
    Ok(body
        .as_array()
        .or_else(|| body["items"].as_array())
        .context("a list of sessions")?
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect())
}

/// The ids of the sessions the device has.
fn device_ids(dir: &Path) -> BTreeSet<String> {
    let out = device::json(dir, &["session", "list", "--json", "--limit", "500"]);
    out.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::main]
#[allow(clippy::too_many_lines)]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = env_or("STINT_SOAK_SECS", 600);
    let report_every: u64 = env_or("STINT_SOAK_REPORT_SECS", 30);
    let rate: u64 = env_or("STINT_SOAK_RATE", 1000);
    let clients: u64 = env_or("STINT_SOAK_CLIENTS", 8);
    let cache_mb: u64 = env_or("STINT_SOAK_CACHE_MB", 64);
    let dir = tempfile::tempdir()?;
    let server_dir = dir.path().join("server");
    let cache = cache_mb.to_string();
    // Background jobs every minute, so the soak sees them run (the default
    // is hourly); a short audit retention so that they have work to do.
    let server = Server::start_with(
        &server_dir,
        &[
            "--login-per-ip-per-minute",
            "100000",
            "--login-per-account-per-minute",
            "100000",
            "--register-per-ip-per-minute",
            "100000",
            "--job-interval-secs",
            "60",
            "--store-cache-mb",
            &cache,
            "--log",
            "stint_server=info",
        ],
    )
    .await?;
    let pid = server.pid().context("server pid")?;
    let redb_file = server_dir.join("stint.redb");
    let api = Api::new(&server.url);

    let mut users = Vec::new();
    for u in 0..clients {
        let (me, tokens) = api.register(&format!("soak{u}@bench.example")).await;
        let token = tokens["access_token"].as_str().context("token")?.to_owned();
        users.push((me, token));
    }
    // The device: signed in as user 0, its agent syncing as a user's would.
    let device_dir = dir.path().join("device");
    std::fs::create_dir_all(&device_dir)?;
    device::login(&device_dir, &server.url, "soak0@bench.example", false);
    let agent = device::Agent::start(&device_dir);
    let agent_pid = agent.pid();

    println!(
        "stint soak: {clients} clients, {rate} requests/s in all (create, update, read, list, delete), {secs} s, a device syncing one user's sessions; server store cache {cache_mb} MB"
    );
    println!(
        "  {:>6}  {:>11}  {:>11}  {:>10}  {:>9}  {:>8}  {:>7}",
        "t (s)", "server RSS", "device RSS", "redb file", "req/s", "p99 ms", "errors"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let every = Duration::from_secs_f64(clients as f64 / rate as f64);
    let mut tasks = Vec::new();
    for (c, (_, token)) in users.iter().enumerate() {
        tasks.push(tokio::spawn(client(
            server.url.clone(),
            token.clone(),
            c as u64,
            every,
            Arc::clone(&stop),
            Arc::clone(&counters),
            Arc::clone(&latencies),
        )));
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    let (mut last_ok, mut last_errors, mut last_at) = (0, 0, 0.0);
    // Per-minute request counts, for the first and last minute.
    let mut minutes = Vec::new();
    let mut minute_ok = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        let next = Duration::from_secs(report_every * (samples.len() as u64 + 1));
        tokio::time::sleep(next.saturating_sub(started.elapsed())).await;
        let at = started.elapsed().as_secs_f64();
        let ok = counters.ok.load(Ordering::Relaxed);
        let errors = counters.errors.load(Ordering::Relaxed);
        let mut window = std::mem::take(&mut *latencies.lock().expect("latencies"));
        window.sort_unstable();
        let sample = Sample {
            at_secs: at,
            server_kib: resident_kib(pid).unwrap_or(0),
            device_kib: agent_pid.and_then(resident_kib).unwrap_or(0),
            file_bytes: file_bytes(&redb_file),
            rate: (ok - last_ok) as f64 / (at - last_at),
            errors: errors - last_errors,
            p99_ms: percentile(&window, 0.99),
        };
        println!(
            "  {:>6.0}  {:>8.1} MB  {:>8.1} MB  {:>7.1} MB  {:>9.0}  {:>8.2}  {:>7}",
            sample.at_secs,
            mb(sample.server_kib, 1024),
            mb(sample.device_kib, 1024),
            mb(sample.file_bytes, 1),
            sample.rate,
            sample.p99_ms,
            sample.errors
        );
        if (at / 60.0).floor() as usize > minutes.len() {
            minutes.push(ok - minute_ok);
            minute_ok = ok;
        }
        (last_ok, last_errors, last_at) = (ok, errors, at);
        samples.push(sample);
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let total_ok = counters.ok.load(Ordering::Relaxed);
    let total_errors = counters.errors.load(Ordering::Relaxed);

    // The trend, by quarters of the run.
    let quarter = samples.len().div_ceil(4).max(1);
    let quarters: Vec<&[Sample]> = samples.chunks(quarter).collect();
    let q = |i: usize| quarters.get(i).copied().unwrap_or(&[]);
    let last = q(quarters.len().saturating_sub(1));
    let server_mb = |s: &Sample| mb(s.server_kib, 1024);
    let device_mb = |s: &Sample| mb(s.device_kib, 1024);
    println!("trend (mean of each quarter of the run):");
    println!(
        "  server RSS: first {:.1} MB, second {:.1} MB, last {:.1} MB (peak {:.1} MB): last/second {:.2} (target ≤ 1.10), last ≤ 64 MB + cache ({} MB): {}",
        mean(q(0), server_mb),
        mean(q(1), server_mb),
        mean(last, server_mb),
        last.iter().map(server_mb).fold(0.0, f64::max),
        mean(last, server_mb) / mean(q(1), server_mb),
        64 + cache_mb,
        if mean(last, server_mb) <= (64 + cache_mb) as f64 {
            "yes"
        } else {
            "NO"
        }
    );
    println!(
        "  device RSS: first {:.1} MB, second {:.1} MB, last {:.1} MB: last/second {:.2}, peak {:.1} MB (target < 64 MB + its 32 MB cache)",
        mean(q(0), device_mb),
        mean(q(1), device_mb),
        mean(last, device_mb),
        mean(last, device_mb) / mean(q(1), device_mb),
        samples.iter().map(device_mb).fold(0.0, f64::max),
    );
    if let (Some(first), Some(final_minute)) = (minutes.first(), minutes.last()) {
        println!(
            "  throughput: first minute {:.0}/s, last minute {:.0}/s: ratio {:.2} (target ≥ 0.90)",
            *first as f64 / 60.0,
            *final_minute as f64 / 60.0,
            *final_minute as f64 / *first as f64
        );
    }
    println!("  requests: {total_ok} answered, {total_errors} errors (target 0)");

    // The device: in step with the server once the load has stopped?
    let server_view = server_ids(&users[0].0).await?;
    let in_step = stint_e2e::eventually(Duration::from_secs(30), || {
        let dir = device_dir.clone();
        let expected = server_view.clone();
        async move {
            tokio::task::spawn_blocking(move || device_ids(&dir) == expected)
                .await
                .unwrap_or(false)
        }
    })
    .await;
    println!(
        "  device: {} sessions on the server, device in step within 30 s: {}",
        server_view.len(),
        if in_step { "yes" } else { "NO" }
    );
    agent.stop();
    let replica = device_dir.join("replica");
    let replica_disk = dir_bytes(&replica);
    let replica_live = sled_live_bytes(&replica)?;

    // Disk: file bytes per live byte, while running, after the online
    // compactions, and compacted once more now that the load has stopped.
    let running = file_bytes(&redb_file);
    server.stop().await?;
    let log = std::fs::read_to_string(server_dir.join("server.log")).unwrap_or_default();
    let compactions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("compacted the store"))
        .collect();
    let paused_ms = |l: &str| -> Option<u64> {
        l.split("paused_ms=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let areas = stint_e2e::floor::live_bytes(&redb_file)?;
    let live: u64 = areas.values().map(|(_, bytes)| bytes).sum();
    let (compacted, stats) = {
        // Compacted as the server's jobs do it, once more now that
        // nothing writes.
        let store = stint_store::open_redb(&redb_file, stint_store::StoreOptions::default())?;
        store.compact().await?;
        drop(store);
        let db = redb::Database::open(&redb_file)?;
        let wtx = db.begin_write()?;
        let stats = wtx.stats()?;
        wtx.abort()?;
        drop(db);
        (file_bytes(&redb_file), stats)
    };
    println!("disk:");
    println!(
        "  server: live keys and values {:.1} MB; file {:.1} MB at the end of the load ({:.2}× live), {:.1} MB compacted ({:.2}× live; target ≤ 2×)",
        mb(live, 1),
        mb(running, 1),
        running as f64 / live as f64,
        mb(compacted, 1),
        compacted as f64 / live as f64,
    );
    let page = stats.page_size() as u64;
    println!(
        "  where the compacted file goes: leaves {:.1} MB holding {:.1} MB ({:.0}% full), branches {:.1} MB, free or wasted {:.1} MB",
        mb(stats.leaf_pages() * page, 1),
        mb(stats.stored_bytes(), 1),
        100.0 * stats.stored_bytes() as f64 / (stats.leaf_pages() * page) as f64,
        mb(stats.branch_pages() * page, 1),
        mb(stats.fragmented_bytes(), 1),
    );
    println!(
        "  online compactions by the background jobs: {}, the longest pause {} ms",
        compactions.len(),
        compactions
            .iter()
            .filter_map(|l| paused_ms(l))
            .max()
            .map_or_else(|| "-".to_owned(), |ms| ms.to_string())
    );
    let mut areas: Vec<_> = areas.into_iter().collect();
    areas.sort_by_key(|(_, (_, bytes))| std::cmp::Reverse(*bytes));
    println!("  the live bytes, by area:");
    for (area, (keys, bytes)) in areas.iter().take(6) {
        println!("    {area:<24} {keys:>8} keys  {:>8.2} MB", mb(*bytes, 1));
    }
    println!(
        "  device replica (sled): {:.1} MB on disk for {:.2} MB of keys and values ({:.1}×)",
        mb(replica_disk, 1),
        mb(replica_live, 1),
        replica_disk as f64 / replica_live as f64
    );
    Ok(())
}

/// The bytes of every key and value in a closed sled database.
fn sled_live_bytes(dir: &Path) -> anyhow::Result<u64> {
    let db = sled::open(dir)?;
    let mut bytes = 0;
    for name in db.tree_names() {
        for item in db.open_tree(name)?.iter() {
            let (k, v) = item?;
            bytes += (k.len() + v.len()) as u64;
        }
    }
    Ok(bytes)
}
