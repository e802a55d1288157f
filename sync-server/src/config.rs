//! Configuration: flags, each with a `STINT_…` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Stint's sync server: keeps every tenant's records and syncs them between
/// devices.
#[derive(Debug, Clone, Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Config {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "STINT_LISTEN", default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,

    /// Directory for the embedded store and the server's keys.
    #[arg(long, env = "STINT_DATA_DIR", default_value = "data/server")]
    pub(crate) data_dir: PathBuf,

    /// Which store holds the records.
    #[arg(long, env = "STINT_STORE", value_enum, default_value_t = StoreKind::Redb)]
    pub(crate) store: StoreKind,

    /// Log filter, as in `RUST_LOG` (`info`, `stint_server=debug,tower_http=info`).
    #[arg(long, env = "STINT_LOG", default_value = "info")]
    pub(crate) log: String,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "STINT_REQUEST_TIMEOUT", default_value_t = 30)]
    pub(crate) request_timeout_secs: u64,

    /// Largest request body, in bytes (larger ones get 413).
    #[arg(long, env = "STINT_MAX_BODY", default_value_t = 2 * 1024 * 1024)]
    pub(crate) max_body_bytes: usize,

    /// Most requests served at once; more wait their turn.
    #[arg(long, env = "STINT_MAX_CONCURRENCY", default_value_t = 1024)]
    pub(crate) max_concurrency: usize,
}

/// The store behind the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreKind {
    /// An embedded redb file in the data directory.
    Redb,
    /// A FoundationDB cluster (`FDB_CLUSTER_FILE`); needs the `fdb` feature.
    Fdb,
}
