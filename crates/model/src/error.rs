//! The error codes every Stint API speaks: `{code, message, field?}`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validate::ValidationError;

/// A machine-readable error class. Clients branch on this, never on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, bad query).
    BadRequest,
    /// A field broke a rule; `field` says which.
    ValidationFailed,
    /// No credentials, or they are invalid or expired.
    Unauthorized,
    /// Authenticated, but the role does not allow it.
    Forbidden,
    /// No such object (also: an object of another tenant).
    NotFound,
    /// The object exists already or changed meanwhile.
    Conflict,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// Too many attempts; retry later.
    RateLimited,
    /// The request took too long.
    Timeout,
    /// The server could not reach its store.
    Unavailable,
    /// A sync cursor older than the compacted change log: pull everything
    /// again, from no cursor.
    Refetch,
    /// Something failed inside; details are in the server's log.
    Internal,
}

impl ErrorCode {
    /// The snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::ValidationFailed => "validation_failed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Refetch => "refetch",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    /// The class of error.
    pub code: ErrorCode,
    /// What went wrong, for a human.
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    /// An error without a field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<ValidationError> for ErrorBody {
    fn from(e: ValidationError) -> Self {
        Self {
            code: ErrorCode::ValidationFailed,
            message: e.message,
            field: Some(e.field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let body = ErrorBody::from(ValidationError::new("name", "must not be empty"));
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"code": "validation_failed", "message": "must not be empty", "field": "name"})
        );
        let plain = ErrorBody::new(ErrorCode::NotFound, "no such session");
        assert_eq!(
            serde_json::to_value(&plain).unwrap(),
            serde_json::json!({"code": "not_found", "message": "no such session"})
        );
        assert_eq!(ErrorCode::PayloadTooLarge.to_string(), "payload_too_large");
    }
}
