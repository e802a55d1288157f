//! Workspaces across devices: which project a folder is, where a
//! session's project lives on this device, and the preflight that says,
//! before a session resumes here, how this checkout differs from it.
//!
//! - A folder's identity ([`Device::identify`]) is read from git's files
//!   (`stint_watch::git_checkout`) when the folder is a checkout's top,
//!   else it is the fingerprint of its content; a folder seen before keeps
//!   the identity it was given (its content changes, it stays itself).
//! - The device's map (`stint_db::Workspaces`) says where each identity
//!   lives here. It fills itself when a folder is seen (a session started,
//!   a watch, the shell hook in a checkout whose project has sessions) and
//!   is edited with `stint workspace link|forget`.
//! - Sessions carry the identity; one started before identities is given
//!   its own the first time its folder is identified here (migration).
//! - The preflight compares the session's file index (the File records'
//!   checksums, synced from whichever device watched it, read from index
//!   keys alone) with the local index, in one merge of two sorted lists.
//!   The local index is a live watch's, held in memory, when this process
//!   watches the folder; else the device's stats, brought up to date by a
//!   scan that hashes only what changed. It places each cursor and
//!   breakpoint: exactly
//!   where the file is the same, moved by its anchor where it changed,
//!   at the top with a warning where it cannot be told.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stint_db::LocalWorkspace;
use stint_model::workspace::{self, GitState};
use stint_model::{LineAnchor, SessionId, ValidationError, WorkspaceSession};
use stint_watch::{Index, Options, Secrets};

use crate::device::Device;
use crate::error::{ClientError, Result};

/// A folder's identity, and its git state if it is a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Identity {
    /// `git:…` or `fp:…`.
    pub id: String,
    /// The checkout's remote, branch and HEAD.
    pub git: Option<GitState>,
}

/// A workspace as `stint workspace list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct WorkspaceView {
    /// Its identity.
    pub id: String,
    /// Its folders on this device.
    pub folders: Vec<String>,
    /// Its git remote, when it has one.
    pub remote: Option<String>,
    /// How many sessions of it this device holds (every device's).
    pub sessions: usize,
}

/// How a recorded place (a cursor, a breakpoint) lands in the local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Placed {
    /// The file is the one the session recorded: the place is exact.
    Exact,
    /// The file changed; the line was found again where it moved.
    Moved,
    /// The file changed and the line could not be found: top of the file.
    Lost,
    /// The file is not in this checkout.
    Missing,
}

/// One cursor or breakpoint, placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Placement {
    /// The file, relative to the workspace.
    pub file_path: String,
    /// The line as recorded.
    pub recorded_line: u32,
    /// The line to open at here.
    pub line: u32,
    /// The column to open at here.
    pub column: u32,
    /// How it was placed.
    pub placed: Placed,
}

/// What differs between a session and the local checkout of its
/// workspace, said before anything opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Preflight {
    /// The session.
    pub session_id: SessionId,
    /// Its workspace's identity.
    pub workspace_id: Option<String>,
    /// The local checkout, when this device has one.
    pub folder: Option<String>,
    /// What to run when it has none: `git clone URL`.
    pub clone: Option<String>,
    /// Files whose content is the session's.
    pub same: usize,
    /// Files whose content differs, in path order.
    pub changed: Vec<String>,
    /// Files of the session missing here.
    pub missing: Vec<String>,
    /// Files here the session does not have.
    pub extra: Vec<String>,
    /// Files whose checksum stayed on the device that recorded them
    /// (secrets): not compared.
    pub unverified: Vec<String>,
    /// Files hashed for this preflight (not in the local index yet, or
    /// changed since).
    pub hashed: usize,
    /// Whether the local index was a live watch's, held in memory by this
    /// device's owner: current without a rescan.
    pub live: bool,
    /// The session's branch and this checkout's, when they differ.
    pub branch: Option<(Option<String>, Option<String>)>,
    /// The session's HEAD and this checkout's, when they differ.
    pub head: Option<(Option<String>, Option<String>)>,
    /// The editor tabs' cursors, placed.
    pub tabs: Vec<Placement>,
    /// The breakpoints, placed.
    pub breakpoints: Vec<Placement>,
    /// What a person should know before resuming.
    pub warnings: Vec<String>,
    /// The preflight in one line, for people ([`Preflight::summary`]).
    pub summary: String,
}

