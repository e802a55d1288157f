//! The sync protocol's wire types (`/api/v5/sync/*`).
//!
//! A device pushes *mutations*: each names a record, the server revision
//! the device's edit was based on, and only the fields it changed, so the
//! server can merge edits of different fields and detect edits of the same
//! field. Each carries the device's increasing mutation number, which makes
//! a retried push apply once. A device pulls *changes*: the current state of
//! every record changed after its cursor, in commit order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::error::ErrorCode;
use crate::ids::{ConflictId, DeviceId};
use crate::kind::RecordKind;

/// Most mutations in one batch of a push: a batch is one transaction on
/// the server, kept far below FoundationDB's limits.
pub const MAX_BATCH_MUTATIONS: usize = 100;

/// Most batches in one push (whose body the server's size limit bounds
/// too).
pub const MAX_PUSH_BATCHES: usize = 10;

/// Most changes in one pulled page.
pub const MAX_PULL_LIMIT: usize = 1_000;

/// About the most bytes of records in one pulled page: a device stores a
/// page in one local transaction, far below FoundationDB's 10 MB, however
/// large the records are (one larger than this comes alone).
pub const MAX_PULL_BYTES: usize = 1_000_000;

/// `POST /sync/push`: one or more batches of mutations. Each batch is
/// applied in one transaction; the answer comes once all are durable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushRequest {
    /// The pushing device, if the client says: it must be the device the
    /// login is bound to (403 otherwise). The server takes the device from
    /// the token, never from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<DeviceId>,
    /// Batches of at most [`MAX_BATCH_MUTATIONS`] mutations, numbers
    /// increasing throughout.
    pub batches: Vec<Vec<Mutation>>,
}

/// One local change of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mutation {
    /// The device's mutation number: increasing, never reused.
    pub number: u64,
    /// The record's kind.
    pub kind: RecordKind,
    /// The record's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    /// The server revision the edit was based on (0: a new record).
    pub base_rev: u64,
    /// The record was deleted.
    #[serde(default)]
    pub deleted: bool,
    /// The changed fields and their new values (a new record: all of them).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// The answer to a push: one result per mutation, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushResponse {
    /// Per mutation.
    pub results: Vec<MutationResult>,
}

/// What became of one mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MutationResult {
    /// The mutation's number.
    pub number: u64,
    /// Its outcome.
    pub outcome: Outcome,
}

/// The outcome of one mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied; the record is at `rev`.
    Applied {
        /// The record's revision now.
        rev: u64,
    },
    /// Applied where it did not collide; the fields another device had
    /// changed meanwhile kept that device's values, and this device's
    /// values were kept in a conflict for the user.
    Conflicted {
        /// The record's revision now.
        rev: u64,
        /// The conflict holding the losing values.
        conflict: ConflictId,
    },
    /// Applied by an earlier push (this one is a retry).
    Duplicate,
    /// Refused for good (e.g. invalid, or a reference to a missing record):
    /// the device sets it aside and goes on.
    Rejected {
        /// Why, for programs.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

/// `GET /sync/pull`: one page of changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PullResponse {
    /// Records changed after the cursor, each once, in commit order.
    pub changes: Vec<SyncRecord>,
    /// Where the next pull starts (opaque).
    pub cursor: String,
    /// More changes wait after this page.
    pub more: bool,
}

/// A record as sync carries it: its envelope and its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncRecord {
    /// Its kind.
    pub kind: RecordKind,
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: Uuid,
    /// Its server revision.
    pub rev: u64,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// The device that last changed it, if one did.
    pub updated_by: Option<DeviceId>,
    /// The record; absent once deleted.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub body: Option<RecordJson>,
}

/// A record's JSON, carried as text: the server sends what it stored and a
/// device reads its record type straight from it, with no tree of
/// `serde_json::Value`s built on either side (for a fresh device, that
/// was most of the work of syncing 100,000 records).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordJson(Box<serde_json::value::RawValue>);

impl RecordJson {
    /// The JSON of `record`.
    ///
    /// # Errors
    /// When `record` does not serialize to JSON.
    pub fn of<T: Serialize>(record: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(record).map(Self)
    }

    /// The JSON text.
    #[must_use]
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Reads it as a `T`.
    ///
    /// # Errors
    /// When the JSON is not a `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

/// The same JSON text (two spellings of one value differ: this is for
/// tests and change detection, where both come from one serializer).
impl PartialEq for RecordJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}
