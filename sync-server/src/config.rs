//! Configuration: flags, each with a `STINT_…` environment variable, over an
//! optional TOML file (`--config`), over defaults. The signing key is not
//! configuration: it lives in the data directory (see `keys.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, ValueEnum};
use serde::Deserialize;

/// Stint's sync server: keeps every tenant's records and syncs them between
/// devices.
///
/// Every option can also be set by its environment variable or in the TOML
/// file given to `--config` (same names, with `_` instead of `-`); flags win
/// over the environment, which wins over the file.
#[derive(Debug, Clone, Default, Parser, Deserialize)]
#[command(version, about, long_about)]
#[serde(deny_unknown_fields)]
pub(crate) struct Options {
    /// TOML file with any of these options.
    #[arg(long, env = "STINT_CONFIG")]
    #[serde(skip)]
    pub(crate) config: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port (printed at start).
    /// [default: 127.0.0.1:8787]
    #[arg(long, env = "STINT_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,

    /// Directory for the embedded store and the token-signing key.
    /// [default: data/server]
    #[arg(long, env = "STINT_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Which store holds the records. [default: redb]
    #[arg(long, env = "STINT_STORE", value_enum)]
    pub(crate) store: Option<StoreKind>,

    /// Megabytes of the embedded store kept in memory (redb's page cache;
    /// redb's own default would be 1 GiB). The server's memory under load
    /// is about this plus 50 MB. [default: 64]
    #[arg(long, env = "STINT_STORE_CACHE_MB")]
    pub(crate) store_cache_mb: Option<u64>,

    /// Log filter, as in `RUST_LOG` (`info`, `stint_server=debug`). [default: info]
    #[arg(long, env = "STINT_LOG")]
    pub(crate) log: Option<String>,

    /// Seconds a request may take before it is answered with 408. [default: 30]
    #[arg(long, env = "STINT_REQUEST_TIMEOUT_SECS")]
    pub(crate) request_timeout_secs: Option<u64>,

    /// Largest request body in bytes; larger ones get 413. [default: 2097152]
    #[arg(long, env = "STINT_MAX_BODY_BYTES")]
    pub(crate) max_body_bytes: Option<usize>,

    /// Most requests served at once; more wait their turn. [default: 1024]
    #[arg(long, env = "STINT_MAX_CONCURRENCY")]
    pub(crate) max_concurrency: Option<usize>,

    /// Minutes an access token lives (at most 15). [default: 15]
    #[arg(long, env = "STINT_ACCESS_TOKEN_MINUTES")]
    pub(crate) access_token_minutes: Option<i64>,

    /// Days a refresh token lives. [default: 30]
    #[arg(long, env = "STINT_REFRESH_TOKEN_DAYS")]
    pub(crate) refresh_token_days: Option<i64>,

    /// Seconds during which the refresh token just rotated may be presented
    /// again (a lost response, retried) and yields the same new tokens.
    /// [default: 30]
    #[arg(long, env = "STINT_REFRESH_GRACE_SECS")]
    pub(crate) refresh_grace_secs: Option<i64>,

    /// Login attempts allowed per client address per minute. [default: 30]
    #[arg(long, env = "STINT_LOGIN_PER_IP_PER_MINUTE")]
    pub(crate) login_per_ip_per_minute: Option<u32>,

    /// Login attempts allowed per account from one client address per
    /// minute (ten times as many from all addresses together). [default: 10]
    #[arg(long, env = "STINT_LOGIN_PER_ACCOUNT_PER_MINUTE")]
    pub(crate) login_per_account_per_minute: Option<u32>,

    /// Registrations allowed per client address per minute. [default: 10]
    #[arg(long, env = "STINT_REGISTER_PER_IP_PER_MINUTE")]
    pub(crate) register_per_ip_per_minute: Option<u32>,

    /// Refreshes allowed per login (token family) per minute. [default: 20]
    #[arg(long, env = "STINT_REFRESH_PER_LOGIN_PER_MINUTE")]
    pub(crate) refresh_per_login_per_minute: Option<u32>,