impl Preflight {
    /// The preflight of a session nothing is known of yet.
    pub(crate) fn empty(session: &WorkspaceSession) -> Self {
        Self {
            session_id: session.id,
            workspace_id: session.workspace_id.clone(),
            folder: None,
            clone: None,
            same: 0,
            changed: Vec::new(),
            missing: Vec::new(),
            extra: Vec::new(),
            unverified: Vec::new(),
            hashed: 0,
            live: false,
            branch: None,
            head: None,
            tabs: Vec::new(),
            breakpoints: Vec::new(),
            warnings: Vec::new(),
            summary: String::new(),
        }
    }

    /// Whether the checkout holds exactly the session's files.
    #[must_use]
    pub fn is_same(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }

    /// One line for people: `same content except 2 files (1 changed, 1
    /// missing)`.
    #[must_use]
    pub fn summary(&self) -> String {
        let Some(folder) = &self.folder else {
            return match &self.clone {
                Some(clone) => format!("no checkout of this workspace here: {clone}"),
                None => "no checkout of this workspace here: `stint workspace link ID PATH`".into(),
            };
        };
        let differ = self.changed.len() + self.missing.len() + self.extra.len();
        let compared = self.same + differ + self.unverified.len();
        let mut line = if compared == 0 {
            format!("{folder}: content not compared (the session has no file index)")
        } else if differ == 0 {
            let s = if self.same == 1 { "" } else { "s" };
            format!("{folder}: same content ({} file{s})", self.same)
        } else {
            let mut parts = Vec::new();
            for (n, what) in [
                (self.changed.len(), "changed"),
                (self.missing.len(), "missing"),
                (self.extra.len(), "extra"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            format!(
                "{folder}: same content except {differ} file{} ({})",
                if differ == 1 { "" } else { "s" },
                parts.join(", ")
            )
        };
        if let Some((theirs, ours)) = &self.branch {
            line.push_str(&format!(
                "; branch {} here, {} in the session",
                ours.as_deref().unwrap_or("(detached)"),
                theirs.as_deref().unwrap_or("(detached)")
            ));
        } else if self.head.is_some() {
            line.push_str("; another commit checked out");
        }
        line
    }
}

/// How many sessions with a fingerprint a folder without git is compared
/// with, newest first.
const FINGERPRINT_CANDIDATES: usize = 50;

/// The share of a session's files a folder must hold, same path and same
/// content, to be recognized as a copy of its workspace.
const SAME_FOLDER_SHARE: f64 = 0.8;

fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| ClientError::Invalid(ValidationError::new("path", "must be valid UTF-8")))
}

impl Device {
    /// The identity of `folder` (absolute), recorded in the device's map:
    /// its git checkout's, else the one it was given before, else a
    /// fingerprint of its content (the identity of a known workspace
    /// whose files it holds, when it is a copy of one). The fingerprint
    /// hashes the folder's files: see [`Device::identify_cheaply`].
    pub async fn identify(&self, folder: &Path) -> Result<Identity> {
        if let Some(identity) = self.identify_cheaply(folder).await? {
            return Ok(identity);
        }
        let path = utf8(folder)?;
        let index = self.local_index(folder, &[]).await?.0;
        let id = match self.copy_of(&index).await? {
            Some(id) => id,
            None => workspace::fingerprint_id(&stint_watch::fingerprint(&index)),
        };
        self.db()
            .workspaces()
            .link(&id, path, None, stint_model::now())
            .await?;
        let identity = Identity { id, git: None };
        self.migrate_folder(path, &identity).await?;
        Ok(identity)
    }

    /// The identity of `folder` when it costs no hashing: its git
    /// checkout's, or the one the device's map gave it before. A folder
    /// without git seen for the first time gets its fingerprint once it is
    /// indexed (`stint watch`), or from [`Device::identify`].
    pub(crate) async fn identify_cheaply(&self, folder: &Path) -> Result<Option<Identity>> {
        let path = utf8(folder)?;
        let workspaces = self.db().workspaces();
        if let Some(git) = stint_watch::git_checkout(folder)
            && let Some(id) = workspace::git_id(git.remote.as_deref(), git.root_commit.as_deref())
        {
            let remote = git.remote.as_deref().and_then(workspace::public_remote);
            workspaces
                .link(&id, path, remote.as_deref(), stint_model::now())
                .await?;
            let identity = Identity {
                id,
                git: Some(GitState {
                    remote,
                    branch: git.branch,
                    head: git.head,
                }),
            };
            self.migrate_folder(path, &identity).await?;
            return Ok(Some(identity));
        }
        let Some(known) = workspaces.of_folder(path).await? else {
            return Ok(None);
        };
        let identity = Identity {
            id: known.id,
            git: None,
        };
        self.migrate_folder(path, &identity).await?;
        Ok(Some(identity))
    }

