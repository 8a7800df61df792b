//! A board as the engine knows it: its cards, the card it asks to be created or changed, and
//! the board events the inbox worker observes. Defined here, below `inbound`, `store` and
//! `sync`, so that each may use them while a board's own wire shapes stay in its connector
//! (Trello's `connectors/trello/client` converts into these).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// A card as the engine reads it from a board.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Card {
    pub id: String,
    /// The card's link, written into the tracker's card column.
    pub short_url: String,
    pub name: String,
    pub desc: String,
    pub list_id: String,
    /// Archived.
    pub closed: bool,
    /// Text values of the card's custom fields, by field definition id; unset fields are absent.
    pub custom_texts: BTreeMap<String, String>,
    /// The card's labels, in the board's order (the mirrors read them; the pairs do not).
    pub labels: Vec<Label>,
    /// The due date (RFC 3339, as the board answers it), if any, and whether it is done.
    pub due: Option<String>,
    pub due_complete: bool,
    /// The card's checklists and their items, each in its position order.
    pub checklists: Vec<Checklist>,
}

/// A board's label: a card carries some of its board's labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Label {
    pub id: String,
    /// May be empty: an unnamed label is told apart by its colour.
    pub name: String,
    /// `None` for a colourless label.
    pub color: Option<String>,
}

/// A card's checklist, its items in position order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checklist {
    pub id: String,
    pub name: String,
    pub items: Vec<CheckItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckItem {
    pub id: String,
    pub name: String,
    pub complete: bool,
}

/// One change to a card's checklists; item ids are unique across a board, so an item is named
/// by its id alone except where the API wants its checklist too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChecklistEdit {
    /// Answers the new checklist's id.
    AddChecklist {
        name: String,
    },
    RemoveChecklist {
        checklist_id: String,
    },
    /// Answers the new item's id.
    AddItem {
        checklist_id: String,
        name: String,
        complete: bool,
    },
    /// Only what is `Some` changes.
    UpdateItem {
        item_id: String,
        name: Option<String>,
        complete: Option<bool>,
    },
    RemoveItem {
        checklist_id: String,
        item_id: String,
    },
}

/// A card to create; the board fills in the rest (it goes to the bottom of its list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCard {
    pub list_id: String,
    pub name: String,
    pub desc: String,
}

/// A partial card update: only the fields that are `Some` change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardUpdate {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub list_id: Option<String>,
    pub closed: Option<bool>,
    /// `Some(None)` removes the due date.
    pub due: Option<Option<String>>,
    pub due_complete: Option<bool>,
    /// The card's whole label set, by label id (the board's): replaces the labels it has.
    pub label_ids: Option<Vec<String>>,
}

impl CardUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.desc.is_none()
            && self.list_id.is_none()
            && self.closed.is_none()
            && self.due.is_none()
            && self.due_complete.is_none()
            && self.label_ids.is_none()
    }
}

/// One past change of a card, from the board's history of it: who made it, when, which of the
/// card's keys it changed (`name`, `desc`, `idList`, `closed`, or a custom field's id), and the
/// body a webhook delivery of it carries, which is what the inbox stores for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardAction {
    pub action_id: String,
    pub date: DateTime<Utc>,
    pub member_creator_id: String,
    pub keys: Vec<String>,
    pub delivery: Vec<u8>,
}

/// What every board event carries, whatever its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionMeta {
    /// Unique per event: the idempotency key of a delivery.
    pub action_id: String,
    /// When the change happened, by the board's clock.
    pub date: DateTime<Utc>,
    /// Who made the change: the token's member for our own writes.
    pub member_creator_id: String,
    /// The board the change was made on, else the webhook's model.
    pub board_id: Option<String>,
    /// The webhook's model: the board the webhook was registered for.
    pub model_id: Option<String>,
}

/// The card as the event describes it: id always, other fields only when the event shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardState {
    pub id: String,
    pub name: Option<String>,
    pub desc: Option<String>,
    pub list_id: Option<String>,
    pub closed: Option<bool>,
    /// `Some(None)`: the event shows the due date as removed.
    pub due: Option<Option<String>>,
    pub short_link: Option<String>,
}

/// Values before an update; only the fields that changed are `Some`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardOld {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub list_id: Option<String>,
    pub closed: Option<bool>,
    pub due: Option<Option<String>>,
    pub due_complete: Option<bool>,
}

/// Which of a card's details (beyond its own fields) an action changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardDetail {
    /// `addLabelToCard`, `removeLabelFromCard`.
    Labels,
    /// Checklists and their items: added, renamed, checked, removed.
    Checklists,
}

/// One change on a board, as its webhook delivery told it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardEvent {
    CreateCard {
        meta: ActionMeta,
        card: CardState,
        list_id: Option<String>,
    },
    UpdateCard {
        meta: ActionMeta,
        card: CardState,
        /// The card's list after the change.
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
    /// A card's labels or checklists changed (the mirrors re-read the card; the pairs ignore it).
    CardDetail {
        meta: ActionMeta,
        card_id: String,
        detail: CardDetail,
        /// The checklists the change touched, by name (its checklist, and a renamed one's old
        /// name), so the mirrors note each checklist's own change time; empty for labels.
        checklists: Vec<String>,
    },
    /// Any other kind of change (comments, attachments …), kept so it can be acknowledged and ignored.
    Other {
        meta: ActionMeta,
        kind: String,
        card_id: Option<String>,
    },
}

impl BoardEvent {
    pub fn meta(&self) -> &ActionMeta {
        match self {
            Self::CreateCard { meta, .. }
            | Self::UpdateCard { meta, .. }
            | Self::DeleteCard { meta, .. }
            | Self::UpdateCustomFieldItem { meta, .. }
            | Self::CardDetail { meta, .. }
            | Self::Other { meta, .. } => meta,
        }
    }

    pub fn card_id(&self) -> Option<&str> {
        match self {
            Self::CreateCard { card, .. } | Self::UpdateCard { card, .. } => Some(&card.id),
            Self::DeleteCard { card_id, .. }
            | Self::UpdateCustomFieldItem { card_id, .. }
            | Self::CardDetail { card_id, .. } => Some(card_id),
            Self::Other { card_id, .. } => card_id.as_deref(),
        }
    }
}
