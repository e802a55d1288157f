//! Auth sessions: refresh-token rows, by user, by family, by token hash.
//!
//! Revocation and rotation stay bounded however long a login lives:
//!
//! - A family (one login and all its rotations) is revoked by one key,
//!   `("auth", "revoked", family)`: every read of a row consults it, so
//!   logout, logout-all and reuse detection write one key per family, not
//!   one per row (a login refreshed 11,000 times has 11,000 of them).
//! - Rotation prunes: a family keeps its live row and the one it replaced
//!   (the grace window needs it); older rows go, each leaving only the hash
//!   of its token (`("g", "spent", hash)`), so that presenting it again is
//!   still caught as reuse and revokes the family. Spent hashes go once
//!   their token would have expired, revocations once every token of the
//!   family has.

use serde::{Deserialize, Serialize};
use stint_model::{
    AuthSession, AuthSessionId, DeviceId, RecordKind, TenantId, Timestamp, TokenFamily, User,
    UserId, Validate, ValidationError,
};
use stint_store::{RangeRequest, Store, Tx, tuple::TuplePack, tuple::unpack};
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

/// What is left of a row pruned after its token was exchanged.
#[derive(Debug, Serialize, Deserialize)]
struct Spent {
    tenant: TenantId,
    id: AuthSessionId,
    user: UserId,
    family: TokenFamily,
    rotated_at: Timestamp,
    refresh_expires_at: Timestamp,
}

/// Rows pruned per rotation at most (a family pruned since it began has one).
const PRUNE_PER_ROTATION: usize = 64;

/// Rows read per transaction when revoking every login of a user.
const REVOKE_PAGE: usize = 500;

fn corrupt(what: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt {
        kind: RecordKind::AuthSession,
        reason: format!("{what}: {e}"),
    }
}

/// When `family` was revoked, if it was.
async fn revoked_at(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    family: TokenFamily,
) -> Result<Option<Timestamp>> {
    match tx
        .get(&keys::revoked_family(tenant, family.as_uuid()))
        .await?
    {
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| corrupt("revocation", e)),
        None => Ok(None),
    }
}

/// `row` as it stands: revoked if its family is.
async fn as_it_stands(tx: &mut Tx<'_>, mut row: AuthSession) -> Result<AuthSession> {
    if row.revoked_at.is_none() {
        row.revoked_at = revoked_at(tx, row.tenant_id, row.token_family).await?;
    }
    Ok(row)
}

/// Revokes `family` at `at` unless it is already.
async fn revoke_in(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    family: TokenFamily,
    at: Timestamp,
) -> Result<()> {
    if revoked_at(tx, tenant, family).await?.is_some() {
        return Ok(());
    }
    tx.set(
        &keys::revoked_family(tenant, family.as_uuid()),
        &serde_json::to_vec(&at).expect("a time serializes"),
    );
    tx.set(
        &keys::revoked_by_time(tenant).pack(&(micros(at), family.as_uuid())),
        b"",
    );
    Ok(())
}

