//! Conflicts: when two devices change the same field of a record, the
//! server keeps one value (the first to arrive) and records the other here,
//! linked to the record, so that nothing typed is lost and the user can
//! choose. Resolving a conflict deletes it (after applying the chosen
//! values to the record, if the user took them).
//!
//! A delete can lose too: a device deleting a record that another device
//! edited since the deleting one last saw it does not erase that edit. The
//! record stays, and a conflict with `deleted` set asks the user whether
//! to delete it after all or keep it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{ConflictId, DeviceId, TenantId, UserId};
use crate::kind::RecordKind;
use crate::validate::{Validate, ValidationError};
use crate::{Timestamp, now};

/// The losing side of concurrent edits of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// This conflict.
    pub id: ConflictId,
    /// The tenant of the record.
    pub tenant_id: TenantId,
    /// The kind of the record.
    pub kind: RecordKind,
    /// The record whose fields conflicted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub record_id: uuid::Uuid,
    /// The values that lost, by field name (none for a delete).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The losing edit was a delete: taking it deletes the record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The device whose edit lost.
    pub device_id: DeviceId,
    /// The member whose personal record (a setting) conflicted: only they
    /// see the conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// When the server saw the conflict.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Conflict {
    /// A conflict over `fields` of the record `(kind, record_id)`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        kind: RecordKind,
        record_id: uuid::Uuid,
        fields: BTreeMap<String, serde_json::Value>,
        device_id: DeviceId,
    ) -> Self {
        Self {
            id: ConflictId::new(),
            tenant_id,
            kind,
            record_id,
            fields,
            deleted: false,
            device_id,
            owner: None,
            created_at: now(),
        }
    }

    /// A delete of `(kind, record_id)` that lost to a newer edit.
    #[must_use]
    pub fn deletion(
        tenant_id: TenantId,
        kind: RecordKind,
        record_id: uuid::Uuid,
        device_id: DeviceId,
    ) -> Self {
        Self {
            deleted: true,
            ..Self::new(tenant_id, kind, record_id, BTreeMap::new(), device_id)
        }
    }
}

impl Validate for Conflict {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.fields.is_empty() && !self.deleted {
            return Err(ValidationError::new(
                "fields",
                "a conflict holds at least one field",
            ));
        }
        if self.kind == RecordKind::Conflict || !self.kind.is_synced() {
            return Err(ValidationError::new("kind", "not a kind that devices edit"));
        }
        Ok(())
    }
}
