//! The API document tells the truth: schemathesis (from PyPI, installed
//! by `scripts/install-deps.sh` into `.venv/`) generates requests for every
//! operation of the served OpenAPI document, valid and not, against a real
//! server, signed in, and fails on any server error, any status the
//! document does not list, and any answer that does not match its schema.
//!
//! Bounded: a fixed seed and a fixed number of examples per operation
//! (`STINT_FUZZ_EXAMPLES`, default 40), about a minute here. The routes that
//! sign the caller out (logout, logout everywhere, a password change) and
//! the live channel (it never ends) are left to the tests of their own.

use std::path::PathBuf;
use std::process::Stdio;

use stint_e2e::{Api, Server, env_or};

/// schemathesis' `st`, where the install step puts it.
fn schemathesis() -> PathBuf {
    let st = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: `make deps` (scripts/install-deps.sh) installs schemathesis",
        st.display()
    );
    st
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_document_says_to_generated_requests() {
    let st = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_unthrottled(dir.path()).await.unwrap();
    let (_, tokens) = Api::new(&server.url).register("fuzz@example.com").await;
    let token = tokens["access_token"].as_str().unwrap();
    let examples: u32 = env_or("STINT_FUZZ_EXAMPLES", 40);
    let mut command = tokio::process::Command::new(st);
    command
        .arg("run")
        .arg(server.at("/api/v5/openapi.json"))
        .args(["--url", &server.url])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", "1", "--workers", "2"])
        .args(["--exclude-path", "/api/v5/sync/events"])
        .args(["--exclude-path", "/api/v5/auth/logout"])
        .args(["--exclude-path", "/api/v5/auth/logout-all"])
        .args(["--exclude-path", "/api/v5/users/me/password"])
        // Its cache of crashes stays out of the source tree.
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let run = tokio::time::timeout(std::time::Duration::from_secs(900), command.output())
        .await
        .expect("schemathesis ends within 15 minutes")
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // It really ran every operation it was given, and they are nearly all.
    let count = |label: &str| -> usize {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.trim().split('/').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{label}` in the report:\n{report}"))
    };
    let (selected, tested) = (count("Selected:"), count("Tested:"));
    assert!(
        selected >= 50 && tested == selected,
        "{tested} of {selected} tested:\n{report}"
    );
    let health = reqwest::get(server.at("/api/v5/health")).await.unwrap();
    assert_eq!(health.status(), 200, "the server is still up");
}
