//! File records: metadata and SHA-256 from devices, never content.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use stint_db::WriteCtx;
use stint_model::api::PutFileRequest;
use stint_model::{AuditEventType, ErrorBody, File, FileId, SessionId, Validate};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_file))
        .routes(routes!(search))
        .routes(routes!(get_file, soft_delete))
        .routes(routes!(undelete))
        .routes(routes!(list_by_session))
        .routes(routes!(by_path))
}

/// `?include_deleted=&after=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Include soft-deleted records.
    #[serde(default)]
    include_deleted: bool,
    /// The last path of the previous page: the page starts after it.
    after: Option<String>,
    /// Most records in the page (default and most: 500).
    limit: Option<usize>,
}

/// `?path=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PathQuery {
    /// Path relative to the workspace root.
    path: String,
}

/// `?workspace_path=&file_path=`, `?workspace_id=&file_path=` or `?checksum=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// The workspace folder (with `file_path`).
    workspace_path: Option<String>,
    /// Or the workspace's identity (with `file_path`): the file in every
    /// device's checkout.
    workspace_id: Option<String>,
    /// Path relative to it.
    file_path: Option<String>,
    /// Or: a SHA-256 to find the same content anywhere.
    checksum: Option<String>,
    /// Most records to answer (default 100).
    limit: Option<usize>,
}

/// Creates or updates the record of a file of a session (one per path).
#[utoipa::path(put, path = "/files", tag = "files", security(("bearer" = [])), request_body = PutFileRequest, responses(
    (status = OK, body = File), (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
))]
async fn put_file(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<PutFileRequest>,
) -> Result<Json<File>, ApiError> {
    auth.require_write(&state).await?;
    let session = state
        .db
        .sessions()
        .get(auth.tenant, req.workspace_session_id)
        .await
        .map_err(|_| ApiError::invalid("workspace_session_id", "no such session"))?;
    let ctx = WriteCtx::now();
    let existing = state
        .db
        .files()
        .get_by_path(auth.tenant, session.id, &req.file_path)
        .await?;
    let mut file = existing.clone().unwrap_or_else(|| {
        File::new(
            auth.tenant,
            session.id,
            &session.workspace_path,
            &req.file_path,
            req.file_size,
            &req.mime_type,
        )
    });
    file.file_size = req.file_size;
    file.mime_type = req.mime_type;
    file.checksum = req.checksum;
    file.modified_at = req.modified_at;
    file.updated_at = ctx.at;
    file.validate()?;
    let event = if existing.is_some() {
        AuditEventType::FileUpdated
    } else {
        AuditEventType::FileCreated
    };
    let audited = auth.event(event, json!({"file_id": file.id, "path": file.file_path}));
    state.db.files().put(&file, &ctx.audited(&audited)).await?;
    Ok(Json(file))
}

/// Which sessions touched a file (by path) or a content (by checksum).
#[utoipa::path(get, path = "/files/search", tag = "files", security(("bearer" = [])), params(SearchQuery), responses(
    (status = OK, body = Vec<File>), (status = BAD_REQUEST, body = ErrorBody),
))]
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<File>>, ApiError> {
    let n = super::limit(q.limit, 100);
    let files = match (q.workspace_path, q.file_path, q.checksum) {
        (None, Some(path), None) if q.workspace_id.is_some() => {
            let workspace = q.workspace_id.unwrap_or_default();
            stint_model::workspace::validate_id("workspace_id", &workspace)?;
            state
                .db
                .files()
                .in_workspace(auth.tenant, &workspace, &path, n)
                .await?
        }
        (Some(workspace), Some(path), None) => {
            state
                .db
                .files()
                .by_path(auth.tenant, &workspace, &path, n)
                .await?
        }
        (None, None, Some(sum)) => {
            stint_model::validate::sha256("checksum", &sum)?;
            state.db.files().by_checksum(auth.tenant, &sum, n).await?
        }
        _ => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                stint_model::ErrorCode::BadRequest,
                "give workspace_path (or workspace_id) and file_path, or checksum",
            ));
        }
    };
    Ok(Json(files))
}

/// A file record (soft-deleted ones too).
#[utoipa::path(get, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = OK, body = File), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn get_file(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
) -> Result<Json<File>, ApiError> {
    let file = state.db.files().get(auth.tenant, id).await?;
    auth.audit(&state, AuditEventType::FileAccessed, json!({"file_id": id}))
        .await;
    Ok(Json(file))
}

/// Soft-deletes a file record (kept until purged; see undelete).
#[utoipa::path(delete, path = "/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = OK, body = File), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn soft_delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
) -> Result<Json<File>, ApiError> {
    auth.require_write(&state).await?;
    let audited = auth.event(AuditEventType::FileDeleted, json!({"file_id": id}));
    let file = state
        .db
        .files()
        .soft_delete(auth.tenant, id, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(Json(file))
}

/// Brings a soft-deleted file record back.
#[utoipa::path(post, path = "/files/{id}/undelete", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "file id")),
    responses((status = OK, body = File), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn undelete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<FileId>,
) -> Result<Json<File>, ApiError> {
    auth.require_write(&state).await?;
    let audited = auth.event(
        AuditEventType::FileUpdated,
        json!({"file_id": id, "undeleted": true}),
    );
    let file = state
        .db
        .files()
        .undelete(auth.tenant, id, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(Json(file))
}

/// A page of a session's file records, in path order (pass the last
/// path as `after` for the next).
#[utoipa::path(get, path = "/sessions/{id}/files", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id"), ListQuery),
    responses((status = OK, body = Vec<File>), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn list_by_session(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<File>>, ApiError> {
    state.db.sessions().get(auth.tenant, id).await?;
    Ok(Json(
        state
            .db
            .files()
            .page_by_session(
                auth.tenant,
                id,
                q.after.as_deref(),
                super::limit(q.limit, super::MAX_LIMIT),
                q.include_deleted,
            )
            .await?,
    ))
}

/// The record of one path in a session.
#[utoipa::path(get, path = "/sessions/{id}/files/by-path", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id"), PathQuery),
    responses((status = OK, body = File), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn by_path(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Json<File>, ApiError> {
    state
        .db
        .files()
        .get_by_path(auth.tenant, id, &q.path)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no record of this path"))
}
