//! What registering, listing or deleting a system's webhooks fails with, shared by every
//! connector's webhook admin (`connectors::*::webhooks`); the operator commands (`admin`) wrap
//! it. Display never carries a secret: client errors carry no URLs or credentials.

use crate::clients::http::ClientError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The system refused or could not be reached (a 404 on delete is [`WebhookError::NotFound`]).
    #[error("{0}")]
    Api(ClientError),
    /// Settings make the operation impossible (an empty credential, base or table), naming the key.
    #[error("{0}")]
    Config(String),
    #[error("no webhook {0:?} for this token")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A refusal before sending (empty credentials) names the key; anything else is the API's.
impl From<ClientError> for WebhookError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Config(msg) => Self::Config(msg),
            other => Self::Api(other),
        }
    }
}
