//! The live watcher: notify events, debounced, reconciled folder by folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::index::{Change, Index, parent};
use crate::scan::{self, Options, Problem, Progress, Report};
use crate::walk;

/// Events wait this long after the first of a batch before the folders
/// they name are looked at: a save that writes, renames and sets times
/// becomes one look, and a burst of thousands of writes a few.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// Raw events held between the kernel and the watcher's thread. When the
/// thread falls behind (or is paused), notify's reader blocks, the
/// kernel's queue overflows, and the overflow triggers a rescan: memory
/// stays bounded whatever the burst.
const QUEUE: usize = 4096;

/// What a watcher tells its owner, on the watcher's thread.
#[derive(Debug)]
pub enum Event {
    /// How far the initial scan (or a full rescan) is.
    Progress(Progress),
    /// Changes made to the index, to be persisted.
    Changes(Vec<Change>),
    /// A file left out, and why.
    Problem(Problem),
    /// The initial scan is done: the index holds every file.
    Ready {
        /// Files indexed.
        files: usize,
        /// Of those, hashed by this scan (the others were unchanged).
        hashed: usize,
        /// Bytes hashed.
        bytes_hashed: u64,
        /// How long the scan took.
        took: Duration,
    },
    /// Events were lost (the kernel's queue overflowed, or an ignore file
    /// changed): the whole tree was rescanned.
    Rescanned,
    /// No live watching: why, and what to do; the tree is rescanned
    /// periodically instead.
    Degraded(String),
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The root is not a folder.
    #[error("{0} is not a folder")]
    NotAFolder(PathBuf),
    /// notify refused.
    #[error("cannot watch {path}: {source}")]
    Notify {
        /// The root.
        path: PathBuf,
        /// notify's error.
        source: notify::Error,
    },
}

/// Watches a workspace root and keeps its [`Index`] current, on a thread of
/// its own, until stopped or dropped.
///
/// The index is shared with the owner ([`Watcher::read`]): once the
/// initial scan is done it is the folder as it is, so that a question
/// about every file (a resume's preflight) is answered from memory instead
/// of from the stats the owner persisted, or from a rescan.
#[derive(Debug)]
pub struct Watcher {
    control: Arc<Control>,
    index: Shared,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Dropped to stop notify (and close the event channel).
    notify: Option<notify::RecommendedWatcher>,
}

/// The index, locked by the watcher's thread while it scans or settles a
/// batch (not while its owner's sink runs), and by readers.
type Shared = Arc<Mutex<Index>>;

fn lock(index: &Shared) -> MutexGuard<'_, Index> {
    // A panic on the watcher's thread leaves the index as the last
    // completed change left it: still a valid index.
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Control {
    stop: AtomicBool,
    paused: AtomicBool,
}

impl Watcher {
    /// Starts watching `root`: the watch first, then a scan that brings
    /// `index` (empty, or as a previous run left it) up to date, then the
    /// events since — so that nothing changed during the scan is missed.
    /// `sink` receives every [`Event`] on the watcher's thread.
    ///
    /// # Errors
    /// If `root` is not a folder or cannot be watched (the watch limit is
    /// not an error: the watcher degrades to periodic rescans and says so).
    pub fn start(
        root: &Path,
        index: Index,
        options: Options,
        mut sink: impl FnMut(Event) + Send + 'static,
    ) -> Result<Self, WatchError> {
        let root = root
            .canonicalize()
            .map_err(|_| WatchError::NotAFolder(root.to_owned()))?;
        if !root.is_dir() {
            return Err(WatchError::NotAFolder(root));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let mut notify =
            notify::recommended_watcher(Forward(tx)).map_err(|source| WatchError::Notify {
                path: root.clone(),
                source,
            })?;
        let live = match notify.watch(&root, RecursiveMode::Recursive) {
            Ok(()) => true,
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                sink(Event::Degraded(limit_advice(options.fallback_rescan)));
                false
            }
            Err(source) => return Err(WatchError::Notify { path: root, source }),
        };
        let control = Arc::new(Control::default());
        let index: Shared = Arc::new(Mutex::new(index));
        let thread = {
            let control = Arc::clone(&control);
            let index = Arc::clone(&index);
            std::thread::Builder::new()
                .name("stint-watch".into())
                .spawn(move || {
                    let mut run = Run {
                        root,
                        index,
                        options,
                        control,
                        sink: &mut sink,
                        live,
                    };
                    run.initial_scan();
                    run.follow(&rx);
                })
                .expect("the watcher's thread starts")
        };
        Ok(Self {
            control,
            index,
            thread: Some(thread),
            notify: Some(notify),
        })
    }

    /// Holds events back (they queue, then overflow into a rescan when
    /// resumed): for a checkout or a build that rewrites the tree.
    pub fn pause(&self) {
        self.control.paused.store(true, Ordering::SeqCst);
    }

    /// Lets held events through again.
    pub fn resume(&self) {
        self.control.paused.store(false, Ordering::SeqCst);
    }

    /// Runs `f` on the index as it is now: between two looks of the
    /// watcher's thread, which waits meanwhile (keep `f` short). Before
    /// [`Event::Ready`] it is the index being built.
    pub fn read<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&lock(&self.index))
    }

    /// Stops watching and returns the index as it is.
    ///
    /// # Panics
    /// If the watcher's thread panicked.
    #[must_use]
    pub fn stop(mut self) -> Index {
        self.halt().expect("the watcher's thread ends")
    }

    fn halt(&mut self) -> Option<Index> {
        self.control.stop.store(true, Ordering::SeqCst);
        self.control.paused.store(false, Ordering::SeqCst);
        // Closes the channel, which wakes the thread.
        drop(self.notify.take());
        let ended = self.thread.take()?.join();
        ended.ok().map(|()| std::mem::take(&mut *lock(&self.index)))
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// notify's handler: hands events to the watcher's thread, waiting when
/// its queue is full.
struct Forward(SyncSender<notify::Result<notify::Event>>);

impl notify::EventHandler for Forward {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        let _ = self.0.send(event);
    }
}

