//! # stint-server
//!
//! The sync server: the authority over every tenant's records. It serves the
//! HTTP API under `/api/v5` with axum, over `stint-db` on the store chosen at
//! start-up: an embedded redb file in the data directory by default, or a
//! FoundationDB cluster with `--store fdb` (when built with the `fdb`
//! feature).
//!
//! ## Layout
//!
//! - `main.rs`: parses the configuration and hands over to `app`.
//! - `config.rs`: flags and `STINT_…` environment variables.
//! - `app.rs`: start-up (the store is chosen here, once), the tower layers,
//!   serving and graceful shutdown.
//! - `error.rs`: `ApiError`, the one error type every handler returns; it
//!   answers `{code, message}` and logs internal details without sending them.
//! - `routes/`: one sub-router per area of the API.

mod app;
mod config;
mod error;
mod routes;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = config::Config::parse();
    app::init_tracing(&config.log);
    app::run(config).await
}
