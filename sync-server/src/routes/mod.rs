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
    let (router, mut spec) = OpenApiRouter::new().nest("/api/v5", api).split_for_parts();
    document_what_every_route_can_answer(&mut spec);
    (router, spec)
}

/// Adds to every operation of the document the answers the layers and
/// extractors give, whatever the handler: written once here rather than on
/// every route, so that none forgets one. 401 where a token is needed;
/// 400, 413, 415 and 422 where a JSON body is read; 400 and 422 where a
/// query is; 404 where the path names an object; 403 on the writes a role
/// may be refused; 408 and 500 everywhere.
fn document_what_every_route_can_answer(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |why: &str| {
        ResponseBuilder::new()
            .description(why)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    // The areas where a Viewer may read but not write (`require_write`),
    // and member management (`require_admin`): their writes can be 403.
    let role_checked = |path: &str, tags: &[String]| {
        path.contains("/members/")
            || tags.iter().any(|t| {
                ["sessions", "conversations", "files", "agents", "settings"].contains(&t.as_str())
            })
    };
    for (path, item) in &mut spec.paths.paths {
        let writes = [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in writes.into_iter().flatten() {
            let tags = operation.tags.clone().unwrap_or_default();
            if operation.security.as_ref().is_some_and(|s| !s.is_empty())
                && role_checked(path, &tags)
            {
                operation
                    .responses
                    .responses
                    .entry("403".to_owned())
                    .or_insert_with(|| error("Your role may read but not change this").into());
            }
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let params = operation.parameters.as_deref().unwrap_or_default();
            let is_in = |place: ParameterIn| {
                params.iter().any(|p| match p {
                    utoipa::openapi::RefOr::T(p) => p.parameter_in == place,
                    utoipa::openapi::RefOr::Ref(_) => false,
                })
            };
            let (in_path, in_query) = (is_in(ParameterIn::Path), is_in(ParameterIn::Query));
            let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut answers = vec![
                ("408", "The request took too long"),
                (
                    "500",
                    "Internal error (with an incident id; details are logged)",
                ),
            ];
            if authenticated {
                answers.push(("401", "No token, or an invalid, expired or signed-out one"));
            }
            if operation.request_body.is_some() {
                answers.extend([
                    ("400", "The body is not JSON"),
                    ("413", "The body is larger than the server takes"),
                    ("415", "The body is not `application/json`"),
                    ("422", "A field is missing or invalid (`field` names it)"),
                ]);
            }
            if in_query {
                answers.extend([
                    ("400", "A query parameter cannot be read"),
                    ("422", "A query parameter is invalid"),
                ]);
            }
            if in_path {
                answers.push(("404", "No such object here (or not an id)"));
            }
            for (status, why) in answers {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(why).into());
            }
        }
    }
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