    /// The fingerprinted workspace whose newest session's files `index`
    /// holds for the most part (a copied folder, edited a little since).
    async fn copy_of(&self, index: &Index) -> Result<Option<String>> {
        let fingerprint = workspace::fingerprint_id(&stint_watch::fingerprint(index));
        let (tenant, user) = self.owner();
        let candidates = self
            .db()
            .sessions()
            .first_matching(
                tenant,
                stint_db::SessionList::User(user),
                FINGERPRINT_CANDIDATES,
                |s| {
                    s.workspace_id
                        .as_deref()
                        .is_some_and(workspace::is_fingerprint)
                },
            )
            .await?;
        if let Some(exact) = candidates
            .iter()
            .find(|s| s.workspace_id.as_deref() == Some(fingerprint.as_str()))
        {
            return Ok(exact.workspace_id.clone());
        }
        let mut seen = std::collections::BTreeSet::new();
        for session in candidates {
            let Some(id) = session.workspace_id.clone() else {
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            let files = self
                .db()
                .files()
                .list_by_session(tenant, session.id, false)
                .await?;
            if files.is_empty() {
                continue;
            }
            let same = files
                .iter()
                .filter(|f| {
                    index
                        .get(&f.file_path)
                        .is_some_and(|e| f.checksum.as_deref() == Some(e.sha256_hex().as_str()))
                })
                .count();
            #[allow(clippy::cast_precision_loss)]
            if same as f64 >= SAME_FOLDER_SHARE * files.len().max(index.len()) as f64 {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Gives the sessions started in `folder` before identities existed
    /// the folder's identity (the edit syncs like any other).
    async fn migrate_folder(&self, folder: &str, identity: &Identity) -> Result<()> {
        let (tenant, _) = self.owner();
        let older = self.db().sessions().by_workspace(tenant, folder, 0).await?;
        for mut session in older {
            if session.workspace_id.is_some() || session.workspace_path != folder {
                continue;
            }
            session.workspace_id = Some(identity.id.clone());
            if session.git.is_none() {
                session.git.clone_from(&identity.git);
            }
            // `updated_at` stays, so "recent" keeps the user's order.
            self.db().sessions().update(&session, &self.ctx()).await?;
        }
        Ok(())
    }

    /// Gives every session of this device whose folder exists here its
    /// workspace identity (what an owner does when it starts). Returns how
    /// many folders were identified.
    pub async fn migrate_workspaces(&self) -> Result<usize> {
        let (tenant, user) = self.owner();
        let older = self
            .db()
            .sessions()
            .first_matching(tenant, stint_db::SessionList::User(user), usize::MAX, |s| {
                s.workspace_id.is_none()
            })
            .await?;
        let folders: std::collections::BTreeSet<String> =
            older.into_iter().map(|s| s.workspace_path).collect();
        let mut done = 0;
        for folder in folders {
            if Path::new(&folder).is_dir() {
                self.identify(Path::new(&folder)).await?;
                done += 1;
            }
        }
        Ok(done)
    }

    /// The folder of `session`'s workspace on this device: the first of
    /// the map's folders that exists, else the folder it was started in if
    /// it exists here.
    pub(crate) async fn local_root(&self, session: &WorkspaceSession) -> Result<Option<PathBuf>> {
        if let Some(id) = &session.workspace_id
            && let Some(known) = self.db().workspaces().get(id).await?
            && let Some(folder) = known.folders.iter().find(|f| Path::new(f).is_dir())
        {
            return Ok(Some(PathBuf::from(folder)));
        }
        let started = Path::new(&session.workspace_path);
        if started.is_dir() {
            // Only if it is the same workspace: another project may sit
            // at that path on this device.
            // (Cheaply: a folder without git unknown here is taken as it is
            // rather than hashed at every edit of the session.)
            if let Some(id) = &session.workspace_id
                && let Some(here) = self.identify_cheaply(started).await?
                && here.id != *id
            {
                return Ok(None);
            }
            return Ok(Some(started.to_owned()));
        }
        Ok(None)
    }

    /// What a `--workspace` filter names: an identity as given, else the
    /// identity of the folder (from the map, or read from git), else the
    /// folder itself.
    pub(crate) async fn workspace_key(&self, named: &str) -> Result<String> {
        if workspace::validate_id("workspace", named).is_ok() {
            return Ok(named.to_owned());
        }
        if let Some(known) = self.db().workspaces().of_folder(named).await? {
            return Ok(known.id);
        }
        let folder = Path::new(named);
        if folder.is_dir() {
            return Ok(self.identify(folder).await?.id);
        }
        Ok(named.to_owned())
    }

    /// The workspaces this device knows, with their folders.
    pub async fn workspaces(&self) -> Result<Vec<WorkspaceView>> {
        self.migrate_workspaces().await?;
        let (tenant, _) = self.owner();
        let mut out = Vec::new();
        for ws in self.db().workspaces().list().await? {
            let sessions = self.db().sessions().by_workspace(tenant, &ws.id, 0).await?;
            out.push(view(ws, sessions.len()));
        }
        Ok(out)
    }

    /// Says that `folder` is a checkout of workspace `id` (an identity, or
    /// a session id whose workspace is meant). Refused, changing nothing,
    /// when the folder does not exist or is a checkout of another
    /// workspace.
    pub async fn link_workspace(&self, id: &str, folder: &Path) -> Result<WorkspaceView> {
        let id = self.workspace_named(id).await?;
        let folder = folder.canonicalize().map_err(|e| {
            ClientError::Invalid(ValidationError::new(
                "path",
                format!("{} is not a folder here: {e}", folder.display()),
            ))
        })?;
        if !folder.is_dir() {
            return Err(ClientError::Invalid(ValidationError::new(
                "path",
                format!("{} is not a folder", folder.display()),
            )));
        }
        let path = utf8(&folder)?;
        match stint_watch::git_checkout(&folder) {
            Some(git) => {
                let theirs = workspace::git_id(git.remote.as_deref(), git.root_commit.as_deref());
                if let Some(theirs) = theirs.filter(|t| *t != id) {
                    return Err(ClientError::Invalid(ValidationError::new(
                        "path",
                        format!(
                            "{path} is a checkout of another workspace ({theirs}), not of {id}"
                        ),
                    )));
                }
            }
            // A repository's checkout is the top of a git work tree: a
            // folder inside one, or none, is a mistake (often `src/`).
            None if id.starts_with("git:") => {
                return Err(ClientError::Invalid(ValidationError::new(
                    "path",
                    format!(
                        "{path} is not the top folder of a git checkout of {id}: give the folder \
                         holding its .git, or clone it there first"
                    ),
                )));
            }
            None => {}
        }
        let (tenant, _) = self.owner();
        let remote = self
            .db()
            .sessions()
            .by_workspace(tenant, &id, 1)
            .await?
            .into_iter()
            .find_map(|s| s.git.and_then(|g| g.remote));
        self.db()
            .workspaces()
            .link(&id, path, remote.as_deref(), stint_model::now())
            .await?;
        let ws = self.db().workspaces().get(&id).await?.expect("just linked");
        let sessions = self.db().sessions().by_workspace(tenant, &id, 0).await?;
        Ok(view(ws, sessions.len()))
    }

    /// Forgets a folder of workspace `id` (all of them without `folder`);
    /// returns the workspace as it is left (by its identity, whatever
    /// `id` named it by).
    pub async fn forget_workspace(&self, id: &str, folder: Option<&Path>) -> Result<WorkspaceView> {
        let id = self.workspace_named(id).await?;
        let folder = match folder {
            Some(f) => Some(
                f.canonicalize()
                    .unwrap_or_else(|_| f.to_owned())
                    .to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ClientError::Invalid(ValidationError::new("path", "must be valid UTF-8"))
                    })?,
            ),
            None => None,
        };
        let before = self.db().workspaces().get(&id).await?;
        let forgot = self
            .db()
            .workspaces()
            .forget(&id, folder.as_deref())
            .await?;
        let Some(before) = before.filter(|_| forgot) else {
            return Err(ClientError::NotFound(match folder {
                Some(f) => format!("{f} is not a folder of {id} on this device"),
                None => format!("no workspace {id} on this device"),
            }));
        };
        let left = self
            .db()
            .workspaces()
            .get(&id)
            .await?
            .unwrap_or(LocalWorkspace {
                folders: Vec::new(),
                ..before
            });
        let (tenant, _) = self.owner();
        let sessions = self.db().sessions().by_workspace(tenant, &id, 0).await?;
        Ok(view(left, sessions.len()))
    }

    /// The workspace identity `name` means: itself when it is one known
    /// here (in the map or on a session), else the workspace of the
    /// session whose id it is (or starts).
    async fn workspace_named(&self, name: &str) -> Result<String> {
        let name = name.trim();
        if workspace::validate_id("workspace", name).is_ok() {
            let (tenant, _) = self.owner();
            let known = self.db().workspaces().get(name).await?.is_some()
                || !self
                    .db()
                    .sessions()
                    .by_workspace(tenant, name, 1)
                    .await?
                    .is_empty();
            if known {
                return Ok(name.to_owned());
            }
            return Err(ClientError::NotFound(format!(
                "no workspace {name} on this device or in its sessions"
            )));
        }
        let session = self.find_session(name).await.map_err(|e| match e {
            ClientError::NotFound(_) => ClientError::NotFound(format!(
                "`{name}` is neither a workspace (`git:…`, `fp:…`) nor a session"
            )),
            other => other,
        })?;
        session.workspace_id.ok_or_else(|| {
            ClientError::NotFound(format!(
                "session {} has no workspace identity yet: resume it once on the device that started it",
                session.name
            ))
        })
    }

    /// The local index of `folder`: the stats this device keeps for the
    /// sessions `sessions` (the first that has any), brought up to date by
    /// a scan that hashes only what is new or changed. Returns it and how
    /// many files were hashed.
    pub(crate) async fn local_index(
        &self,
        folder: &Path,
        sessions: &[SessionId],
    ) -> Result<(Index, usize)> {
        let (tenant, _) = self.owner();
        let mut known = Vec::new();
        for id in sessions {
            known = self.db().files().stats(tenant, *id).await?;
            if !known.is_empty() {
                break;
            }
        }
        let mut index = Index::from_files(
            known
                .into_iter()
                .map(|(path, s)| (path, crate::watch::entry_of(&s))),
        );
        let root = folder.to_owned();
        let (index, hashed) = tokio::task::spawn_blocking(move || {
            let report = stint_watch::scan(&root, &mut index, &Options::default(), &mut |_| {});
            (index, report.files_hashed)
        })
        .await
        .map_err(|e| ClientError::Rejected(format!("the scan stopped: {e}")))?;
        Ok((index, hashed))
    }

    /// The path and checksum of every live file session `session`
    /// recorded, in path order.
    async fn recorded_files(
        &self,
        session: &WorkspaceSession,
    ) -> Result<Vec<(String, Option<String>)>> {
        let files = self.db().files();
        Ok(
            match files.sums_by_session(session.tenant_id, session.id).await? {
                Some(sums) => sums,
                None => files
                    .list_by_session(session.tenant_id, session.id, false)
                    .await?
                    .into_iter()
                    .map(|f| (f.file_path, f.checksum))
                    .collect(),
            },
        )
    }

    /// What differs between session `id` and this device's checkout of its
    /// workspace, and where its cursors and breakpoints land here.
    pub async fn preflight(&self, id: &str) -> Result<Preflight> {
        let session = self.find_session(id).await?;
        self.preflight_of(&session).await
    }

    pub(crate) async fn preflight_of(&self, session: &WorkspaceSession) -> Result<Preflight> {
        let mut pre = Preflight::empty(session);
        let Some(root) = self.local_root(session).await? else {
            pre.clone = session
                .git
                .as_ref()
                .and_then(|g| g.remote.as_ref())
                .map(|r| format!("git clone {r}"));
            pre.summary = pre.summary();
            pre.warnings.push(pre.summary.clone());
            return Ok(pre);
        };
        pre.folder = Some(utf8(&root)?.to_owned());
        // The stats of this session here, else of another session of the
        // same workspace on this device.
        let mut ids = vec![session.id];
        if let Some(ws) = &session.workspace_id {
            let (tenant, _) = self.owner();
            for s in self.db().sessions().by_workspace(tenant, ws, 20).await? {
                if s.id != session.id {
                    ids.push(s.id);
                }
            }
        }
        let places: BTreeSet<&str> = session
            .editor_state
            .open_tabs
            .iter()
            .map(|t| t.file_path.as_str())
            .chain(session.breakpoints.iter().map(|b| b.file_path.as_str()))
            .collect();
        // A watch of this folder in this process (the agent's, the desktop
        // app's) holds the folder as it is: compared in memory, no rescan.
        // Else the rescan (on a blocking thread) and the read of the
        // session's records go on together.
        let watched = ids
            .iter()
            .copied()
            .find(|id| self.watches.is_live(*id, &root));
        let (recorded, scanned) = match watched {
            Some(_) => (self.recorded_files(session).await?, None),
            None => {
                let (local, recorded) =
                    tokio::try_join!(self.local_index(&root, &ids), self.recorded_files(session))?;
                (recorded, Some(local))
            }
        };
        let live = watched.and_then(|id| {
            self.watches
                .read_live(id, &root, |index| Compared::of(index, &recorded, &places))
        });
        pre.live = live.is_some();
        let compared = match live {
            Some(compared) => compared,
            None => {
                let (index, hashed) = match scanned {
                    Some(scanned) => scanned,
                    // The watch stopped meanwhile.
                    None => self.local_index(&root, &ids).await?,
                };
                pre.hashed = hashed;
                Compared::of(&index, &recorded, &places)
            }
        };
        pre.same = compared.same;
        pre.changed = compared.changed;
        pre.missing = compared.missing;
        pre.extra = compared.extra;
        pre.unverified = compared.unverified;
        if recorded.is_empty() {
            pre.extra.clear();
            pre.warnings.push(
                "the session's files were never indexed (`stint watch` on the device that \
                 recorded it): the content cannot be compared"
                    .into(),
            );
        }
        if let Some(recorded_git) = &session.git
            && let Some((branch, head)) = stint_watch::git_head(&root)
        {
            if recorded_git.branch != branch {
                pre.branch = Some((recorded_git.branch.clone(), branch));
            }
            if recorded_git.head.is_some() && recorded_git.head != head {
                pre.head = Some((recorded_git.head.clone(), head));
            }
        }
        let place = |file: &str, line: u32, column: u32, anchor: Option<&LineAnchor>| {
            place_in(&root, &compared.here, file, line, column, anchor)
        };
        for tab in &session.editor_state.open_tabs {
            pre.tabs.push(place(
                &tab.file_path,
                tab.cursor.line,
                tab.cursor.column,
                tab.anchor.as_ref(),
            ));
        }
        for bp in &session.breakpoints {
            pre.breakpoints
                .push(place(&bp.file_path, bp.line, 1, bp.anchor.as_ref()));
        }
        for p in pre.tabs.iter().chain(&pre.breakpoints) {
            match p.placed {
                Placed::Lost => pre.warnings.push(format!(
                    "{} changed and line {} could not be found in it: it opens at the top",
                    p.file_path, p.recorded_line
                )),
                Placed::Missing => pre
                    .warnings
                    .push(format!("{} is not in this checkout", p.file_path)),
                Placed::Exact | Placed::Moved => {}
            }
        }
        pre.summary = pre.summary();
        Ok(pre)
    }

    /// The anchors of the places in `session` (its tabs' cursors and its
    /// breakpoints), from the files of its local checkout: what lets
    /// another device find the lines again once the files have changed.
    /// Secret files get none (their lines stay here).
    pub(crate) async fn anchor_places(&self, session: &mut WorkspaceSession) -> Result<()> {
        let Some(root) = self.local_root(session).await? else {
            return Ok(());
        };
        let secrets = self.anchors.secrets(&root);
        let anchor = |file: &str, line: u32| -> Option<LineAnchor> {
            if secrets.is_secret(file) {
                return None;
            }
            self.anchors.anchor(&root.join(file), line)
        };
        for tab in &mut session.editor_state.open_tabs {
            tab.anchor = anchor(&tab.file_path, tab.cursor.line);
        }
        for bp in &mut session.breakpoints {
            bp.anchor = anchor(&bp.file_path, bp.line);
        }
        if session.git.is_some()
            && let Some((branch, head)) = stint_watch::git_head(&root)
        {
            let git = session.git.get_or_insert_default();
            git.branch = branch;
            git.head = head;
        }
        Ok(())
    }
}

fn view(ws: LocalWorkspace, sessions: usize) -> WorkspaceView {
    WorkspaceView {
        id: ws.id,
        folders: ws.folders,
        remote: ws.remote,
        sessions,
    }
}

/// A session's recorded files against a local index, and what the places
/// (cursors, breakpoints) need of it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Compared {
    same: usize,
    changed: Vec<String>,
    missing: Vec<String>,
    extra: Vec<String>,
    unverified: Vec<String>,
    /// For each place's file present here: whether its content is the
    /// recorded one.
    here: BTreeMap<String, bool>,
}

impl Compared {
    /// Compares `recorded` (path order, as the replica gives it) with
    /// `index` in one merge of the two sorted lists: no map is built, no
    /// checksum formatted, so that 50,000 files take a few milliseconds.
    fn of(index: &Index, recorded: &[(String, Option<String>)], places: &BTreeSet<&str>) -> Self {
        let mut out = Self::default();
        let mut sorted;
        let mut recorded = recorded;
        if !recorded.is_sorted_by(|a, b| a.0 < b.0) {
            sorted = recorded.to_vec();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            sorted.dedup_by(|a, b| a.0 == b.0);
            recorded = &sorted;
        }
        let mut theirs = recorded.iter().peekable();
        let mut ours = index.iter().peekable();
        loop {
            let order = match (theirs.peek(), ours.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((path, _)), Some((here, _))) => path.as_str().cmp(here),
            };
            match order {
                Ordering::Less => {
                    let (path, _) = theirs.next().expect("peeked");
                    out.missing.push(path.clone());
                }
                Ordering::Greater => {
                    let (path, _) = ours.next().expect("peeked");
                    out.extra.push(path.to_owned());
                }
                Ordering::Equal => {
                    let (path, sum) = theirs.next().expect("peeked");
                    let (_, entry) = ours.next().expect("peeked");
                    let same = sum.as_deref().map(|sum| same_sum(sum, &entry.sha256));
                    match same {
                        None => out.unverified.push(path.clone()),
                        Some(true) => out.same += 1,
                        Some(false) => out.changed.push(path.clone()),
                    }
                    if places.contains(path.as_str()) {
                        out.here.insert(path.clone(), same == Some(true));
                    }
                }
            }
        }
        // A place in a file the session never indexed: present, not
        // known to be the same.
        for place in places {
            if !out.here.contains_key(*place) && index.get(place).is_some() {
                out.here.insert((*place).to_owned(), false);
            }
        }
        out
    }
}

