//! Audit events: who did what, when, from where.

use serde::{Deserialize, Serialize};

use crate::ids::{AuditId, AuthSessionId, SessionId, TenantId, UserId};
use crate::{Timestamp, now};

/// The 24 kinds of audited events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AuditEventType {
    /// An account was created.
    UserRegistered,
    /// A successful login.
    UserLogin,
    /// A failed login (unknown user or wrong password).
    LoginFailed,
    /// A logout of one device or of all.
    UserLogout,
    /// A refresh token was exchanged.
    TokenRefresh,
    /// A rotated refresh token was presented again; its family was revoked.
    TokenReuseDetected,
    /// A password was changed.
    PasswordChanged,
    /// A request was refused for lack of rights.
    UnauthorizedAccess,
    /// A member was added, removed or given another role.
    MemberChanged,
    /// A workspace session was started.
    SessionCreated,
    /// A workspace session changed.
    SessionUpdated,
    /// A workspace session was forked.
    SessionForked,
    /// A workspace session was deleted.
    SessionDeleted,
    /// A file record was created.
    FileCreated,
    /// A file record changed.
    FileUpdated,
    /// A file record was deleted.
    FileDeleted,
    /// A file record was read.
    FileAccessed,
    /// A conversation was started.
    ConversationCreated,
    /// A message was added.
    MessageSent,
    /// An agent ran.
    AgentExecuted,
    /// An agent failed.
    AgentError,
    /// A setting changed.
    SettingChanged,
    /// A request failed inside the server.
    ApiError,
    /// The store failed.
    DatabaseError,
}

impl AuditEventType {
    /// Every event type, in declaration order.
    pub const ALL: [Self; 24] = [
        Self::UserRegistered,
        Self::UserLogin,
        Self::LoginFailed,
        Self::UserLogout,
        Self::TokenRefresh,
        Self::TokenReuseDetected,
        Self::PasswordChanged,
        Self::UnauthorizedAccess,
        Self::MemberChanged,
        Self::SessionCreated,
        Self::SessionUpdated,
        Self::SessionForked,
        Self::SessionDeleted,
        Self::FileCreated,
        Self::FileUpdated,
        Self::FileDeleted,
        Self::FileAccessed,
        Self::ConversationCreated,
        Self::MessageSent,
        Self::AgentExecuted,
        Self::AgentError,
        Self::SettingChanged,
        Self::ApiError,
        Self::DatabaseError,
    ];

    /// The snake_case name used on the wire and in keys.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user_registered",
            Self::UserLogin => "user_login",
            Self::LoginFailed => "login_failed",
            Self::UserLogout => "user_logout",
            Self::TokenRefresh => "token_refresh",
            Self::TokenReuseDetected => "token_reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::UnauthorizedAccess => "unauthorized_access",
            Self::MemberChanged => "member_changed",
            Self::SessionCreated => "session_created",
            Self::SessionUpdated => "session_updated",
            Self::SessionForked => "session_forked",
            Self::SessionDeleted => "session_deleted",
            Self::FileCreated => "file_created",
            Self::FileUpdated => "file_updated",
            Self::FileDeleted => "file_deleted",
            Self::FileAccessed => "file_accessed",
            Self::ConversationCreated => "conversation_created",
            Self::MessageSent => "message_sent",
            Self::AgentExecuted => "agent_executed",
            Self::AgentError => "agent_error",
            Self::SettingChanged => "setting_changed",
            Self::ApiError => "api_error",
            Self::DatabaseError => "database_error",
        }
    }
}

/// One audit event. Audit events are written once and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Audit {
    /// Its id.
    pub id: AuditId,
    /// The tenant it happened in.
    pub tenant_id: TenantId,
    /// Who did it, when known (a failed login of an unknown email has no user).
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// What happened.
    pub event_type: AuditEventType,
    /// Details (a JSON object; never secrets).
    #[serde(default)]
    pub event_data: serde_json::Value,
    /// The login it happened under.
    #[serde(default)]
    pub auth_session_id: Option<AuthSessionId>,
    /// The workspace session it concerns.
    #[serde(default)]
    pub workspace_session_id: Option<SessionId>,
    /// Client address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Client `User-Agent`.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Audit {
    /// An event happening now.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: Option<UserId>,
        event_type: AuditEventType,
        event_data: serde_json::Value,
    ) -> Self {
        Self {
            id: AuditId::new(),
            tenant_id,
            user_id,
            event_type,
            event_data,
            auth_session_id: None,
            workspace_session_id: None,
            ip_address: None,
            user_agent: None,
            created_at: now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_four_distinct_event_types_named_like_their_json() {
        let names: std::collections::BTreeSet<_> =
            AuditEventType::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), 24);
        for event in AuditEventType::ALL {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(json, format!("\"{}\"", event.as_str()));
        }
    }
}
