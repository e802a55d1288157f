//! Workspace sessions and the cross-session queries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use stint_db::{SessionList, WriteCtx};
use stint_model::api::{CreateSessionRequest, ForkRequest, RelatedSession, UpdateSessionRequest};
use stint_model::{
    AuditEventType, ErrorBody, SessionId, SessionStatus, Validate, WorkspaceSession,
};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::limit;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(recent))
        .routes(routes!(related_by_tags))
        .routes(routes!(get_session, update, delete))
        .routes(routes!(fork))
        .routes(routes!(children))
        .routes(routes!(related))
        .routes(routes!(of_workspace))
}

/// Filters of `GET /sessions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only sessions of this workspace: its identity (`git:…`, `fp:…`) or
    /// the folder they were started in.
    workspace: Option<String>,
    /// Only sessions with this tag.
    tag: Option<String>,
    /// Only sessions in this state.
    status: Option<SessionStatus>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

/// `?limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LimitQuery {
    /// At most this many (default 20, at most 500).
    limit: Option<usize>,
}

/// `?tags=a,b&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TagsQuery {
    /// Comma-separated tags.
    tags: String,
    /// At most this many (default 20, at most 500).
    limit: Option<usize>,
}

/// `?workspace_id=&limit=` or `?path=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WorkspaceQuery {
    /// The workspace's identity (`git:github.com/ada/app@903af048f9b2`,
    /// `fp:…`): its sessions on every device and path.
    workspace_id: Option<String>,
    /// The folder the sessions were started in.
    path: Option<String>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

/// Starts a session.
#[utoipa::path(post, path = "/sessions", tag = "sessions", security(("bearer" = [])), request_body = CreateSessionRequest, responses(
    (status = CREATED, body = WorkspaceSession),
    (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
    (status = FORBIDDEN, body = ErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateSessionRequest>,
) -> Result<(StatusCode, Json<WorkspaceSession>), ApiError> {
    auth.require_write(&state).await?;
    let mut session = WorkspaceSession::new(auth.tenant, auth.user, req.name, req.workspace_path);
    session.tags = req.tags;
    if let Some(id) = req.id {
        session.id = id;
    }
    session.validate()?;
    let audited = auth.event(
        AuditEventType::SessionCreated,
        json!({"session_id": session.id}),
    );
    state
        .db
        .sessions()
        .create(&session, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// The caller's sessions, newest first, with optional filters.
#[utoipa::path(get, path = "/sessions", tag = "sessions", security(("bearer" = [])), params(ListQuery), responses(
    (status = OK, body = Vec<WorkspaceSession>),
))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<WorkspaceSession>>, ApiError> {
    let n = limit(q.limit, 100);
    let list = match (&q.workspace, &q.tag) {
        (Some(path), _) => SessionList::Workspace(path),
        (None, Some(tag)) => SessionList::Tag(tag),
        (None, None) => SessionList::User(auth.user),
    };
    // Read in pages until `n` match: never the whole list at once.
    let sessions = state
        .db
        .sessions()
        .first_matching(auth.tenant, list, n, |s| {
            s.user_id == auth.user
                && q.tag.as_ref().is_none_or(|t| s.tags.contains(t))
                && q.status.is_none_or(|st| s.status == st)
        })
        .await?;
    Ok(Json(sessions))
}

/// The caller's active sessions, most recently changed first.
#[utoipa::path(get, path = "/sessions/recent", tag = "sessions", security(("bearer" = [])), params(LimitQuery), responses(
    (status = OK, body = Vec<WorkspaceSession>),
))]
async fn recent(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<Vec<WorkspaceSession>>, ApiError> {
    Ok(Json(
        state
            .db
            .sessions()
            .recent(auth.tenant, auth.user, limit(q.limit, 20))
            .await?,
    ))
}

/// The caller's sessions sharing any of the tags, most shared tags first.
#[utoipa::path(get, path = "/sessions/related", tag = "sessions", security(("bearer" = [])), params(TagsQuery), responses(
    (status = OK, body = Vec<RelatedSession>),
))]
async fn related_by_tags(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<TagsQuery>,
) -> Result<Json<Vec<RelatedSession>>, ApiError> {
    let tags: Vec<String> = q
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    stint_model::validate::tags("tags", &tags)?;
    let related = state
        .db
        .sessions()
        .related_by_tags(auth.tenant, auth.user, &tags, limit(q.limit, 20))
        .await?;
    Ok(Json(
        related.into_iter().map(RelatedSession::from).collect(),
    ))
}

