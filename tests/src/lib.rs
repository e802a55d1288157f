//! # stint-e2e
//!
//! End-to-end tests across real Stint processes. This library is their
//! harness: it starts the real binaries (built by `cargo test --workspace`
//! or `make test`) on port 0 with temp data directories, and stops them the
//! way an operator would.
//!
//! The tests live in `tests/`, one file per area.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of one of the workspace's binaries, next to the running test.
///
/// # Panics
/// If the binary was not built; `cargo test --workspace` builds it.
#[must_use]
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p stint-server` (make test does)",
        path.display()
    );
    path
}

/// A running `stint-server`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `stint-server` on a free port with its data in `data_dir`.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts it with extra arguments.
    pub async fn start_with(data_dir: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(binary("stint-server"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("STINT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        Ok(Self { child, url })
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
