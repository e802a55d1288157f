//! Workspace sessions and the cross-session queries.

use std::collections::BTreeMap;

use stint_model::{
    ConversationId, RecordKind, SessionId, SessionStatus, TenantId, UserId, Validate,
    ValidationError, WorkspaceSession,
};
use stint_store::Store;
use uuid::Uuid;

use crate::error::Result;
use crate::keys::{self, micros};
use crate::record::{self, Mode, Record, WriteCtx};

/// The keys of `index` for one `value` (a user, a parent, …) start with
/// this.
fn prefix(tenant: TenantId, index: &str, value: impl stint_store::tuple::TuplePack) -> Vec<u8> {
    keys::index(tenant, index).subspace(&value).bytes().to_vec()
}

/// How many of the most recent sessions of each tag (and of the folder)
/// are ranked as related.
const RELATED_CANDIDATES: usize = 1_000;

/// The lists of sessions that can be read in pages ([`Sessions::page`]).
#[derive(Debug, Clone, Copy)]
pub enum SessionList<'a> {
    /// A user's sessions.
    User(UserId),
    /// The sessions of one workspace: by identity (`git:…`, `fp:…`), or
    /// by the folder they were started in.
    Workspace(&'a str),
    /// The sessions with a tag.
    Tag(&'a str),
}

impl SessionList<'_> {
    fn subspace(&self, tenant: TenantId) -> stint_store::tuple::Subspace {
        match self {
            Self::User(user) => keys::index(tenant, BY_USER).subspace(&user.as_uuid()),
            Self::Workspace(path) => keys::index(tenant, BY_WORKSPACE).subspace(path),
            Self::Tag(tag) => keys::index(tenant, BY_TAG).subspace(tag),
        }
    }
}

const BY_USER: &str = "ws_by_user";
const RECENT: &str = "ws_recent";
const BY_WORKSPACE: &str = "ws_by_workspace";
const CHILDREN: &str = "ws_children";
const BY_CONVERSATION: &str = "ws_by_conversation";
const BY_TAG: &str = "ws_by_tag";

impl Record for WorkspaceSession {
    const KIND: RecordKind = RecordKind::WorkspaceSession;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id) = (self.tenant_id, self.id.as_uuid());
        let user = self.user_id.as_uuid();
        let mut keys = vec![
            keys::index(t, BY_USER).pack(&(user, id)),
            keys::index(t, RECENT).pack(&(user, micros(self.updated_at), id)),
            keys::index(t, BY_WORKSPACE).pack(&(self.workspace_path.as_str(), id)),
        ];
        // Under its identity as well: the sessions of one project on every
        // device and path are found together, and by the folder started
        // in too (paths start with `/`, identities never do).
        if let Some(workspace) = &self.workspace_id {
            keys.push(keys::index(t, BY_WORKSPACE).pack(&(workspace.as_str(), id)));
        }
        if let Some(parent) = self.parent_session_id {
            keys.push(keys::index(t, CHILDREN).pack(&(parent.as_uuid(), id)));
        }
        if let Some(conversation) = self.conversation_id {
            keys.push(keys::index(t, BY_CONVERSATION).pack(&(conversation.as_uuid(), id)));
        }
        for tag in &self.tags {
            keys.push(keys::index(t, BY_TAG).pack(&(tag.as_str(), id)));
        }
        keys
    }
    fn references(&self) -> Vec<(RecordKind, Uuid)> {
        self.parent_session_id
            .map(|p| (RecordKind::WorkspaceSession, p.as_uuid()))
            .into_iter()
            .collect()
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// A session related to another, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The related session.
    pub session: WorkspaceSession,
    /// Tags it shares with the reference.
    pub shared_tags: Vec<String>,
    /// Whether it is of the same workspace folder.
    pub same_workspace: bool,
}

/// The API's view: the same, with the reasons spelled out for people.
impl From<Related> for stint_model::api::RelatedSession {
    fn from(r: Related) -> Self {
        let mut reasons = Vec::new();
        if !r.shared_tags.is_empty() {
            reasons.push(format!("shared tags: {}", r.shared_tags.join(", ")));
        }
        if r.same_workspace {
            reasons.push("same workspace".to_owned());
        }
        Self {
            session: r.session,
            shared_tags: r.shared_tags,
            same_workspace: r.same_workspace,
            reasons,
        }
    }
}

/// The workspace sessions repository.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) store: &'a Store,
}

