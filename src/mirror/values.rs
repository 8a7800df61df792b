//! A card's labels, due date and checklists as the mirror merges them: each one canonical JSON
//! text, the same for the same content whatever the board's ids, order of reading or date
//! spelling, so the three-way merge compares them exactly and an echo equals its base.
//!
//! - `labels`: the set of label keys, sorted: a named label is `[name, null]` (labels match by
//!   name), an unnamed one `["", colour]` (CONTRACT §8: unnamed labels match by colour).
//! - `due`: `{"due": RFC 3339 UTC with milliseconds, or null, "complete": bool}`.
//! - `checklist:<name>`: one checklist, the card's first of that name: its items in their order,
//!   `[[name, checked]…]`, or the empty text when the card has no checklist of that name (each
//!   checklist is its own field, CONTRACT §8).
//! - `checklists`, all of a card's checklists in their order, each `{"name", "items"}`, is what
//!   links made before checklists were fields kept as their base.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::model::board::{Card, Checklist, Label};

/// How a label is matched across boards: its name, or its colour when it has no name.
pub type LabelKey = (String, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    pub due: Option<String>,
    pub complete: bool,
}

/// A checklist's items, `(name, checked)`, in order.
pub type Items = Vec<(String, bool)>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListValue {
    pub name: String,
    pub items: Items,
}

pub fn label_key(label: &Label) -> LabelKey {
    let name = label.name.trim();
    if name.is_empty() {
        (String::new(), label.color.clone())
    } else {
        (name.to_owned(), None)
    }
}

fn text<T: Serialize>(value: &T) -> String {
    // Plain data of strings, bools and vectors: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

pub fn labels(card: &Card) -> String {
    label_set(card.labels.iter().map(label_key).collect())
}

/// A `labels` value of these keys, in any order, repeated or not.
pub fn label_set(mut keys: Vec<LabelKey>) -> String {
    keys.sort();
    keys.dedup();
    text(&keys)
}

/// A due date in one spelling (`2026-12-24T10:00:00.000Z`); one that does not parse is kept.
fn normal_date(due: &str) -> String {
    match DateTime::parse_from_rfc3339(due) {
        Ok(at) => (at.with_timezone(&Utc)).to_rfc3339_opts(SecondsFormat::Millis, true),
        Err(_) => due.to_owned(),
    }
}

pub fn due(card: &Card) -> String {
    due_value(card.due.as_deref(), card.due_complete)
}

/// A `due` value of a date (any RFC 3339 spelling, or none) and its complete flag.
pub fn due_value(due: Option<&str>, complete: bool) -> String {
    text(&Due {
        due: due.map(normal_date),
        complete,
    })
}

fn items(list: &Checklist) -> Items {
    (list.items.iter())
        .map(|i| (i.name.clone(), i.complete))
        .collect()
}

/// All of a card's checklists in one text (the tests compare whole cards by it).
#[cfg(test)]
pub fn checklists(card: &Card) -> String {
    let lists: Vec<ListValue> = (card.checklists.iter())
        .map(|l| ListValue {
            name: l.name.clone(),
            items: items(l),
        })
        .collect();
    text(&lists)
}

/// A card's checklist `name` (its first of that name) as its field's value; "" without one.
pub fn checklist(card: &Card, name: &str) -> String {
    (card.checklists.iter())
        .find(|l| l.name == name)
        .map(|l| items_text(&items(l)))
        .unwrap_or_default()
}

/// A present checklist's field value.
pub fn items_text(items: &Items) -> String {
    text(items)
}

/// The items of a checklist field's value (`None`: the checklist is absent).
pub fn checklist_items(value: &str) -> Result<Option<Items>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse("checklist", value).map(Some)
}

