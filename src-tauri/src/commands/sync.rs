//! Sync rounds and conflicts.

use stint_client::{Conflict, SyncReport};
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[tauri::command]
pub(crate) async fn sync_now(app: State<'_, App>) -> Result<SyncReport, UiError> {
    Ok(app.device().await?.sync().await?)
}

#[tauri::command]
pub(crate) async fn conflicts(app: State<'_, App>) -> Result<Vec<Conflict>, UiError> {
    Ok(app.device().await?.conflicts().await?)
}

#[tauri::command]
pub(crate) async fn resolve_conflict(
    app: State<'_, App>,
    id: String,
    take_mine: bool,
) -> Result<Conflict, UiError> {
    app.edit(|d| d.resolve_conflict(&id, take_mine)).await
}
