//! Typed identifiers.
//!
//! Every record is named by a UUID, but a `SessionId` must never be passed
//! where a `TenantId` is expected: each kind of id is its own newtype. New ids
//! are UUIDv7, so they sort by creation time, which keeps index ranges and the
//! change log roughly in insertion order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7).
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (read from storage or the wire).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A tenant: a user's personal space or an organization.
    TenantId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// One login of one device: a row of a refresh-token family.
    AuthSessionId
);
id_type!(
    /// A refresh-token family: every rotation of one login shares it.
    TokenFamily
);
id_type!(
    /// A workspace session (the thing Stint remembers).
    SessionId
);
id_type!(
    /// An AI conversation.
    ConversationId
);
id_type!(
    /// One message of a conversation.
    MessageId
);
id_type!(
    /// One audit event.
    AuditId
);
id_type!(
    /// The metadata record of one workspace file.
    FileId
);
id_type!(
    /// An AI agent configuration.
    AgentId
);
id_type!(
    /// One user setting.
    SettingId
);
id_type!(
    /// A device (a desktop app or CLI installation) that writes records.
    DeviceId
);
id_type!(
    /// A conflict: the losing side of two edits of one field.
    ConflictId
);

/// The namespace for deterministic setting ids (UUIDv5).
const SETTING_NAMESPACE: Uuid = Uuid::from_u128(0x5f1e_7a2c_4d3b_4c11_9a0e_77c2_51e4_d0a1);

impl SettingId {
    /// The id of the setting `(user, category, key)`.
    ///
    /// Deterministic on purpose: two devices that set the same preference
    /// offline produce the same record, so sync merges them instead of
    /// creating duplicates.
    #[must_use]
    pub fn for_key(user: UserId, category: &str, key: &str) -> Self {
        let name = format!("{user}/{category}/{key}");
        Self(Uuid::new_v5(&SETTING_NAMESPACE, name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_json() {
        let id = SessionId::new();
        let parsed: SessionId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let ids: Vec<_> = (0..100).map(|_| MessageId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn setting_ids_are_deterministic_per_user_category_key() {
        let user = UserId::new();
        assert_eq!(
            SettingId::for_key(user, "editor", "theme"),
            SettingId::for_key(user, "editor", "theme")
        );
        assert_ne!(
            SettingId::for_key(user, "editor", "theme"),
            SettingId::for_key(user, "editor", "font_size")
        );
        assert_ne!(
            SettingId::for_key(user, "editor", "theme"),
            SettingId::for_key(UserId::new(), "editor", "theme")
        );
    }
}
