//! Users, unique by email across the server.

use stint_model::{
    Membership, RecordKind, Tenant, TenantId, User, UserId, UserRole, Validate, ValidationError,
    validate,
};
use stint_store::{Store, tuple::TuplePack, tuple::unpack};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;
use crate::record::{self, Mode, Record, WriteCtx};
use crate::repos::members;

impl Record for User {
    const KIND: RecordKind = RecordKind::User;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn global_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let holder = (self.tenant_id.as_uuid(), self.id.as_uuid()).pack_to_vec();
        vec![(keys::email(&self.email), holder)]
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The users repository.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) store: &'a Store,
}

impl Users<'_> {
    /// Creates a user, their personal tenant and their Admin membership of
    /// it in one transaction: all exist, or none. Fails with
    /// `AlreadyExists` if the email is taken.
    pub async fn create_with_tenant(
        &self,
        user: &User,
        tenant: &Tenant,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        if user.tenant_id != tenant.id {
            return Err(DbError::BrokenReference(
                "the user must live in the tenant created with it".into(),
            ));
        }
        let mut owner = Membership::new(tenant.id, user.id, tenant.id, UserRole::Admin);
        owner.created_at = ctx.at;
        let owner = &owner;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::write(tx, tenant, ctx, Mode::Insert).await?;
                    record::write(tx, user, ctx, Mode::Insert).await?;
                    members::put_in(tx, owner);
                    Ok(())
                })
            })
            .await
    }

    /// A user by id, within their tenant.
    pub async fn get(&self, tenant: TenantId, id: UserId) -> Result<User> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<User>(tx, tenant, id.as_uuid()).await })
            })
            .await
    }

    /// The user with this email (normalized first), for login.
    pub async fn get_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = validate::normalize_email(email);
        // No account has a longer one, and a key of any length is not one
        // the store takes.
        if email.len() > validate::MAX_EMAIL_BYTES {
            return Ok(None);
        }
        let key = keys::email(&email);
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let Some(holder) = tx.get(key).await? else {
                        return Ok(None);
                    };
                    let (tenant, id): (Uuid, Uuid) =
                        unpack(&holder).map_err(|e| DbError::Corrupt {
                            kind: RecordKind::User,
                            reason: format!("email index: {e}"),
                        })?;
                    record::get::<User>(tx, TenantId::from(tenant), id).await
                })
            })
            .await
    }

    /// Changes a user (profile, password hash, last login). A changed email
    /// moves its lookup entry, and fails if the new one is taken.
    pub async fn update(&self, user: &User, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, user, ctx, Mode::Update).await }))
            .await
            .map(drop)
    }

    /// Deletes a user and frees their email.
    pub async fn delete(&self, tenant: TenantId, id: UserId, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::remove::<User>(tx, tenant, id.as_uuid(), ctx).await })
            })
            .await
    }

    /// The users stored in a tenant.
    pub async fn list_by_tenant(&self, tenant: TenantId) -> Result<Vec<User>> {
        self.store
            .run(|tx| Box::pin(async move { record::scan::<User>(tx, tenant, 0).await }))
            .await
    }
}
