//! One file's SHA-256, streamed.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::index::{Entry, Stat};

/// How much of a file is read at once: large enough that a read costs
/// little next to hashing it, small enough to stay in the CPU's cache.
const BUFFER: usize = 256 * 1024;

/// A file written while it is read is hashed again, this many times at
/// most, before it is reported as changing.
const ATTEMPTS: usize = 4;

/// What hashing a file gave.
#[derive(Debug)]
pub(crate) enum Hashed {
    Done(Entry),
    /// It is gone (deleted or renamed away).
    Vanished,
    /// It kept changing while it was read.
    Changing,
    Failed(std::io::Error),
}

/// Hashes files through one reused buffer.
pub(crate) struct Hasher {
    buf: Vec<u8>,
    /// Whether files may be opened without updating their access time
    /// (allowed for one's own files): a read that dirties no inode.
    noatime: bool,
}

impl Hasher {
    pub(crate) fn new() -> Self {
        Self {
            buf: vec![0; BUFFER],
            noatime: cfg!(target_os = "linux"),
        }
    }

    /// Hashes `path`, which the walk saw with `seen`. The content is
    /// trusted only if the file's stat after the read equals the stat
    /// before it (the walk's for the first attempt, so that the common
    /// case costs one `fstat`).
    pub(crate) fn hash(&mut self, path: &Path, seen: Stat) -> Hashed {
        let mut before = seen;
        for attempt in 0..ATTEMPTS {
            let started = now_ns();
            let mut file = match self.open(path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Hashed::Vanished,
                Err(e) => return Hashed::Failed(e),
            };
            if attempt > 0 {
                match file.metadata() {
                    Ok(meta) => before = Stat::of(&meta),
                    Err(e) => return Hashed::Failed(e),
                }
            }
            let mut sha = Sha256::new();
            let mut read = 0_u64;
            // Up to the size seen: a file that grew or shrank since shows
            // it in the stat after, and is hashed again.
            while read < before.size {
                match file.read(&mut self.buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        sha.update(&self.buf[..n]);
                        read += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Hashed::Failed(e),
                }
            }
            let after = match file.metadata() {
                Ok(meta) => Stat::of(&meta),
                Err(e) => return Hashed::Failed(e),
            };
            if after == before {
                return Hashed::Done(Entry {
                    stat: after,
                    sha256: sha.finalize().into(),
                    hashed_at_ns: started,
                });
            }
        }
        Hashed::Changing
    }

    fn open(&mut self, path: &Path) -> std::io::Result<std::fs::File> {
        #[cfg(target_os = "linux")]
        if self.noatime {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::File::options()
                .read(true)
                .custom_flags(libc::O_NOATIME)
                .open(path)
            {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => self.noatime = false,
                other => return other,
            }
        }
        std::fs::File::open(path)
    }
}

/// Nanoseconds since the epoch, by the same clock the file system stamps
/// modification times with.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The SHA-256 of the file at `path`, in hex, checked as a scan checks it;
/// `None` if it is not a readable file or kept changing.
#[must_use]
pub fn sha256_file(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    match Hasher::new().hash(path, Stat::of(&meta)) {
        Hashed::Done(entry) => Some(entry.sha256_hex()),
        _ => None,
    }
}
