//! Memberships: which users belong to which tenants, with which role.

use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};
use crate::user::UserRole;
use crate::{Timestamp, now};

/// A user's membership of a tenant. Every user is the Admin of their
/// personal tenant; organizations add members with any role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Membership {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The member.
    pub user_id: UserId,
    /// The member's personal tenant, where their account lives.
    pub user_tenant_id: TenantId,
    /// What the member may do here.
    pub role: UserRole,
    /// When they joined.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Membership {
    /// `user` (whose account lives in `user_tenant_id`) joins `tenant_id` as `role`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        user_tenant_id: TenantId,
        role: UserRole,
    ) -> Self {
        Self {
            tenant_id,
            user_id,
            user_tenant_id,
            role,
            created_at: now(),
        }
    }
}
