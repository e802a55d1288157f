//! Memberships: who belongs to a tenant, with which role.
//!
//! ```text
//! ("t", tenant, "member", user)     the membership (JSON)
//! ("g", "member_of", user, tenant)  the user's tenants, for "list my tenants"
//! ```

use stint_model::{Membership, RecordKind, TenantId, UserId, UserRole};
use stint_store::tuple::TuplePack;
use stint_store::{Store, Tx};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;
use crate::record::WriteCtx;

fn member_key(tenant: TenantId, user: UserId) -> Vec<u8> {
    keys::tenant(tenant).pack(&("member", user.as_uuid()))
}

fn member_of_key(user: UserId, tenant: TenantId) -> Vec<u8> {
    ("g", "member_of", user.as_uuid(), tenant.as_uuid()).pack_to_vec()
}

fn corrupt(e: &serde_json::Error) -> DbError {
    DbError::Corrupt {
        kind: RecordKind::Tenant,
        reason: format!("membership: {e}"),
    }
}

/// Writes a membership inside the caller's transaction (idempotent).
pub(crate) fn put_in(tx: &mut Tx<'_>, membership: &Membership) {
    let value = serde_json::to_vec(membership).expect("a membership serializes");
    tx.set(
        &member_key(membership.tenant_id, membership.user_id),
        &value,
    );
    tx.set(
        &member_of_key(membership.user_id, membership.tenant_id),
        &[],
    );
}

pub(crate) async fn get_in(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Membership>> {
    match tx.get(&member_key(tenant, user)).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(&e)),
        None => Ok(None),
    }
}

pub(crate) async fn list_in(tx: &mut Tx<'_>, tenant: TenantId) -> Result<Vec<Membership>> {
    let (begin, end) = keys::tenant(tenant).subspace(&"member").range();
    tx.get_all(&begin, &end)
        .await?
        .iter()
        .map(|(_, v)| serde_json::from_slice(v).map_err(|e| corrupt(&e)))
        .collect()
}

/// Removes every `member_of` entry pointing into `tenant` (tenant deletion).
pub(crate) async fn forget_tenant_in(tx: &mut Tx<'_>, tenant: TenantId) -> Result<()> {
    for m in list_in(tx, tenant).await? {
        tx.clear(&member_of_key(m.user_id, tenant));
    }
    Ok(())
}

/// The memberships repository.
#[derive(Debug, Clone, Copy)]
pub struct Members<'a> {
    pub(crate) store: &'a Store,
}

impl Members<'_> {
    /// A user's membership of a tenant, if any.
    pub async fn get(&self, tenant: TenantId, user: UserId) -> Result<Option<Membership>> {
        self.store
            .run(|tx| Box::pin(async move { get_in(tx, tenant, user).await }))
            .await
    }

    /// Adds a member, or changes their role. Refuses to demote the last
    /// Admin: a tenant always keeps one.
    pub async fn put(&self, membership: &Membership, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    crate::repos::audit::record_in(tx, ctx).await?;
                    if membership.role != UserRole::Admin {
                        ensure_other_admin(tx, membership.tenant_id, membership.user_id).await?;
                    }
                    put_in(tx, membership);
                    Ok(())
                })
            })
            .await
    }

    /// Removes a member. `NotFound` if they are not one; refuses to remove
    /// the last Admin.
    pub async fn remove(&self, tenant: TenantId, user: UserId, ctx: &WriteCtx<'_>) -> Result<()> {
        // Existence is a read of its own (never rerun), so that the removal
        // below may safely run twice.
        if self.get(tenant, user).await?.is_none() {
            return Err(DbError::not_found(RecordKind::User, user));
        }
        self.store
            .run(|tx| {
                Box::pin(async move {
                    crate::repos::audit::record_in(tx, ctx).await?;
                    ensure_other_admin(tx, tenant, user).await?;
                    tx.clear(&member_key(tenant, user));
                    tx.clear(&member_of_key(user, tenant));
                    Ok(())
                })
            })
            .await
    }

    /// Every member of a tenant.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Membership>> {
        self.store
            .run(|tx| Box::pin(async move { list_in(tx, tenant).await }))
            .await
    }

    /// Every tenant a user belongs to, with their membership.
    pub async fn tenants_of(&self, user: UserId) -> Result<Vec<Membership>> {
        let prefix = ("g", "member_of", user.as_uuid()).pack_to_vec();
        let prefix = &prefix;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let ids = crate::record::index_ids(tx, prefix, 0, false).await?;
                    let mut out = Vec::with_capacity(ids.len());
                    for tenant in ids {
                        if let Some(m) = get_in(tx, TenantId::from(tenant), user).await? {
                            out.push(m);
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }
}

/// Fails with `Conflict` if `user` is the only Admin of `tenant`.
async fn ensure_other_admin(tx: &mut Tx<'_>, tenant: TenantId, user: UserId) -> Result<()> {
    let admins: Vec<Uuid> = list_in(tx, tenant)
        .await?
        .iter()
        .filter(|m| m.role == UserRole::Admin)
        .map(|m| m.user_id.as_uuid())
        .collect();
    if admins == [user.as_uuid()] {
        return Err(DbError::Conflict(
            "a tenant must keep at least one Admin".into(),
        ));
    }
    Ok(())
}
