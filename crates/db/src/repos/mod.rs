//! One repository per record type, plus the change log reader.

pub(crate) mod agents;
pub(crate) mod audit;
pub(crate) mod auth_sessions;
pub(crate) mod changes;
pub(crate) mod conflicts;
pub(crate) mod conversations;
pub(crate) mod files;
pub(crate) mod members;
pub(crate) mod meta;
pub(crate) mod outbox;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod sync;
pub(crate) mod tenants;
pub(crate) mod users;
pub(crate) mod workspaces;
