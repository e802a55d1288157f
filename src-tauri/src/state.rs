//! What the app holds while it runs: the owner of the device's replica.

use stint_client::Owner;
use tokio::sync::OnceCell;

use crate::error::UiError;

/// The app's state, managed by Tauri and handed to every command.
#[derive(Debug, Default)]
pub(crate) struct App {
    /// The owner once the replica is open, or why this app could not
    /// become it. Opening takes a moment on a large replica, so it runs
    /// beside the window's start rather than before it; the first
    /// commands wait for it.
    owner: OnceCell<Result<Owner, UiError>>,
}

impl App {
    /// The owner: opens the replica on the first call, later calls wait
    /// for that one.
    pub(crate) async fn owner(&self) -> Result<&Owner, UiError> {
        self.owner
            .get_or_init(own_replica)
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The owner if the replica was opened, without waiting.
    pub(crate) fn opened(&self) -> Option<&Owner> {
        self.owner.get().and_then(|owner| owner.as_ref().ok())
    }
}

/// Becomes the owner of the device's replica, or says why not.
async fn own_replica() -> Result<Owner, UiError> {
    let dir = stint_client::data_dir(None).map_err(|e| UiError::not_owner(&e))?;
    Owner::start(&dir).await.map_err(|e| {
        tracing::error!("not the owner of {}: {e}", dir.display());
        UiError::not_owner(&e)
    })
}
