//! Benchmark of sync: a command, not a test.
//!
//! Starts a release `stint-server` on loopback, then, with devices of one
//! user in this process (each its own sled replica in a temp dir):
//! - device A uploads N sessions (made offline first);
//! - a fresh device B syncs those N sessions down;
//! - B runs a round with nothing to do;
//! - A makes a steady stream of edits while B watches (the live channel):
//!   the time from each edit on A to its arrival on B;
//! - then, with everything stopped, the same keys and values the upload and
//!   the fresh device wrote are written again with raw redb and sled calls
//!   (see [`stint_e2e::floor`]): the floor under each phase.
//!
//! - then atuin (its server on SQLite and two clients, built once by
//!   `scripts/peer-atuin.sh`) uploads and brings down the same number of
//!   records, in the same run, so that the ratios compare like with like.
//!
//! Prints records/s and p50/p99 next to the targets (N = 100,000: upload
//! ≤ 2.5 s and 1.5× atuin's speed, fresh device ≤ 2.5 s and 4× atuin's,
//! idle round ≤ 20 ms, edit A→B p50 ≤ 100 ms and p99 ≤ 250 ms).
//!
//! `make bench-sync`, or after `cargo build --release -p stint-server -p stint-e2e`:
//! `target/release/stint-syncbench`. Environment: `STINT_BENCH_RECORDS`
//! (default 100000), `STINT_BENCH_EDITS` (default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use stint_client::{Change, Device, NewSession, SessionFilter};
use stint_e2e::atuin::Atuin;
use stint_e2e::{PASSWORD, Server, children_cpu_seconds, cpu_seconds, env_or, floor, percentile};
use stint_model::api::RegisterRequest;
use stint_model::sync::{MAX_BATCH_MUTATIONS, MAX_PULL_LIMIT};

