//! Editor windows that listen on the owner's socket, so that a resume
//! asked elsewhere (`stint session resume ID --open`, the desktop app's
//! Resume) happens in the window already open on the workspace rather
//! than in a new one.
//!
//! A plugin's connection says `listen {editor, folders}`; from then on the
//! owner may send it a [`Notice`] on that connection, a JSON-RPC
//! notification (no id, nothing answers it). The registration lives as
//! long as the connection: it ends when the plugin (or its `stint rpc`)
//! goes, or when it listens again with other folders. Of the windows open
//! on a session's folder, the one that listened last is asked (a plugin
//! listens again when its window gains focus, so that is the one the user
//! used last); one on exactly that folder before one on a folder around
//! or inside it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use stint_model::ValidationError;
use tokio::sync::mpsc;

use crate::error::{ClientError, Result};
use crate::protocol::Notice;

/// The most folders one window may listen on.
const MAX_FOLDERS: usize = 256;
/// The longest editor name taken.
const MAX_EDITOR: usize = 200;

/// One connection to the owner, as the dispatch sees it: where the owner
/// writes what it sends unasked.
#[derive(Debug)]
pub(crate) struct Peer {
    id: u64,
    notices: mpsc::Sender<String>,
}

impl Peer {
    /// A connection whose lines (answers and notices) go to `lines`.
    pub(crate) fn new(lines: mpsc::Sender<String>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            notices: lines,
        }
    }

    /// Sends a line, waiting while the connection is behind (so that a
    /// client that does not read its answers is slowed, not buffered for).
    pub(crate) async fn send(&self, line: String) -> bool {
        self.notices.send(line).await.is_ok()
    }
}

/// Where a resume went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ResumedIn {
    /// The editor, as its plugin named itself (`Visual Studio Code 1.96.0`).
    pub editor: String,
    /// The folder that window is open on.
    pub folder: PathBuf,
}

#[derive(Debug)]
struct Window {
    peer: u64,
    editor: String,
    /// Each folder as the window named it (what a reply says) and with its
    /// links resolved (what is compared).
    folders: Vec<(PathBuf, PathBuf)>,
    notices: mpsc::Sender<String>,
    /// When it listened, in the order of listens.
    order: u64,
}

/// The windows listening now.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    open: Mutex<Vec<Window>>,
    listens: AtomicU64,
}

/// What `listen` is given, checked before anything else (also where no
/// window can listen, so bad input is refused alike everywhere): the
/// editor's name, trimmed, for [`Windows::listen`].
fn check<'a>(editor: &'a str, folders: &[PathBuf]) -> Result<&'a str> {
    let invalid = |field: &str, why: String| ClientError::Invalid(ValidationError::new(field, why));
    let editor = editor.trim();
    if editor.is_empty() || editor.chars().count() > MAX_EDITOR {
        return Err(invalid(
            "editor",
            format!("names the editor in 1 to {MAX_EDITOR} characters"),
        ));
    }
    if folders.len() > MAX_FOLDERS {
        return Err(invalid(
            "folders",
            format!("at most {MAX_FOLDERS} folders, not {}", folders.len()),
        ));
    }
    if let Some((i, f)) = folders.iter().enumerate().find(|(_, f)| !f.is_absolute()) {
        return Err(invalid(
            &format!("folders[{i}]"),
            format!("{} is not an absolute path", f.display()),
        ));
    }
    Ok(editor)
}

impl Windows {
    /// Registers (or re-registers) `peer`'s window of `editor` on
    /// `folders` (both as [`check`] passed them), which are `resolved`
    /// with their links resolved.
    fn listen(&self, peer: &Peer, editor: &str, folders: &[PathBuf], resolved: Vec<PathBuf>) {
        let window = Window {
            peer: peer.id,
            editor: editor.to_owned(),
            folders: folders.iter().cloned().zip(resolved).collect(),
            notices: peer.notices.clone(),
            order: self.listens.fetch_add(1, Ordering::Relaxed),
        };
        let mut open = self.open.lock().expect("windows lock");
        open.retain(|w| w.peer != peer.id);
        open.push(window);
    }

