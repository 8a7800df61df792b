//! Trello webhook deliveries (`{"model", "action"}`) parsed into a typed event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// What every action carries, whatever its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionMeta {
    /// Unique per action: the idempotency key of a delivery.
    pub action_id: String,
    /// When the change happened, by Trello's clock.
    pub date: DateTime<Utc>,
    /// Who made the change: the token's member for our own writes.
    pub member_creator_id: String,
    /// `action.data.board.id`, else the webhook's model.
    pub board_id: Option<String>,
    /// The webhook's model (`model.id`): the board the webhook was registered for.
    pub model_id: Option<String>,
}

/// The card as the action describes it: id always, other fields only when the action shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardState {
    pub id: String,
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    pub closed: Option<bool>,
    /// `Some(None)`: the action shows the due date as removed.
    pub due: Option<Option<String>>,
    pub short_link: Option<String>,
}

/// Values before an update; only the fields that changed are `Some`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardOld {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub id_list: Option<String>,
    pub closed: Option<bool>,
    pub due: Option<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrelloEvent {
    CreateCard {
        meta: ActionMeta,
        card: CardState,
        list_id: Option<String>,
    },
    UpdateCard {
        meta: ActionMeta,
        card: CardState,
        /// The card's list after the change (`listAfter`, else `list`, else `card.idList`).
        list_id: Option<String>,
        /// Set when the card moved.
        list_before_id: Option<String>,
        old: CardOld,
    },
    DeleteCard {
        meta: ActionMeta,
        card_id: String,
        list_id: Option<String>,
    },
    UpdateCustomFieldItem {
        meta: ActionMeta,
        card_id: String,
        field_id: String,
        field_name: Option<String>,
        /// The new text; `None` when cleared (or not a text field).
        text: Option<String>,
        old_text: Option<String>,
    },
    /// Any other action type (comments, labels …), kept so it can be acknowledged and ignored.
    Other {
        meta: ActionMeta,
        kind: String,
        card_id: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("not a Trello action: {0}")]
pub struct EventParseError(String);

impl TrelloEvent {
    /// Parses the raw body of a webhook delivery. The error names the JSON path at fault
    /// (`action: missing field `date``), since it is what a refused sender is told.
    pub fn parse(body: &[u8]) -> Result<Self, EventParseError> {
        let mut json = serde_json::Deserializer::from_slice(body);
        let wire: WireDelivery = serde_path_to_error::deserialize(&mut json)
            .map_err(|e| EventParseError(describe(&e.path().to_string(), e.inner())))?;
        // Trailing bytes after the object are as malformed as a broken object.
        json.end().map_err(|e| EventParseError(describe(".", &e)))?;
        Self::from_wire(wire)
    }

    pub fn meta(&self) -> &ActionMeta {
        match self {
            Self::CreateCard { meta, .. }
            | Self::UpdateCard { meta, .. }
            | Self::DeleteCard { meta, .. }
            | Self::UpdateCustomFieldItem { meta, .. }
            | Self::Other { meta, .. } => meta,
        }
    }

    pub fn card_id(&self) -> Option<&str> {
        match self {
            Self::CreateCard { card, .. } | Self::UpdateCard { card, .. } => Some(&card.id),
            Self::DeleteCard { card_id, .. } | Self::UpdateCustomFieldItem { card_id, .. } => {
                Some(card_id)
            }
            Self::Other { card_id, .. } => card_id.as_deref(),
        }
    }

    fn from_wire(wire: WireDelivery) -> Result<Self, EventParseError> {
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
        let list_id = d.list.map(|l| l.id);
        let event = match a.kind.as_str() {
            "createCard" => Self::CreateCard {
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
                    .or(card.id_list.clone());
                let list_before_id = d.list_before.map(|l| l.id).or(old.id_list.clone());
                let old = CardOld {
                    name: old.name,
                    desc: old.desc,
                    id_list: old.id_list,
                    closed: old.closed,
                    due: old.due,
                };
                Self::UpdateCard {
                    meta,
                    card,
                    list_id,
                    list_before_id,
                    old,
                }
            }
            "deleteCard" => Self::DeleteCard {
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
                Self::UpdateCustomFieldItem {
                    meta,
                    card_id,
                    field_id: field.id,
                    field_name: field.name,
                    text,
                    old_text,
                }
            }
            _ => Self::Other {
                meta,
                kind: a.kind,
                card_id: d.card.map(|c| c.id),
            },
        };
        Ok(event)
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
            id_list: c.id_list,
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
#[path = "events_tests.rs"]
mod tests;
