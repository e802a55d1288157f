//! The device's local protocol: what an editor, the CLI, `stint rpc` and
//! the desktop app say to the replica's owner.
//!
//! ## Wire
//!
//! JSON-RPC 2.0, one message per line (UTF-8, at most [`MAX_LINE`] bytes),
//! on the owner's socket (`agent.sock` in the data directory, mode 0600)
//! or on `stint rpc`'s stdin and stdout:
//!
//! ```text
//! → {"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1,"client":"stint-nvim 0.1"}}
//! ← {"jsonrpc":"2.0","id":1,"result":{"protocol":1,"server":"stint 0.1.0","operations":[…]}}
//! → {"jsonrpc":"2.0","id":2,"method":"find_session","params":{"id":"01a2"}}
//! ← {"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"no session matches 01a2","data":{"kind":"not_found","field":null}}}
//! ```
//!
//! A request without an `id` is a notification: it runs, nothing answers.
//! The owner sends notifications too, unasked, to a connection that said
//! `listen` (an editor window): a [`Notice`], such as "resume this
//! session here" (see `windows.rs`).
//! `hello` names the version a client speaks; an owner that does not speak
//! it says which it does, and an operation it does not know is answered
//! with the list of those it knows, so that a newer plugin and an older
//! owner (or the reverse) say what is missing instead of failing
//! obscurely. Params are an object, by name, checked strictly: an unknown
//! field anywhere in them is refused. Batches are not served. A line over
//! [`MAX_LINE`] is refused and skipped; the next is read as usual.
//!
//! ## Declared once
//!
//! Each operation is written once, in [`operations!`] below: its name, its
//! params, its result, whether it writes, and the [`Device`] call that
//! serves it. From that come the params types (`params::…`), the
//! dispatch ([`serve_line`], used by the owner's socket, by a process that
//! opened the replica itself, and by `stint rpc`), the typed
//! [`Client`](crate::Client) methods the CLI and the desktop app call, and
//! the list `hello` answers with ([`operations`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stint_model::api::{ConversationWithMessages, RegisterRequest, RelatedSession, TenantWithRole};
use stint_model::{
    Conflict, File, Setting, SettingCategory, Timestamp, ValidationError, WorkspaceSession,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use crate::account::Account;
use crate::device::{Change, Device, FolderSession, NewSession, SessionFilter, Status};
use crate::error::ClientError;
use crate::resume::{OpenCommand, Resume};
use crate::sync::SyncReport;
use crate::watch::{FileMatch, FileQuery, WatchStatus};
use crate::windows::{Peer, ResumedIn};
use crate::workspace::{Preflight, WorkspaceView};

mod typescript;
pub use typescript::TYPESCRIPT_FILE;

/// The version of the protocol this build speaks. Raised when an
/// operation changes incompatibly; adding one does not raise it (`hello`
/// lists what is there).
pub const PROTOCOL: u32 = 1;

/// The longest message taken, in bytes: a session's editor state with
/// thousands of tabs fits many times over.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// JSON-RPC's error codes, and this protocol's own.
pub mod code {
    /// Not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON, but not a JSON-RPC 2.0 request (or over [`super::MAX_LINE`]).
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such operation here.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params do not fit the operation (a missing or unknown field,
    /// a wrong type).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The operation ran and failed; `data.kind` says how.
    pub const FAILED: i64 = -32000;
    /// `hello` named a protocol version this owner does not speak.
    pub const UNSUPPORTED_PROTOCOL: i64 = -32001;
}

/// One operation, as `hello` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Operation {
    /// Its method name.
    pub name: String,
    /// Whether it may change the replica.
    pub writes: bool,
}

/// `hello`'s params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct HelloParams {
    /// The protocol version the client speaks.
    pub protocol: u32,
    /// The client, for the owner's log: `stint-vscode 0.1.0`.
    #[serde(default)]
    pub client: Option<String>,
}

/// `hello`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Hello {
    /// The version the owner speaks.
    pub protocol: u32,
    /// The owner's build: `stint 0.1.0`.
    pub server: String,
    /// Every operation it serves.
    pub operations: Vec<Operation>,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RpcError {
    /// One of [`code`].
    pub code: i64,
    /// For a person.
    pub message: String,
    /// `{kind, field}` for a failed operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn invalid_params(method: &str, e: &serde_json::Error) -> Self {
        Self::new(
            code::INVALID_PARAMS,
            format!("bad params for {method}: {e}"),
        )
    }
}

