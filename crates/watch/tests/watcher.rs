//! The live watcher on real temp trees: after every kind of change the
//! index it reported (changes applied as a device would persist them) ends
//! equal to a fresh full scan.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stint_watch::{Event, Index, Options, Watcher};

mod common;

/// What the watcher's owner saw: its changes applied to a map, and the
/// other events.
#[derive(Default)]
struct Seen {
    files: common::Files,
    /// How many times each path was reported new or changed.
    upserts: BTreeMap<String, usize>,
    ready: bool,
    rescans: usize,
}

struct Watched {
    root: PathBuf,
    watcher: Watcher,
    seen: Arc<Mutex<Seen>>,
    _dir: tempfile::TempDir,
}

impl Seen {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Changes(changes) => {
                for path in common::apply(&mut self.files, changes) {
                    *self.upserts.entry(path).or_default() += 1;
                }
            }
            Event::Ready { .. } => self.ready = true,
            Event::Rescanned => self.rescans += 1,
            _ => {}
        }
    }
}

impl Watched {
    /// A watched temp tree, its initial scan done.
    fn start(setup: impl FnOnce(&Path)) -> Self {
        Self::start_with(setup, |_| {})
    }

    /// As [`Watched::start`], `hook` seeing each event first, on the
    /// watcher's thread.
    fn start_with(
        setup: impl FnOnce(&Path),
        mut hook: impl FnMut(&Event) + Send + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        setup(&root);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = Arc::clone(&seen);
        let watcher = Watcher::start(&root, Index::default(), Options::default(), move |e| {
            hook(&e);
            sink.lock().unwrap().apply(e);
        })
        .unwrap();
        let watched = Self {
            root,
            watcher,
            seen,
            _dir: dir,
        };
        watched.wait_for(|s| s.ready, "the initial scan");
        watched
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn wait_for(&self, done: impl Fn(&Seen) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.seen.lock().unwrap()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until what the watcher reported equals a fresh full scan;
    /// then its shared index must be that too (it is changed before the
    /// changes are reported).
    fn settles(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let fresh = common::fresh_scan(&self.root);
            let seen = self.seen.lock().unwrap().files.clone();
            if seen == fresh {
                let shared = self.watcher.read(common::checksums);
                assert_eq!(
                    shared,
                    fresh,
                    "the shared index is not what was reported:\n{}",
                    common::differences(&shared, &fresh)
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the watcher's index never matched a fresh scan:\n{}",
                common::differences(&seen, &fresh)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn creates_modifies_renames_and_deletes() {
    let w = Watched::start(|root| {
        write(&root.join("src/lib.rs"), b"pub fn a() {}");
        write(&root.join("docs/guide.md"), b"# Guide");
    });
    w.settles();

    write(&w.path("src/new.rs"), b"// new");
    w.settles();
    write(&w.path("src/lib.rs"), b"pub fn a() { changed() }");
    w.settles();
    std::fs::rename(w.path("src/new.rs"), w.path("src/renamed.rs")).unwrap();
    w.settles();
    std::fs::remove_file(w.path("docs/guide.md")).unwrap();
    w.settles();
    std::fs::rename(w.path("src"), w.path("source")).unwrap();
    w.settles();
    std::fs::remove_dir_all(w.path("source")).unwrap();
    w.settles();
    assert!(w.seen.lock().unwrap().files.is_empty());
}

#[test]
fn changes_during_the_initial_scan_are_not_missed() {
    // The scan is held at its first progress report, after the walk and
    // while files are being hashed; the tree changes meanwhile. The watch
    // started before the scan: its events bring the index up to date.
    let (root_tx, root) = std::sync::mpsc::channel::<PathBuf>();
    let (held_tx, held) = std::sync::mpsc::channel::<()>();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let mut first = true;
    let changer = std::thread::spawn(move || {
        let root = root.recv().unwrap();
        held.recv().unwrap();
        write(&root.join("new/made-during-the-scan.txt"), b"new");
        write(&root.join("d0/f0.txt"), b"changed during the scan");
        std::fs::remove_file(root.join("d1/f1.txt")).unwrap();
        std::fs::rename(root.join("d2/f2.txt"), root.join("d2/moved.txt")).unwrap();
        go.send(()).unwrap();
    });
    let w = Watched::start_with(
        |root| {
            for i in 0..500 {
                write(
                    &root.join(format!("d{}/f{i}.txt", i % 10)),
                    format!("{i}").as_bytes(),
                );
            }
            root_tx.send(root.to_owned()).unwrap();
        },
        move |event| {
            if matches!(event, Event::Progress(_)) && std::mem::take(&mut first) {
                held_tx.send(()).unwrap();
                go_rx.recv().unwrap();
            }
        },
    );
    changer.join().unwrap();
    w.settles();
    let seen = w.seen.lock().unwrap();
    assert!(seen.files.contains_key("new/made-during-the-scan.txt"));
    assert!(!seen.files.contains_key("d1/f1.txt"));
}

#[test]
fn a_burst_of_thousands_of_writes() {
    let w = Watched::start(|_| {});
    for round in 0..3 {
        for i in 0..1500 {
            write(
                &w.path(&format!("d{}/f{i}.txt", i % 10)),
                format!("round {round} file {i}").as_bytes(),
            );
        }
    }
    w.settles();
    assert_eq!(w.seen.lock().unwrap().files.len(), 1500);
}

#[test]
fn a_new_folder_full_of_files_is_walked() {
    let outside = tempfile::tempdir().unwrap();
    for i in 0..200 {
        write(
            &outside.path().join(format!("tree/a/b/f{i}")),
            format!("{i}").as_bytes(),
        );
    }
    let w = Watched::start(|_| {});
    // Moved in whole: no event ever names the files inside.
    std::fs::rename(outside.path().join("tree"), w.path("tree")).unwrap();
    w.settles();
    // Created with files at once, deeper than any watch yet.
    for i in 0..50 {
        write(&w.path(&format!("made/x/y/z/f{i}")), b"z");
    }
    w.settles();
    assert_eq!(w.seen.lock().unwrap().files.len(), 250);
}

#[test]
fn a_forced_overflow_ends_in_a_rescan() {
    let w = Watched::start(|root| write(&root.join("keep.txt"), b"before"));
    w.watcher.pause();
    // Far more events than the kernel's queue (16,384) and the watcher's
    // own (4,096) hold together.
    for i in 0..12_000 {
        write(&w.path(&format!("flood/f{}/{i}", i % 20)), b"x");
    }
    write(&w.path("keep.txt"), b"after the flood");
    w.watcher.resume();
    w.wait_for(|s| s.rescans > 0, "a rescan after the overflow");
    w.settles();
}

#[test]
fn a_file_rewritten_while_hashed_ends_with_its_last_content() {
    let w = Watched::start(|_| {});
    let big = w.path("big.bin");
    let writer = {
        std::thread::spawn(move || {
            for round in 0..20_u8 {
                // Replaced (a new inode) and rewritten in place, in turns.
                let content = vec![round; 8 * 1024 * 1024];
                if round % 2 == 0 {
                    let tmp = big.with_extension("tmp");
                    std::fs::write(&tmp, &content).unwrap();
                    std::fs::rename(&tmp, &big).unwrap();
                } else {
                    std::fs::write(&big, &content).unwrap();
                }
            }
        })
    };
    writer.join().unwrap();
    w.settles();
}

#[test]
fn an_ignore_file_change_takes_effect() {
    let w = Watched::start(|root| {
        write(&root.join("a.log"), b"log");
        write(&root.join("a.rs"), b"code");
    });
    w.settles();
    write(&w.path(".gitignore"), b"*.log\n");
    w.settles();
    assert!(!w.seen.lock().unwrap().files.contains_key("a.log"));
    // Writes in ignored places never reach the index.
    write(&w.path("b.log"), b"more log");
    write(&w.path("target/debug/x"), b"build output");
    write(&w.path("c.rs"), b"more code");
    w.settles();
}

#[test]
fn reads_do_not_cause_rehashes() {
    let w = Watched::start(|root| {
        let path = root.join("read-me.txt");
        write(&path, b"content");
        // Written long ago: outside the racy window, never hashed twice.
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    });
    w.settles();
    // Reading files (as the watcher itself and every editor does) makes
    // open and close events only: nothing is hashed or reported again,
    // even when a write beside it makes the folder be looked at.
    for _ in 0..20 {
        let _ = std::fs::read(w.path("read-me.txt")).unwrap();
    }
    write(&w.path("marker"), b"m");
    w.settles();
    let seen = w.seen.lock().unwrap();
    assert_eq!(seen.upserts.get("read-me.txt"), Some(&1));
    assert_eq!(seen.upserts.get("marker"), Some(&1));
}
