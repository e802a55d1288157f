//! The shapes of the HTTP API's requests and responses (`/api/v5`).
//!
//! Records travel as themselves (a `WorkspaceSession` is answered as one);
//! these are the envelopes around them, and the requests. Every field is
//! snake_case, timestamps are RFC 3339, ids are UUID strings.

use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::{ConversationId, DeviceId, MessageId, SessionId, TenantId, UserId};
use crate::session::{
    Breakpoint, EditorState, SessionMemory, SessionStatus, TerminalState, WorkspaceSession,
};
use crate::{
    AgentConfig, AgentMemory, AgentType, Conversation, Message, MessageRole, Tenant, Timestamp,
    User, UserRole,
};

/// `Debug` for types that carry secrets: every field but the secret ones.
macro_rules! redacted_debug {
    ($type:ident { $($field:ident),* } hiding { $($secret:ident),* }) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

redacted_debug!(RegisterRequest { email, first_name, last_name } hiding { password });
redacted_debug!(LoginRequest { email, tenant_id, device_id } hiding { password });
redacted_debug!(RefreshRequest {} hiding { refresh_token });
redacted_debug!(ChangePasswordRequest {} hiding { current_password, new_password });
redacted_debug!(TokenResponse { token_type, expires_in, user, tenant, role } hiding { access_token, refresh_token });

/// `null` → `Some(None)`, absent → `None`: lets a partial update clear a field.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /auth/register`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegisterRequest {
    /// Email, unique across the server.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// Given name; may be left out (the display name is then the email).
    #[serde(default)]
    pub first_name: String,
    /// Family name; may be left out.
    #[serde(default)]
    pub last_name: String,
    /// The device signing up, if it has an id (see [`LoginRequest`]).
    #[serde(default)]
    pub device_id: Option<DeviceId>,
}

/// `POST /auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LoginRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The tenant to act in; the personal tenant when absent.
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    /// The device logging in, if it has an id; the server gives the login
    /// one otherwise. A device id belongs to the first account that signs
    /// in with it: another account naming it is refused (409).
    #[serde(default)]
    pub device_id: Option<DeviceId>,
}

/// `POST /auth/refresh`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// `POST /auth/switch-tenant`: new tokens acting in another tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SwitchTenantRequest {
    /// A tenant the user is a member of.
    pub tenant_id: TenantId,
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserProfile {
    /// Id.
    pub id: UserId,
    /// Personal tenant.
    pub tenant_id: TenantId,
    /// Email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Whether the email was confirmed.
    pub email_verified: bool,
    /// Last successful login.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_login_at: Option<Timestamp>,
    /// When the account was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl From<&User> for UserProfile {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email_verified: u.email_verified,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
        }
    }
}

/// Answer of register, login, refresh and switch-tenant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque token for `POST /auth/refresh`; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Who is signed in.
    pub user: UserProfile,
    /// The tenant the tokens act in.
    pub tenant: Tenant,
    /// The user's role there.
    pub role: UserRole,
    /// The device this login is bound to: every push and pull made with
    /// its tokens is this device's.
    pub device_id: DeviceId,
}

/// `PUT /users/me`: the fields to change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateProfileRequest {
    /// New given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// New family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// New email.
    #[serde(default)]
    pub email: Option<String>,
}

/// `PUT /users/me/password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current_password: String,
    /// The new one (at least 8 characters).
    pub new_password: String,
}

/// `POST /tenants`: a new organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateTenantRequest {
    /// Its name.
    pub name: String,
}

/// A tenant with the caller's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TenantWithRole {
    /// The tenant.
    pub tenant: Tenant,
    /// The caller's role.
    pub role: UserRole,
}

/// A member of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    /// The user.
    pub user: UserProfile,
    /// Their role.
    pub role: UserRole,
    /// When they joined.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub joined_at: Timestamp,
}

/// `POST /tenants/{id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AddMemberRequest {
    /// The email of an existing account.
    pub email: String,
    /// The role to give.
    pub role: UserRole,
}

/// `PUT /tenants/{id}/members/{user_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateMemberRequest {
    /// The new role.
    pub role: UserRole,
}

/// `POST /sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateSessionRequest {
    /// Display name.
    pub name: String,
    /// Absolute path of the workspace folder.
    pub workspace_path: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A client-chosen id (UUIDv7), so a retried create is not duplicated.
    #[serde(default)]
    pub id: Option<SessionId>,
}

/// `PUT /sessions/{id}`: only the fields present change; `null` clears a
/// nullable field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateSessionRequest {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Workspace folder.
    #[serde(default)]
    pub workspace_path: Option<String>,
    /// Files being worked on.
    #[serde(default)]
    pub active_files: Option<Vec<String>>,
    /// Editor tabs, cursors, layout.
    #[serde(default)]
    pub editor_state: Option<EditorState>,
    /// Terminal cwd, history, environment.
    #[serde(default)]
    pub terminal_state: Option<TerminalState>,
    /// Breakpoints.
    #[serde(default)]
    pub breakpoints: Option<Vec<Breakpoint>>,
    /// Watch expressions.
    #[serde(default)]
    pub watch_expressions: Option<Vec<String>>,
    /// The attached conversation (`null` detaches it).
    #[serde(default, deserialize_with = "nullable")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub conversation_id: Option<Option<ConversationId>>,
    /// Context files.
    #[serde(default)]
    pub context_files: Option<Vec<String>>,
    /// Facts and decisions.
    #[serde(default)]
    pub memory: Option<SessionMemory>,
    /// Linked sessions.
    #[serde(default)]
    pub related_sessions: Option<Vec<SessionId>>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Active or archived.
    #[serde(default)]
    pub status: Option<SessionStatus>,
}

