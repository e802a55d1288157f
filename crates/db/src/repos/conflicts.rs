//! Conflicts: the losing values of concurrent edits, by record.

use stint_model::{Conflict, ConflictId, RecordKind, TenantId, Validate, ValidationError};
use stint_store::Store;
use uuid::Uuid;

use crate::error::DbError;
use crate::error::Result;
use crate::keys;
use crate::record::{self, Record, WriteCtx, with_synced_type};

const BY_RECORD: &str = "conflict_by_record";

impl Record for Conflict {
    const KIND: RecordKind = RecordKind::Conflict;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        vec![keys::index(self.tenant_id, BY_RECORD).pack(&(self.record_id, self.id.as_uuid()))]
    }
    fn owner(&self) -> Option<stint_model::UserId> {
        self.owner
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The conflicts repository.
#[derive(Debug, Clone, Copy)]
pub struct Conflicts<'a> {
    pub(crate) store: &'a Store,
}

impl Conflicts<'_> {
    /// Every open conflict of a tenant, oldest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Conflict>> {
        let prefix = keys::index(tenant, BY_RECORD).bytes().to_vec();
        self.by_prefix(tenant, &prefix).await
    }

    /// The open conflicts of one record, oldest first.
    pub async fn of_record(&self, tenant: TenantId, record: Uuid) -> Result<Vec<Conflict>> {
        let prefix = keys::index(tenant, BY_RECORD)
            .subspace(&record)
            .bytes()
            .to_vec();
        let mut conflicts = self.by_prefix(tenant, &prefix).await?;
        conflicts.sort_by_key(|c| c.id);
        Ok(conflicts)
    }

    async fn by_prefix(&self, tenant: TenantId, prefix: &[u8]) -> Result<Vec<Conflict>> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let ids = record::index_ids(tx, prefix, 0, false).await?;
                    let mut conflicts = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(c) = record::get::<Conflict>(tx, tenant, id).await? {
                            conflicts.push(c);
                        }
                    }
                    Ok(conflicts)
                })
            })
            .await
    }

    /// One conflict.
    pub async fn get(&self, tenant: TenantId, id: ConflictId) -> Result<Conflict> {
        self.store
            .run(|tx| {
                Box::pin(
                    async move { record::must_get::<Conflict>(tx, tenant, id.as_uuid()).await },
                )
            })
            .await
    }

    /// Closes a conflict (the user chose).
    pub async fn delete(&self, tenant: TenantId, id: ConflictId, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(
                    async move { record::remove::<Conflict>(tx, tenant, id.as_uuid(), ctx).await },
                )
            })
            .await
    }

    /// Takes the side of a lost delete: the record is deleted after all
    /// and the conflict closes, together.
    pub async fn take_deletion(&self, conflict: &Conflict, ctx: &WriteCtx<'_>) -> Result<()> {
        let (tenant, kind, record) = (conflict.tenant_id, conflict.kind, conflict.record_id);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    with_synced_type!(kind, R => {
                        match record::remove::<R>(tx, tenant, record, ctx).await {
                            Ok(()) | Err(DbError::NotFound { .. }) => {}
                            Err(e) => return Err(e),
                        }
                    }, _ => {});
                    record::remove::<Conflict>(tx, tenant, conflict.id.as_uuid(), ctx).await
                })
            })
            .await
    }
}
