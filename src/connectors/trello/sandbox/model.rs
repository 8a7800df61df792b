//! The emulated Trello data: records, id generation, and their JSON as the REST API renders it.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct SandboxMember {
    pub id: String,
    pub username: String,
    pub full_name: String,
}

#[derive(Clone, Debug)]
pub struct SandboxBoard {
    pub id: String,
    pub name: String,
    pub short_link: String,
    pub closed: bool,
}

#[derive(Clone, Debug)]
pub struct SandboxList {
    pub id: String,
    pub id_board: String,
    pub name: String,
    pub closed: bool,
    pub pos: f64,
}

#[derive(Clone, Debug)]
pub struct SandboxField {
    pub id: String,
    pub id_board: String,
    pub name: String,
    pub field_type: String,
    pub pos: f64,
}

#[derive(Clone, Debug)]
pub struct SandboxCard {
    pub id: String,
    pub id_board: String,
    pub id_list: String,
    pub name: String,
    pub desc: String,
    pub closed: bool,
    pub due: Option<String>,
    pub pos: f64,
    pub short_link: String,
    pub id_short: u64,
    pub date_last_activity: DateTime<Utc>,
    /// Text custom field values by field id; a cleared field is absent.
    pub custom_texts: BTreeMap<String, String>,
    pub due_complete: bool,
    /// The board labels on the card, in the order they were put on.
    pub id_labels: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct SandboxLabel {
    pub id: String,
    pub id_board: String,
    pub name: String,
    pub color: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SandboxChecklist {
    pub id: String,
    pub id_board: String,
    pub id_card: String,
    pub name: String,
    pub pos: f64,
    pub items: Vec<SandboxCheckItem>,
}

#[derive(Clone, Debug)]
pub struct SandboxCheckItem {
    pub id: String,
    pub name: String,
    pub complete: bool,
    pub pos: f64,
}

#[derive(Clone, Debug)]
pub struct SandboxWebhook {
    pub id: String,
    pub description: String,
    pub id_model: String,
    pub callback_url: String,
    pub active: bool,
    /// The token that created it: webhooks are listed and deduplicated per token.
    pub token: String,
}

/// All emulated state; one lock around it keeps changes and their deliveries in one order.
#[derive(Default)]
pub struct Model {
    pub members: Vec<SandboxMember>,
    pub boards: Vec<SandboxBoard>,
    pub lists: Vec<SandboxList>,
    pub fields: Vec<SandboxField>,
    pub cards: Vec<SandboxCard>,
    pub labels: Vec<SandboxLabel>,
    pub checklists: Vec<SandboxChecklist>,
    /// Item ids of set custom field values, by (card id, field id).
    pub item_ids: BTreeMap<(String, String), String>,
    pub webhooks: Vec<SandboxWebhook>,
    /// The actions of each card, by card id, oldest first: what `GET /cards/{id}/actions`
    /// answers (newest first), whether or not a webhook delivered them.
    pub card_actions: BTreeMap<String, Vec<Value>>,
    next_id: u64,
}

impl Model {
    /// A Mongo-style 24-hex id: creation seconds then a counter, so ids sort by creation.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:08x}{:016x}", Utc::now().timestamp().max(0), self.next_id)
    }

    pub fn board(&self, id: &str) -> Option<&SandboxBoard> {
        self.boards
            .iter()
            .find(|b| b.id == id || b.short_link == id)
    }

    pub fn list(&self, id: &str) -> Option<&SandboxList> {
        self.lists.iter().find(|l| l.id == id)
    }

    pub fn field(&self, id: &str) -> Option<&SandboxField> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn card(&self, id: &str) -> Option<&SandboxCard> {
        self.cards.iter().find(|c| c.id == id || c.short_link == id)
    }

    pub fn card_mut(&mut self, id: &str) -> Option<&mut SandboxCard> {
        self.cards
            .iter_mut()
            .find(|c| c.id == id || c.short_link == id)
    }

    /// The card's labels, in the order they were put on.
    pub fn labels_of(&self, c: &SandboxCard) -> Vec<&SandboxLabel> {
        (c.id_labels.iter())
            .filter_map(|id| self.labels.iter().find(|l| l.id == *id))
            .collect()
    }

    /// The card's checklists in position order.
    pub fn checklists_of(&self, card_id: &str) -> Vec<&SandboxChecklist> {
        let mut lists: Vec<_> = (self.checklists.iter())
            .filter(|l| l.id_card == card_id)
            .collect();
        lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        lists
    }

    pub fn member(&self, id: &str) -> Option<&SandboxMember> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn next_id_short(&self, board_id: &str) -> u64 {
        let max = self
            .cards
            .iter()
            .filter(|c| c.id_board == board_id)
            .map(|c| c.id_short)
            .max();
        max.unwrap_or(0) + 1
    }

    /// Resolves Trello's `pos` ("top", "bottom" or a number) among the given positions.
    pub fn position(pos: Option<&Value>, existing: impl Iterator<Item = f64>) -> Option<f64> {
        let existing: Vec<f64> = existing.collect();
        let top = existing.iter().copied().fold(f64::INFINITY, f64::min);
        let bottom = existing.iter().copied().fold(0.0, f64::max);
        match pos {
            None => Some(bottom + 65536.0),
            Some(Value::String(s)) if s == "bottom" => Some(bottom + 65536.0),
            Some(Value::String(s)) if s == "top" => {
                Some(if top.is_finite() { top / 2.0 } else { 65536.0 })
            }
            Some(Value::String(s)) => s.parse::<f64>().ok().filter(|p| *p >= 0.0),
            Some(Value::Number(n)) => n.as_f64().filter(|p| *p >= 0.0),
            Some(_) => None,
        }
    }
}

/// An 8-character short link of letters and digits, as Trello uses in short URLs.
pub fn short_link() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn trello_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

pub fn member_json(m: &SandboxMember) -> Value {
    let initials: String = m
        .full_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect();
    json!({"id": m.id, "username": m.username, "fullName": m.full_name, "initials": initials,
        "activityBlocked": false, "avatarHash": null, "avatarUrl": null, "nonPublic": {},
        "nonPublicAvailable": true, "url": format!("https://trello.com/{}", m.username)})
}

pub fn board_json(b: &SandboxBoard) -> Value {
    json!({"id": b.id, "name": b.name, "desc": "", "descData": null, "closed": b.closed,
        "idOrganization": null, "idEnterprise": null, "pinned": false,
        "url": format!("https://trello.com/b/{}/{}", b.short_link, slug(&b.name)),
        "shortUrl": format!("https://trello.com/b/{}", b.short_link), "shortLink": b.short_link,
        "prefs": {"permissionLevel": "private"}, "labelNames": {}})
}

pub fn list_json(l: &SandboxList) -> Value {
    json!({"id": l.id, "name": l.name, "closed": l.closed, "idBoard": l.id_board, "pos": l.pos,
        "subscribed": false, "softLimit": null, "status": null, "color": null})
}

pub fn field_json(f: &SandboxField) -> Value {
    json!({"id": f.id, "idModel": f.id_board, "modelType": "board", "fieldGroup": f.id,
        "display": {"cardFront": true}, "name": f.name, "pos": f.pos, "type": f.field_type,
        "isSuggestedField": false})
}

pub fn item_json(item_id: &str, card_id: &str, field_id: &str, text: Option<&str>) -> Value {
    let value = text.map(|t| json!({"text": t}));
    json!({"id": item_id, "value": value, "idCustomField": field_id, "idModel": card_id,
        "modelType": "card"})
}

pub fn card_json(model: &Model, c: &SandboxCard, with_items: bool) -> Value {
    let mut v = json!({"id": c.id, "badges": {"comments": 0, "attachments": 0, "description": !c.desc.is_empty()},
        "checkItemStates": [], "closed": c.closed, "dueComplete": c.due_complete,
        "dateLastActivity": trello_date(c.date_last_activity), "desc": c.desc, "descData": {"emoji": {}},
        "due": c.due, "dueReminder": null, "email": null, "idBoard": c.id_board,
        "idChecklists": model.checklists_of(&c.id).iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        "idLabels": c.id_labels, "idList": c.id_list, "idMembers": [], "idMembersVoted": [], "idShort": c.id_short,
        "idAttachmentCover": null, "labels": model.labels_of(c).into_iter().map(label_json).collect::<Vec<_>>(),
        "manualCoverAttachment": false, "name": c.name,
        "pos": c.pos, "shortLink": c.short_link, "isTemplate": false, "cardRole": null,
        "shortUrl": format!("https://trello.com/c/{}", c.short_link), "start": null, "subscribed": false,
        "url": format!("https://trello.com/c/{}/{}-{}", c.short_link, c.id_short, slug(&c.name)),
        "cover": {"idAttachment": null, "color": null, "size": "normal", "brightness": "dark"}});
    if with_items {
        let items: Vec<Value> = c
            .custom_texts
            .iter()
            .map(|(field, text)| {
                let key = (c.id.clone(), field.clone());
                let item_id = model.item_ids.get(&key).map_or("", String::as_str);
                item_json(item_id, &c.id, field, Some(text))
            })
            .collect();
        v["customFieldItems"] = Value::Array(items);
    }
    v
}

pub fn label_json(l: &SandboxLabel) -> Value {
    json!({"id": l.id, "idBoard": l.id_board, "name": l.name, "color": l.color, "uses": 0})
}

pub fn check_item_json(list: &SandboxChecklist, i: &SandboxCheckItem) -> Value {
    let state = if i.complete { "complete" } else { "incomplete" };
    json!({"id": i.id, "name": i.name, "nameData": {"emoji": {}}, "pos": i.pos, "state": state,
        "idChecklist": list.id, "due": null, "dueReminder": null, "idMember": null})
}

/// A checklist with its items in position order.
pub fn checklist_json(l: &SandboxChecklist) -> Value {
    let mut items: Vec<&SandboxCheckItem> = l.items.iter().collect();
    items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    let items: Vec<Value> = items.into_iter().map(|i| check_item_json(l, i)).collect();
    json!({"id": l.id, "name": l.name, "idBoard": l.id_board, "idCard": l.id_card, "pos": l.pos,
        "checkItems": items})
}

pub fn webhook_json(w: &SandboxWebhook) -> Value {
    json!({"id": w.id, "description": w.description, "idModel": w.id_model,
        "callbackURL": w.callback_url, "active": w.active, "consecutiveFailures": 0,
        "firstConsecutiveFailDate": null})
}
