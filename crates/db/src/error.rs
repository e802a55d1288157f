//! Errors of the repositories.

use stint_model::{RecordKind, ValidationError};
use stint_store::{AsStoreError, StoreError};
use thiserror::Error;

/// What a repository call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DbError {
    /// No such record in this tenant (also: a record of another tenant).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Its kind.
        kind: RecordKind,
        /// The id asked for.
        id: String,
    },
    /// A different record with this id or unique value exists.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// Its kind.
        kind: RecordKind,
        /// The id or unique value (an email, for users).
        id: String,
    },
    /// The record changed meanwhile in a way that forbids this write (a
    /// refresh token already rotated).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A login names a device that belongs to another account.
    #[error("device {0} belongs to another account")]
    DeviceTaken(stint_model::DeviceId),
    /// The record breaks a validation rule.
    #[error("invalid record: {0}")]
    Invalid(#[from] ValidationError),
    /// A referenced record is missing or belongs elsewhere (a message's
    /// conversation, a fork's parent).
    #[error("{0}")]
    BrokenReference(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt {kind} record: {reason}")]
    Corrupt {
        /// Its kind.
        kind: RecordKind,
        /// What failed.
        reason: String,
    },
    /// A sync cursor points into the compacted part of the change log.
    #[error("the sync cursor is older than the change log: pull everything again")]
    CursorTooOld,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DbError {
    pub(crate) fn not_found(kind: RecordKind, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

impl AsStoreError for DbError {
    fn as_store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// Results of repository calls.
pub type Result<T, E = DbError> = std::result::Result<T, E>;