    /// Live channels (`/sync/events`) one user may hold at once. [default: 16]
    #[arg(long, env = "STINT_LIVE_CHANNELS_PER_USER")]
    pub(crate) live_channels_per_user: Option<usize>,

    /// Password hashes that may wait for a hashing thread; when full, a
    /// login or registration answers 503 with `Retry-After` (registrations
    /// may fill half of it, so a flood of them never starves logins).
    /// [default: 32]
    #[arg(long, env = "STINT_HASHING_QUEUE")]
    pub(crate) hashing_queue: Option<usize>,

    /// Threads computing password hashes (each hash takes 19 MiB and a core).
    /// [default: 1, which keeps a core free for everything else]
    #[arg(long, env = "STINT_HASHING_CONCURRENCY")]
    pub(crate) hashing_concurrency: Option<usize>,

    /// Seconds between runs of the background jobs. [default: 3600]
    #[arg(long, env = "STINT_JOB_INTERVAL_SECS")]
    pub(crate) job_interval_secs: Option<u64>,

    /// Days audit events are kept. [default: 365]
    #[arg(long, env = "STINT_AUDIT_RETENTION_DAYS")]
    pub(crate) audit_retention_days: Option<i64>,

    /// Days soft-deleted file records are kept. [default: 30]
    #[arg(long, env = "STINT_DELETED_FILE_RETENTION_DAYS")]
    pub(crate) deleted_file_retention_days: Option<i64>,

    /// Days deleted records stay in the sync log for devices to hear of; a
    /// device away longer pulls everything again. [default: 90]
    #[arg(long, env = "STINT_SYNC_TOMBSTONE_RETENTION_DAYS")]
    pub(crate) sync_tombstone_retention_days: Option<i64>,
}

/// The store behind the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoreKind {
    /// An embedded redb file in the data directory.
    Redb,
    /// A FoundationDB cluster (`FDB_CLUSTER_FILE`); needs the `fdb` feature.
    Fdb,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) store: StoreKind,
    pub(crate) store_cache_bytes: u64,
    pub(crate) log: String,
    pub(crate) request_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) access_token_ttl: chrono::Duration,
    pub(crate) refresh_token_ttl: chrono::Duration,
    pub(crate) refresh_grace: chrono::Duration,
    pub(crate) login_per_ip_per_minute: u32,
    pub(crate) login_per_account_per_minute: u32,
    pub(crate) register_per_ip_per_minute: u32,
    pub(crate) refresh_per_login_per_minute: u32,
    pub(crate) hashing_concurrency: usize,
    pub(crate) hashing_queue: usize,
    pub(crate) live_channels_per_user: usize,
    pub(crate) job_interval: Duration,
    pub(crate) audit_retention: chrono::Duration,
    pub(crate) deleted_file_retention: chrono::Duration,
    pub(crate) sync_tombstone_retention: chrono::Duration,
}

impl Config {
    /// Flags and environment, over the TOML file they may name, over defaults.
    pub(crate) fn load() -> anyhow::Result<Self> {
        let flags = Options::parse();
        let file = match &flags.config {
            Some(path) => read_file(path)?,
            None => Options::default(),
        };
        Self::resolve(flags, file)
    }