impl Sessions<'_> {
    /// Stores a new session. A fork's parent must exist in the same tenant.
    pub async fn create(&self, session: &WorkspaceSession, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::check_references(tx, session).await?;
                    record::write(tx, session, ctx, Mode::Insert).await
                })
            })
            .await
            .map(drop)
    }

    /// A session by id.
    pub async fn get(&self, tenant: TenantId, id: SessionId) -> Result<WorkspaceSession> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::must_get::<WorkspaceSession>(tx, tenant, id.as_uuid()).await
                })
            })
            .await
    }

    /// Replaces a session's state; its index entries follow (a new tag, a
    /// new `updated_at` moving it up in "recent").
    pub async fn update(&self, session: &WorkspaceSession, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, session, ctx, Mode::Update).await }))
            .await
            .map(drop)
    }

    /// Deletes a session (a tombstone remains for sync).
    pub async fn delete(&self, tenant: TenantId, id: SessionId, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(async move {
                    record::remove::<WorkspaceSession>(tx, tenant, id.as_uuid(), ctx).await
                })
            })
            .await
    }

    /// Forks `parent` into a new session named `name` (see
    /// [`WorkspaceSession::fork`]) and stores it.
    pub async fn fork(
        &self,
        tenant: TenantId,
        parent: SessionId,
        name: &str,
        ctx: &WriteCtx<'_>,
    ) -> Result<WorkspaceSession> {
        let mut child = self.get(tenant, parent).await?.fork(name);
        (child.created_at, child.updated_at, child.last_accessed_at) = (ctx.at, ctx.at, ctx.at);
        self.create(&child, ctx).await?;
        Ok(child)
    }

    /// A user's sessions, newest first, at most `limit` (0 for all).
    pub async fn list_by_user(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<WorkspaceSession>> {
        self.page(tenant, SessionList::User(user), None, limit)
            .await
    }

    /// How many sessions a user has, archived included: read from the
    /// index alone, without loading one session (a status line asks often).
    pub async fn count_by_user(&self, tenant: TenantId, user: UserId) -> Result<usize> {
        let prefix = &prefix(tenant, BY_USER, user.as_uuid());
        self.store
            .run(|tx| {
                Box::pin(async move { Ok(record::index_ids(tx, prefix, 0, false).await?.len()) })
            })
            .await
    }

    /// A user's active sessions, most recently changed first.
    pub async fn recent(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<WorkspaceSession>> {
        let prefix = &prefix(tenant, RECENT, user.as_uuid());
        self.store
            .run(|tx| {
                Box::pin(async move {
                    let mut out = Vec::new();
                    // Archived sessions are skipped, so read a little more
                    // than asked, page by page, until `limit` are found.
                    let ids = record::index_ids(tx, prefix, 0, true).await?;
                    for chunk in ids.chunks(limit.max(1)) {
                        for s in record::get_many::<WorkspaceSession>(tx, tenant, chunk).await? {
                            if s.status == SessionStatus::Active {
                                out.push(s);
                            }
                        }
                        if limit != 0 && out.len() >= limit {
                            out.truncate(limit);
                            break;
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }

    /// Sessions of one workspace, newest first: `workspace` is its
    /// identity or the folder they were started in.
    pub async fn by_workspace(
        &self,
        tenant: TenantId,
        workspace_path: &str,
        limit: usize,
    ) -> Result<Vec<WorkspaceSession>> {
        self.page(tenant, SessionList::Workspace(workspace_path), None, limit)
            .await
    }

    /// Sessions forked from `parent`, oldest first.
    pub async fn children(
        &self,
        tenant: TenantId,
        parent: SessionId,
    ) -> Result<Vec<WorkspaceSession>> {
        self.by_index(tenant, CHILDREN, parent.as_uuid(), 0, false)
            .await
    }

    /// Sessions attached to a conversation.
    pub async fn by_conversation(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Result<Vec<WorkspaceSession>> {
        self.by_index(tenant, BY_CONVERSATION, conversation.as_uuid(), 0, false)
            .await
    }

    /// Sessions with a tag, newest first.
    pub async fn by_tag(
        &self,
        tenant: TenantId,
        tag: &str,
        limit: usize,
    ) -> Result<Vec<WorkspaceSession>> {
        self.page(tenant, SessionList::Tag(tag), None, limit).await
    }

    /// A user's sessions sharing any of `tags`, ranked by the number of
    /// shared tags, then by recency; at most `limit`.
    pub async fn related_by_tags(
        &self,
        tenant: TenantId,
        user: UserId,
        tags: &[String],
        limit: usize,
    ) -> Result<Vec<Related>> {
        let mut related = self.related(tenant, tags, None, None).await?;
        related.retain(|r| r.session.user_id == user);
        related.truncate(limit);
        Ok(related)
    }

    /// Sessions related to `id`: sharing tags or its workspace folder, ranked
    /// by shared tags, then same workspace, then recency; at most `limit`.
    pub async fn related_to(
        &self,
        tenant: TenantId,
        id: SessionId,
        limit: usize,
    ) -> Result<Vec<Related>> {
        let session = self.get(tenant, id).await?;
        let mut related = self
            .related(
                tenant,
                &session.tags,
                Some(
                    session
                        .workspace_id
                        .as_deref()
                        .unwrap_or(&session.workspace_path),
                ),
                Some(id),
            )
            .await?;
        related.truncate(limit);
        Ok(related)
    }

    async fn related(
        &self,
        tenant: TenantId,
        tags: &[String],
        workspace: Option<&str>,
        exclude: Option<SessionId>,
    ) -> Result<Vec<Related>> {
        let mut reasons: BTreeMap<Uuid, (Vec<String>, bool)> = BTreeMap::new();
        // The most recent sessions of each tag and of the folder are the
        // candidates: a bounded read, however many sessions a tag has.
        for tag in tags.iter().take(stint_model::validate::MAX_TAGS) {
            for s in self
                .page(tenant, SessionList::Tag(tag), None, RELATED_CANDIDATES)
                .await?
            {
                reasons
                    .entry(s.id.as_uuid())
                    .or_default()
                    .0
                    .push(tag.clone());
            }
        }
        if let Some(path) = workspace {
            for s in self
                .page(
                    tenant,
                    SessionList::Workspace(path),
                    None,
                    RELATED_CANDIDATES,
                )
                .await?
            {
                reasons.entry(s.id.as_uuid()).or_default().1 = true;
            }
        }
        if let Some(exclude) = exclude {
            reasons.remove(&exclude.as_uuid());
        }
        let ids: Vec<Uuid> = reasons.keys().copied().collect();
        let ids = &ids;
        let sessions = self
            .store
            .run(|tx| {
                Box::pin(async move { record::get_many::<WorkspaceSession>(tx, tenant, ids).await })
            })
            .await?;
        let mut related: Vec<Related> = sessions
            .into_iter()
            .map(|session| {
                let (shared_tags, same_workspace) =
                    reasons.remove(&session.id.as_uuid()).unwrap_or_default();
                Related {
                    session,
                    shared_tags,
                    same_workspace,
                }
            })
            .collect();
        related.sort_by(|a, b| {
            (b.shared_tags.len(), b.same_workspace, b.session.updated_at).cmp(&(
                a.shared_tags.len(),
                a.same_workspace,
                a.session.updated_at,
            ))
        });
        Ok(related)
    }

    async fn by_index<K: stint_store::tuple::TuplePack>(
        &self,
        tenant: TenantId,
        index: &str,
        value: K,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<WorkspaceSession>> {
        let prefix = prefix(tenant, index, value);
        record::list_by_index(self.store, tenant, &prefix, limit, newest_first).await
    }

    /// The newest `want` sessions of a list that `keep` accepts, read in
    /// pages (never the whole list at once).
    pub async fn first_matching(
        &self,
        tenant: TenantId,
        list: SessionList<'_>,
        want: usize,
        keep: impl FnMut(&WorkspaceSession) -> bool,
    ) -> Result<Vec<WorkspaceSession>> {
        let subspace = list.subspace(tenant);
        let (begin, end) = subspace.range();
        record::first_matching(self.store, tenant, (&begin, &end), true, want, keep).await
    }

    /// A page of a list, newest first: at most `limit` sessions (0 for
    /// all) created before `before` (the last session of the previous
    /// page), or the first page when it is `None`. Ids grow with time and
    /// end every index key, so pages neither repeat nor skip a session
    /// however many are added meanwhile.
    pub async fn page(
        &self,
        tenant: TenantId,
        list: SessionList<'_>,
        before: Option<SessionId>,
        limit: usize,
    ) -> Result<Vec<WorkspaceSession>> {
        let subspace = list.subspace(tenant);
        let begin = subspace.bytes().to_vec();
        let end = match before {
            Some(id) => subspace.pack(&id.as_uuid()),
            None => stint_store::prefix_end(&begin),
        };
        record::list_by_index_in(self.store, tenant, &begin, &end, limit, true).await
    }
}
