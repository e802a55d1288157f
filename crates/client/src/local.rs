//! One owner of the replica per device.
//!
//! sled lets one process open a database, so one process owns the replica:
//! `stint agent` or the desktop app (see `owner.rs`). It serves the facade's
//! operations on a Unix socket in the data directory (`agent.sock`, mode
//! 0600), one JSON request and one JSON reply per line. Every other process
//! uses [`connect`]: through the agent when one answers, else by opening
//! the replica itself (waiting a moment if another process holds it).
//!
//! Both paths run the same [`handle`], so a command behaves the same with
//! and without the agent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stint_model::api::{RegisterRequest, RelatedSession, TenantWithRole};
use stint_model::{Conflict, File, Timestamp, ValidationError, WorkspaceSession};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::Mutex;

use crate::account::Account;
use crate::device::{Change, Device, NewSession, SessionFilter, Status};
use crate::error::{ClientError, Result};
use crate::resume::Resume;
use crate::sync::SyncReport;
use crate::watch::{FileMatch, FileQuery, WatchStatus};
use crate::workspace::{Preflight, WorkspaceView};

const SOCKET: &str = "agent.sock";

/// How long a process waits for another that holds the replica.
const WAIT_FOR_REPLICA: Duration = Duration::from_secs(10);

/// An operation of the facade.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    Ping,
    /// Sent by the shell hook: take what it spooled (every request does).
    DrainHook,
    StartSession {
        session: NewSession,
    },
    ListSessions {
        filter: SessionFilter,
    },
    FindSession {
        id: String,
    },
    UpdateSession {
        id: String,
        changes: Vec<Change>,
    },
    ForkSession {
        id: String,
        name: String,
    },
    DeleteSession {
        id: String,
    },
    ResumeSession {
        id: String,
    },
    RecentSessions {
        limit: usize,
    },
    Children {
        id: String,
    },
    Related {
        id: String,
        limit: usize,
    },
    Status,
    Whoami,
    Login {
        server: String,
        email: String,
        password: String,
    },
    Register {
        server: String,
        request: RegisterRequest,
    },
    Logout,
    Tenants,
    SwitchTenant {
        id: String,
    },
    Sync,
    Conflicts,
    ResolveConflict {
        id: String,
        take_mine: bool,
    },
    WatchWorkspace {
        id: String,
    },
    UnwatchWorkspace {
        id: String,
    },
    WatchStatuses,
    Files {
        id: String,
        changed_since: Option<Timestamp>,
    },
    WhichSessions {
        query: FileQuery,
    },
    Preflight {
        id: String,
    },
    Workspaces,
    LinkWorkspace {
        id: String,
        path: PathBuf,
    },
    ForgetWorkspace {
        id: String,
        path: Option<PathBuf>,
    },
}

