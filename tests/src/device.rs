//! A device from the outside: the `stint` CLI run as a user runs it, one
//! process per command, over a data directory of its own, and `stint agent`
//! as its background owner.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::binary;

/// `stint` on the device in `dir`, ready for arguments. Tests keep the
/// login out of any OS keyring (`STINT_KEYRING=off`), so that a developer's
/// own keyring is never touched; the keyring's test turns it back on.
#[must_use]
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(binary("stint"));
    command
        .env("STINT_DATA_DIR", dir)
        .env("STINT_KEYRING", "off");
    command
}

/// Runs a `stint` command with `stdin` fed in.
///
/// # Panics
/// If the binary cannot be started.
#[must_use]
pub fn run(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stint starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stint reads its input");
    child.wait_with_output().expect("stint ends")
}

/// Runs `stint ARGS` on the device in `dir`, with `stdin` fed in.
///
/// # Panics
/// If the binary cannot be started.
#[must_use]
pub fn stint_with_input(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = command(dir);
    command.args(args);
    run(command, stdin)
}

/// Runs `stint ARGS` on the device in `dir`.
#[must_use]
pub fn stint(dir: &Path, args: &[&str]) -> Output {
    stint_with_input(dir, args, "")
}

/// Runs `stint ARGS` (with `stdin`), expects success, returns stdout.
///
/// # Panics
/// If the command fails: the panic shows its stderr.
pub fn ok_with_input(dir: &Path, args: &[&str], stdin: &str) -> String {
    let out = stint_with_input(dir, args, stdin);
    assert!(
        out.status.success(),
        "stint {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Signs the device in `dir` in to the server at `url` with the CLI, the
/// password on stdin; `register` creates the account (as Ada Lovelace)
/// first.
pub fn login(dir: &Path, url: &str, email: &str, register: bool) {
    let mut args = vec![
        if register { "register" } else { "login" },
        "--server",
        url,
        "--email",
        email,
        "--password-stdin",
    ];
    if register {
        args.extend(["--first-name", "Ada", "--last-name", "Lovelace"]);
    }
    ok_with_input(dir, &args, &format!("{}\n", crate::PASSWORD));
}

/// Runs `stint ARGS`, expects success, returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    ok_with_input(dir, args, "")
}

/// Runs `stint ARGS` (a `--json` command), expects success, parses stdout.
///
/// # Panics
/// If the command fails or prints something else than JSON.
#[must_use]
pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = ok(dir, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("stint {args:?} printed {out:?}: {e}"))
}

/// A running `stint agent`.
#[derive(Debug)]
pub struct Agent {
    child: Child,
}

impl Agent {
    /// Starts the agent of `dir` and waits for its socket.
    ///
    /// # Panics
    /// If it does not start within 10 s.
    #[must_use]
    pub fn start(dir: &Path) -> Self {
        let child = command(dir)
            .arg("agent")
            .stderr(Stdio::null())
            .spawn()
            .expect("stint agent starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !dir.join("agent.sock").exists() {
            assert!(Instant::now() < deadline, "the agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child }
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    /// Stops it with SIGTERM, as a service manager would, and expects a
    /// clean exit.
    ///
    /// # Panics
    /// If it does not exit cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM sent");
        let status = self.child.wait().expect("the agent ends");
        assert!(
            status.success(),
            "the agent stops cleanly on SIGTERM: {status}"
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // A failed test must not leave the agent behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
