//! Tenants: the unit of isolation. Every record belongs to exactly one.

use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// What a tenant pays for; it sets the default [`TenantSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TenantPlan {
    /// One user, a few workspaces.
    Free,
    /// A small team.
    Starter,
    /// A larger team with more storage.
    Pro,
    /// No practical limits.
    Enterprise,
}

/// A user's own tenant, or an organization that several users share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TenantType {
    /// Created with the user at registration; the user is its Admin.
    Personal,
    /// Created by a user to share sessions with others.
    Organization,
}

/// The limits and features a plan grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TenantSettings {
    /// Most members.
    pub max_users: u32,
    /// Most live workspace sessions.
    pub max_workspace_sessions: u32,
    /// Most bytes of stored records.
    pub max_storage_bytes: u64,
    /// Named features switched on (`sync`, `ai_conversations`, `audit_export`, …).
    pub features: Vec<String>,
}

impl TenantSettings {
    /// The defaults of `plan`.
    #[must_use]
    pub fn for_plan(plan: TenantPlan) -> Self {
        let (max_users, max_workspace_sessions, max_storage_bytes, extra): (_, _, _, &[&str]) =
            match plan {
                TenantPlan::Free => (1, 100, 100 << 20, &[]),
                TenantPlan::Starter => (5, 1_000, 1 << 30, &["ai_conversations"]),
                TenantPlan::Pro => (50, 10_000, 10 << 30, &["ai_conversations", "agents"]),
                TenantPlan::Enterprise => (
                    u32::MAX,
                    u32::MAX,
                    u64::MAX,
                    &["ai_conversations", "agents", "audit_export"],
                ),
            };
        let features = std::iter::once("sync")
            .chain(extra.iter().copied())
            .map(str::to_owned)
            .collect();
        Self {
            max_users,
            max_workspace_sessions,
            max_storage_bytes,
            features,
        }
    }

    /// Whether `feature` is switched on.
    #[must_use]
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tenant {
    /// Its id; the first element of every key that holds its data.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Personal or organization.
    pub tenant_type: TenantType,
    /// Billing plan.
    pub plan: TenantPlan,
    /// Limits and features.
    pub settings: TenantSettings,
    /// The user who created it.
    pub owner_id: UserId,
    /// False once suspended; a suspended tenant's members cannot sign in to it.
    pub is_active: bool,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Tenant {
    /// The personal tenant of a new user, named after them, on the Free plan.
    #[must_use]
    pub fn new_self_tenant(owner_id: UserId, owner_name: &str) -> Self {
        Self::new(
            format!("{owner_name}'s workspace"),
            TenantType::Personal,
            owner_id,
        )
    }

    /// An organization created by `owner_id`, on the Starter plan.
    #[must_use]
    pub fn new_organization(name: impl Into<String>, owner_id: UserId) -> Self {
        let mut tenant = Self::new(name.into(), TenantType::Organization, owner_id);
        tenant.plan = TenantPlan::Starter;
        tenant.settings = TenantSettings::for_plan(TenantPlan::Starter);
        tenant
    }

    fn new(name: String, tenant_type: TenantType, owner_id: UserId) -> Self {
        let at = now();
        Self {
            id: TenantId::new(),
            name,
            tenant_type,
            plan: TenantPlan::Free,
            settings: TenantSettings::for_plan(TenantPlan::Free),
            owner_id,
            is_active: true,
            created_at: at,
            updated_at: at,
        }
    }
}

impl Validate for Tenant {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::name("name", &self.name)?;
        for (i, feature) in self.settings.features.iter().enumerate() {
            validate::identifier(&format!("settings.features[{i}]"), feature)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_and_organization_tenants() {
        let owner = UserId::new();
        let me = Tenant::new_self_tenant(owner, "Ada Lovelace");
        assert_eq!(me.tenant_type, TenantType::Personal);
        assert_eq!(me.plan, TenantPlan::Free);
        assert_eq!(me.name, "Ada Lovelace's workspace");
        assert_eq!(me.owner_id, owner);
        assert!(me.validate().is_ok());

        let org = Tenant::new_organization("Analytical Engines", owner);
        assert_eq!(org.tenant_type, TenantType::Organization);
        assert_eq!(org.plan, TenantPlan::Starter);
        assert!(org.settings.has_feature("ai_conversations"));
        assert!(!org.settings.has_feature("agents"));
        assert_ne!(me.id, org.id);
    }

    #[test]
    fn plans_grow_monotonically() {
        let plans = [
            TenantPlan::Free,
            TenantPlan::Starter,
            TenantPlan::Pro,
            TenantPlan::Enterprise,
        ];
        for pair in plans.windows(2) {
            let (a, b) = (
                TenantSettings::for_plan(pair[0]),
                TenantSettings::for_plan(pair[1]),
            );
            assert!(a.max_users < b.max_users);
            assert!(a.max_storage_bytes < b.max_storage_bytes);
            assert!(a.features.len() < b.features.len());
        }
    }

    #[test]
    fn blank_name_is_rejected() {
        let mut t = Tenant::new_organization("x", UserId::new());
        t.name = " ".into();
        assert_eq!(t.validate().unwrap_err().field, "name");
    }
}
