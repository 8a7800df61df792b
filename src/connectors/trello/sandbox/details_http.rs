//! The REST endpoints of labels and checklists (`details.rs`), and the same changes made as the
//! sandbox's user (`user_*`), with reads of what the boards hold for tests.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::TrelloSandbox;
use super::details;
use super::model::{SandboxChecklist, SandboxLabel, label_json};
use super::ops::{self, ApiError, params as object};
use super::request::{Ctx, Q, check_id};
use super::writes::params;

type Answer = Result<Json<Value>, ApiError>;

pub async fn board_labels(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    check_id(&id)?;
    let m = ctx.core.lock();
    let board = m.board(&id).ok_or_else(ApiError::not_found)?;
    let labels = (m.labels.iter())
        .filter(|l| l.id_board == board.id)
        .map(label_json);
    Ok(Json(Value::Array(labels.collect())))
}

pub async fn create_label(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    ctx.core
        .change(|m| details::create_label(m, &id, &p))
        .map(Json)
}

pub async fn add_label(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::add_label(m, actor, &id, &p))
        .map(Json)
}

pub async fn remove_label(
    State(ctx): State<Ctx>,
    Path((id, label)): Path<(String, String)>,
) -> Answer {
    check_id(&id)?;
    check_id(&label)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::remove_label(m, actor, &id, &label))
        .map(Json)
}

pub async fn create_checklist(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::create_checklist(m, actor, &id, &p))
        .map(Json)
}

pub async fn update_checklist(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::update_checklist(m, actor, &id, &p))
        .map(Json)
}

pub async fn delete_checklist(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    check_id(&id)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::delete_checklist(m, actor, &id))
        .map(Json)
}

pub async fn create_item(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::create_item(m, actor, &id, &p))
        .map(Json)
}

pub async fn update_item(
    State(ctx): State<Ctx>,
    Path((id, item)): Path<(String, String)>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    check_id(&item)?;
    let p = params(q, &body)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::update_item(m, actor, &id, &item, &p))
        .map(Json)
}

pub async fn delete_item(
    State(ctx): State<Ctx>,
    Path((id, item)): Path<(String, String)>,
) -> Answer {
    check_id(&id)?;
    check_id(&item)?;
    let actor = &ctx.api_member_id;
    ctx.core
        .change(|m| details::delete_item(m, actor, &id, &item))
        .map(Json)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// The same changes made by the sandbox's user, as a person would in Trello.
impl TrelloSandbox {
    /// A new label on a board, silently (Trello records no card action for it).
    pub fn user_create_label(
        &self,
        board_id: &str,
        name: &str,
        color: Option<&str>,
    ) -> Result<String, ApiError> {
        let p = object(json!({"name": name, "color": color}));
        let label = (self.core).change(|m| details::create_label(m, board_id, &p))?;
        Ok(id_of(&label))
    }

    /// Puts a label on a card (`on`) or takes it off.
    pub fn user_card_label(&self, card_id: &str, label: &str, on: bool) -> Result<(), ApiError> {
        let actor = &self.user_member_id;
        let p = object(json!({"value": label}));
        (self.core)
            .change(|m| match on {
                true => details::add_label(m, actor, card_id, &p),
                false => details::remove_label(m, actor, card_id, label),
            })
            .map(drop)
    }

    /// Sets the due date (`Some(None)` removes it) and/or whether it is complete.
    pub fn user_set_due(
        &self,
        card_id: &str,
        due: Option<Option<&str>>,
        complete: Option<bool>,
    ) -> Result<(), ApiError> {
        let mut p = ops::Params::new();
        if let Some(due) = due {
            p.insert("due".into(), json!(due));
        }
        if let Some(c) = complete {
            p.insert("dueComplete".into(), json!(c));
        }
        let actor = &self.user_member_id;
        (self.core)
            .change(|m| ops::update_card(m, actor, card_id, &p))
            .map(drop)
    }

    pub fn user_add_checklist(&self, card_id: &str, name: &str) -> Result<String, ApiError> {
        let p = object(json!({"name": name}));
        let actor = &self.user_member_id;
        let list = (self.core).change(|m| details::create_checklist(m, actor, card_id, &p))?;
        Ok(id_of(&list))
    }

    pub fn user_rename_checklist(&self, id: &str, name: &str) -> Result<(), ApiError> {
        let p = object(json!({"name": name}));
        let actor = &self.user_member_id;
        (self.core)
            .change(|m| details::update_checklist(m, actor, id, &p))
            .map(drop)
    }

    pub fn user_remove_checklist(&self, id: &str) -> Result<(), ApiError> {
        let actor = &self.user_member_id;
        (self.core)
            .change(|m| details::delete_checklist(m, actor, id))
            .map(drop)
    }

    pub fn user_add_item(&self, checklist: &str, name: &str) -> Result<String, ApiError> {
        let p = object(json!({"name": name}));
        let actor = &self.user_member_id;
        let item = (self.core).change(|m| details::create_item(m, actor, checklist, &p))?;
        Ok(id_of(&item))
    }

    /// Renames an item and/or checks (`Some(true)`) or unchecks it.
    pub fn user_update_item(
        &self,
        card_id: &str,
        item: &str,
        name: Option<&str>,
        complete: Option<bool>,
    ) -> Result<(), ApiError> {
        let mut p = ops::Params::new();
        if let Some(n) = name {
            p.insert("name".into(), json!(n));
        }
        if let Some(c) = complete {
            let state = if c { "complete" } else { "incomplete" };
            p.insert("state".into(), json!(state));
        }
        let actor = &self.user_member_id;
        (self.core)
            .change(|m| details::update_item(m, actor, card_id, item, &p))
            .map(drop)
    }

    pub fn user_remove_item(&self, checklist: &str, item: &str) -> Result<(), ApiError> {
        let actor = &self.user_member_id;
        (self.core)
            .change(|m| details::delete_item(m, actor, checklist, item))
            .map(drop)
    }

    /// A board's labels, in creation order.
    pub fn labels(&self, board_id: &str) -> Vec<SandboxLabel> {
        let m = self.core.lock();
        (m.labels.iter())
            .filter(|l| l.id_board == board_id)
            .cloned()
            .collect()
    }

    /// The names of a card's labels, in the order they were put on.
    pub fn card_label_names(&self, card_id: &str) -> Vec<String> {
        let m = self.core.lock();
        let Some(card) = m.card(card_id) else {
            return Vec::new();
        };
        m.labels_of(card)
            .into_iter()
            .map(|l| l.name.clone())
            .collect()
    }

    /// A card's checklists, in position order (their items as stored; sort by `pos`).
    pub fn checklists(&self, card_id: &str) -> Vec<SandboxChecklist> {
        let m = self.core.lock();
        m.checklists_of(card_id).into_iter().cloned().collect()
    }
}