    /// Forgets `peer`'s window: its connection ended.
    pub(crate) fn forget(&self, peer: &Peer) {
        self.open
            .lock()
            .expect("windows lock")
            .retain(|w| w.peer != peer.id);
    }

    /// Sends `notice` to the window open on `folder` (its links resolved)
    /// that listened last (one on exactly `folder` first); `None` when no
    /// window is open on it. A window whose connection is gone or too far
    /// behind is skipped.
    pub(crate) fn tell(&self, folder: &Path, notice: &Notice) -> Option<ResumedIn> {
        let line = notice.to_line();
        let mut open = self.open.lock().expect("windows lock");
        // (exact, order) of each window's best folder, best first.
        let mut candidates: Vec<(bool, u64, usize, PathBuf)> = open
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let (named, resolved) = w
                    .folders
                    .iter()
                    .filter(|(_, f)| folder.starts_with(f) || f.starts_with(folder))
                    .max_by_key(|(_, f)| f == folder)?;
                Some((resolved == folder, w.order, i, named.clone()))
            })
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse((c.0, c.1)));
        let mut gone = Vec::new();
        let mut told = None;
        for (_, _, i, window_folder) in candidates {
            let w = &open[i];
            match w.notices.try_send(line.clone()) {
                Ok(()) => {
                    told = Some(ResumedIn {
                        editor: w.editor.clone(),
                        folder: window_folder,
                    });
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(w.peer),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(editor = %w.editor, "a window is not reading what the owner sends: skipped");
                }
            }
        }
        open.retain(|w| !gone.contains(&w.peer));
        told
    }
}

/// `path` with its links resolved when it exists, as is otherwise: an
/// editor and the replica may name one folder through different links.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// `folders`, each [`canonical`], off the runtime's threads: a folder on a
/// stalled network mount must not stop the owner (on the agent's one
/// thread, every connection, sync and watch).
async fn resolved(folders: Vec<PathBuf>) -> Vec<PathBuf> {
    let fallback = folders.clone();
    tokio::task::spawn_blocking(move || folders.iter().map(|f| canonical(f)).collect())
        .await
        .unwrap_or(fallback)
}

impl crate::device::Device {
    /// `peer`'s connection is an editor window on `folders`, told of
    /// resumes from now on; `false` when the call came otherwise (the
    /// desktop app's own window, or a `stint rpc` holding the replica
    /// itself, which nothing else can reach).
    ///
    /// # Errors
    /// `Invalid` for an empty editor name or a relative folder.
    pub(crate) async fn listen_as_window(
        &self,
        peer: Option<&Peer>,
        editor: &str,
        folders: &[PathBuf],
    ) -> Result<bool> {
        let editor = check(editor, folders)?;
        let Some(peer) = peer else {
            return Ok(false);
        };
        let resolved = resolved(folders.to_vec()).await;
        self.windows.listen(peer, editor, folders, resolved);
        Ok(true)
    }

    /// Forgets the window of a connection that ended.
    pub(crate) fn window_closed(&self, peer: &Peer) {
        self.windows.forget(peer);
    }

