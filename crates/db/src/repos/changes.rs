//! Reading a tenant's change log: every change to a synced record, in
//! commit order. Sync pulls from here.

use stint_model::{RecordKind, TenantId};
use stint_store::tuple::Versionstamp;
use stint_store::{RangeRequest, Store, Tx};

use crate::error::{DbError, Result};
use crate::keys;
use crate::record::Change;

/// A position in a change log: the complete versionstamp of an entry
/// (10 bytes of commit version, 2 of order within the commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition(pub [u8; 12]);

impl LogPosition {
    /// The first position of the commits after `version`.
    fn after_version(version: u64) -> Self {
        let mut stamp = [0; 12];
        stamp[..8].copy_from_slice(&version.saturating_add(1).to_be_bytes());
        Self(stamp)
    }
}

/// One page of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    /// Changes in commit order, with their positions.
    pub changes: Vec<(LogPosition, Change)>,
    /// Whether more changes follow this page.
    pub more: bool,
}

/// The change log reader.
#[derive(Debug, Clone, Copy)]
pub struct ChangeLog<'a> {
    pub(crate) store: &'a Store,
}

impl ChangeLog<'_> {
    /// Up to `limit` changes of `tenant` after `after` (from the beginning
    /// when `None`), oldest first.
    pub async fn read(
        &self,
        tenant: TenantId,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<ChangePage> {
        self.store
            .run(|tx| Box::pin(async move { read_page(tx, tenant, after, limit).await }))
            .await
    }
}

/// Inside the caller's transaction: up to `limit` changes of `tenant`
/// after `after` (from the beginning when `None`), oldest first, none past
/// the store's durable version: a position handed out must never be
/// reissued by a crash (see [`Tx::durable_version`]). What lies beyond is
/// read once a durable commit covers it.
pub(crate) async fn read_page(
    tx: &mut Tx<'_>,
    tenant: TenantId,
    after: Option<LogPosition>,
    limit: usize,
) -> Result<ChangePage> {
    let begin = match after {
        Some(position) => stint_store::key_after(&entry_key(tenant, position)),
        None => keys::log(tenant).range().0,
    };
    let (_, mut end) = keys::log(tenant).range();
    if let Some(durable) = tx.durable_version() {
        end = end.min(entry_key(tenant, LogPosition::after_version(durable)));
    }
    let page = tx
        .get_range(RangeRequest::new(&begin, &end).limit(limit.max(1)))
        .await?;
    let changes = page
        .items
        .iter()
        .map(|(key, value)| decode(key, value))
        .collect::<Result<_>>()?;
    Ok(ChangePage {
        changes,
        more: page.more,
    })
}

/// The key of the log entry at `position`.
pub(crate) fn entry_key(tenant: TenantId, LogPosition(stamp): LogPosition) -> Vec<u8> {
    let mut tr = [0u8; 10];
    tr.copy_from_slice(&stamp[..10]);
    let user = u16::from_be_bytes([stamp[10], stamp[11]]);
    keys::log(tenant).pack(&(Versionstamp::complete(tr, user),))
}

/// One log entry: its position (the key's versionstamp) and its change.
pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<(LogPosition, Change)> {
    let corrupt = |reason: String| DbError::Corrupt {
        kind: RecordKind::Tenant,
        reason,
    };
    let stamp: [u8; 12] = key
        .len()
        .checked_sub(12)
        .and_then(|start| key[start..].try_into().ok())
        .ok_or_else(|| corrupt("change log key".into()))?;
    let change =
        serde_json::from_slice(value).map_err(|e| corrupt(format!("change log entry: {e}")))?;
    Ok((LogPosition(stamp), change))
}
