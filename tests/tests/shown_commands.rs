//! Every command shown to a user runs as written: the README's code blocks
//! and inline commands, every example and hint in `stint … --help` (the
//! real binary's, walked command by command), the desktop app's hints
//! (`<code>stint …</code>` in `ui/src`) and the commands the CLI's and the
//! app's messages suggest. Docs, help and hints drifted from the CLI once
//! (`stint session start "my work"` was refused); this keeps them together.
//!
//! Each command runs against a scratch device signed in to a test server,
//! in a workspace folder with an active session, with its placeholders
//! (`ID`, `01a2`, `URL`, `~/src/app`, …) replaced by real ones. It must
//! succeed: exit 0, or, for a command that runs until stopped (`stint
//! agent`, `stint sync --watch`, `stint watch`), still be running after a
//! moment. A command that asks on a terminal is run again on a
//! pseudo-terminal, its prompts answered, and must then succeed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use stint_e2e::device::{json, login, ok, stint};
use stint_e2e::terminal::{Answer, on_terminal};
use stint_e2e::{PASSWORD, Server, binary};

/// The account the scratch device is signed in as.
const EMAIL: &str = "ada@example.com";

/// How long a command that runs until stopped is given to fail at start.
const RUNS_FOR: Duration = Duration::from_secs(3);

/// How long any other command may take before it is taken to hang (a
/// sign-in hashes a password with Argon2id: seconds on a busy machine).
const HANGS_AFTER: Duration = Duration::from_secs(90);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_owned()
}

/// A `stint` command found somewhere a user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    /// Where: `README.md:78`, `stint session --help`, …
    origin: String,
    /// Its arguments, as written.
    args: Vec<String>,
    /// It reads the password on standard input (`echo "$PASSWORD" | stint …`).
    password_on_stdin: bool,
}

// ---- Finding them ---------------------------------------------------------

/// A shell line's words and operators.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    /// `|`, `;`, `&&`, `||` or `&`.
    Op(String),
}

/// Splits a line of shell as sh would (quotes, `#` comments, operators);
/// each `$(…)` becomes the word `$(…)` and its inside goes to `inner`.
/// `None` when a quote is left open (the text is not shell).
fn tokens(line: &str, inner: &mut Vec<String>) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_default();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        '$' if chars.peek() == Some(&'(') => {
                            chars.next();
                            inner.push(substitution(&mut chars)?);
                            w.push_str("$(…)");
                        }
                        c => w.push(c),
                    }
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                inner.push(substitution(&mut chars)?);
                word.get_or_insert_default().push_str("$(…)");
            }
            '#' if word.is_none() => break,
            '|' | ';' | '&' => {
                out.extend(word.take().map(Token::Word));
                let mut op = c.to_string();
                if matches!(chars.peek(), Some('|' | '&')) {
                    op.extend(chars.next());
                }
                out.push(Token::Op(op));
            }
            c if c.is_whitespace() => out.extend(word.take().map(Token::Word)),
            c => word.get_or_insert_default().push(c),
        }
    }
    out.extend(word.map(Token::Word));
    Some(out)
}

/// The inside of a `$(…)` whose `$(` was just read.
fn substitution(chars: &mut impl Iterator<Item = char>) -> Option<String> {
    let (mut depth, mut inside) = (1, String::new());
    for c in chars.by_ref() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(inside);
                }
            }
            _ => {}
        }
        inside.push(c);
    }
    None
}

fn is_stint(word: &str) -> bool {
    word == "stint" || word.ends_with("/stint")
}

/// The `stint` commands of one line of shell.
fn commands_in(line: &str, origin: &str) -> Vec<Shown> {
    let mut inner = Vec::new();
    let Some(tokens) = tokens(line, &mut inner) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut simple: Vec<String> = Vec::new();
    let mut piped_password = false;
    let mut finish = |simple: &mut Vec<String>, piped: bool| {
        if simple.first().is_some_and(|w| is_stint(w))
            // `stint …` written with an ellipsis stands for any command.
            && !simple.iter().any(|w| w == "…" || w == "...")
        {
            found.push(Shown {
                origin: origin.to_owned(),
                args: simple[1..].to_vec(),
                password_on_stdin: piped,
            });
        }
        let echoes_password =
            simple.first().is_some_and(|w| w == "echo") && simple.iter().any(|w| w == "$PASSWORD");
        simple.clear();
        echoes_password
    };
    for token in tokens {
        match token {
            Token::Word(w) => simple.push(w),
            Token::Op(op) => {
                let echoed = finish(&mut simple, piped_password);
                piped_password = op == "|" && echoed;
            }
        }
    }
    finish(&mut simple, piped_password);
    for text in inner {
        found.extend(commands_in(&text, origin));
    }
    found
}

