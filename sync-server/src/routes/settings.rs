//! The caller's settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use stint_db::WriteCtx;
use stint_model::api::PutSettingRequest;
use stint_model::{AuditEventType, ErrorBody, Setting, SettingCategory, Validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all))
        .routes(routes!(of_category))
        .routes(routes!(put_setting, delete_setting))
}

fn category(name: &str) -> Result<SettingCategory, ApiError> {
    // An unknown category names nothing.
    name.parse()
        .map_err(|_| ApiError::not_found(format!("no setting category `{name}`")))
}

/// Every setting of the caller.
#[utoipa::path(get, path = "/settings", tag = "settings", security(("bearer" = [])), responses(
    (status = OK, body = Vec<Setting>),
))]
async fn all(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<Setting>>, ApiError> {
    Ok(Json(
        state
            .db
            .settings()
            .all_of_user(auth.tenant, auth.user)
            .await?,
    ))
}

/// The caller's settings of one category.
#[utoipa::path(get, path = "/settings/{category}", tag = "settings", security(("bearer" = [])),
    params(("category" = String, Path, description = "editor, theme, llm, terminal or workspace")),
    responses((status = OK, body = Vec<Setting>), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn of_category(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<Setting>>, ApiError> {
    let category = category(&name)?;
    Ok(Json(
        state
            .db
            .settings()
            .of_category(auth.tenant, auth.user, category)
            .await?,
    ))
}

/// Sets a setting.
#[utoipa::path(put, path = "/settings/{category}/{key}", tag = "settings", security(("bearer" = [])),
    params(("category" = String, Path, description = "category"), ("key" = String, Path, description = "key")),
    request_body = PutSettingRequest,
    responses((status = OK, body = Setting), (status = UNPROCESSABLE_ENTITY, body = ErrorBody)),
)]
async fn put_setting(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((name, key)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<PutSettingRequest>,
) -> Result<Json<Setting>, ApiError> {
    auth.require_write(&state).await?;
    let category = category(&name)?;
    let setting = Setting::new(auth.tenant, auth.user, category, key, req.value);
    setting.validate()?;
    let audited = auth.event(
        AuditEventType::SettingChanged,
        json!({"category": category, "key": setting.key}),
    );
    state
        .db
        .settings()
        .set(&setting, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(Json(setting))
}

/// Deletes a setting.
#[utoipa::path(delete, path = "/settings/{category}/{key}", tag = "settings", security(("bearer" = [])),
    params(("category" = String, Path, description = "category"), ("key" = String, Path, description = "key")),
    responses((status = NO_CONTENT), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn delete_setting(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((name, key)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    auth.require_write(&state).await?;
    let category = category(&name)?;
    if state
        .db
        .settings()
        .get(auth.tenant, auth.user, category, &key)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("setting not found"));
    }
    let audited = auth.event(
        AuditEventType::SettingChanged,
        json!({"category": category, "key": key, "deleted": true}),
    );
    state
        .db
        .settings()
        .delete(
            auth.tenant,
            auth.user,
            category,
            &key,
            &WriteCtx::now().audited(&audited),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
