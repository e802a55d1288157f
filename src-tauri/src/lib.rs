//! # stint-desktop
//!
//! The desktop app: a thin Tauri shell over `stint-client`, showing the
//! web UI built from `ui/`. It holds no logic of its own.
//!
//! ## Layout
//!
//! - `state.rs`: [`App`](state::App), what the app holds while it runs:
//!   the [`Owner`] of the device's replica (the same data directory as the
//!   CLI; `STINT_DATA_DIR` overrides). While the app runs it *is* the
//!   device's owner: it serves the local socket (so `stint …` and the
//!   shell hook keep working beside it), syncs in the background and runs
//!   the watches of active sessions.
//! - `commands.rs`: the one command the UI calls, `rpc`: an operation of
//!   the local protocol by name, served by `stint_client::protocol` (the
//!   same dispatch as the owner's socket). `commands/names.rs` lists it
//!   for the permission manifest (`build.rs`); `capabilities/default.json`
//!   grants exactly that and listening to events.
//! - `error.rs`: errors cross to the UI as `{code, message}`.
//!
//! The owner's [`News`] (a CLI command changed records, a sync round
//! ended, a watch made progress) is pushed to the window as the `news`
//! event, so what lands in the replica shows at once.

mod commands;
mod error;
mod state;

use stint_client::News;
use tauri::{Emitter, Manager, RunEvent};
use tokio::sync::broadcast::error::RecvError;

use crate::state::App;

/// The event that carries [`News`] to the window.
const NEWS_EVENT: &str = "news";

/// Starts the app and runs it until its window is closed.
///
/// # Panics
///
/// When the window system cannot be reached (no display): there is nothing
/// to show then.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "stint=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let app = tauri::Builder::default()
        .invoke_handler(commands::handlers!())
        .manage(App::default())
        .setup(|app| {
            // The replica opens beside the window's start, not before it.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                if let Ok(owner) = handle.state::<App>().owner().await {
                    forward_news(handle.clone(), owner.subscribe()).await;
                }
            });
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the desktop app could not start");
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Whatever the watchers reported is written before the app ends.
            if let Some(owner) = handle.state::<App>().opened() {
                tauri::async_runtime::block_on(owner.stop());
            }
        }
    });
}

/// Pushes the owner's news to the window. A window that fell behind gets
/// `changed`, which makes it reload what it shows.
async fn forward_news(handle: tauri::AppHandle, mut news: tokio::sync::broadcast::Receiver<News>) {
    loop {
        let item = match news.recv().await {
            Ok(item) => item,
            Err(RecvError::Lagged(_)) => News::Changed,
            Err(RecvError::Closed) => return,
        };
        if let Err(e) = handle.emit(NEWS_EVENT, &item) {
            tracing::warn!("the window missed news: {e}");
        }
    }
}
