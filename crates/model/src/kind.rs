//! The kinds of records, as named in keys, the change log and sync.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the ten record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// [`crate::Tenant`]
    Tenant,
    /// [`crate::User`]
    User,
    /// [`crate::AuthSession`]
    AuthSession,
    /// [`crate::WorkspaceSession`]
    WorkspaceSession,
    /// [`crate::Conversation`]
    Conversation,
    /// [`crate::Message`]
    Message,
    /// [`crate::Audit`]
    Audit,
    /// [`crate::File`]
    File,
    /// [`crate::Agent`]
    Agent,
    /// [`crate::Setting`]
    Setting,
    /// [`crate::Conflict`]
    Conflict,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [Self; 11] = [
        Self::Tenant,
        Self::User,
        Self::AuthSession,
        Self::WorkspaceSession,
        Self::Conversation,
        Self::Message,
        Self::Audit,
        Self::File,
        Self::Agent,
        Self::Setting,
        Self::Conflict,
    ];

    /// The snake_case name, as in JSON and in keys.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::User => "user",
            Self::AuthSession => "auth_session",
            Self::WorkspaceSession => "workspace_session",
            Self::Conversation => "conversation",
            Self::Message => "message",
            Self::Audit => "audit",
            Self::File => "file",
            Self::Agent => "agent",
            Self::Setting => "setting",
            Self::Conflict => "conflict",
        }
    }

    /// What a person calls a record of this kind, in messages ("no session
    /// 01a2…", not "no workspace_session 01a2…").
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::AuthSession => "sign-in",
            Self::WorkspaceSession => "session",
            Self::Audit => "audit event",
            other => other.as_str(),
        }
    }

    /// Whether records of this kind replicate to devices. Accounts, logins
    /// and the audit trail stay on the server.
    #[must_use]
    pub fn is_synced(self) -> bool {
        matches!(
            self,
            Self::WorkspaceSession
                | Self::Conversation
                | Self::Message
                | Self::File
                | Self::Agent
                | Self::Setting
                | Self::Conflict
        )
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_json() {
        for kind in RecordKind::ALL {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(RecordKind::ALL.iter().filter(|k| k.is_synced()).count(), 7);
    }
}
