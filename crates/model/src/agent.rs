//! AI agent configurations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, TenantId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// An agent's place in a multi-agent setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AgentType {
    /// Splits work and delegates.
    Coordinator,
    /// Does one kind of work well.
    Specialist,
    /// Runs a task for another agent.
    SubAgent,
}

impl AgentType {
    /// The snake_case name used on the wire and in keys.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coordinator => "coordinator",
            Self::Specialist => "specialist",
            Self::SubAgent => "sub_agent",
        }
    }
}

/// What an agent may use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentConfig {
    /// MCP tools it may call.
    #[serde(default)]
    pub mcp_tools: Vec<String>,
    /// Agent-to-agent capabilities it offers.
    #[serde(default)]
    pub a2a_capabilities: Vec<String>,
    /// The model it prefers.
    #[serde(default)]
    pub model_preference: Option<String>,
}

/// What an agent remembers across sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentMemory {
    /// Named facts.
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// Decisions, oldest first.
    #[serde(default)]
    pub decisions: Vec<String>,
    /// Free-form context.
    #[serde(default)]
    pub context: BTreeMap<String, serde_json::Value>,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Its role.
    pub agent_type: AgentType,
    /// Tools and capabilities.
    #[serde(default)]
    pub config: AgentConfig,
    /// Cross-session memory.
    #[serde(default)]
    pub memory: AgentMemory,
    /// Whether it may run.
    pub is_active: bool,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Agent {
    /// A new active agent with an empty configuration.
    #[must_use]
    pub fn new(tenant_id: TenantId, name: impl Into<String>, agent_type: AgentType) -> Self {
        let at = now();
        Self {
            id: AgentId::new(),
            tenant_id,
            name: name.into(),
            description: None,
            agent_type,
            config: AgentConfig::default(),
            memory: AgentMemory::default(),
            is_active: true,
            created_at: at,
            updated_at: at,
        }
    }
}

impl Validate for Agent {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::name("name", &self.name)?;
        if let Some(d) = &self.description {
            validate::text("description", d, validate::MAX_TEXT_CHARS)?;
        }
        for (field, list) in [
            ("config.mcp_tools", &self.config.mcp_tools),
            ("config.a2a_capabilities", &self.config.a2a_capabilities),
        ] {
            validate::max_items(field, list, 256)?;
            for (i, item) in list.iter().enumerate() {
                validate::identifier(&format!("{field}[{i}]"), item)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_identifiers() {
        let mut a = Agent::new(TenantId::new(), "Reviewer", AgentType::Specialist);
        a.config.mcp_tools = vec!["lmstudio_chat".into()];
        assert!(a.validate().is_ok());
        a.config.mcp_tools.push("rm -rf".into());
        assert_eq!(a.validate().unwrap_err().field, "config.mcp_tools[1]");
        assert_eq!(AgentType::SubAgent.as_str(), "sub_agent");
        assert_eq!(
            serde_json::to_string(&AgentType::SubAgent).unwrap(),
            "\"sub_agent\""
        );
    }
}
