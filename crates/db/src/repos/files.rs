//! File records: which files a session's workspace holds, with checksums.

use stint_model::{
    File, FileId, RecordKind, SessionId, TenantId, Timestamp, Validate, ValidationError,
    WorkspaceSession,
};
use stint_store::Store;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys::{self, micros};
use crate::record::{self, Mode, Record, WriteCtx};

const BY_SESSION: &str = "file_by_session";
const BY_PATH: &str = "file_by_path";
const BY_CHECKSUM: &str = "file_by_checksum";
const DELETED: &str = "file_deleted";
/// Per session: each file's path, whether it is deleted, and its checksum
/// in the key itself, so that a preflight reads a session's index from
/// keys alone (50,000 files in one range read, no record decoded).
const SUMS: &str = "file_sum";

impl Record for File {
    const KIND: RecordKind = RecordKind::File;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id) = (self.tenant_id, self.id.as_uuid());
        let session = self.workspace_session_id.as_uuid();
        let path = self.file_path.as_str();
        let mut keys = vec![
            keys::index(t, BY_SESSION).pack(&(session, path, id)),
            keys::index(t, BY_PATH).pack(&(self.workspace_path.as_str(), path, session, id)),
        ];
        if let Some(sum) = &self.checksum {
            keys.push(keys::index(t, BY_CHECKSUM).pack(&(sum.as_str(), session, id)));
        }
        keys.push(keys::index(t, SUMS).pack(&(
            session,
            path,
            self.is_deleted,
            self.checksum.as_deref().unwrap_or(""),
            id,
        )));
        if let Some(at) = self.deleted_at {
            keys.push(keys::index(t, DELETED).pack(&(micros(at), id)));
        }
        keys
    }
    fn references(&self) -> Vec<(RecordKind, Uuid)> {
        vec![(
            RecordKind::WorkspaceSession,
            self.workspace_session_id.as_uuid(),
        )]
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// What a device's watcher knows of a file beyond its record: the stat its
/// checksum belongs to, so that a restart hashes only what changed. Kept in
/// the replica only; never synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status change time, ns since the epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// When the hash began, ns since the epoch.
    pub hashed_at_ns: i64,
    /// The content's SHA-256.
    pub sha256: [u8; 32],
}

impl FileStat {
    const LEN: usize = 8 * 5 + 32;

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.mtime_ns.to_be_bytes());
        out.extend_from_slice(&self.ctime_ns.to_be_bytes());
        out.extend_from_slice(&self.ino.to_be_bytes());
        out.extend_from_slice(&self.hashed_at_ns.to_be_bytes());
        out.extend_from_slice(&self.sha256);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        let word = |i: usize| -> [u8; 8] { bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes") };
        Some(Self {
            size: u64::from_be_bytes(word(0)),
            mtime_ns: i64::from_be_bytes(word(1)),
            ctime_ns: i64::from_be_bytes(word(2)),
            ino: u64::from_be_bytes(word(3)),
            hashed_at_ns: i64::from_be_bytes(word(4)),
            sha256: bytes[40..].try_into().expect("32 bytes"),
        })
    }

    /// The modification time as a timestamp (µs are what records keep).
    fn modified_at(&self) -> Option<Timestamp> {
        chrono::DateTime::from_timestamp_nanos(self.mtime_ns).into()
    }
}

/// What [`Files::apply_scan`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanApplied {
    /// Records written.
    pub written: usize,
    /// Files that became live (new, or back).
    pub added: usize,
    /// Files marked deleted.
    pub removed: usize,
}

/// A watcher's news of one file of a session's workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileUpdate {
    /// The file at this relative path exists with this stat and checksum.
    Seen(String, FileStat),
    /// The same, for a secret file: the stat and checksum are kept on the
    /// device, the record (which syncs) carries no checksum.
    SeenPrivate(String, FileStat),
    /// The file at this relative path is gone.
    Gone(String),
}

/// The id of the record of `path` in `session`: derived from both, so
/// that devices watching the same workspace name the file alike.
#[must_use]
pub fn file_id(session: SessionId, path: &str) -> FileId {
    FileId::from_uuid(Uuid::new_v5(&session.as_uuid(), path.as_bytes()))
}