fn limit_advice(rescan: Duration) -> String {
    format!(
        "the limit of inotify watches is reached, so changes are picked up by a rescan every {:?}; \
         raise it with `sudo sysctl fs.inotify.max_user_watches=524288` \
         (and in /etc/sysctl.d/ to keep it)",
        rescan
    )
}

/// The watcher's thread.
struct Run<'s> {
    root: PathBuf,
    index: Shared,
    options: Options,
    control: Arc<Control>,
    sink: &'s mut (dyn FnMut(Event) + Send),
    live: bool,
}

impl Run<'_> {
    fn initial_scan(&mut self) {
        let started = Instant::now();
        let report = self.full_scan();
        let files = lock(&self.index).len();
        (self.sink)(Event::Ready {
            files,
            hashed: report.files_hashed,
            bytes_hashed: report.bytes_hashed,
            took: started.elapsed(),
        });
    }

    fn full_scan(&mut self) -> Report {
        let sink = &mut self.sink;
        let report = scan::scan(
            &self.root,
            &mut lock(&self.index),
            &self.options,
            &mut |p| {
                sink(Event::Progress(p));
            },
        );
        self.publish(report)
    }

    fn publish(&mut self, mut report: Report) -> Report {
        for problem in report.problems.drain(..) {
            (self.sink)(Event::Problem(problem));
        }
        if !report.changes.is_empty() {
            (self.sink)(Event::Changes(std::mem::take(&mut report.changes)));
        }
        report
    }

    /// Follows events until stopped.
    fn follow(&mut self, rx: &Receiver<notify::Result<notify::Event>>) {
        let mut batch = Batch::default();
        let mut deadline: Option<Instant> = None;
        let every = self.options.fallback_rescan;
        let mut next_fallback = Instant::now() + every;
        loop {
            if self.control.stop.load(Ordering::SeqCst) {
                return;
            }
            if self.control.paused.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let wait = match deadline {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None if self.live => Duration::from_millis(250),
                None => next_fallback.saturating_duration_since(Instant::now()),
            };
            match rx.recv_timeout(wait) {
                Ok(Ok(event)) => {
                    if batch.add(&self.root, &event) && deadline.is_none() {
                        deadline = Some(Instant::now() + DEBOUNCE);
                    }
                }
                Ok(Err(e)) => {
                    if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                        if self.live {
                            self.live = false;
                            (self.sink)(Event::Degraded(limit_advice(every)));
                        }
                    } else {
                        tracing::warn!("watch error on {}: {e}", self.root.display());
                    }
                    batch.rescan = true;
                    deadline.get_or_insert_with(|| Instant::now() + DEBOUNCE);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if deadline.is_some_and(|at| Instant::now() >= at) {
                deadline = None;
                self.settle(std::mem::take(&mut batch));
            }
            if !self.live && Instant::now() >= next_fallback {
                next_fallback = Instant::now() + every;
                self.full_scan();
            }
        }
    }

    /// Looks at what a batch of events named.
    fn settle(&mut self, batch: Batch) {
        if batch.rescan {
            self.full_scan();
            (self.sink)(Event::Rescanned);
            return;
        }
        // Each folder maps to the nearest one the index knows: a folder it
        // does not know is new (its parent's listing finds it and walks it
        // whole) or ignored (its parent's listing leaves it out).
        let report = {
            let mut index = lock(&self.index);
            let mut dirs = BTreeSet::new();
            for dir in batch.dirs {
                let mut at = dir.as_str();
                while !index.knows_dir(at) && !at.is_empty() {
                    at = parent(at);
                }
                dirs.insert(at.to_owned());
            }
            let dirs: Vec<String> = dirs.into_iter().collect();
            scan::rescan_dirs(&self.root, &mut index, &dirs, &self.options, &mut |_| {})
        };
        self.publish(report);
    }
}

/// The folders a batch of events named, or that everything must be looked
/// at again.
#[derive(Debug, Default)]
struct Batch {
    dirs: BTreeSet<String>,
    rescan: bool,
}

impl Batch {
    /// Adds an event; whether it matters.
    fn add(&mut self, root: &Path, event: &notify::Event) -> bool {
        if event.need_rescan() {
            self.rescan = true;
            return true;
        }
        match event.kind {
            // Opens and reads (the watcher's own among them) change nothing.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
            EventKind::Access(_)
            | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => return false,
            _ => {}
        }
        let mut matters = false;
        for path in &event.paths {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let Some(rel) = rel.to_str() else {
                // Not UTF-8: its folder is listed, which reports it.
                if let Some(dir) = rel.parent().and_then(Path::to_str) {
                    self.dirs.insert(dir.to_owned());
                    matters = true;
                }
                continue;
            };
            if walk::in_skipped_dir(rel) {
                continue;
            }
            if walk::is_rule_file(rel) {
                self.rescan = true;
            }
            self.dirs.insert(parent(rel).to_owned());
            if !rel.is_empty() {
                // The path itself, in case it is a folder whose content
                // changed (or vanished).
                self.dirs.insert(rel.to_owned());
            }
            matters = true;
        }
        matters
    }
}
