//! The audit trail: append-only, queried by user, event type and date.

use stint_model::{
    Audit, AuditEventType, AuditId, RecordKind, TenantId, Timestamp, UserId, ValidationError,
};
use stint_store::tuple::Subspace;
use stint_store::{Store, Tx};
use uuid::Uuid;

use crate::error::Result;
use crate::keys::{self, micros};
use crate::record::{self, Mode, Record, WriteCtx};

const BY_USER: &str = "audit_by_user";
const BY_EVENT: &str = "audit_by_event";
const BY_DATE: &str = "audit_by_date";

fn day(t: Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

impl Record for Audit {
    const KIND: RecordKind = RecordKind::Audit;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id, at) = (self.tenant_id, self.id.as_uuid(), micros(self.created_at));
        let mut keys = vec![
            keys::index(t, BY_EVENT).pack(&(self.event_type.as_str(), at, id)),
            keys::index(t, BY_DATE).pack(&(day(self.created_at), at, id)),
        ];
        if let Some(user) = self.user_id {
            keys.push(keys::index(t, BY_USER).pack(&(user.as_uuid(), at, id)));
        }
        keys
    }
    fn check(&self) -> Result<(), ValidationError> {
        if !(self.event_data.is_object() || self.event_data.is_null()) {
            return Err(ValidationError::new("event_data", "must be a JSON object"));
        }
        Ok(())
    }
}

/// Records the context's audit event, if it has one, in `tx`. Idempotent:
/// a transaction of several writes, or one run again, stores it once.
pub(crate) async fn record_in(tx: &mut Tx<'_>, ctx: &WriteCtx<'_>) -> Result<()> {
    let Some(event) = ctx.audit else {
        return Ok(());
    };
    let ctx = WriteCtx {
        at: event.created_at,
        device: None,
        origin: crate::record::Origin::Server,
        audit: None,
    };
    record::write_unaudited(tx, event, &ctx, Mode::Insert)
        .await
        .map(drop)
}

/// A time window: `from` included, `to` excluded; `None` is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Start (inclusive).
    pub from: Option<Timestamp>,
    /// End (exclusive).
    pub to: Option<Timestamp>,
}

/// The audit repository.
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    pub(crate) store: &'a Store,
}

impl AuditLog<'_> {
    /// Records an event that comes with no write of its own (a failed
    /// login, a refused request). An event of a write goes in the write's
    /// transaction instead: see [`WriteCtx::audited`].
    pub async fn record(&self, event: &Audit) -> Result<()> {
        let ctx = &WriteCtx::now().audited(event);
        self.store
            .run(|tx| Box::pin(async move { record_in(tx, ctx).await }))
            .await
    }

    /// An event by id.
    pub async fn get(&self, tenant: TenantId, id: AuditId) -> Result<Audit> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<Audit>(tx, tenant, id.as_uuid()).await })
            })
            .await
    }

    /// A user's events in `window`, newest first.
    pub async fn by_user(
        &self,
        tenant: TenantId,
        user: UserId,
        window: Window,
        limit: usize,
    ) -> Result<Vec<Audit>> {
        let ix = keys::index(tenant, BY_USER).subspace(&user.as_uuid());
        self.in_window(tenant, &ix, window, limit).await
    }

    /// Events of one type in `window`, newest first.
    pub async fn by_event(
        &self,
        tenant: TenantId,
        event: AuditEventType,
        window: Window,
        limit: usize,
    ) -> Result<Vec<Audit>> {
        let ix = keys::index(tenant, BY_EVENT).subspace(&event.as_str());
        self.in_window(tenant, &ix, window, limit).await
    }

    /// All events in `window`, newest first.
    pub async fn by_date(
        &self,
        tenant: TenantId,
        window: Window,
        limit: usize,
    ) -> Result<Vec<Audit>> {
        let ix = keys::index(tenant, BY_DATE);
        let (begin, end) = date_bounds(&ix, window);
        self.read(tenant, begin, end, limit).await
    }

    async fn in_window(
        &self,
        tenant: TenantId,
        ix: &Subspace,
        window: Window,
        limit: usize,
    ) -> Result<Vec<Audit>> {
        let (all_begin, all_end) = ix.range();
        let begin = window.from.map_or(all_begin, |t| ix.pack(&(micros(t),)));
        let end = window.to.map_or(all_end, |t| ix.pack(&(micros(t),)));
        self.read(tenant, begin, end, limit).await
    }

    async fn read(
        &self,
        tenant: TenantId,
        begin: Vec<u8>,
        end: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<Audit>> {
        let (begin, end) = (&begin, &end);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let ids = record::index_ids_in(tx, begin, end, limit, true).await?;
                    record::get_many(tx, tenant, &ids).await
                })
            })
            .await
    }

    /// Deletes events older than `before`, at most `batch` per call (call
    /// again while it returns `batch`). Returns how many were deleted.
    pub async fn purge_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        batch: usize,
    ) -> Result<usize> {
        let ix = keys::index(tenant, BY_DATE);
        let (begin, end) = date_bounds(
            &ix,
            Window {
                from: None,
                to: Some(before),
            },
        );
        let ctx = WriteCtx {
            at: before,
            device: None,
            origin: crate::record::Origin::Server,
            audit: None,
        };
        record::purge::<Audit>(self.store, tenant, (begin, end), batch, &ctx).await
    }
}

/// Keys of the by-date index bounding `window`: `(day, micros)` orders like
/// time itself.
fn date_bounds(ix: &Subspace, window: Window) -> (Vec<u8>, Vec<u8>) {
    let (all_begin, all_end) = ix.range();
    let at = |t: Timestamp| ix.pack(&(day(t), micros(t)));
    (
        window.from.map_or(all_begin, at),
        window.to.map_or(all_end, at),
    )
}
