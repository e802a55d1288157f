//! Watching workspaces: the device's side of `stint-watch`.
//!
//! The owner of the replica (the agent, the desktop app, or `stint watch`
//! in the foreground) watches the workspace of each session it was asked
//! to watch. The watcher's news goes through one channel to a task that
//! writes it to the replica in batches — the File records (synced like any
//! edit) and the stats their checksums belong to (local, so that the next
//! start hashes only what changed). The status a user sees (indexing
//! progress, problems, watching) is updated by that task, so "ready" means
//! "in the replica", not only "hashed".
//!
//! Which sessions are watched is kept in `watching.json` in the data
//! directory, so an owner that starts again watches them again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use stint_db::{Db, FileStat, FileUpdate, WriteCtx};
use stint_model::{File, SessionId, Timestamp, WorkspaceSession};
use stint_watch::{Change, Entry, Event, Index, Options, Stat, Watcher};

use crate::device::Device;
use crate::error::{ClientError, Result};
use crate::owner::News;

/// Records written per local transaction: large enough that an initial
/// index of 50,000 files is a few hundred commits, small enough to stay
/// far below the store's limits.
const BATCH: usize = 250;

/// Problems kept for the status (the newest).
const PROBLEMS_KEPT: usize = 20;

const WATCHING_FILE: &str = "watching.json";

/// Where a watch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum WatchState {
    /// The initial index is being built (or brought up to date).
    Indexing,
    /// Every file is indexed; changes are followed live.
    Watching,
    /// Indexed, but followed by periodic rescans only (see `message`).
    Degraded,
    /// Stopped after an error (see `message`).
    Failed,
}

/// What a user sees of one watched workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WatchStatus {
    /// The session.
    pub session_id: SessionId,
    /// Its workspace root.
    pub workspace: String,
    /// Where the watch is.
    pub state: WatchState,
    /// Files in the index (in the replica).
    pub files: usize,
    /// Files the current scan found.
    pub files_seen: usize,
    /// Files the current scan must hash.
    pub files_to_hash: usize,
    /// Of those, hashed.
    pub files_hashed: usize,
    /// Bytes the current scan must hash.
    pub bytes_to_hash: u64,
    /// Of those, hashed.
    pub bytes_hashed: u64,
    /// Files left out, and why (the newest few).
    pub problems: Vec<String>,
    /// Said for a person: why a watch is degraded or failed.
    pub message: Option<String>,
}

/// A file that matched "which sessions touched this?", and where the
/// answer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct FileMatch {
    /// The file record.
    pub file: File,
    /// The session's name, when the session is on this device.
    pub session_name: Option<String>,
    /// `"replica"` or `"server"`.
    pub source: String,
}

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FileQuery {
    /// A file by its absolute path.
    Path(PathBuf),
    /// A content by its SHA-256 (hex).
    Checksum(String),
}

impl FileQuery {
    /// A SHA-256 in hex is a checksum; anything else a path, absolute or
    /// relative to `cwd`.
    #[must_use]
    pub fn parse(text: &str, cwd: &Path) -> Self {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Self::Checksum(text.to_ascii_lowercase());
        }
        let path = cwd.join(text);
        Self::Path(path.canonicalize().unwrap_or(path))
    }
}

/// The watches of this process.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    running: Mutex<HashMap<SessionId, Watching>>,
}

#[derive(Debug)]
struct Watching {
    watcher: Watcher,
    status: Arc<Mutex<WatchStatus>>,
    persister: tokio::task::JoinHandle<()>,
}

impl Watches {
    pub(crate) fn status(&self, id: SessionId) -> Option<WatchStatus> {
        let running = self.running.lock().expect("watches lock");
        running
            .get(&id)
            .map(|w| w.status.lock().expect("status lock").clone())
    }

    /// Whether session `id`'s watch watches `folder` and its initial scan
    /// is done: its index is the folder as it is now.
    pub(crate) fn is_live(&self, id: SessionId, folder: &Path) -> bool {
        let running = self.running.lock().expect("watches lock");
        running.get(&id).is_some_and(|w| w.is_live(folder))
    }

