//! The device profile: who this device is, in its data directory.
//!
//! Until the first login a device works in a *local tenant* of its own, as
//! atuin does: sessions are written there, and move into the user's
//! personal tenant at the first login.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stint_model::{DeviceId, TenantId, UserId};

use crate::error::{ClientError, Result};

const FILE: &str = "device.json";

/// The persistent identity of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// This device.
    pub device_id: DeviceId,
    /// The tenant sessions live in before any login.
    pub local_tenant: TenantId,
    /// The user sessions belong to before any login.
    pub local_user: UserId,
    /// The sync server, once configured.
    #[serde(default)]
    pub server_url: Option<String>,
}

/// The data directory: `explicit`, else `STINT_DATA_DIR`, else the
/// platform's data directory (`~/.local/share/stint` on Linux).
pub fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("STINT_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "stint", "stint")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| {
            ClientError::Profile("no home directory: set STINT_DATA_DIR or pass --data-dir".into())
        })
}

impl Profile {
    /// Reads the profile of `dir`, creating a new device on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Profile(format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let profile = Self {
                    device_id: DeviceId::new(),
                    local_tenant: TenantId::new(),
                    local_user: UserId::new(),
                    server_url: None,
                };
                profile.save(dir)?;
                Ok(profile)
            }
            Err(e) => Err(ClientError::Profile(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes the profile atomically (a temp file renamed over the old one).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |e: std::io::Error| {
            ClientError::Profile(format!("writing the profile in {}: {e}", dir.display()))
        };
        let tmp = dir.join(format!("{FILE}.tmp"));
        let bytes = serde_json::to_vec_pretty(self).expect("a profile serializes");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&tmp, dir.join(FILE)).map_err(io)
    }
}

/// Writes `value` as JSON to `path` through a temporary file and a rename,
/// so a crash leaves the old file or the new one, never half of one.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let io = |e: std::io::Error| ClientError::Profile(format!("writing {}: {e}", path.display()));
    let bytes = serde_json::to_vec(value)
        .map_err(|e| ClientError::Profile(format!("writing {}: {e}", path.display())))?;
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