/// The `` `stint …` `` spans of prose (`` `stint` `` alone names the
/// program, not a command).
fn spans_in(text: &str, origin: &str) -> Vec<Shown> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.split_whitespace().next().is_some_and(is_stint))
        .filter(|span| span.split_whitespace().nth(1).is_some())
        .flat_map(|span| commands_in(span, origin))
        .collect()
}

/// The README: every line of its `sh` blocks, and inline commands (read
/// a paragraph at a time: a span may wrap).
fn from_readme() -> Vec<Shown> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut found = Vec::new();
    let mut in_sh = false;
    let mut paragraph: Option<(usize, String)> = None;
    for (n, line) in (1..).zip(text.lines()) {
        let origin = format!("README.md:{n}");
        let prose = !in_sh && !line.starts_with("```") && !line.trim().is_empty();
        if !prose && let Some((start, text)) = paragraph.take() {
            found.extend(spans_in(&text, &format!("README.md:{start}")));
        }
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim_start_matches('`').trim() == "sh";
        } else if in_sh {
            found.extend(commands_in(line, &origin));
        } else if prose {
            let (_, text) = paragraph.get_or_insert((n, String::new()));
            text.push(' ');
            text.push_str(line);
        }
    }
    if let Some((start, text)) = paragraph {
        found.extend(spans_in(&text, &format!("README.md:{start}")));
    }
    found
}

/// Every `stint … --help`, from the real binary: its example lines (shell
/// after indentation, or after a label ending in `:`) and inline commands.
fn from_help() -> Vec<Shown> {
    let mut found = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let out = Command::new(binary("stint"))
            .args(&path)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "stint {path:?} --help");
        let help = String::from_utf8(out.stdout).unwrap();
        let origin = format!("stint {} --help", path.join(" "));
        let mut in_commands = false;
        for line in help.lines() {
            if line == "Commands:" {
                in_commands = true;
                continue;
            }
            if in_commands {
                match line.split_whitespace().next() {
                    Some(name) if line.starts_with("  ") => {
                        if name != "help" {
                            todo.push([path.clone(), vec![name.to_owned()]].concat());
                        }
                        continue;
                    }
                    _ => in_commands = false,
                }
            }
            if line.starts_with("Usage:") {
                continue; // the synopsis, not a command
            }
            found.extend(spans_in(line, &origin));
            let shell = line.trim_start();
            let shell = match shell.find(":  ").or_else(|| shell.find(": ")) {
                Some(at) if !shell.starts_with('-') => shell[at + 1..].trim_start(),
                _ => shell,
            };
            if ["stint ", "echo ", "eval "]
                .iter()
                .any(|start| shell.starts_with(start))
            {
                found.extend(commands_in(shell, &origin));
            }
        }
    }
    found
}

fn files_under(dir: &Path, ext: &str, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, ext, into);
        } else if path.extension().is_some_and(|e| e == ext) {
            into.push(path);
        }
    }
}

/// The desktop app's hints: `<code>stint …</code>` in its components.
fn from_ui() -> Vec<Shown> {
    let mut files = Vec::new();
    files_under(&repo().join("ui/src"), "svelte", &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let origin = file.strip_prefix(repo()).unwrap().display().to_string();
        for piece in text.split("<code>").skip(1) {
            let Some((code, _)) = piece.split_once("</code>") else {
                continue;
            };
            if code.contains('{') {
                continue; // a value filled in by the page, not a command
            }
            let code = code
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            found.extend(commands_in(&code, &origin));
        }
    }
    found
}