    /// Runs `f` on the index of session `id`'s watch, when it is live
    /// ([`Watches::is_live`]).
    pub(crate) fn read_live<R>(
        &self,
        id: SessionId,
        folder: &Path,
        f: impl FnOnce(&Index) -> R,
    ) -> Option<R> {
        let running = self.running.lock().expect("watches lock");
        let watching = running.get(&id).filter(|w| w.is_live(folder))?;
        Some(watching.watcher.read(f))
    }

    /// Stops every watch, once what they reported is in the replica.
    async fn stop_all(&self) {
        let stopped: Vec<Watching> = self
            .running
            .lock()
            .expect("watches lock")
            .drain()
            .map(|(_, w)| w)
            .collect();
        for w in stopped {
            w.stop().await;
        }
    }
}

impl Watching {
    fn is_live(&self, folder: &Path) -> bool {
        let status = self.status.lock().expect("status lock");
        status.state == WatchState::Watching && Path::new(&status.workspace) == folder
    }

    /// Stops the watcher, which closes its channel: the persister writes
    /// what is left and ends.
    async fn stop(self) {
        drop(self.watcher.stop());
        let _ = self.persister.await;
    }
}

/// Most files `which_sessions` reads from the replica for one question.
const MATCHES: usize = 1_000;

impl Device {
    /// Watches the workspace of session `id`: indexes it (only what changed
    /// since the last run is hashed), then follows its changes, writing
    /// File records as it goes. Remembered: the owner watches it again
    /// when it starts. Returns the status at once; see
    /// [`Device::watch_statuses`] for progress.
    pub async fn watch_workspace(&self, id: &str) -> Result<WatchStatus> {
        self.watch_session(self.find_session(id).await?).await
    }

    async fn watch_session(&self, session: WorkspaceSession) -> Result<WatchStatus> {
        if let Some(status) = self.watches.status(session.id) {
            return Ok(status);
        }
        // This device's checkout of the session's workspace, which may
        // not be where the session was started.
        let root = match self.local_root(&session).await? {
            Some(root) => root,
            None => {
                return Err(ClientError::NotFound(format!(
                    "no checkout of the workspace of session {} ({}) on this device: `stint workspace link ID PATH` says where it is",
                    session.name, session.id
                )));
            }
        };
        // Seen: the device's map records it (and an older session gets its
        // identity); a folder without git gets its fingerprint from the
        // index this watch builds (`persist`).
        self.identify_cheaply(&root).await?;
        let session = self
            .db()
            .sessions()
            .get(session.tenant_id, session.id)
            .await?;
        let known = self
            .db()
            .files()
            .stats(session.tenant_id, session.id)
            .await?;
        let index = Index::from_files(known.into_iter().map(|(path, s)| (path, entry_of(&s))));
        let status = Arc::new(Mutex::new(WatchStatus {
            session_id: session.id,
            workspace: root.to_string_lossy().into_owned(),
            state: WatchState::Indexing,
            files: index.len(),
            files_seen: 0,
            files_to_hash: 0,
            files_hashed: 0,
            bytes_to_hash: 0,
            bytes_hashed: 0,
            problems: Vec::new(),
            message: None,
        }));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let watcher = Watcher::start(&root, index, Options::default(), move |event| {
            let _ = tx.send(event);
        })
        .map_err(|e| {
            ClientError::Invalid(stint_model::ValidationError::new(
                "workspace",
                e.to_string(),
            ))
        })?;
        let persister = tokio::spawn(persist(
            self.db().clone(),
            session.clone(),
            root.clone(),
            self.ctx(),
            Arc::clone(&status),
            self.news.clone(),
            rx,
        ));
        let now = status.lock().expect("status lock").clone();
        self.watches.running.lock().expect("watches lock").insert(
            session.id,
            Watching {
                watcher,
                status,
                persister,
            },
        );
        self.remember_watched(session.id, true)?;
        Ok(now)
    }

