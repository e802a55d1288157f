//! The FoundationDB backend: the server in production.
//!
//! A thin adapter: FoundationDB *is* the semantics the other backends
//! imitate, so each operation maps to one call. Tenants are tuple subspaces
//! (built by `stint-db`), not FDB's experimental tenant feature. The client
//! library `libfdb_c` must be installed where this runs; our CI machines
//! cannot install it, so there this backend is compile-checked, and the
//! conformance suite runs wherever `FDB_CLUSTER_FILE` names a cluster.

use std::path::Path;
use std::sync::{Arc, Once};

use async_trait::async_trait;
use foundationdb::options::{MutationType, StreamingMode, TransactionOption};
use foundationdb::{Database, FdbError, RangeOption, Transaction};

use crate::{
    Backend, BackendTx, Durability, RangePage, RangeRequest, Result, Store, StoreError,
    StoreOptions,
};

static NETWORK: Once = Once::new();

/// Opens the FoundationDB cluster named by `cluster_file`, or by
/// `FDB_CLUSTER_FILE` / the platform default when `None`.
pub fn open_fdb(cluster_file: Option<&Path>, options: StoreOptions) -> Result<Store> {
    NETWORK.call_once(|| {
        // SAFETY: `boot` must run once per process, before any other FDB
        // call, and its guard must outlive every FDB object; `Once` ensures
        // the first, and forgetting the guard keeps the network thread for
        // the life of the process (it ends with the process).
        #[allow(unsafe_code)]
        let network = unsafe { foundationdb::boot() };
        std::mem::forget(network);
    });
    let path = cluster_file
        .map(|p| {
            p.to_str()
                .ok_or_else(|| StoreError::Io("cluster file path is not UTF-8".into()))
        })
        .transpose()?;
    let db = Database::new(path).map_err(|e| fdb_error(&e))?;
    let timeout_ms = i32::try_from(options.limits.max_duration.as_millis()).unwrap_or(i32::MAX);
    Ok(Store::from_backend(
        Arc::new(FdbBackend { db, timeout_ms }),
        options,
    ))
}

struct FdbBackend {
    db: Database,
    timeout_ms: i32,
}

#[async_trait]
impl Backend for FdbBackend {
    fn name(&self) -> &'static str {
        "fdb"
    }

    async fn begin(&self) -> Result<Box<dyn BackendTx>> {
        let trx = self.db.create_trx().map_err(|e| fdb_error(&e))?;
        trx.set_option(TransactionOption::Timeout(self.timeout_ms))
            .map_err(|e| fdb_error(&e))?;
        Ok(Box::new(FdbTx { trx }))
    }
}

struct FdbTx {
    trx: Transaction,
}

#[async_trait]
impl BackendTx for FdbTx {
    async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.trx.get(key, false).await.map_err(|e| fdb_error(&e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    async fn get_range(&mut self, request: &RangeRequest<'_>) -> Result<RangePage> {
        let mut option = RangeOption {
            reverse: request.reverse,
            ..RangeOption::from((request.begin, request.end))
        };
        if request.limit > 0 {
            // Exact: a full page unless the range ends, so `more` means more.
            option.limit = Some(request.limit);
            option.mode = StreamingMode::Exact;
        } else {
            option.mode = StreamingMode::WantAll;
        }
        let mut page = RangePage::default();
        let mut iteration = 1;
        loop {
            let values = self
                .trx
                .get_range(&option, iteration, false)
                .await
                .map_err(|e| fdb_error(&e))?;
            page.items.extend(
                values
                    .iter()
                    .map(|kv| (kv.key().to_vec(), kv.value().to_vec())),
            );
            page.more = values.more();
            if request.limit > 0 {
                return Ok(page);
            }
            match option.next_range(&values) {
                Some(next) => option = next,
                None => return Ok(page),
            }
            iteration += 1;
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.trx.set(key, value);
    }

    fn clear(&mut self, key: &[u8]) {
        self.trx.clear(key);
    }

    fn clear_range(&mut self, begin: &[u8], end: &[u8]) {
        self.trx.clear_range(begin, end);
    }

    fn set_versionstamped_key(&mut self, key: &[u8], value: &[u8]) {
        self.trx
            .atomic_op(key, value, MutationType::SetVersionstampedKey);
    }

    /// Every FoundationDB commit is durable: nothing to stop at.
    fn durable_version(&self) -> Option<u64> {
        None
    }

    /// Every FoundationDB commit is durable.
    async fn commit(self: Box<Self>, _: Durability) -> Result<()> {
        self.trx.commit().await.map(drop).map_err(|e| fdb_error(&e))
    }
}

/// FDB's errors, with the codes our other backends name mapped to the same
/// variants, so callers match on one vocabulary.
fn fdb_error(e: &FdbError) -> StoreError {
    match e.code() {
        1007 => StoreError::TransactionTooOld,
        1020 => StoreError::NotCommitted,
        1021 => StoreError::CommitUnknownResult,
        2004 => StoreError::KeyOutsideLegalRange,
        code => StoreError::Fdb {
            code,
            message: e.message().to_owned(),
            retryable: e.is_retryable(),
        },
    }
}
