//! The API under `/api/v5`, one sub-router per area. Every handler carries
//! its OpenAPI description (`#[utoipa::path]`), and the router and the
//! document are built from the same list, so they cannot drift apart.

mod agents;
mod audit;
mod auth;
mod conversations;
mod files;
mod health;
mod sessions;
mod settings;
mod sync;
mod tenants;
mod users;

pub(crate) use sync::{CallerTenant, Streams};

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use stint_model::ErrorCode;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Stint sync server", description = "Workspace sessions, synced across devices."),
    modifiers(&BearerAuth),
    components(schemas(stint_model::ErrorBody, stint_model::ErrorCode))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// The API and its OpenAPI document.
pub(crate) fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(tenants::routes())
        .merge(sessions::routes())
        .merge(conversations::routes())
        .merge(files::routes())
        .merge(agents::routes())
        .merge(settings::routes())
        .merge(audit::routes())
        .merge(sync::routes());
    OpenApiRouter::new().nest("/api/v5", api).split_for_parts()
}

/// The whole application, without the tower layers (`app` adds those).
pub(crate) fn router(state: AppState) -> anyhow::Result<Router> {
    let (api, spec) = api();
    let spec: Arc<str> = spec.to_pretty_json()?.into();
    Ok(api
        .route(
            "/api/v5/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    spec.to_string(),
                )
                    .into_response()
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            sync::announce_writes,
        ))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state))
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadRequest,
        "this route does not take this method",
    )
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
}

/// The maximum page size of list endpoints.
pub(crate) const MAX_LIMIT: usize = 500;

/// A `limit` query parameter, bounded.
pub(crate) fn limit(asked: Option<usize>, default: usize) -> usize {
    asked.unwrap_or(default).clamp(1, MAX_LIMIT)
}
