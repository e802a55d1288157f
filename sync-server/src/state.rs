//! What every handler can reach.

use std::sync::Arc;

use serde_json::Value;
use stint_db::{Db, StoreIdentity};
use stint_model::{Audit, AuditEventType, TenantId, UserId};

use crate::auth::passwords::Passwords;
use crate::auth::throttle::Throttle;
use crate::auth::tokens::Tokens;
use crate::config::Config;
use crate::extract::ClientMeta;

/// Shared by every request; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) db: Db,
    pub(crate) identity: StoreIdentity,
    pub(crate) config: Arc<Config>,
    pub(crate) tokens: Arc<Tokens>,
    pub(crate) passwords: Arc<Passwords>,
    pub(crate) throttle: Arc<Throttle>,
    /// Tenants with new changes, for the devices listening live.
    pub(crate) changes: tokio::sync::broadcast::Sender<TenantId>,
    /// The live channels each user holds.
    pub(crate) streams: Arc<crate::routes::Streams>,
}

impl AppState {
    /// Tells the devices listening to `tenant` that it has new changes.
    pub(crate) fn changed(&self, tenant: TenantId) {
        // No listener is fine: devices pull when they connect.
        let _ = self.changes.send(tenant);
    }

    /// Listens to every tenant's changes.
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<TenantId> {
        self.changes.subscribe()
    }

    /// Records an audit event. A failure to record is logged, not returned:
    /// the request itself succeeded.
    pub(crate) async fn audit(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        event: AuditEventType,
        data: Value,
        meta: &ClientMeta,
    ) {
        self.record_audit(&audit_event(tenant, user, event, data, meta))
            .await;
    }

    /// Records an audit event built beforehand, in a transaction of its
    /// own (an event that comes with a write goes in the write's, with
    /// [`WriteCtx::audited`](stint_db::WriteCtx::audited)).
    pub(crate) async fn record_audit(&self, event: &Audit) {
        if let Err(e) = self.db.audit().record(event).await {
            tracing::warn!(%e, event = ?event.event_type, "could not record an audit event");
        }
    }
}

/// An audit event, with where the request came from.
pub(crate) fn audit_event(
    tenant: TenantId,
    user: Option<UserId>,
    event: AuditEventType,
    data: Value,
    meta: &ClientMeta,
) -> Audit {
    let mut record = Audit::new(tenant, user, event, data);
    record.ip_address = meta.ip.map(|ip| ip.to_string());
    record.user_agent.clone_from(&meta.user_agent);
    record
}
