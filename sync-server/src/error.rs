//! `ApiError`: the one error type of every handler.
//!
//! Handlers return `Result<_, ApiError>` and use `?`: conversions below map
//! each lower error to its status and code once, instead of every handler
//! matching errors itself. Internal details are logged with an id, and the
//! client gets only the id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use stint_db::DbError;
use stint_model::{ErrorBody, ErrorCode};

/// An error answer: a status and `{code, message, field?}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds for `Retry-After` (429).
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
            retry_after: None,
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, what)
    }

    pub(crate) fn unauthorized(why: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, why)
    }

    pub(crate) fn conflict(why: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, why)
    }

    /// A field broke a rule (422 with the field).
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: stint_model::ValidationError::new(field, message).into(),
            retry_after: None,
        }
    }

    pub(crate) fn too_many(retry_after: std::time::Duration) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: ErrorBody::new(
                ErrorCode::RateLimited,
                "too many attempts; wait and try again",
            ),
            retry_after: None,
        }
        .with_retry_after(retry_after)
    }

    /// Names the field at fault (a form shows the error there).
    pub(crate) fn at_field(mut self, field: &str) -> Self {
        self.body.field = Some(field.to_owned());
        self
    }

    fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after.as_secs().max(1));
        self
    }

    /// 503 with `Retry-After`: the server cannot take this now.
    pub(crate) fn busy(why: &str, retry_after: std::time::Duration) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: ErrorBody::new(ErrorCode::Unavailable, why),
            retry_after: None,
        }
        .with_retry_after(retry_after)
    }

    /// A failure inside the server: logged in full, answered vaguely.
    pub(crate) fn internal(error: &dyn std::fmt::Display) -> Self {
        let incident = uuid::Uuid::now_v7();
        tracing::error!(%incident, %error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("internal error (incident {incident})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<stint_model::ValidationError> for ApiError {
    fn from(e: stint_model::ValidationError) -> Self {
        Self::invalid(e.field, e.message)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { kind, .. } => Self::not_found(format!("{kind} not found")),
            DbError::AlreadyExists { kind, .. } => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::Conflict,
                format!("{kind} already exists"),
            ),
            DbError::Conflict(message) => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
            }
            DbError::DeviceTaken(device) => {
                Self::conflict(format!(
                    "device {device} belongs to another account: sign in with another device id, or none"
                ))
                .at_field("device_id")
            }
            DbError::Invalid(v) => Self::invalid(v.field, v.message),
            DbError::BrokenReference(message) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                message,
            ),
            DbError::CursorTooOld => Self::new(
                StatusCode::GONE,
                ErrorCode::Refetch,
                "this cursor is older than the compacted change log: pull again without a cursor",
            ),
            DbError::Store(store) if store.is_retryable() => {
                tracing::warn!(%store, "store busy");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the store is busy; retry shortly",
                )
            }
            other => Self::internal(&other),
        }
    }
}

impl From<crate::auth::passwords::Hashing> for ApiError {
    fn from(e: crate::auth::passwords::Hashing) -> Self {
        match e {
            crate::auth::passwords::Hashing::Busy => Self::busy(
                "too many sign-ins at once; try again in a moment",
                std::time::Duration::from_secs(1),
            ),
            crate::auth::passwords::Hashing::Failed(e) => Self::internal(&e),
        }
    }
}