    /// Asks the editor window open on session `id`'s folder on this device
    /// (the one used last, if several) to resume it: where it went, or
    /// `None` when no listening window is open on it (or the session has no
    /// folder here). The window resumes on its own, as its own Resume does.
    ///
    /// # Errors
    /// As [`Device::find_session`].
    pub async fn resume_in_window(&self, id: &str) -> Result<Option<ResumedIn>> {
        let session = self.find_session(id).await?;
        let Some(folder) = self.local_root(&session).await? else {
            return Ok(None);
        };
        let notice = Notice::Resume {
            id: session.id.to_string(),
            name: session.name.clone(),
        };
        let folder = resolved(vec![folder]).await.pop().unwrap_or_default();
        Ok(self.windows.tell(&folder, &notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Windows {
        /// What [`crate::device::Device::listen_as_window`] does, on folders without links.
        fn listen_here(&self, peer: &Peer, editor: &str, folders: &[PathBuf]) -> Result<()> {
            let editor = check(editor, folders)?;
            self.listen(peer, editor, folders, folders.to_vec());
            Ok(())
        }
    }

    fn peer() -> (Peer, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(4);
        (Peer::new(tx), rx)
    }

    fn notice() -> Notice {
        Notice::Resume {
            id: "01a2".into(),
            name: "s".into(),
        }
    }

    #[test]
    fn the_window_on_the_folder_that_listened_last_is_told() {
        let windows = Windows::default();
        let (a, mut a_rx) = peer();
        let (b, mut b_rx) = peer();
        let (c, mut c_rx) = peer();
        windows
            .listen_here(&a, "Code 1", &["/w/app".into()])
            .unwrap();
        windows
            .listen_here(&b, "Code 2", &["/w/app".into()])
            .unwrap();
        windows
            .listen_here(&c, "Code 3", &["/w/other".into()])
            .unwrap();
        let told = windows.tell(Path::new("/w/app"), &notice()).unwrap();
        assert_eq!(told.editor, "Code 2");
        assert!(b_rx.try_recv().unwrap().contains("\"method\":\"resume\""));
        assert!(a_rx.try_recv().is_err());
        assert!(c_rx.try_recv().is_err());
        // Listening again (the window gained focus) makes it the last.
        windows
            .listen_here(&a, "Code 1", &["/w/app".into()])
            .unwrap();
        assert_eq!(
            windows.tell(Path::new("/w/app"), &notice()).unwrap().editor,
            "Code 1"
        );
    }

    #[test]
    fn a_window_on_the_folder_itself_comes_before_one_around_or_inside_it() {
        let windows = Windows::default();
        let (around, _r1) = peer();
        let (inside, _r2) = peer();
        let (exact, _r3) = peer();
        windows
            .listen_here(&exact, "exact", &["/w/app".into()])
            .unwrap();
        windows
            .listen_here(&around, "around", &["/w".into()])
            .unwrap();
        windows
            .listen_here(&inside, "inside", &["/w/app/src".into()])
            .unwrap();
        assert_eq!(
            windows.tell(Path::new("/w/app"), &notice()).unwrap().editor,
            "exact"
        );
        windows.forget(&exact);
        let told = windows.tell(Path::new("/w/app"), &notice()).unwrap();
        assert_eq!(
            (told.editor.as_str(), told.folder),
            ("inside", "/w/app/src".into())
        );
        // Not a folder whose name only begins the same.
        assert_eq!(
            windows
                .tell(Path::new("/w/application"), &notice())
                .unwrap()
                .editor,
            "around"
        );
        assert_eq!(windows.tell(Path::new("/elsewhere"), &notice()), None);
    }

    #[test]
    fn a_closed_window_is_skipped_and_forgotten() {
        let windows = Windows::default();
        let (open, mut open_rx) = peer();
        let (closed, closed_rx) = peer();
        windows
            .listen_here(&open, "open", &["/w/app".into()])
            .unwrap();
        windows
            .listen_here(&closed, "closed", &["/w/app".into()])
            .unwrap();
        drop(closed_rx);
        assert_eq!(
            windows.tell(Path::new("/w/app"), &notice()).unwrap().editor,
            "open"
        );
        assert!(open_rx.try_recv().is_ok());
        assert_eq!(windows.open.lock().unwrap().len(), 1);
    }

    #[test]
    fn bad_listens_are_refused_and_change_nothing() {
        let windows = Windows::default();
        let (p, _rx) = peer();
        windows.listen_here(&p, "Code", &["/w/app".into()]).unwrap();
        let check = |editor: &str, folders: &[PathBuf], field: &str| {
            let Err(ClientError::Invalid(e)) = windows.listen_here(&p, editor, folders) else {
                panic!("{editor:?} {folders:?} is refused");
            };
            assert_eq!(e.field, field);
        };
        check("", &["/w".into()], "editor");
        check(&"x".repeat(201), &["/w".into()], "editor");
        check("Code", &["/w".into(), "relative/dir".into()], "folders[1]");
        check("Code", &vec![PathBuf::from("/w"); 257], "folders");
        assert_eq!(
            windows.tell(Path::new("/w/app"), &notice()).unwrap().editor,
            "Code"
        );
    }
}
