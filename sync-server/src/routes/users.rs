//! The signed-in user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stint_db::{DbError, WriteCtx};
use stint_model::api::{ChangePasswordRequest, UpdateProfileRequest, UserProfile};
use stint_model::{ErrorBody, Validate, validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::accounts;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])), responses(
    (status = OK, body = UserProfile), (status = UNAUTHORIZED, body = ErrorBody),
))]
async fn me(State(state): State<AppState>, auth: Auth) -> Result<Json<UserProfile>, ApiError> {
    let user = state.db.users().get(auth.home, auth.user).await?;
    Ok(Json(UserProfile::from(&user)))
}

/// Changes the profile: names, email.
#[utoipa::path(put, path = "/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateProfileRequest, responses(
    (status = OK, body = UserProfile),
    (status = CONFLICT, description = "the email is taken", body = ErrorBody),
    (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
))]
async fn update_me(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<UserProfile>, ApiError> {
    let mut user = state.db.users().get(auth.home, auth.user).await?;
    if let Some(first) = req.first_name {
        user.first_name = first;
    }
    if let Some(last) = req.last_name {
        user.last_name = last;
    }
    if let Some(email) = req.email {
        user.email = validate::normalize_email(&email);
    }
    user.validate()?;
    let ctx = WriteCtx::now();
    user.updated_at = ctx.at;
    match state.db.users().update(&user, &ctx).await {
        Err(DbError::AlreadyExists { .. }) => {
            Err(ApiError::conflict("an account with this email exists"))
        }
        other => {
            other?;
            Ok(Json(UserProfile::from(&user)))
        }
    }
}

/// Changes the password; every other login of the user is signed out.
#[utoipa::path(put, path = "/users/me/password", tag = "users", security(("bearer" = [])), request_body = ChangePasswordRequest, responses(
    (status = NO_CONTENT),
    (status = UNPROCESSABLE_ENTITY, description = "wrong current password or weak new one", body = ErrorBody),
    (status = SERVICE_UNAVAILABLE, description = "too many password hashes waiting; see Retry-After", body = ErrorBody),
))]
async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(&state, &auth, req).await?;
    Ok(StatusCode::NO_CONTENT)
}