/// A MIME type from the file name, for the few kinds worth telling apart.
fn mime_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "rs" => "text/x-rust",
        "md" | "markdown" => "text/markdown",
        "toml" => "application/toml",
        "json" => "application/json",
        "js" | "mjs" | "cjs" => "text/javascript",
        "ts" | "tsx" => "text/typescript",
        "py" => "text/x-python",
        "go" => "text/x-go",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" | "log" | "c" | "h" | "cpp" | "hpp" | "java" | "sh" | "yml" | "yaml" | "lock"
        | "csv" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The files repository.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    pub(crate) store: &'a Store,
}

impl Files<'_> {
    /// Creates or replaces a file record. Its session must exist in the same
    /// tenant, and a session holds one record per path.
    pub async fn put(&self, file: &File, ctx: &WriteCtx<'_>) -> Result<()> {
        let by_path = keys::index(file.tenant_id, BY_SESSION)
            .subspace(&(file.workspace_session_id.as_uuid(), file.file_path.as_str()))
            .bytes()
            .to_vec();
        let by_path = &by_path;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::check_references(tx, file).await?;
                    let holders = record::index_ids(tx, by_path, 0, false).await?;
                    if let Some(other) = holders.iter().find(|id| **id != file.id.as_uuid()) {
                        return Err(DbError::AlreadyExists {
                            kind: RecordKind::File,
                            id: format!("{} (as {other})", file.file_path),
                        });
                    }
                    record::write(tx, file, ctx, Mode::Upsert).await
                })
            })
            .await
            .map(drop)
    }

    /// Applies a watcher's news to a session's file records and to the
    /// device's stats, in one transaction: a seen file gets its record (or
    /// an update of it, brought back if it was deleted) when its checksum,
    /// size or modification time differ; a gone one is marked deleted.
    /// Keep batches to a few hundred.
    pub async fn apply_scan(
        &self,
        session: &WorkspaceSession,
        updates: &[FileUpdate],
        ctx: &WriteCtx<'_>,
    ) -> Result<ScanApplied> {
        let (tenant, sid) = (session.tenant_id, session.id);
        let stats = keys::file_stats(tenant, sid.as_uuid());
        let stats = &stats;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let live = record::get::<WorkspaceSession>(tx, tenant, sid.as_uuid())
                        .await?
                        .is_some();
                    if !live {
                        return Err(DbError::not_found(
                            RecordKind::WorkspaceSession,
                            sid.as_uuid(),
                        ));
                    }
                    let mut applied = ScanApplied::default();
                    for update in updates {
                        let (path, seen, private) = match update {
                            FileUpdate::Seen(path, stat) => (path, Some(stat), false),
                            FileUpdate::SeenPrivate(path, stat) => (path, Some(stat), true),
                            FileUpdate::Gone(path) => (path, None, false),
                        };
                        let id = file_id(sid, path);
                        let old = record::load::<File>(tx, tenant, id.as_uuid())
                            .await?
                            .and_then(|s| s.body);
                        let was_live = old.as_ref().is_some_and(|f| !f.is_deleted);
                        let new = match (old, seen) {
                            (None, None) => None,
                            (Some(mut file), None) => {
                                tx.clear(&stats.pack(&path.as_str()));
                                (!file.is_deleted).then(|| {
                                    file.soft_delete(ctx.at);
                                    file
                                })
                            }
                            (old, Some(stat)) => {
                                tx.set(&stats.pack(&path.as_str()), &stat.encode());
                                let checksum = (!private).then(|| hex::encode(stat.sha256));
                                let modified_at = stat.modified_at();
                                match old {
                                    Some(file)
                                        if !file.is_deleted
                                            && file.checksum == checksum
                                            && file.file_size == stat.size
                                            && file.modified_at.map(keys::micros)
                                                == modified_at.map(keys::micros) =>
                                    {
                                        None
                                    }
                                    Some(mut file) => {
                                        if file.is_deleted {
                                            file.undelete(ctx.at);
                                        }
                                        file.checksum = checksum;
                                        file.file_size = stat.size;
                                        file.modified_at = modified_at;
                                        file.updated_at = ctx.at;
                                        Some(file)
                                    }
                                    None => Some(File {
                                        id,
                                        tenant_id: tenant,
                                        workspace_session_id: sid,
                                        workspace_path: session.workspace_path.clone(),
                                        file_path: path.clone(),
                                        file_size: stat.size,
                                        mime_type: mime_type(path).to_owned(),
                                        checksum,
                                        modified_at,
                                        created_at: ctx.at,
                                        updated_at: ctx.at,
                                        last_accessed_at: None,
                                        is_deleted: false,
                                        deleted_at: None,
                                    }),
                                }
                            }
                        };
                        if let Some(file) = new {
                            record::write(tx, &file, ctx, Mode::Upsert).await?;
                            applied.written += 1;
                            match (was_live, file.is_deleted) {
                                (false, false) => applied.added += 1,
                                (true, true) => applied.removed += 1,
                                _ => {}
                            }
                        }
                    }
                    Ok(applied)
                })
            })
            .await
    }

    /// The stats the device's watcher kept for a session's files, by path.
    pub async fn stats(
        &self,
        tenant: TenantId,
        session: SessionId,
    ) -> Result<Vec<(String, FileStat)>> {
        let (begin, end) = keys::file_stats(tenant, session.as_uuid()).range();
        let (begin, end) = (&begin, &end);
        let subspace = keys::file_stats(tenant, session.as_uuid());
        let subspace = &subspace;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    for (key, value) in tx.get_all(begin, end).await? {
                        let Ok(path) = subspace.unpack::<String>(&key) else {
                            continue;
                        };
                        if let Some(stat) = FileStat::decode(&value) {
                            out.push((path, stat));
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }

    /// A file record by id (soft-deleted ones included).
    pub async fn get(&self, tenant: TenantId, id: FileId) -> Result<File> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<File>(tx, tenant, id.as_uuid()).await })
            })
            .await
    }

    /// The record of `file_path` in a session, if any.
    pub async fn get_by_path(
        &self,
        tenant: TenantId,
        session: SessionId,
        file_path: &str,
    ) -> Result<Option<File>> {
        let prefix = keys::index(tenant, BY_SESSION)
            .subspace(&(session.as_uuid(), file_path))
            .bytes()
            .to_vec();
        let prefix = &prefix;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let ids = record::index_ids(tx, prefix, 1, false).await?;
                    Ok(record::get_many::<File>(tx, tenant, &ids).await?.pop())
                })
            })
            .await
    }

    /// The path and checksum of every live file of a session, in path
    /// order, read from index keys alone; `None` when some records were
    /// written before that index existed (then read the records).
    pub async fn sums_by_session(
        &self,
        tenant: TenantId,
        session: SessionId,
    ) -> Result<Option<Vec<(String, Option<String>)>>> {
        let sums = keys::index(tenant, SUMS).subspace(&session.as_uuid());
        let all = keys::index(tenant, BY_SESSION).subspace(&session.as_uuid());
        let (sums, all) = (&sums, &all);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let (begin, end) = sums.range();
                    let mut out = Vec::new();
                    let mut indexed = 0;
                    for (key, _) in tx.get_all(&begin, &end).await? {
                        indexed += 1;
                        let Ok((path, deleted, sum, _)) =
                            sums.unpack::<(String, bool, String, Uuid)>(&key)
                        else {
                            return Ok(None);
                        };
                        if !deleted {
                            out.push((path, (!sum.is_empty()).then_some(sum)));
                        }
                    }
                    let (begin, end) = all.range();
                    let records = tx.get_all(&begin, &end).await?.len();
                    Ok((records == indexed).then_some(out))
                })
            })
            .await
    }

    /// The live records of `file_path` in the newest sessions (at most
    /// `limit`) of a workspace: by its identity, every device's checkout
    /// whatever its path.
    pub async fn in_workspace(
        &self,
        tenant: TenantId,
        workspace: &str,
        file_path: &str,
        limit: usize,
    ) -> Result<Vec<File>> {
        let sessions = crate::repos::sessions::Sessions { store: self.store }
            .by_workspace(tenant, workspace, limit)
            .await?;
        let mut out = Vec::new();
        for session in sessions {
            if let Some(file) = self.get_by_path(tenant, session.id, file_path).await?
                && !file.is_deleted
            {
                out.push(file);
            }
        }
        Ok(out)
    }

    /// A session's file records in path order; soft-deleted ones only when
    /// `include_deleted`.
    pub async fn list_by_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        include_deleted: bool,
    ) -> Result<Vec<File>> {
        let prefix = keys::index(tenant, BY_SESSION)
            .subspace(&session.as_uuid())
            .bytes()
            .to_vec();
        let mut files: Vec<File> =
            record::list_by_index(self.store, tenant, &prefix, 0, false).await?;
        files.retain(|f| include_deleted || !f.is_deleted);
        Ok(files)
    }

    /// A page of a session's file records in path order: at most `limit`
    /// after the path `after` (from the first when `None`), soft-deleted
    /// ones only when `include_deleted`; read a page per transaction.
    pub async fn page_by_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        after: Option<&str>,
        limit: usize,
        include_deleted: bool,
    ) -> Result<Vec<File>> {
        let subspace = keys::index(tenant, BY_SESSION).subspace(&session.as_uuid());
        let (first, end) = subspace.range();
        // Keys are `(path, id)` under the session: past every key of `after`.
        let begin = match after {
            Some(path) => stint_store::prefix_end(subspace.subspace(&path).bytes()),
            None => first,
        };
        record::first_matching(
            self.store,
            tenant,
            (&begin, &end),
            false,
            limit,
            |f: &File| include_deleted || !f.is_deleted,
        )
        .await
    }

    /// The live records of `file_path` in `workspace_path`, in any session:
    /// "which sessions touched this file?".
    /// At most `limit`, read in pages.
    pub async fn by_path(
        &self,
        tenant: TenantId,
        workspace_path: &str,
        file_path: &str,
        limit: usize,
    ) -> Result<Vec<File>> {
        let prefix = keys::index(tenant, BY_PATH)
            .subspace(&(workspace_path, file_path))
            .bytes()
            .to_vec();
        self.live(tenant, prefix, limit).await
    }

    /// The live records whose content has this SHA-256, in any session; at
    /// most `limit`, read in pages.
    pub async fn by_checksum(
        &self,
        tenant: TenantId,
        sha256: &str,
        limit: usize,
    ) -> Result<Vec<File>> {
        let prefix = keys::index(tenant, BY_CHECKSUM)
            .subspace(&sha256)
            .bytes()
            .to_vec();
        self.live(tenant, prefix, limit).await
    }

    async fn live(&self, tenant: TenantId, prefix: Vec<u8>, limit: usize) -> Result<Vec<File>> {
        let end = stint_store::prefix_end(&prefix);
        record::first_matching(
            self.store,
            tenant,
            (&prefix, &end),
            false,
            limit,
            |f: &File| !f.is_deleted,
        )
        .await
    }

    /// Marks a file deleted (kept until purged; see [`Files::undelete`]).
    pub async fn soft_delete(
        &self,
        tenant: TenantId,
        id: FileId,
        ctx: &WriteCtx<'_>,
    ) -> Result<File> {
        self.mark(tenant, id, ctx, true).await
    }

    /// Brings a soft-deleted file back.
    pub async fn undelete(&self, tenant: TenantId, id: FileId, ctx: &WriteCtx<'_>) -> Result<File> {
        self.mark(tenant, id, ctx, false).await
    }

    async fn mark(
        &self,
        tenant: TenantId,
        id: FileId,
        ctx: &WriteCtx<'_>,
        deleted: bool,
    ) -> Result<File> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut file = record::must_get::<File>(tx, tenant, id.as_uuid()).await?;
                    // Told even when there is nothing to change (deleted
                    // again): the request succeeded.
                    crate::repos::audit::record_in(tx, ctx).await?;
                    if file.is_deleted != deleted {
                        if deleted {
                            file.soft_delete(ctx.at);
                        } else {
                            file.undelete(ctx.at);
                        }
                        record::write(tx, &file, ctx, Mode::Update).await?;
                    }
                    Ok(file)
                })
            })
            .await
    }

    /// Removes records soft-deleted before `before`, at most `batch` per
    /// call. Returns how many were removed.
    pub async fn purge_deleted(
        &self,
        tenant: TenantId,
        before: Timestamp,
        batch: usize,
    ) -> Result<usize> {
        let ix = keys::index(tenant, DELETED);
        let (begin, _) = ix.range();
        let end = ix.pack(&(micros(before),));
        let ctx = WriteCtx {
            at: before,
            device: None,
            origin: crate::record::Origin::Server,
            audit: None,
        };
        record::purge::<File>(self.store, tenant, (begin, end), batch, &ctx).await
    }
}
