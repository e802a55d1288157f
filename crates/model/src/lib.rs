//! # stint-model
//!
//! The vocabulary of Stint: typed ids, the ten record types (and the
//! conflicts sync keeps), their validation
//! rules, and the error shape of the APIs. Every other crate speaks in these
//! types; this one does no I/O, so it compiles anywhere and tests in
//! milliseconds.
//!
//! ## Layout
//!
//! - [`ids`]: one UUID newtype per kind of record (UUIDv7: time-ordered).
//! - [`validate`]: the rules (names, paths, tags, digests, sizes) and the
//!   [`Validate`] trait; a failure names its field.
//! - The records, one module each, with the constructors and helpers the
//!   original plan names:
//!   [`tenant`] (`Tenant::new_self_tenant`, `Tenant::new_organization`),
//!   [`user`] (`User::full_name`, roles), [`auth`] (`AuthSession::rotate`),
//!   [`session`] (`WorkspaceSession::fork`), [`conversation`] (and messages),
//!   [`audit`] (24 event types), [`file`] (soft delete), [`agent`], [`setting`],
//!   [`conflict`] (the losing side of two edits of one field).
//! - [`kind`]: the ten kinds as keys, the change log and sync name them.
//! - [`membership`]: which users belong to which tenant, with which role.
//! - [`api`]: the requests and responses of the HTTP API; [`sync`]: those
//!   of the sync protocol.
//! - [`workspace`]: workspace identities (git remote and root commit, or
//!   a content fingerprint), the same on every device and path.
//! - [`error`]: `{code, message, field}` as every API answers errors.
//!
//! Records serialize with serde in snake_case; maps are `BTreeMap` so the same
//! record always serializes to the same bytes (the store compares bytes to
//! make retried writes idempotent).

pub mod agent;
pub mod api;
pub mod audit;
pub mod auth;
pub mod conflict;
pub mod conversation;
pub mod error;
pub mod file;
pub mod ids;
pub mod kind;
pub mod membership;
pub mod session;
pub mod setting;
pub mod sync;
pub mod tenant;
pub mod user;
pub mod validate;
pub mod workspace;

pub use agent::{Agent, AgentConfig, AgentMemory, AgentType};
pub use audit::{Audit, AuditEventType};
pub use auth::{AuthSession, TokenLifetimes};
pub use conflict::Conflict;
pub use conversation::{Conversation, ConversationStatus, Message, MessageRole};
pub use error::{ErrorBody, ErrorCode};
pub use file::File;
pub use ids::*;
pub use kind::RecordKind;
pub use membership::Membership;
pub use session::{
    Breakpoint, EditorLayout, EditorState, EditorTab, LineAnchor, Note, Position, Selection,
    SessionMemory, SessionStatus, TerminalState, WorkspaceSession,
};
pub use setting::{Setting, SettingCategory};
pub use tenant::{Tenant, TenantPlan, TenantSettings, TenantType};
pub use user::{User, UserRole};
pub use validate::{Validate, ValidationError};
pub use workspace::GitState;

/// A point in time, UTC; serialized as RFC 3339.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The current time, truncated to microseconds.
///
/// Truncated because indexes order by microseconds: a record's timestamp and
/// its index key must agree exactly, and a timestamp must survive a round trip
/// through every store unchanged.
#[must_use]
pub fn now() -> Timestamp {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
