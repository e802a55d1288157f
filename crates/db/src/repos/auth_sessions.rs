//! Auth sessions: refresh-token rows, by user, by family, by token hash.

use stint_model::{
    AuthSession, AuthSessionId, RecordKind, TenantId, Timestamp, TokenFamily, UserId, Validate,
    ValidationError,
};
use stint_store::{Store, tuple::TuplePack, tuple::unpack};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys::{self, micros};
use crate::record::{self, Mode, Record, WriteCtx};

const BY_USER: &str = "auth_by_user";
const BY_FAMILY: &str = "auth_by_family";
const BY_EXPIRY: &str = "auth_by_expiry";

impl Record for AuthSession {
    const KIND: RecordKind = RecordKind::AuthSession;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id) = (self.tenant_id, self.id.as_uuid());
        vec![
            keys::index(t, BY_USER).pack(&(self.user_id.as_uuid(), id)),
            keys::index(t, BY_FAMILY).pack(&(self.token_family.as_uuid(), id)),
            keys::index(t, BY_EXPIRY).pack(&(micros(self.refresh_expires_at), id)),
        ]
    }
    fn global_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let holder = (self.tenant_id.as_uuid(), self.id.as_uuid()).pack_to_vec();
        vec![(keys::refresh(&self.refresh_token_hash), holder)]
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The auth sessions repository.
#[derive(Debug, Clone, Copy)]
pub struct AuthSessions<'a> {
    pub(crate) store: &'a Store,
}

