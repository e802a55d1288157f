//! The device: its profile and its local replica, and every operation on
//! workspace sessions. The CLI and the desktop app call these and nothing
//! else.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stint_db::{Db, SessionList, WriteCtx};
use stint_model::api::RelatedSession;
use stint_model::{
    Breakpoint, Conflict, DeviceId, EditorState, Note, SessionId, SessionStatus, TenantId, UserId,
    Validate, ValidationError, WorkspaceSession, validate,
};
use stint_store::StoreOptions;

use crate::account::{self, Account, Credentials, Kept, Server, Vault};
use crate::error::{ClientError, Result};
use crate::hook::{self, HookEntry};
use crate::profile::Profile;
use crate::resume::Resume;
use crate::scrub;

/// What to start a session with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct NewSession {
    /// Display name; empty names it after the folder and the day
    /// (`app 2026-12-02`).
    pub name: String,
    /// The workspace folder (made absolute by the caller).
    pub workspace: PathBuf,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The session an editor's folder records into, and the folder of this
/// device that its files are relative to.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
pub struct FolderSession {
    /// The session.
    pub session: WorkspaceSession,
    /// Its workspace's folder here: the editor's, or one holding it.
    pub folder: PathBuf,
}

/// Which sessions to list; every field may be left out (`{}`: all active
/// sessions).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct SessionFilter {
    /// Only this workspace: a folder (its sessions on every device, once
    /// its identity is known) or an identity.
    pub workspace: Option<String>,
    /// Only sessions with this tag.
    pub tag: Option<String>,
    /// Include archived sessions.
    pub include_archived: bool,
    /// At most this many (0: all).
    pub limit: usize,
    /// Only sessions created before this one: the next page after a page
    /// that ended with it (lists are newest first).
    #[serde(default)]
    pub before: Option<SessionId>,
}

/// A change to a session. Several can be applied at once.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// Rename.
    Name(String),
    /// Add a tag (no-op if present).
    AddTag(String),
    /// Remove a tag.
    RemoveTag(String),
    /// Record a fact.
    Fact(String),
    /// Record a decision, with an optional rationale.
    Decision(String, Option<String>),
    /// Replace the editor state (tabs, cursors, layout).
    Editor(EditorState),
    /// Set the terminal's working directory.
    Cwd(String),
    /// Append commands to the terminal history (scrubbed of secrets).
    History(Vec<String>),
    /// Remove one command from the terminal history: the one at this
    /// 0-based position, refused when the history there no longer holds
    /// the command given (the history moved on since it was shown).
    ForgetCommand(usize, Option<String>),
    /// Set environment variables (secret ones are hidden).
    Env(Vec<(String, String)>),
    /// Replace the breakpoints.
    Breakpoints(Vec<Breakpoint>),
    /// Replace the watch expressions.
    Watches(Vec<String>),
    /// Archive or bring back.
    Status(SessionStatus),
}

/// What `stint status` shows.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
pub struct Status {
    /// The data directory.
    pub data_dir: PathBuf,
    /// This device.
    pub device_id: stint_model::DeviceId,
    /// The server signed in to.
    pub server: Option<String>,
    /// Where a sign-in goes unless told otherwise: the server signed in
    /// to, else `STINT_SERVER` (what `make run` sets for the desktop app).
    pub sign_in_server: Option<String>,
    /// Who is signed in, if anyone.
    pub signed_in_as: Option<String>,
    /// Where the login's refresh token is kept: `"OS keyring"` or the
    /// credentials file's path.
    pub login_kept_in: Option<String>,
    /// The tenant sessions are written in (`local` before any login).
    pub tenant: String,
    /// Sessions on this device (archived included).
    pub sessions: usize,
    /// Bytes of the local replica on disk.
    pub replica_bytes: u64,
    /// Most bytes of the replica kept in memory (`STINT_REPLICA_CACHE_MB`).
    pub replica_cache_bytes: u64,
    /// What waits to sync, conflicts, and the last sync.
    pub sync: crate::sync::SyncStatus,
}

/// News kept for a subscriber that is slow to read: watch progress comes
/// a few times a second, so this is seconds of it.
const NEWS_KEPT: usize = 256;

