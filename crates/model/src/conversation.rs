//! AI conversations and their messages.
//!
//! Messages are records of their own so that listing conversations never
//! loads their text, and a long conversation pages through its messages.

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, SessionId, TenantId, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// Whether a conversation is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// In use.
    #[default]
    Active,
    /// Kept for reference.
    Archived,
    /// Deleted by the user, kept until purged.
    Deleted,
}

/// An AI conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The user who started it.
    pub user_id: UserId,
    /// The workspace session it belongs to, if any.
    #[serde(default)]
    pub workspace_session_id: Option<SessionId>,
    /// Which AI provider answers (`openai`, `anthropic`, `local`, …).
    pub ai_provider: String,
    /// Title.
    pub title: String,
    /// Longer description.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Active, archived or deleted.
    #[serde(default)]
    pub status: ConversationStatus,
    /// Number of messages (kept by the repository as messages are added).
    #[serde(default)]
    pub message_count: u64,
    /// Sum of the messages' token counts (kept likewise).
    #[serde(default)]
    pub token_count: u64,
    /// Conversations the user linked.
    #[serde(default)]
    pub related_conversations: Vec<ConversationId>,
    /// A summary for context in later sessions.
    #[serde(default)]
    pub summary: Option<String>,
    /// When it was started.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Conversation {
    /// A new, empty conversation.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        workspace_session_id: Option<SessionId>,
        title: impl Into<String>,
    ) -> Self {
        let at = now();
        Self {
            id: ConversationId::new(),
            tenant_id,
            user_id,
            workspace_session_id,
            ai_provider: "unspecified".into(),
            title: title.into(),
            description: None,
            tags: Vec::new(),
            status: ConversationStatus::Active,
            message_count: 0,
            token_count: 0,
            related_conversations: Vec::new(),
            summary: None,
            created_at: at,
            updated_at: at,
        }
    }
}

impl Validate for Conversation {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::name("title", &self.title)?;
        validate::identifier("ai_provider", &self.ai_provider)?;
        if let Some(d) = &self.description {
            validate::text("description", d, validate::MAX_TEXT_CHARS)?;
        }
        if let Some(s) = &self.summary {
            validate::text("summary", s, validate::MAX_TEXT_CHARS)?;
        }
        validate::tags("tags", &self.tags)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// The person.
    User,
    /// The model.
    Assistant,
    /// Instructions to the model.
    System,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// Which model produced it.
    #[serde(default)]
    pub model: Option<String>,
    /// Tokens it used, when known.
    #[serde(default)]
    pub token_count: Option<u64>,
    /// When it was written.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Message {
    /// A new message of `conversation_id`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        conversation_id: ConversationId,
        role: MessageRole,
        content: impl Into<String>,
    ) -> Self {
        Self {
            id: MessageId::new(),
            tenant_id,
            conversation_id,
            role,
            content: content.into(),
            model: None,
            token_count: None,
            created_at: now(),
        }
    }
}

impl Validate for Message {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.content.is_empty() {
            return Err(ValidationError::new("content", "must not be empty"));
        }
        if self.content.len() > validate::MAX_MESSAGE_BYTES {
            return Err(ValidationError::new(
                "content",
                format!("must be at most {} bytes", validate::MAX_MESSAGE_BYTES),
            ));
        }
        if let Some(m) = &self.model {
            validate::name("model", m)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded() {
        let conversation = Conversation::new(TenantId::new(), UserId::new(), None, "Design");
        assert!(conversation.validate().is_ok());
        let mut m = Message::new(
            conversation.tenant_id,
            conversation.id,
            MessageRole::User,
            "Hi",
        );
        assert!(m.validate().is_ok());
        m.content = "x".repeat(validate::MAX_MESSAGE_BYTES + 1);
        assert_eq!(m.validate().unwrap_err().field, "content");
        m.content.clear();
        assert_eq!(m.validate().unwrap_err().field, "content");
    }

    #[test]
    fn conversation_rules() {
        let mut c = Conversation::new(TenantId::new(), UserId::new(), None, "Design");
        c.ai_provider = "Open AI".into();
        assert_eq!(c.validate().unwrap_err().field, "ai_provider");
    }
}
