//! Tenants, and deleting one whole.

use stint_model::{
    AuthSession, Membership, RecordKind, Tenant, TenantId, User, UserRole, Validate,
    ValidationError,
};
use stint_store::{Store, tuple::TuplePack};
use uuid::Uuid;

use crate::error::Result;
use crate::keys;
use crate::record::{self, Mode, Record, WriteCtx};
use crate::repos::members;

impl Record for Tenant {
    const KIND: RecordKind = RecordKind::Tenant;
    fn tenant(&self) -> TenantId {
        self.id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn global_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        if self.is_active {
            vec![(keys::active_tenants().pack(&self.id.as_uuid()), Vec::new())]
        } else {
            Vec::new()
        }
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The tenants repository.
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    pub(crate) store: &'a Store,
}

impl Tenants<'_> {
    /// Creates a tenant.
    pub async fn create(&self, tenant: &Tenant, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, tenant, ctx, Mode::Insert).await }))
            .await
            .map(drop)
    }

    /// Creates an organization and its owner's Admin membership, together.
    pub async fn create_with_owner(
        &self,
        tenant: &Tenant,
        owner_tenant: TenantId,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        let mut owner = Membership::new(tenant.id, tenant.owner_id, owner_tenant, UserRole::Admin);
        owner.created_at = ctx.at;
        let owner = &owner;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::write(tx, tenant, ctx, Mode::Insert).await?;
                    members::put_in(tx, owner);
                    Ok(())
                })
            })
            .await
    }

    /// A tenant by id.
    pub async fn get(&self, id: TenantId) -> Result<Tenant> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<Tenant>(tx, id, id.as_uuid()).await })
            })
            .await
    }

    /// Changes a tenant (name, plan, settings, active flag).
    pub async fn update(&self, tenant: &Tenant, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, tenant, ctx, Mode::Update).await }))
            .await
            .map(drop)
    }

    /// The ids of active tenants, in id order, at most `limit` (0 for all).
    pub async fn list_active(&self, limit: usize) -> Result<Vec<TenantId>> {
        let prefix = keys::active_tenants().bytes().to_vec();
        let prefix = &prefix;
        let ids = self
            .store
            .run(|tx| Box::pin(async move { record::index_ids(tx, prefix, limit, false).await }))
            .await?;
        Ok(ids.into_iter().map(TenantId::from).collect())
    }

    /// Deletes a tenant and everything in it: its whole key range, and the
    /// global lookups (emails, refresh tokens) that point into it.
    ///
    /// One transaction, so it is all or nothing; a tenant too large for one
    /// transaction's limits fails with 2101 and is left intact.
    pub async fn delete(&self, id: TenantId) -> Result<()> {
        // Whether it exists is asked first, by a read that is never rerun: the
        // delete itself must succeed when retried after a "commit unknown".
        self.get(id).await?;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let Some(tenant) = record::get::<Tenant>(tx, id, id.as_uuid()).await? else {
                        return Ok(()); // deleted meanwhile, or this delete retried
                    };
                    let here = |tenant: TenantId, rec: Uuid| (tenant.as_uuid(), rec).pack_to_vec();
                    for user in record::scan::<User>(tx, id, 0).await? {
                        let key = keys::email(&user.email);
                        if tx.get(&key).await?.as_deref() == Some(&here(id, user.id.as_uuid())) {
                            tx.clear(&key);
                        }
                    }
                    for session in record::scan::<AuthSession>(tx, id, 0).await? {
                        tx.clear(&keys::refresh(&session.refresh_token_hash));
                    }
                    members::forget_tenant_in(tx, id).await?;
                    for (key, _) in tenant.global_entries() {
                        tx.clear(&key);
                    }
                    let (begin, end) = keys::tenant(id).range();
                    tx.clear_range(&begin, &end);
                    Ok(())
                })
            })
            .await
    }
}