    /// Stops watching session `id`'s workspace and forgets to watch it.
    pub async fn unwatch_workspace(&self, id: &str) -> Result<bool> {
        let session = self.find_session(id).await?;
        let running = self
            .watches
            .running
            .lock()
            .expect("watches lock")
            .remove(&session.id);
        self.remember_watched(session.id, false)?;
        let Some(watching) = running else {
            return Ok(false);
        };
        watching.stop().await;
        Ok(true)
    }

    /// Stops every watch of this process, once what they reported is in
    /// the replica (what an owner does before it exits).
    pub async fn stop_watches(&self) {
        self.watches.stop_all().await;
    }

    /// The watches of this process, with their progress.
    #[must_use]
    pub fn watch_statuses(&self) -> Vec<WatchStatus> {
        let running = self.watches.running.lock().expect("watches lock");
        let mut all: Vec<WatchStatus> = running
            .values()
            .map(|w| w.status.lock().expect("status lock").clone())
            .collect();
        all.sort_by(|a, b| a.workspace.cmp(&b.workspace));
        all
    }

    /// Watches again every session this device was asked to watch (what an
    /// owner does when it starts); sessions gone or archived are skipped.
    pub async fn resume_watches(&self) {
        for id in self.watched() {
            let Ok(session) = self.find_session(&id.to_string()).await else {
                continue;
            };
            if session.status != stint_model::SessionStatus::Active {
                continue;
            }
            if let Err(e) = self.watch_session(session).await {
                tracing::warn!("not watching session {id}: {e}");
            }
        }
    }

    /// The files of session `id` (live ones), in path order; only those
    /// changed at or after `changed_since` when given.
    pub async fn files(&self, id: &str, changed_since: Option<Timestamp>) -> Result<Vec<File>> {
        let session = self.find_session(id).await?;
        let mut files = self
            .db()
            .files()
            .list_by_session(session.tenant_id, session.id, false)
            .await?;
        if let Some(since) = changed_since {
            files.retain(|f| f.updated_at >= since);
        }
        Ok(files)
    }

