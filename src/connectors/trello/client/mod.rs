//! Typed Trello REST client: members, boards, lists, custom fields, cards and webhooks.
//!
//! Auth goes only in the `Authorization: OAuth oauth_consumer_key=…, oauth_token=…` header, never
//! in a query string. One exception is forced by the API: listing the token's webhooks takes the
//! token in the path (`/tokens/{token}/webhooks`); errors never carry URLs, so it still cannot leak.

pub mod build;
mod details;
mod history;
mod limits;
mod types;
mod webhooks;
mod wire;

use std::collections::BTreeMap;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::clients::http::{ApiClient, ClientError, RateLimiter, RetryPolicy};
pub use limits::{BUDGET_FRACTION, KEY_REQUESTS_PER_10S, TOKEN_REQUESTS_PER_10S, TrelloLimits};
pub use types::{
    Board, Card, CardUpdate, CheckItem, Checklist, CustomField, Label, Member, NewCard, TrelloList,
    Webhook,
};
use wire::{WireBoard, WireCard, WireCustomField, WireList, WireMember};

const SYSTEM: &str = "trello";
/// Trello answers at most this many cards per call; more need paging with `before`.
const PAGE: usize = 1000;

#[derive(Clone)]
pub struct TrelloClient {
    api: ApiClient,
    base: String,
    auth: HeaderValue,
    token: SecretString,
}

impl TrelloClient {
    pub fn new(
        api_base: String,
        api_key: SecretString,
        api_token: SecretString,
        policy: RetryPolicy,
        limits: TrelloLimits,
    ) -> Result<Self, ClientError> {
        let header = format!(
            "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
            api_key.expose_secret(),
            api_token.expose_secret()
        );
        let mut auth = HeaderValue::from_str(&header).map_err(|_| {
            ClientError::Config("trello: key or token has invalid characters".into())
        })?;
        auth.set_sensitive(true);
        let limiters = vec![
            RateLimiter::new(limits.per_token.0, limits.per_token.1)
                .with_remaining_header("x-rate-limit-api-token-remaining"),
            RateLimiter::new(limits.per_key.0, limits.per_key.1)
                .with_remaining_header("x-rate-limit-api-key-remaining"),
        ];
        let api = ApiClient::new(SYSTEM, policy, limiters)?;
        let base = api_base.trim_end_matches('/').to_owned();
        Ok(Self {
            api,
            base,
            auth,
            token: api_token,
        })
    }

    /// The token's and the key's limiters: budgets and counters.
    pub fn limiter_stats(&self) -> Vec<crate::clients::http::LimiterStats> {
        self.api.limiter_stats()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: String,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        self.api
            .send_json(endpoint, |c| {
                c.get(&url)
                    .header(AUTHORIZATION, self.auth.clone())
                    .query(query)
            })
            .await
    }

