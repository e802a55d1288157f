//! Workspace sessions: list, show, start, change, fork, delete, resume,
//! and what relates to one (forks, related sessions, conversations).

use stint_client::{Change, NewSession, OpenCommand, RelatedSession, Resume, SessionFilter};
use stint_model::WorkspaceSession;
use stint_model::api::ConversationWithMessages;
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[tauri::command]
pub(crate) async fn list_sessions(
    app: State<'_, App>,
    filter: SessionFilter,
) -> Result<Vec<WorkspaceSession>, UiError> {
    Ok(app.device().await?.list_sessions(&filter).await?)
}

/// Active sessions, most recently changed first: what the window shows
/// before it has read them all.
#[tauri::command]
pub(crate) async fn recent_sessions(
    app: State<'_, App>,
    limit: usize,
) -> Result<Vec<WorkspaceSession>, UiError> {
    Ok(app.device().await?.recent_sessions(limit).await?)
}

#[tauri::command]
pub(crate) async fn find_session(
    app: State<'_, App>,
    id: String,
) -> Result<WorkspaceSession, UiError> {
    Ok(app.device().await?.find_session(&id).await?)
}

#[tauri::command]
pub(crate) async fn start_session(
    app: State<'_, App>,
    session: NewSession,
) -> Result<WorkspaceSession, UiError> {
    app.edit(|d| d.start_session(session)).await
}

#[tauri::command]
pub(crate) async fn update_session(
    app: State<'_, App>,
    id: String,
    changes: Vec<Change>,
) -> Result<WorkspaceSession, UiError> {
    app.edit(|d| d.update_session(&id, changes)).await
}

#[tauri::command]
pub(crate) async fn fork_session(
    app: State<'_, App>,
    id: String,
    name: String,
) -> Result<WorkspaceSession, UiError> {
    app.edit(|d| d.fork_session(&id, &name)).await
}

#[tauri::command]
pub(crate) async fn delete_session(
    app: State<'_, App>,
    id: String,
) -> Result<WorkspaceSession, UiError> {
    app.edit(|d| d.delete_session(&id)).await
}

#[tauri::command]
pub(crate) async fn resume_session(app: State<'_, App>, id: String) -> Result<Resume, UiError> {
    Ok(app.device().await?.resume_session(&id).await?)
}

#[tauri::command]
pub(crate) async fn open_in_editor(
    app: State<'_, App>,
    id: String,
    tool: String,
) -> Result<OpenCommand, UiError> {
    Ok(app.device().await?.open_in_editor(&id, &tool).await?)
}

#[tauri::command]
pub(crate) async fn children(
    app: State<'_, App>,
    id: String,
) -> Result<Vec<WorkspaceSession>, UiError> {
    Ok(app.device().await?.children(&id).await?)
}

#[tauri::command]
pub(crate) async fn related(
    app: State<'_, App>,
    id: String,
    limit: usize,
) -> Result<Vec<RelatedSession>, UiError> {
    Ok(app.device().await?.related(&id, limit).await?)
}

#[tauri::command]
pub(crate) async fn conversations(
    app: State<'_, App>,
    id: String,
) -> Result<Vec<ConversationWithMessages>, UiError> {
    Ok(app.device().await?.conversations(&id).await?)
}
