//! Operator operations shared by the `/admin` endpoints and the CLI: webhook registration,
//! listing and deletion across the systems (each system's own is `connectors::*::webhooks`), and
//! the filled-in Apps Script of the pair the operator names.

mod apps_script;
mod notion_token;
mod webhooks;

pub use apps_script::apps_script_text;
pub use notion_token::{NotionToken, notion_token, reset_notion_token};
pub use webhooks::{
    WebhookView, airtable_client_if_needed, delete_webhook, list_webhooks, register_webhooks,
};

use crate::clients::http::ClientError;
use crate::connectors::webhooks::WebhookError;
use crate::store::StoreError;

/// Why an admin operation failed. Display never carries a secret: client errors carry no URLs
/// or credentials, and the secret checks only name the key.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Trello or Airtable refused or could not be reached (a 404 on delete is
    /// [`AdminError::WebhookNotFound`]).
    #[error("{0}")]
    Api(ClientError),
    /// Settings make the operation impossible (empty credentials or secret), naming the key.
    #[error("{0}")]
    Config(String),
    #[error("no webhook {0:?} for this token")]
    WebhookNotFound(String),
    #[error("unknown pair {0:?} (configured: {1})")]
    UnknownPair(String, String),
    #[error("several pairs are configured ({0}): name one")]
    PairRequired(String),
    #[error("no pairs are configured")]
    NoPairs,
    #[error(
        "no Notion verification token yet: create the subscription in the integration's \
         settings with URL {{public_url}}/webhooks/notion while the daemon runs, then ask again"
    )]
    NoNotionToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    /// A failure to fix in the configuration or the command line rather than a runtime failure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Config(_) | Self::UnknownPair(..) | Self::PairRequired(_) | Self::NoPairs
        )
    }
}

impl From<WebhookError> for AdminError {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::Api(e) => Self::Api(e),
            WebhookError::Config(msg) => Self::Config(msg),
            WebhookError::NotFound(id) => Self::WebhookNotFound(id),
            WebhookError::Store(e) => Self::Store(e),
        }
    }
}

impl From<ClientError> for AdminError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Config(msg) => Self::Config(msg),
            other => Self::Api(other),
        }
    }
}
