//! Sign in, sign out, who is signed in and in which tenant, switching
//! tenant, and the device's status.

use stint_client::{Account, Device, Status};
use stint_model::api::{RegisterRequest, TenantWithRole};
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[tauri::command]
pub(crate) async fn status(app: State<'_, App>) -> Result<Status, UiError> {
    Ok(app.device().await?.status().await?)
}

#[tauri::command]
pub(crate) async fn whoami(app: State<'_, App>) -> Result<Option<Account>, UiError> {
    Ok(app.device().await?.whoami())
}

#[tauri::command]
pub(crate) async fn login(
    app: State<'_, App>,
    server: String,
    email: String,
    password: String,
) -> Result<Account, UiError> {
    app.edit(|d| d.login(&server, &email, &password)).await
}

#[tauri::command]
pub(crate) async fn register(
    app: State<'_, App>,
    server: String,
    request: RegisterRequest,
) -> Result<Account, UiError> {
    app.edit(|d| d.register(&server, &request)).await
}

#[tauri::command]
pub(crate) async fn logout(app: State<'_, App>) -> Result<bool, UiError> {
    app.edit(Device::logout).await
}

#[tauri::command]
pub(crate) async fn tenants(app: State<'_, App>) -> Result<Vec<TenantWithRole>, UiError> {
    Ok(app.device().await?.tenants().await?)
}

#[tauri::command]
pub(crate) async fn switch_tenant(app: State<'_, App>, id: String) -> Result<Account, UiError> {
    app.edit(|d| d.switch_tenant(&id)).await
}
