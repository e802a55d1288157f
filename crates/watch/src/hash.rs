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
}

impl Hasher {
    pub(crate) fn new() -> Self {
        Self {
            buf: vec![0; BUFFER],
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
            let mut file = match std::fs::File::open(path) {
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
            loop {
                match file.read(&mut self.buf) {
                    Ok(0) => break,
                    Ok(n) => sha.update(&self.buf[..n]),
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
}

/// Nanoseconds since the epoch, by the same clock the file system stamps
/// modification times with.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