/// Commands suggested by messages (`` `stint login URL` `` in a string),
/// outside comments; `cli.rs` is left to `--help`, which shows it.
fn from_messages() -> Vec<Shown> {
    let mut files = Vec::new();
    for dir in ["crates/cli/src", "crates/client/src", "src-tauri/src"] {
        files_under(&repo().join(dir), "rs", &mut files);
    }
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("cli/src/cli.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(repo()).unwrap().display().to_string();
        for (n, line) in (1..).zip(text.lines()) {
            if !line.trim_start().starts_with("//") {
                found.extend(spans_in(line, &format!("{name}:{n}")));
            }
        }
    }
    found
}

#[test]
fn the_finder_reads_shell_as_sh_does() {
    let check = |line: &str, expected: &[(&[&str], bool)]| {
        let found: Vec<(Vec<String>, bool)> = commands_in(line, "t")
            .into_iter()
            .map(|s| (s.args, s.password_on_stdin))
            .collect();
        let expected: Vec<(Vec<String>, bool)> = expected
            .iter()
            .map(|(a, p)| (a.iter().map(|s| (*s).to_owned()).collect(), *p))
            .collect();
        assert_eq!(found, expected, "{line}");
    };
    check(
        "stint session start 'my work'  # prints the id",
        &[(&["session", "start", "my work"], false)],
    );
    check("eval \"$(stint init bash)\"", &[(&["init", "bash"], false)]);
    check("stint init fish | source", &[(&["init", "fish"], false)]);
    check(
        "echo \"$PASSWORD\" | stint login URL --password-stdin",
        &[(&["login", "URL", "--password-stdin"], true)],
    );
    check(
        "stint whoami; stint status",
        &[(&["whoami"], false), (&["status"], false)],
    );
    check("stint agent &", &[(&["agent"], false)]);
    check("target/debug/stint register", &[(&["register"], false)]);
    check("cargo build -p stint", &[]);
    check("stint …", &[]);
    check("it's prose, not shell", &[]);
    let spans = spans_in("see `stint conflicts` or `stint-server`", "t");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].args, ["conflicts"]);
}

// ---- Running them ---------------------------------------------------------

/// The scratch world the commands run in.
struct Fixture {
    server: Server,
    /// The server's data, removed after the server stops.
    _server_dir: tempfile::TempDir,
    /// The device the commands run on, signed in as [`EMAIL`].
    device: tempfile::TempDir,
    /// A second device of the same account, to make conflicts with.
    other: tempfile::TempDir,
    /// The workspace folder (the current directory of every command).
    workspace: tempfile::TempDir,
    /// Devices for commands that sign in, out or up.
    throwaway: tempfile::TempDir,
    /// The active session of the workspace.
    session: String,
    tenant: String,
    made: usize,
}

impl Fixture {
    async fn new() -> Self {
        let server_dir = tempfile::tempdir().unwrap();
        let server = Server::start_unthrottled(server_dir.path()).await.unwrap();
        let device = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        login(device.path(), &server.url, EMAIL, true);
        login(other.path(), &server.url, EMAIL, false);
        let workspace = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(workspace.path().join("src")).unwrap();
        std::fs::write(workspace.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        // A git checkout, so that `stint workspace …` has a workspace to
        // name by its identity.
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.email=ada@example.com",
                "-c",
                "user.name=Ada",
                "commit",
                "-qm",
                "first",
            ],
            &["remote", "add", "origin", "https://github.com/ada/app"],
        ] {
            let done = Command::new("git")
                .args(args)
                .current_dir(workspace.path())
                .status()
                .expect("git runs");
            assert!(done.success(), "git {args:?}");
        }
        let tenant = json(device.path(), &["whoami", "--json"])["tenant"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut fixture = Self {
            server,
            _server_dir: server_dir,
            device,
            other,
            workspace,
            throwaway: tempfile::tempdir().unwrap(),
            session: String::new(),
            tenant,
            made: 0,
        };
        fixture.repair();
        fixture
    }

    fn dir(&self) -> &Path {
        self.device.path()
    }

    fn ws(&self) -> String {
        self.workspace.path().to_str().unwrap().to_owned()
    }

