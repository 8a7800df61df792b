//! The Notion subscription's verification token, for the user to paste into the integration's
//! settings (CONTRACT §7): `notion.webhook_verification_token` when set, else the one Notion's
//! verification request delivered; and forgetting the stored one for a new subscription.

use secrecy::ExposeSecret;
use serde::Serialize;

use super::AdminError;
use crate::config::Settings;
use crate::store::{Db, notion};

/// The token and where it comes from (`config` or `verification_request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotionToken {
    pub token: String,
    pub source: &'static str,
}

/// The token events are checked with; [`AdminError::NoNotionToken`] before any arrived.
pub async fn notion_token(settings: &Settings, db: &Db) -> Result<NotionToken, AdminError> {
    let configured = settings.notion.webhook_verification_token.expose_secret();
    if !configured.trim().is_empty() {
        return Ok(NotionToken {
            token: configured.trim().to_owned(),
            source: "config",
        });
    }
    match notion::verification_token(&db.pool).await? {
        Some(token) => Ok(NotionToken {
            token,
            source: "verification_request",
        }),
        None => Err(AdminError::NoNotionToken),
    }
}

/// Forgets the stored token (the configured one, if any, still stands); answers whether one was
/// stored.
pub async fn reset_notion_token(db: &Db) -> Result<bool, AdminError> {
    Ok(notion::reset_verification_token(&db.pool).await?)
}
