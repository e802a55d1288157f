//! User settings: `(category, key) → JSON value`, per user.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{SettingId, TenantId, UserId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// The groups of settings the apps show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SettingCategory {
    /// Editor preferences.
    Editor,
    /// Light, dark, fonts.
    Theme,
    /// AI model preferences.
    Llm,
    /// Terminal preferences.
    Terminal,
    /// Workspace behaviour (watching, ignores).
    Workspace,
}

impl SettingCategory {
    /// Every category.
    pub const ALL: [Self; 5] = [
        Self::Editor,
        Self::Theme,
        Self::Llm,
        Self::Terminal,
        Self::Workspace,
    ];

    /// The snake_case name used on the wire and in keys.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Editor => "editor",
            Self::Theme => "theme",
            Self::Llm => "llm",
            Self::Terminal => "terminal",
            Self::Workspace => "workspace",
        }
    }
}

impl fmt::Display for SettingCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SettingCategory {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "category",
                    "must be one of editor, theme, llm, terminal, workspace",
                )
            })
    }
}

/// One setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Setting {
    /// Its id: derived from `(user_id, category, key)`, see [`SettingId::for_key`].
    pub id: SettingId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Whose preference it is.
    pub user_id: UserId,
    /// Its group.
    pub category: SettingCategory,
    /// Its name within the group (`font_size`).
    pub key: String,
    /// Its value.
    pub value: serde_json::Value,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Setting {
    /// The setting `(category, key)` of `user_id`, with `value`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        category: SettingCategory,
        key: impl Into<String>,
        value: serde_json::Value,
    ) -> Self {
        let key = key.into();
        Self {
            id: SettingId::for_key(user_id, category.as_str(), &key),
            tenant_id,
            user_id,
            category,
            key,
            value,
            updated_at: now(),
        }
    }
}

impl Validate for Setting {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::identifier("key", &self.key)?;
        if self.id != SettingId::for_key(self.user_id, self.category.as_str(), &self.key) {
            return Err(ValidationError::new(
                "id",
                "must be derived from user, category and key",
            ));
        }
        let size = serde_json::to_vec(&self.value).map_or(usize::MAX, |v| v.len());
        if size > validate::MAX_SETTING_VALUE_BYTES {
            return Err(ValidationError::new(
                "value",
                format!(
                    "must be at most {} bytes of JSON",
                    validate::MAX_SETTING_VALUE_BYTES
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parse_and_values_are_bounded() {
        assert_eq!(
            "llm".parse::<SettingCategory>().unwrap(),
            SettingCategory::Llm
        );
        assert_eq!(
            "colors".parse::<SettingCategory>().unwrap_err().field,
            "category"
        );

        let mut s = Setting::new(
            TenantId::new(),
            UserId::new(),
            SettingCategory::Editor,
            "font_size",
            serde_json::json!(14),
        );
        assert!(s.validate().is_ok());
        s.value = serde_json::Value::String("x".repeat(70_000));
        assert_eq!(s.validate().unwrap_err().field, "value");
        s.value = serde_json::json!(1);
        s.key = "other".into();
        assert_eq!(s.validate().unwrap_err().field, "id");
    }
}