impl From<ClientError> for RpcError {
    fn from(e: ClientError) -> Self {
        Self {
            code: code::FAILED,
            message: e.message(),
            data: Some(serde_json::json!({ "kind": e.code(), "field": e.field() })),
        }
    }
}

impl From<RpcError> for ClientError {
    /// How a client reports an error the owner answered.
    fn from(e: RpcError) -> Self {
        let data = e.data.unwrap_or(Value::Null);
        let kind = data["kind"].as_str().unwrap_or_default();
        let field = data["field"].as_str().map(str::to_owned);
        match (e.code, kind) {
            (code::FAILED, "not_found") => Self::NotFound(e.message),
            (code::FAILED, "ambiguous") => Self::Ambiguous(e.message),
            (code::FAILED, "invalid") => {
                Self::Invalid(ValidationError::new(field.unwrap_or_default(), e.message))
            }
            (code::FAILED, "profile") => Self::Profile(e.message),
            (code::FAILED, "not_signed_in") => Self::NotSignedIn(e.message),
            (code::FAILED, "unreachable") => Self::Unreachable(e.message),
            (code::FAILED, "too_large") => Self::TooLarge(e.message),
            (code::FAILED, "unsupported") | (code::METHOD_NOT_FOUND, _) => {
                Self::Unsupported(e.message)
            }
            (code::FAILED, _) => Self::Rejected(e.message),
            (code::INVALID_PARAMS, _) => Self::Invalid(ValidationError::new("params", e.message)),
            _ => Self::Profile(format!("the replica's owner refused: {}", e.message)),
        }
    }
}

/// What the owner sends unasked to a connection that listens (an editor
/// window): a JSON-RPC notification, `{"jsonrpc":"2.0","method":…,"params":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "method", content = "params", rename_all = "snake_case")]
pub enum Notice {
    /// Resume this session in this window (asked by
    /// `stint session resume ID --open` or the desktop app's Resume).
    Resume {
        /// The session's id.
        id: String,
        /// Its name, to show.
        name: String,
    },
}

impl Notice {
    /// The line to send (no newline).
    pub(crate) fn to_line(&self) -> String {
        let mut message = serde_json::to_value(self).expect("a notice serializes");
        message["jsonrpc"] = "2.0".into();
        message.to_string()
    }
}

/// An answer as it leaves.
#[derive(Debug, Serialize)]
pub(crate) struct Outgoing {
    pub(crate) jsonrpc: String,
    pub(crate) id: Value,
    /// `Value::Null` is a result (`whoami` signed out): it is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<RpcError>,
}

impl Outgoing {
    fn answer(id: Value, answer: Result<Value, RpcError>) -> Self {
        let (result, error) = match answer {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            jsonrpc: "2.0".into(),
            id,
            result,
            error,
        }
    }

    /// The line to send (no newline).
    pub(crate) fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an answer serializes")
    }
}

/// One message off a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A line, without its newline.
    Line(String),
    /// A line over the cap: skipped up to its newline.
    TooLong,
    /// A line not in UTF-8.
    NotUtf8,
}

impl Frame {
    /// The answer to a frame that is no message, for the peer that sent
    /// it; `None` for a line.
    #[must_use]
    pub fn refusal(&self) -> Option<String> {
        let (code, message) = match self {
            Self::Line(_) => return None,
            Self::TooLong => (
                code::INVALID_REQUEST,
                format!("a message over {MAX_LINE} bytes is refused"),
            ),
            Self::NotUtf8 => (code::PARSE_ERROR, "a message must be UTF-8".to_owned()),
        };
        Some(Outgoing::answer(Value::Null, Err(RpcError::new(code, message))).to_line())
    }
}

/// Reads the next message: at most `cap` bytes when given (a longer one is
/// skipped to its newline, so that the next message is read whole);
/// `None` at the end of the stream.
///
/// # Errors
/// A read error.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    cap: Option<usize>,
) -> std::io::Result<Option<Frame>> {
    let mut line = Vec::new();
    let read = match cap {
        Some(cap) => {
            let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
            (&mut *reader)
                .take(limit)
                .read_until(b'\n', &mut line)
                .await?
        }
        None => reader.read_until(b'\n', &mut line).await?,
    };
    if read == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if cap.is_some_and(|cap| line.len() > cap) {
        // The rest of it, skipped a bounded buffer at a time.
        loop {
            let mut rest = Vec::new();
            let n = (&mut *reader)
                .take(64 * 1024)
                .read_until(b'\n', &mut rest)
                .await?;
            if n == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Frame::TooLong));
    }
    Ok(Some(match String::from_utf8(line) {
        Ok(line) => Frame::Line(line),
        Err(_) => Frame::NotUtf8,
    }))
}

