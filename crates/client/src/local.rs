//! One owner of the replica per device.
//!
//! sled lets one process open a database, so one process owns the replica:
//! `stint agent` or the desktop app (see `owner.rs`). It serves the local
//! protocol (`protocol.rs`: JSON-RPC 2.0, a message per line) on a Unix
//! socket in the data directory (`agent.sock`, mode 0600). Every other
//! process uses [`connect`]: through the agent when one answers, else by
//! opening the replica itself (waiting a moment if another process holds
//! it).
//!
//! Both paths serve the same line ([`crate::protocol`]'s `serve_line`), so
//! a command behaves the same with and without the agent.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::Mutex;

use crate::device::Device;
use crate::error::{ClientError, Result};
use crate::protocol::{self, Frame, PROTOCOL, RpcError, read_frame};

const SOCKET: &str = "agent.sock";

/// How long a process waits for another that holds the replica.
const WAIT_FOR_REPLICA: Duration = Duration::from_secs(10);

/// A way to the device's replica: through the agent, or opened here.
#[derive(Debug)]
pub enum Client {
    /// This process owns the replica.
    Direct(Box<Device>),
    /// The agent owns it; requests go over its socket.
    Agent {
        /// The connection, one request at a time.
        stream: Mutex<BufReader<UnixStream>>,
        /// The next request's id.
        next_id: AtomicU64,
    },
}

pub(crate) fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

async fn agent_at(dir: &Path) -> Option<UnixStream> {
    UnixStream::connect(socket_path(dir)).await.ok()
}