/// A device: its profile, its local replica, and its login.
#[derive(Debug)]
pub struct Device {
    dir: PathBuf,
    /// Changes only when the server says this device id is another
    /// account's ([`Device::renew_device`]).
    profile: std::sync::Mutex<Profile>,
    db: Db,
    vault: Vault,
    credentials: std::sync::Mutex<Option<Credentials>>,
    /// One drain of the shell hook's spool at a time in this process.
    hook_drain: tokio::sync::Mutex<()>,
    /// One "find, else start" of a folder's session at a time: two editors
    /// opening one folder at once get one session.
    folder_session: tokio::sync::Mutex<()>,
    /// Anchors computed lately, so that an editor sending its state every
    /// second does not read and hash every open file each time.
    pub(crate) anchors: crate::workspace::AnchorCache,
    /// The HTTP client of the last server used, kept so that sync rounds
    /// reuse its connections.
    server: std::sync::Mutex<Option<Server>>,
    /// The workspaces this process watches.
    pub(crate) watches: crate::watch::Watches,
    /// The editor windows listening on the owner's socket.
    pub(crate) windows: crate::windows::Windows,
    /// What happens to the replica, for the owner's subscribers.
    pub(crate) news: tokio::sync::broadcast::Sender<crate::owner::News>,
    /// The replica's page cache, as opened.
    cache_bytes: u64,
}

/// The replica's page cache unless `STINT_REPLICA_CACHE_MB` says otherwise:
/// sled's own default is 1 GiB, which an app left running for a month
/// would grow into.
const REPLICA_CACHE_MB: u64 = 32;

/// The replica's page cache in bytes, from `STINT_REPLICA_CACHE_MB`.
fn replica_cache_bytes() -> Result<u64> {
    let Some(set) = std::env::var_os("STINT_REPLICA_CACHE_MB") else {
        return Ok(REPLICA_CACHE_MB * 1024 * 1024);
    };
    let set = set.to_string_lossy();
    match set.trim().parse::<u64>() {
        Ok(mb @ 1..=1_048_576) => Ok(mb * 1024 * 1024),
        _ => Err(ClientError::Invalid(ValidationError::new(
            "STINT_REPLICA_CACHE_MB",
            format!("must be a whole number of megabytes from 1 to 1048576, not {set:?}"),
        ))),
    }
}