impl Request {
    /// Whether it may change the replica (the agent then syncs soon).
    pub(crate) fn writes(&self) -> bool {
        !matches!(
            self,
            Self::Ping
                | Self::ListSessions { .. }
                | Self::FindSession { .. }
                | Self::RecentSessions { .. }
                | Self::Children { .. }
                | Self::Related { .. }
                | Self::Status
                | Self::Whoami
                | Self::Tenants
                | Self::Conflicts
                | Self::Sync
                | Self::WatchStatuses
                | Self::Files { .. }
                | Self::WhichSessions { .. }
                | Self::Preflight { .. }
        )
    }
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reply {
    Done(bool),
    Session(Box<WorkspaceSession>),
    Sessions(Vec<WorkspaceSession>),
    Resume(Box<Resume>),
    Related(Vec<RelatedSession>),
    Status(Box<Status>),
    Account(Option<Box<Account>>),
    Tenants(Vec<TenantWithRole>),
    Synced(SyncReport),
    Conflicts(Vec<Conflict>),
    Conflict(Box<Conflict>),
    Watch(Box<WatchStatus>),
    Watches(Vec<WatchStatus>),
    Files(Vec<File>),
    FileMatches(Vec<FileMatch>),
    Preflight(Box<Preflight>),
    Workspaces(Vec<WorkspaceView>),
    Workspace(Box<WorkspaceView>),
    Error {
        kind: String,
        message: String,
        field: Option<String>,
    },
}

impl From<ClientError> for Reply {
    fn from(e: ClientError) -> Self {
        let field = match &e {
            ClientError::Invalid(v) => Some(v.field.clone()),
            _ => None,
        };
        Self::Error {
            kind: e.code().to_owned(),
            message: e.message(),
            field,
        }
    }
}

fn error_of(kind: &str, message: String, field: Option<String>) -> ClientError {
    match kind {
        "not_found" => ClientError::NotFound(message),
        "ambiguous" => ClientError::Ambiguous(message),
        "invalid" => ClientError::Invalid(ValidationError::new(field.unwrap_or_default(), message)),
        "profile" => ClientError::Profile(message),
        "not_signed_in" => ClientError::NotSignedIn(message),
        "unreachable" => ClientError::Unreachable(message),
        _ => ClientError::Rejected(message),
    }
}

/// Runs one operation on the device, after recording what the shell hook
/// spooled, so that every answer includes the commands run so far.
pub(crate) async fn handle(device: &Device, request: Request) -> Reply {
    if let Err(e) = device.drain_hook().await {
        tracing::warn!("the shell hook's commands wait for the next try: {e}");
    }
    let reply = async {
        Ok::<_, ClientError>(match request {
            Request::Ping | Request::DrainHook => Reply::Done(true),
            Request::StartSession { session } => {
                Reply::Session(Box::new(device.start_session(session).await?))
            }
            Request::ListSessions { filter } => {
                Reply::Sessions(device.list_sessions(&filter).await?)
            }
            Request::FindSession { id } => {
                Reply::Session(Box::new(device.find_session(&id).await?))
            }
            Request::UpdateSession { id, changes } => {
                Reply::Session(Box::new(device.update_session(&id, changes).await?))
            }
            Request::ForkSession { id, name } => {
                Reply::Session(Box::new(device.fork_session(&id, &name).await?))
            }
            Request::DeleteSession { id } => {
                Reply::Session(Box::new(device.delete_session(&id).await?))
            }
            Request::ResumeSession { id } => {
                Reply::Resume(Box::new(device.resume_session(&id).await?))
            }
            Request::RecentSessions { limit } => {
                Reply::Sessions(device.recent_sessions(limit).await?)
            }
            Request::Children { id } => Reply::Sessions(device.children(&id).await?),
            Request::Related { id, limit } => Reply::Related(device.related(&id, limit).await?),
            Request::Status => Reply::Status(Box::new(device.status().await?)),
            Request::Whoami => Reply::Account(device.whoami().map(Box::new)),
            Request::Login {
                server,
                email,
                password,
            } => Reply::Account(Some(Box::new(
                device.login(&server, &email, &password).await?,
            ))),
            Request::Register { server, request } => {
                Reply::Account(Some(Box::new(device.register(&server, &request).await?)))
            }
            Request::Logout => Reply::Done(device.logout().await?),
            Request::Tenants => Reply::Tenants(device.tenants().await?),
            Request::SwitchTenant { id } => {
                Reply::Account(Some(Box::new(device.switch_tenant(&id).await?)))
            }
            Request::Sync => Reply::Synced(device.sync().await?),
            Request::Conflicts => Reply::Conflicts(device.conflicts().await?),
            Request::ResolveConflict { id, take_mine } => {
                Reply::Conflict(Box::new(device.resolve_conflict(&id, take_mine).await?))
            }
            Request::WatchWorkspace { id } => {
                Reply::Watch(Box::new(device.watch_workspace(&id).await?))
            }
            Request::UnwatchWorkspace { id } => Reply::Done(device.unwatch_workspace(&id).await?),
            Request::WatchStatuses => Reply::Watches(device.watch_statuses()),
            Request::Files { id, changed_since } => {
                Reply::Files(device.files(&id, changed_since).await?)
            }
            Request::WhichSessions { query } => {
                Reply::FileMatches(device.which_sessions(&query).await?)
            }
            Request::Preflight { id } => Reply::Preflight(Box::new(device.preflight(&id).await?)),
            Request::Workspaces => Reply::Workspaces(device.workspaces().await?),
            Request::LinkWorkspace { id, path } => {
                Reply::Workspace(Box::new(device.link_workspace(&id, &path).await?))
            }
            Request::ForgetWorkspace { id, path } => Reply::Workspace(Box::new(
                device.forget_workspace(&id, path.as_deref()).await?,
            )),
        })
    }
    .await;
    reply.unwrap_or_else(Reply::from)
}

/// A way to the device's replica: through the agent, or opened here.
#[derive(Debug)]
pub enum Client {
    /// This process owns the replica.
    Direct(Box<Device>),
    /// The agent owns it; requests go over its socket.
    Agent(Mutex<BufReader<UnixStream>>),
}

pub(crate) fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

async fn agent_at(dir: &Path) -> Option<UnixStream> {
    UnixStream::connect(socket_path(dir)).await.ok()
}

/// Reaches the device in `dir`: through a running agent, else directly,
/// waiting up to 10 s while another process holds the replica.
pub async fn connect(dir: &Path) -> Result<Client> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_REPLICA;
    loop {
        if let Some(stream) = agent_at(dir).await {
            let client = Client::Agent(Mutex::new(BufReader::new(stream)));
            if matches!(client.call(Request::Ping).await, Ok(Reply::Done(true))) {
                return Ok(client);
            }
        }
        match Device::open(dir) {
            Ok(device) => return Ok(Client::Direct(Box::new(device))),
            // A bad setting does not clear by waiting; a replica another
            // process holds may.
            Err(e @ ClientError::Invalid(_)) => return Err(e),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

impl Client {
    /// Whether requests go through the agent.
    #[must_use]
    pub fn via_agent(&self) -> bool {
        matches!(self, Self::Agent(_))
    }

    async fn call(&self, request: Request) -> Result<Reply> {
        let reply = match self {
            Self::Direct(device) => handle(device, request).await,
            Self::Agent(stream) => {
                let lost =
                    |e: std::io::Error| ClientError::Profile(format!("the agent went away: {e}"));
                let mut stream = stream.lock().await;
                let mut line = serde_json::to_vec(&request).expect("a request serializes");
                line.push(b'\n');
                stream.get_mut().write_all(&line).await.map_err(lost)?;
                let mut answer = String::new();
                if stream.read_line(&mut answer).await.map_err(lost)? == 0 {
                    return Err(ClientError::Profile(
                        "the agent closed the connection".into(),
                    ));
                }
                serde_json::from_str(&answer).map_err(|e| {
                    ClientError::Profile(format!("the agent answered nonsense: {e}"))
                })?
            }
        };
        match reply {
            Reply::Error {
                kind,
                message,
                field,
            } => Err(error_of(&kind, message, field)),
            reply => Ok(reply),
        }
    }
}

fn unexpected(reply: &Reply) -> ClientError {
    ClientError::Profile(format!(
        "unexpected answer from the replica's owner: {reply:?}"
    ))
}

macro_rules! operation {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty, $request:expr, $reply:pat => $value:expr) => {
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$out> {
            match self.call($request).await? {
                $reply => Ok($value),
                other => Err(unexpected(&other)),
            }
        }
    };
}

impl Client {
    operation!(
        /// See [`Device::start_session`].
        start_session(session: NewSession) -> WorkspaceSession,
        Request::StartSession { session }, Reply::Session(s) => *s);
    operation!(
        /// See [`Device::list_sessions`].
        list_sessions(filter: SessionFilter) -> Vec<WorkspaceSession>,
        Request::ListSessions { filter }, Reply::Sessions(v) => v);
    operation!(
        /// See [`Device::find_session`].
        find_session(id: &str) -> WorkspaceSession,
        Request::FindSession { id: id.to_owned() }, Reply::Session(s) => *s);
    operation!(
        /// See [`Device::update_session`].
        update_session(id: &str, changes: Vec<Change>) -> WorkspaceSession,
        Request::UpdateSession { id: id.to_owned(), changes }, Reply::Session(s) => *s);
    operation!(
        /// See [`Device::fork_session`].
        fork_session(id: &str, name: &str) -> WorkspaceSession,
        Request::ForkSession { id: id.to_owned(), name: name.to_owned() }, Reply::Session(s) => *s);
    operation!(
        /// See [`Device::delete_session`].
        delete_session(id: &str) -> WorkspaceSession,
        Request::DeleteSession { id: id.to_owned() }, Reply::Session(s) => *s);
    operation!(
        /// See [`Device::resume_session`].
        resume_session(id: &str) -> Resume,
        Request::ResumeSession { id: id.to_owned() }, Reply::Resume(r) => *r);
    operation!(
        /// See [`Device::recent_sessions`].
        recent_sessions(limit: usize) -> Vec<WorkspaceSession>,
        Request::RecentSessions { limit }, Reply::Sessions(v) => v);
    operation!(
        /// See [`Device::children`].
        children(id: &str) -> Vec<WorkspaceSession>,
        Request::Children { id: id.to_owned() }, Reply::Sessions(v) => v);
    operation!(
        /// See [`Device::related`].
        related(id: &str, limit: usize) -> Vec<RelatedSession>,
        Request::Related { id: id.to_owned(), limit }, Reply::Related(v) => v);
    operation!(
        /// See [`Device::status`].
        status() -> Status,
        Request::Status, Reply::Status(s) => *s);
    operation!(
        /// See [`Device::whoami`].
        whoami() -> Option<Account>,
        Request::Whoami, Reply::Account(a) => a.map(|a| *a));
    operation!(
        /// See [`Device::login`].
        login(server: &str, email: &str, password: &str) -> Option<Account>,
        Request::Login { server: server.to_owned(), email: email.to_owned(), password: password.to_owned() },
        Reply::Account(a) => a.map(|a| *a));
    operation!(
        /// See [`Device::register`].
        register(server: &str, request: RegisterRequest) -> Option<Account>,
        Request::Register { server: server.to_owned(), request }, Reply::Account(a) => a.map(|a| *a));
    operation!(
        /// See [`Device::logout`].
        logout() -> bool,
        Request::Logout, Reply::Done(d) => d);
    operation!(
        /// See [`Device::tenants`].
        tenants() -> Vec<TenantWithRole>,
        Request::Tenants, Reply::Tenants(v) => v);
    operation!(
        /// See [`Device::switch_tenant`].
        switch_tenant(id: &str) -> Account,
        Request::SwitchTenant { id: id.to_owned() }, Reply::Account(Some(a)) => *a);
    operation!(
        /// See [`Device::sync`].
        sync() -> SyncReport,
        Request::Sync, Reply::Synced(r) => r);
    operation!(
        /// See [`Device::conflicts`].
        conflicts() -> Vec<Conflict>,
        Request::Conflicts, Reply::Conflicts(v) => v);
    operation!(
        /// See [`Device::resolve_conflict`].
        resolve_conflict(id: &str, take_mine: bool) -> Conflict,
        Request::ResolveConflict { id: id.to_owned(), take_mine }, Reply::Conflict(c) => *c);
    operation!(
        /// See [`Device::watch_workspace`].
        watch_workspace(id: &str) -> WatchStatus,
        Request::WatchWorkspace { id: id.to_owned() }, Reply::Watch(w) => *w);
    operation!(
        /// See [`Device::unwatch_workspace`].
        unwatch_workspace(id: &str) -> bool,
        Request::UnwatchWorkspace { id: id.to_owned() }, Reply::Done(d) => d);
    operation!(
        /// See [`Device::watch_statuses`].
        watch_statuses() -> Vec<WatchStatus>,
        Request::WatchStatuses, Reply::Watches(v) => v);
    operation!(
        /// See [`Device::files`].
        files(id: &str, changed_since: Option<Timestamp>) -> Vec<File>,
        Request::Files { id: id.to_owned(), changed_since }, Reply::Files(v) => v);
    operation!(
        /// See [`Device::which_sessions`].
        which_sessions(query: FileQuery) -> Vec<FileMatch>,
        Request::WhichSessions { query }, Reply::FileMatches(v) => v);
    operation!(
        /// See [`Device::preflight`].
        preflight(id: &str) -> Preflight,
        Request::Preflight { id: id.to_owned() }, Reply::Preflight(p) => *p);
    operation!(
        /// See [`Device::workspaces`].
        workspaces() -> Vec<WorkspaceView>,
        Request::Workspaces, Reply::Workspaces(v) => v);
    operation!(
        /// See [`Device::link_workspace`].
        link_workspace(id: &str, path: &Path) -> WorkspaceView,
        Request::LinkWorkspace { id: id.to_owned(), path: path.to_owned() }, Reply::Workspace(w) => *w);
    operation!(
        /// See [`Device::forget_workspace`].
        forget_workspace(id: &str, path: Option<&Path>) -> WorkspaceView,
        Request::ForgetWorkspace { id: id.to_owned(), path: path.map(Path::to_owned) }, Reply::Workspace(w) => *w);

    /// Stops the watches this process runs (none when the agent runs
    /// them), writing what they reported first.
    pub async fn stop_watches(&self) {
        if let Self::Direct(device) = self {
            device.stop_watches().await;
        }
    }
}

/// Tells the agent of `dir`, if one runs, that the shell hook spooled
/// something. Does not wait for an answer: the hook must return at once.
pub(crate) fn nudge(dir: &Path) {
    if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket_path(dir)) {
        let _ = std::io::Write::write_all(&mut stream, b"{\"op\":\"drain_hook\"}\n");
    }
}