/// Whether the hex checksum `hex` is `sha256`.
fn same_sum(hex: &str, sha256: &[u8; 32]) -> bool {
    let mut ours = [0u8; 64];
    hex::encode_to_slice(sha256, &mut ours).is_ok() && hex.as_bytes() == ours
}

/// Where the place recorded at `line` of `file` lands in the checkout;
/// `here` says, of each place's file present, whether it is unchanged.
fn place_in(
    root: &Path,
    here: &BTreeMap<String, bool>,
    file: &str,
    line: u32,
    column: u32,
    anchor: Option<&LineAnchor>,
) -> Placement {
    let at = |now: u32, column: u32, placed: Placed| Placement {
        file_path: file.to_owned(),
        recorded_line: line,
        line: now,
        column,
        placed,
    };
    match here.get(file) {
        None => return at(line, column, Placed::Missing),
        // The content recorded: the place is exact.
        Some(true) => return at(line, column, Placed::Exact),
        Some(false) => {}
    }
    let found = anchor.and_then(|a| {
        let text = std::fs::read_to_string(root.join(file)).ok()?;
        let window = stint_watch::anchor::Window {
            hashes: a.hashes.clone(),
            at: a.at,
        };
        stint_watch::anchor::find(&window, line, &text)
    });
    match found {
        Some(now) => at(now, column, Placed::Moved),
        None => at(1, 1, Placed::Lost),
    }
}

