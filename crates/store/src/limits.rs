//! FoundationDB's limits, enforced on every backend, so that what passes on
//! the embedded stores also runs on a cluster.

use std::time::Duration;

/// The limits a transaction must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Longest value, in bytes.
    pub max_value_bytes: usize,
    /// Most bytes of mutations (keys, values, cleared range bounds) per transaction.
    pub max_transaction_bytes: usize,
    /// Longest a transaction may live.
    pub max_duration: Duration,
}

impl Limits {
    /// FoundationDB's defaults.
    pub const FDB: Self = Self {
        max_key_bytes: 10_000,
        max_value_bytes: 100_000,
        max_transaction_bytes: 10_000_000,
        max_duration: Duration::from_secs(5),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::FDB
    }
}

/// The first byte of FoundationDB's system keyspace; user keys stay below it.
pub(crate) const SYSTEM_PREFIX: u8 = 0xff;
