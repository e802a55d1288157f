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
//! - `main.rs`: loads the configuration and hands over to `app`.
//! - `config.rs`: flags, `STINT_…` environment variables, a TOML file.
//! - `keys.rs`: the token secrets, generated on first start (mode 0600).
//! - `app.rs`: start-up (the store is chosen here, once), the tower layers,
//!   serving and graceful shutdown.
//! - `state.rs`: what every handler reaches (the `Db`, tokens, passwords…).
//! - `error.rs`: `ApiError`, the one error type every handler returns; it
//!   answers `{code, message}` and logs internal details without sending them.
//! - `extract.rs`: extractors: JSON, path and query with API errors, and
//!   `Auth`, the authenticated caller (token + membership check).
//! - `auth/`: passwords (Argon2id), tokens (JWT, refresh), throttling, and
//!   the account flows.
//! - `routes/`: one sub-router per area of the API, with its OpenAPI.
//! - `jobs.rs`: the background purges.
//! - `memory.rs`: the allocator, tuned to give freed memory back.

mod app;
mod auth;
mod config;
mod error;
mod extract;
mod jobs;
mod keys;
mod memory;
mod routes;
mod state;

fn main() -> anyhow::Result<()> {
    memory::tune();
    let config = config::Config::load()?;
    app::init_tracing(&config.log);
    tokio::runtime::Runtime::new()?.block_on(app::run(config))
}
