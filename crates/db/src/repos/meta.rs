//! Facts about the store itself, outside any tenant.

use serde::{Deserialize, Serialize};
use stint_model::Timestamp;
use stint_store::{Store, StoreError};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys;

/// The identity of a store, created once, on first start.
///
/// It tells a restarted server that it found its data again, and (with
/// sync) lets a device's cursor name the store it came from, so that moving
/// a server from the embedded store to FoundationDB is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreIdentity {
    /// Random id of this store.
    pub store_id: Uuid,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The meta repository.
#[derive(Debug, Clone, Copy)]
pub struct Meta<'a> {
    pub(crate) store: &'a Store,
}

impl Meta<'_> {
    /// The store's identity: the stored one, or `fresh` stored now if this
    /// is the first start.
    pub async fn identity(&self, fresh: StoreIdentity) -> Result<StoreIdentity> {
        let key = keys::identity();
        let (key, fresh) = (&key, &fresh);
        self.store
            .run(|tx| {
                Box::pin(async move {
                    if let Some(bytes) = tx.get(key).await? {
                        return serde_json::from_slice(&bytes).map_err(|e| DbError::Corrupt {
                            kind: stint_model::RecordKind::Tenant,
                            reason: format!("store identity: {e}"),
                        });
                    }
                    let bytes =
                        serde_json::to_vec(fresh).map_err(|e| StoreError::Io(e.to_string()))?;
                    tx.set(key, &bytes);
                    Ok(*fresh)
                })
            })
            .await
    }
}
