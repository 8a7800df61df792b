//! A card's labels and checklists in the emulator: a board's labels, labels put on and taken off
//! cards, checklists and their items, each change recording the action Trello delivers for it
//! (`addLabelToCard`, `addChecklistToCard`, `createCheckItem`, `updateCheckItemStateOnCard` …).

use serde_json::{Value, json};

use super::actions::{Action, card_ref};
use super::model::{
    self, Model, SandboxCard, SandboxCheckItem, SandboxChecklist, SandboxLabel, checklist_json,
};
use super::ops::{ApiError, Params, action, bool_param, text_param};

pub(super) mod labels;
use labels::label_action;

type Change = Result<(Value, Vec<Action>), ApiError>;

/// Trello's label colours, each also in a `_light` and a `_dark` shade; `null` is colourless.
const COLORS: [&str; 10] = [
    "green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black",
];

fn color_param(p: &Params) -> Result<Option<String>, ApiError> {
    match p.get("color") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() || s == "null" => Ok(None),
        Some(Value::String(s)) => {
            let base = s.trim_end_matches("_light").trim_end_matches("_dark");
            if COLORS.contains(&base) {
                Ok(Some(s.clone()))
            } else {
                Err(ApiError::invalid("color"))
            }
        }
        Some(_) => Err(ApiError::invalid("color")),
    }
}

/// POST `/boards/{id}/labels` (`name`, `color`): a new label, even if one of that name exists.
pub fn create_label(m: &mut Model, board_id: &str, p: &Params) -> Change {
    let board = m.board(board_id).cloned().ok_or_else(ApiError::not_found)?;
    let name = text_param(p, "name")?.unwrap_or_default();
    let label = SandboxLabel {
        id: m.new_id(),
        id_board: board.id,
        name,
        color: color_param(p)?,
    };
    m.labels.push(label.clone());
    Ok((model::label_json(&label), Vec::new()))
}

fn card_of(m: &Model, card_id: &str) -> Result<SandboxCard, ApiError> {
    m.card(card_id).cloned().ok_or_else(ApiError::not_found)
}

/// POST `/cards/{id}/idLabels` (`value`: a label of the card's board); answers the card's ids.
pub fn add_label(m: &mut Model, actor: &str, card_id: &str, p: &Params) -> Change {
    let card = card_of(m, card_id)?;
    let label = text_param(p, "value")?.ok_or_else(|| ApiError::invalid("value"))?;
    let on_board = (m.labels.iter()).any(|l| l.id == label && l.id_board == card.id_board);
    if !on_board {
        return Err(ApiError::invalid("value"));
    }
    if card.id_labels.contains(&label) {
        let msg = "that label is already on the card";
        return Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, msg));
    }
    let act = label_action(m, actor, &card, &label, "addLabelToCard");
    let c = m.card_mut(&card.id).ok_or_else(ApiError::not_found)?;
    c.id_labels.push(label);
    Ok((json!(c.id_labels), vec![act]))
}

/// DELETE `/cards/{id}/idLabels/{label}`; a label that is not on the card changes nothing.
pub fn remove_label(m: &mut Model, actor: &str, card_id: &str, label: &str) -> Change {
    let card = card_of(m, card_id)?;
    if !card.id_labels.iter().any(|l| l == label) {
        return Ok((json!([]), Vec::new()));
    }
    let act = label_action(m, actor, &card, label, "removeLabelFromCard");
    let c = m.card_mut(&card.id).ok_or_else(ApiError::not_found)?;
    c.id_labels.retain(|l| l != label);
    Ok((json!([]), vec![act]))
}

fn checklist_ref(l: &SandboxChecklist) -> Value {
    json!({"id": l.id, "name": l.name})
}

fn item_ref(i: &SandboxCheckItem) -> Value {
    let state = if i.complete { "complete" } else { "incomplete" };
    json!({"id": i.id, "name": i.name, "state": state, "textData": {"emoji": {}}})
}

/// The action of a checklist change, with its card (`data.card`) and checklist.
fn list_action(
    m: &mut Model,
    actor: &str,
    list: &SandboxChecklist,
    kind: &str,
    mut data: Value,
) -> Result<Action, ApiError> {
    let card = card_of(m, &list.id_card)?;
    data["card"] = card_ref(&card);
    data["checklist"] = checklist_ref(list);
    Ok(action(m, &card.id_board, actor, kind, data))
}

/// POST `/cards/{id}/checklists` (`name`, `pos`).
pub fn create_checklist(m: &mut Model, actor: &str, card_id: &str, p: &Params) -> Change {
    let card = card_of(m, card_id)?;
    let name = text_param(p, "name")?.unwrap_or_default();
    let siblings = m
        .checklists_of(&card.id)
        .iter()
        .map(|l| l.pos)
        .collect::<Vec<_>>();
    let pos = Model::position(p.get("pos"), siblings.into_iter())
        .ok_or_else(|| ApiError::invalid("pos"))?;
    let list = SandboxChecklist {
        id: m.new_id(),
        id_board: card.id_board.clone(),
        id_card: card.id.clone(),
        name,
        pos,
        items: Vec::new(),
    };
    m.checklists.push(list.clone());
    let act = list_action(m, actor, &list, "addChecklistToCard", json!({}))?;
    Ok((checklist_json(&list), vec![act]))
}