/// The checklists a card holds once the merged checklist values `set` (by name: the items, or
/// `None` for a removed checklist) are written on it: its own in its order, the first of each
/// name in `set` replaced or dropped, then those it lacks in the order `source` has them.
pub fn with_checklists(
    card: &Card,
    set: &BTreeMap<String, Option<Items>>,
    source: &Card,
) -> Vec<ListValue> {
    let mut seen = HashSet::new();
    let mut want = Vec::new();
    for list in &card.checklists {
        let first = seen.insert(list.name.as_str());
        let items = match set.get(&list.name) {
            Some(merged) if first => merged.clone(),
            _ => Some(items(list)),
        };
        if let Some(items) = items {
            let name = list.name.clone();
            want.push(ListValue { name, items });
        }
    }
    let mut new: Vec<&String> = set.keys().filter(|n| !seen.contains(n.as_str())).collect();
    // Unknown to the source (never, as the merged values come from it): last.
    new.sort_by_key(|n| {
        (source.checklists.iter())
            .position(|l| l.name == **n)
            .unwrap_or(usize::MAX)
    });
    for name in new {
        if let Some(Some(items)) = set.get(name) {
            let (name, items) = (name.clone(), items.clone());
            want.push(ListValue { name, items });
        }
    }
    want
}

/// A stored or merged value read back; a malformed one (never written by leadsync) is an error
/// naming the field, rather than a silent empty value that would delete on the other board.
pub fn parse<T: for<'de> Deserialize<'de>>(field: &str, value: &str) -> Result<T, String> {
    serde_json::from_str(value).map_err(|e| format!("mirror field {field}: bad value {value}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::board::{CheckItem, Checklist};

    fn label(id: &str, name: &str, color: Option<&str>) -> Label {
        Label {
            id: id.into(),
            name: name.into(),
            color: color.map(str::to_owned),
        }
    }

    #[test]
    fn labels_are_a_sorted_set_of_names_and_unnamed_ones_go_by_colour() {
        let a = Card {
            labels: vec![
                label("1", "Hot", Some("red")),
                label("2", "", Some("blue")),
                label("3", "Big", None),
            ],
            ..Card::default()
        };
        // Other ids, order and colours of named labels: the same value.
        let b = Card {
            labels: vec![
                label("9", "Big", Some("green")),
                label("8", " Hot ", Some("red")),
                label("7", "", Some("blue")),
            ],
            ..Card::default()
        };
        assert_eq!(labels(&a), labels(&b));
        assert_eq!(labels(&a), r#"[["","blue"],["Big",null],["Hot",null]]"#);
        assert_eq!(labels(&Card::default()), "[]");
        let keys: Vec<LabelKey> = parse("labels", &labels(&a)).unwrap();
        assert_eq!(keys[0], (String::new(), Some("blue".to_owned())));
    }

    #[test]
    fn a_due_date_has_one_spelling_with_its_complete_state() {
        let card = |due: &str, complete| Card {
            due: Some(due.into()),
            due_complete: complete,
            ..Card::default()
        };
        let a = due(&card("2026-12-24T11:00:00+01:00", true));
        assert_eq!(a, due(&card("2026-12-24T10:00:00.000Z", true)));
        assert_eq!(a, r#"{"due":"2026-12-24T10:00:00.000Z","complete":true}"#);
        assert_ne!(a, due(&card("2026-12-24T10:00:00.000Z", false)));
        assert_eq!(due(&Card::default()), r#"{"due":null,"complete":false}"#);
        let back: Due = parse("due", &a).unwrap();
        assert!(back.complete);
        assert!(parse::<Due>("due", "nonsense").unwrap_err().contains("due"));
    }

    #[test]
    fn checklists_keep_their_order_and_their_items_order_and_state_but_not_ids() {
        let item = |id: &str, name: &str, complete| CheckItem {
            id: id.into(),
            name: name.into(),
            complete,
        };
        let card = |ids: [&str; 3]| Card {
            checklists: vec![Checklist {
                id: ids[0].into(),
                name: "Launch".into(),
                items: vec![item(ids[1], "Brief", true), item(ids[2], "Site", false)],
            }],
            ..Card::default()
        };
        let v = checklists(&card(["l1", "i1", "i2"]));
        assert_eq!(v, checklists(&card(["x1", "x2", "x3"])));
        assert_eq!(
            v,
            r#"[{"name":"Launch","items":[["Brief",true],["Site",false]]}]"#
        );
        let mut swapped = card(["l1", "i1", "i2"]);
        swapped.checklists[0].items.reverse();
        assert_ne!(v, checklists(&swapped));
    }
}