    pub(crate) fn resolve(flags: Options, file: Options) -> anyhow::Result<Self> {
        macro_rules! pick {
            ($field:ident, $default:expr) => {
                flags.$field.or(file.$field).unwrap_or_else(|| $default)
            };
        }
        let access_minutes = pick!(access_token_minutes, 15);
        ensure!(
            (1..=15).contains(&access_minutes),
            "access_token_minutes must be between 1 and 15"
        );
        let config = Self {
            listen: pick!(listen, SocketAddr::from(([127, 0, 0, 1], 8787))),
            data_dir: pick!(data_dir, PathBuf::from("data/server")),
            store: pick!(store, StoreKind::Redb),
            store_cache_bytes: pick!(store_cache_mb, 64).saturating_mul(1024 * 1024),
            log: pick!(log, "info".to_owned()),
            request_timeout: Duration::from_secs(pick!(request_timeout_secs, 30)),
            max_body_bytes: pick!(max_body_bytes, 2 * 1024 * 1024),
            max_concurrency: pick!(max_concurrency, 1024),
            access_token_ttl: chrono::Duration::minutes(access_minutes),
            refresh_token_ttl: chrono::Duration::days(pick!(refresh_token_days, 30)),
            refresh_grace: chrono::Duration::seconds(pick!(refresh_grace_secs, 30)),
            login_per_ip_per_minute: pick!(login_per_ip_per_minute, 30),
            login_per_account_per_minute: pick!(login_per_account_per_minute, 10),
            register_per_ip_per_minute: pick!(register_per_ip_per_minute, 10),
            refresh_per_login_per_minute: pick!(refresh_per_login_per_minute, 20),
            hashing_concurrency: pick!(hashing_concurrency, 1),
            hashing_queue: pick!(hashing_queue, 32),
            live_channels_per_user: pick!(live_channels_per_user, 16),
            job_interval: Duration::from_secs(pick!(job_interval_secs, 3600)),
            audit_retention: chrono::Duration::days(pick!(audit_retention_days, 365)),
            deleted_file_retention: chrono::Duration::days(pick!(deleted_file_retention_days, 30)),
            sync_tombstone_retention: chrono::Duration::days(pick!(
                sync_tombstone_retention_days,
                90
            )),
        };
        ensure!(
            config.store_cache_bytes > 0,
            "store_cache_mb must be at least 1 (megabytes)"
        );
        ensure!(
            config.login_per_ip_per_minute > 0,
            "login_per_ip_per_minute must be positive"
        );
        ensure!(
            config.login_per_account_per_minute > 0,
            "login_per_account_per_minute must be positive"
        );
        ensure!(
            config.register_per_ip_per_minute > 0,
            "register_per_ip_per_minute must be positive"
        );
        ensure!(
            config.refresh_per_login_per_minute > 0,
            "refresh_per_login_per_minute must be positive"
        );
        ensure!(
            config.hashing_concurrency > 0,
            "hashing_concurrency must be positive"
        );
        ensure!(
            config.live_channels_per_user > 0,
            "live_channels_per_user must be positive"
        );
        ensure!(
            config.hashing_queue >= 2,
            "hashing_queue must be at least 2"
        );
        ensure!(
            config.max_concurrency > 0,
            "max_concurrency must be positive"
        );
        ensure!(
            !config.job_interval.is_zero(),
            "job_interval_secs must be positive"
        );
        Ok(config)
    }
}

fn read_file(path: &Path) -> anyhow::Result<Options> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("in the configuration file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let flags = Options {
            listen: Some("127.0.0.1:1".parse().unwrap()),
            ..Options::default()
        };
        let file: Options = toml::from_str(
            "listen = \"127.0.0.1:2\"\ndata_dir = \"/srv/stint\"\nstore = \"redb\"\naccess_token_minutes = 5",
        )
        .unwrap();
        let config = Config::resolve(flags, file).unwrap();
        assert_eq!(config.listen.port(), 1);
        assert_eq!(config.data_dir, PathBuf::from("/srv/stint"));
        assert_eq!(config.access_token_ttl, chrono::Duration::minutes(5));
        assert_eq!(config.refresh_grace, chrono::Duration::seconds(30));
    }

    #[test]
    fn bad_values_are_refused() {
        let check = |toml_text: &str, expected: &str| {
            let file: Result<Options, _> = toml::from_str(toml_text);
            let message = match file {
                Err(e) => e.to_string(),
                Ok(file) => Config::resolve(Options::default(), file)
                    .unwrap_err()
                    .to_string(),
            };
            assert!(message.contains(expected), "{toml_text}: {message}");
        };
        check("access_token_minutes = 60", "between 1 and 15");
        check("login_per_ip_per_minute = 0", "must be positive");
        check("colour = \"blue\"", "unknown field");
        check("store = \"postgres\"", "unknown variant");
    }
}