    /// Puts back what a command may have changed: the session (there,
    /// active, with at least 20 recorded commands) and the login.
    fn repair(&mut self) {
        let shown = stint(self.dir(), &["session", "show", &self.session, "--json"]);
        let session: Option<Value> = shown
            .status
            .success()
            .then(|| serde_json::from_slice(&shown.stdout).unwrap());
        let Some(session) = session else {
            let ws = self.ws();
            self.session = ok(
                self.dir(),
                &["session", "start", "Fixture", "--workspace", &ws],
            )
            .trim()
            .to_owned();
            return self.repair();
        };
        if session["status"] == "archived" {
            ok(
                self.dir(),
                &["session", "update", &self.session, "--unarchive"],
            );
        }
        let recorded = session["terminal_state"]["command_history"]
            .as_array()
            .map_or(0, Vec::len);
        let cwd = format!("--cwd={}", self.ws());
        for n in recorded..20 {
            let command = format!("echo {n}");
            ok(
                self.dir(),
                &["hook", &cwd, "--session", &self.session, "--", &command],
            );
        }
        let whoami = stint(self.dir(), &["whoami", "--json"]);
        assert!(
            whoami.status.success(),
            "the scratch device stays signed in"
        );
    }

    /// A conflict on the scratch device (made by renaming the session on
    /// both devices) and its id.
    fn conflict(&mut self) -> String {
        let listed = json(self.dir(), &["conflicts", "--json"]);
        if let Some(id) = listed
            .as_array()
            .and_then(|l| l.first())
            .map(|c| c["id"].clone())
        {
            return id.as_str().unwrap().to_owned();
        }
        self.made += 1;
        let (a, b) = (self.device.path(), self.other.path());
        ok(a, &["sync"]);
        ok(b, &["sync"]);
        let name = |side: &str| format!("{side} {}", self.made);
        ok(
            b,
            &["session", "update", &self.session, "--name", &name("B")],
        );
        ok(b, &["sync"]);
        ok(
            a,
            &["session", "update", &self.session, "--name", &name("A")],
        );
        ok(a, &["sync"]);
        self.conflict()
    }

    /// A new email, for a new account.
    fn fresh_email(&mut self) -> String {
        self.made += 1;
        format!("new-{}@example.com", self.made)
    }

    /// `shown`'s arguments with its placeholders made real.
    fn arguments(&mut self, shown: &Shown) -> Vec<String> {
        let args = &shown.args;
        let resolving = args.starts_with(&["conflicts".into(), "resolve".into()]);
        let registering = args.first().is_some_and(|a| a == "register");
        let mut out = Vec::new();
        for word in args {
            out.push(match word.as_str() {
                "URL" | "SERVER" | "https://stint.example.com" | "http://127.0.0.1:8787" => {
                    self.server.url.clone()
                }
                "ID" | "01a2" if resolving => self.conflict(),
                "ID" | "01a2" => self.session.clone(),
                "01a20c7f" => self.tenant.clone(),
                "NAME" => "A name".into(),
                "PATH" => self.ws(),
                "N" => "1".into(),
                EMAIL if registering => self.fresh_email(),
                w if w.starts_with("~/") => self.ws(),
                w => w.to_owned(),
            });
        }
        out
    }
}

/// How a command ended.
enum Ended {
    Exited(Output),
    /// Still running when the wait ended, then stopped (SIGTERM).
    Stopped,
}

/// Runs `stint ARGS` as a user would, in the workspace, without waiting
/// longer than [`RUNS_FOR`] for a command that runs until stopped, or
/// [`HANGS_AFTER`] for any other.
fn run(dir: &Path, cwd: &str, args: &[String], stdin: Option<&str>) -> Ended {
    let wait = if runs_until_stopped(args) {
        RUNS_FOR
    } else {
        HANGS_AFTER
    };
    let mut command = stint_e2e::device::command(dir);
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("STINT_SERVER")
        .env_remove("STINT_SESSION")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(wait) {
        Ok(output) => Ended::Exited(output.unwrap()),
        Err(_) => {
            #[allow(unsafe_code, clippy::cast_possible_wrap)]
            // SAFETY: signals our own child, still running.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
            let _ = rx.recv_timeout(Duration::from_secs(20));
            Ended::Stopped
        }
    }
}

