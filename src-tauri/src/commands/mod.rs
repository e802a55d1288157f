//! The commands the UI calls, one file per domain. Each is a one-line call
//! into `stint-client`: reads through [`App::device`], writes through
//! [`App::edit`] (which also tells sync that an edit waits). Arguments
//! arrive from JavaScript in camelCase (`takeMine`), as Tauri maps them.
//!
//! [`App::device`]: crate::state::App::device
//! [`App::edit`]: crate::state::App::edit

pub(crate) mod account;
pub(crate) mod files;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod sync;

#[cfg(test)]
mod names {
    include!("names.rs");
}

/// Every command, for the builder; `handlers_match_the_manifest` checks
/// that this list and [`COMMANDS`] (the permission manifest) agree.
macro_rules! handlers {
    () => {
        tauri::generate_handler![
            commands::account::status,
            commands::account::whoami,
            commands::account::login,
            commands::account::register,
            commands::account::logout,
            commands::account::tenants,
            commands::account::switch_tenant,
            commands::sessions::list_sessions,
            commands::sessions::recent_sessions,
            commands::sessions::find_session,
            commands::sessions::start_session,
            commands::sessions::update_session,
            commands::sessions::fork_session,
            commands::sessions::delete_session,
            commands::sessions::resume_session,
            commands::sessions::open_in_editor,
            commands::sessions::children,
            commands::sessions::related,
            commands::sessions::conversations,
            commands::sync::sync_now,
            commands::sync::conflicts,
            commands::sync::resolve_conflict,
            commands::files::files,
            commands::files::watch_workspace,
            commands::files::unwatch_workspace,
            commands::files::watch_statuses,
            commands::settings::settings,
            commands::settings::set_setting,
            commands::settings::window_state,
            commands::settings::save_window_state,
        ]
    };
}
pub(crate) use handlers;

#[cfg(test)]
mod tests {
    /// The names in `handlers!` (after the last `::`), read from this file.
    fn handler_names() -> Vec<String> {
        let source = include_str!("mod.rs");
        let start = source.find("generate_handler![").expect("the handler list");
        let end = start + source[start..].find(']').expect("its end");
        source[start..end]
            .split(',')
            .filter_map(|item| item.trim().rsplit("::").next())
            .filter(|name| !name.is_empty() && !name.contains('['))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn handlers_match_the_manifest() {
        let mut handlers = handler_names();
        let mut manifest: Vec<String> = super::names::COMMANDS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        handlers.sort();
        manifest.sort();
        assert_eq!(handlers, manifest);
    }

    #[test]
    fn capabilities_grant_every_command_and_nothing_more() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../../capabilities/default.json"))
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
