//! AI conversations and their messages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use stint_db::WriteCtx;
use stint_model::api::{
    AddMessageRequest, ConversationWithMessages, CreateConversationRequest, MessagePageResponse,
    TokenUsage,
};
use stint_model::{
    AuditEventType, Conversation, ConversationId, ErrorBody, Message, MessageId, SessionId,
    Validate,
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
        .routes(routes!(get_conversation, delete))
        .routes(routes!(add_message, list_messages))
        .routes(routes!(tokens))
}

/// Filters of `GET /conversations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only the conversations of this workspace session.
    session_id: Option<SessionId>,
    /// At most this many (default 100, at most 500).
    limit: Option<usize>,
}

/// `?after=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Start after this message.
    after: Option<MessageId>,
    /// At most this many (default 50, at most 500).
    limit: Option<usize>,
}

/// Starts a conversation.
#[utoipa::path(post, path = "/conversations", tag = "conversations", security(("bearer" = [])), request_body = CreateConversationRequest, responses(
    (status = CREATED, body = Conversation), (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
    (status = CONFLICT, body = ErrorBody, description = "A conversation with this id exists"),
))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<CreateConversationRequest>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    auth.require_write(&state).await?;
    let mut conversation =
        Conversation::new(auth.tenant, auth.user, req.workspace_session_id, req.title);
    if let Some(provider) = req.ai_provider {
        conversation.ai_provider = provider;
    }
    if let Some(id) = req.id {
        conversation.id = id;
    }
    conversation.tags = req.tags;
    conversation.validate()?;
    let audited = auth.event(
        AuditEventType::ConversationCreated,
        json!({"conversation_id": conversation.id}),
    );
    state
        .db
        .conversations()
        .create(&conversation, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((StatusCode::CREATED, Json(conversation)))
}

/// The caller's conversations (or a session's), newest first.
#[utoipa::path(get, path = "/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery), responses(
    (status = OK, body = Vec<Conversation>),
))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    let n = limit(q.limit, 100);
    let mut found = match q.session_id {
        Some(session) => {
            state
                .db
                .conversations()
                .by_session(auth.tenant, session)
                .await?
        }
        None => {
            state
                .db
                .conversations()
                .list_by_user(auth.tenant, auth.user, n)
                .await?
        }
    };
    found.truncate(n);
    Ok(Json(found))
}

/// A conversation with its first page of messages.
#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")),
    responses((status = OK, body = ConversationWithMessages), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn get_conversation(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let conversation = state.db.conversations().get(auth.tenant, id).await?;
    let page = state
        .db
        .conversations()
        .list_messages(auth.tenant, id, None, 50)
        .await?;
    Ok(Json(ConversationWithMessages {
        conversation,
        messages: MessagePageResponse {
            messages: page.messages,
            next: page.next,
        },
    }))
}

/// Deletes a conversation and its messages.
#[utoipa::path(delete, path = "/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")),
    responses((status = NO_CONTENT), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<StatusCode, ApiError> {
    auth.require_write(&state).await?;
    state.db.conversations().get(auth.tenant, id).await?;
    state
        .db
        .conversations()
        .delete(auth.tenant, id, &WriteCtx::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a message; the conversation's counts follow.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")),
    request_body = AddMessageRequest,
    responses((status = CREATED, body = Message), (status = NOT_FOUND, body = ErrorBody), (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
        (status = CONFLICT, body = ErrorBody, description = "Another message has this id")),
)]
async fn add_message(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<AddMessageRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    auth.require_write(&state).await?;
    state.db.conversations().get(auth.tenant, id).await?;
    let mut message = Message::new(auth.tenant, id, req.role, req.content);
    message.model = req.model;
    message.token_count = req.token_count;
    if let Some(mid) = req.id {
        message.id = mid;
    }
    message.validate()?;
    let audited = auth.event(
        AuditEventType::MessageSent,
        json!({"conversation_id": id, "message_id": message.id}),
    );
    state
        .db
        .conversations()
        .add_message(&message, &WriteCtx::now().audited(&audited))
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// A page of messages, oldest first.
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id"), PageQuery),
    responses((status = OK, body = MessagePageResponse), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn list_messages(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<MessagePageResponse>, ApiError> {
    state.db.conversations().get(auth.tenant, id).await?;
    let page = state
        .db
        .conversations()
        .list_messages(auth.tenant, id, q.after, limit(q.limit, 50))
        .await?;
    Ok(Json(MessagePageResponse {
        messages: page.messages,
        next: page.next,
    }))
}

/// Message and token counts.
#[utoipa::path(get, path = "/conversations/{id}/tokens", tag = "conversations", security(("bearer" = [])),
    params(("id" = String, Path, description = "conversation id")),
    responses((status = OK, body = TokenUsage), (status = NOT_FOUND, body = ErrorBody)),
)]
async fn tokens(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<TokenUsage>, ApiError> {
    let conversation = state.db.conversations().get(auth.tenant, id).await?;
    let token_count = state
        .db
        .conversations()
        .count_tokens(auth.tenant, id)
        .await?;
    Ok(Json(TokenUsage {
        conversation_id: id,
        message_count: conversation.message_count,
        token_count,
    }))
}
