//! Start-up, layers, serving and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use stint_db::{Db, StoreIdentity};
use stint_model::{ErrorCode, TokenLifetimes};
use stint_store::{Store, StoreOptions};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

use crate::auth::passwords::Passwords;
use crate::auth::throttle::{Allowances, Throttle};
use crate::auth::tokens::Tokens;
use crate::config::{Config, StoreKind};
use crate::error::ApiError;
use crate::keys::Keys;
use crate::state::AppState;
use crate::{jobs, routes};

pub(crate) fn init_tracing(filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        // Colours on a terminal only: a log file or journal gets plain
        // `key=value` text that grep and log shippers can read.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Opens the configured store: the one place that names a backend.
fn open_store(config: &Config) -> anyhow::Result<Store> {
    match config.store {
        StoreKind::Redb => {
            let path = config.data_dir.join("stint.redb");
            let options = StoreOptions {
                cache_bytes: Some(config.store_cache_bytes),
                ..StoreOptions::default()
            };
            let store = stint_store::open_redb(&path, options)?;
            // Every tenant's records and every password hash: the owner's
            // alone, whatever the umask made of it.
            private(&path, 0o600)?;
            Ok(store)
        }
        #[cfg(feature = "fdb")]
        StoreKind::Fdb => Ok(stint_store::open_fdb(None, StoreOptions::default())?),
        #[cfg(not(feature = "fdb"))]
        StoreKind::Fdb => anyhow::bail!(
            "this stint-server was built without FoundationDB support; rebuild with `--features fdb`"
        ),
    }
}

/// Sets `path`'s permission bits to `mode` (on Unix).
fn private(path: &std::path::Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    private(&config.data_dir, 0o700)?;
    let keys = Keys::load_or_create(&config.data_dir)?;
    let db = Db::new(open_store(&config)?);
    let identity = db
        .meta()
        .identity(StoreIdentity {
            store_id: uuid::Uuid::now_v7(),
            created_at: stint_model::now(),
        })
        .await
        .context("reading the store identity")?;
    let lifetimes = TokenLifetimes {
        access: config.access_token_ttl,
        refresh: config.refresh_token_ttl,
    };
    let state = AppState {
        db,
        identity,
        tokens: Arc::new(Tokens::new(&keys, lifetimes)),
        passwords: Arc::new(Passwords::new(
            config.hashing_concurrency,
            config.hashing_queue,
        )?),
        throttle: Arc::new(Throttle::new(Allowances {
            login_per_ip: config.login_per_ip_per_minute,
            login_per_account: config.login_per_account_per_minute,
            register_per_ip: config.register_per_ip_per_minute,
            refresh_per_login: config.refresh_per_login_per_minute,
        })),
        config: Arc::new(config.clone()),
        changes: tokio::sync::broadcast::channel(1024).0,
        streams: routes::Streams::new(config.live_channels_per_user),
    };
    jobs::spawn(state.clone(), config.job_interval);
    let app = with_layers(routes::router(state)?, &config);

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = ?config.store, store_id = %identity.store_id, "serving");
    // Tests and scripts read the address from this line (the port may be 0).
    println!("stint-server listening on http://{addr}");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// The tower layers, outermost first: trace every request, turn layer
/// errors into API errors, time out slow requests, bound the work in
/// flight, cap body sizes (axum's limit, so that extractors answer 413 in
/// the API's JSON shape).
fn with_layers(router: Router, config: &Config) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            // A panic in a handler answers 500 with an incident id (the
            // panic is logged under it), never a dropped connection.
            .layer(CatchPanicLayer::custom(panicked))
            .layer(HandleErrorLayer::new(|error: tower::BoxError| async move {
                if error.is::<tower::timeout::error::Elapsed>() {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        ErrorCode::Timeout,
                        "the request took too long",
                    )
                } else {
                    ApiError::internal(&error)
                }
            }))
            .timeout(config.request_timeout)
            .concurrency_limit(config.max_concurrency)
            .layer(DefaultBodyLimit::max(config.max_body_bytes)),
    )
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(%e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The answer to a request whose handler panicked.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    axum::response::IntoResponse::into_response(ApiError::internal(&format!("panicked: {what}")))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::config::Options;

    #[tokio::test]
    async fn a_panic_is_a_500_with_an_incident_never_a_dropped_connection() {
        let config = Config::resolve(Options::default(), Options::default()).unwrap();
        let router: Router = Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                let text = "U&ïx";
                // Slicing inside a character, as validation once did.
                #[allow(clippy::string_slice)]
                let part = &text[1..3];
                part.to_owned()
            }),
        );
        let response = with_layers(router, &config)
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "internal");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("incident"), "{message}");
        assert!(
            !message.contains("byte index"),
            "details stay in the log: {message}"
        );
    }
}
