//! Start-up, layers, serving and shutdown.

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::StatusCode;
use stint_db::{Db, StoreIdentity};
use stint_model::ErrorCode;
use stint_store::{Store, StoreOptions};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, StoreKind};
use crate::error::ApiError;
use crate::routes::{self, AppState};

pub(crate) fn init_tracing(filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
}

/// Opens the configured store: the one place that names a backend.
fn open_store(config: &Config) -> anyhow::Result<Store> {
    match config.store {
        StoreKind::Redb => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let path = config.data_dir.join("stint.redb");
            Ok(stint_store::open_redb(&path, StoreOptions::default())?)
        }
        #[cfg(feature = "fdb")]
        StoreKind::Fdb => Ok(stint_store::open_fdb(None, StoreOptions::default())?),
        #[cfg(not(feature = "fdb"))]
        StoreKind::Fdb => anyhow::bail!(
            "this stint-server was built without FoundationDB support; rebuild with `--features fdb`"
        ),
    }
}

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    let db = Db::new(store);
    let identity = db
        .meta()
        .identity(StoreIdentity {
            store_id: uuid::Uuid::now_v7(),
            created_at: stint_model::now(),
        })
        .await
        .context("reading the store identity")?;
    let app = with_layers(routes::router(AppState { db, identity }), &config);

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = ?config.store, store_id = %identity.store_id, "serving");
    // Tests and scripts read the address from this line (the port may be 0).
    println!("stint-server listening on http://{addr}");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// The tower layers, outermost first: trace every request, bound the work
/// in flight, time out slow requests, cap body sizes.
fn with_layers(router: Router, config: &Config) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
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
            .timeout(Duration::from_secs(config.request_timeout_secs))
            .concurrency_limit(config.max_concurrency)
            .layer(RequestBodyLimitLayer::new(config.max_body_bytes)),
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