/// A session.
#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = OK, body = WorkspaceSession), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn get_session(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Json<WorkspaceSession>, ApiError> {
    Ok(Json(state.db.sessions().get(auth.tenant, id).await?))
}

/// Changes the fields present in the body; `null` clears a nullable one.
#[utoipa::path(put, path = "/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    request_body = UpdateSessionRequest,
    responses((status = OK, body = WorkspaceSession), (status = NOT_FOUND, body = ErrorBody), (status = UNPROCESSABLE_ENTITY, body = ErrorBody)),
)]
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(req): ApiJson<UpdateSessionRequest>,
) -> Result<Json<WorkspaceSession>, ApiError> {
    auth.require_write(&state).await?;
    let mut session = state.db.sessions().get(auth.tenant, id).await?;
    req.apply(&mut session);
    let ctx = WriteCtx::now();
    session.updated_at = ctx.at;
    session.validate()?;
    let audited = auth.event(AuditEventType::SessionUpdated, json!({"session_id": id}));
    state
        .db
        .sessions()
        .update(&session, &ctx.audited(&audited))
        .await?;
    Ok(Json(session))
}

/// Deletes a session.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = NO_CONTENT), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    auth.require_write(&state).await?;
    state.db.sessions().get(auth.tenant, id).await?;
    let audited = auth.event(AuditEventType::SessionDeleted, json!({"session_id": id}));
    state
        .db
        .sessions()
        .delete(auth.tenant, id, &WriteCtx::now().audited(&audited))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forks a session: a child starting from its state, to try another approach.
#[utoipa::path(post, path = "/sessions/{id}/fork", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "parent session id")),
    request_body = ForkRequest,
    responses((status = CREATED, body = WorkspaceSession), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn fork(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
    ApiJson(req): ApiJson<ForkRequest>,
) -> Result<(StatusCode, Json<WorkspaceSession>), ApiError> {
    auth.require_write(&state).await?;
    stint_model::validate::name("name", &req.name)?;
    let mut child = state
        .db
        .sessions()
        .get(auth.tenant, id)
        .await?
        .fork(req.name);
    child.user_id = auth.user;
    let audited = auth.event(
        AuditEventType::SessionForked,
        json!({"parent": id, "child": child.id}),
    );
    state
        .db
        .sessions()
        .create(&child, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((StatusCode::CREATED, Json(child)))
}

/// The sessions forked from this one.
#[utoipa::path(get, path = "/sessions/{id}/children", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = OK, body = Vec<WorkspaceSession>), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn children(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Json<Vec<WorkspaceSession>>, ApiError> {
    state.db.sessions().get(auth.tenant, id).await?;
    Ok(Json(state.db.sessions().children(auth.tenant, id).await?))
}

/// Sessions related to this one, with the reasons: shared tags, same
/// workspace; ranked by shared tags, then workspace, then recency.
#[utoipa::path(get, path = "/sessions/{id}/related", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id"), LimitQuery),
    responses((status = OK, body = Vec<RelatedSession>), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn related(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<Vec<RelatedSession>>, ApiError> {
    let related = state
        .db
        .sessions()
        .related_to(auth.tenant, id, limit(q.limit, 20))
        .await?;
    Ok(Json(
        related.into_iter().map(RelatedSession::from).collect(),
    ))
}

/// Every session of a workspace in the tenant, newest first: by its
/// identity (every device and path), or by the folder started in.
#[utoipa::path(get, path = "/workspaces/sessions", tag = "sessions", security(("bearer" = [])), params(WorkspaceQuery), responses(
    (status = OK, body = Vec<WorkspaceSession>),
))]
async fn of_workspace(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<WorkspaceQuery>,
) -> Result<Json<Vec<WorkspaceSession>>, ApiError> {
    let workspace = match (&q.workspace_id, &q.path) {
        (Some(id), None) => {
            stint_model::workspace::validate_id("workspace_id", id)?;
            id
        }
        (None, Some(path)) => path,
        _ => {
            return Err(ApiError::invalid(
                "workspace_id",
                "give either workspace_id or path",
            ));
        }
    };
    Ok(Json(
        state
            .db
            .sessions()
            .by_workspace(auth.tenant, workspace, limit(q.limit, 100))
            .await?,
    ))
}
