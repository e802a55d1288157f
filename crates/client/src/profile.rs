//! The device profile: who this device is, in its data directory.
//!
//! Until the first login a device works in a *local tenant* of its own, as
//! atuin does: sessions are written there, and move into the user's
//! personal tenant at the first login.
//!
//! A device id names one replica's history: the server applies each of a
//! device's mutation numbers once, so two replicas pushing under one id
//! (a data directory copied to a second machine, or a replica deleted
//! while `device.json` stayed, its counter back at 1) would have one's
//! edits answered "duplicate" and dropped. So the profile remembers where
//! it lives (the data directory's inode and the machine), and a profile
//! found elsewhere, or beside a replica that is new, becomes a new device.

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
    /// Where this profile was made, to tell a copy from the original;
    /// absent in profiles written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<Home>,
    /// Why this directory became a new device, until it signs in again
    /// (so that every command can say why it is signed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed: Option<Renewed>,
}

/// Where a data directory is: its inode, and the machine. A copy of the
/// directory (`cp -a`, `rsync`, a backup restored, another machine) has
/// another; a rename on the same file system keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// The data directory's inode number.
    pub inode: u64,
    /// `/etc/machine-id`, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

impl Home {
    /// Where `dir` is now.
    fn of(dir: &Path) -> Result<Self> {
        let meta = std::fs::metadata(dir)
            .map_err(|e| ClientError::Profile(format!("reading {}: {e}", dir.display())))?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = {
            let _ = meta;
            0
        };
        let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        Ok(Self { inode, machine })
    }
}

/// Why a data directory's device got a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Renewed {
    /// The replica is new while the profile is not (it was deleted).
    NewReplica,
    /// The data directory is a copy of another device's.
    Copied,
}

impl std::fmt::Display for Renewed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NewReplica => "its replica is new (the old one was removed)",
            Self::Copied => "this data directory is a copy of another device's",
        })
    }
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
    /// `new_replica` says that the replica beside it does not exist yet.
    ///
    /// A profile beside a new replica, or found in another place than it
    /// was made (a copy), keeps its local tenant but becomes a new device,
    /// and says why: whatever the old id pushed is another replica's
    /// history, and its login is another device's.
    pub fn load_or_create(dir: &Path, new_replica: bool) -> Result<(Self, Option<Renewed>)> {
        let path = dir.join(FILE);
        let here = Home::of(dir)?;
        let mut profile: Self = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Profile(format!("{} is damaged: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let profile = Self {
                    device_id: DeviceId::new(),
                    local_tenant: TenantId::new(),
                    local_user: UserId::new(),
                    server_url: None,
                    home: Some(here),
                    renewed: None,
                };
                profile.save(dir)?;
                return Ok((profile, None));
            }
            Err(e) => {
                return Err(ClientError::Profile(format!(
                    "reading {}: {e}",
                    path.display()
                )));
            }
        };
        let renewed = if new_replica {
            Some(Renewed::NewReplica)
        } else if profile.home.as_ref().is_some_and(|home| *home != here) {
            Some(Renewed::Copied)
        } else {
            None
        };
        if renewed.is_some() {
            profile.device_id = DeviceId::new();
            profile.renewed = renewed;
        }
        if renewed.is_some() || profile.home.is_none() {
            profile.home = Some(here);
            profile.save(dir)?;
        }
        Ok((profile, renewed))
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