/// Claims the device a login names for its user: a device id belongs to
/// the first account that signs in with it; `DeviceTaken` when it is
/// another's.
async fn claim_device(tx: &mut Tx<'_>, session: &AuthSession) -> Result<()> {
    let Some(device) = session.device_id else {
        return Ok(());
    };
    let key = keys::device_owner(device.as_uuid());
    let user = session.user_id.as_uuid();
    match tx.get(&key).await? {
        Some(owner) if owner.as_slice() == user.as_bytes() => Ok(()),
        Some(_) => Err(DbError::DeviceTaken(device)),
        None => {
            tx.set(&key, user.as_bytes());
            Ok(())
        }
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
    pub async fn create(&self, session: &AuthSession, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    claim_device(tx, session).await?;
                    record::write(tx, session, ctx, Mode::Insert).await
                })
            })
            .await
            .map(drop)
    }

    /// [`AuthSessions::create`], storing `user` too (as signed in: their
    /// last login), in the same transaction: a login is one commit.
    pub async fn create_signed_in(
        &self,
        session: &AuthSession,
        user: &User,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    claim_device(tx, session).await?;
                    record::write(tx, user, ctx, Mode::Update).await?;
                    record::write(tx, session, ctx, Mode::Insert).await
                })
            })
            .await
            .map(drop)
    }

    /// Whether `device` may be `user`'s: unclaimed, or claimed by them.
    pub async fn device_free_for(&self, device: DeviceId, user: UserId) -> Result<bool> {
        Ok(self
            .device_owner(device)
            .await?
            .is_none_or(|owner| owner == user))
    }

    /// The account a device id belongs to, if one claimed it.
    pub async fn device_owner(&self, device: DeviceId) -> Result<Option<UserId>> {
        let key = keys::device_owner(device.as_uuid());
        let key = &key;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    tx.get(key)
                        .await?
                        .map(|owner| {
                            Uuid::from_slice(&owner)
                                .map(UserId::from)
                                .map_err(|e| corrupt("device owner", e))
                        })
                        .transpose()
                })
            })
            .await
    }

    /// Whether a login (token family) was revoked. A long-lived answer
    /// asks this rather than for the row its token names, which rotation
    /// prunes while the login lives on.
    pub async fn family_revoked(&self, tenant: TenantId, family: TokenFamily) -> Result<bool> {
        self.store
            .run(|tx| Box::pin(async move { Ok(revoked_at(tx, tenant, family).await?.is_some()) }))
            .await
    }

    /// A row by id, revoked if its family is.
    pub async fn get(&self, tenant: TenantId, id: AuthSessionId) -> Result<AuthSession> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let row = record::must_get::<AuthSession>(tx, tenant, id.as_uuid()).await?;
                    as_it_stands(tx, row).await
                })
            })
            .await
    }

    /// The row holding the refresh token with this SHA-256 (hex), whatever
    /// its state: the caller decides whether it may be used. A token whose
    /// row was pruned after it was exchanged comes back as that row,
    /// rotated (and so, presented again, a reuse).
    pub async fn get_by_refresh_hash(&self, hash: &str) -> Result<Option<AuthSession>> {
        let (key, spent) = (keys::refresh(hash), keys::spent_refresh(hash));
        let (key, spent) = (&key, &spent);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let row = match tx.get(key).await? {
                        Some(holder) => {
                            let (tenant, id): (Uuid, Uuid) =
                                unpack(&holder).map_err(|e| corrupt("refresh index", e))?;
                            record::get::<AuthSession>(tx, TenantId::from(tenant), id).await?
                        }
                        None => match tx.get(spent).await? {
                            Some(v) => {
                                let spent: Spent = serde_json::from_slice(&v)
                                    .map_err(|e| corrupt("spent token", e))?;
                                Some(AuthSession {
                                    id: spent.id,
                                    tenant_id: spent.tenant,
                                    user_id: spent.user,
                                    token_family: spent.family,
                                    refresh_token_hash: hash.to_owned(),
                                    created_at: spent.rotated_at,
                                    expires_at: spent.rotated_at,
                                    refresh_expires_at: spent.refresh_expires_at,
                                    ip_address: None,
                                    user_agent: None,
                                    device_id: None,
                                    workspace_session_id: None,
                                    rotated_at: Some(spent.rotated_at),
                                    replaced_by: None,
                                    revoked_at: None,
                                })
                            }
                            None => None,
                        },
                    };
                    match row {
                        Some(row) => as_it_stands(tx, row).await.map(Some),
                        None => Ok(None),
                    }
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
        let prefix = &prefix;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let ids = record::index_ids(tx, prefix, 0, false).await?;
                    let rows: Vec<AuthSession> = record::get_many(tx, tenant, &ids).await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        out.push(as_it_stands(tx, row).await?);
                    }
                    Ok(out)
                })
            })
            .await
    }

    /// Exchanges `old` for `next` in one transaction: `old` is marked
    /// rotated and `next` stored. Fails with `Conflict` if `old` was already
    /// rotated or revoked meanwhile, so of two concurrent refreshes with one
    /// token exactly one wins. Retrying the same exchange is a no-op. Rows
    /// of the family older than `old` are pruned (a few per call).
    pub async fn rotate(
        &self,
        tenant: TenantId,
        old: AuthSessionId,
        next: &AuthSession,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let current =
                        record::must_get::<AuthSession>(tx, tenant, old.as_uuid()).await?;
                    let mut current = as_it_stands(tx, current).await?;
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
                    // A login from before devices were claimed claims its
                    // own at its next refresh.
                    claim_device(tx, next).await?;
                    record::write(tx, &current, ctx, Mode::Update).await?;
                    record::write(tx, next, ctx, Mode::Insert).await?;
                    prune(tx, &current, next, ctx).await
                })
            })
            .await
    }

    /// Revokes a family (logout of one device, or reuse of a rotated
    /// token): one write, however many rows it has. Returns how many
    /// families this call revoked (0 when it was already).
    pub async fn revoke_family(
        &self,
        tenant: TenantId,
        family: TokenFamily,
        ctx: &WriteCtx<'_>,
    ) -> Result<usize> {
        self.revoke_families(tenant, vec![family], ctx).await
    }

    /// Revokes each of `families` not revoked yet. Which those are is read
    /// first, apart from the write, so that the count stays true when the
    /// write is retried.
    async fn revoke_families(
        &self,
        tenant: TenantId,
        families: Vec<TokenFamily>,
        ctx: &WriteCtx<'_>,
    ) -> Result<usize> {
        let families = &families;
        let live = self
            .store
            .run(|tx| {
                Box::pin(async move {
                    let mut live = Vec::new();
                    for family in families {
                        if revoked_at(tx, tenant, *family).await?.is_none() {
                            live.push(*family);
                        }
                    }
                    Ok::<_, DbError>(live)
                })
            })
            .await?;
        let live = &live;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    crate::repos::audit::record_in(tx, ctx).await?;
                    for family in live {
                        revoke_in(tx, tenant, *family, ctx.at).await?;
                    }
                    Ok::<_, DbError>(())
                })
            })
            .await?;
        Ok(live.len())
    }

    /// Revokes every family of a user (logout everywhere), or every one but
    /// `keep` (a password change keeps the login that made it), reading
    /// the user's rows a page per transaction. Returns how many families
    /// this call revoked.
    pub async fn revoke_user(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: Option<TokenFamily>,
        ctx: &WriteCtx<'_>,
    ) -> Result<usize> {
        let index = keys::index(tenant, BY_USER).subspace(&user.as_uuid());
        let (mut from, end) = index.range();
        let mut revoked = 0;
        loop {
            let (begin, end_ref) = (&from, &end);
            let (families, next) = self
                .store
                .run(|tx| {
                    Box::pin(async move {
                        let page = tx
                            .get_range(RangeRequest::new(begin, end_ref).limit(REVOKE_PAGE))
                            .await?;
                        let mut families = std::collections::BTreeSet::new();
                        for (key, _) in &page.items {
                            let id = record::last_uuid(key)?;
                            if let Some(row) = record::get::<AuthSession>(tx, tenant, id).await? {
                                families.insert(row.token_family);
                            }
                        }
                        let next = page
                            .items
                            .last()
                            .filter(|_| page.more)
                            .map(|(key, _)| stint_store::key_after(key));
                        Ok::<_, DbError>((families, next))
                    })
                })
                .await?;
            let families = families.into_iter().filter(|f| Some(*f) != keep).collect();
            revoked += self.revoke_families(tenant, families, ctx).await?;
            match next {
                Some(next) => from = next,
                None => return Ok(revoked),
            }
        }
    }

    /// Deletes rows whose refresh token expired before `now`, at most
    /// `batch` per call, and as many spent tokens that expired (call again
    /// while it returns `batch`). Returns the larger of the two counts.
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
            audit: None,
        };
        let rows =
            record::purge::<AuthSession>(self.store, tenant, (begin, end), batch, &ctx).await?;
        let spent = drain_before(
            self.store,
            &keys::spent_by_expiry(tenant),
            now,
            batch,
            |(_, hash): (i64, String)| keys::spent_refresh(&hash),
        )
        .await?;
        Ok(rows.max(spent))
    }

    /// Forgets revocations made before `before`: once every token a family
    /// ever had has expired (`before` = now − the refresh lifetime), its
    /// revocation guards nothing. At most `batch`; returns how many.
    pub async fn forget_revocations(
        &self,
        tenant: TenantId,
        before: Timestamp,
        batch: usize,
    ) -> Result<usize> {
        drain_before(
            self.store,
            &keys::revoked_by_time(tenant),
            before,
            batch,
            |(_, family): (i64, Uuid)| keys::revoked_family(tenant, family),
        )
        .await
    }
}

