//! Custom field items on cards, one at a time (`PUT /cards/{id}/customField/{field}/item`) or
//! several in one call (`PUT /cards/{id}/customFields`). Both validate the same way and record
//! one `updateCustomFieldItem` action per item whose value changed, as Trello does.

use chrono::Utc;
use serde_json::{Value, json};

use super::actions::{Action, card_ref};
use super::model::{self, Model, SandboxCard, SandboxField};
use super::ops::{ApiError, MAX_TEXT, Params, action};

/// PUT `/cards/{id}/customField/{field}/item`: `{"value": {"text": …}}` sets, `""`/`{}` clear.
pub fn set_item(
    m: &mut Model,
    actor: &str,
    card_id: &str,
    field_id: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let card = m.card(card_id).cloned().ok_or_else(ApiError::not_found)?;
    let field = board_field(m, &card, field_id)?;
    let text = item_text(&field, p.get("value"))?;
    let (item, act) = apply(m, actor, &card, &field, text);
    Ok((item, act.into_iter().collect()))
}

/// PUT `/cards/{id}/customFields` with `{"customFieldItems": [{"idCustomField": …, "value": …}]}`:
/// each item as the single-item endpoint takes it. Every item is checked before any is applied,
/// so a batch with one bad item changes nothing; a field named twice is refused. Answers the
/// items as they now are.
pub fn set_items(
    m: &mut Model,
    actor: &str,
    card_id: &str,
    p: &Params,
) -> Result<(Value, Vec<Action>), ApiError> {
    let card = m.card(card_id).cloned().ok_or_else(ApiError::not_found)?;
    let Some(Value::Array(items)) = p.get("customFieldItems") else {
        return Err(ApiError::invalid("customFieldItems"));
    };
    let mut writes: Vec<(SandboxField, Option<String>)> = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(item) = item else {
            return Err(ApiError::invalid("customFieldItems"));
        };
        let Some(Value::String(field_id)) = item.get("idCustomField") else {
            return Err(ApiError::invalid("idCustomField"));
        };
        if writes.iter().any(|(f, _)| f.id == *field_id) {
            return Err(ApiError::invalid("customFieldItems"));
        }
        let field = board_field(m, &card, field_id)?;
        let text = item_text(&field, item.get("value"))?;
        writes.push((field, text));
    }
    let mut answer = Vec::with_capacity(writes.len());
    let mut acts = Vec::new();
    for (field, text) in writes {
        let (item, act) = apply(m, actor, &card, &field, text);
        answer.push(item);
        acts.extend(act);
    }
    Ok((Value::Array(answer), acts))
}

/// A custom field of the card's board; a field of another board is as unknown as a missing one.
fn board_field(m: &Model, card: &SandboxCard, field_id: &str) -> Result<SandboxField, ApiError> {
    match m.field(field_id) {
        Some(f) if f.id_board == card.id_board => Ok(f.clone()),
        _ => Err(ApiError::not_found()),
    }
}

/// The text an item's `value` leaves in a text field: `None` clears it.
fn item_text(field: &SandboxField, value: Option<&Value>) -> Result<Option<String>, ApiError> {
    match value {
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::Object(o)) if o.is_empty() => Ok(None),
        Some(Value::Object(o)) if field.field_type == "text" => match o.get("text") {
            Some(Value::String(s)) if s.chars().count() <= MAX_TEXT => {
                Ok(Some(s.clone()).filter(|s| !s.is_empty()))
            }
            _ => Err(ApiError::invalid("value")),
        },
        _ => Err(ApiError::invalid("value")),
    }
}

/// Writes one item; the action only when its value changed (a repeated write records nothing).
fn apply(
    m: &mut Model,
    actor: &str,
    card: &SandboxCard,
    field: &SandboxField,
    text: Option<String>,
) -> (Value, Option<Action>) {
    let old = m
        .card(&card.id)
        .and_then(|c| c.custom_texts.get(&field.id).cloned());
    let key = (card.id.clone(), field.id.clone());
    let item_id = match m.item_ids.get(&key) {
        Some(id) => id.clone(),
        None => m.new_id(),
    };
    let item = model::item_json(&item_id, &card.id, &field.id, text.as_deref());
    if old == text {
        return (item, None);
    }
    if let Some(c) = m.card_mut(&card.id) {
        match &text {
            Some(t) => c.custom_texts.insert(field.id.clone(), t.clone()),
            None => c.custom_texts.remove(&field.id),
        };
        c.date_last_activity = Utc::now();
    }
    match text {
        Some(_) => m.item_ids.insert(key, item_id),
        None => m.item_ids.remove(&key),
    };
    let data = json!({"card": card_ref(card),
        "customField": {"id": field.id, "name": field.name, "type": field.field_type},
        "customFieldItem": item, "old": {"value": old.map(|t| json!({"text": t}))}});
    let act = action(m, &card.id_board, actor, "updateCustomFieldItem", data);
    (item, Some(act))
}

#[cfg(test)]
#[path = "tests_items.rs"]
mod tests;
