//! Accounts and tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stint_model::ErrorBody;
use stint_model::api::{
    LoginRequest, RefreshRequest, RegisterRequest, SwitchTenantRequest, TokenResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::accounts;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientMeta};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(switch_tenant))
}

/// Creates an account and its personal tenant, and signs in.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = CREATED, body = TokenResponse),
    (status = CONFLICT, description = "the email is taken, or the device id is another account's", body = ErrorBody),
    (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
    (status = TOO_MANY_REQUESTS, description = "too many registrations from this address; see Retry-After", body = ErrorBody),
    (status = SERVICE_UNAVAILABLE, description = "too many password hashes waiting; see Retry-After", body = ErrorBody),
))]
async fn register(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(accounts::register(&state, req, &meta).await?),
    ))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = OK, body = TokenResponse),
    (status = UNAUTHORIZED, description = "unknown email or wrong password (the same answer)", body = ErrorBody),
    (status = TOO_MANY_REQUESTS, description = "throttled; see Retry-After", body = ErrorBody),
    (status = NOT_FOUND, description = "not a member of the tenant asked for", body = ErrorBody),
    (status = CONFLICT, description = "the device id is another account's", body = ErrorBody),
    (status = SERVICE_UNAVAILABLE, description = "too many password hashes waiting; see Retry-After", body = ErrorBody),
))]
async fn login(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(accounts::login(&state, req, &meta).await?))
}

/// Exchanges a refresh token (single use) for new tokens.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = OK, body = TokenResponse),
    (status = UNAUTHORIZED, body = ErrorBody),
    (status = TOO_MANY_REQUESTS, description = "this login refreshed too often; see Retry-After", body = ErrorBody),
))]
async fn refresh(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(
        accounts::refresh(&state, &req.refresh_token, &meta).await?,
    ))
}

/// Signs out this device (its token family).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = NO_CONTENT), (status = UNAUTHORIZED, body = ErrorBody),
))]
async fn logout(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    accounts::logout(&state, &auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every device of the user.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth", security(("bearer" = [])), responses(
    (status = NO_CONTENT), (status = UNAUTHORIZED, body = ErrorBody),
))]
async fn logout_all(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    accounts::logout_all(&state, &auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New tokens acting in another tenant the user is a member of.
#[utoipa::path(post, path = "/auth/switch-tenant", tag = "auth", security(("bearer" = [])), request_body = SwitchTenantRequest, responses(
    (status = OK, body = TokenResponse), (status = NOT_FOUND, body = ErrorBody),
))]
async fn switch_tenant(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<SwitchTenantRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(
        accounts::switch_tenant(&state, &auth, req.tenant_id).await?,
    ))
}
