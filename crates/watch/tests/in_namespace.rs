//! Tests that need a user namespace of their own, because they need the
//! machine to say no:
//! - the inotify watch limit, reached for real: the watcher says so, with
//!   the way to raise it, and falls back to periodic rescans that keep the
//!   index equal to a fresh full scan. The limit is kept per user namespace
//!   (`/proc/sys/user/max_inotify_watches`), so the test lowers it to a
//!   few watches inside one where it is root, without touching the
//!   machine's.
//! - permission denied: tests run as root here, and root reads anything.
//!   In a namespace that maps no user, the process keeps its files but
//!   loses root's power over them, so a file without read permission
//!   really cannot be read.
//!
//! Each test runs this binary again through util-linux's `unshare`, which
//! starts it inside a fresh namespace. The binary has its own `main`
//! (`harness = false` in `Cargo.toml`), so the copy inside runs just the
//! one test it is told to and says how it went by its exit status.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use stint_watch::{Event, Index, Options, ProblemKind, Watcher, scan};

mod common;

/// Set, to the test's name, in the copy of this binary that runs inside
/// the namespace.
const INSIDE: &str = "STINT_WATCH_NAMESPACE_TEST";

/// The namespace's limit.
const LIMIT: &str = "/proc/sys/user/max_inotify_watches";

/// A test, and whether it runs as the namespace's root (else as no user).
struct Test {
    name: &'static str,
    as_root: bool,
    run: fn(),
}

const TESTS: [Test; 3] = [
    Test {
        name: "limit_reached_at_start_falls_back_to_rescans",
        as_root: true,
        run: limit_reached_at_start_falls_back_to_rescans,
    },
    Test {
        name: "limit_reached_while_watching_falls_back_to_rescans",
        as_root: true,
        run: limit_reached_while_watching_falls_back_to_rescans,
    },
    Test {
        name: "unreadable_files_and_folders_are_reported_never_fatal",
        as_root: false,
        run: unreadable_files_and_folders_are_reported_never_fatal,
    },
];

fn main() {
    if let Ok(name) = std::env::var(INSIDE) {
        let test = TESTS.iter().find(|t| t.name == name).expect("a known test");
        (test.run)();
        return;
    }
    // Like libtest: names on the command line filter; flags are ignored.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Test> = TESTS
        .iter()
        .filter(|t| filters.is_empty() || filters.iter().any(|f| t.name.contains(f.as_str())))
        .collect();
    println!(
        "running {} tests, each in a user namespace of its own",
        chosen.len()
    );
    let mut failed = Vec::new();
    for test in chosen {
        // Each in its own namespace: the watches of one cannot count
        // against the limit of the next.
        let mut unshare = Command::new("unshare");
        unshare.arg("--user");
        if test.as_root {
            unshare.arg("--map-root-user");
        }
        let status = unshare
            .arg(std::env::current_exe().expect("this test's path"))
            .env(INSIDE, test.name)
            .status()
            .expect("util-linux's `unshare` runs");
        let verdict = if status.success() { "ok" } else { "FAILED" };
        println!("test {} ... {verdict}", test.name);
        if !status.success() {
            failed.push(test.name);
        }
    }
    if !failed.is_empty() {
        eprintln!("failed: {failed:?}");
        std::process::exit(101);
    }
}

/// Lowers the namespace's limit to `watches`.
fn set_limit(watches: usize) {
    std::fs::write(LIMIT, watches.to_string())
        .unwrap_or_else(|e| panic!("cannot lower {LIMIT} inside the namespace: {e}"));
}

/// A watcher on a temp tree, with rescans every 100 ms when degraded.
struct Watched {
    dir: tempfile::TempDir,
    _watcher: Watcher,
    events: Receiver<Event>,
    /// The watcher's changes, applied as a device would persist them.
    files: common::Files,
    degraded: Vec<String>,
}

impl Watched {
    fn start(setup: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let (tx, events) = mpsc::channel();
        let options = Options {
            fallback_rescan: Duration::from_millis(100),
            ..Options::default()
        };
        let watcher = Watcher::start(dir.path(), Index::default(), options, move |event| {
            let _ = tx.send(event);
        })
        .expect("the watch limit is not an error");
        let mut watched = Self {
            dir,
            _watcher: watcher,
            events,
            files: common::Files::new(),
            degraded: Vec::new(),
        };
        watched.wait_until("the initial scan", |event| {
            matches!(event, Event::Ready { .. })
        });
        watched
    }

