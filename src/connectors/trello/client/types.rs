//! Domain types the Trello client hands out and takes in, independent of Trello's JSON shapes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::model::board::{CheckItem, Checklist, Label};

/// The member a token belongs to (the API user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub username: String,
    pub full_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    pub id: String,
    pub name: String,
    pub closed: bool,
    pub url: String,
    pub short_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrelloList {
    pub id: String,
    pub name: String,
    pub closed: bool,
    pub board_id: String,
}

/// A custom field definition on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomField {
    pub id: String,
    pub board_id: String,
    pub name: String,
    /// Trello's type name: "text", "number", "date", "checkbox" or "list".
    pub field_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub id: String,
    pub short_link: String,
    pub short_url: String,
    pub name: String,
    pub desc: String,
    pub id_list: String,
    pub id_board: String,
    /// Archived.
    pub closed: bool,
    pub due: Option<String>,
    /// Text values of the card's custom fields, by field definition id; unset fields are absent.
    pub custom_texts: BTreeMap<String, String>,
    pub date_last_activity: DateTime<Utc>,
    pub due_complete: bool,
    /// The card's labels and checklists (its checklists only when asked with `checklists=all`).
    pub labels: Vec<Label>,
    pub checklists: Vec<Checklist>,
}

/// The fields of a card to create; Trello fills in the rest.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCard {
    pub id_list: String,
    pub name: String,
    pub desc: String,
    /// "top", "bottom" or a number; `None` leaves Trello's default (bottom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<String>,
}

/// A partial card update: only the fields that are `Some` are sent.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    /// `Some(None)` removes the due date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_complete: Option<bool>,
    /// Label ids, comma-separated: the card's whole label set ("" takes every label off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_labels: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub description: String,
    pub id_model: String,
    pub callback_url: String,
    pub active: bool,
}
