//! Benchmark of the workspace watcher: a command, not a test.
//!
//! Generates a tree of about 50,000 files and 1.5 GB (mostly 1–20 KiB
//! files, a few of 1–50 MiB), then prints:
//! - the CPU's hashing limit for the tree: bytes ÷ (cores × one core's
//!   SHA-256 throughput, measured here in memory);
//! - the initial index with a warm page cache, and with a cold one (the
//!   tree's pages dropped with `posix_fadvise`), against that limit;
//! - what reading the tree alone costs (every file opened, read through a
//!   buffer, stat'd and closed, on every core, without hashing): added to
//!   the limit, the floor under any index that reads files, whatever its
//!   walk or bookkeeping;
//! - a rescan when nothing changed;
//! - the same tree through `find … | xargs -0 sha256sum`, and with
//!   `xargs -P<cores>`, with the ratios;
//! - the time from a write to its new checksum in the watcher's index,
//!   p50/p99 over 300 writes of small files.
//!
//! Targets on a 2-core machine with SHA extensions: warm index within 1.4×
//! of the limit, no-change rescan under 0.15 s, write-to-checksum p99
//! under the debounce (50 ms) + 20 ms.
//!
//! `make bench-watch`, or after `cargo build --release -p stint-e2e`:
//! `target/release/stint-watchbench`. Environment: `STINT_BENCH_TREE` (where
//! the tree is generated and kept between runs; default
//! `/var/tmp/stint-watchbench`), `STINT_BENCH_FILES` (default 50000),
//! `STINT_BENCH_WRITES` (default 300).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use sha2::Digest;
use stint_e2e::{env_or, percentile};
use stint_watch::{Change, Event, Index, Options, Watcher, scan};

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env_or(
        "STINT_BENCH_TREE",
        "/var/tmp/stint-watchbench".to_owned(),
    ));
    let files: usize = env_or("STINT_BENCH_FILES", 50_000);
    let writes: usize = env_or("STINT_BENCH_WRITES", 300);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);

    let (count, bytes) = generate(&root, files)?;
    let gb = bytes as f64 / 1e9;
    println!("tree: {count} files, {gb:.2} GB in {}", root.display());

    let per_core = sha256_throughput();
    let limit = bytes as f64 / (cores as f64 * per_core);
    println!(
        "SHA-256 on one core: {:.2} GB/s; the tree's hashing limit on {cores} cores: {limit:.3} s",
        per_core / 1e9
    );

    // Warm: every page in the cache (a first pass reads them all).
    time_shell(
        &root,
        "find . -type f -print0 | xargs -0 -n 2000 -P4 cat > /dev/null",
    )?;
    let single = time_shell(
        &root,
        "find . -type f -print0 | xargs -0 sha256sum > /dev/null",
    )?;
    let parallel = time_shell(
        &root,
        &format!("find . -type f -print0 | xargs -0 -n 2000 -P{cores} sha256sum > /dev/null"),
    )?;
    let options = Options::default();
    let mut best = f64::MAX;
    let mut index = Index::default();
    for _ in 0..3 {
        index = Index::default();
        let started = Instant::now();
        let report = scan(&root, &mut index, &options, &mut |_| {});
        best = best.min(started.elapsed().as_secs_f64());
        ensure!(report.problems.is_empty(), "{:?}", &report.problems[..1]);
    }
    ensure!(index.len() == count, "indexed {} of {count}", index.len());
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "initial index, warm:       {best:>7.3} s  {:>5.2}× the limit (target ≤ 1.4×: {})  {:.2} GB/s",
        best / limit,
        verdict(best / limit <= 1.4),
        gb / best
    );
    let reading = read_alone(&walk_files(&root)?, cores)?;
    println!(
        "  reading alone, no hash:  {reading:>7.3} s  (limit + reading = {:.2}× the limit: the floor without mmap)",
        (limit + reading) / limit
    );
    println!(
        "  find | xargs sha256sum:  {single:>7.3} s  (Stint is {:.1}× faster)",
        single / best
    );
    println!(
        "  find | xargs -P{cores}:       {parallel:>7.3} s  (Stint is {:.1}× faster)",
        parallel / best
    );

    // A settled index (past the racy window) rescanned with no change.
    scan(&root, &mut index, &options, &mut |_| {});
    let mut rescan = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let report = scan(&root, &mut index, &options, &mut |_| {});
        rescan = rescan.min(started.elapsed().as_secs_f64());
        ensure!(
            report.files_hashed == 0,
            "a no-change rescan hashed {}",
            report.files_hashed
        );
    }
    println!(
        "no-change rescan, warm:    {rescan:>7.3} s  (target < 0.15 s: {})",
        verdict(rescan < 0.15)
    );

    // Cold: the tree's pages dropped from the cache before each run.
    for threads in [cores, cores * 4] {
        drop_cache(&root)?;
        let started = Instant::now();
        scan(
            &root,
            &mut Index::default(),
            &Options {
                threads,
                ..Options::default()
            },
            &mut |_| {},
        );
        let cold = started.elapsed().as_secs_f64();
        println!(
            "initial index, cold, {threads:>2} threads: {cold:>7.3} s  {:.2} GB/s",
            gb / cold
        );
    }
    drop_cache(&root)?;
    let cold_sum = time_shell(
        &root,
        &format!("find . -type f -print0 | xargs -0 -n 2000 -P{cores} sha256sum > /dev/null"),
    )?;
    println!("  cold find | xargs -P{cores}: {cold_sum:>7.3} s");

    write_latency(&root, writes)
}

