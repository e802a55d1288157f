//! atuin, the peer `make bench-sync` measures Stint against in the same
//! run: its sync server (on SQLite) and two clients, each with its own
//! configuration and data folders, driven through its CLI as a user would.
//!
//! `scripts/peer-atuin.sh` builds the binaries once into
//! `target/peers/atuin/bin`; [`Atuin::find`] says where they are, or how to
//! build them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// atuin's client and server binaries.
#[derive(Debug, Clone)]
pub struct Atuin {
    bin: PathBuf,
}

impl Atuin {
    /// The binaries `scripts/peer-atuin.sh` built, next to this program's
    /// target folder (`target/release/…` → `target/peers/atuin/bin`).
    pub fn find() -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let bin = exe
            .ancestors()
            .skip(2)
            .take(2)
            .map(|target| target.join("peers/atuin/bin"))
            .find(|bin| bin.join("atuin").exists() && bin.join("atuin-server").exists())
            .context(
                "atuin is not built: run `bash scripts/peer-atuin.sh` (make bench-sync does)",
            )?;
        Ok(Self { bin })
    }

    /// Starts atuin's sync server on a free loopback port, its database a
    /// SQLite file in `dir`, open to registration.
    pub fn server(&self, dir: &Path) -> anyhow::Result<AtuinServer> {
        std::fs::create_dir_all(dir)?;
        // atuin takes a port, not an address it chose: ask the system for
        // a free one and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(dir.join("server.log"))?;
        let child = Command::new(self.bin.join("atuin-server"))
            .args(["start", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env("ATUIN_CONFIG_DIR", dir)
            .env(
                "ATUIN_DB_URI",
                format!("sqlite://{}", dir.join("atuin.db").display()),
            )
            .env("ATUIN_OPEN_REGISTRATION", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting atuin-server")?;
        let server = AtuinServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            ensure!(
                Instant::now() < deadline,
                "atuin-server did not listen within 30 s (see {})",
                dir.join("server.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// A client with its own folders under `dir`, syncing with `server`.
    pub fn client(&self, dir: &Path, server: &AtuinServer) -> anyhow::Result<AtuinClient> {
        let config = dir.join("config");
        std::fs::create_dir_all(&config)?;
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::write(
            config.join("config.toml"),
            format!(
                "sync_address = \"{}\"\nauto_sync = false\nupdate_check = false\n\n[sync]\nrecords = true\n",
                server.url
            ),
        )?;
        Ok(AtuinClient {
            atuin: self.bin.join("atuin"),
            dir: dir.to_owned(),
        })
    }
}

/// A running atuin sync server, stopped when dropped.
#[derive(Debug)]
pub struct AtuinServer {
    child: Child,
    /// Where it listens.
    pub url: String,
}

impl AtuinServer {
    /// The server's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for AtuinServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One atuin client: a device.
#[derive(Debug)]
pub struct AtuinClient {
    atuin: PathBuf,
    dir: PathBuf,
}

impl AtuinClient {
    /// Runs `atuin ARGS` with this device's folders; its output, or an
    /// error with what it said.
    pub fn run(&self, args: &[&str], env: &[(&str, &Path)]) -> anyhow::Result<String> {
        let mut command = Command::new(&self.atuin);
        command
            .args(args)
            .env("ATUIN_CONFIG_DIR", self.dir.join("config"))
            .env("ATUIN_DATA_DIR", self.dir.join("data"))
            .env("ATUIN_LOG", "error")
            // What its shell hook would have set (some commands need it).
            .env("ATUIN_SESSION", "0190a5f0000070008000000000000001")
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().context("running atuin")?;
        if !output.status.success() {
            bail!(
                "atuin {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Imports `commands` as a bash history, then turns the history into
    /// the records sync sends (what atuin does before its first upload).
    pub fn import(&self, commands: impl Iterator<Item = String>) -> anyhow::Result<()> {
        let histfile = self.dir.join("bash_history");
        let mut text = String::new();
        for command in commands {
            text.push_str(&command);
            text.push('\n');
        }
        std::fs::write(&histfile, text)?;
        self.run(&["import", "bash"], &[("HISTFILE", &histfile)])?;
        self.run(&["history", "init-store"], &[])?;
        Ok(())
    }
}
