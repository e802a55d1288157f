//! The shell hook of `stint init`, in real bash, zsh and fish: each command
//! and the directory it left behind land in the active session, scrubbed,
//! with or without the agent.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stint_e2e::binary;
use stint_e2e::device::{Agent, json, ok};

#[derive(Debug, Clone, Copy)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Runs `commands` in an interactive `shell` that loaded `stint init`.
fn run_in(shell: Shell, data_dir: &Path, commands: &[String]) {
    let stint = binary("stint");
    let init = format!("{} --data-dir {} init", stint.display(), data_dir.display());
    let mut command = match shell {
        Shell::Bash => {
            let mut c = Command::new("bash");
            c.args(["--norc", "--noprofile", "-i"]);
            c
        }
        Shell::Zsh => {
            let mut c = Command::new("zsh");
            c.args(["-f", "-i"]);
            c
        }
        Shell::Fish => {
            // fish fires its command events only at an interactive
            // terminal; here the script fires them as fish would.
            let mut script = format!("{init} fish | source\n");
            for line in commands {
                script.push_str(&format!("{line}\nemit fish_postexec '{line}'\n"));
            }
            let mut c = Command::new("fish");
            c.args(["--no-config", "-c", &script]);
            c
        }
    };
    let script = match shell {
        Shell::Bash => format!("eval \"$({init} bash)\"\n{}\n", commands.join("\n")),
        Shell::Zsh => format!("eval \"$({init} zsh)\"\n{}\n", commands.join("\n")),
        Shell::Fish => String::new(),
    };
    let mut child = command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", data_dir)
        .env("HISTFILE", "/dev/null")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shell:?} runs (scripts/install-deps.sh installs it): {e}"));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{shell:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn session(dir: &Path, id: &str) -> Value {
    json(dir, &["session", "show", id, "--json"])
}

fn history(session: &Value) -> Vec<String> {
    session["terminal_state"]["command_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn start(dir: &Path, name: &str, workspace: &Path) -> String {
    let workspace = workspace.to_str().unwrap();
    let args = ["session", "start", "--name", name, "--workspace", workspace];
    ok(dir, &args).trim().to_owned()
}

/// The commands every shell runs, and what the two sessions must hold.
fn check(shell: Shell) {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let trees = tempfile::tempdir().unwrap();
    let ws = trees.path().join("app");
    let other = trees.path().join("lib");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let app = start(data, "app", &ws);
    let lib = start(data, "lib", &other);

    let token = "ghp_R8xTqV2mLw9ZpK4sYb7NcD1fGh3JkL5aQe6U";
    let commands = vec![
        format!("cd {}", ws.display()),
        "echo hello".to_owned(),
        "cd src".to_owned(),
        " echo typed-with-a-leading-space".to_owned(),
        format!("export GITHUB_TOKEN={token}"),
        "cd /".to_owned(),
        "echo in-no-workspace".to_owned(),
        format!("export STINT_SESSION={lib}"),
        "echo named-by-STINT_SESSION".to_owned(),
    ];
    run_in(shell, data, &commands);

    let app = session(data, &app);
    assert_eq!(
        history(&app),
        [
            format!("cd {}", ws.display()),
            "echo hello".to_owned(),
            "cd src".to_owned(),
            "export GITHUB_TOKEN=<redacted>".to_owned(),
        ],
        "{shell:?}"
    );
    assert_eq!(
        app["terminal_state"]["cwd"],
        ws.join("src").to_str().unwrap(),
        "{shell:?}: the directory the last command left"
    );
    let named = session(data, &lib);
    assert_eq!(
        history(&named),
        [
            format!("export STINT_SESSION={lib}"),
            "echo named-by-STINT_SESSION".to_owned()
        ],
        "{shell:?}: $STINT_SESSION wins over the directory"
    );
}

#[test]
fn bash_records_commands_into_the_active_session() {
    check(Shell::Bash);
}

#[test]
fn zsh_records_commands_into_the_active_session() {
    check(Shell::Zsh);
}

#[test]
fn fish_records_commands_into_the_active_session() {
    check(Shell::Fish);
}

#[test]
fn the_agent_takes_hooked_commands_at_once() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let ws = tempfile::tempdir().unwrap();
    let id = start(data, "agent", ws.path());
    let agent = Agent::start(data);
    let commands: Vec<String> = (0..20).map(|i| format!("echo {i}")).collect();
    let mut with_cd = vec![format!("cd {}", ws.path().display())];
    with_cd.extend(commands.iter().cloned());
    run_in(Shell::Bash, data, &with_cd);
    // Nobody asks the agent anything: the hook's nudge alone must get the
    // spool drained into the replica.
    let spool = data.join("hook.spool");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&spool).is_ok_and(|m| m.len() > 0) {
        assert!(
            Instant::now() < deadline,
            "the agent never drained the spool"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    agent.stop();
    assert_eq!(history(&session(data, &id))[1..], commands);
}

/// What a new user does after seeing a command they regret in the history:
/// `stint session history` shows it numbered (scrubbed already), `stint
/// session forget` removes it, and the other device loses it at its next
/// sync; the commands around it stay, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_forgotten_on_one_device_is_gone_from_the_other_after_sync() {
    use stint_e2e::device::login;
    let server_dir = tempfile::tempdir().unwrap();
    let server = stint_e2e::Server::start(server_dir.path()).await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    let ws = tempfile::tempdir().unwrap();
    let ws = ws.path();
    login(a, &server.url, "ada@example.com", true);
    login(b, &server.url, "ada@example.com", false);
    let id = start(a, "app", ws);
    let typed = vec![
        format!("cd {}", ws.display()),
        "curl -u admin:s3cretpass https://example.com/api".to_owned(),
        "mysql -psup3rsecret prod".to_owned(),
        "echo ünïcødé ✓".to_owned(),
    ];
    run_in(Shell::Bash, a, &typed);
    let recorded = json(a, &["session", "history", &id, "--json"]);
    let commands: Vec<&str> = recorded
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            typed[0].as_str(),
            "curl -u admin:<redacted> https://example.com/api",
            "mysql -p<redacted> prod",
            "echo ünïcødé ✓",
        ]
    );
    assert_eq!(recorded[1]["number"], 2);
    ok(a, &["sync"]);
    ok(b, &["sync"]);
    assert_eq!(history(&session(b, &id)).len(), 4, "B has them all");

    let said = ok(
        a,
        &["session", "forget", &id, "--command", "2", "--command", "3"],
    );
    assert!(said.contains("forgot 2 commands"), "{said}");
    let left = [typed[0].clone(), "echo ünïcødé ✓".to_owned()];
    assert_eq!(history(&session(a, &id)), left);
    ok(a, &["sync"]);
    ok(b, &["sync"]);
    assert_eq!(history(&session(b, &id)), left, "gone from B too");
    let text = ok(b, &["session", "history", &id]);
    assert_eq!(text, format!("1  {}\n2  echo ünïcødé ✓\n", typed[0]));

    // Numbers that are not there are refused, and nothing changes.
    for n in ["3", "0", "-1", "two"] {
        let out = stint_e2e::device::stint(a, &["session", "forget", &id, "--command", n]);
        assert!(!out.status.success(), "--command {n}");
    }
    assert_eq!(history(&session(a, &id)), left);
}
