//! File records: the metadata and SHA-256 of a workspace file (never its
//! content), so the server can answer "which sessions touched this file?".

use serde::{Deserialize, Serialize};

use crate::ids::{FileId, SessionId, TenantId};
use crate::validate::{self, Validate, ValidationError};
use crate::{Timestamp, now};

/// One file of a workspace session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct File {
    /// Its id.
    pub id: FileId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The session whose workspace holds it.
    pub workspace_session_id: SessionId,
    /// The workspace root (copied from the session, for the by-path index).
    pub workspace_path: String,
    /// Path relative to the workspace root.
    pub file_path: String,
    /// Size in bytes.
    pub file_size: u64,
    /// MIME type guessed from the name or content.
    pub mime_type: String,
    /// Hex SHA-256 of the content, once hashed.
    #[serde(default)]
    pub checksum: Option<String>,
    /// The file's modification time on disk.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub modified_at: Option<Timestamp>,
    /// When the record was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// When the file was last opened in the editor.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_accessed_at: Option<Timestamp>,
    /// Soft delete: the file is gone, the record is kept until purged.
    #[serde(default)]
    pub is_deleted: bool,
    /// When it was soft-deleted.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<Timestamp>,
}

impl File {
    /// A record for `file_path` in the workspace of `session`.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        workspace_session_id: SessionId,
        workspace_path: impl Into<String>,
        file_path: impl Into<String>,
        file_size: u64,
        mime_type: impl Into<String>,
    ) -> Self {
        let at = now();
        Self {
            id: FileId::new(),
            tenant_id,
            workspace_session_id,
            workspace_path: workspace_path.into(),
            file_path: file_path.into(),
            file_size,
            mime_type: mime_type.into(),
            checksum: None,
            modified_at: None,
            created_at: at,
            updated_at: at,
            last_accessed_at: None,
            is_deleted: false,
            deleted_at: None,
        }
    }

    /// Marks the record deleted at `at` (undone by [`File::undelete`]).
    pub fn soft_delete(&mut self, at: Timestamp) {
        self.is_deleted = true;
        self.deleted_at = Some(at);
        self.updated_at = at;
    }

    /// Brings a soft-deleted record back.
    pub fn undelete(&mut self, at: Timestamp) {
        self.is_deleted = false;
        self.deleted_at = None;
        self.updated_at = at;
    }
}

impl Validate for File {
    fn validate(&self) -> Result<(), ValidationError> {
        validate::workspace_path("workspace_path", &self.workspace_path)?;
        validate::relative_path("file_path", &self.file_path)?;
        let mime_ok = self.mime_type.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && !self.mime_type.contains(char::is_whitespace)
        });
        if !mime_ok {
            return Err(ValidationError::new(
                "mime_type",
                "must be a MIME type like text/plain",
            ));
        }
        if let Some(sum) = &self.checksum {
            validate::sha256("checksum", sum)?;
        }
        if self.is_deleted != self.deleted_at.is_some() {
            return Err(ValidationError::new(
                "deleted_at",
                "must be set exactly when is_deleted is true",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_delete_round_trip_and_rules() {
        let mut f = File::new(
            TenantId::new(),
            SessionId::new(),
            "/src/app",
            "src/main.rs",
            10,
            "text/x-rust",
        );
        f.checksum = Some("0".repeat(64));
        assert!(f.validate().is_ok());
        f.soft_delete(now());
        assert!(f.is_deleted && f.validate().is_ok());
        f.undelete(now());
        assert!(!f.is_deleted && f.deleted_at.is_none() && f.validate().is_ok());

        f.file_path = "/etc/passwd".into();
        assert_eq!(f.validate().unwrap_err().field, "file_path");
        f.file_path = "a".into();
        f.mime_type = "text".into();
        assert_eq!(f.validate().unwrap_err().field, "mime_type");
        f.mime_type = "text/plain".into();
        f.checksum = Some("nope".into());
        assert_eq!(f.validate().unwrap_err().field, "checksum");
    }
}