    /// Takes events until one satisfies `done`.
    fn wait_until(&mut self, what: &str, done: impl Fn(&Event) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            let finished = done(&event);
            self.apply(event);
            if finished {
                return;
            }
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Changes(changes) => {
                common::apply(&mut self.files, changes);
            }
            Event::Degraded(message) => self.degraded.push(message),
            _ => {}
        }
    }

    /// Waits until the watcher's index equals a fresh full scan.
    fn settles(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let fresh = common::fresh_scan(self.dir.path());
            if self.files == fresh {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the watcher's index never matched a fresh scan:\n{}",
                common::differences(&self.files, &fresh)
            );
            if let Ok(event) = self.events.recv_timeout(Duration::from_millis(200)) {
                self.apply(event);
            }
        }
    }

    /// Changes the tree in folders no live watch covers.
    fn edit_everywhere(&self) {
        let root = self.dir.path();
        std::fs::write(root.join("d4/deep/new.txt"), "created unwatched").unwrap();
        std::fs::write(root.join("d3/a.txt"), "modified unwatched").unwrap();
        std::fs::remove_file(root.join("d2/a.txt")).unwrap();
        std::fs::rename(root.join("d1/a.txt"), root.join("d1/renamed.txt")).unwrap();
    }

    fn assert_degraded_with_advice(&self) {
        assert_eq!(self.degraded.len(), 1, "said once: {:?}", self.degraded);
        let message = &self.degraded[0];
        for part in [
            "limit of inotify watches is reached",
            "rescan every 100ms",
            "sudo sysctl fs.inotify.max_user_watches=",
        ] {
            assert!(message.contains(part), "{part:?} missing from: {message}");
        }
    }
}

/// Four folders, one nested, a file in each.
fn tree(root: &Path) {
    for dir in ["d1", "d2", "d3", "d4/deep"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("a.txt"), dir).unwrap();
    }
}

fn limit_reached_at_start_falls_back_to_rescans() {
    // The root and one folder: the rest of the tree has no watch.
    set_limit(2);
    let mut watched = Watched::start(tree);
    watched.settles();
    watched.assert_degraded_with_advice();

    watched.edit_everywhere();
    watched.settles();
    assert!(watched.files.contains_key("d4/deep/new.txt"));
    assert!(!watched.files.contains_key("d2/a.txt"));
}

fn limit_reached_while_watching_falls_back_to_rescans() {
    // Enough for the tree (six folders with the root), none to spare.
    set_limit(6);
    let mut watched = Watched::start(tree);
    assert!(watched.degraded.is_empty(), "{:?}", watched.degraded);

    // A new folder is one watch too many.
    let root = watched.dir.path().to_owned();
    std::fs::create_dir_all(root.join("d5")).unwrap();
    std::fs::write(root.join("d5/a.txt"), "in a folder with no watch").unwrap();
    watched.wait_until("the limit to be reported", |e| {
        matches!(e, Event::Degraded(_))
    });
    watched.assert_degraded_with_advice();
    watched.settles();
    assert!(watched.files.contains_key("d5/a.txt"));

    // Watches are not given back by the fallback: changes still arrive by
    // rescans, wherever they are.
    std::fs::write(root.join("d5/b.txt"), "later").unwrap();
    watched.edit_everywhere();
    watched.settles();
    assert!(watched.files.contains_key("d5/b.txt"));
}

fn unreadable_files_and_folders_are_reported_never_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let locked = [root.join("secret.txt"), root.join("d4")];
    std::fs::write(&locked[0], "no one may read this").unwrap();
    for path in &locked {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    assert!(
        std::fs::read(&locked[0]).is_err(),
        "the namespace should take away root's power to read anything"
    );

    let mut index = Index::default();
    let report = scan(root, &mut index, &Options::default(), &mut |_| {});
    let mut problems: Vec<(String, ProblemKind)> = report
        .problems
        .iter()
        .map(|p| {
            (
                p.path.strip_prefix(root).unwrap().display().to_string(),
                p.kind,
            )
        })
        .collect();
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        problems,
        [
            ("d4".to_owned(), ProblemKind::Unreadable),
            ("secret.txt".to_owned(), ProblemKind::Unreadable)
        ]
    );
    let paths: Vec<&str> = index.iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["d1/a.txt", "d2/a.txt", "d3/a.txt"]);

    // Readable again: the next scan takes them in.
    for path in &locked {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let report = scan(root, &mut index, &Options::default(), &mut |_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let paths: Vec<&str> = index.iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "d1/a.txt",
            "d2/a.txt",
            "d3/a.txt",
            "d4/deep/a.txt",
            "secret.txt"
        ]
    );
}