/// Times writes to small files until the watcher reports their new
/// checksums.
fn write_latency(root: &Path, writes: usize) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<Change>)>();
    let (ready_tx, ready_rx) = mpsc::channel();
    let watcher = Watcher::start(
        root,
        Index::default(),
        Options::default(),
        move |e| match e {
            Event::Changes(changes) => {
                let _ = tx.send((Instant::now(), changes));
            }
            Event::Ready { took, .. } => {
                let _ = ready_tx.send(took);
            }
            _ => {}
        },
    )?;
    let took = ready_rx.recv_timeout(Duration::from_secs(600))?;
    println!("watcher up: initial index in {:.3} s", took.as_secs_f64());
    while rx.try_recv().is_ok() {}
    let root = root.canonicalize()?;
    let mut samples = Vec::with_capacity(writes);
    for i in 0..writes {
        let rel = format!("d{:02}/e{:02}/w{i}.txt", i % 50, i % 7);
        let content = format!("write {i} at {:?}", Instant::now());
        let expected = hex::encode(sha2::Sha256::digest(content.as_bytes()));
        let written = Instant::now();
        std::fs::write(root.join(&rel), &content)?;
        loop {
            let (at, changes) = rx
                .recv_timeout(Duration::from_secs(10))
                .context("the watcher reported nothing for 10 s")?;
            let hit = changes.iter().any(|c| {
                matches!(c, Change::Upsert(path, entry) if *path == rel && entry.sha256_hex() == expected)
            });
            if hit {
                samples.push(
                    u32::try_from(at.duration_since(written).as_micros()).unwrap_or(u32::MAX),
                );
                break;
            }
        }
    }
    drop(watcher);
    samples.sort_unstable();
    let p99 = percentile(&samples, 0.99);
    println!(
        "write → checksum ({writes} writes): p50 {:.1} ms  p90 {:.1} ms  p99 {p99:.1} ms  max {:.1} ms  (target p99 < 70 ms: {})",
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 1.0),
        if p99 < 70.0 { "met" } else { "MISSED" }
    );
    for i in 0..writes {
        let _ = std::fs::remove_file(root.join(format!("d{:02}/e{:02}/w{i}.txt", i % 50, i % 7)));
    }
    Ok(())
}

/// Reads every file of `files` on `threads` threads as the index does
/// (open, read through one reused buffer, fstat, close) but hashes
/// nothing: the best of three runs, in seconds.
fn read_alone(files: &[PathBuf], threads: usize) -> anyhow::Result<f64> {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut best = f64::MAX;
    for _ in 0..3 {
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> std::io::Result<()> {
                        let mut buf = vec![0_u8; 256 * 1024];
                        while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let mut file = std::fs::File::open(path)?;
                            while file.read(&mut buf)? > 0 {
                                std::hint::black_box(&buf);
                            }
                            std::hint::black_box(file.metadata()?);
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().expect("reader thread"))
        })?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// One core's SHA-256 throughput in bytes/s, on a buffer in memory.
fn sha256_throughput() -> f64 {
    let buf = vec![0x5a_u8; 256 * 1024];
    let mut best = 0.0_f64;
    for _ in 0..3 {
        let mut sha = sha2::Sha256::new();
        let started = Instant::now();
        for _ in 0..2048 {
            sha.update(&buf);
        }
        std::hint::black_box(sha.finalize());
        best = best.max((buf.len() * 2048) as f64 / started.elapsed().as_secs_f64());
    }
    best
}

fn time_shell(dir: &Path, script: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()?;
    ensure!(status.success(), "{script} failed");
    Ok(started.elapsed().as_secs_f64())
}

/// Drops the tree's pages from the page cache (no privilege needed for
/// clean pages of files one can open).
fn drop_cache(root: &Path) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    Command::new("sync").status()?;
    for entry in walk_files(root)? {
        let file = std::fs::File::open(&entry)?;
        let rc = libc_fadvise(file.as_raw_fd());
        ensure!(rc == 0, "posix_fadvise failed on {}", entry.display());
    }
    Ok(())
}

#[allow(unsafe_code)]
fn libc_fadvise(fd: i32) -> i32 {
    // SAFETY: `fd` is an open file descriptor owned by the caller for the
    // duration of the call; the advice only affects the page cache.
    unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_DONTNEED) }
}

fn walk_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}

/// Generates the tree once (kept between runs, marked done): returns its
/// file count and bytes.
fn generate(root: &Path, files: usize) -> anyhow::Result<(usize, u64)> {
    // Beside the tree, not in it: the tree is what gets indexed.
    let marker = root.with_extension(format!("generated-{files}"));
    let big = (files / 1250).max(1);
    if !marker.exists() {
        if root.exists() {
            std::fs::remove_dir_all(root)?;
        }
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent)?;
        }
        println!("generating {files} files in {} …", root.display());
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let chunk: Vec<u8> = (0..1024 * 1024).map(|_| next().to_le_bytes()[0]).collect();
        for i in 0..files {
            let dir = root.join(format!("d{:02}/e{:02}", i % 50, i % 7));
            std::fs::create_dir_all(&dir)?;
            let size = if i < big {
                // A few large files, 1–50 MiB: about 1 GB together.
                (1 + next() % 50) as usize * 1024 * 1024
            } else {
                (1 + next() % 20) as usize * 1024
            };
            let offset = (next() % 1024) as usize;
            let mut content = Vec::with_capacity(size);
            while content.len() < size {
                let take = (size - content.len()).min(chunk.len() - offset);
                content.extend_from_slice(&chunk[offset..offset + take]);
            }
            content[..8].copy_from_slice(&(i as u64).to_le_bytes());
            std::fs::write(dir.join(format!("f{i}.bin")), &content)?;
        }
        std::fs::write(&marker, b"")?;
    }
    let mut count = 0;
    let mut bytes = 0;
    for path in walk_files(root)? {
        count += 1;
        bytes += std::fs::metadata(&path)?.len();
    }
    Ok((count, bytes))
}