/// What serving one line did.
#[derive(Debug)]
pub(crate) struct Served {
    /// The answer's line, unless the line was a notification.
    pub(crate) reply: Option<String>,
    /// Whether it ran an operation that may have changed the replica, and
    /// succeeded (the owner then syncs soon).
    pub(crate) wrote: bool,
}

/// A request, checked: JSON-RPC 2.0, one object (batches are not served),
/// params by name.
struct Request {
    /// Present (even `null`): the request is answered.
    id: Option<Value>,
    method: String,
    params: Value,
}

/// Reads a line as a request, or says why it is none, with the id to
/// answer with.
fn parse(line: &str) -> Result<Request, (Value, RpcError)> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        let error = RpcError::new(code::PARSE_ERROR, format!("not JSON: {e}"));
        (Value::Null, error)
    })?;
    let mut map = match value {
        Value::Object(map) => map,
        Value::Array(_) => {
            let said = "batches are not served: send one request per line";
            return Err((Value::Null, RpcError::new(code::INVALID_REQUEST, said)));
        }
        _ => {
            let said = "a request is a JSON object";
            return Err((Value::Null, RpcError::new(code::INVALID_REQUEST, said)));
        }
    };
    let id = map.remove("id");
    if !matches!(
        id,
        None | Some(Value::Null | Value::Number(_) | Value::String(_))
    ) {
        let said = "an id is a number, a string or null";
        return Err((Value::Null, RpcError::new(code::INVALID_REQUEST, said)));
    }
    let answer_to = id.clone().unwrap_or(Value::Null);
    let shape = "a request is {\"jsonrpc\":\"2.0\",\"id\":…,\"method\":…,\"params\":{…}}";
    if map.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((answer_to, RpcError::new(code::INVALID_REQUEST, shape)));
    }
    let Some(Value::String(method)) = map.remove("method") else {
        return Err((answer_to, RpcError::new(code::INVALID_REQUEST, shape)));
    };
    let params = match map.remove("params") {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(Value::Object(params)) => Value::Object(params),
        Some(_) => {
            let said = "params are an object, by name";
            return Err((answer_to, RpcError::new(code::INVALID_PARAMS, said)));
        }
    };
    Ok(Request { id, method, params })
}

/// Whether `line` is a notification (a valid request without an id):
/// nothing answers it. Judged as [`serve_line`] judges it.
pub(crate) fn is_notification(line: &str) -> bool {
    parse(line).is_ok_and(|r| r.id.is_none())
}

/// Serves one line of the protocol on `device`, from `peer` when it came
/// on a connection the owner can write to unasked: after recording what
/// the shell hook spooled, so that every answer includes the commands run
/// so far. Everything but a valid notification is answered.
pub(crate) async fn serve_line(device: &Device, peer: Option<&Peer>, line: &str) -> Served {
    let request = match parse(line) {
        Ok(request) => request,
        Err((id, error)) => {
            return Served {
                reply: Some(Outgoing::answer(id, Err(error)).to_line()),
                wrote: false,
            };
        }
    };
    let wrote = writes(&request.method);
    let answer = serve_from(device, peer, &request.method, request.params).await;
    Served {
        wrote: wrote && answer.is_ok(),
        reply: request.id.map(|id| Outgoing::answer(id, answer).to_line()),
    }
}

/// Serves one call on `device`, for a process that holds the device
/// itself and takes calls other than by lines (the desktop app's `rpc`
/// command): the dispatch the socket uses, after recording what the shell
/// hook spooled.
///
/// # Errors
/// As JSON-RPC's error object: an unknown method, bad params, or the
/// operation's own failure (`data.kind`, `data.field`).
pub async fn serve_call(device: &Device, method: &str, params: Value) -> Result<Value, RpcError> {
    serve_from(device, None, method, params).await
}

async fn serve_from(
    device: &Device,
    peer: Option<&Peer>,
    method: &str,
    params: Value,
) -> Result<Value, RpcError> {
    if let Err(e) = device.drain_hook().await {
        tracing::warn!("the shell hook's commands wait for the next try: {e}");
    }
    dispatch(device, peer, method, params).await
}

/// Whether `method` is an operation that may change the replica.
#[must_use]
pub fn writes(method: &str) -> bool {
    OPERATIONS_TABLE
        .iter()
        .any(|(name, writes)| *name == method && *writes)
}

