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
//! - `commands/`: the commands the UI calls, one file per domain, each a
//!   one-line call into the client. `commands/names.rs` lists them for the
//!   permission manifest (`build.rs`); `capabilities/default.json` grants
//!   exactly those and listening to events.
//! - `error.rs`: errors cross to the UI as `{code, message}`.
//!
//! The owner's [`News`] (a CLI command changed records, a sync round
//! ended, a watch made progress) is pushed to the window as the `news`
//! event, so what lands in the replica shows at once.

mod commands;
mod error;
mod state;

use stint_client::{News, Owner};
use tauri::{Emitter, Manager, RunEvent};
use tokio::sync::broadcast::error::RecvError;

use crate::error::UiError;
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
        .setup(|app| {
            let owner = tauri::async_runtime::block_on(own_replica());
            if let Ok(owner) = &owner {
                tauri::async_runtime::spawn(forward_news(app.handle().clone(), owner.subscribe()));
            }
            app.manage(App::new(owner));
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the desktop app could not start");
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // Whatever the watchers reported is written before the app ends.
            if let Ok(owner) = handle.state::<App>().owner() {
                tauri::async_runtime::block_on(owner.stop());
            }
        }
    });
}

/// Becomes the owner of the device's replica, or says why not.
async fn own_replica() -> Result<Owner, UiError> {
    let dir = stint_client::data_dir(None).map_err(|e| UiError::not_owner(&e))?;
    Owner::start(&dir).await.map_err(|e| {
        tracing::error!("not the owner of {}: {e}", dir.display());
        UiError::not_owner(&e)
    })
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
