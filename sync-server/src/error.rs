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
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, what)
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
        (self.status, Json(self.body)).into_response()
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
            DbError::Invalid(v) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: v.into(),
            },
            DbError::BrokenReference(message) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                message,
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
