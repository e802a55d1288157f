//! Conversations and their messages.

use stint_model::{
    Conversation, ConversationId, Message, MessageId, RecordKind, SessionId, TenantId, UserId,
    Validate, ValidationError,
};
use stint_store::Store;
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::keys::{self, micros};
use crate::record::{self, Mode, Record, WriteCtx};

const BY_USER: &str = "conv_by_user";
const BY_SESSION: &str = "conv_by_session";
const MESSAGES: &str = "msg_by_conversation";

impl Record for Conversation {
    const KIND: RecordKind = RecordKind::Conversation;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id) = (self.tenant_id, self.id.as_uuid());
        let mut keys = vec![keys::index(t, BY_USER).pack(&(self.user_id.as_uuid(), id))];
        if let Some(session) = self.workspace_session_id {
            keys.push(keys::index(t, BY_SESSION).pack(&(session.as_uuid(), id)));
        }
        keys
    }
    fn references(&self) -> Vec<(RecordKind, Uuid)> {
        self.workspace_session_id
            .map(|s| (RecordKind::WorkspaceSession, s.as_uuid()))
            .into_iter()
            .collect()
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Record for Message {
    const KIND: RecordKind = RecordKind::Message;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let key = (
            self.conversation_id.as_uuid(),
            micros(self.created_at),
            self.id.as_uuid(),
        );
        vec![keys::index(self.tenant_id, MESSAGES).pack(&key)]
    }
    fn references(&self) -> Vec<(RecordKind, Uuid)> {
        vec![(RecordKind::Conversation, self.conversation_id.as_uuid())]
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// One page of a conversation's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<MessageId>,
}

/// The conversations repository (messages included).
/// Messages deleted per transaction when a conversation goes.
const DELETE_BATCH: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct Conversations<'a> {
    pub(crate) store: &'a Store,
}

impl Conversations<'_> {
    /// Stores a new conversation; its workspace session, if any, must exist
    /// in the same tenant.
    pub async fn create(&self, conversation: &Conversation, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::check_references(tx, conversation).await?;
                    record::write(tx, conversation, ctx, Mode::Insert).await
                })
            })
            .await
            .map(drop)
    }

    /// A conversation by id.
    pub async fn get(&self, tenant: TenantId, id: ConversationId) -> Result<Conversation> {
        self.store
            .run(|tx| {
                Box::pin(
                    async move { record::must_get::<Conversation>(tx, tenant, id.as_uuid()).await },
                )
            })
            .await
    }

    /// Changes a conversation's title, status, summary, tags.
    pub async fn update(&self, conversation: &Conversation, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::write(tx, conversation, ctx, Mode::Update).await })
            })
            .await
            .map(drop)
    }

    /// Deletes a conversation and its messages: first the conversation (so
    /// that no message can be added to it meanwhile), then its messages a
    /// batch per transaction (a conversation of 100,000 messages is far
    /// more than one transaction may write). Interrupted, it runs on when
    /// asked again: deleting a deleted conversation drains what is left.
    pub async fn delete(
        &self,
        tenant: TenantId,
        id: ConversationId,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::remove::<Conversation>(tx, tenant, id.as_uuid(), ctx).await
                })
            })
            .await?;
        let prefix = keys::index(tenant, MESSAGES)
            .subspace(&id.as_uuid())
            .bytes()
            .to_vec();
        let prefix = &prefix;
        loop {
            let removed = self
                .store
                .run(|tx| {
                    Box::pin(async move {
                        let batch = record::index_ids(tx, prefix, DELETE_BATCH, false).await?;
                        for message in &batch {
                            record::remove::<Message>(tx, tenant, *message, ctx).await?;
                        }
                        Ok::<_, DbError>(batch.len())
                    })
                })
                .await?;
            if removed < DELETE_BATCH {
                return Ok(());
            }
        }
    }

    /// A user's conversations, newest first.
    pub async fn list_by_user(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        self.by_index(tenant, BY_USER, user.as_uuid(), limit).await
    }

    /// The conversations of a workspace session, newest first.
    pub async fn by_session(
        &self,
        tenant: TenantId,
        session: SessionId,
    ) -> Result<Vec<Conversation>> {
        self.by_index(tenant, BY_SESSION, session.as_uuid(), 0)
            .await
    }

    async fn by_index(
        &self,
        tenant: TenantId,
        index: &str,
        value: Uuid,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let prefix = keys::index(tenant, index).subspace(&value).bytes().to_vec();
        record::list_by_index(self.store, tenant, &prefix, limit, true).await
    }

    /// Adds a message and updates its conversation's message and token
    /// counts, in one transaction. Adding the same message again changes
    /// nothing, so the counts never double.
    pub async fn add_message(&self, message: &Message, ctx: &WriteCtx<'_>) -> Result<Conversation> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let conversation_id = message.conversation_id.as_uuid();
                    let Some(mut conversation) =
                        record::get::<Conversation>(tx, message.tenant_id, conversation_id).await?
                    else {
                        return Err(DbError::BrokenReference(format!(
                            "conversation {} not found",
                            message.conversation_id
                        )));
                    };
                    let written = record::write(tx, message, ctx, Mode::Insert).await?;
                    if written.changed {
                        conversation.message_count += 1;
                        conversation.token_count += message.token_count.unwrap_or(0);
                        conversation.updated_at = ctx.at;
                        record::write(tx, &conversation, ctx, Mode::Update).await?;
                    }
                    Ok(conversation)
                })
            })
            .await
    }

    /// A message by id.
    pub async fn get_message(&self, tenant: TenantId, id: MessageId) -> Result<Message> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<Message>(tx, tenant, id.as_uuid()).await })
            })
            .await
    }

    /// Up to `limit` messages of a conversation, oldest first, starting
    /// after the message `after` (from the start when `None`).
    pub async fn list_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<MessagePage> {
        let limit = limit.max(1);
        let ix = keys::index(tenant, MESSAGES).subspace(&conversation.as_uuid());
        let ix = &ix;
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let (mut begin, end) = ix.range();
                    if let Some(after) = after {
                        let last = record::must_get::<Message>(tx, tenant, after.as_uuid()).await?;
                        if last.conversation_id != conversation {
                            return Err(DbError::not_found(RecordKind::Message, after));
                        }
                        begin = stint_store::key_after(
                            &ix.pack(&(micros(last.created_at), after.as_uuid())),
                        );
                    }
                    let mut ids = record::index_ids_in(tx, &begin, &end, limit + 1, false).await?;
                    let more = ids.len() > limit;
                    ids.truncate(limit);
                    let messages: Vec<Message> = record::get_many(tx, tenant, &ids).await?;
                    let next = if more {
                        messages.last().map(|m| m.id)
                    } else {
                        None
                    };
                    Ok(MessagePage { messages, next })
                })
            })
            .await
    }

    /// The sum of the token counts of a conversation's messages.
    pub async fn count_tokens(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Result<u64> {
        let prefix = keys::index(tenant, MESSAGES)
            .subspace(&conversation.as_uuid())
            .bytes()
            .to_vec();
        let (begin, end) = (prefix.clone(), stint_store::prefix_end(&prefix));
        // A page of messages per transaction, summed as it goes.
        let mut total = 0;
        record::first_matching::<Message>(
            self.store,
            tenant,
            (&begin, &end),
            false,
            usize::MAX,
            |m| {
                total += m.token_count.unwrap_or(0);
                false
            },
        )
        .await?;
        Ok(total)
    }
}
