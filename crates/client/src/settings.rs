//! The signed-in user's settings (editor, theme, LLM, terminal, workspace)
//! and the AI conversations of a session, as the desktop app shows them.
//! Settings are records like any other: written locally, synced through
//! the outbox, so a theme chosen on one device follows the user.

use stint_model::api::{ConversationWithMessages, MessagePageResponse};
use stint_model::{Setting, SettingCategory};

use crate::device::Device;
use crate::error::Result;

/// Where the desktop window keeps what it showed last.
const WINDOW_FILE: &str = "window.json";

/// Messages shown per conversation on a session's page.
const MESSAGES_SHOWN: usize = 200;

impl Device {
    /// Every setting of the user, by category then key.
    pub async fn settings(&self) -> Result<Vec<Setting>> {
        let (tenant, user) = self.owner();
        Ok(self.db().settings().all_of_user(tenant, user).await?)
    }

    /// Sets `category.key` to `value` (validated: a key is an identifier).
    /// Durable when this returns.
    pub async fn set_setting(
        &self,
        category: SettingCategory,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Setting> {
        let (tenant, user) = self.owner();
        let setting = Setting::new(tenant, user, category, key, value);
        stint_model::Validate::validate(&setting)?;
        self.db().settings().set(&setting, &self.ctx()).await?;
        Ok(setting)
    }

    /// The AI conversations of session `id`, newest first, each with its
    /// first messages.
    pub async fn conversations(&self, id: &str) -> Result<Vec<ConversationWithMessages>> {
        let session = self.find_session(id).await?;
        let conversations = self.db().conversations();
        let mut out = Vec::new();
        for conversation in conversations
            .by_session(session.tenant_id, session.id)
            .await?
        {
            let page = conversations
                .list_messages(session.tenant_id, conversation.id, None, MESSAGES_SHOWN)
                .await?;
            out.push(ConversationWithMessages {
                conversation,
                messages: MessagePageResponse {
                    messages: page.messages,
                    next: page.next,
                },
            });
        }
        Ok(out)
    }

    /// What the desktop window showed when it closed (its page, its
    /// filters), so that it opens where it was; `null` the first time.
    /// Opaque here: the window decides what it keeps. Kept per device, in
    /// the data directory, never synced.
    #[must_use]
    pub fn window_state(&self) -> serde_json::Value {
        std::fs::read(self.dir().join(WINDOW_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Keeps what the desktop window shows now (see
    /// [`Device::window_state`]).
    pub fn save_window_state(&self, state: &serde_json::Value) -> Result<()> {
        crate::profile::write_json(&self.dir().join(WINDOW_FILE), state)
    }
}
