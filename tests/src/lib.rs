//! # stint-e2e
//!
//! End-to-end tests across real Stint processes. This library is their
//! harness: it starts the real binaries (built by `cargo test --workspace`
//! or `make test`) on port 0 with temp data directories, and stops them the
//! way an operator would.
//!
//! The tests live in `tests/`, one file per area. [`device`] runs the
//! `stint` CLI and agent; [`editors`] Neovim with its plugin; [`terminal`] a command on a pseudo-terminal,
//! answering its prompts; [`desktop`] the desktop app under Xvfb through
//! WebDriver; [`Server`] and [`Api`] the sync server.

pub mod atuin;
pub mod desktop;
pub mod device;
pub mod editors;
pub mod floor;
#[cfg(unix)]
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of one of the workspace's binaries, built in the same profile as
/// the running program (a test in `target/<profile>/deps/`, or a binary in
/// `target/<profile>/`).
///
/// # Panics
/// If the binary was not built; `cargo test --workspace` builds it.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the running program's path");
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(name))
        .collect();
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{name} is missing next to {}: build it first with `cargo build -p stint-server` (make test does)",
                exe.display()
            )
        })
}

/// The resident memory of a process, in KiB (Linux: `VmRSS`).
#[must_use]
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The CPU time a process has used so far, user and system, all its
/// threads, in seconds (Linux: `/proc/PID/stat`, in ticks of `USER_HZ`,
/// which the kernel's ABI fixes at 100).
#[must_use]
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    // utime and stime are fields 14 and 15.
    stat_seconds(&format!("/proc/{pid}/stat"), [14, 15])
}

/// The CPU time of this process's children that ended and were waited
/// for (cutime and cstime, fields 16 and 17), in seconds.
#[must_use]
pub fn children_cpu_seconds() -> Option<f64> {
    stat_seconds("/proc/self/stat", [16, 17])
}

/// The sum of two clock-tick fields of a `/proc/…/stat` file, in seconds.
fn stat_seconds(path: &str, fields: [usize; 2]) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The name, in parentheses, may hold spaces: count fields after it,
    // from the state (field 3).
    let after_name: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |n: usize| after_name.get(n - 3)?.parse::<u64>().ok();
    Some((ticks(fields[0])? + ticks(fields[1])?) as f64 / 100.0)
}

/// The environment variable `name` parsed, else `default` (the
/// benchmarks' knobs).
#[must_use]
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile (0..=1) of `sorted` samples in microseconds, in
/// milliseconds; NaN when there are none. For the benchmarks' reports.
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Waits until `check` answers `true`, asking again every 50 ms, for at
/// most `within`; whether it did. For what the system does in its own
/// time (a connection noticed closed, a background job's work).
pub async fn eventually<F: std::future::Future<Output = bool>>(
    within: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running `stint-server`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    data_dir: std::path::PathBuf,
    args: Vec<String>,
}

impl Server {
    /// Starts `stint-server` on a free port with its data in `data_dir`.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts it with throttling out of the way (logins, registrations,
    /// refreshes, the hashing queue), for tests that sign in many times and
    /// are not about throttling.
    pub async fn start_unthrottled(data_dir: &Path) -> anyhow::Result<Self> {
        let no_limit = [
            "--login-per-account-per-minute",
            "100000",
            "--login-per-ip-per-minute",
            "100000",
            "--register-per-ip-per-minute",
            "100000",
            "--refresh-per-login-per-minute",
            "100000",
            "--hashing-queue",
            "100000",
        ];
        Self::start_with(data_dir, &no_limit).await
    }

    /// Starts it with extra arguments. Its log (stderr) goes to
    /// `server.log` in the data directory.
    pub async fn start_with(data_dir: &Path, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0", data_dir, args).await
    }

    /// Starts another build of the server (a benchmark's peer: the same
    /// code at an earlier commit), as [`Server::start_with`] does.
    pub async fn start_binary(
        binary: &Path,
        data_dir: &Path,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        Self::spawn(binary, "127.0.0.1:0", data_dir, args).await
    }