/// The devices here allocate as the `stint` and desktop binaries do.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Batches in one push (as `stint-client` cuts its outbox): the server
/// commits durably once per push.
const BATCHES_PER_PUSH: usize = 5;

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let records = env_or("STINT_BENCH_RECORDS", 100_000);
    let edits = env_or("STINT_BENCH_EDITS", 200);
    let server_dir = tempfile::tempdir()?;
    let server = Server::start_with(
        server_dir.path(),
        &["--login-per-account-per-minute", "1000"],
    )
    .await?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Arc::new(Device::open(dir_a.path())?);
    let email = "bench@example.com";
    a.register(
        &server.url,
        &RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            first_name: "Bench".into(),
            last_name: "Mark".into(),
            device_id: None,
        },
    )
    .await?;

    let started = Instant::now();
    for i in 0..records {
        a.start_session(NewSession {
            name: format!("session {i}"),
            workspace: format!("/src/project-{}", i % 500).into(),
            tags: vec![format!("t{}", i % 20)],
        })
        .await?;
    }
    println!(
        "made {records} sessions offline on A in {:.1} s (not measured below)",
        started.elapsed().as_secs_f64()
    );

    // The targets are for 100,000 records; scaled for other counts.
    let scale = records as f64 / 100_000.0;
    let cpu = Cpu::start(&server);
    let started = Instant::now();
    let report = a.sync().await?;
    let upload = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.pushed == records, "pushed {}", report.pushed);
    println!(
        "upload from A:        {records} records in {upload:.2} s = {:>7.0} records/s   target ≤ {:.2} s: {}",
        records as f64 / upload,
        2.5 * scale,
        verdict(upload <= 2.5 * scale)
    );
    cpu.print();

    let b = Arc::new(Device::open(dir_b.path())?);
    b.login(&server.url, email, PASSWORD).await?;
    let cpu = Cpu::start(&server);
    let started = Instant::now();
    let report = b.sync().await?;
    let download = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.pulled == records, "pulled {}", report.pulled);
    println!(
        "fresh device B:       {records} records in {download:.2} s = {:>7.0} records/s   target ≤ {:.2} s: {}",
        records as f64 / download,
        2.5 * scale,
        verdict(download <= 2.5 * scale)
    );
    cpu.print();

    let mut idle = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        b.sync().await?;
        idle.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    idle.sort_unstable();
    let idle_p50 = percentile(&idle, 0.5);
    println!(
        "idle round:           p50 {idle_p50:.1} ms  p99 {:.1} ms   target ≤ 20 ms: {}",
        percentile(&idle, 0.99),
        verdict(idle_p50 <= 20.0)
    );

    // B watches; A edits one session again and again, pushing each edit.
    let target = a
        .list_sessions(&SessionFilter {
            limit: 1,
            ..SessionFilter::default()
        })
        .await?
        .pop()
        .context("a session to edit")?;
    let id = target.id.to_string();
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = {
        let b = Arc::clone(&b);
        tokio::spawn(async move {
            let nudge = tokio::sync::Notify::new();
            b.watch(
                Duration::from_secs(60),
                &nudge,
                |round| {
                    if round.as_ref().is_ok_and(|r| r.pulled > 0) {
                        let _ = arrived_tx.send(());
                    }
                },
                std::future::pending(),
            )
            .await;
        })
    };
    // The watcher's first round, and its live channel, before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while arrived.try_recv().is_ok() {}
    let mut latencies = Vec::with_capacity(edits);
    for n in 0..edits {
        let started = Instant::now();
        a.update_session(&id, vec![Change::Name(format!("edit {n}"))])
            .await?;
        a.sync().await?;
        tokio::time::timeout(Duration::from_secs(10), arrived.recv())
            .await
            .context("an edit never reached B")?;
        let on_b = b.find_session(&id).await?;
        anyhow::ensure!(on_b.name == format!("edit {n}"), "B has {}", on_b.name);
        latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    watcher.abort();
    // Its end releases its hold on B's replica.
    let _ = watcher.await;
    latencies.sort_unstable();
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "edit on A → on B:     p50 {p50:.1} ms  p99 {p99:.1} ms over {edits} edits   targets ≤ 100 / 250 ms: {}",
        verdict(p50 <= 100.0 && p99 <= 250.0)
    );
    server.stop().await?;

    // The peer, minutes after on the same machine: only figures of one run
    // compare (its speed varies by the hour).
    let peer = atuin(records)?;
    println!(
        "atuin, same run:      upload {:.2} s, fresh device {:.2} s (its server {:.2} s and clients {:.2} s of CPU)",
        peer.upload, peer.download, peer.server_cpu, peer.clients_cpu
    );
    println!(
        "  upload:       Stint {:.2}× faster than atuin   target ≥ 1.5×: {}",
        peer.upload / upload,
        verdict(peer.upload / upload >= 1.5)
    );
    println!(
        "  fresh device: Stint {:.2}× faster than atuin   target ≥ 4×: {}",
        peer.download / download,
        verdict(peer.download / download >= 4.0)
    );

    // The stores' own share, from what the server and B hold now.
    drop((a, b));
    let floors = tempfile::tempdir()?;
    let on_server = floor::server_records(&server_dir.path().join("stint.redb"))?;
    let redb = floor::redb_upload(
        &on_server,
        &floors.path().join("redb"),
        MAX_BATCH_MUTATIONS,
        BATCHES_PER_PUSH,
    )?;
    let on_b = floor::replica_records(&dir_b.path().join("replica"))?;
    let sled = floor::sled_download(&on_b, &floors.path().join("sled"), MAX_PULL_LIMIT)?;
    println!(
        "floors: the same keys and values written with raw store calls, grouped as Stint groups them"
    );
    print_floor("upload", "redb", on_server.len(), redb, upload, 2.5 * scale);
    print_floor(
        "fresh device",
        "sled",
        on_b.len(),
        sled,
        download,
        2.5 * scale,
    );
    // Other groupings, beyond what the sync protocol allows (a transaction
    // holds about 100 pushed records), to see how much grouping weighs.
    let mut others = Vec::new();
    for (n, per) in [500, 2_000].into_iter().enumerate() {
        let took =
            floor::redb_upload(&on_server, &floors.path().join(format!("redb-{n}")), per, 1)?;
        others.push(format!(
            "redb {per} per durable transaction {:.2} s",
            took.as_secs_f64()
        ));
    }
    for (n, page) in [100, 10_000].into_iter().enumerate() {
        let took = floor::sled_download(&on_b, &floors.path().join(format!("sled-{n}")), page)?;
        others.push(format!("sled pages of {page} {:.2} s", took.as_secs_f64()));
    }
    println!("  other groupings: {}", others.join(", "));
    Ok(())
}