/// Clears up to `batch` entries of a time index (`(micros, …)` keys)
/// older than `before`, each with the key `target` names from the entry;
/// returns how many.
async fn drain_before<E: for<'de> stint_store::tuple::TupleUnpack<'de>>(
    store: &Store,
    index: &stint_store::tuple::Subspace,
    before: Timestamp,
    batch: usize,
    target: impl Fn(E) -> Vec<u8> + Sync,
) -> Result<usize> {
    let (begin, _) = index.range();
    let end = index.pack(&(micros(before),));
    let (begin, end, target) = (&begin, &end, &target);
    store
        .run(|tx| {
            Box::pin(async move {
                let page = tx
                    .get_range(RangeRequest::new(begin, end).limit(batch))
                    .await?;
                for (key, _) in &page.items {
                    let entry: E = index.unpack(key).map_err(|e| corrupt("time index", e))?;
                    tx.clear(&target(entry));
                    tx.clear(key);
                }
                Ok::<_, DbError>(page.items.len())
            })
        })
        .await
}

/// Removes the rows of `current`'s family older than it (`next` replaced
/// it just now), leaving their tokens' hashes as spent.
async fn prune(
    tx: &mut Tx<'_>,
    current: &AuthSession,
    next: &AuthSession,
    ctx: &WriteCtx<'_>,
) -> Result<()> {
    let tenant = current.tenant_id;
    let prefix = keys::index(tenant, BY_FAMILY)
        .subspace(&current.token_family.as_uuid())
        .bytes()
        .to_vec();
    let ids = record::index_ids(tx, &prefix, PRUNE_PER_ROTATION + 2, false).await?;
    for id in ids {
        if id == current.id.as_uuid() || id == next.id.as_uuid() {
            continue;
        }
        let Some(row) = record::get::<AuthSession>(tx, tenant, id).await? else {
            continue;
        };
        let Some(rotated_at) = row.rotated_at else {
            continue; // not exchanged: not this rotation's to prune
        };
        let spent = Spent {
            tenant,
            id: row.id,
            user: row.user_id,
            family: row.token_family,
            rotated_at,
            refresh_expires_at: row.refresh_expires_at,
        };
        tx.set(
            &keys::spent_refresh(&row.refresh_token_hash),
            &serde_json::to_vec(&spent).expect("a spent token serializes"),
        );
        tx.set(
            &keys::spent_by_expiry(tenant).pack(&(
                micros(row.refresh_expires_at),
                row.refresh_token_hash.as_str(),
            )),
            b"",
        );
        record::remove::<AuthSession>(tx, tenant, id, ctx).await?;
    }
    Ok(())
}
