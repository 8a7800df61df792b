//! The integration's own user: `GET /v1/users/me` answers the bot user of the token, whose id
//! is the `last_edited_by` of every page leadsync wrote last.

use reqwest::Method;
use serde::Deserialize;

use super::NotionClient;
use crate::clients::http::ClientError;

/// The token's bot user as `GET /v1/users/me` answers it (`type` is `bot` for an integration).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BotUser {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl NotionClient {
    /// `GET /v1/users/me`: the integration's bot user.
    pub async fn retrieve_bot_user(&self) -> Result<BotUser, ClientError> {
        let url = self.url(&["users", "me"]);
        self.call("retrieve_bot_user", (Method::GET, url), None, true)
            .await
    }
}
