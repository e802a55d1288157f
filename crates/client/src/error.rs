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
    /// The server refused a request as larger than it takes (413).
    #[error("{0}")]
    TooLarge(String),
    /// The replica's owner does not serve the operation (an agent or a
    /// desktop app older than this `stint`).
    #[error("{0}")]
    Unsupported(String),
    /// The local replica failed.
    #[error("local replica: {0}")]
    Replica(DbError),
}

impl ClientError {
    /// A stable, machine-readable name of the error's kind, for the faces
    /// that pass errors on (the agent's socket, the desktop app's UI).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Ambiguous(_) => "ambiguous",
            Self::Invalid(_) => "invalid",
            Self::Profile(_) => "profile",
            Self::NotSignedIn(_) => "not_signed_in",
            Self::Unreachable(_) => "unreachable",
            Self::Rejected(_) => "rejected",
            Self::TooLarge(_) => "too_large",
            Self::Unsupported(_) => "unsupported",
            Self::Replica(_) => "failed",
        }
    }

    /// The field at fault, when the input broke a rule.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(v) => Some(&v.field),
            _ => None,
        }
    }

    /// The message for a person, without the kind's prefix (the code says
    /// it).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(v) => v.message.clone(),
            Self::NotFound(m)
            | Self::Ambiguous(m)
            | Self::Profile(m)
            | Self::NotSignedIn(m)
            | Self::Unreachable(m)
            | Self::Rejected(m)
            | Self::TooLarge(m)
            | Self::Unsupported(m) => m.clone(),
            Self::Replica(_) => self.to_string(),
        }
    }
}

impl From<ValidationError> for ClientError {
    fn from(e: ValidationError) -> Self {
        Self::Invalid(e)
    }
}

impl From<DbError> for ClientError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { kind, id } => Self::NotFound(format!("no {} {id}", kind.noun())),
            DbError::Invalid(v) => Self::Invalid(v),
            other => Self::Replica(other),
        }
    }
}

/// Results of device operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