fn hello(params: Value) -> Result<Value, RpcError> {
    let hello: HelloParams = strict("hello", params)?;
    if hello.protocol != PROTOCOL {
        return Err(RpcError {
            code: code::UNSUPPORTED_PROTOCOL,
            message: format!(
                "this owner (stint {}) speaks protocol {PROTOCOL}, not {}: {}",
                env!("CARGO_PKG_VERSION"),
                hello.protocol,
                if hello.protocol > PROTOCOL {
                    "update stint, then restart `stint agent` or the desktop app"
                } else {
                    "update the editor's plugin"
                }
            ),
            data: Some(serde_json::json!({ "protocol": PROTOCOL })),
        });
    }
    if let Some(client) = &hello.client {
        tracing::debug!("hello from {client}");
    }
    Ok(serde_json::to_value(Hello {
        protocol: PROTOCOL,
        server: format!("stint {}", env!("CARGO_PKG_VERSION")),
        operations: operations(),
    })
    .expect("hello serializes"))
}

/// `params` as a `T`, every field known: an unknown one anywhere (a
/// misspelt `cusor` in a tab) is refused, not dropped.
fn strict<T: serde::de::DeserializeOwned>(method: &str, params: Value) -> Result<T, RpcError> {
    let mut unknown = Vec::new();
    let parsed: T = serde_ignored::deserialize(params, |path| unknown.push(path.to_string()))
        .map_err(|e| RpcError::invalid_params(method, &e))?;
    if unknown.is_empty() {
        return Ok(parsed);
    }
    Err(RpcError::new(
        code::INVALID_PARAMS,
        format!(
            "bad params for {method}: unknown field `{}`",
            unknown.join("`, `")
        ),
    ))
}

/// Declares every operation once; see the module's doc. Each line:
/// `read|write name(param: Type, …) -> Result => |device| call;`, the call
/// an expression (with `.await?` where it is async) of the result's type,
/// in which the params are bound by name; `|device, peer|` binds the
/// connection too (`Option<&Peer>`: `None` when the call came otherwise).
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $kind:ident $name:ident ( $($arg:ident : $ty:ty),* ) -> $out:ty => |$device:ident $(, $peer:ident)?| $call:expr;
    )*) => {
        /// The params of each operation, named after it; unknown fields
        /// are refused.
        #[allow(non_camel_case_types)]
        pub mod params {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS)]
                pub struct $name {
                    $(
                        #[allow(missing_docs)]
                        pub $arg: $ty,
                    )*
                }
            )*
        }

        /// Each operation's name and whether it writes.
        const OPERATIONS_TABLE: &[(&str, bool)] = &[
            $((stringify!($name), operations!(@writes $kind)),)*
        ];

        /// Every operation, as `hello` lists it.
        #[must_use]
        pub fn operations() -> Vec<Operation> {
            OPERATIONS_TABLE
                .iter()
                .map(|(name, writes)| Operation { name: (*name).to_owned(), writes: *writes })
                .collect()
        }

        /// The TypeScript of the protocol: every type an operation's params
        /// or result reaches, and `Operations`, each method's params,
        /// result and whether it writes. `ui/` and the editors' plugins
        /// import the file it is written to ([`TYPESCRIPT_FILE`]); a test
        /// fails when that file is stale.
        #[must_use]
        pub fn typescript() -> String {
            let cfg = typescript::config();
            let mut types = typescript::Types::default();
            use ts_rs::TypeVisitor as _;
            types.visit::<Hello>();
            types.visit::<HelloParams>();
            types.visit::<RpcError>();
            types.visit::<Notice>();
            $(
                <params::$name as ts_rs::TS>::visit_dependencies(&mut types);
                types.visit::<$out>();
            )*
            let mut operations = String::new();
            $(
                typescript::operation(
                    &mut operations,
                    stringify!($name),
                    <params::$name as ts_rs::TS>::docs(),
                    &<params::$name as ts_rs::TS>::inline(&cfg),
                    &<$out as ts_rs::TS>::name(&cfg),
                    operations!(@writes $kind),
                );
            )*
            typescript::file(&types, &operations)
        }

        async fn dispatch(
            device: &Device,
            peer: Option<&Peer>,
            method: &str,
            params: Value,
        ) -> Result<Value, RpcError> {
            match method {
                "hello" => hello(params),
                $(
                    stringify!($name) => {
                        let params::$name { $($arg),* } = strict(stringify!($name), params)?;
                        let $device = device;
                        $(let $peer = peer;)?
                        let out: $out = async { Ok::<_, ClientError>($call) }.await?;
                        Ok(serde_json::to_value(out).expect("a result serializes"))
                    }
                )*
                other => Err(RpcError {
                    code: code::METHOD_NOT_FOUND,
                    message: format!(
                        "no operation {other} here (stint {}, protocol {PROTOCOL}): it may be newer \
                         than this owner; data.operations lists what it serves",
                        env!("CARGO_PKG_VERSION")
                    ),
                    data: Some(serde_json::json!({ "operations": operations() })),
                }),
            }
        }

        impl crate::local::Client {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// As the device's operation, or when its owner cannot be
                /// reached.
                pub async fn $name(&self, $($arg: impl Into<$ty>),*) -> crate::Result<$out> {
                    let params = params::$name { $($arg: $arg.into()),* };
                    self.call(stringify!($name), serde_json::to_value(params).expect("params serialize"))
                        .await
                }
            )*
        }
    };
    (@writes read) => { false };
    (@writes write) => { true };
}