impl UpdateSessionRequest {
    /// Applies the present fields to `session`.
    pub fn apply(self, session: &mut WorkspaceSession) {
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { session.$field = v; } )* };
        }
        set!(
            name,
            workspace_path,
            active_files,
            editor_state,
            terminal_state,
            breakpoints,
            watch_expressions,
            conversation_id,
            context_files,
            memory,
            related_sessions,
            tags,
            status
        );
    }
}

/// `POST /sessions/{id}/fork`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ForkRequest {
    /// The child's name.
    pub name: String,
}

/// A session related to another, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RelatedSession {
    /// The related session.
    pub session: WorkspaceSession,
    /// Tags it shares.
    pub shared_tags: Vec<String>,
    /// Whether it is of the same workspace folder.
    pub same_workspace: bool,
    /// The reasons, for people: `shared tags: auth, backend`, `same workspace`.
    pub reasons: Vec<String>,
}

/// `POST /conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateConversationRequest {
    /// Title.
    pub title: String,
    /// The workspace session it belongs to.
    #[serde(default)]
    pub workspace_session_id: Option<SessionId>,
    /// The AI provider (`openai`, `anthropic`, `local`, …).
    #[serde(default)]
    pub ai_provider: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A client-chosen id.
    #[serde(default)]
    pub id: Option<ConversationId>,
}

/// `POST /conversations/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AddMessageRequest {
    /// Who wrote it.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// The model that produced it.
    #[serde(default)]
    pub model: Option<String>,
    /// Tokens used.
    #[serde(default)]
    pub token_count: Option<u64>,
    /// A client-chosen id.
    #[serde(default)]
    pub id: Option<MessageId>,
}

/// A page of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessagePageResponse {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<MessageId>,
}

/// A conversation with its first page of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationWithMessages {
    /// The conversation.
    pub conversation: Conversation,
    /// Its first messages.
    pub messages: MessagePageResponse,
}

/// Token usage of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenUsage {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its messages.
    pub message_count: u64,
    /// Their tokens, summed.
    pub token_count: u64,
}

/// `PUT /files`: a file's metadata from a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PutFileRequest {
    /// The session whose workspace holds it.
    pub workspace_session_id: SessionId,
    /// Path relative to the workspace root.
    pub file_path: String,
    /// Size in bytes.
    pub file_size: u64,
    /// MIME type.
    pub mime_type: String,
    /// Hex SHA-256.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Modification time on disk.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub modified_at: Option<Timestamp>,
}

/// `POST /agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateAgentRequest {
    /// Name.
    pub name: String,
    /// Role in a multi-agent setup.
    pub agent_type: AgentType,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Tools and capabilities.
    #[serde(default)]
    pub config: AgentConfig,
}

/// `PUT /agents/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateAgentRequest {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Role.
    #[serde(default)]
    pub agent_type: Option<AgentType>,
    /// Description (`null` clears it).
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    /// Tools and capabilities.
    #[serde(default)]
    pub config: Option<AgentConfig>,
    /// Memory.
    #[serde(default)]
    pub memory: Option<AgentMemory>,
    /// Whether it may run.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// `PUT /settings/{category}/{key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PutSettingRequest {
    /// Any JSON value.
    pub value: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_session_updates_touch_only_what_is_present() {
        let mut s = WorkspaceSession::new(TenantId::new(), UserId::new(), "A", "/a");
        s.conversation_id = Some(ConversationId::new());
        let update: UpdateSessionRequest =
            serde_json::from_str(r#"{"name": "B", "tags": ["x"]}"#).unwrap();
        let before = s.clone();
        update.apply(&mut s);
        assert_eq!(
            (s.name.as_str(), s.tags.clone()),
            ("B", vec!["x".to_owned()])
        );
        assert_eq!(s.conversation_id, before.conversation_id);
        assert_eq!(s.editor_state, before.editor_state);

        let clear: UpdateSessionRequest =
            serde_json::from_str(r#"{"conversation_id": null}"#).unwrap();
        clear.apply(&mut s);
        assert_eq!(s.conversation_id, None);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let login: LoginRequest =
            serde_json::from_str(r#"{"email": "a@b.c", "password": "hunter2hunter2"}"#).unwrap();
        let register = RegisterRequest {
            email: "a@b.c".into(),
            password: "hunter2hunter2".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            device_id: None,
        };
        let change = ChangePasswordRequest {
            current_password: "hunter2hunter2".into(),
            new_password: "hunter3hunter3".into(),
        };
        let refresh = RefreshRequest {
            refresh_token: "hunter2hunter2".into(),
        };
        for debug in [
            format!("{login:?}"),
            format!("{register:?}"),
            format!("{change:?}"),
            format!("{refresh:?}"),
        ] {
            assert!(!debug.contains("hunter"), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
        }
        assert!(format!("{login:?}").contains("a@b.c"));
    }

    #[test]
    fn login_accepts_the_minimal_shape() {
        let login: LoginRequest =
            serde_json::from_str(r#"{"email": "a@b.c", "password": "p"}"#).unwrap();
        assert_eq!(login.tenant_id, None);
        let err = serde_json::from_str::<RegisterRequest>(r#"{"email": "a@b.c"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field"));
    }
}
