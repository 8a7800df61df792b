//! In-process emulator of the Trello REST API subset leadsync uses, served on 127.0.0.1:0.
//!
//! Emulated, with Trello's wire format (field names, status codes, plain-text error bodies):
//! members (`/members/me`), boards, lists (read, create), custom field definitions (read, create)
//! and their items on cards (one: `PUT /cards/{id}/customField/{field}/item`; several at once:
//! `PUT /cards/{id}/customFields`), cards (read one, list a board's cards with `open|closed|all`,
//! `customFieldItems`, `limit` ≤ 1000 and `before` paging,
//! create, update — its `idLabels` replacing the card's label set with one `addLabelToCard` or
//! `removeLabelFromCard` action per label changed, as Trello records them —, delete), a board's
//! labels and a card's labels and checklists (`details.rs`), a card's actions (`GET /cards/{id}/actions` with `filter`, newest
//! first), and webhooks (create with a HEAD check of the callback, duplicate refusal per token,
//! list per token, delete). Auth is the OAuth header or `key`/`token` query
//! parameters; the quotas (100 per 10 s per token, 300 per key) answer 429, and the shared
//! [`Gate`] injects faults and logs calls. Every change — through the API (by the token's member)
//! or through the `user_*` methods (by a separate "browser" member) — is delivered as an action
//! to each webhook of the board, in order, signed with `X-Trello-Webhook`.
//!
//! Not emulated: members on cards, attachments, comments, organisations,
//! custom field types other than text for item values, form-encoded bodies, rate-limit headers,
//! webhook deactivation after failures, and callbacks outside loopback (refused on purpose).

mod actions;
mod auth;
mod delivery;
mod details;
mod details_http;
mod items;
mod model;
mod ops;
mod request;
mod routes;
mod writes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use crate::sandbox::common::{Gate, Quota, Served, serve};
pub use delivery::{DeliveryRecord, Job as HeldDelivery, Route as DeliveryRoute, sign};
use model::Model;
pub use model::{
    SandboxBoard, SandboxCard, SandboxCheckItem, SandboxChecklist, SandboxField, SandboxLabel,
    SandboxList, SandboxMember, SandboxWebhook,
};
pub use ops::{ApiError, NOT_FOUND};
use ops::{Core, params};

/// Trello's published quotas; tests scale them down.
#[derive(Clone, Debug)]
pub struct SandboxQuotas {
    pub per_token: Option<Quota>,
    pub per_key: Option<Quota>,
}

impl Default for SandboxQuotas {
    fn default() -> Self {
        let ten = Duration::from_secs(10);
        Self {
            per_token: Some(Quota {
                max_requests: 100,
                per: ten,
            }),
            per_key: Some(Quota {
                max_requests: 300,
                per: ten,
            }),
        }
    }
}

/// Ids of a board made by [`TrelloSandbox::setup_board`], lists and fields by name.
#[derive(Clone, Debug)]
pub struct BoardSetup {
    pub board_id: String,
    /// The 8-character short link of the board's URL (`https://trello.com/b/<short_link>/…`).
    pub short_link: String,
    pub lists: BTreeMap<String, String>,
    pub fields: BTreeMap<String, String>,
}

/// A change made "in the browser"; only the fields that are `Some` change.
#[derive(Clone, Debug, Default)]
pub struct UserCardChange {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    pub closed: Option<bool>,
}

pub struct TrelloSandbox {
    core: Arc<Core>,
    gate: Gate,
    served: Served,
    key: String,
    token: String,
    secret: String,
    api_member_id: String,
    user_member_id: String,
}

fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl TrelloSandbox {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SandboxQuotas::default()).await
    }

    /// Starts the server with fresh random credentials and two members: the token's and a user.
    pub async fn start_with(quotas: SandboxQuotas) -> std::io::Result<Self> {
        let (key, token, secret) = (
            random_hex(32),
            format!("ATTA{}", random_hex(64)),
            random_hex(64),
        );
        let mut model = Model::default();
        let api_member_id = model.new_id();
        let user_member_id = model.new_id();
        model.members.push(SandboxMember {
            id: api_member_id.clone(),
            username: "leadsyncbot".into(),
            full_name: "Leadsync Bot".into(),
        });
        model.members.push(SandboxMember {
            id: user_member_id.clone(),
            username: "adalovelace".into(),
            full_name: "Ada Lovelace".into(),
        });
        let core = Core::new(model, delivery::Deliveries::start(secret.clone()));
        let gate = Gate::new(None);
        gate.set_quota_for_prefix("token:", quotas.per_token);
        gate.set_quota_for_prefix("key:", quotas.per_key);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let ctx = request::Ctx {
            core: core.clone(),
            key: key.clone(),
            token: token.clone(),
            api_member_id: api_member_id.clone(),
            http,
        };
        let served = serve(routes::router(ctx, gate.clone())).await?;
        Ok(Self {
            core,
            gate,
            served,
            key,
            token,
            secret,
            api_member_id,
            user_member_id,
        })
    }

    /// The base the client is configured with, like `https://api.trello.com/1`.
    pub fn api_base(&self) -> String {
        format!("{}/1", self.served.base_url())
    }

    pub fn api_key(&self) -> &str {
        &self.key
    }

    pub fn api_token(&self) -> &str {
        &self.token
    }

    /// The application secret that signs deliveries.
    pub fn api_secret(&self) -> &str {
        &self.secret
    }

    /// The token's member: `idMemberCreator` of changes made through the API.
    pub fn api_member_id(&self) -> &str {
        &self.api_member_id
    }

    /// The "browser" member: `idMemberCreator` of changes made by the `user_*` methods.
    pub fn user_member_id(&self) -> &str {
        &self.user_member_id
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Creates a board with lists and text custom fields, silently (before any webhook exists).
    pub fn setup_board(&self, name: &str, lists: &[&str], text_fields: &[&str]) -> BoardSetup {
        let mut m = self.core.lock();
        let board = SandboxBoard {
            id: m.new_id(),
            name: name.into(),
            short_link: model::short_link(),
            closed: false,
        };
        let mut setup = BoardSetup {
            board_id: board.id.clone(),
            short_link: board.short_link.clone(),
            lists: BTreeMap::new(),
            fields: BTreeMap::new(),
        };
        m.boards.push(board);
        for (i, list) in lists.iter().enumerate() {
            let id = m.new_id();
            let pos = 65536.0 * (i as f64 + 1.0);
            m.lists.push(SandboxList {
                id: id.clone(),
                id_board: setup.board_id.clone(),
                name: (*list).into(),
                closed: false,
                pos,
            });
            setup.lists.insert((*list).into(), id);
        }
        for (i, field) in text_fields.iter().enumerate() {
            let id = m.new_id();
            let pos = 16384.0 * (i as f64 + 1.0);
            m.fields.push(SandboxField {
                id: id.clone(),
                id_board: setup.board_id.clone(),
                name: (*field).into(),
                field_type: "text".into(),
                pos,
            });
            setup.fields.insert((*field).into(), id);
        }
        setup
    }

    pub fn user_create_list(&self, board_id: &str, name: &str) -> Result<String, ApiError> {
        let p = params(json!({"name": name, "idBoard": board_id}));
        let list = self
            .core
            .change(|m| ops::create_list(m, &self.user_member_id, &p))?;
        Ok(list["id"].as_str().unwrap_or_default().to_owned())
    }

    pub fn user_create_text_field(&self, board_id: &str, name: &str) -> Result<String, ApiError> {
        let p = params(
            json!({"idModel": board_id, "modelType": "board", "name": name, "type": "text"}),
        );
        let field = self
            .core
            .change(|m| ops::create_field(m, &self.user_member_id, &p))?;
        Ok(field["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Archives (`closed: true`) or restores a list, as a user would.
    pub fn user_set_list_closed(&self, list_id: &str, closed: bool) -> Result<(), ApiError> {
        let mut m = self.core.lock();
        let list = m
            .lists
            .iter_mut()
            .find(|l| l.id == list_id)
            .ok_or_else(ApiError::not_found)?;
        list.closed = closed;
        Ok(())
    }

    pub fn user_create_card(
        &self,
        list_id: &str,
        name: &str,
        desc: &str,
    ) -> Result<String, ApiError> {
        let p = params(json!({"idList": list_id, "name": name, "desc": desc}));
        let card = self
            .core
            .change(|m| ops::create_card(m, &self.user_member_id, &p))?;
        Ok(card["id"].as_str().unwrap_or_default().to_owned())
    }

    pub fn user_update_card(&self, card_id: &str, change: &UserCardChange) -> Result<(), ApiError> {
        let mut p = ops::Params::new();
        if let Some(v) = &change.name {
            p.insert("name".into(), json!(v));
        }
        if let Some(v) = &change.desc {
            p.insert("desc".into(), json!(v));
        }
        if let Some(v) = &change.id_list {
            p.insert("idList".into(), json!(v));
        }
        if let Some(v) = change.closed {
            p.insert("closed".into(), json!(v));
        }
        self.core
            .change(|m| ops::update_card(m, &self.user_member_id, card_id, &p))
            .map(drop)
    }

    /// Sets a text custom field; an empty text clears it.
    pub fn user_set_custom_field(
        &self,
        card_id: &str,
        field_id: &str,
        text: &str,
    ) -> Result<(), ApiError> {
        let p = params(
            json!({"value": if text.is_empty() { json!("") } else { json!({"text": text}) }}),
        );
        self.core
            .change(|m| items::set_item(m, &self.user_member_id, card_id, field_id, &p))
            .map(drop)
    }

    pub fn user_delete_card(&self, card_id: &str) -> Result<(), ApiError> {
        self.core
            .change(|m| ops::delete_card(m, &self.user_member_id, card_id))
            .map(drop)
    }

    /// The board's cards, open and archived, in creation order.
    pub fn cards(&self, board_id: &str) -> Vec<SandboxCard> {
        self.core
            .lock()
            .cards
            .iter()
            .filter(|c| c.id_board == board_id)
            .cloned()
            .collect()
    }

    pub fn card(&self, card_id: &str) -> Option<SandboxCard> {
        self.core.lock().card(card_id).cloned()
    }

    /// The card's actions, oldest first, each as `GET /cards/{id}/actions` shows it.
    pub fn card_actions(&self, card_id: &str) -> Vec<Value> {
        let m = self.core.lock();
        m.card_actions.get(card_id).cloned().unwrap_or_default()
    }

    pub fn lists(&self, board_id: &str) -> Vec<SandboxList> {
        self.core
            .lock()
            .lists
            .iter()
            .filter(|l| l.id_board == board_id)
            .cloned()
            .collect()
    }

    pub fn custom_fields(&self, board_id: &str) -> Vec<SandboxField> {
        self.core
            .lock()
            .fields
            .iter()
            .filter(|f| f.id_board == board_id)
            .cloned()
            .collect()
    }

    pub fn webhooks(&self) -> Vec<SandboxWebhook> {
        self.core.lock().webhooks.clone()
    }

    /// While true, deliveries are kept aside, to be sent late, twice or never by the test.
    pub fn hold_deliveries(&self, hold: bool) {
        self.core.deliveries.set_holding(hold);
    }

    /// The held deliveries, oldest first (no longer held).
    pub fn take_held_deliveries(&self) -> Vec<HeldDelivery> {
        self.core.deliveries.take_held()
    }

    /// Sends a held delivery now (again, if it was sent before).
    pub fn redeliver(&self, delivery: HeldDelivery) {
        self.core.deliveries.send(delivery);
    }

    /// While true, deliveries are recorded as dropped instead of sent (missed webhooks).
    pub fn drop_deliveries(&self, drop: bool) {
        self.core.deliveries.set_dropping(drop);
    }

    /// Waits, at most `timeout`, until every queued delivery has been sent or dropped.
    pub async fn wait_deliveries(&self, timeout: Duration) -> bool {
        self.core.deliveries.drained(timeout).await
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.core.deliveries.records()
    }
}

#[cfg(test)]
mod tests;
