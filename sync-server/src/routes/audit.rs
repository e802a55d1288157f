//! The audit log, for Admins and Managers.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use stint_db::Window;
use stint_model::{Audit, AuditEventType, ErrorBody, Timestamp, UserId};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::limit;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Filters: at most one of `user_id` and `event`, and a date range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this user's events.
    user_id: Option<UserId>,
    /// Only events of this type.
    event: Option<AuditEventType>,
    /// From (RFC 3339, inclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<Timestamp>,
    /// To (RFC 3339, exclusive).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<Timestamp>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

/// Audit events of the tenant, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery), responses(
    (status = OK, body = Vec<Audit>), (status = FORBIDDEN, body = ErrorBody), (status = BAD_REQUEST, body = ErrorBody),
))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<Audit>>, ApiError> {
    auth.require_audit_reader(&state).await?;
    let window = Window {
        from: q.from,
        to: q.to,
    };
    let n = limit(q.limit, 100);
    let events = match (q.user_id, q.event) {
        (Some(user), None) => {
            state
                .db
                .audit()
                .by_user(auth.tenant, user, window, n)
                .await?
        }
        (None, Some(event)) => {
            state
                .db
                .audit()
                .by_event(auth.tenant, event, window, n)
                .await?
        }
        (None, None) => state.db.audit().by_date(auth.tenant, window, n).await?,
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                stint_model::ErrorCode::BadRequest,
                "filter by user_id or by event, not both",
            ));
        }
    };
    Ok(Json(events))
}
