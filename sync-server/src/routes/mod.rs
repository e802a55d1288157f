//! The API, one sub-router per area, under `/api/v5`.

mod health;

use axum::Router;
use axum::http::StatusCode;
use stint_db::{Db, StoreIdentity};
use stint_model::ErrorCode;

use crate::error::ApiError;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) db: Db,
    pub(crate) identity: StoreIdentity,
}

/// The whole API, without the tower layers (`app` adds those).
pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new().merge(health::routes());
    Router::new()
        .nest("/api/v5", api)
        .fallback(unknown_route)
        .with_state(state)
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
}
