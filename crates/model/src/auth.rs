//! Auth sessions: one row per issued refresh token, grouped in families.
//!
//! A login starts a family. Every refresh *rotates*: the presented row is
//! marked rotated and a new row of the same family is issued. If a rotated
//! token is ever presented again, someone holds a stolen copy, and the whole
//! family is revoked (the server applies that rule; this type records it).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::ids::{AuthSessionId, DeviceId, SessionId, TenantId, TokenFamily, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// One refresh token's record. The token itself is never stored: only its
/// SHA-256, so a copy of the database cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuthSession {
    /// Its id.
    pub id: AuthSessionId,
    /// The tenant the tokens act in.
    pub tenant_id: TenantId,
    /// The user signed in.
    pub user_id: UserId,
    /// The family this row belongs to (shared by every rotation of a login).
    pub token_family: TokenFamily,
    /// Hex SHA-256 of the refresh token.
    pub refresh_token_hash: String,
    /// When it was issued.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When the access tokens issued with it expire.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
    /// When the refresh token expires.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub refresh_expires_at: Timestamp,
    /// Client address at issue.
    pub ip_address: Option<String>,
    /// Client `User-Agent` at issue.
    pub user_agent: Option<String>,
    /// The device that holds it, when known.
    pub device_id: Option<DeviceId>,
    /// The workspace session this login was opened for, if any.
    pub workspace_session_id: Option<SessionId>,
    /// Set when this row was exchanged for its successor.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub rotated_at: Option<Timestamp>,
    /// The successor issued by that exchange.
    pub replaced_by: Option<AuthSessionId>,
    /// Set when the row (and usually its family) was revoked.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
}

/// How long tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Access tokens (≤ 15 minutes).
    pub access: Duration,
    /// Refresh tokens.
    pub refresh: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access: Duration::minutes(15),
            refresh: Duration::days(30),
        }
    }
}

impl AuthSession {
    /// The first row of a new family.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        refresh_token_hash: impl Into<String>,
        lifetimes: TokenLifetimes,
    ) -> Self {
        let at = now();
        Self {
            id: AuthSessionId::new(),
            tenant_id,
            user_id,
            token_family: TokenFamily::new(),
            refresh_token_hash: refresh_token_hash.into(),
            created_at: at,
            expires_at: at + lifetimes.access,
            refresh_expires_at: at + lifetimes.refresh,
            ip_address: None,
            user_agent: None,
            device_id: None,
            workspace_session_id: None,
            rotated_at: None,
            replaced_by: None,
            revoked_at: None,
        }
    }

    /// Exchanges this row for its successor in the same family: marks `self`
    /// rotated and returns the new row, which carries the new token's hash.
    /// The refresh expiry is renewed; the family is not.
    #[must_use]
    pub fn rotate(
        &mut self,
        new_refresh_token_hash: impl Into<String>,
        lifetimes: TokenLifetimes,
    ) -> Self {
        let mut next = Self::new(
            self.tenant_id,
            self.user_id,
            new_refresh_token_hash,
            lifetimes,
        );
        next.token_family = self.token_family;
        next.ip_address.clone_from(&self.ip_address);
        next.user_agent.clone_from(&self.user_agent);
        next.device_id = self.device_id;
        next.workspace_session_id = self.workspace_session_id;
        self.rotated_at = Some(next.created_at);
        self.replaced_by = Some(next.id);
        next
    }

    /// The device this login is bound to. A login from before logins
    /// named their device is a device of its own, derived from its family
    /// (so it stays the same across rotations and is nobody else's).
    #[must_use]
    pub fn device(&self) -> DeviceId {
        self.device_id.unwrap_or_else(|| {
            DeviceId::from(uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                self.token_family.as_uuid().as_bytes(),
            ))
        })
    }

    /// Whether the refresh token may still be exchanged at `at`.
    #[must_use]
    pub fn is_usable(&self, at: Timestamp) -> bool {
        self.revoked_at.is_none() && self.rotated_at.is_none() && at < self.refresh_expires_at
    }

    /// Whether the row can be purged at `at` (its refresh token expired).
    #[must_use]
    pub fn is_expired(&self, at: Timestamp) -> bool {
        at >= self.refresh_expires_at
    }
}

impl Validate for AuthSession {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::sha256("refresh_token_hash", &self.refresh_token_hash)?;
        if self.expires_at > self.refresh_expires_at {
            return Err(ValidationError::new(
                "expires_at",
                "must not be after refresh_expires_at",
            ));
        }
        if let Some(ua) = &self.user_agent {
            validate::text("user_agent", ua, 1_000)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_family_and_marks_the_predecessor() {
        let lifetimes = TokenLifetimes::default();
        let mut first = AuthSession::new(TenantId::new(), UserId::new(), "a".repeat(64), lifetimes);
        first.user_agent = Some("stint-cli/0.1".into());
        assert!(first.is_usable(now()));

        let second = first.rotate("b".repeat(64), lifetimes);
        assert_eq!(second.token_family, first.token_family);
        assert_eq!(second.user_id, first.user_id);
        assert_eq!(second.user_agent.as_deref(), Some("stint-cli/0.1"));
        assert_ne!(second.id, first.id);
        assert_eq!(first.replaced_by, Some(second.id));
        assert!(!first.is_usable(now()));
        assert!(second.is_usable(now()));
        assert!(second.validate().is_ok());
    }

    #[test]
    fn expiry_and_revocation() {
        let lifetimes = TokenLifetimes {
            access: Duration::minutes(15),
            refresh: Duration::hours(1),
        };
        let mut s = AuthSession::new(TenantId::new(), UserId::new(), "c".repeat(64), lifetimes);
        let later = s.created_at + Duration::hours(2);
        assert!(!s.is_usable(later));
        assert!(s.is_expired(later));
        s.revoked_at = Some(s.created_at);
        assert!(!s.is_usable(s.created_at));
    }

    #[test]
    fn a_plain_token_is_not_a_hash() {
        let s = AuthSession::new(
            TenantId::new(),
            UserId::new(),
            "secret",
            TokenLifetimes::default(),
        );
        assert_eq!(s.validate().unwrap_err().field, "refresh_token_hash");
    }
}