/// What atuin took for the same number of records.
struct Peer {
    upload: f64,
    download: f64,
    server_cpu: f64,
    clients_cpu: f64,
}

/// atuin's sync of `records` commands: one client imports them as its
/// history and uploads them; a fresh client, signed in with the same
/// account and key, brings them down. Each timed from its CLI's start to
/// its end, as Stint's phases are timed around one sync.
fn atuin(records: usize) -> anyhow::Result<Peer> {
    let atuin = Atuin::find()?;
    let dir = tempfile::tempdir()?;
    let server = atuin.server(&dir.path().join("server"))?;
    let a = atuin.client(&dir.path().join("a"), &server)?;
    let account = ["-u", "bench", "-p", PASSWORD];
    a.run(
        &[&["register", "-e", "bench@example.com"][..], &account].concat(),
        &[],
    )?;
    let started = Instant::now();
    a.import((0..records).map(|i| format!("cargo test -p project-{} -- case_{i}", i % 500)))?;
    println!(
        "atuin: imported {records} commands on its A in {:.1} s (not measured below)",
        started.elapsed().as_secs_f64()
    );
    let cpu_before = (
        cpu_seconds(server.pid()).unwrap_or(0.0),
        children_cpu_seconds().unwrap_or(0.0),
    );
    let started = Instant::now();
    a.run(&["sync"], &[])?;
    let upload = started.elapsed().as_secs_f64();
    let key = a.run(&["key", "--base64"], &[])?.trim().to_owned();
    let b = atuin.client(&dir.path().join("b"), &server)?;
    b.run(&[&["login", "-k", &key][..], &account].concat(), &[])?;
    let started = Instant::now();
    b.run(&["sync"], &[])?;
    let download = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(server.pid()).unwrap_or(0.0) - cpu_before.0;
    let clients_cpu = children_cpu_seconds().unwrap_or(0.0) - cpu_before.1;
    let on_b = b
        .run(&["history", "list", "--cmd-only"], &[])?
        .lines()
        .count();
    anyhow::ensure!(
        on_b == records,
        "atuin's B holds {on_b} of {records} commands"
    );
    Ok(Peer {
        upload,
        download,
        server_cpu,
        clients_cpu,
    })
}

/// A phase next to its store's floor, and whether its target lies below it.
fn print_floor(phase: &str, store: &str, records: usize, floor: Duration, took: f64, target: f64) {
    let floor = floor.as_secs_f64();
    println!(
        "  {phase:<13} raw {store} {floor:.2} s for {records} records: Stint {:.2}× its floor; target {target:.2} s {} the floor",
        took / floor,
        if target < floor { "BELOW" } else { "above" }
    );
}

/// The CPU time the server and this process (the devices) spend on one
/// phase: which side bounds it, and how far both cores are used.
struct Cpu {
    server: Option<u32>,
    at: (f64, f64),
    started: Instant,
}

impl Cpu {
    fn start(server: &Server) -> Self {
        let server = server.pid();
        Self {
            server,
            at: Self::now(server),
            started: Instant::now(),
        }
    }

    fn now(server: Option<u32>) -> (f64, f64) {
        (
            server.and_then(cpu_seconds).unwrap_or(0.0),
            cpu_seconds(std::process::id()).unwrap_or(0.0),
        )
    }

    fn print(&self) {
        let (server, devices) = Self::now(self.server);
        let (server, devices) = (server - self.at.0, devices - self.at.1);
        let wall = self.started.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        println!(
            "  CPU: server {server:.2} s, devices {devices:.2} s ({:.0}% of {cores} cores over the phase)",
            100.0 * (server + devices) / (wall * cores as f64),
        );
    }
}
