//! Every change to the emulated board, shared by the REST handlers and the `user_*` methods:
//! validation with Trello's error texts, the change itself, and the actions it delivers.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::actions::{self, Action, card_ref, list_ref, list_ref_by_id};
use super::delivery::Deliveries;
use super::model::{self, Model, SandboxCard, SandboxField, SandboxList};

pub const NOT_FOUND: &str = "The requested resource was not found.";
/// Trello's limit on card names and descriptions.
pub(super) const MAX_TEXT: usize = 16384;

/// An error answered the way Trello does: a status and a short plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("invalid value for {field}"),
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.message).into_response();
        let plain = axum::http::HeaderValue::from_static("text/plain; charset=utf-8");
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, plain);
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type Params = Map<String, Value>;

/// The parameters of a JSON object (the `user_*` methods build theirs so); anything else has none.
pub fn params(v: Value) -> Params {
    match v {
        Value::Object(map) => map,
        _ => Params::new(),
    }
}

/// The emulator's state and its delivery queue, shared by the server and the sandbox handle.
pub struct Core {
    pub model: Mutex<Model>,
    pub deliveries: Deliveries,
}

impl Core {
    pub fn new(model: Model, deliveries: Deliveries) -> Arc<Self> {
        Arc::new(Self {
            model: Mutex::new(model),
            deliveries,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one change under the lock and queues its actions to the board's webhooks in order.
    pub fn change<T>(
        &self,
        op: impl FnOnce(&mut Model) -> Result<(T, Vec<Action>), ApiError>,
    ) -> Result<T, ApiError> {
        let mut model = self.lock();
        let (out, actions) = op(&mut model)?;
        for action in actions {
            if let Some(card) = action.body["action"]["data"]["card"]["id"].as_str() {
                let log = model.card_actions.entry(card.to_owned()).or_default();
                log.push(action.body["action"].clone());
            }
            let Ok(body) = serde_json::to_vec(&action.body) else {
                continue;
            };
            let kind = action.body["action"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let card_id = action.body["action"]["data"]["card"]["id"]
                .as_str()
                .map(str::to_owned);
            for hook in model.webhooks.iter().filter(|w| w.active) {
                let watches =
                    hook.id_model == action.board_id || Some(&hook.id_model) == card_id.as_ref();
                if watches {
                    self.deliveries
                        .enqueue(&hook.callback_url, body.clone(), &action.id, &kind);
                }
            }
        }
        Ok(out)
    }
}

pub(super) fn text_param(p: &Params, field: &str) -> Result<Option<String>, ApiError> {
    match p.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(field)),
    }
}

pub(super) fn bool_param(p: &Params, field: &str) -> Result<Option<bool>, ApiError> {
    match p.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(ApiError::invalid(field)),
    }
}

/// `due`: an RFC 3339 date, or null / "" to remove it.
fn due_param(p: &Params) -> Result<Option<Option<String>>, ApiError> {
    match p.get("due") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.is_empty() || s == "null" => Ok(Some(None)),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Some(Some(model::trello_date(d.with_timezone(&Utc)))))
            .map_err(|_| ApiError::invalid("due")),
        Some(_) => Err(ApiError::invalid("due")),
    }
}

pub(super) fn action(m: &mut Model, board: &str, actor: &str, kind: &str, data: Value) -> Action {
    let id = m.new_id();
    actions::build(m, id, board, actor, kind, data, Utc::now())
}

pub fn create_card(
    m: &mut Model,
    actor: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let id_list = text_param(p, "idList")?.ok_or_else(|| ApiError::invalid("idList"))?;
    let list = m
        .list(&id_list)
        .cloned()
        .ok_or_else(|| ApiError::invalid("idList"))?;
    let name = text_param(p, "name")?.unwrap_or_default();
    let desc = text_param(p, "desc")?.unwrap_or_default();
    let due = due_param(p)?.flatten();
    let siblings = m
        .cards
        .iter()
        .filter(|c| c.id_list == list.id)
        .map(|c| c.pos);
    let pos = Model::position(p.get("pos"), siblings).ok_or_else(|| ApiError::invalid("pos"))?;
    let card = SandboxCard {
        id: m.new_id(),
        id_board: list.id_board.clone(),
        id_list: list.id.clone(),
        name,
        desc,
        closed: false,
        due,
        pos,
        short_link: model::short_link(),
        id_short: m.next_id_short(&list.id_board),
        date_last_activity: Utc::now(),
        custom_texts: Default::default(),
        due_complete: false,
        id_labels: Vec::new(),
    };
    m.cards.push(card.clone());
    let data = json!({"card": card_ref(&card), "list": list_ref(&list)});
    let act = action(m, &list.id_board, actor, "createCard", data);
    Ok((model::card_json(m, &card, false), vec![act]))
}

