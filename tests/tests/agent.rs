//! One owner of the replica: with `stint agent` running, every other
//! `stint` command goes through its socket, many at once; without it, they
//! open the replica themselves, one after another.

use std::process::Command;

use serde_json::Value;
use stint_e2e::binary;
use stint_e2e::device::{Agent, ok, stint};

#[test]
fn commands_go_through_the_agent_in_parallel_then_directly_again() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(
        dir,
        &[
            "session",
            "start",
            "--name",
            "before the agent",
            "--workspace",
            "/w",
        ],
    );
    let agent = Agent::start(dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("agent.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may talk to the agent");
        let dir_mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o077, 0, "the data directory is private");
    }
    let status: Value = serde_json::from_str(&ok(dir, &["status", "--json"])).unwrap();
    assert_eq!(status["sessions"], 1);
    assert!(ok(dir, &["status"]).contains("agent      running"));

    // 16 commands at once: with one owner they all succeed.
    let workers: Vec<_> = (0..16)
        .map(|i| {
            let dir = dir.to_owned();
            std::thread::spawn(move || {
                let id = ok(
                    &dir,
                    &[
                        "session",
                        "start",
                        "--name",
                        &format!("parallel {i}"),
                        "--workspace",
                        "/w",
                        "--tag",
                        "p",
                    ],
                );
                ok(&dir, &["session", "note", id.trim(), "noted in parallel"]);
                ok(&dir, &["session", "list", "--json"]);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let listed: Value =
        serde_json::from_str(&ok(dir, &["session", "list", "--tag", "p", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 16);
    // Errors cross the socket with their exit codes.
    assert_eq!(
        stint(dir, &["session", "show", "0000"]).status.code(),
        Some(3)
    );
    assert_eq!(
        stint(dir, &["session", "start", "--name", "a\u{7}b"])
            .status
            .code(),
        Some(4)
    );
    // A second agent is refused: the first owns the replica.
    let second = Command::new(binary("stint"))
        .arg("agent")
        .env("STINT_DATA_DIR", dir)
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    agent.stop();
    assert!(
        !dir.join("agent.sock").exists(),
        "the socket goes with the agent"
    );
    // Without the agent, commands open the replica themselves; parallel ones
    // wait their turn.
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let dir = dir.to_owned();
            std::thread::spawn(move || {
                ok(
                    &dir,
                    &[
                        "session",
                        "start",
                        "--name",
                        &format!("direct {i}"),
                        "--workspace",
                        "/w",
                    ],
                )
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let all: Value =
        serde_json::from_str(&ok(dir, &["session", "list", "--limit", "1000", "--json"])).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1 + 16 + 4);
    assert!(ok(dir, &["status"]).contains("agent      not running"));
}
