/// Every command the UI may call. Read by `build.rs` (the permission
/// manifest) and checked against the capabilities by a test. One: every
/// operation goes through `rpc`, by its name in the local protocol.
pub(crate) const COMMANDS: &[&str] = &["rpc"];
