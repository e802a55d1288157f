//! AI agent configurations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use stint_db::WriteCtx;
use stint_model::api::{CreateAgentRequest, UpdateAgentRequest};
use stint_model::{Agent, AgentId, AgentType, ErrorBody, Validate};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_agent, update, delete))
}

/// `?type=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only agents of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    agent_type: Option<AgentType>,
}

/// Creates an agent.
#[utoipa::path(post, path = "/agents", tag = "agents", security(("bearer" = [])), request_body = CreateAgentRequest, responses(
    (status = CREATED, body = Agent), (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateAgentRequest>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    auth.require_write(&state).await?;
    let mut agent = Agent::new(auth.tenant, req.name, req.agent_type);
    agent.description = req.description;
    agent.config = req.config;
    agent.validate()?;
    state.db.agents().create(&agent, &WriteCtx::now()).await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

/// The tenant's agents, optionally of one type.
#[utoipa::path(get, path = "/agents", tag = "agents", security(("bearer" = [])), params(ListQuery), responses(
    (status = OK, body = Vec<Agent>),
))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(match q.agent_type {
        Some(t) => state.db.agents().list_by_type(auth.tenant, t).await?,
        None => state.db.agents().list(auth.tenant).await?,
    }))
}

/// An agent.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = OK, body = Agent), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn get_agent(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AgentId>,
) -> Result<Json<Agent>, ApiError> {
    Ok(Json(state.db.agents().get(auth.tenant, id).await?))
}

/// Changes the fields present in the body.
#[utoipa::path(put, path = "/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "agent id")),
    request_body = UpdateAgentRequest,
    responses((status = OK, body = Agent), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AgentId>,
    ApiJson(req): ApiJson<UpdateAgentRequest>,
) -> Result<Json<Agent>, ApiError> {
    auth.require_write(&state).await?;
    let mut agent = state.db.agents().get(auth.tenant, id).await?;
    if let Some(name) = req.name {
        agent.name = name;
    }
    if let Some(t) = req.agent_type {
        agent.agent_type = t;
    }
    if let Some(d) = req.description {
        agent.description = d;
    }
    if let Some(c) = req.config {
        agent.config = c;
    }
    if let Some(m) = req.memory {
        agent.memory = m;
    }
    if let Some(a) = req.is_active {
        agent.is_active = a;
    }
    let ctx = WriteCtx::now();
    agent.updated_at = ctx.at;
    agent.validate()?;
    state.db.agents().update(&agent, &ctx).await?;
    Ok(Json(agent))
}

/// Deletes an agent.
#[utoipa::path(delete, path = "/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = NO_CONTENT), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AgentId>,
) -> Result<StatusCode, ApiError> {
    auth.require_write(&state).await?;
    state.db.agents().get(auth.tenant, id).await?;
    state
        .db
        .agents()
        .delete(auth.tenant, id, &WriteCtx::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