impl Device {
    /// Opens the device in `dir`, creating it on first use. The replica is
    /// a sled database in `dir/replica`, which one process at a time may
    /// open.
    pub fn open(dir: &Path) -> Result<Self> {
        // Before anything is made: a bad setting changes nothing.
        let cache_bytes = replica_cache_bytes()?;
        create_private_dir(dir)?;
        // Whether the replica is new, the profile's verdict and the
        // replica's creation happen under one lock, so that two processes
        // opening a fresh directory together agree on one device.
        let fail = |e: std::io::Error| {
            ClientError::Profile(format!("locking the profile in {}: {e}", dir.display()))
        };
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("device.lock"))
            .map_err(fail)?;
        lock.lock().map_err(fail)?;
        let replica = dir.join("replica");
        // sled writes `conf` when it creates a database.
        let new_replica = !replica.join("conf").exists();
        let (profile, renewed) = Profile::load_or_create(dir, new_replica)?;
        let options = StoreOptions {
            cache_bytes: Some(cache_bytes),
            ..StoreOptions::default()
        };
        let store = stint_store::open_sled(&replica, options).map_err(|e| {
            ClientError::Profile(format!(
                "cannot open the replica in {} (is another Stint process using it?): {e}",
                dir.display()
            ))
        })?;
        drop(lock);
        let vault = Vault::new(dir);
        if let Some(why) = renewed {
            // The login was the old device's: its tokens would push under
            // the old id. The server keeps it (the original may still use
            // it); this directory signs in again.
            tracing::warn!(device = %profile.device_id, "{why}: this is a new device; sign in again");
            vault.forget()?;
        }
        // A login issued to another device id is not this device's.
        let credentials = vault
            .load()?
            .filter(|c| c.device_id.is_none_or(|d| d == profile.device_id));
        Ok(Self {
            dir: dir.to_owned(),
            profile: std::sync::Mutex::new(profile),
            db: Db::new(store),
            vault,
            credentials: std::sync::Mutex::new(credentials),
            hook_drain: tokio::sync::Mutex::new(()),
            folder_session: tokio::sync::Mutex::new(()),
            anchors: crate::workspace::AnchorCache::default(),
            server: std::sync::Mutex::new(None),
            watches: crate::watch::Watches::default(),
            windows: crate::windows::Windows::default(),
            news: tokio::sync::broadcast::channel(NEWS_KEPT).0,
            cache_bytes,
        })
    }

    /// Tells the owner's subscribers, if any listen.
    pub(crate) fn tell(&self, news: crate::owner::News) {
        let _ = self.news.send(news);
    }

    fn signed_in(&self) -> Option<Credentials> {
        self.credentials.lock().expect("credentials lock").clone()
    }

    /// The login, or `NotSignedIn`.
    pub(crate) fn credentials(&self) -> Result<Credentials> {
        self.signed_in().ok_or_else(|| {
            ClientError::NotSignedIn(match self.profile().renewed {
                Some(why) => {
                    format!("{why}, so it is a new device now: run `stint login URL` again")
                }
                None => "run `stint login URL`".into(),
            })
        })
    }

    /// The client of the server at `url`.
    pub(crate) fn server(&self, url: &str) -> Result<Server> {
        let mut cached = self.server.lock().expect("server lock");
        if let Some(server) = cached
            .as_ref()
            .filter(|s| s.base() == url.trim_end_matches('/'))
        {
            return Ok(server.clone());
        }
        let server = Server::new(url)?;
        *cached = Some(server.clone());
        Ok(server)
    }

    /// The replica's repositories.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Creates an account on `server` and signs in.
    pub async fn register(
        &self,
        server: &str,
        req: &stint_model::api::RegisterRequest,
    ) -> Result<Account> {
        let api = self.server(server)?;
        let response = self
            .as_own_device(|device| {
                let req = stint_model::api::RegisterRequest {
                    device_id: Some(device),
                    ..req.clone()
                };
                let api = api.clone();
                async move { api.register(&req).await }
            })
            .await?;
        self.signed_in_with(api.base(), response).await
    }

    /// Signs in to `server` with email and password.
    pub async fn login(&self, server: &str, email: &str, password: &str) -> Result<Account> {
        let api = self.server(server)?;
        let response = self
            .as_own_device(|device| api.login(email, password, device))
            .await?;
        self.signed_in_with(api.base(), response).await
    }

    /// Stores the login, then moves the sessions started before any login
    /// into the user's tenant (where they will sync from).
    async fn signed_in_with(
        &self,
        server: &str,
        response: stint_model::api::TokenResponse,
    ) -> Result<Account> {
        let credentials = self.keep_login(server, response)?;
        if credentials.kept() == Kept::File && !self.vault_announced() {
            eprintln!(
                "stint: no OS keyring reachable here; the login is kept in {} (readable by you only)",
                self.vault.path().display()
            );
        }
        self.adopt_local_sessions(&credentials).await?;
        // The watched sessions may have moved into the account's tenant:
        // their watches start again there.
        if !self.watch_statuses().is_empty() {
            self.stop_watches().await;
            self.resume_watches().await;
        }
        Ok(credentials.account())
    }

    /// Saves a login and makes it the current one.
    pub(crate) fn keep_login(
        &self,
        server: &str,
        response: stint_model::api::TokenResponse,
    ) -> Result<Credentials> {
        let credentials = account::remember(&self.vault, server, response)?;
        *self.credentials.lock().expect("credentials lock") = Some(credentials.clone());
        let mut profile = self.profile.lock().expect("profile lock");
        if profile.renewed.is_some() {
            // Signed in as the new device: nothing left to explain.
            profile.renewed = None;
            profile.save(&self.dir)?;
        }
        Ok(credentials)
    }

    /// Says where the login is kept, once per data directory.
    fn vault_announced(&self) -> bool {
        let marker = self.dir.join(".credentials-announced");
        let seen = marker.exists();
        let _ = std::fs::write(&marker, b"");
        seen
    }

    async fn adopt_local_sessions(&self, credentials: &Credentials) -> Result<()> {
        let (local_tenant, local_user) = self.local_owner();
        let local = self
            .db
            .sessions()
            .list_by_user(local_tenant, local_user, 0)
            .await?;
        let ctx = self.ctx();
        // Oldest first: a fork's parent moves before the fork.
        for mut session in local.into_iter().rev() {
            let id = session.id;
            session.tenant_id = credentials.tenant.id;
            session.user_id = credentials.user.id;
            match self.db.sessions().create(&session, &ctx).await {
                Ok(()) | Err(stint_db::DbError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            self.db
                .sessions()
                .delete(local_tenant, id, &WriteCtx::unsynced(self.device_id()))
                .await?;
        }
        Ok(())
    }

    /// Signs out: revokes this device's login on the server (when it can be
    /// reached) and forgets it here.
    pub async fn logout(&self) -> Result<bool> {
        let Some(mut credentials) = self.signed_in() else {
            return Ok(false);
        };
        let revoked = match account::fresh_access(&self.vault, &mut credentials).await {
            Ok(token) => self.server(&credentials.server)?.logout(&token).await,
            Err(e) => Err(e),
        };
        self.vault.forget()?;
        *self.credentials.lock().expect("credentials lock") = None;
        match revoked {
            Ok(()) | Err(ClientError::NotSignedIn(_)) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Who is signed in, if anyone.
    #[must_use]
    pub fn whoami(&self) -> Option<Account> {
        self.signed_in().map(|c| c.account())
    }

    /// A valid access token, refreshed (and the rotated refresh token saved)
    /// when needed.
    pub async fn access_token(&self) -> Result<String> {
        let mut credentials = self
            .signed_in()
            .ok_or_else(|| ClientError::NotSignedIn("run `stint login URL`".into()))?;
        let token = account::fresh_access(&self.vault, &mut credentials).await?;
        *self.credentials.lock().expect("credentials lock") = Some(credentials);
        Ok(token)
    }

    /// Makes the stored access token count as expired (tests of refresh).
    pub fn expire_access_token(&self) -> Result<()> {
        let mut guard = self.credentials.lock().expect("credentials lock");
        if let Some(credentials) = guard.as_mut() {
            account::expire(credentials);
            self.vault.save(credentials)?;
        }
        Ok(())
    }

    /// What this device is and holds.
    pub async fn status(&self) -> Result<Status> {
        let credentials = self.signed_in();
        let (tenant, user) = self.owner();
        let sessions = self.db.sessions().count_by_user(tenant, user).await?;
        Ok(Status {
            data_dir: self.dir.clone(),
            device_id: self.device_id(),
            server: credentials.as_ref().map(|c| c.server.clone()),
            sign_in_server: credentials
                .as_ref()
                .map(|c| c.server.clone())
                .or_else(|| std::env::var("STINT_SERVER").ok().filter(|s| !s.is_empty())),
            signed_in_as: credentials.as_ref().map(|c| c.user.email.clone()),
            login_kept_in: credentials.as_ref().map(|c| match c.kept() {
                Kept::Keyring => "OS keyring".to_owned(),
                Kept::File => self.vault.path().display().to_string(),
            }),
            tenant: credentials
                .as_ref()
                .map_or_else(|| "local".to_owned(), |c| c.tenant.name.clone()),
            sessions,
            replica_bytes: dir_size(&self.dir.join("replica")),
            replica_cache_bytes: self.cache_bytes,
            sync: self.sync_status().await?,
        })
    }

    /// The data directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The device profile.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile.lock().expect("profile lock").clone()
    }

    /// This device's id.
    fn device_id(&self) -> DeviceId {
        self.profile.lock().expect("profile lock").device_id
    }

    /// The tenant and user sessions live in before any login.
    fn local_owner(&self) -> (TenantId, UserId) {
        let profile = self.profile.lock().expect("profile lock");
        (profile.local_tenant, profile.local_user)
    }

    /// Signs in with `call`, naming this device; once more under a new
    /// device id when the server says this one is another account's.
    async fn as_own_device<T, F: Future<Output = Result<T>>>(
        &self,
        call: impl Fn(DeviceId) -> F,
    ) -> Result<T> {
        match call(self.device_id()).await {
            Err(e) if device_taken(&e) => {
                self.renew_device()?;
                call(self.device_id()).await
            }
            other => other,
        }
    }

    /// Takes a new device id (the server said this one is another
    /// account's: another user signed in here before). The replica's
    /// mutation numbers go on; under a new id they are new to the server.
    fn renew_device(&self) -> Result<()> {
        let mut profile = self.profile.lock().expect("profile lock");
        let renewed = Profile {
            device_id: stint_model::DeviceId::new(),
            ..profile.clone()
        };
        renewed.save(&self.dir)?;
        *profile = renewed;
        Ok(())
    }

    /// The tenant and user sessions are written for: the local ones until
    /// a login, then the signed-in user's.
    pub(crate) fn owner(&self) -> (TenantId, UserId) {
        match self.signed_in() {
            Some(c) => (c.tenant.id, c.user.id),
            None => self.local_owner(),
        }
    }

    /// The context of a local edit: queued for sync once signed in; before
    /// any login, sessions live in the local tenant and go nowhere.
    pub(crate) fn ctx(&self) -> WriteCtx<'static> {
        if self.signed_in().is_some() {
            WriteCtx::local(self.device_id())
        } else {
            WriteCtx::unsynced(self.device_id())
        }
    }

    /// Starts a session. Durable when this returns.
    pub async fn start_session(&self, new: NewSession) -> Result<WorkspaceSession> {
        let (tenant, user) = self.owner();
        let workspace = new.workspace.to_str().ok_or_else(|| {
            ClientError::Invalid(stint_model::ValidationError::new(
                "workspace",
                "must be valid UTF-8",
            ))
        })?;
        let name = if new.name.trim().is_empty() {
            // The folder's name, cleaned and cut so that the name fits.
            let folder = new.workspace.file_name().and_then(|n| n.to_str());
            let folder: String = folder
                .unwrap_or("workspace")
                .chars()
                .filter(|c| !c.is_control())
                .take(validate::MAX_NAME_CHARS - " 2026-12-02".len())
                .collect();
            format!("{folder} {}", stint_model::now().format("%Y-%m-%d"))
        } else {
            new.name
        };
        let mut session = WorkspaceSession::new(tenant, user, name, workspace);
        // A folder without git gets its fingerprint once it is indexed.
        if new.workspace.is_dir()
            && let Some(identity) = self.identify_cheaply(&new.workspace).await?
        {
            session.workspace_id = Some(identity.id);
            session.git = identity.git;
        }
        session.tags = new.tags;
        session.terminal_state.cwd = Some(session.workspace_path.clone());
        session.validate()?;
        self.db.sessions().create(&session, &self.ctx()).await?;
        Ok(session)
    }

    /// Sessions, newest first.
    ///
    /// With a limit, only that many are read from the index (a few more
    /// when archived ones must be skipped), so listing the newest 50 of
    /// 10,000 sessions reads 50.
    pub async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<WorkspaceSession>> {
        let (tenant, user) = self.owner();
        let wanted = if filter.limit == 0 {
            usize::MAX
        } else {
            filter.limit
        };
        // How many to read from the index: 0 reads all.
        let mut read = filter.limit;
        let workspace = match &filter.workspace {
            Some(named) => Some(self.workspace_key(named).await?),
            None => None,
        };
        loop {
            let list = match (&workspace, &filter.tag) {
                (Some(key), _) => SessionList::Workspace(key),
                (None, Some(tag)) => SessionList::Tag(tag),
                (None, None) => SessionList::User(user),
            };
            let sessions = self
                .db
                .sessions()
                .page(tenant, list, filter.before, read)
                .await?;
            let exhausted = read == 0 || sessions.len() < read;
            let kept: Vec<_> = sessions
                .into_iter()
                .filter(|s| filter.tag.as_ref().is_none_or(|t| s.tags.contains(t)))
                .filter(|s| filter.include_archived || s.status == SessionStatus::Active)
                .take(wanted)
                .collect();
            if kept.len() >= wanted || exhausted {
                return Ok(kept);
            }
            read = read.saturating_mul(4);
        }
    }

    /// The session whose id is `id` or starts with it (at least 4
    /// characters, unique), as with git commits.
    pub async fn find_session(&self, id: &str) -> Result<WorkspaceSession> {
        let (tenant, _) = self.owner();
        let wanted = id.trim().to_ascii_lowercase();
        if let Ok(full) = wanted.parse::<SessionId>() {
            return Ok(self.db.sessions().get(tenant, full).await?);
        }
        let all = self
            .list_sessions(&SessionFilter {
                include_archived: true,
                ..SessionFilter::default()
            })
            .await?;
        one_by_prefix(all, |s| s.id.to_string(), id, "session")
    }

    /// Applies changes to a session, scrubbing terminal data of secrets.
    /// Durable when this returns.
    pub async fn update_session(&self, id: &str, changes: Vec<Change>) -> Result<WorkspaceSession> {
        let mut session = self.find_session(id).await?;
        let places_moved = changes
            .iter()
            .any(|c| matches!(c, Change::Editor(_) | Change::Breakpoints(_)));
        for change in changes {
            apply(&mut session, change)?;
        }
        if places_moved {
            session.validate()?;
            self.anchor_places(&mut session).await?;
            // An editor's capture is also when the branch is read again:
            // the session says what was checked out while it was worked on.
            let root = self.local_root(&session).await?;
            if let Some(git) = &mut session.git
                && let Some((branch, head)) = root.as_deref().and_then(stint_watch::git_head)
            {
                git.branch = branch;
                git.head = head;
            }
        }
        let ctx = self.ctx();
        session.updated_at = ctx.at;
        session.validate()?;
        self.db.sessions().update(&session, &ctx).await?;
        Ok(session)
    }

    /// Forks a session into a new one named `name`; an empty name is the parent's with "(fork)" added.
    pub async fn fork_session(&self, id: &str, name: &str) -> Result<WorkspaceSession> {
        let parent = self.find_session(id).await?;
        let name = if name.trim().is_empty() {
            let keep = validate::MAX_NAME_CHARS - " (fork)".len();
            let base: String = parent.name.chars().take(keep).collect();
            format!("{base} (fork)")
        } else {
            name.to_owned()
        };
        validate::name("name", &name)?;
        let child = parent.fork(&name);
        self.db.sessions().create(&child, &self.ctx()).await?;
        Ok(child)
    }

    /// Deletes a session.
    pub async fn delete_session(&self, id: &str) -> Result<WorkspaceSession> {
        let session = self.find_session(id).await?;
        self.db
            .sessions()
            .delete(session.tenant_id, session.id, &self.ctx())
            .await?;
        Ok(session)
    }

    /// Everything needed to bring a session's workspace back; marks it
    /// accessed.
    pub async fn resume_session(&self, id: &str) -> Result<Resume> {
        let mut session = self.find_session(id).await?;
        let ctx = self.ctx();
        session.last_accessed_at = ctx.at;
        self.db.sessions().update(&session, &ctx).await?;
        let preflight = self.preflight_of(&session).await?;
        Ok(Resume::of(session, preflight))
    }

    /// Active sessions, most recently changed first.
    pub async fn recent_sessions(&self, limit: usize) -> Result<Vec<WorkspaceSession>> {
        let (tenant, user) = self.owner();
        Ok(self.db.sessions().recent(tenant, user, limit).await?)
    }

    /// Records what the shell hook spooled into the active sessions (see
    /// `hook.rs`). Returns how many commands were taken from the spool.
    pub async fn drain_hook(&self) -> Result<usize> {
        let _one_at_a_time = self.hook_drain.lock().await;
        hook::drain(&self.dir, async |entries| {
            // Per session, in order: the commands, then the last cwd.
            let mut per_session: Vec<(SessionId, Vec<String>, String)> = Vec::new();
            for entry in entries {
                let Some(session) = self.active_session(&entry).await? else {
                    continue;
                };
                match per_session.iter_mut().find(|(id, ..)| *id == session) {
                    Some((_, commands, cwd)) => {
                        commands.push(entry.command);
                        *cwd = entry.cwd;
                    }
                    None => per_session.push((session, vec![entry.command], entry.cwd)),
                }
            }
            for (session, commands, cwd) in per_session {
                let changes = vec![Change::History(commands), Change::Cwd(cwd)];
                self.update_session(&session.to_string(), changes).await?;
            }
            Ok(())
        })
        .await
    }

    /// The session a hooked command belongs to: the one it names, else the
    /// active session of the deepest workspace holding its directory.
    async fn active_session(&self, entry: &HookEntry) -> Result<Option<SessionId>> {
        if let Some(id) = &entry.session {
            return match self.find_session(id).await {
                Ok(session) => Ok(Some(session.id)),
                Err(ClientError::NotFound(_) | ClientError::Ambiguous(_)) => Ok(None),
                Err(e) => Err(e),
            };
        }
        Ok(self
            .active_session_of(Path::new(&entry.cwd))
            .await?
            .map(|(s, _)| s.id))
    }

    /// The session an editor open on `folder` records into: the active
    /// session of the deepest workspace holding it (found across devices
    /// by the workspace's identity), else, when `start`, one started
    /// there, as `stint session start` would. With it, the folder of this
    /// device its files are relative to (`folder` or one holding it).
    pub async fn session_of_folder(
        &self,
        folder: &Path,
        start: bool,
    ) -> Result<Option<FolderSession>> {
        let invalid = |m: String| ClientError::Invalid(ValidationError::new("folder", m));
        if !folder.is_absolute() {
            return Err(invalid(format!(
                "{} is not an absolute path",
                folder.display()
            )));
        }
        let folder = folder
            .canonicalize()
            .map_err(|e| invalid(format!("{}: {e}", folder.display())))?;
        if !folder.is_dir() {
            return Err(invalid(format!("{} is not a folder", folder.display())));
        }
        let _one_at_a_time = self.folder_session.lock().await;
        if let Some((session, root)) = self.active_session_of(&folder).await? {
            return Ok(Some(FolderSession {
                session,
                folder: root,
            }));
        }
        if !start {
            return Ok(None);
        }
        let new = NewSession {
            name: String::new(),
            workspace: folder.clone(),
            tags: Vec::new(),
        };
        let session = self.start_session(new).await?;
        Ok(Some(FolderSession { session, folder }))
    }

    /// The active session of the deepest workspace holding `cwd`, and that
    /// workspace's folder here.
    async fn active_session_of(&self, cwd: &Path) -> Result<Option<(WorkspaceSession, PathBuf)>> {
        let active = |s: &WorkspaceSession| s.status == SessionStatus::Active;
        if let Some((session, folder)) = self.deepest_session(cwd.ancestors(), active).await? {
            return Ok(Some((session, folder.to_owned())));
        }
        // A git checkout this device has not mapped yet: identified once,
        // it finds the sessions of its project from other devices.
        let Some(top) = cwd.ancestors().find(|a| a.join(".git").exists()) else {
            return Ok(None);
        };
        let Some(top_str) = top.to_str() else {
            return Ok(None);
        };
        if self.db.workspaces().of_folder(top_str).await?.is_some() {
            return Ok(None);
        }
        self.identify(top).await?;
        let session = self.deepest_session(std::iter::once(top), active).await?;
        Ok(session.map(|(s, folder)| (s, folder.to_owned())))
    }

    /// The most recently updated session that `keep` accepts, of the first
    /// of `folders` (innermost first) that is the workspace of one, and
    /// that folder: each folder is one lookup in the by-workspace index.
    pub(crate) async fn deepest_session<'p>(
        &self,
        folders: impl Iterator<Item = &'p Path>,
        keep: impl Fn(&WorkspaceSession) -> bool,
    ) -> Result<Option<(WorkspaceSession, &'p Path)>> {
        let (tenant, _) = self.owner();
        // The device's map says which folders are checkouts of which
        // workspace: a folder is looked up by its identity (sessions of
        // every device and path) and by itself (sessions started here).
        let map = self.db.workspaces().list().await?;
        for dir in folders {
            let Some(folder) = dir.to_str() else {
                continue;
            };
            let mut keys = vec![folder.to_owned()];
            keys.extend(
                map.iter()
                    .filter(|w| w.folders.iter().any(|f| f == folder))
                    .map(|w| w.id.clone()),
            );
            // Of a project's sessions, those on the branch checked out
            // here come first (a worktree's session is not a clone's).
            let branch = if keys.len() > 1 {
                stint_watch::git_head(Path::new(folder)).and_then(|(branch, _)| branch)
            } else {
                None
            };
            let rank = |s: &WorkspaceSession| {
                let same_branch = branch.is_some()
                    && s.git.as_ref().and_then(|g| g.branch.as_ref()) == branch.as_ref();
                (same_branch, s.updated_at)
            };
            let mut newest: Option<WorkspaceSession> = None;
            for key in &keys {
                let found = self
                    .db
                    .sessions()
                    .by_workspace(tenant, key, 0)
                    .await?
                    .into_iter()
                    .filter(&keep)
                    .max_by_key(rank);
                if let Some(s) = found
                    && newest.as_ref().is_none_or(|n| rank(n) < rank(&s))
                {
                    newest = Some(s);
                }
            }
            if let Some(newest) = newest {
                return Ok(Some((newest, dir)));
            }
        }
        Ok(None)
    }

    /// The open conflicts of the signed-in tenant: values that lost to
    /// another device's edit of the same field.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>> {
        let credentials = self.credentials()?;
        Ok(self.db.conflicts().list(credentials.tenant.id).await?)
    }

    /// Settles a conflict: with `take_mine`, its values replace the
    /// record's (a lost delete: the record is deleted after all); either
    /// way it closes, on every device after the next sync.
    pub async fn resolve_conflict(&self, id: &str, take_mine: bool) -> Result<Conflict> {
        let tenant = self.credentials()?.tenant.id;
        let conflict = one_by_prefix(
            self.conflicts().await?,
            |c| c.id.to_string(),
            id,
            "conflict",
        )?;
        let ctx = self.ctx();
        if take_mine && conflict.deleted {
            self.db.conflicts().take_deletion(&conflict, &ctx).await?;
            return Ok(conflict);
        }
        if take_mine {
            if conflict.kind != stint_model::RecordKind::WorkspaceSession {
                return Err(ClientError::Rejected(format!(
                    "this device resolves conflicts of sessions; this one is of a {}",
                    conflict.kind
                )));
            }
            let session = self
                .db
                .sessions()
                .get(tenant, SessionId::from_uuid(conflict.record_id))
                .await?;
            let mut json = serde_json::to_value(&session).expect("a session serializes");
            if let Some(object) = json.as_object_mut() {
                object.extend(conflict.fields.clone());
            }
            let mut session: WorkspaceSession = serde_json::from_value(json).map_err(|e| {
                ClientError::Rejected(format!("the conflict's values do not fit: {e}"))
            })?;
            session.updated_at = ctx.at;
            session.validate()?;
            self.db.sessions().update(&session, &ctx).await?;
        }
        self.db
            .conflicts()
            .delete(tenant, conflict.id, &ctx)
            .await?;
        Ok(conflict)
    }

    /// Sessions forked from `id`.
    pub async fn children(&self, id: &str) -> Result<Vec<WorkspaceSession>> {
        let parent = self.find_session(id).await?;
        Ok(self
            .db
            .sessions()
            .children(parent.tenant_id, parent.id)
            .await?)
    }

    /// Sessions related to `id`, with the reasons.
    pub async fn related(&self, id: &str, limit: usize) -> Result<Vec<RelatedSession>> {
        let session = self.find_session(id).await?;
        let related = self
            .db
            .sessions()
            .related_to(session.tenant_id, session.id, limit)
            .await?;
        Ok(related.into_iter().map(RelatedSession::from).collect())
    }
}