fn checklist_mut<'a>(m: &'a mut Model, id: &str) -> Result<&'a mut SandboxChecklist, ApiError> {
    (m.checklists.iter_mut())
        .find(|l| l.id == id)
        .ok_or_else(ApiError::not_found)
}

/// PUT `/checklists/{id}` (`name`): `updateChecklist` with the old name.
pub fn update_checklist(m: &mut Model, actor: &str, id: &str, p: &Params) -> Change {
    let name = text_param(p, "name")?;
    let list = checklist_mut(m, id)?;
    let old = list.name.clone();
    let Some(name) = name.filter(|n| *n != old) else {
        return Ok((checklist_json(list), Vec::new()));
    };
    list.name = name;
    let list = list.clone();
    let act = list_action(
        m,
        actor,
        &list,
        "updateChecklist",
        json!({"old": {"name": old}}),
    )?;
    Ok((checklist_json(&list), vec![act]))
}

/// DELETE `/checklists/{id}`: the checklist and its items.
pub fn delete_checklist(m: &mut Model, actor: &str, id: &str) -> Change {
    let list = checklist_mut(m, id)?.clone();
    let act = list_action(m, actor, &list, "removeChecklistFromCard", json!({}))?;
    m.checklists.retain(|l| l.id != list.id);
    Ok((json!({"limits": {}}), vec![act]))
}

/// POST `/checklists/{id}/checkItems` (`name`, `checked`, `pos`).
pub fn create_item(m: &mut Model, actor: &str, id: &str, p: &Params) -> Change {
    let name = text_param(p, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name"))?;
    let complete = bool_param(p, "checked")?.unwrap_or(false);
    let item_id = m.new_id();
    let list = checklist_mut(m, id)?;
    let pos = Model::position(p.get("pos"), list.items.iter().map(|i| i.pos))
        .ok_or_else(|| ApiError::invalid("pos"))?;
    let item = SandboxCheckItem {
        id: item_id,
        name,
        complete,
        pos,
    };
    list.items.push(item.clone());
    let list = list.clone();
    let data = json!({"checkItem": item_ref(&item)});
    let act = list_action(m, actor, &list, "createCheckItem", data)?;
    Ok((model::check_item_json(&list, &item), vec![act]))
}

/// The checklist holding an item of a card.
fn item_list(m: &Model, card_id: &str, item: &str) -> Result<SandboxChecklist, ApiError> {
    let card = card_of(m, card_id)?;
    (m.checklists_of(&card.id).into_iter())
        .find(|l| l.items.iter().any(|i| i.id == item))
        .cloned()
        .ok_or_else(ApiError::not_found)
}

/// PUT `/cards/{card}/checkItem/{item}` (`name`, `state`): `updateCheckItem` for a new name,
/// `updateCheckItemStateOnCard` for a new state.
pub fn update_item(m: &mut Model, actor: &str, card_id: &str, item: &str, p: &Params) -> Change {
    let name = text_param(p, "name")?.filter(|n| !n.trim().is_empty());
    let state = match text_param(p, "state")?.as_deref() {
        None => None,
        Some("complete" | "true") => Some(true),
        Some("incomplete" | "false") => Some(false),
        Some(_) => return Err(ApiError::invalid("state")),
    };
    let list = item_list(m, card_id, item)?;
    let entry = checklist_mut(m, &list.id)?;
    let it = (entry.items.iter_mut())
        .find(|i| i.id == item)
        .ok_or_else(ApiError::not_found)?;
    let old = it.clone();
    if let Some(n) = &name {
        it.name.clone_from(n);
    }
    if let Some(s) = state {
        it.complete = s;
    }
    let now = it.clone();
    let list = entry.clone();
    let mut acts = Vec::new();
    if now.name != old.name {
        let data = json!({"checkItem": item_ref(&now), "old": {"name": old.name}});
        acts.push(list_action(m, actor, &list, "updateCheckItem", data)?);
    }
    if now.complete != old.complete {
        let data = json!({"checkItem": item_ref(&now)});
        acts.push(list_action(
            m,
            actor,
            &list,
            "updateCheckItemStateOnCard",
            data,
        )?);
    }
    Ok((model::check_item_json(&list, &now), acts))
}

/// DELETE `/checklists/{id}/checkItems/{item}`.
pub fn delete_item(m: &mut Model, actor: &str, id: &str, item: &str) -> Change {
    let list = checklist_mut(m, id)?;
    let gone = (list.items.iter())
        .find(|i| i.id == item)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    list.items.retain(|i| i.id != item);
    let list = list.clone();
    let act = list_action(
        m,
        actor,
        &list,
        "deleteCheckItem",
        json!({"checkItem": item_ref(&gone)}),
    )?;
    Ok((json!({"limits": {}}), vec![act]))
}

/// A card's JSON gains its checklists (`checklists=all` on a card read).
pub fn with_checklists(m: &Model, card_id: &str, card: &mut Value) {
    let lists = m.checklists_of(card_id).into_iter().map(checklist_json);
    card["checklists"] = Value::Array(lists.collect());
}