    /// Kills the server with SIGKILL (a crash: no shutdown, nothing
    /// flushed) and starts it again on the same address and data, as a
    /// supervisor would.
    pub async fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("killing stint-server")?;
        let listen = self.url.trim_start_matches("http://").to_owned();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        *self = Self::start_on(&listen, &self.data_dir.clone(), &args).await?;
        Ok(())
    }

    async fn start_on(listen: &str, data_dir: &Path, args: &[&str]) -> anyhow::Result<Self> {
        Self::spawn(&binary("stint-server"), listen, data_dir, args).await
    }

    async fn spawn(
        binary: &Path,
        listen: &str,
        data_dir: &Path,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))?;
        let mut child = Command::new(binary)
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("STINT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("starting stint-server")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("stint-server listening on ") {
                    return Ok(url.to_owned());
                }
            }
            bail!("stint-server exited before listening")
        })
        .await
        .context("stint-server did not start within 20 s")??;
        Ok(Self {
            child,
            url,
            data_dir: data_dir.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
        })
    }

    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `url` + `path`.
    #[must_use]
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends SIGTERM and waits for a clean exit; returns its status.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().context("server already exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        Ok(tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await??)
    }
}

/// A JSON client of the API: every call answers `(status, body)`, with the
/// body as JSON (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client of the server at `base` (`http://127.0.0.1:PORT`), signed out.
    #[must_use]
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{base}/api/v5"),
            token: None,
        }
    }

    /// The same client, sending `Authorization: Bearer token`.
    #[must_use]
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// The full URL of an API path (`/auth/login` → `http://…/api/v5/auth/login`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.try_call(method, path, body)
            .await
            .expect("the server answers")
    }

    /// `POST`, or `None` when the server does not answer (it was killed).
    pub async fn try_post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Option<(u16, serde_json::Value)> {
        self.try_call("POST", path, Some(&body)).await
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Option<(u16, serde_json::Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let streaming = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if streaming {
            // A live channel never ends: its status is the answer.
            return Some((status, serde_json::Value::Null));
        }
        let text = response.text().await.ok()?;
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Some((status, json))
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("GET", path, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call("POST", path, Some(&body)).await
    }

    /// `PUT` with a JSON body.
    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call("PUT", path, Some(&body)).await
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("DELETE", path, None).await
    }

    /// Registers an account (password `correct horse battery`) and returns
    /// a client signed in as it, with the token response.
    pub async fn register(&self, email: &str) -> (Self, serde_json::Value) {
        let (status, body) = self
            .post(
                "/auth/register",
                serde_json::json!({"email": email, "password": PASSWORD, "first_name": "Test", "last_name": email}),
            )
            .await;
        assert_eq!(status, 201, "register {email}: {body}");
        (
            self.with_token(body["access_token"].as_str().expect("a token")),
            body,
        )
    }

    /// Creates an organization tenant owned by this account; returns its
    /// id and a client acting in it.
    pub async fn organization(&self, name: &str) -> (String, Self) {
        let (status, created) = self
            .post("/tenants", serde_json::json!({"name": name}))
            .await;
        assert_eq!(status, 201, "create {name}: {created}");
        let id = created["tenant"]["id"].as_str().expect("an id").to_owned();
        let (status, switched) = self
            .post("/auth/switch-tenant", serde_json::json!({"tenant_id": id}))
            .await;
        assert_eq!(status, 200, "switch to {name}: {switched}");
        let token = switched["access_token"].as_str().expect("a token");
        (id, self.with_token(token))
    }

    /// Every change the tenant's log holds, pulled page after page of
    /// 1,000 (what a fresh device gets), each `{kind, id, rev, body, …}`.
    pub async fn pull_everything(&self) -> Vec<serde_json::Value> {
        let mut changes = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = if cursor.is_empty() {
                "/sync/pull?limit=1000".to_owned()
            } else {
                format!("/sync/pull?limit=1000&cursor={cursor}")
            };
            let (status, page) = self.get(&path).await;
            assert_eq!(status, 200, "{page}");
            changes.extend(page["changes"].as_array().expect("changes").iter().cloned());
            cursor = page["cursor"].as_str().expect("a cursor").to_owned();
            if page["more"] == false {
                return changes;
            }
        }
    }

    /// A client acting in another tenant this account belongs to.
    pub async fn switch_to(&self, tenant: &str) -> Self {
        let (status, switched) = self
            .post(
                "/auth/switch-tenant",
                serde_json::json!({"tenant_id": tenant}),
            )
            .await;
        assert_eq!(status, 200, "switch to {tenant}: {switched}");
        self.with_token(switched["access_token"].as_str().expect("a token"))
    }

    /// Signs in, returns a client with the access token and the token response.
    pub async fn login(&self, email: &str, password: &str) -> (Self, serde_json::Value) {
        let (status, body) = self
            .post(
                "/auth/login",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login {email}: {body}");
        (
            self.with_token(body["access_token"].as_str().expect("a token")),
            body,
        )
    }
}

/// The password `Api::register` uses.
pub const PASSWORD: &str = "correct horse battery";
