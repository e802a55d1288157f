//! Users and their roles.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// What a member may do in a tenant (see ARCHITECTURE.md, "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Reads everything, writes nothing.
    Viewer,
    /// Reads everything, writes their own work.
    Developer,
    /// A developer who may also read the audit log.
    Manager,
    /// Everything, including members and tenant settings.
    Admin,
}

impl UserRole {
    /// Whether this role may create and change records.
    #[must_use]
    pub fn can_write(self) -> bool {
        self != Self::Viewer
    }

    /// Whether this role may add, remove and change members.
    #[must_use]
    pub fn can_manage_members(self) -> bool {
        self == Self::Admin
    }

    /// Whether this role may read the audit log.
    #[must_use]
    pub fn can_read_audit(self) -> bool {
        matches!(self, Self::Admin | Self::Manager)
    }
}

/// A user account. It lives in the user's personal tenant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The personal tenant created with the account.
    pub tenant_id: TenantId,
    /// Normalized (trimmed, lower-case) email; unique across the server.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Argon2id hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub password_hash: String,
    /// Role in the personal tenant (always Admin there).
    pub role: UserRole,
    /// False once the account is disabled.
    pub is_active: bool,
    /// Whether the email address was confirmed.
    pub email_verified: bool,
    /// The last successful login.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_login_at: Option<Timestamp>,
    /// When the account was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl User {
    /// A new active account; `email` is normalized.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        email: &str,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        password_hash: impl Into<String>,
    ) -> Self {
        let at = now();
        Self {
            id: UserId::new(),
            tenant_id,
            email: validate::normalize_email(email),
            first_name: first_name.into(),
            last_name: last_name.into(),
            password_hash: password_hash.into(),
            role: UserRole::Admin,
            is_active: true,
            email_verified: false,
            last_login_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// "First Last", or whichever of the two is present.
    #[must_use]
    pub fn full_name(&self) -> String {
        match (self.first_name.trim(), self.last_name.trim()) {
            ("", "") => self.email.clone(),
            (first, "") => first.to_owned(),
            ("", last) => last.to_owned(),
            (first, last) => format!("{first} {last}"),
        }
    }
}

/// The password hash is a secret: it never appears in logs.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .field("email_verified", &self.email_verified)
            .field("last_login_at", &self.last_login_at)
            .finish_non_exhaustive()
    }
}

impl Validate for User {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::email("email", &self.email)?;
        if self.email != validate::normalize_email(&self.email) {
            return Err(ValidationError::new("email", "must be normalized"));
        }
        validate::optional_name("first_name", &self.first_name)?;
        validate::optional_name("last_name", &self.last_name)?;
        if !self.password_hash.starts_with("$argon2id$") {
            return Err(ValidationError::new(
                "password_hash",
                "must be an Argon2id PHC string",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(first: &str, last: &str) -> User {
        User::new(
            TenantId::new(),
            " Ada@Example.com",
            first,
            last,
            "$argon2id$v=19$x",
        )
    }

    #[test]
    fn full_name_uses_what_is_there() {
        assert_eq!(user("Ada", "Lovelace").full_name(), "Ada Lovelace");
        assert_eq!(user("Ada", "").full_name(), "Ada");
        assert_eq!(user("", "Lovelace").full_name(), "Lovelace");
        assert_eq!(user(" ", "").full_name(), "ada@example.com");
    }

    #[test]
    fn email_is_normalized_and_hash_hidden() {
        let u = user("Ada", "Lovelace");
        assert_eq!(u.email, "ada@example.com");
        assert!(u.validate().is_ok());
        let debug = format!("{u:?}");
        assert!(!debug.contains("argon2id"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn plain_passwords_are_not_hashes() {
        let mut u = user("Ada", "Lovelace");
        u.password_hash = "hunter2".into();
        assert_eq!(u.validate().unwrap_err().field, "password_hash");
    }

    #[test]
    fn roles_grant_what_they_say() {
        use UserRole::*;
        let check = |role: UserRole, expected: (bool, bool, bool)| {
            assert_eq!(
                (
                    role.can_write(),
                    role.can_manage_members(),
                    role.can_read_audit()
                ),
                expected,
                "{role:?}"
            );
        };
        check(Viewer, (false, false, false));
        check(Developer, (true, false, false));
        check(Manager, (true, false, true));
        check(Admin, (true, true, true));
    }
}
