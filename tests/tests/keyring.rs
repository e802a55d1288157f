//! The login's refresh token in the OS keyring: a private Secret Service
//! (gnome-keyring on its own D-Bus session bus, in a temp home) stands in
//! for a desktop's, and `stint` is run against it as a user would.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stint_e2e::device::{command, run};
use stint_e2e::{Api, PASSWORD, Server};

/// A D-Bus session bus with gnome-keyring's Secret Service on it, unlocked,
/// all under a temp directory; both processes end with it.
struct SecretService {
    bus: Child,
    keyring: Child,
    address: String,
    home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> Self {
        for tool in [
            "dbus-daemon",
            "dbus-send",
            "gnome-keyring-daemon",
            "secret-tool",
        ] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
                "{tool} is missing: scripts/install-deps.sh (make test) installs it"
            );
        }
        let home = tempfile::tempdir().unwrap();
        let socket = home.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        // No service activation: only our keyring daemon may own the name.
        let config = home.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#
            ),
        )
        .unwrap();
        let bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        wait_for(|| socket.exists(), "the bus socket");
        let runtime = home.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // The password of the (new) login keyring, then end of input.
        std::io::Write::write_all(&mut keyring.stdin.take().unwrap(), b"stint-test").unwrap();
        let service = Self {
            bus,
            keyring,
            address,
            home,
        };
        wait_for(|| service.name_has_owner(), "the Secret Service on the bus");
        service
    }

    fn name_has_owner(&self) -> bool {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// `stint` on the device in `dir`, with this keyring reachable.
    fn stint(&self, dir: &Path, args: &[&str], stdin: &str) -> Output {
        let mut stint = command(dir);
        stint
            .args(args)
            .env("STINT_KEYRING", "on")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        run(stint, stdin)
    }

    /// The refresh token stored for the device in `dir`, read the way any
    /// Secret Service client would (libsecret's `secret-tool`).
    fn stored_token(&self, dir: &Path) -> Option<String> {
        let user = format!("refresh-token:{}", dir.canonicalize().unwrap().display());
        let out = Command::new("secret-tool")
            .args(["lookup", "service", "stint", "username", &user])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home.path())
            .output()
            .unwrap();
        let token = String::from_utf8(out.stdout).unwrap();
        (out.status.success() && !token.is_empty()).then_some(token)
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn wait_for(ready: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn expect_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stored_file(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("credentials.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn the_refresh_token_lives_in_the_os_keyring_when_one_answers() {
    let keyring = SecretService::start();
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    Api::new(&server.url).register("ada@example.com").await;
    let device = tempfile::tempdir().unwrap();
    let dir = device.path();

    let login = [
        "login",
        "--server",
        &server.url,
        "--email",
        "ada@example.com",
        "--password-stdin",
    ];
    let out = keyring.stint(dir, &login, &format!("{PASSWORD}\n"));
    expect_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("readable by you only"),
        "nothing to announce when the keyring keeps it: {stderr}"
    );
    let file = stored_file(dir);
    assert!(
        file.get("refresh_token").is_none(),
        "the file holds no refresh token: {file}"
    );
    let first = keyring
        .stored_token(dir)
        .expect("the keyring holds the refresh token");
    let status: Value =
        serde_json::from_str(&expect_ok(&keyring.stint(dir, &["status", "--json"], ""))).unwrap();
    assert_eq!(status["login_kept_in"], "OS keyring");

    // An expired access token: the next command that needs the server
    // refreshes with the token from the keyring, and the rotated one goes
    // back there.
    let mut file = stored_file(dir);
    file["access_expires_at"] = Value::from("2000-01-01T00:00:00Z");
    std::fs::write(dir.join("credentials.json"), file.to_string()).unwrap();
    expect_ok(&keyring.stint(dir, &["sync"], ""));
    let rotated = keyring.stored_token(dir).expect("still in the keyring");
    assert_ne!(rotated, first, "the rotated token is saved");
    assert!(stored_file(dir).get("refresh_token").is_none());

    // Without the keyring a refresh cannot happen: a clear error, exit 6.
    let mut file = stored_file(dir);
    file["access_expires_at"] = Value::from("2000-01-01T00:00:00Z");
    std::fs::write(dir.join("credentials.json"), file.to_string()).unwrap();
    let mut without = command(dir);
    without
        .args(["sync"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let out = run(without, "");
    assert_eq!(out.status.code(), Some(6));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("OS keyring"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        keyring.stored_token(dir),
        Some(rotated.clone()),
        "untouched"
    );

    // Logout revokes the login on the server and removes the entry.
    expect_ok(&keyring.stint(dir, &["logout"], ""));
    assert_eq!(keyring.stored_token(dir), None);
    assert!(!dir.join("credentials.json").exists());
    let refresh = Api::new(&server.url)
        .post(
            "/auth/refresh",
            serde_json::json!({ "refresh_token": rotated }),
        )
        .await;
    assert_eq!(refresh.0, 401, "revoked on the server");
}

#[tokio::test]
async fn two_devices_on_one_machine_keep_two_logins() {
    let keyring = SecretService::start();
    let server_dir = tempfile::tempdir().unwrap();
    let server = Server::start(server_dir.path()).await.unwrap();
    let api = Api::new(&server.url);
    api.register("ada@example.com").await;
    api.register("bob@example.com").await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, email) in [(a.path(), "ada@example.com"), (b.path(), "bob@example.com")] {
        let login = [
            "login",
            "--server",
            &server.url,
            "--email",
            email,
            "--password-stdin",
        ];
        expect_ok(&keyring.stint(dir, &login, &format!("{PASSWORD}\n")));
    }
    let (token_a, token_b) = (
        keyring.stored_token(a.path()).unwrap(),
        keyring.stored_token(b.path()).unwrap(),
    );
    assert_ne!(token_a, token_b);
    expect_ok(&keyring.stint(a.path(), &["logout"], ""));
    assert_eq!(keyring.stored_token(a.path()), None);
    assert_eq!(
        keyring.stored_token(b.path()),
        Some(token_b),
        "the other device's login stays"
    );
}