/// Commands that run until stopped.
fn runs_until_stopped(args: &[String]) -> bool {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    match args.first().map(String::as_str) {
        Some("agent") => true,
        Some("sync") => has("--watch"),
        Some("watch") => !has("--once") && !has("--stop") && !has("--help"),
        _ => false,
    }
}

/// Answers a prompt of `stint login|register`.
fn answer(prompt: &str, url: &str, email: &str) -> Option<Answer> {
    let text = |t: &str| Some(Answer::Text(t.to_owned()));
    match prompt.strip_suffix(':')? {
        "Server URL" => text(url),
        "Email" => text(email),
        p if p.starts_with("First name") => text("Ada"),
        p if p.starts_with("Last name") => text(""),
        "Password" | "Password again" => Some(Answer::Secret(PASSWORD.to_owned())),
        _ => None,
    }
}

/// Runs one shown command; `Err` says how it failed.
fn check(fixture: &mut Fixture, shown: &Shown) -> Result<(), String> {
    let args = fixture.arguments(shown);
    let account = args
        .first()
        .is_some_and(|a| ["login", "register", "logout"].contains(&a.as_str()));
    // Signing in, out or up happens on a device of its own, so that the
    // scratch device stays signed in as the fixture's account.
    let throwaway = tempfile::tempdir_in(fixture.throwaway.path()).unwrap();
    let dir = if account {
        if args[0] == "logout" {
            login(throwaway.path(), &fixture.server.url, EMAIL, false);
        }
        throwaway.path().to_owned()
    } else {
        fixture.dir().to_owned()
    };
    let dir = dir.as_path();
    let stdin = shown.password_on_stdin.then(|| format!("{PASSWORD}\n"));
    let ws = fixture.ws();
    let said = |out: &Output| {
        format!(
            "exit {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    match run(dir, &ws, &args, stdin.as_deref()) {
        Ended::Stopped if runs_until_stopped(&args) => Ok(()),
        Ended::Stopped => Err("still running: it hangs".into()),
        Ended::Exited(out) if out.status.success() && !runs_until_stopped(&args) => Ok(()),
        Ended::Exited(out) if String::from_utf8_lossy(&out.stderr).contains("no terminal") => {
            // It asks on a terminal: answer it there.
            let email = if args[0] == "register" {
                fixture.fresh_email()
            } else {
                EMAIL.to_owned()
            };
            let mut command = stint_e2e::device::command(dir);
            command
                .args(&args)
                .current_dir(&ws)
                .env_remove("STINT_SERVER");
            let url = fixture.server.url.clone();
            let typed = on_terminal(
                command,
                |prompt| answer(prompt, &url, &email),
                Duration::from_secs(30),
            )
            .map_err(|e| e.to_string())?;
            if typed.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "on a terminal, exit {:?}: {}",
                    typed.status.code(),
                    typed.screen
                ))
            }
        }
        Ended::Exited(out) => Err(said(&out)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_shown_to_a_user_runs_as_written() {
    let sources = [
        ("the README", from_readme()),
        ("--help", from_help()),
        ("the desktop app", from_ui()),
        ("messages", from_messages()),
    ];
    // Each source has commands: a finder that finds nothing proves nothing.
    for (name, found) in &sources {
        assert!(
            found.len() >= 3,
            "only {} commands found in {name}",
            found.len()
        );
    }
    let mut fixture = Fixture::new().await;
    let mut failures = Vec::new();
    let mut ran: Vec<(Vec<String>, bool)> = Vec::new();
    for (_, found) in &sources {
        for shown in found {
            let key = (shown.args.clone(), shown.password_on_stdin);
            if ran.contains(&key) {
                continue;
            }
            ran.push(key);
            if let Err(why) = check(&mut fixture, shown) {
                failures.push(format!(
                    "{}: stint {}\n    {why}",
                    shown.origin,
                    shown.args.join(" ")
                ));
            }
            fixture.repair();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} commands shown to users fail:\n{}",
        failures.len(),
        ran.len(),
        failures.join("\n")
    );
}
