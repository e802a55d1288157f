//! Builds the app's context and its command manifest: every command the UI
//! may call is listed here, so the capabilities file can grant each by name
//! (`allow-<command>`) and nothing else.

include!("src/commands/names.rs");

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("the Tauri build step failed");
}
