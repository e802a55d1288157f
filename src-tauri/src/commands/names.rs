/// Every command the UI may call. Read by `build.rs` (the permission
/// manifest) and checked against the handler list by a test.
pub(crate) const COMMANDS: &[&str] = &[
    // account
    "status",
    "whoami",
    "login",
    "register",
    "logout",
    "tenants",
    "switch_tenant",
    // sessions
    "list_sessions",
    "recent_sessions",
    "find_session",
    "start_session",
    "update_session",
    "fork_session",
    "delete_session",
    "resume_session",
    "open_in_editor",
    "children",
    "related",
    "conversations",
    // sync and conflicts
    "sync_now",
    "conflicts",
    "resolve_conflict",
    // files and watching
    "files",
    "watch_workspace",
    "unwatch_workspace",
    "watch_statuses",
    // settings
    "settings",
    "set_setting",
    "window_state",
    "save_window_state",
];
