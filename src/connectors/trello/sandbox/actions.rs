//! Trello action JSON as webhooks deliver it: `{"model": board, "action": {…}}`, shaped like the
//! recorded deliveries in `tests/fixtures/trello/`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{Model, SandboxCard, SandboxList, board_json, member_json, trello_date};

pub fn card_ref(c: &SandboxCard) -> Value {
    json!({"id": c.id, "name": c.name, "idShort": c.id_short, "shortLink": c.short_link})
}

pub fn list_ref(l: &SandboxList) -> Value {
    json!({"id": l.id, "name": l.name})
}

pub fn list_ref_by_id(model: &Model, id: &str) -> Value {
    model.list(id).map_or_else(|| json!({"id": id}), list_ref)
}

fn board_ref(model: &Model, board_id: &str) -> Value {
    model.board(board_id).map_or_else(
        || json!({"id": board_id}),
        |b| json!({"id": b.id, "name": b.name, "shortLink": b.short_link}),
    )
}

fn translation_key(kind: &str, data: &Value) -> &'static str {
    let old = &data["old"];
    match kind {
        "createCard" => "action_create_card",
        "deleteCard" => "action_delete_card",
        "createList" => "action_added_list_to_board",
        "updateCustomFieldItem" => "action_update_custom_field_item",
        "createCustomField" => "action_create_custom_field",
        "updateCard" if old.get("idList").is_some() => "action_move_card_from_list_to_list",
        "updateCard" if old.get("closed") == Some(&Value::Bool(false)) => "action_archived_card",
        "updateCard" if old.get("closed").is_some() => "action_sent_card_to_board",
        "updateCard" if old.get("name").is_some() => "action_renamed_card",
        "updateCard" if old.get("desc").is_some() => "action_changed_description_of_card",
        "updateCard" if old.get("due").is_some() => "action_changed_a_due_date",
        _ => "action_generic",
    }
}

/// One action on a board, with `data.board` filled in; `data` holds the rest (card, list, old …).
pub struct Action {
    pub id: String,
    pub board_id: String,
    pub body: Value,
}

pub fn build(
    model: &Model,
    action_id: String,
    board_id: &str,
    actor_id: &str,
    kind: &str,
    mut data: Value,
    at: DateTime<Utc>,
) -> Action {
    data["board"] = board_ref(model, board_id);
    let member = model
        .member(actor_id)
        .map(member_json)
        .unwrap_or_else(|| json!({"id": actor_id}));
    let mut entities = json!({"memberCreator": {"type": "member", "id": actor_id,
        "username": member["username"], "text": member["fullName"]}});
    if let Some(card) = data.get("card") {
        entities["card"] = json!({"type": "card", "id": card["id"], "shortLink": card["shortLink"],
            "text": card["name"]});
    }
    let display = json!({"translationKey": translation_key(kind, &data), "entities": entities});
    let model_json = model
        .board(board_id)
        .map(board_json)
        .unwrap_or_else(|| json!({"id": board_id}));
    let body = json!({
        "model": model_json,
        "action": {"id": action_id, "idMemberCreator": actor_id, "data": data, "type": kind,
            "date": trello_date(at), "appCreator": null, "limits": {}, "display": display,
            "memberCreator": member}
    });
    Action {
        id: action_id,
        board_id: board_id.to_owned(),
        body,
    }
}

/// Whether an action passes a `filter` of `GET /cards/{id}/actions`: comma-separated action
/// types, each optionally narrowed to one changed field (`updateCard:closed` is an update whose
/// `data.old` holds `closed`); `all` passes everything.
pub fn matches_filter(action: &Value, filter: &str) -> bool {
    filter.split(',').map(str::trim).any(|f| {
        let (kind, field) = f.split_once(':').map_or((f, None), |(k, v)| (k, Some(v)));
        kind == "all"
            || (action["type"] == kind
                && field.is_none_or(|field| action["data"]["old"].get(field).is_some()))
    })
}
