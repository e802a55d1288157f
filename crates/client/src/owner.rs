//! The owner of a device's replica: `stint agent`, or the desktop app
//! while it runs.
//!
//! An [`Owner`] opens the replica, serves the local socket (so CLI
//! commands and the shell hook keep working beside it), keeps the device
//! in sync in the background and runs the watches of the workspaces it was
//! asked to watch. What happens meanwhile is told as [`News`] on a
//! broadcast channel, so a window can show a change the moment it lands,
//! whoever made it: a CLI command through the socket, another device
//! through sync, or a watcher.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::device::Device;
use crate::error::{ClientError, Result};
use crate::local::socket_path;
use crate::protocol::{Frame, MAX_LINE, read_frame, serve_line};
use crate::sync::SyncReport;
use crate::watch::WatchStatus;
use crate::windows::Peer;

/// How often the owner syncs when nothing announces a change.
const SYNC_EVERY: Duration = Duration::from_secs(60);

/// What happened to the replica while it was owned. Sent to every
/// [`Owner::subscribe`]r; one that lags behind misses some and should
/// reload what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum News {
    /// Another process changed records through the socket (a CLI command,
    /// the shell hook).
    Changed,
    /// A sync round ended: what it did, or why it failed.
    Synced {
        /// The round's report, when it completed.
        report: Option<SyncReport>,
        /// Why it did not, for a person.
        error: Option<String>,
        /// The error's kind (`unreachable`, `not_signed_in`, …).
        code: Option<String>,
    },
    /// A watched workspace made progress or changed state.
    Watch(WatchStatus),
}

/// The running owner of a replica.
#[derive(Debug)]
pub struct Owner {
    device: Arc<Device>,
    edited: Arc<Notify>,
    socket: PathBuf,
    serving: JoinHandle<()>,
    syncing: JoinHandle<()>,
}

impl Owner {
    /// Opens the replica in `dir` and starts owning it: the socket, sync,
    /// and the remembered watches. Fails if another process owns it.
    pub async fn start(dir: &Path) -> Result<Self> {
        let device = Arc::new(Device::open(dir)?);
        let socket = socket_path(dir);
        // We own the replica, so a socket file left here is stale.
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)
            .map_err(|e| ClientError::Profile(format!("binding {}: {e}", socket.display())))?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| ClientError::Profile(format!("securing {}: {e}", socket.display())))?;
        }
        let edited = Arc::new(Notify::new());
        let serving = tokio::spawn(serve(Arc::clone(&device), Arc::clone(&edited), listener));
        let syncing = tokio::spawn(sync_in_background(Arc::clone(&device), Arc::clone(&edited)));
        // Sessions older than workspace identities get theirs, so that
        // other devices find them by project.
        if let Err(e) = device.migrate_workspaces().await {
            tracing::warn!("workspace identities not given to older sessions: {e}");
        }
        device.resume_watches().await;
        Ok(Self {
            device,
            edited,
            socket,
            serving,
            syncing,
        })
    }

    /// The device, for this process's own calls.
    #[must_use]
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// News of the replica from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<News> {
        self.device.news.subscribe()
    }

    /// Says that this process changed records, so that sync pushes them
    /// now rather than at the next periodic round. Call it after the write
    /// returned: a round started before would not see it.
    pub fn edited(&self) {
        self.edited.notify_one();
    }

    /// Stops serving and syncing, and stops the watches once what they
    /// reported is in the replica.
    pub async fn stop(&self) {
        self.serving.abort();
        self.syncing.abort();
        self.device.stop_watches().await;
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Runs the agent: owns the replica in `dir` until `shutdown` resolves.
/// Fails if another process owns the replica.
pub async fn serve_agent(dir: &Path, shutdown: impl Future<Output = ()>) -> Result<()> {
    let owner = Owner::start(dir).await?;
    shutdown.await;
    owner.stop().await;
    Ok(())
}

async fn serve(device: Arc<Device>, edited: Arc<Notify>, listener: UnixListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let device = Arc::clone(&device);
        let edited = Arc::clone(&edited);
        tokio::spawn(async move { serve_connection(&device, &edited, stream).await });
    }
}

/// Syncs while signed in; waits for an edit (such as a login) otherwise.
async fn sync_in_background(device: Arc<Device>, edited: Arc<Notify>) {
    loop {
        if device.whoami().is_some() {
            device
                .watch(
                    SYNC_EVERY,
                    &edited,
                    |round| {
                        let news = match round {
                            Ok(report) => News::Synced {
                                report: Some(*report),
                                error: None,
                                code: None,
                            },
                            Err(e) => {
                                tracing::info!("sync: {e}");
                                News::Synced {
                                    report: None,
                                    error: Some(e.message()),
                                    code: Some(e.code().to_owned()),
                                }
                            }
                        };
                        device.tell(news);
                    },
                    std::future::pending(),
                )
                .await;
        }
        edited.notified().await;
    }
}

/// Lines waiting to go out on one connection: answers wait for room (a
/// client that does not read is slowed, not buffered for); a notice to a
/// window this far behind is skipped.
const OUTGOING_KEPT: usize = 64;

async fn serve_connection(device: &Device, edited: &Notify, stream: UnixStream) {
    let (read, write) = stream.into_split();
    let (lines, outgoing) = mpsc::channel(OUTGOING_KEPT);
    // One writer, so that answers and notices (to a window that listens)
    // never interleave within a line.
    let writer = tokio::spawn(write_lines(write, outgoing));
    let peer = Peer::new(lines);
    let registered = Registered(device, &peer);
    let mut reader = BufReader::new(read);
    loop {
        let line = match read_frame(&mut reader, Some(MAX_LINE)).await {
            Ok(Some(Frame::Line(line))) => line,
            // Too long, or not UTF-8: refused, skipped, and the next
            // message is read as usual.
            Ok(Some(frame)) => {
                let refusal = frame.refusal().unwrap_or_default();
                if !peer.send(refusal).await {
                    break;
                }
                continue;
            }
            Ok(None) | Err(_) => break,
        };
        let served = serve_line(device, Some(&peer), &line).await;
        if served.wrote {
            edited.notify_one();
            device.tell(News::Changed);
        }
        if let Some(reply) = served.reply
            && !peer.send(reply).await
        {
            break;
        }
    }
    // The window's registration held a sender too: once both are gone,
    // the writer sends what is left and closes.
    drop(registered);
    drop(peer);
    let _ = writer.await;
}

/// Forgets a connection's window however the connection ends, a panic
/// included: its registration holds a sender, and the writer closes the
/// connection only once every sender is gone.
struct Registered<'a>(&'a Device, &'a Peer);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.window_closed(self.1);
    }
}

async fn write_lines(mut write: OwnedWriteHalf, mut lines: mpsc::Receiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if write.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}
