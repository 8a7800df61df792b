//! Trello webhook deliveries (`{"model", "action"}`) parsed into the engine's board event
//! (`model::board::BoardEvent`). Trello's wire shapes, outside its folder because the door reads
//! them below the store (the action id is a delivery's dedupe key, the board its route), as the
//! Apps Script's `sheet_event.rs` is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::model::board::{ActionMeta, BoardEvent, CardDetail, CardOld, CardState};

#[derive(Debug, thiserror::Error)]
#[error("not a Trello action: {0}")]
pub struct EventParseError(String);

/// Parses the raw body of a webhook delivery. The error names the JSON path at fault
/// (`action: missing field `date``), since it is what a refused sender is told.
pub fn parse(body: &[u8]) -> Result<BoardEvent, EventParseError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let wire: WireDelivery = serde_path_to_error::deserialize(&mut json)
        .map_err(|e| EventParseError(describe(&e.path().to_string(), e.inner())))?;
    // Trailing bytes after the object are as malformed as a broken object.
    json.end().map_err(|e| EventParseError(describe(".", &e)))?;
    from_wire(wire)
}

fn from_wire(wire: WireDelivery) -> Result<BoardEvent, EventParseError> {
    let a = wire.action;
    let d = a.data;
    let meta = ActionMeta {
        action_id: a.id,
        date: a.date,
        member_creator_id: a.id_member_creator,
        board_id: d
            .board
            .map(|b| b.id)
            .or(wire.model.as_ref().map(|m| m.id.clone())),
        model_id: wire.model.map(|m| m.id),
    };
    let missing = |what: &str| EventParseError(format!("{} without data.{what}", a.kind));
    if let Some(detail) = detail(&a.kind) {
        let card_id = d.card.ok_or_else(|| missing("card"))?.id;
        let mut checklists: Vec<String> = d.checklist.and_then(|c| c.name).into_iter().collect();
        if a.kind == "updateChecklist" {
            checklists.extend(d.old.and_then(|o| o.name));
        }
        return Ok(BoardEvent::CardDetail {
            meta,
            card_id,
            detail,
            checklists,
        });
    }
    let list_id = d.list.map(|l| l.id);
    let event = match a.kind.as_str() {
        "createCard" => BoardEvent::CreateCard {
            meta,
            card: d.card.ok_or_else(|| missing("card"))?.into(),
            list_id,
        },
        "updateCard" => {
            let card: CardState = d.card.ok_or_else(|| missing("card"))?.into();
            let old = d.old.unwrap_or_default();
            let list_id = d
                .list_after
                .map(|l| l.id)
                .or(list_id)
                .or(card.list_id.clone());
            let list_before_id = d.list_before.map(|l| l.id).or(old.id_list.clone());
            let old = CardOld {
                name: old.name,
                desc: old.desc,
                list_id: old.id_list,
                closed: old.closed,
                due: old.due,
                due_complete: old.due_complete,
            };
            BoardEvent::UpdateCard {
                meta,
                card,
                list_id,
                list_before_id,
                old,
            }
        }
        "deleteCard" => BoardEvent::DeleteCard {
            meta,
            card_id: d.card.ok_or_else(|| missing("card"))?.id,
            list_id,
        },
        "updateCustomFieldItem" => {
            let card_id = d.card.ok_or_else(|| missing("card"))?.id;
            let field = d.custom_field.ok_or_else(|| missing("customField"))?;
            let text = d
                .custom_field_item
                .and_then(|i| i.value)
                .and_then(|v| v.text);
            let old_text = d.old.and_then(|o| o.value.flatten()).and_then(|v| v.text);
            BoardEvent::UpdateCustomFieldItem {
                meta,
                card_id,
                field_id: field.id,
                field_name: field.name,
                text,
                old_text,
            }
        }
        _ => BoardEvent::Other {
            meta,
            kind: a.kind,
            card_id: d.card.map(|c| c.id),
        },
    };
    Ok(event)
}
/// The card detail an action type changes: labels put on or taken off a card, and every change
/// to a card's checklists and their items (Trello's action names).
pub fn detail(kind: &str) -> Option<CardDetail> {
    match kind {
        "addLabelToCard" | "removeLabelFromCard" => Some(CardDetail::Labels),
        "addChecklistToCard"
        | "removeChecklistFromCard"
        | "updateChecklist"
        | "createCheckItem"
        | "updateCheckItem"
        | "updateCheckItemStateOnCard"
        | "deleteCheckItem" => Some(CardDetail::Checklists),
        _ => None,
    }
}

/// `path: error`, or the error alone when it is about the whole body.
fn describe(path: &str, error: &serde_json::Error) -> String {
    if path == "." {
        error.to_string()
    } else {
        format!("{path}: {error}")
    }
}

/// Tells a field that is present with `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct WireDelivery {
    #[serde(default)]
    model: Option<WireRef>,
    action: WireAction,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAction {
    id: String,
    id_member_creator: String,
    #[serde(rename = "type")]
    kind: String,
    date: DateTime<Utc>,
    #[serde(default)]
    data: WireData,
}

#[derive(Deserialize)]
struct WireRef {
    id: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireData {
    card: Option<WireActionCard>,
    list: Option<WireRef>,
    list_before: Option<WireRef>,
    list_after: Option<WireRef>,
    board: Option<WireRef>,
    old: Option<WireOld>,
    custom_field: Option<WireFieldRef>,
    custom_field_item: Option<WireActionItem>,
    checklist: Option<WireNamed>,
}

#[derive(Deserialize)]
struct WireNamed {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireActionCard {
    id: String,
    name: Option<String>,
    desc: Option<String>,
    id_list: Option<String>,
    closed: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    due: Option<Option<String>>,
    short_link: Option<String>,
}

impl From<WireActionCard> for CardState {
    fn from(c: WireActionCard) -> Self {
        Self {
            id: c.id,
            name: c.name,
            desc: c.desc,
            list_id: c.id_list,
            closed: c.closed,
            due: c.due,
            short_link: c.short_link,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOld {
    name: Option<String>,
    desc: Option<String>,
    id_list: Option<String>,
    closed: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    due: Option<Option<String>>,
    due_complete: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Option<WireText>>,
}

#[derive(Deserialize)]
struct WireFieldRef {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireActionItem {
    value: Option<WireText>,
}

#[derive(Deserialize)]
struct WireText {
    text: Option<String>,
}

#[cfg(test)]
mod tests;