/// Reaches the device in `dir`: through a running agent, else directly,
/// waiting up to 10 s while another process holds the replica.
///
/// # Errors
/// When the agent speaks another protocol version (it says which), or
/// the replica cannot be opened.
pub async fn connect(dir: &Path) -> Result<Client> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_REPLICA;
    loop {
        if let Some(client) = connect_agent(dir).await? {
            return Ok(client);
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

/// The agent of `dir` (or the desktop app), when one answers `hello`.
///
/// # Errors
/// When it answers in another protocol version (it says which): waiting
/// does not help, and opening the replica cannot (it holds it).
pub async fn connect_agent(dir: &Path) -> Result<Option<Client>> {
    let Some(stream) = agent_at(dir).await else {
        return Ok(None);
    };
    let client = Client::Agent {
        stream: Mutex::new(BufReader::new(stream)),
        next_id: AtomicU64::new(1),
    };
    let hello = serde_json::json!({
        "jsonrpc": "2.0", "id": 0, "method": "hello",
        "params": {"protocol": PROTOCOL, "client": format!("stint {}", env!("CARGO_PKG_VERSION"))},
    });
    // Gone meanwhile, or shutting down: as if none ran.
    let Ok(Some(line)) = client.relay(&hello.to_string()).await else {
        return Ok(None);
    };
    let answer: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    if answer
        .get("result")
        .is_some_and(|r| r["protocol"] == PROTOCOL)
    {
        return Ok(Some(client));
    }
    let error = &answer["error"];
    Err(ClientError::Profile(match error["message"].as_str() {
        Some(said) if error["code"].is_i64() => said.to_owned(),
        // An agent from before the protocol had versions.
        _ => format!(
            "the agent of {} is an older stint: stop it and start `stint agent` again",
            dir.display()
        ),
    }))
}

impl Client {
    /// Whether requests go through the agent.
    #[must_use]
    pub fn via_agent(&self) -> bool {
        matches!(self, Self::Agent { .. })
    }

    /// Runs `method` with `params` and reads its result as a `T`.
    pub(crate) async fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T> {
        let id = match self {
            Self::Direct(_) => 1,
            Self::Agent { next_id, .. } => next_id.fetch_add(1, Ordering::Relaxed),
        };
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": id, "method": method, "params": params,
        });
        let line = self
            .relay(&request.to_string())
            .await?
            .ok_or_else(|| ClientError::Profile("the replica's owner did not answer".into()))?;
        // Read as a map: a `null` result (`whoami` signed out) is there.
        let mut answer: serde_json::Map<String, Value> =
            serde_json::from_str(&line).map_err(|e| {
                ClientError::Profile(format!("the replica's owner answered nonsense: {e}"))
            })?;
        if answer.get("id") != Some(&Value::from(id)) {
            return Err(ClientError::Profile(format!(
                "the replica's owner answered another request than {method}"
            )));
        }
        if let Some(error) = answer.remove("error").filter(|e| !e.is_null()) {
            let error: RpcError = serde_json::from_value(error).map_err(|e| {
                ClientError::Profile(format!("the replica's owner answered a bad error: {e}"))
            })?;
            return Err(ClientError::from(error));
        }
        let Some(result) = answer.remove("result") else {
            return Err(ClientError::from(RpcError {
                code: protocol::code::INVALID_REQUEST,
                message: format!("{method} was answered with neither a result nor an error"),
                data: None,
            }));
        };
        serde_json::from_value(result).map_err(|e| {
            ClientError::Profile(format!(
                "the replica's owner answered {method} with something else: {e}"
            ))
        })
    }

    /// Serves one line of the protocol, as it came (`stint rpc` relays an
    /// editor's lines): by the agent, or here. The answer's line, `None`
    /// for a notification.
    ///
    /// # Errors
    /// When the agent went away.
    pub(crate) async fn relay(&self, line: &str) -> Result<Option<String>> {
        match self {
            Self::Direct(device) => Ok(protocol::serve_line(device, None, line).await.reply),
            Self::Agent { stream, .. } => {
                let lost =
                    |e: std::io::Error| ClientError::Profile(format!("the agent went away: {e}"));
                let mut stream = stream.lock().await;
                let mut out = line.trim_end_matches(['\r', '\n']).as_bytes().to_vec();
                out.push(b'\n');
                stream.get_mut().write_all(&out).await.map_err(lost)?;
                if protocol::is_notification(line) {
                    return Ok(None);
                }
                loop {
                    // Answers are not capped: a session's 50,000 files make
                    // one of tens of megabytes.
                    return match read_frame(&mut stream, None).await.map_err(lost)? {
                        // A notice to a window (this connection listened):
                        // not the answer; `pipe` is the way to get them.
                        Some(Frame::Line(notice)) if protocol::is_notification(&notice) => {
                            continue;
                        }
                        Some(Frame::Line(answer)) => Ok(Some(answer)),
                        Some(_) => Err(ClientError::Profile(
                            "the agent answered something else than UTF-8".into(),
                        )),
                        None => Err(ClientError::Profile(
                            "the agent closed the connection".into(),
                        )),
                    };
                }
            }
        }
    }

    /// Speaks the protocol on `input` and `output` (`stint rpc`'s stdin and
    /// stdout) until `input` ends: each message of `input` served here or
    /// relayed to the owner, each answer a line of `output`, and, relayed,
    /// whatever the owner sends unasked to a window that listens (a
    /// [`protocol::Notice`]) as well. A message over [`protocol::MAX_LINE`]
    /// or not UTF-8 is refused as the owner would, and the next is read.
    ///
    /// # Errors
    /// A read or write error, or the owner going away.
    pub async fn pipe<R, W>(self, input: R, output: W) -> Result<()>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        match self {
            Self::Direct(device) => {
                let piped = pipe_served(&device, input, output).await;
                // What the watches run here reported is kept.
                device.stop_watches().await;
                piped
            }
            Self::Agent { stream, .. } => pipe_relayed(stream.into_inner(), input, output).await,
        }
    }

    /// Stops the watches this process runs (none when the agent runs
    /// them), writing what they reported first.
    pub async fn stop_watches(&self) {
        if let Self::Direct(device) = self {
            device.stop_watches().await;
        }
    }
}

fn broken(e: std::io::Error) -> ClientError {
    ClientError::Profile(format!("the protocol's stream broke: {e}"))
}

/// What comes next on `input`.
enum Next {
    /// A message.
    Message(String),
    /// The answer to a line that is none (over the cap, not UTF-8).
    Refused(String),
}

/// The next message of `input`, blank lines skipped; `None` at its end.
async fn next_message<R: tokio::io::AsyncRead + Unpin>(
    input: &mut BufReader<R>,
) -> Result<Option<Next>> {
    loop {
        return Ok(
            match read_frame(input, Some(protocol::MAX_LINE))
                .await
                .map_err(broken)?
            {
                None => None,
                Some(Frame::Line(line)) if line.trim().is_empty() => continue,
                Some(Frame::Line(line)) => Some(Next::Message(line)),
                Some(frame) => Some(Next::Refused(frame.refusal().unwrap_or_default())),
            },
        );
    }
}

async fn write_line<W: tokio::io::AsyncWrite + Unpin>(output: &mut W, line: &str) -> Result<()> {
    let mut out = line.as_bytes().to_vec();
    out.push(b'\n');
    output.write_all(&out).await.map_err(broken)?;
    output.flush().await.map_err(broken)
}

