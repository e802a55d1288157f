//! A device's map of workspace identities to its own folders: where the
//! project that other devices know as `git:github.com/ada/app@903a…` lives
//! here. Kept in the replica only, never synced: paths are the device's.

use serde::{Deserialize, Serialize};
use stint_model::Timestamp;
use stint_store::{Store, StoreError};

use crate::error::{DbError, Result};
use crate::keys;

/// One workspace as this device knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalWorkspace {
    /// Its identity (`stint_model::workspace`).
    pub id: String,
    /// Its folders on this device (a clone and its worktrees), most
    /// recently seen first.
    pub folders: Vec<String>,
    /// The git remote, credentials removed, when it has one.
    #[serde(default)]
    pub remote: Option<String>,
    /// When a folder of it was last seen.
    pub seen_at: Timestamp,
}

/// The workspaces repository.
#[derive(Debug, Clone, Copy)]
pub struct Workspaces<'a> {
    pub(crate) store: &'a Store,
}

fn decode(bytes: &[u8]) -> Result<LocalWorkspace> {
    serde_json::from_slice(bytes).map_err(|e| DbError::Corrupt {
        kind: stint_model::RecordKind::WorkspaceSession,
        reason: format!("local workspace: {e}"),
    })
}

impl Workspaces<'_> {
    /// Every workspace known here, by identity.
    pub async fn list(&self) -> Result<Vec<LocalWorkspace>> {
        let (begin, end) = keys::workspaces().range();
        let (begin, end) = (&begin, &end);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    for (_, value) in tx.get_all(begin, end).await? {
                        out.push(decode(&value)?);
                    }
                    Ok(out)
                })
            })
            .await
    }

    /// One workspace by identity.
    pub async fn get(&self, id: &str) -> Result<Option<LocalWorkspace>> {
        let key = keys::workspaces().pack(&id);
        let key = &key;
        self.store
            .run(|tx| Box::pin(async move { tx.get(key).await?.map(|v| decode(&v)).transpose() }))
            .await
    }

    /// The workspace one of whose folders is exactly `folder`.
    pub async fn of_folder(&self, folder: &str) -> Result<Option<LocalWorkspace>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|w| w.folders.iter().any(|f| f == folder)))
    }

    /// Records that `folder` is a checkout of workspace `id`, seen now: it
    /// moves to the front of that workspace's folders and leaves any other
    /// workspace's (a folder is one workspace at a time). Returns whether
    /// anything changed.
    pub async fn link(
        &self,
        id: &str,
        folder: &str,
        remote: Option<&str>,
        at: Timestamp,
    ) -> Result<bool> {
        let space = keys::workspaces();
        let space = &space;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut changed = false;
                    let (begin, end) = space.range();
                    for (key, value) in tx.get_all(&begin, &end).await? {
                        let mut other = decode(&value)?;
                        if other.id == id || !other.folders.iter().any(|f| f == folder) {
                            continue;
                        }
                        other.folders.retain(|f| f != folder);
                        changed = true;
                        if other.folders.is_empty() {
                            tx.clear(&key);
                        } else {
                            tx.set(&key, &encode(&other)?);
                        }
                    }
                    let key = space.pack(&id);
                    let mut ws = match tx.get(&key).await? {
                        Some(v) => decode(&v)?,
                        None => LocalWorkspace {
                            id: id.to_owned(),
                            folders: Vec::new(),
                            remote: None,
                            seen_at: at,
                        },
                    };
                    let before = ws.clone();
                    ws.folders.retain(|f| f != folder);
                    ws.folders.insert(0, folder.to_owned());
                    if remote.is_some() {
                        ws.remote = remote.map(str::to_owned);
                    }
                    // A folder seen again in the same order is no change:
                    // the shell hook sees one after every command.
                    if ws.folders != before.folders || ws.remote != before.remote {
                        ws.seen_at = at;
                        tx.set(&key, &encode(&ws)?);
                        changed = true;
                    }
                    Ok(changed)
                })
            })
            .await
    }

    /// Forgets `folder` of workspace `id`, or the whole workspace when
    /// `folder` is `None`. Returns whether it was known.
    pub async fn forget(&self, id: &str, folder: Option<&str>) -> Result<bool> {
        let key = keys::workspaces().pack(&id);
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let Some(value) = tx.get(key).await? else {
                        return Ok(false);
                    };
                    let mut ws = decode(&value)?;
                    let Some(folder) = folder else {
                        tx.clear(key);
                        return Ok(true);
                    };
                    let had = ws.folders.iter().any(|f| f == folder);
                    ws.folders.retain(|f| f != folder);
                    if ws.folders.is_empty() {
                        tx.clear(key);
                    } else {
                        tx.set(key, &encode(&ws)?);
                    }
                    Ok(had)
                })
            })
            .await
    }
}

fn encode(ws: &LocalWorkspace) -> Result<Vec<u8>> {
    serde_json::to_vec(ws).map_err(|e| StoreError::Io(e.to_string()).into())
}
