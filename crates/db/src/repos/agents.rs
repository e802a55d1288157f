//! Agent configurations.

use stint_model::{Agent, AgentId, AgentType, RecordKind, TenantId, Validate, ValidationError};
use stint_store::Store;
use uuid::Uuid;

use crate::error::Result;
use crate::keys;
use crate::record::{self, Mode, Record, WriteCtx};

const BY_TYPE: &str = "agent_by_type";

impl Record for Agent {
    const KIND: RecordKind = RecordKind::Agent;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let key = (self.agent_type.as_str(), self.id.as_uuid());
        vec![keys::index(self.tenant_id, BY_TYPE).pack(&key)]
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The agents repository.
#[derive(Debug, Clone, Copy)]
pub struct Agents<'a> {
    pub(crate) store: &'a Store,
}

impl Agents<'_> {
    /// Stores a new agent.
    pub async fn create(&self, agent: &Agent, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, agent, ctx, Mode::Insert).await }))
            .await
            .map(drop)
    }

    /// An agent by id.
    pub async fn get(&self, tenant: TenantId, id: AgentId) -> Result<Agent> {
        self.store
            .run(|tx| {
                Box::pin(async move { record::must_get::<Agent>(tx, tenant, id.as_uuid()).await })
            })
            .await
    }

    /// Changes an agent.
    pub async fn update(&self, agent: &Agent, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, agent, ctx, Mode::Update).await }))
            .await
            .map(drop)
    }

    /// Deletes an agent.
    pub async fn delete(&self, tenant: TenantId, id: AgentId, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| {
                Box::pin(
                    async move { record::remove::<Agent>(tx, tenant, id.as_uuid(), ctx).await },
                )
            })
            .await
    }

    /// Every agent of the tenant, oldest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Agent>> {
        self.store
            .run(|tx| Box::pin(async move { record::scan::<Agent>(tx, tenant, 0).await }))
            .await
    }

    /// The agents of one type, oldest first.
    pub async fn list_by_type(
        &self,
        tenant: TenantId,
        agent_type: AgentType,
    ) -> Result<Vec<Agent>> {
        let prefix = keys::index(tenant, BY_TYPE)
            .subspace(&agent_type.as_str())
            .bytes()
            .to_vec();
        record::list_by_index(self.store, tenant, &prefix, 0, false).await
    }
}
