//! Trello's JSON shapes as read by the client: only the fields we use, unknown fields ignored.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::types::{
    Board, Card, CheckItem, Checklist, CustomField, Label, Member, TrelloList, Webhook,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireMember {
    id: String,
    username: String,
    #[serde(default)]
    full_name: Option<String>,
}

impl From<WireMember> for Member {
    fn from(w: WireMember) -> Self {
        Self {
            id: w.id,
            username: w.username,
            full_name: w.full_name.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireBoard {
    id: String,
    name: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    url: String,
    #[serde(default)]
    short_url: String,
}

impl From<WireBoard> for Board {
    fn from(w: WireBoard) -> Self {
        Self {
            id: w.id,
            name: w.name,
            closed: w.closed,
            url: w.url,
            short_url: w.short_url,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireList {
    id: String,
    name: String,
    #[serde(default)]
    closed: bool,
    id_board: String,
}

impl From<WireList> for TrelloList {
    fn from(w: WireList) -> Self {
        Self {
            id: w.id,
            name: w.name,
            closed: w.closed,
            board_id: w.id_board,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCustomField {
    id: String,
    id_model: String,
    name: String,
    #[serde(rename = "type")]
    field_type: String,
}

impl From<WireCustomField> for CustomField {
    fn from(w: WireCustomField) -> Self {
        Self {
            id: w.id,
            board_id: w.id_model,
            name: w.name,
            field_type: w.field_type,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCustomFieldItem {
    id_custom_field: String,
    /// `{"text": "…"}` for text fields; other types carry number/date/checked instead.
    #[serde(default)]
    value: Option<WireItemValue>,
}

#[derive(Deserialize)]
pub(crate) struct WireItemValue {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCard {
    id: String,
    name: String,
    #[serde(default)]
    desc: String,
    id_list: String,
    id_board: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    due: Option<String>,
    short_link: String,
    short_url: String,
    date_last_activity: DateTime<Utc>,
    #[serde(default)]
    custom_field_items: Vec<WireCustomFieldItem>,
    #[serde(default)]
    due_complete: bool,
    #[serde(default)]
    labels: Vec<WireLabel>,
    #[serde(default)]
    checklists: Vec<WireChecklist>,
}

/// A label, on a card or a board; Trello answers `"color": null` for a colourless one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireLabel {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: Option<String>,
}

impl From<WireLabel> for Label {
    fn from(w: WireLabel) -> Self {
        Self {
            id: w.id,
            name: w.name,
            color: w.color,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireChecklist {
    id: String,
    name: String,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    check_items: Vec<WireCheckItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireCheckItem {
    id: String,
    name: String,
    /// `complete` or `incomplete`.
    state: String,
    #[serde(default)]
    pos: f64,
}

impl From<WireCheckItem> for CheckItem {
    fn from(w: WireCheckItem) -> Self {
        Self {
            id: w.id,
            name: w.name,
            complete: w.state == "complete",
        }
    }
}

/// Trello answers items in any order: the model keeps them in position order.
impl From<WireChecklist> for Checklist {
    fn from(mut w: WireChecklist) -> Self {
        w.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        Self {
            id: w.id,
            name: w.name,
            items: w.check_items.into_iter().map(CheckItem::from).collect(),
        }
    }
}

/// Checklists in position order.
pub(crate) fn checklists(mut lists: Vec<WireChecklist>) -> Vec<Checklist> {
    lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    lists.into_iter().map(Checklist::from).collect()
}

impl WireCard {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

impl From<WireCard> for Card {
    fn from(w: WireCard) -> Self {
        let custom_texts = w
            .custom_field_items
            .into_iter()
            .filter_map(|item| Some((item.id_custom_field, item.value?.text?)))
            .collect();
        Self {
            id: w.id,
            short_link: w.short_link,
            short_url: w.short_url,
            name: w.name,
            desc: w.desc,
            id_list: w.id_list,
            id_board: w.id_board,
            closed: w.closed,
            due: w.due,
            custom_texts,
            date_last_activity: w.date_last_activity,
            due_complete: w.due_complete,
            labels: w.labels.into_iter().map(Label::from).collect(),
            checklists: checklists(w.checklists),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireWebhook {
    id: String,
    #[serde(default)]
    description: String,
    id_model: String,
    #[serde(rename = "callbackURL")]
    callback_url: String,
    #[serde(default)]
    active: bool,
}

impl From<WireWebhook> for Webhook {
    fn from(w: WireWebhook) -> Self {
        Self {
            id: w.id,
            description: w.description,
            id_model: w.id_model,
            callback_url: w.callback_url,
            active: w.active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_keeps_only_text_custom_field_values() {
        let json = r#"{"id":"c1","name":"Ada","desc":"x","idList":"l1","idBoard":"b1","closed":false,
            "due":null,"shortLink":"abc","shortUrl":"https://trello.com/c/abc","idShort":3,
            "dateLastActivity":"2026-01-02T03:04:05.678Z","badges":{},
            "customFieldItems":[{"id":"i1","idCustomField":"f1","idModel":"c1","value":{"text":"a@b.c"}},
                                {"id":"i2","idCustomField":"f2","idModel":"c1","value":{"number":"3"}}]}"#;
        let card: Card = serde_json::from_str::<WireCard>(json).unwrap().into();
        assert_eq!(card.custom_texts.len(), 1);
        assert_eq!(card.custom_texts["f1"], "a@b.c");
        assert_eq!(card.short_url, "https://trello.com/c/abc");
        assert!(card.due.is_none() && !card.closed);
    }

    #[test]
    fn a_webhook_reads_the_upper_case_callback_url_field() {
        let json = r#"{"id":"w1","description":"d","idModel":"b1","callbackURL":"http://x/y","active":true,"consecutiveFailures":0}"#;
        let hook: Webhook = serde_json::from_str::<WireWebhook>(json).unwrap().into();
        assert_eq!(hook.callback_url, "http://x/y");
        assert!(hook.active);
    }
}

/// One action of `GET /cards/{id}/actions`: only what tells an archive apart.
#[derive(Deserialize)]
pub(crate) struct WireAction {
    pub date: DateTime<Utc>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: WireActionData,
}

#[derive(Deserialize, Default)]
pub(crate) struct WireActionData {
    #[serde(default)]
    pub card: WireClosed,
}

#[derive(Deserialize, Default)]
pub(crate) struct WireClosed {
    #[serde(default)]
    pub closed: Option<bool>,
}
