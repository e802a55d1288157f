//! File records: which files a session's workspace holds, with checksums.

use stint_model::{
    File, FileId, RecordKind, SessionId, TenantId, Timestamp, Validate, ValidationError,
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

/// The files repository.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    pub(crate) store: &'a Store,
}

impl Files<'_> {
    /// Creates or replaces a file record. Its session must exist in the same
    /// tenant, and a session holds one record per path.
    pub async fn put(&self, file: &File, ctx: &WriteCtx) -> Result<()> {
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
        let mut files = self.by_prefix(tenant, prefix).await?;
        files.retain(|f| include_deleted || !f.is_deleted);
        Ok(files)
    }

    /// The live records of `file_path` in `workspace_path`, in any session:
    /// "which sessions touched this file?".
    pub async fn by_path(
        &self,
        tenant: TenantId,
        workspace_path: &str,
        file_path: &str,
    ) -> Result<Vec<File>> {
        let prefix = keys::index(tenant, BY_PATH)
            .subspace(&(workspace_path, file_path))
            .bytes()
            .to_vec();
        let mut files = self.by_prefix(tenant, prefix).await?;
        files.retain(|f| !f.is_deleted);
        Ok(files)
    }

    /// The live records whose content has this SHA-256, in any session.
    pub async fn by_checksum(&self, tenant: TenantId, sha256: &str) -> Result<Vec<File>> {
        let prefix = keys::index(tenant, BY_CHECKSUM)
            .subspace(&sha256)
            .bytes()
            .to_vec();
        let mut files = self.by_prefix(tenant, prefix).await?;
        files.retain(|f| !f.is_deleted);
        Ok(files)
    }

    async fn by_prefix(&self, tenant: TenantId, prefix: Vec<u8>) -> Result<Vec<File>> {
        record::list_by_index(self.store, tenant, &prefix, 0, false).await
    }

    /// Marks a file deleted (kept until purged; see [`Files::undelete`]).
    pub async fn soft_delete(&self, tenant: TenantId, id: FileId, ctx: &WriteCtx) -> Result<File> {
        self.mark(tenant, id, ctx, true).await
    }

    /// Brings a soft-deleted file back.
    pub async fn undelete(&self, tenant: TenantId, id: FileId, ctx: &WriteCtx) -> Result<File> {
        self.mark(tenant, id, ctx, false).await
    }

    async fn mark(
        &self,
        tenant: TenantId,
        id: FileId,
        ctx: &WriteCtx,
        deleted: bool,
    ) -> Result<File> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut file = record::must_get::<File>(tx, tenant, id.as_uuid()).await?;
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
        };
        record::purge::<File>(self.store, tenant, (begin, end), batch, &ctx).await
    }
}
