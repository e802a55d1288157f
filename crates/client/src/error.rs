//! Errors of the device.

use stint_db::DbError;
use stint_model::ValidationError;
use thiserror::Error;

/// What a device operation can fail with. The CLI maps each to a message
/// and an exit code.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing matches (a session id or prefix, …).
    #[error("{0}")]
    NotFound(String),
    /// An id prefix matches several sessions.
    #[error("{0}")]
    Ambiguous(String),
    /// The input breaks a rule; names the field.
    #[error("invalid {}: {}", .0.field, .0.message)]
    Invalid(ValidationError),
    /// The data directory or profile cannot be used.
    #[error("{0}")]
    Profile(String),
    /// Not signed in, or the login expired or was revoked.
    #[error("not signed in: {0}")]
    NotSignedIn(String),
    /// The server cannot be reached.
    #[error("the server is unreachable: {0}")]
    Unreachable(String),
    /// The server refused (an email already taken, …).
    #[error("{0}")]
    Rejected(String),
    /// The local replica failed.
    #[error("local replica: {0}")]
    Replica(DbError),
}

impl From<ValidationError> for ClientError {
    fn from(e: ValidationError) -> Self {
        Self::Invalid(e)
    }
}

impl From<DbError> for ClientError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { kind, id } => Self::NotFound(format!("no {kind} {id}")),
            DbError::Invalid(v) => Self::Invalid(v),
            other => Self::Replica(other),
        }
    }
}

/// Results of device operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