impl AuthSessions<'_> {
    /// Stores the first row of a new family (a login). Its device, if it
    /// names one, becomes the user's: a device id belongs to the first
    /// account that signs in with it, and another account's login naming
    /// it is refused with `Conflict` (it would push as that device).
    pub async fn create(&self, session: &AuthSession, ctx: &WriteCtx) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    if let Some(device) = session.device_id {
                        let key = keys::device_owner(device.as_uuid());
                        let user = session.user_id.as_uuid();
                        match tx.get(&key).await? {
                            Some(owner) if owner.as_slice() == user.as_bytes() => {}
                            Some(_) => {
                                return Err(DbError::Conflict(format!(
                                    "device {device} belongs to another account: sign in without it, or with a new one"
                                )));
                            }
                            None => tx.set(&key, user.as_bytes()),
                        }
                    }
                    record::write(tx, session, ctx, Mode::Insert).await
                })
            })
            .await
            .map(drop)
    }

    /// A row by id.
    pub async fn get(&self, tenant: TenantId, id: AuthSessionId) -> Result<AuthSession> {
        self.store
            .run(|tx| {
                Box::pin(
                    async move { record::must_get::<AuthSession>(tx, tenant, id.as_uuid()).await },
                )
            })
            .await
    }

    /// The row holding the refresh token with this SHA-256 (hex), whatever
    /// its state: the caller decides whether it may be used.
    pub async fn get_by_refresh_hash(&self, hash: &str) -> Result<Option<AuthSession>> {
        let key = keys::refresh(hash);
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let Some(holder) = tx.get(key).await? else {
                        return Ok(None);
                    };
                    let (tenant, id): (Uuid, Uuid) =
                        unpack(&holder).map_err(|e| DbError::Corrupt {
                            kind: RecordKind::AuthSession,
                            reason: format!("refresh index: {e}"),
                        })?;
                    record::get::<AuthSession>(tx, TenantId::from(tenant), id).await
                })
            })
            .await
    }

    /// Every row of a family, oldest first.
    pub async fn list_by_family(
        &self,
        tenant: TenantId,
        family: TokenFamily,
    ) -> Result<Vec<AuthSession>> {
        let prefix = keys::index(tenant, BY_FAMILY)
            .subspace(&family.as_uuid())
            .bytes()
            .to_vec();
        self.list(tenant, prefix).await
    }

    /// Every row of a user, oldest first.
    pub async fn list_by_user(&self, tenant: TenantId, user: UserId) -> Result<Vec<AuthSession>> {
        let prefix = keys::index(tenant, BY_USER)
            .subspace(&user.as_uuid())
            .bytes()
            .to_vec();
        self.list(tenant, prefix).await
    }

    async fn list(&self, tenant: TenantId, prefix: Vec<u8>) -> Result<Vec<AuthSession>> {
        record::list_by_index(self.store, tenant, &prefix, 0, false).await
    }

    /// Exchanges `old` for `next` in one transaction: `old` is marked
    /// rotated and `next` stored. Fails with `Conflict` if `old` was already
    /// rotated or revoked meanwhile, so of two concurrent refreshes with one
    /// token exactly one wins. Retrying the same exchange is a no-op.
    pub async fn rotate(
        &self,
        tenant: TenantId,
        old: AuthSessionId,
        next: &AuthSession,
        ctx: &WriteCtx,
    ) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut current =
                        record::must_get::<AuthSession>(tx, tenant, old.as_uuid()).await?;
                    if current.replaced_by == Some(next.id) {
                        return Ok(()); // this very exchange, retried
                    }
                    if !current.is_usable(ctx.at) {
                        return Err(DbError::Conflict(
                            "the refresh token was already used or revoked".into(),
                        ));
                    }
                    current.rotated_at = Some(next.created_at);
                    current.replaced_by = Some(next.id);
                    record::write(tx, &current, ctx, Mode::Update).await?;
                    record::write(tx, next, ctx, Mode::Insert).await.map(drop)
                })
            })
            .await
    }

    /// Revokes every row of a family (logout of one device, or reuse of a
    /// rotated token). Returns how many rows this call revoked.
    pub async fn revoke_family(
        &self,
        tenant: TenantId,
        family: TokenFamily,
        ctx: &WriteCtx,
    ) -> Result<usize> {
        let prefix = keys::index(tenant, BY_FAMILY)
            .subspace(&family.as_uuid())
            .bytes()
            .to_vec();
        self.revoke(tenant, prefix, ctx).await
    }

    /// Revokes every row of a user (logout everywhere), or every row but
    /// those of `keep` (a password change keeps the login that made it).
    pub async fn revoke_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<TokenFamily>,
        ctx: &WriteCtx,
    ) -> Result<usize> {
        let prefix = keys::index(tenant, BY_USER)
            .subspace(&user.as_uuid())
            .bytes()
            .to_vec();
        let rows = self.list(tenant, prefix).await?;
        let doomed = rows
            .into_iter()
            .filter(|r| Some(r.token_family) != keep)
            .collect();
        self.revoke_rows(tenant, doomed, ctx).await
    }

    /// Selects the live rows first (a read, never rerun), then revokes
    /// exactly those: the count stays true even if the write is retried.
    async fn revoke(&self, tenant: TenantId, prefix: Vec<u8>, ctx: &WriteCtx) -> Result<usize> {
        let rows = self.list(tenant, prefix).await?;
        self.revoke_rows(tenant, rows, ctx).await
    }

    async fn revoke_rows(
        &self,
        tenant: TenantId,
        rows: Vec<AuthSession>,
        ctx: &WriteCtx,
    ) -> Result<usize> {
        let live: Vec<AuthSession> = rows
            .into_iter()
            .filter(|r| r.revoked_at.is_none())
            .collect();
        let live = &live;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    for row in live {
                        // Re-read: another request may have changed it since.
                        let Some(mut current) =
                            record::get::<AuthSession>(tx, tenant, row.id.as_uuid()).await?
                        else {
                            continue;
                        };
                        if current.revoked_at.is_none() {
                            current.revoked_at = Some(ctx.at);
                            record::write(tx, &current, ctx, Mode::Update).await?;
                        }
                    }
                    Ok::<_, DbError>(())
                })
            })
            .await?;
        Ok(live.len())
    }

    /// Deletes rows whose refresh token expired before `now`, at most
    /// `batch` per call (call again while it returns `batch`). Returns how
    /// many it deleted.
    pub async fn purge_expired(
        &self,
        tenant: TenantId,
        now: Timestamp,
        batch: usize,
    ) -> Result<usize> {
        let ix = keys::index(tenant, BY_EXPIRY);
        let (begin, _) = ix.range();
        let end = ix.pack(&(micros(now),));
        let ctx = WriteCtx {
            at: now,
            device: None,
            origin: crate::record::Origin::Server,
        };
        record::purge::<AuthSession>(self.store, tenant, (begin, end), batch, &ctx).await
    }
}
