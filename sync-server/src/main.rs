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

mod app;
mod auth;
mod config;
mod error;
mod extract;
mod jobs;
mod keys;
mod routes;
mod state;

fn main() -> anyhow::Result<()> {
    return_large_allocations_to_the_os();
    let config = config::Config::load()?;
    app::init_tracing(&config.log);
    tokio::runtime::Runtime::new()?.block_on(app::run(config))
}

/// Every password hash takes 19 MiB. glibc raises its mmap threshold after
/// the first such buffer is freed and then keeps them on the heap, so a few
/// logins left the server holding tens of megabytes (hundreds during a login
/// burst). A fixed threshold of 1 MiB makes large buffers come from and go
/// back to the system directly.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_to_the_os() {
    // SAFETY: `mallopt` only tunes the allocator; it is called first thing,
    // before any other thread exists.
    #[allow(unsafe_code)]
    let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
    debug_assert_eq!(applied, 1, "mallopt(M_MMAP_THRESHOLD) refused");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_os() {}
