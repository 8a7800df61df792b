//! A mirror at run time: its two boards' ids, their mapped lists by id, its policy and the
//! member leadsync writes as; and what a card's fields are as the merge compares them.

use std::collections::BTreeMap;

use crate::config::{MirrorPolicySetting, MirrorSettings};
use crate::model::LeadId;
use crate::model::board::{Card, CardUpdate};
use crate::store::mirror_links::MirrorSide;
use crate::sync::context::BoardLayout;
use crate::sync::mapping::{compose_description, split_description};

use super::values;

/// The fixed mirrored fields, in the order they are merged and logged; each checklist name is a
/// field of its own after them (`CHECKLIST` and the name).
pub const FIELDS: [&str; 6] = ["name", "desc", "list", "closed", "labels", "due"];
/// The fields whose value a card's history can give back when a write of ours replaced a
/// user's value unseen (`overwritten`): an `updateCard` action shows the first four whole; a
/// label set and a due date (the date and its complete flag) are what the card held before
/// our writes, undone from the history (their actions carry the label, or the old value).
pub const RESTORABLE: [&str; 6] = ["name", "desc", "list", "closed", "labels", "due"];

/// The prefix of a checklist's field: `checklist:QA` is the card's checklist "QA".
pub const CHECKLIST: &str = "checklist:";

/// Where a checklist change's time is noted: the events do not name the checklist they change.
pub const CHECKLISTS: &str = "checklists";

/// The prefix of a user's change time in `Times`: `by-user:name` is the latest change of the
/// name by anyone but leadsync (its own writes coming back are not a user's edit).
pub const BY_USER: &str = "by-user:";

/// The checklist a field stands for, if it is one.
pub fn checklist_name(field: &str) -> Option<&str> {
    field.strip_prefix(CHECKLIST)
}

/// A link's fields: the fixed ones, then one per checklist name a card or a stored base has,
/// sorted, each once.
pub fn fields_of<'a>(cards: &[&Card], based: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut lists = std::collections::BTreeSet::new();
    for card in cards {
        lists.extend(
            card.checklists
                .iter()
                .map(|l| format!("{CHECKLIST}{}", l.name)),
        );
    }
    lists.extend(
        based
            .filter(|f| f.starts_with(CHECKLIST))
            .map(str::to_owned),
    );
    (FIELDS.iter().map(|f| (*f).to_owned()))
        .chain(lists)
        .collect()
}

#[derive(Debug, Clone)]
pub struct MirrorContext {
    pub name: String,
    pub board_a: String,
    pub board_b: String,
    pub policy: MirrorPolicySetting,
    /// The member the token acts as: its actions are leadsync's own writes.
    pub member_id: String,
    /// Per side: mapped list id → the mapping's key (the A list's configured name).
    lists_a: BTreeMap<String, String>,
    lists_b: BTreeMap<String, String>,
}

/// A configured list that the board does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mirror {mirror}: board {board} has no open list named \"{list}\" (mirrors.lists)")]
pub struct MissingList {
    pub mirror: String,
    pub board: String,
    pub list: String,
}

impl MirrorContext {
    /// The mirror's lists found by name (case-insensitive) on the two boards' layouts.
    pub fn resolve(
        settings: &MirrorSettings,
        member_id: String,
        layout_a: &BoardLayout,
        layout_b: &BoardLayout,
    ) -> Result<Self, MissingList> {
        let find = |layout: &BoardLayout, board: &str, list: &str| {
            (layout.lists.iter())
                .find(|(_, name)| name.trim().eq_ignore_ascii_case(list.trim()))
                .map(|(id, _)| id.clone())
                .ok_or_else(|| MissingList {
                    mirror: settings.name.clone(),
                    board: board.to_owned(),
                    list: list.to_owned(),
                })
        };
        let (mut lists_a, mut lists_b) = (BTreeMap::new(), BTreeMap::new());
        for (a, b) in &settings.lists {
            lists_a.insert(find(layout_a, &settings.board_a, a)?, a.clone());
            lists_b.insert(find(layout_b, &settings.board_b, b)?, a.clone());
        }
        Ok(Self {
            name: settings.name.clone(),
            board_a: settings.board_a.clone(),
            board_b: settings.board_b.clone(),
            policy: settings.conflict_policy,
            member_id,
            lists_a,
            lists_b,
        })
    }

    pub fn board(&self, side: MirrorSide) -> &str {
        match side {
            MirrorSide::A => &self.board_a,
            MirrorSide::B => &self.board_b,
        }
    }

    /// The side a board is, if it is one of this mirror's.
    pub fn side_of_board(&self, board_id: &str) -> Option<MirrorSide> {
        if board_id == self.board_a {
            Some(MirrorSide::A)
        } else if board_id == self.board_b {
            Some(MirrorSide::B)
        } else {
            None
        }
    }

    fn lists(&self, side: MirrorSide) -> &BTreeMap<String, String> {
        match side {
            MirrorSide::A => &self.lists_a,
            MirrorSide::B => &self.lists_b,
        }
    }

    /// The mapping a list stands for; `None` for an unmapped list.
    pub fn mapped(&self, side: MirrorSide, list_id: &str) -> Option<&str> {
        self.lists(side).get(list_id).map(String::as_str)
    }

    /// The list id on `side` of a mapping.
    pub fn list_id(&self, side: MirrorSide, mapping: &str) -> Option<&str> {
        (self.lists(side).iter())
            .find(|(_, key)| *key == mapping)
            .map(|(id, _)| id.as_str())
    }

    /// A card's value of `field` as the merge compares it; `None` for a list that is unmapped
    /// (such a card's twin keeps its list: the side counts as unchanged).
    pub fn value(&self, side: MirrorSide, card: &Card, field: &str) -> Option<String> {
        match field {
            "name" => Some(card.name.clone()),
            "desc" => Some(split_description(&card.desc).0),
            "list" => self.mapped(side, &card.list_id).map(str::to_owned),
            "labels" => Some(values::labels(card)),
            "due" => Some(values::due(card)),
            "closed" => Some(card.closed.to_string()),
            _ => checklist_name(field).map(|name| values::checklist(card, name)),
        }
    }

    /// A field's empty value, which a side takes from the other when the link has no base for
    /// the field; `None` for the list and the archived state, which are never empty.
    pub fn empty(field: &str) -> Option<String> {
        match field {
            "name" | "desc" => Some(String::new()),
            "labels" => Some(values::labels(&Card::default())),
            "due" => Some(values::due(&Card::default())),
            _ => checklist_name(field).map(|_| String::new()),
        }
    }

    /// The card update that gives a card on `side` the value `value` of `field`; labels and
    /// checklists are written by their own calls (`details.rs`), not an update (nor is a field
    /// this does not know: a checklist).
    pub fn write(
        &self,
        side: MirrorSide,
        update: &mut CardUpdate,
        field: &str,
        value: &str,
        link: &LeadId,
    ) {
        match field {
            "name" => update.name = Some(value.to_owned()),
            "desc" => update.desc = Some(compose_description(value, link)),
            "list" => update.list_id = self.list_id(side, value).map(str::to_owned),
            "due" => {
                // The value is `values::due`'s own text: it always reads back.
                if let Ok(due) = values::parse::<values::Due>(field, value) {
                    update.due = Some(due.due);
                    update.due_complete = Some(due.complete);
                }
            }
            "closed" => update.closed = Some(value == "true"),
            _ => {}
        }
    }
}

/// The link id a card's description ends with (`leadsync:<id>`), if any.
pub fn marker_of(card: &Card) -> Option<LeadId> {
    split_description(&card.desc).1
}
