//! The one shape in which errors cross to the UI: `{code, message}`.

use serde::Serialize;
use stint_client::ClientError;
use stint_client::protocol::RpcError;

/// An error as the UI receives it. `code` is stable (`not_found`,
/// `invalid`, `not_signed_in`, `unreachable`, `profile`, …) so the UI can
/// react to it; `message` is for a person; `field`, when the input broke a
/// rule, names the field (a form shows the message there).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UiError {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl UiError {
    /// This app could not become the replica's owner (another Stint
    /// process holds it): every command answers this, and the UI says so.
    pub(crate) fn not_owner(e: &ClientError) -> Self {
        Self {
            code: "not_owner",
            message: format!(
                "{} — stop `stint agent` (or the other Stint app) and start this app again",
                e.message()
            ),
            field: None,
        }
    }
}

impl From<RpcError> for UiError {
    /// Read as a client of the protocol reads it: an operation's failure
    /// keeps its kind and field; bad params are `invalid`.
    fn from(e: RpcError) -> Self {
        ClientError::from(e).into()
    }
}

impl From<ClientError> for UiError {
    fn from(e: ClientError) -> Self {
        if matches!(e, ClientError::Replica(_)) {
            tracing::error!("replica: {e}");
        }
        Self {
            code: e.code(),
            message: e.message(),
            field: e.field().map(str::to_owned),
        }
    }
}
