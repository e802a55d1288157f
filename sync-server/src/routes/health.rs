//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// The server's state.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// `ok` or `ready`.
    status: &'static str,
    /// The server's version.
    version: &'static str,
    /// `redb` or `fdb`.
    store: &'static str,
    /// The store's identity: the same across restarts on the same data.
    store_id: uuid::Uuid,
}

fn health_of(state: &AppState, status: &'static str) -> Health {
    Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        store: state.db.store().backend_name(),
        store_id: state.identity.store_id,
    }
}

/// The server is up.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = OK, body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(health_of(&state, "ok"))
}

/// The server can reach its store.
#[utoipa::path(get, path = "/ready", tag = "health", responses(
    (status = OK, body = Health),
    (status = SERVICE_UNAVAILABLE, body = stint_model::ErrorBody),
))]
async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let read = state.db.meta().identity(state.identity).await;
    match read {
        Ok(found) if found == state.identity => Ok(Json(health_of(&state, "ready"))),
        Ok(_) => Err(ApiError::internal(
            &"the store's identity changed under the server",
        )),
        Err(e) => {
            tracing::warn!(%e, "store unreachable");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                stint_model::ErrorCode::Unavailable,
                "the store is unreachable",
            ))
        }
    }
}