operations! {
    /// Whether the owner answers.
    read ping() -> bool => |_d| true;
    /// Takes what the shell hook spooled (every operation does it first).
    write drain_hook() -> bool => |_d| true;
    /// Starts a session ([`Device::start_session`]).
    write start_session(session: NewSession) -> WorkspaceSession => |d| d.start_session(session).await?;
    /// A page of sessions ([`Device::list_sessions`]). Declared a read,
    /// though listing by a folder not identified yet identifies it (and
    /// gives older sessions of it their workspace, an edit that syncs at
    /// the next round): as a write, every listing would start a sync round.
    read list_sessions(filter: SessionFilter) -> Vec<WorkspaceSession> => |d| d.list_sessions(&filter).await?;
    /// The session an editor open on a folder records into, started if
    /// asked and there is none ([`Device::session_of_folder`]).
    write session_of_folder(folder: PathBuf, start: bool) -> Option<FolderSession> => |d| d.session_of_folder(&folder, start).await?;
    /// A session by id or prefix ([`Device::find_session`]).
    read find_session(id: String) -> WorkspaceSession => |d| d.find_session(&id).await?;
    /// Changes a session ([`Device::update_session`]).
    write update_session(id: String, changes: Vec<Change>) -> WorkspaceSession => |d| d.update_session(&id, changes).await?;
    /// Forks a session ([`Device::fork_session`]).
    write fork_session(id: String, name: String) -> WorkspaceSession => |d| d.fork_session(&id, &name).await?;
    /// Deletes a session ([`Device::delete_session`]).
    write delete_session(id: String) -> WorkspaceSession => |d| d.delete_session(&id).await?;
    /// A session with its preflight and the commands that reopen it
    /// ([`Device::resume_session`]).
    write resume_session(id: String) -> Resume => |d| d.resume_session(&id).await?;
    /// Asks the editor window open on a session's folder, if one listens,
    /// to resume it there ([`Device::resume_in_window`]): where it went, or
    /// `null`.
    write resume_in_window(id: String) -> Option<ResumedIn> => |d| d.resume_in_window(&id).await?;
    /// This connection is an editor window on `folders`: the owner may send
    /// it a [`Notice`] from now on, until it closes or listens again. `false`
    /// when nothing can: the call did not come through an owner's socket.
    read listen(editor: String, folders: Vec<PathBuf>) -> bool => |d, peer| d.listen_as_window(peer, &editor, &folders).await?;
    /// The command that opens a session in one tool
    /// ([`Device::open_in_editor`]).
    write open_in_editor(id: String, tool: String) -> OpenCommand => |d| d.open_in_editor(&id, &tool).await?;
    /// A session's AI conversations with their messages
    /// ([`Device::conversations`]).
    read conversations(id: String) -> Vec<ConversationWithMessages> => |d| d.conversations(&id).await?;
    /// The most recently used sessions ([`Device::recent_sessions`]).
    read recent_sessions(limit: usize) -> Vec<WorkspaceSession> => |d| d.recent_sessions(limit).await?;
    /// A session's forks ([`Device::children`]).
    read children(id: String) -> Vec<WorkspaceSession> => |d| d.children(&id).await?;
    /// Sessions related to one ([`Device::related`]).
    read related(id: String, limit: usize) -> Vec<RelatedSession> => |d| d.related(&id, limit).await?;
    /// The device's state ([`Device::status`]).
    read status() -> Status => |d| d.status().await?;
    /// Who is signed in ([`Device::whoami`]).
    read whoami() -> Option<Account> => |d| d.whoami();
    /// Signs in ([`Device::login`]).
    write login(server: String, email: String, password: String) -> Account => |d| d.login(&server, &email, &password).await?;
    /// Creates an account and signs in ([`Device::register`]).
    write register(server: String, request: RegisterRequest) -> Account => |d| d.register(&server, &request).await?;
    /// Signs out ([`Device::logout`]).
    write logout() -> bool => |d| d.logout().await?;
    /// The tenants one may switch to ([`Device::tenants`]).
    read tenants() -> Vec<TenantWithRole> => |d| d.tenants().await?;
    /// Switches tenant ([`Device::switch_tenant`]).
    write switch_tenant(id: String) -> Account => |d| d.switch_tenant(&id).await?;
    /// Syncs now ([`Device::sync`]).
    read sync() -> SyncReport => |d| d.sync().await?;
    /// Edits that conflicted ([`Device::conflicts`]).
    read conflicts() -> Vec<Conflict> => |d| d.conflicts().await?;
    /// Settles a conflict ([`Device::resolve_conflict`]).
    write resolve_conflict(id: String, take_mine: bool) -> Conflict => |d| d.resolve_conflict(&id, take_mine).await?;
    /// Watches a session's workspace ([`Device::watch_workspace`]).
    write watch_workspace(id: String) -> WatchStatus => |d| d.watch_workspace(&id).await?;
    /// Stops watching it ([`Device::unwatch_workspace`]).
    write unwatch_workspace(id: String) -> bool => |d| d.unwatch_workspace(&id).await?;
    /// The watches and their progress ([`Device::watch_statuses`]).
    read watch_statuses() -> Vec<WatchStatus> => |d| d.watch_statuses();
    /// A session's files ([`Device::files`]).
    read files(id: String, changed_since: Option<Timestamp>) -> Vec<File> => |d| d.files(&id, changed_since).await?;
    /// The sessions that touched a file ([`Device::which_sessions`]).
    read which_sessions(query: FileQuery) -> Vec<FileMatch> => |d| d.which_sessions(&query).await?;
    /// What differs between a session and this checkout
    /// ([`Device::preflight`]).
    read preflight(id: String) -> Preflight => |d| d.preflight(&id).await?;
    /// The user's settings ([`Device::settings`]).
    read settings() -> Vec<Setting> => |d| d.settings().await?;
    /// Changes one ([`Device::set_setting`]).
    write set_setting(category: SettingCategory, key: String, value: Value) -> Setting => |d| d.set_setting(category, &key, value).await?;
    /// What the desktop app's window showed last ([`Device::window_state`]).
    read window_state() -> Value => |d| d.window_state();
    /// Keeps it for the next start ([`Device::save_window_state`]); a file
    /// beside the replica, not a record.
    read save_window_state(state: Value) -> () => |d| d.save_window_state(&state)?;
    /// The workspaces this device knows ([`Device::workspaces`]).
    write workspaces() -> Vec<WorkspaceView> => |d| d.workspaces().await?;
    /// Links a folder to a workspace ([`Device::link_workspace`]).
    write link_workspace(id: String, path: PathBuf) -> WorkspaceView => |d| d.link_workspace(&id, &path).await?;
    /// Forgets a workspace's folder ([`Device::forget_workspace`]).
    write forget_workspace(id: String, path: Option<PathBuf>) -> WorkspaceView => |d| d.forget_workspace(&id, path.as_deref()).await?;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a client reads what the owner answered: `check(answer, kind)`.
    #[test]
    fn an_owners_error_is_read_as_the_error_it_was() {
        let check = |code: i64, kind: Option<&str>, want: &str| {
            let error = RpcError {
                code,
                message: "m".into(),
                data: kind.map(|k| serde_json::json!({ "kind": k })),
            };
            assert_eq!(ClientError::from(error).code(), want, "{code} {kind:?}");
        };
        check(code::FAILED, Some("not_found"), "not_found");
        check(code::FAILED, Some("invalid"), "invalid");
        // An owner older than this client: the operation is unknown to it.
        check(code::METHOD_NOT_FOUND, None, "unsupported");
        check(code::FAILED, Some("unsupported"), "unsupported");
        check(code::INVALID_PARAMS, None, "invalid");
        check(code::PARSE_ERROR, None, "profile");
    }
}