/// `pipe` with the replica here: nothing else can reach this process, so
/// nothing comes unasked.
async fn pipe_served<R, W>(device: &Device, input: R, mut output: W) -> Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut input = BufReader::new(input);
    while let Some(next) = next_message(&mut input).await? {
        let answer = match next {
            Next::Message(line) => protocol::serve_line(device, None, &line).await.reply,
            Next::Refused(refusal) => Some(refusal),
        };
        if let Some(answer) = answer {
            write_line(&mut output, &answer).await?;
        }
    }
    Ok(())
}

/// `pipe`'s output while relaying, in the order of the input: a line
/// refused here waits for the answers to what was sent before it.
struct Ordered<W> {
    output: W,
    /// Requests sent to the owner, and answers from it, so far.
    sent: u64,
    answered: u64,
    /// Refusals, each after the answer to the `sent`-th request.
    held: std::collections::VecDeque<(u64, String)>,
}

impl<W: tokio::io::AsyncWrite + Unpin> Ordered<W> {
    async fn refused(&mut self, refusal: String) -> Result<()> {
        if self.answered >= self.sent {
            return write_line(&mut self.output, &refusal).await;
        }
        self.held.push_back((self.sent, refusal));
        Ok(())
    }

    async fn owner_said(&mut self, line: &str) -> Result<()> {
        // A notice answers nothing.
        if !protocol::is_notification(line) {
            self.answered += 1;
        }
        write_line(&mut self.output, line).await?;
        while let Some((after, _)) = self.held.front()
            && *after <= self.answered
        {
            let (_, refusal) = self.held.pop_front().expect("a held refusal");
            write_line(&mut self.output, &refusal).await?;
        }
        Ok(())
    }
}

/// `pipe` through the owner: both ways at once, since the owner may send
/// a notice while nothing was asked. When `input` ends, the owner is told
/// (its side of the socket ends) and answers what it was sent before it
/// closes, so nothing asked goes unanswered.
async fn pipe_relayed<R, W>(owner: BufReader<UnixStream>, input: R, output: W) -> Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let output = std::sync::Arc::new(Mutex::new(Ordered {
        output,
        sent: 0,
        answered: 0,
        held: std::collections::VecDeque::new(),
    }));
    let (mut from_owner, to_owner) = {
        let (read, write) = owner.into_inner().into_split();
        (BufReader::new(read), write)
    };
    let refusals = std::sync::Arc::clone(&output);
    // Set once all of `input` is sent: the owner closing after that is the end
    // asked for, not the owner going away.
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ending = std::sync::Arc::clone(&ended);
    let mut sending = tokio::spawn(async move {
        let mut to_owner = to_owner;
        let mut input = BufReader::new(input);
        while let Some(next) = next_message(&mut input).await? {
            match next {
                Next::Message(line) => {
                    // Counted before it goes: its answer may come at once.
                    if !protocol::is_notification(&line) {
                        refusals.lock().await.sent += 1;
                    }
                    let mut out = line.into_bytes();
                    out.push(b'\n');
                    to_owner.write_all(&out).await.map_err(broken)?;
                }
                Next::Refused(refusal) => refusals.lock().await.refused(refusal).await?,
            }
        }
        ending.store(true, std::sync::atomic::Ordering::SeqCst);
        to_owner.shutdown().await.map_err(broken)
    });
    let receiving = async {
        // Not capped, as `relay`'s answers are not.
        while let Some(frame) = read_frame(&mut from_owner, None).await.map_err(broken)? {
            if let Frame::Line(line) = frame {
                output.lock().await.owner_said(&line).await?;
            }
        }
        Ok::<_, ClientError>(())
    };
    tokio::pin!(receiving);
    tokio::select! {
        sent = &mut sending => {
            sent.map_err(|e| ClientError::Profile(format!("relaying to the owner: {e}")))??;
            // All sent: what the owner answers until it closes.
            receiving.await
        }
        received = &mut receiving => {
            received?;
            if ended.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            sending.abort();
            Err(ClientError::Profile("the replica's owner closed the connection".into()))
        }
    }
}

/// Tells the agent of `dir`, if one runs, that the shell hook spooled
/// something. Does not wait for an answer: the hook must return at once.
pub(crate) fn nudge(dir: &Path) {
    if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket_path(dir)) {
        let _ = std::io::Write::write_all(
            &mut stream,
            b"{\"jsonrpc\":\"2.0\",\"method\":\"drain_hook\"}\n",
        );
    }
}