/// Applies the given fields; one `updateCard` action per changed field, as Trello records them.
pub fn update_card(
    m: &mut Model,
    actor: &str,
    id: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let before = m.card(id).cloned().ok_or_else(ApiError::not_found)?;
    let name = text_param(p, "name")?;
    let desc = text_param(p, "desc")?;
    let closed = bool_param(p, "closed")?;
    let due = due_param(p)?;
    let due_complete = bool_param(p, "dueComplete")?;
    let id_list = text_param(p, "idList")?;
    let id_labels = text_param(p, "idLabels")?;
    let id_labels = (id_labels.as_deref())
        .map(|ids| {
            super::details::labels::label_ids(m, &before, ids)
                .ok_or_else(|| ApiError::invalid("idLabels"))
        })
        .transpose()?;
    if let Some(l) = &id_list {
        let ok = m.list(l).is_some_and(|l| l.id_board == before.id_board);
        if !ok {
            return Err(ApiError::invalid("idList"));
        }
    }
    let mut acts = Vec::new();
    let mut after = before.clone();
    let list_now = list_ref_by_id(m, &before.id_list);
    let mut field = |m: &mut Model, key: &str, new: Value, old: Value, after: &SandboxCard| {
        let mut card = card_ref(after);
        card[key] = new;
        let data = json!({"card": card, "old": {key: old}, "list": list_now.clone()});
        acts.push(action(m, &after.id_board, actor, "updateCard", data));
    };
    if let Some(n) = name.filter(|n| *n != before.name) {
        after.name = n.clone();
        field(m, "name", json!(n), json!(before.name), &after);
    }
    if let Some(d) = desc.filter(|d| *d != before.desc) {
        after.desc = d.clone();
        field(m, "desc", json!(d), json!(before.desc), &after);
    }
    if let Some(c) = closed.filter(|c| *c != before.closed) {
        after.closed = c;
        field(m, "closed", json!(c), json!(before.closed), &after);
    }
    if let Some(d) = due.filter(|d| *d != before.due) {
        after.due = d.clone();
        field(m, "due", json!(d), json!(before.due), &after);
    }
    if let Some(c) = due_complete.filter(|c| *c != before.due_complete) {
        after.due_complete = c;
        field(
            m,
            "dueComplete",
            json!(c),
            json!(before.due_complete),
            &after,
        );
    }
    if let Some(l) = id_list.filter(|l| *l != before.id_list) {
        after.id_list = l.clone();
        let siblings = m.cards.iter().filter(|c| c.id_list == l).map(|c| c.pos);
        after.pos = Model::position(None, siblings).unwrap_or(after.pos);
        let mut card = card_ref(&after);
        card["idList"] = json!(l);
        let data = json!({"card": card, "old": {"idList": before.id_list},
            "listBefore": list_ref_by_id(m, &before.id_list), "listAfter": list_ref_by_id(m, &l)});
        acts.push(action(m, &after.id_board, actor, "updateCard", data));
    }
    if let Some(want) = id_labels {
        acts.extend(super::details::labels::relabel(m, actor, &after, &want));
        after.id_labels = want;
    }
    if !acts.is_empty() {
        after.date_last_activity = Utc::now();
    }
    if let Some(card) = m.card_mut(id) {
        *card = after.clone();
    }
    Ok((model::card_json(m, &after, false), acts))
}

pub fn delete_card(m: &mut Model, actor: &str, id: &str) -> Result<(Value, Vec<Action>), ApiError> {
    let card = m.card(id).cloned().ok_or_else(ApiError::not_found)?;
    m.cards.retain(|c| c.id != card.id);
    m.item_ids.retain(|(c, _), _| *c != card.id);
    m.checklists.retain(|l| l.id_card != card.id);
    let data = json!({"card": {"id": card.id, "idShort": card.id_short, "shortLink": card.short_link},
        "list": list_ref_by_id(m, &card.id_list)});
    let act = action(m, &card.id_board, actor, "deleteCard", data);
    Ok((json!({"limits": {}}), vec![act]))
}

pub fn create_list(
    m: &mut Model,
    actor: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let name = text_param(p, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name"))?;
    let board_id = text_param(p, "idBoard")?.ok_or_else(|| ApiError::invalid("idBoard"))?;
    let board = m
        .board(&board_id)
        .cloned()
        .ok_or_else(|| ApiError::invalid("idBoard"))?;
    let siblings = m
        .lists
        .iter()
        .filter(|l| l.id_board == board.id)
        .map(|l| l.pos);
    let pos = Model::position(p.get("pos"), siblings).ok_or_else(|| ApiError::invalid("pos"))?;
    let list = SandboxList {
        id: m.new_id(),
        id_board: board.id.clone(),
        name,
        closed: false,
        pos,
    };
    m.lists.push(list.clone());
    let act = action(
        m,
        &board.id,
        actor,
        "createList",
        json!({"list": list_ref(&list)}),
    );
    Ok((model::list_json(&list), vec![act]))
}

pub fn create_field(
    m: &mut Model,
    actor: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let board_id = text_param(p, "idModel")?.ok_or_else(|| ApiError::invalid("idModel"))?;
    let board = m
        .board(&board_id)
        .cloned()
        .ok_or_else(|| ApiError::invalid("idModel"))?;
    let name = text_param(p, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name"))?;
    let field_type = text_param(p, "type")?.unwrap_or_default();
    if !["text", "number", "date", "checkbox", "list"].contains(&field_type.as_str()) {
        return Err(ApiError::invalid("type"));
    }
    let siblings = m
        .fields
        .iter()
        .filter(|f| f.id_board == board.id)
        .map(|f| f.pos);
    let pos = Model::position(p.get("pos"), siblings).ok_or_else(|| ApiError::invalid("pos"))?;
    let field = SandboxField {
        id: m.new_id(),
        id_board: board.id.clone(),
        name,
        field_type,
        pos,
    };
    m.fields.push(field.clone());
    let data =
        json!({"customField": {"id": field.id, "name": field.name, "type": field.field_type}});
    let act = action(m, &board.id, actor, "createCustomField", data);
    Ok((model::field_json(&field), vec![act]))
}
