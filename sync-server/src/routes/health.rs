//! Liveness.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// `GET /api/v5/health`: the server is up.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    store: &'static str,
    /// The store's identity: the same across restarts on the same data.
    store_id: uuid::Uuid,
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        store: state.db.store().backend_name(),
        store_id: state.identity.store_id,
    })
}
