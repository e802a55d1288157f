//! Errors, with FoundationDB's codes on every backend.

use thiserror::Error;

/// A store failure. [`StoreError::code`] is FoundationDB's error code, so
/// logs read the same whichever backend runs, and
/// [`StoreError::is_retryable`] decides what the runner retries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The transaction ran past the five-second limit (1007).
    #[error("transaction is too old to perform reads or be committed (1007)")]
    TransactionTooOld,
    /// A transaction that committed first wrote something this one read (1020).
    #[error("transaction not committed due to conflict with another transaction (1020)")]
    NotCommitted,
    /// The commit may or may not have happened (1021). The runner retries, so
    /// every transaction body must be idempotent.
    #[error("transaction may or may not have committed (1021)")]
    CommitUnknownResult,
    /// The transaction's mutations exceed 10,000,000 bytes (2101).
    #[error("transaction exceeds byte limit: {size} bytes (2101)")]
    TransactionTooLarge {
        /// Bytes written so far.
        size: usize,
    },
    /// A key exceeds 10,000 bytes (2102).
    #[error("key length exceeds limit: {size} bytes (2102)")]
    KeyTooLarge {
        /// The key's length.
        size: usize,
    },
    /// A value exceeds 100,000 bytes (2103).
    #[error("value length exceeds limit: {size} bytes (2103)")]
    ValueTooLarge {
        /// The value's length.
        size: usize,
    },
    /// A key in the reserved `\xff` system range (2004).
    #[error("key outside legal range (2004)")]
    KeyOutsideLegalRange,
    /// A versionstamped key without a valid placeholder offset (2000).
    #[error("invalid operation: {0} (2000)")]
    InvalidOperation(String),
    /// The backend failed to read or write its files (1510).
    #[error("store I/O error: {0} (1510)")]
    Io(String),
    /// An error reported by a FoundationDB cluster, with its own code.
    #[error("FoundationDB error {code}: {message}")]
    Fdb {
        /// FoundationDB's code.
        code: i32,
        /// Its description.
        message: String,
        /// Whether FoundationDB says a retry may succeed.
        retryable: bool,
    },
    /// The runner gave up retrying.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetryLimitReached {
        /// Attempts made.
        attempts: u32,
        /// The last error's description.
        last: String,
    },
}

impl StoreError {
    /// FoundationDB's error code for this failure.
    #[must_use]
    pub fn code(&self) -> i32 {
        match self {
            Self::TransactionTooOld => 1007,
            Self::NotCommitted => 1020,
            Self::CommitUnknownResult => 1021,
            Self::TransactionTooLarge { .. } => 2101,
            Self::KeyTooLarge { .. } => 2102,
            Self::ValueTooLarge { .. } => 2103,
            Self::KeyOutsideLegalRange => 2004,
            Self::InvalidOperation(_) => 2000,
            Self::Io(_) => 1510,
            Self::Fdb { code, .. } => *code,
            Self::RetryLimitReached { .. } => 1031,
        }
    }

    /// Whether running the transaction again may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::TransactionTooOld | Self::NotCommitted | Self::CommitUnknownResult => true,
            Self::Fdb { retryable, .. } => *retryable,
            _ => false,
        }
    }

    #[cfg_attr(not(any(feature = "sled", feature = "redb")), allow(dead_code))]
    pub(crate) fn io(e: impl std::fmt::Display) -> Self {
        Self::Io(e.to_string())
    }
}

/// Lets [`crate::Store::run`] find a store error inside the caller's own
/// error type, to decide whether to retry.
pub trait AsStoreError {
    /// The store error this error wraps, if it is one.
    fn as_store_error(&self) -> Option<&StoreError>;
}

impl AsStoreError for StoreError {
    fn as_store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

/// Results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