    /// Which sessions touched a file (by path) or a content (by checksum):
    /// from the replica, and from the server when signed in and reachable.
    /// A path is asked by its workspace-relative path in every checkout of
    /// its workspace (every device, whatever the folder), and by its
    /// content when the file is here and not a secret.
    pub async fn which_sessions(&self, query: &FileQuery) -> Result<Vec<FileMatch>> {
        let (tenant, _) = self.owner();
        let files = self.db().files();
        let mut local = Vec::new();
        let mut remote_queries = Vec::new();
        match query {
            FileQuery::Checksum(sum) => {
                local.extend(files.by_checksum(tenant, sum, MATCHES).await?);
                remote_queries.push(vec![("checksum", sum.clone())]);
            }
            FileQuery::Path(path) => {
                let path_str = path.to_str().ok_or_else(|| {
                    ClientError::Invalid(stint_model::ValidationError::new(
                        "path",
                        "must be valid UTF-8",
                    ))
                })?;
                let Some((session, root, rel)) = self.workspace_of(path_str).await? else {
                    return Ok(Vec::new());
                };
                match &session.workspace_id {
                    Some(ws) => {
                        local.extend(files.in_workspace(tenant, ws, &rel, MATCHES).await?);
                        remote_queries.push(vec![
                            ("workspace_id", ws.clone()),
                            ("file_path", rel.clone()),
                        ]);
                    }
                    None => {
                        local.extend(
                            files
                                .by_path(tenant, &session.workspace_path, &rel, MATCHES)
                                .await?,
                        );
                        remote_queries.push(vec![
                            ("workspace_path", session.workspace_path.clone()),
                            ("file_path", rel.clone()),
                        ]);
                    }
                }
                // The same content under any path, in any workspace.
                let secret = stint_watch::Secrets::of(&root).is_secret(&rel);
                if !secret && let Some(sum) = sha256_of(path).await {
                    local.extend(files.by_checksum(tenant, &sum, MATCHES).await?);
                    remote_queries.push(vec![("checksum", sum)]);
                }
            }
        }
        let mut matches: Vec<FileMatch> = Vec::new();
        for file in local {
            if !matches.iter().any(|m| m.file.id == file.id) {
                matches.push(self.file_match(file, "replica").await);
            }
        }
        if self.whoami().is_some() {
            for query in remote_queries {
                match self.search_server(&query).await {
                    Ok(remote) => {
                        for file in remote {
                            if !matches.iter().any(|m| m.file.id == file.id) {
                                matches.push(self.file_match(file, "server").await);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::info!("the server was not asked: {e}");
                        break;
                    }
                }
            }
        }
        Ok(matches)
    }

    async fn file_match(&self, file: File, source: &str) -> FileMatch {
        let session_name = self
            .db()
            .sessions()
            .get(file.tenant_id, file.workspace_session_id)
            .await
            .ok()
            .map(|s| s.name);
        FileMatch {
            file,
            session_name,
            source: source.to_owned(),
        }
    }

    async fn search_server(&self, query: &[(&str, String)]) -> Result<Vec<File>> {
        let token = self.access_token().await?;
        let server = self.server(&self.credentials()?.server)?;
        crate::account::answer(server.get("/files/search", query, &token).await?).await
    }

    /// The deepest workspace of this device's sessions that holds `path`
    /// (archived sessions too): its newest session, its folder here, and
    /// `path` relative to it.
    async fn workspace_of(
        &self,
        path: &str,
    ) -> Result<Option<(WorkspaceSession, PathBuf, String)>> {
        let path = Path::new(path);
        let found = self
            .deepest_session(path.ancestors().skip(1), |_| true)
            .await?;
        Ok(found.and_then(|(session, folder)| {
            let rel = path.strip_prefix(folder).ok()?.to_str()?.to_owned();
            Some((session, folder.to_owned(), rel))
        }))
    }

    fn watched(&self) -> Vec<SessionId> {
        std::fs::read(self.dir().join(WATCHING_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn remember_watched(&self, id: SessionId, watched: bool) -> Result<()> {
        let mut ids = self.watched();
        ids.retain(|i| *i != id);
        if watched {
            ids.push(id);
        }
        crate::profile::write_json(&self.dir().join(WATCHING_FILE), &ids)
    }
}

/// The SHA-256 of the file at `path` in hex, if it can be read.
async fn sha256_of(path: &Path) -> Option<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || stint_watch::sha256_file(&path))
        .await
        .ok()
        .flatten()
}

pub(crate) fn entry_of(s: &FileStat) -> Entry {
    Entry {
        stat: Stat {
            size: s.size,
            mtime_ns: s.mtime_ns,
            ctime_ns: s.ctime_ns,
            ino: s.ino,
        },
        sha256: s.sha256,
        hashed_at_ns: s.hashed_at_ns,
    }
}

/// Gives the session of a folder without git its workspace identity: the
/// one the device's map gave the folder, else the fingerprint of the index
/// just built (its stats, so nothing is hashed again).
async fn fingerprint(
    db: &Db,
    session: &WorkspaceSession,
    root: &Path,
    ctx: &WriteCtx<'static>,
) -> Result<()> {
    let Some(folder) = root.to_str() else {
        return Ok(());
    };
    let mut current = db.sessions().get(session.tenant_id, session.id).await?;
    if current.workspace_id.is_some() {
        return Ok(());
    }
    let id = match db.workspaces().of_folder(folder).await? {
        Some(known) => known.id,
        None => {
            let stats = db.files().stats(session.tenant_id, session.id).await?;
            let index = Index::from_files(stats.into_iter().map(|(p, s)| (p, entry_of(&s))));
            stint_model::workspace::fingerprint_id(&stint_watch::fingerprint(&index))
        }
    };
    let at = stint_model::now();
    db.workspaces().link(&id, folder, None, at).await?;
    // `updated_at` stays: it orders "recent", and learning a session's
    // identity is no work of the user's (the edit still syncs by `ctx`).
    current.workspace_id = Some(id);
    db.sessions()
        .update(&current, &WriteCtx { at, ..*ctx })
        .await?;
    Ok(())
}

/// What the replica is told of a change; a secret file's checksum stays
/// in the device's stats and out of its record.
fn update_of(change: Change, secrets: &stint_watch::Secrets) -> FileUpdate {
    match change {
        Change::Upsert(path, e) => {
            let stat = FileStat {
                size: e.stat.size,
                mtime_ns: e.stat.mtime_ns,
                ctime_ns: e.stat.ctime_ns,
                ino: e.stat.ino,
                hashed_at_ns: e.hashed_at_ns,
                sha256: e.sha256,
            };
            if secrets.is_secret(&path) {
                FileUpdate::SeenPrivate(path, stat)
            } else {
                FileUpdate::Seen(path, stat)
            }
        }
        Change::Remove(path) => FileUpdate::Gone(path),
    }
}

/// Writes a watcher's news to the replica, in batches, and keeps the
/// status current. Ends when the watcher stops.
async fn persist(
    db: Db,
    session: WorkspaceSession,
    root: PathBuf,
    ctx: WriteCtx<'static>,
    status: Arc<Mutex<WatchStatus>>,
    news: tokio::sync::broadcast::Sender<News>,
    mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
) {
    // The workspace's secret files: their checksums stay in the stats.
    let secrets = stint_watch::Secrets::of(&root);
    // Every change of the status is news for the owner's subscribers.
    let set = |f: &dyn Fn(&mut WatchStatus)| {
        let mut status = status.lock().expect("status lock");
        f(&mut status);
        let _ = news.send(News::Watch(status.clone()));
    };
    while let Some(event) = events.recv().await {
        match event {
            Event::Changes(changes) => {
                let updates: Vec<FileUpdate> = changes
                    .into_iter()
                    .map(|c| update_of(c, &secrets))
                    .collect();
                for chunk in updates.chunks(BATCH) {
                    let ctx = WriteCtx {
                        at: stint_model::now(),
                        ..ctx
                    };
                    match db.files().apply_scan(&session, chunk, &ctx).await {
                        Ok(applied) => set(&|s| {
                            s.files = (s.files + applied.added).saturating_sub(applied.removed);
                        }),
                        Err(e) => {
                            tracing::warn!(
                                "file records of {} not written: {e}",
                                session.workspace_path
                            );
                            set(&|s| {
                                s.state = WatchState::Failed;
                                s.message =
                                    Some(format!("the replica refused the file records: {e}"));
                            });
                            return;
                        }
                    }
                }
            }
            Event::Progress(p) => set(&|s| {
                s.files_seen = p.files_seen;
                s.files_to_hash = p.files_to_hash;
                s.files_hashed = p.files_hashed;
                s.bytes_to_hash = p.bytes_to_hash;
                s.bytes_hashed = p.bytes_hashed;
            }),
            Event::Problem(problem) => set(&|s| {
                s.problems.push(problem.to_string());
                if s.problems.len() > PROBLEMS_KEPT {
                    s.problems.remove(0);
                }
            }),
            Event::Ready { files, .. } => {
                // Before "watching" is said: a watch that reports ready
                // has named its workspace.
                if session.workspace_id.is_none()
                    && let Err(e) = fingerprint(&db, &session, &root, &ctx).await
                {
                    tracing::warn!("{} has no workspace identity yet: {e}", root.display());
                }
                set(&|s| {
                    s.files = files;
                    if s.state == WatchState::Indexing {
                        s.state = WatchState::Watching;
                    }
                });
            }
            Event::Degraded(message) => set(&|s| {
                s.state = WatchState::Degraded;
                s.message = Some(message.clone());
            }),
            Event::Rescanned => {}
        }
    }
}
