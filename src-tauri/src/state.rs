//! What the app holds while it runs: the owner of the device's replica.

use stint_client::{Device, Owner};

use crate::error::UiError;

/// The app's state, managed by Tauri and handed to every command.
#[derive(Debug)]
pub(crate) struct App {
    /// The owner, or why this app could not become it.
    owner: Result<Owner, UiError>,
}

impl App {
    pub(crate) fn new(owner: Result<Owner, UiError>) -> Self {
        Self { owner }
    }

    pub(crate) fn owner(&self) -> Result<&Owner, UiError> {
        self.owner.as_ref().map_err(Clone::clone)
    }

    /// The device, for reads.
    pub(crate) fn device(&self) -> Result<&Device, UiError> {
        self.owner().map(Owner::device)
    }

    /// Runs a write on the device, then tells the sync engine that an edit
    /// waits (after the write, so the round that follows sees it).
    pub(crate) async fn edit<'a, T, F>(
        &'a self,
        write: impl FnOnce(&'a Device) -> F,
    ) -> Result<T, UiError>
    where
        F: Future<Output = stint_client::Result<T>> + 'a,
    {
        let owner = self.owner()?;
        let value = write(owner.device()).await?;
        owner.edited();
        Ok(value)
    }
}
