//! The one command the UI calls: `rpc`, an operation of the local
//! protocol by its name, with its params. The operations (names, params,
//! results, whether they write) are declared once, in
//! `stint_client::protocol`; the UI's `api.ts` is typed by the TypeScript
//! generated from that declaration (`editors/protocol/stint-protocol.ts`).
//! So there is no list of commands here to keep in step, and the window
//! calls exactly what an editor's plugin or `stint rpc` calls.

use serde_json::Value;
use stint_client::protocol;
use tauri::State;

use crate::error::UiError;
use crate::state::App;

#[cfg(test)]
mod names {
    include!("commands/names.rs");
}

/// Every command, for the builder.
macro_rules! handlers {
    () => {
        tauri::generate_handler![commands::rpc]
    };
}
pub(crate) use handlers;

/// Serves `method` with `params` on the device this app owns. A write
/// tells the sync engine that an edit waits (after the write, so the
/// round that follows sees it).
#[tauri::command]
pub(crate) async fn rpc(
    app: State<'_, App>,
    method: String,
    params: Value,
) -> Result<Value, UiError> {
    let owner = app.owner().await?;
    let answer = protocol::serve_call(owner.device(), &method, params).await?;
    if protocol::writes(&method) {
        owner.edited();
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #[test]
    fn capabilities_grant_every_command_and_nothing_more() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json"))
                .expect("capabilities/default.json is JSON");
        let mut granted: Vec<String> = capability["permissions"]
            .as_array()
            .expect("a permission list")
            .iter()
            .map(|p| p.as_str().expect("a permission name").to_owned())
            .collect();
        let mut expected: Vec<String> = super::names::COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .chain([
                "core:event:allow-listen".into(),
                "core:event:allow-unlisten".into(),
            ])
            .collect();
        granted.sort();
        expected.sort();
        assert_eq!(granted, expected);
    }
}
