//! The server's secrets: the key that signs access tokens and the key that
//! derives refresh tokens. Generated on first start into the data directory
//! (`token-keys.json`, mode 0600), read on every later start. They never
//! appear in logs: `Debug` shows only the key id.

use std::fmt;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const FILE: &str = "token-keys.json";

/// The two 256-bit secrets and the id that names them in JWT headers.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) kid: String,
    pub(crate) jwt_secret: [u8; 32],
    pub(crate) refresh_secret: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    kid: String,
    jwt_secret: String,
    refresh_secret: String,
}

impl Keys {
    /// Reads the keys from `data_dir`, creating them on first start.
    pub(crate) fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                Self::decode(&bytes).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate();
                keys.write_new(&path)?;
                tracing::info!(kid = %keys.kid, path = %path.display(), "generated token keys");
                Ok(keys)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn generate() -> Self {
        let jwt_secret: [u8; 32] = rand::random();
        let refresh_secret: [u8; 32] = rand::random();
        Self {
            kid: kid_of(&jwt_secret),
            jwt_secret,
            refresh_secret,
        }
    }

    fn decode(bytes: &[u8]) -> anyhow::Result<Self> {
        let file: KeyFile = serde_json::from_slice(bytes)?;
        let secret = |s: &str| -> anyhow::Result<[u8; 32]> {
            STANDARD
                .decode(s)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("a key must be 32 bytes"))
        };
        let jwt_secret = secret(&file.jwt_secret)?;
        anyhow::ensure!(
            file.kid == kid_of(&jwt_secret),
            "the key id does not match the key"
        );
        Ok(Self {
            kid: file.kid,
            jwt_secret,
            refresh_secret: secret(&file.refresh_secret)?,
        })
    }

    /// Writes the file readable by its owner only, refusing to overwrite.
    fn write_new(&self, path: &Path) -> anyhow::Result<()> {
        let file = KeyFile {
            kid: self.kid.clone(),
            jwt_secret: STANDARD.encode(self.jwt_secret),
            refresh_secret: STANDARD.encode(self.refresh_secret),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        out.write_all(&serde_json::to_vec_pretty(&file)?)?;
        out.sync_all()?;
        Ok(())
    }
}

/// The key id: the first 8 bytes of the key's SHA-256, in hex. It names the
/// key without revealing it, and changes when the key does.
fn kid_of(secret: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(secret)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(dir.path()).unwrap();
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.jwt_secret, again.jwt_secret);
        assert_eq!(first.refresh_secret, again.refresh_secret);
        assert_ne!(first.jwt_secret, first.refresh_secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let debug = format!("{first:?}");
        assert!(debug.contains(&first.kid));
        assert!(!debug.contains(&STANDARD.encode(first.jwt_secret)));
    }

    #[test]
    fn a_tampered_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Keys::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE);
        let mut file: KeyFile = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        file.kid = "0000000000000000".into();
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        let err = Keys::load_or_create(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("does not match"), "{err:#}");
    }
}