/// The one item whose id is `id` or starts with it (at least 4
/// characters), as with git commits; `what` names the items in errors.
pub(crate) fn one_by_prefix<T>(
    items: Vec<T>,
    id_of: impl Fn(&T) -> String,
    id: &str,
    what: &str,
) -> Result<T> {
    let wanted = id.trim().to_ascii_lowercase();
    if wanted.len() < 4 {
        return Err(ClientError::NotFound(format!(
            "no {what} `{id}`: give at least 4 characters of its id"
        )));
    }
    let mut matching = items
        .into_iter()
        .filter(|item| id_of(item).starts_with(&wanted));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(ClientError::NotFound(format!("no {what} `{id}`"))),
        (Some(_), Some(_)) => Err(ClientError::Ambiguous(format!(
            "`{id}` matches several {what}s: give more of the id"
        ))),
    }
}

/// Creates the data directory, or tightens an existing one, so that only
/// its owner can read it: it holds the login and the agent's socket.
/// The server refused this device id as another account's (someone else
/// signed in from this data directory before).
fn device_taken(e: &ClientError) -> bool {
    matches!(e, ClientError::Invalid(v) if v.field == "device_id")
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let fail =
        |e: std::io::Error| ClientError::Profile(format!("preparing {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(fail)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(fail)?;
        }
    }
    Ok(())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_size(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// Most history entries kept; older ones drop off.
const HISTORY_KEPT: usize = validate::MAX_HISTORY;

fn apply(session: &mut WorkspaceSession, change: Change) -> Result<()> {
    match change {
        Change::Name(name) => session.name = name,
        Change::AddTag(tag) => {
            validate::tag("tag", &tag)?;
            if !session.tags.contains(&tag) {
                session.tags.push(tag);
            }
        }
        Change::RemoveTag(tag) => session.tags.retain(|t| *t != tag),
        Change::Fact(text) => session.memory.facts.push(Note::new(scrub::scrub(&text))),
        Change::Decision(text, rationale) => {
            let mut note = Note::new(scrub::scrub(&text));
            note.rationale = rationale.map(|r| scrub::scrub(&r));
            session.memory.decisions.push(note);
        }
        Change::Editor(mut editor) => {
            // Which device captured it is this device's to say.
            editor.device = editor.editor.is_some().then(host_name).flatten();
            session.editor_state = editor;
        }
        Change::Cwd(cwd) => session.terminal_state.cwd = Some(cwd),
        Change::History(commands) => {
            let history = &mut session.terminal_state.command_history;
            history.extend(commands.iter().map(|c| scrub::scrub(c)));
            let excess = history.len().saturating_sub(HISTORY_KEPT);
            history.drain(..excess);
        }
        Change::ForgetCommand(at, shown) => {
            let history = &mut session.terminal_state.command_history;
            let Some(there) = history.get(at) else {
                return Err(ValidationError::new(
                    "command",
                    format!(
                        "there is no command {} (the session has {})",
                        at + 1,
                        history.len()
                    ),
                )
                .into());
            };
            if shown.as_ref().is_some_and(|shown| shown != there) {
                return Err(ValidationError::new(
                    "command",
                    format!(
                        "command {} is no longer the one shown: list them again",
                        at + 1
                    ),
                )
                .into());
            }
            history.remove(at);
        }
        Change::Env(vars) => {
            let env = &mut session.terminal_state.environment_vars;
            env.extend(vars);
            *env = scrub::scrub_env(env);
        }
        Change::Breakpoints(bps) => session.breakpoints = bps,
        Change::Watches(watches) => session.watch_expressions = watches,
        Change::Status(status) => session.status = status,
    }
    Ok(())
}

/// This machine's host name, for "captured in Neovim on ada-laptop": read
/// once, not on every editor update.
fn host_name() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.chars().take(100).collect())
    })
    .clone()
}
