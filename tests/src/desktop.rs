//! The desktop app, really started: a private X server (Xvfb) and session
//! bus, `tauri-driver` in front of WebKit's WebDriver, and the app binary
//! launched by a WebDriver session. [`Window`] speaks the W3C WebDriver
//! protocol over plain HTTP: find by CSS selector (waiting), click, type,
//! read text, run a script, take a screenshot.
//!
//! Every process here is a child of the test and is killed when its handle
//! drops; nothing is killed by name or by group.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a lookup waits for its element.
const WAIT: Duration = Duration::from_secs(20);

/// The key under which WebDriver returns an element's id.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A private X display.
#[derive(Debug)]
pub struct Display {
    _xvfb: Child,
    /// `:N`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb on the first free display number from 90 (1280×800).
    pub async fn start() -> anyhow::Result<Self> {
        for n in 90..200 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let name = format!(":{n}");
            let mut xvfb = Command::new("Xvfb")
                .args([&name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("starting Xvfb (scripts/install-deps.sh installs it)")?;
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if socket.exists() {
                    return Ok(Self { _xvfb: xvfb, name });
                }
                if xvfb.try_wait()?.is_some() {
                    break; // taken meanwhile: try the next number
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        bail!("no free X display between :90 and :199")
    }
}

/// A private session bus (GTK and WebKit talk to one).
#[derive(Debug)]
pub struct Bus {
    _daemon: Child,
    /// Its address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
}

impl Bus {
    /// Starts `dbus-daemon --session`.
    pub async fn start() -> anyhow::Result<Self> {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting dbus-daemon")?;
        let stdout = daemon.stdout.take().context("dbus-daemon's stdout")?;
        let mut address = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            BufReader::new(stdout).read_line(&mut address),
        )
        .await
        .context("dbus-daemon printed no address")??;
        Ok(Self {
            _daemon: daemon,
            address: address.trim().to_owned(),
        })
    }
}

/// A free TCP port on loopback (the driver takes port numbers, not 0).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `tauri-driver` on a display and bus of its own; the app it launches
/// inherits `env` (its data directory, …).
#[derive(Debug)]
pub struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
    _bus: Bus,
    _display: Display,
}

impl Driver {
    /// Starts the driver; ready when this returns.
    pub async fn start(env: &[(&str, &Path)]) -> anyhow::Result<Self> {
        let display = Display::start().await?;
        let bus = Bus::start().await?;
        let port = free_port()?;
        let native = free_port()?;
        let mut command = Command::new(tauri_driver());
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display.name)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("STINT_KEYRING", "off")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .context("starting tauri-driver (`cargo install tauri-driver --locked`)")?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _bus: bus,
            _display: display,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not answer within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Launches the app (a new WebDriver session) and returns its window.
    pub async fn launch(&self, app: &Path) -> anyhow::Result<Window> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app}
        }}});
        let response: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = response["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no WebDriver session: {response}"))?;
        Ok(Window {
            http: self.http.clone(),
            base: format!("{}/session/{id}", self.url),
        })
    }

    /// The process id of the driver.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// `tauri-driver` on PATH, else where `cargo install` puts it.
fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let installed = home.join(".cargo/bin/tauri-driver");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("tauri-driver")
    }
}

/// The app's window, through WebDriver.
#[derive(Debug)]
pub struct Window {
    http: reqwest::Client,
    base: String,
}

impl Window {
    async fn call(&self, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response: Value = request.send().await?.json().await?;
        if let Some(error) = response["value"]["error"].as_str() {
            bail!("{method} {path}: {error}: {}", response["value"]["message"]);
        }
        Ok(response["value"].clone())
    }

    /// The first element matching `css`, waiting for it.
    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .call(
                    "POST",
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Ok(element) = found
                && let Some(id) = element[ELEMENT].as_str()
            {
                return Ok(id.to_owned());
            }
            if Instant::now() > deadline {
                bail!("nothing matches {css} after {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call("POST", &format!("/element/{id}/click"), json!({}))
            .await
            .map(drop)
    }

    /// Replaces the text of the field matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call("POST", &format!("/element/{id}/clear"), json!({}))
            .await?;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await
        .map(drop)
    }

    /// The text of the first element matching `css` (its `textContent`:
    /// WebKit's rendered text leaves out text cut by an ellipsis).
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        self.find(css).await?;
        let value = self
            .eval(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                json!([css]),
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the text of `css` satisfies `ok`; returns it.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(text) = self.text(css).await {
                if ok(&text) {
                    return Ok(text);
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{css} never showed the expected text; last: {last:?}")
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let present = self
                .eval(
                    "return document.querySelector(arguments[0]) !== null;",
                    json!([css]),
                )
                .await?;
            if present == Value::Bool(false) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{css} is still there after {WAIT:?}")
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn eval(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        use base64::Engine as _;
        let png = self.call("GET", "/screenshot", json!({})).await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().context("a screenshot")?)?;
        std::fs::write(path, bytes)?;
        Ok(())
    }

    /// Closes the window: the app exits, as when the user closes it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.call("DELETE", "", json!({})).await.map(drop)
    }
}

/// The processes below `pid` whose executable is `binary`: the app a
/// driver launched (tauri-driver → WebKitWebDriver → app), for its memory
/// figures, whatever other apps run beside it.
#[must_use]
pub fn descendants_running(pid: u32, binary: &Path) -> Vec<u32> {
    let binary = binary.canonicalize().unwrap_or_else(|_| binary.to_owned());
    let mut found = Vec::new();
    let mut queue = children_of(pid);
    while let Some(next) = queue.pop() {
        if std::fs::read_link(format!("/proc/{next}/exe")).is_ok_and(|exe| exe == binary) {
            found.push(next);
        }
        queue.extend(children_of(next));
    }
    found
}

/// The children of `pid` (WebKit's web and network processes of the app).
#[must_use]
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid …: comm may hold spaces, so split after ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}