    async fn write<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: reqwest::Method,
        url: String,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        self.api
            .send_json(endpoint, |c| {
                c.request(method.clone(), &url)
                    .header(AUTHORIZATION, self.auth.clone())
                    .json(body)
            })
            .await
    }

    pub async fn me(&self) -> Result<Member, ClientError> {
        let query = [("fields", "id,username,fullName")];
        let w: WireMember = self
            .get("members_me", self.url("/members/me"), &query)
            .await?;
        Ok(w.into())
    }

    pub async fn board(&self, board_id: &str) -> Result<Board, ClientError> {
        let url = self.url(&format!("/boards/{}", id_segment("board", board_id)?));
        let query = [("fields", "id,name,closed,url,shortUrl")];
        let w: WireBoard = self.get("board", url, &query).await?;
        Ok(w.into())
    }

    /// The board's open lists, in board order.
    pub async fn lists(&self, board_id: &str) -> Result<Vec<TrelloList>, ClientError> {
        let url = self.url(&format!(
            "/boards/{}/lists",
            id_segment("board_lists", board_id)?
        ));
        let w: Vec<WireList> = self.get("board_lists", url, &[("filter", "open")]).await?;
        Ok(w.into_iter().map(Into::into).collect())
    }

    /// An open list whose name matches, ignoring case and surrounding spaces.
    pub async fn find_list(
        &self,
        board_id: &str,
        name: &str,
    ) -> Result<Option<TrelloList>, ClientError> {
        let lists = self.lists(board_id).await?;
        Ok(lists.into_iter().find(|l| same_name(&l.name, name)))
    }

    pub async fn create_list(&self, board_id: &str, name: &str) -> Result<TrelloList, ClientError> {
        let body = json!({"name": name, "idBoard": board_id, "pos": "bottom"});
        let w: WireList = self
            .write(
                "create_list",
                reqwest::Method::POST,
                self.url("/lists"),
                &body,
            )
            .await?;
        Ok(w.into())
    }

    pub async fn custom_fields(&self, board_id: &str) -> Result<Vec<CustomField>, ClientError> {
        let url = self.url(&format!(
            "/boards/{}/customFields",
            id_segment("custom_fields", board_id)?
        ));
        let w: Vec<WireCustomField> = self.get("custom_fields", url, &[]).await?;
        Ok(w.into_iter().map(Into::into).collect())
    }

    pub async fn find_custom_field(
        &self,
        board_id: &str,
        name: &str,
    ) -> Result<Option<CustomField>, ClientError> {
        let fields = self.custom_fields(board_id).await?;
        Ok(fields.into_iter().find(|f| same_name(&f.name, name)))
    }

    /// Creates a text custom field shown on the card front.
    pub async fn create_text_field(
        &self,
        board_id: &str,
        name: &str,
    ) -> Result<CustomField, ClientError> {
        let body = json!({"idModel": board_id, "modelType": "board", "name": name, "type": "text",
            "pos": "bottom", "display_cardFront": true});
        let url = self.url("/customFields");
        let w: WireCustomField = self
            .write("create_custom_field", reqwest::Method::POST, url, &body)
            .await?;
        Ok(w.into())
    }

    /// Every card of the board, open and archived, with custom field items: one call per 1000 cards.
    pub async fn board_cards(&self, board_id: &str) -> Result<Vec<Card>, ClientError> {
        let url = self.url(&format!(
            "/boards/{}/cards/all",
            id_segment("board_cards", board_id)?
        ));
        let limit = PAGE.to_string();
        let mut cards: Vec<Card> = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut query = vec![
                ("customFieldItems", "true"),
                ("checklists", "all"),
                ("limit", limit.as_str()),
            ];
            if let Some(b) = &before {
                query.push(("before", b.as_str()));
            }
            let page: Vec<WireCard> = self.get("board_cards", url.clone(), &query).await?;
            let full = page.len() >= PAGE;
            // Ids start with their creation time in hex, so the smallest is the oldest of the page.
            before = page.iter().map(|c| c.id().to_owned()).min();
            cards.extend(page.into_iter().map(Card::from));
            if !full || before.is_none() {
                break;
            }
        }
        cards.sort_by(|a, b| a.id.cmp(&b.id));
        cards.dedup_by(|a, b| a.id == b.id);
        Ok(cards)
    }

    pub async fn card(&self, card_id: &str) -> Result<Card, ClientError> {
        let url = self.url(&format!("/cards/{}", id_segment("card", card_id)?));
        let w: WireCard = self
            .get(
                "card",
                url,
                &[("customFieldItems", "true"), ("checklists", "all")],
            )
            .await?;
        Ok(w.into())
    }

    pub async fn create_card(&self, card: &NewCard) -> Result<Card, ClientError> {
        let body = serde_json::to_value(card).map_err(|e| ClientError::Config(e.to_string()))?;
        // Not retried on an unknown outcome: a second POST would make a second card. The
        // dispatcher looks for the card by its marker before it tries again.
        let url = self.url("/cards");
        let w: WireCard = self
            .api
            .send_json_not_idempotent("create_card", |c| {
                c.post(&url)
                    .header(AUTHORIZATION, self.auth.clone())
                    .json(&body)
            })
            .await?;
        Ok(w.into())
    }

    /// Sends only the fields set in `update`; answers the card as it now is.
    pub async fn update_card(&self, id: &str, update: &CardUpdate) -> Result<Card, ClientError> {
        self.update_card_with(id, update, true).await
    }

    /// `update_card` tried once past 429s: after a lost answer Trello may have written and a
    /// user edited since, so the caller reads the card again rather than repeat this body.
    pub async fn update_card_once(&self, id: &str, u: &CardUpdate) -> Result<Card, ClientError> {
        self.update_card_with(id, u, false).await
    }

    async fn update_card_with(
        &self,
        card_id: &str,
        update: &CardUpdate,
        retry_lost: bool,
    ) -> Result<Card, ClientError> {
        let url = self.url(&format!("/cards/{}", id_segment("update_card", card_id)?));
        let body = serde_json::to_value(update).map_err(|e| ClientError::Config(e.to_string()))?;
        let put = |c: &reqwest::Client| {
            c.put(&url)
                .header(AUTHORIZATION, self.auth.clone())
                .json(&body)
        };
        let w: WireCard = self
            .api
            .send_json_as("update_card", retry_lost, put)
            .await?;
        Ok(w.into())
    }

    /// Sets a text custom field on a card; an empty text clears it (Trello's `"value": ""`).
    pub async fn set_custom_text(
        &self,
        card_id: &str,
        field_id: &str,
        text: &str,
    ) -> Result<(), ClientError> {
        let card = id_segment("set_custom_field", card_id)?;
        let field = id_segment("set_custom_field", field_id)?;
        let url = self.url(&format!("/cards/{card}/customField/{field}/item"));
        let body = if text.is_empty() {
            json!({"value": ""})
        } else {
            json!({"value": {"text": text}})
        };
        let _: serde_json::Value = self
            .write("set_custom_field", reqwest::Method::PUT, url, &body)
            .await?;
        Ok(())
    }

    /// Sets several text custom fields of a card in one call (`PUT /cards/{id}/customFields`);
    /// an empty text clears its field. A PUT of values, so repeating it after a lost answer
    /// changes nothing more: the client retries it like any other idempotent call. No call for
    /// an empty map.
    pub async fn set_custom_texts(
        &self,
        card_id: &str,
        texts: &BTreeMap<String, String>,
    ) -> Result<(), ClientError> {
        if texts.is_empty() {
            return Ok(());
        }
        let card = id_segment("set_custom_fields", card_id)?;
        let mut items = Vec::with_capacity(texts.len());
        for (field_id, text) in texts {
            let id = id_segment("set_custom_fields", field_id)?;
            let value = if text.is_empty() {
                json!("")
            } else {
                json!({"text": text})
            };
            items.push(json!({"idCustomField": id, "value": value}));
        }
        let body = json!({"customFieldItems": items});
        let url = self.url(&format!("/cards/{card}/customFields"));
        let auth = self.auth.clone();
        // The answer's body is not needed (and its shape is not documented): only its status.
        self.api
            .send("set_custom_fields", |c| {
                c.put(&url).header(AUTHORIZATION, auth.clone()).json(&body)
            })
            .await?;
        Ok(())
    }

    pub async fn delete_card(&self, card_id: &str) -> Result<(), ClientError> {
        let url = self.url(&format!("/cards/{}", id_segment("delete_card", card_id)?));
        let auth = self.auth.clone();
        self.api
            .send("delete_card", |c| {
                c.delete(&url).header(AUTHORIZATION, auth.clone())
            })
            .await?;
        Ok(())
    }
}

impl std::fmt::Debug for TrelloClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrelloClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Trello ids, short links and tokens are alphanumeric; anything else must not reach a URL path.
fn id_segment<'a>(endpoint: &'static str, id: &'a str) -> Result<&'a str, ClientError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ClientError::BadRequest {
            system: SYSTEM,
            endpoint,
            status: 0,
            message: "id is not a Trello id".into(),
        })
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_details;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_quota;