/// Anchors and secret rules computed lately, by file and line, each kept
/// while the file's size and modification time stay the same. An editor
/// sends its whole state every second; without this each update would
/// read and hash every open file, and parse the secret rules again.
#[derive(Debug, Default)]
pub(crate) struct AnchorCache {
    anchors: std::sync::Mutex<HashMap<Place, Marked<Option<LineAnchor>>>>,
    secrets: std::sync::Mutex<HashMap<PathBuf, Marked<std::sync::Arc<Secrets>>>>,
}

/// A value and the mark of the file it was computed from (`None`: the
/// file was absent).
type Marked<T> = (Option<FileMark>, T);

/// A line of a file.
type Place = (PathBuf, u32);

/// What says a file is still the one looked at: its size and mtime (one
/// rewritten within the same clock tick at the same size keeps its old
/// anchor: an anchor is a hint for placing a cursor, not a checksum).
type FileMark = (u64, std::time::SystemTime);

/// Most entries kept; past it the cache starts again (editors have tens
/// of tabs, not thousands).
const ANCHORS_KEPT: usize = 4096;

fn mark(path: &Path) -> Option<FileMark> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl AnchorCache {
    /// The anchor of `line` in `file`, from the cache when the file did not
    /// change since.
    pub(crate) fn anchor(&self, file: &Path, line: u32) -> Option<LineAnchor> {
        let now = Some(mark(file)?);
        let key = (file.to_owned(), line);
        if let Some((was, anchor)) = self.anchors.lock().expect("anchors lock").get(&key)
            && *was == now
        {
            return anchor.clone();
        }
        let text = std::fs::read_to_string(file).ok()?;
        let anchor = stint_watch::anchor::window(&text, line).map(|w| LineAnchor {
            hashes: w.hashes,
            at: w.at,
        });
        let mut anchors = self.anchors.lock().expect("anchors lock");
        if anchors.len() >= ANCHORS_KEPT {
            anchors.clear();
        }
        anchors.insert(key, (now, anchor.clone()));
        anchor
    }

    /// The secret rules of the workspace at `root`, parsed again when its
    /// `.stintsecrets` changed.
    pub(crate) fn secrets(&self, root: &Path) -> std::sync::Arc<Secrets> {
        let now = mark(&root.join(stint_watch::SECRETS_FILE));
        let mut all = self.secrets.lock().expect("secrets lock");
        if let Some((was, secrets)) = all.get(root)
            && *was == now
        {
            return std::sync::Arc::clone(secrets);
        }
        let secrets = std::sync::Arc::new(Secrets::of(root));
        if all.len() >= ANCHORS_KEPT {
            all.clear();
        }
        all.insert(root.to_owned(), (now, std::sync::Arc::clone(&secrets)));
        secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stint_watch::{Entry, Stat};

    fn sha(content: &str) -> [u8; 32] {
        use std::hash::{Hash, Hasher};
        // Any 32 bytes that differ by content will do here.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.hash(&mut h);
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&h.finish().to_be_bytes());
        out
    }

    /// `recorded`: path and content (None: a secret, no checksum);
    /// `local`: path and content; the expected same count, and the
    /// changed, missing, extra and unverified paths.
    fn check(
        recorded: &[(&str, Option<&str>)],
        local: &[(&str, &str)],
        expected: (usize, &[&str], &[&str], &[&str], &[&str]),
    ) {
        let index = Index::from_files(local.iter().map(|(p, c)| {
            let stat = Stat {
                size: 1,
                mtime_ns: 1,
                ctime_ns: 1,
                ino: 1,
            };
            let entry = Entry {
                stat,
                sha256: sha(c),
                hashed_at_ns: 1,
            };
            ((*p).to_owned(), entry)
        }));
        let recorded: Vec<(String, Option<String>)> = recorded
            .iter()
            .map(|(p, c)| ((*p).to_owned(), c.map(|c| hex::encode(sha(c)))))
            .collect();
        let places = BTreeSet::from(["a", "b", "gone", "new"]);
        let got = Compared::of(&index, &recorded, &places);
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (same, changed, missing, extra, unverified) = expected;
        assert_eq!(got.same, same, "same, for {recorded:?} vs {local:?}");
        assert_eq!(got.changed, strings(changed), "changed");
        assert_eq!(got.missing, strings(missing), "missing");
        assert_eq!(got.extra, strings(extra), "extra");
        assert_eq!(got.unverified, strings(unverified), "unverified");
        for (path, content) in local {
            if places.contains(path) {
                let unchanged = recorded
                    .iter()
                    .any(|(p, c)| p == path && c.as_deref() == Some(&hex::encode(sha(content))));
                assert_eq!(got.here.get(*path), Some(&unchanged), "place in {path}");
            }
        }
        assert!(
            !got.here.contains_key("gone"),
            "a missing file has no place"
        );
    }

    #[test]
    fn a_session_is_compared_with_the_local_index() {
        // Identical.
        check(
            &[("a", Some("1")), ("b", Some("2"))],
            &[("a", "1"), ("b", "2")],
            (2, &[], &[], &[], &[]),
        );
        // One of each: changed, missing, extra, a secret.
        check(
            &[
                ("a", Some("1")),
                ("b", Some("2")),
                (".env", None),
                ("gone", Some("3")),
            ],
            &[(".env", "x"), ("a", "1"), ("b", "changed"), ("new", "4")],
            (1, &["b"], &["gone"], &["new"], &[".env"]),
        );
        // Nothing here, or nothing recorded.
        check(&[("a", Some("1"))], &[], (0, &[], &["a"], &[], &[]));
        check(&[], &[("a", "1")], (0, &[], &[], &["a"], &[]));
        // Out of order (an older replica's records): sorted first.
        check(
            &[("z", Some("9")), ("a", Some("1")), ("m", Some("5"))],
            &[("a", "1"), ("m", "5"), ("z", "changed")],
            (2, &["z"], &[], &[], &[]),
        );
        // Non-ASCII and nested paths keep byte order on both sides.
        check(
            &[("src/ü.rs", Some("1")), ("src/z.rs", Some("2"))],
            &[("src/z.rs", "2"), ("src/ü.rs", "1"), ("src/é.rs", "3")],
            (2, &[], &[], &["src/é.rs"], &[]),
        );
    }
}
