//! The user's settings (editor, theme, LLM, terminal, workspace), and
//! what the window showed last, so it reopens where it was.

use stint_model::{Setting, SettingCategory};
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[tauri::command]
pub(crate) async fn settings(app: State<'_, App>) -> Result<Vec<Setting>, UiError> {
    Ok(app.device().await?.settings().await?)
}

#[tauri::command]
pub(crate) async fn set_setting(
    app: State<'_, App>,
    category: SettingCategory,
    key: String,
    value: serde_json::Value,
) -> Result<Setting, UiError> {
    app.edit(|d| d.set_setting(category, &key, value)).await
}

#[tauri::command]
pub(crate) async fn window_state(app: State<'_, App>) -> Result<serde_json::Value, UiError> {
    Ok(app.device().await?.window_state())
}

#[tauri::command]
pub(crate) async fn save_window_state(
    app: State<'_, App>,
    state: serde_json::Value,
) -> Result<(), UiError> {
    Ok(app.device().await?.save_window_state(&state)?)
}
