//! A session's files with their checksums, and watching its workspace.

use stint_client::WatchStatus;
use stint_model::File;
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[tauri::command]
pub(crate) async fn files(app: State<'_, App>, id: String) -> Result<Vec<File>, UiError> {
    Ok(app.device().await?.files(&id, None).await?)
}

#[tauri::command]
pub(crate) async fn watch_workspace(
    app: State<'_, App>,
    id: String,
) -> Result<WatchStatus, UiError> {
    Ok(app.device().await?.watch_workspace(&id).await?)
}

#[tauri::command]
pub(crate) async fn unwatch_workspace(app: State<'_, App>, id: String) -> Result<bool, UiError> {
    Ok(app.device().await?.unwatch_workspace(&id).await?)
}

#[tauri::command]
pub(crate) async fn watch_statuses(app: State<'_, App>) -> Result<Vec<WatchStatus>, UiError> {
    Ok(app.device().await?.watch_statuses())
}
