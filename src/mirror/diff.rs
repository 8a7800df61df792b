//! What a card's labels and checklists need to become a merged value, pure: the fewest writes
//! this module knows that leave the card holding exactly that value, in its order (so that the
//! echo of the writes equals the base and causes nothing).
//!
//! Checklists match by name: a renamed checklist is removed and added again with its items.
//! Items match by name within their checklist; the items the card keeps in the merged value's
//! order are left alone (or checked/unchecked); the card's other items, when they all come after
//! those, are renamed in order into the value's remaining items (a rename is an item at the same
//! place with a new name), the surplus removed or added at the bottom. When the card's order
//! cannot be kept so, the out-of-order items (or checklists) are removed and added again.

use crate::model::board::{Card, CheckItem, Checklist};

use super::values::{LabelKey, ListValue, label_key};

/// The card's labels to keep (by id, the first of each wanted key) and the keys it lacks:
/// together the whole label set a write replaces the card's with.
pub fn labels(card: &Card, want: &[LabelKey]) -> (Vec<String>, Vec<LabelKey>) {
    let mut kept: Vec<LabelKey> = Vec::new();
    let mut keep = Vec::new();
    for label in &card.labels {
        let key = label_key(label);
        if want.contains(&key) && !kept.contains(&key) {
            keep.push(label.id.clone());
            kept.push(key);
        }
    }
    let add = (want.iter())
        .filter(|k| !kept.contains(k))
        .cloned()
        .collect();
    (keep, add)
}

/// One write to a card's checklists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    RemoveList {
        list_id: String,
    },
    /// A new checklist at the bottom, then its items in order.
    AddList(ListValue),
    AddItem {
        list_id: String,
        name: String,
        complete: bool,
    },
    UpdateItem {
        item_id: String,
        name: Option<String>,
        complete: Option<bool>,
    },
    RemoveItem {
        list_id: String,
        item_id: String,
    },
}

/// For each wanted name, the index of the first unused `have` entry of that name.
fn match_names<'a>(have: impl Iterator<Item = &'a str>, want: &[&str]) -> Vec<Option<usize>> {
    let have: Vec<&str> = have.collect();
    let mut used = vec![false; have.len()];
    (want.iter())
        .map(|w| {
            let i = (0..have.len()).find(|i| !used[*i] && have[*i] == *w)?;
            used[i] = true;
            Some(i)
        })
        .collect()
}

/// How many leading wanted entries are matched at increasing places: they stay where they are.
fn kept_prefix(matched: &[Option<usize>]) -> usize {
    let mut last = None;
    for (k, m) in matched.iter().enumerate() {
        match (m, last) {
            (Some(i), Some(l)) if *i <= l => return k,
            (Some(i), _) => last = Some(*i),
            (None, _) => return k,
        }
    }
    matched.len()
}

pub fn checklists(card: &Card, want: &[ListValue]) -> Vec<Step> {
    let names: Vec<&str> = want.iter().map(|l| l.name.as_str()).collect();
    let matched = match_names(card.checklists.iter().map(|l| l.name.as_str()), &names);
    let keep = kept_prefix(&matched);
    let kept: Vec<usize> = matched[..keep].iter().flatten().copied().collect();
    let mut steps = Vec::new();
    for (i, list) in card.checklists.iter().enumerate() {
        if !kept.contains(&i) {
            steps.push(Step::RemoveList {
                list_id: list.id.clone(),
            });
        }
    }
    for (k, i) in kept.iter().enumerate() {
        items(&card.checklists[*i], &want[k].items, &mut steps);
    }
    steps.extend(want[keep..].iter().cloned().map(Step::AddList));
    steps
}

fn items(list: &Checklist, want: &[(String, bool)], steps: &mut Vec<Step>) {
    let names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    let matched = match_names(list.items.iter().map(|i| i.name.as_str()), &names);
    let keep = kept_prefix(&matched);
    let kept: Vec<usize> = matched[..keep].iter().flatten().copied().collect();
    for (k, i) in kept.iter().enumerate() {
        let (item, complete) = (&list.items[*i], want[k].1);
        if item.complete != complete {
            steps.push(update(item, None, Some(complete)));
        }
    }
    let rest: Vec<(usize, &CheckItem)> = (list.items.iter().enumerate())
        .filter(|(i, _)| !kept.contains(i))
        .collect();
    let after_kept = kept
        .iter()
        .max()
        .is_none_or(|last| rest.iter().all(|(i, _)| i > last));
    let tail = &want[keep..];
    let renamed = if after_kept {
        rest.len().min(tail.len())
    } else {
        0
    };
    for ((_, item), (name, complete)) in rest.iter().zip(tail).take(renamed) {
        let name = (item.name != *name).then(|| name.clone());
        let complete = (item.complete != *complete).then_some(*complete);
        if name.is_some() || complete.is_some() {
            steps.push(update(item, name, complete));
        }
    }
    for (_, item) in &rest[renamed..] {
        steps.push(Step::RemoveItem {
            list_id: list.id.clone(),
            item_id: item.id.clone(),
        });
    }
    for (name, complete) in &tail[renamed..] {
        steps.push(Step::AddItem {
            list_id: list.id.clone(),
            name: name.clone(),
            complete: *complete,
        });
    }
}

fn update(item: &CheckItem, name: Option<String>, complete: Option<bool>) -> Step {
    Step::UpdateItem {
        item_id: item.id.clone(),
        name,
        complete,
    }
}

/// The card as the steps leave it (new ids made up): what the tests check a plan against.
#[cfg(test)]
pub fn applied(card: &Card, steps: &[Step]) -> Card {
    let mut card = card.clone();
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        format!("new{n}")
    };
    for step in steps {
        let lists = &mut card.checklists;
        match step {
            Step::RemoveList { list_id } => lists.retain(|l| l.id != *list_id),
            Step::AddList(v) => {
                let items = (v.items.iter())
                    .map(|(name, complete)| CheckItem {
                        id: fresh(),
                        name: name.clone(),
                        complete: *complete,
                    })
                    .collect();
                let (id, name) = (fresh(), v.name.clone());
                lists.push(Checklist { id, name, items });
            }
            Step::AddItem {
                list_id,
                name,
                complete,
            } => {
                let item = CheckItem {
                    id: fresh(),
                    name: name.clone(),
                    complete: *complete,
                };
                let list = lists.iter_mut().find(|l| l.id == *list_id);
                list.expect("the list").items.push(item);
            }
            Step::UpdateItem {
                item_id,
                name,
                complete,
            } => {
                let item = lists.iter_mut().flat_map(|l| l.items.iter_mut());
                let item = item.into_iter().find(|i| i.id == *item_id).expect("item");
                if let Some(name) = name {
                    item.name.clone_from(name);
                }
                if let Some(c) = complete {
                    item.complete = *c;
                }
            }
            Step::RemoveItem { list_id, item_id } => {
                let list = lists.iter_mut().find(|l| l.id == *list_id).expect("list");
                list.items.retain(|i| i.id != *item_id);
            }
        }
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::values;
    use crate::model::board::Label;
    use std::collections::BTreeMap;

    fn card(lists: &[(&str, &[(&str, bool)])]) -> Card {
        let checklists = (lists.iter().enumerate())
            .map(|(n, (name, items))| Checklist {
                id: format!("l{n}"),
                name: (*name).into(),
                items: (items.iter().enumerate())
                    .map(|(m, (name, complete))| CheckItem {
                        id: format!("i{n}-{m}"),
                        name: (*name).into(),
                        complete: *complete,
                    })
                    .collect(),
            })
            .collect();
        Card {
            checklists,
            ..Card::default()
        }
    }

    fn want(lists: &[(&str, &[(&str, bool)])]) -> Vec<ListValue> {
        let value = values::checklists(&card(lists));
        values::parse("checklists", &value).expect("a value")
    }

    /// The plan for `from` → `to`, checked to leave exactly `to`.
    fn plan(from: &[(&str, &[(&str, bool)])], to: &[(&str, &[(&str, bool)])]) -> Vec<Step> {
        let (have, target) = (card(from), want(to));
        let steps = checklists(&have, &target);
        let after = values::checklists(&applied(&have, &steps));
        assert_eq!(after, values::checklists(&card(to)), "{steps:?}");
        steps
    }

    #[test]
    fn equal_checklists_need_no_write() {
        let lists: &[(&str, &[(&str, bool)])] = &[("A", &[("x", true), ("y", false)])];
        assert!(plan(lists, lists).is_empty());
    }

    #[test]
    fn a_checked_item_is_one_update_and_an_added_item_one_add() {
        let steps = plan(
            &[("A", &[("x", false)])],
            &[("A", &[("x", true), ("y", false)])],
        );
        assert_eq!(steps.len(), 2);
        assert!(matches!(
            &steps[0],
            Step::UpdateItem {
                name: None,
                complete: Some(true),
                ..
            }
        ));
        assert!(matches!(&steps[1], Step::AddItem { name, .. } if name == "y"));
    }

    #[test]
    fn an_item_renamed_in_place_is_one_update_and_a_removed_item_one_removal() {
        let steps = plan(
            &[("A", &[("x", false), ("y", true)])],
            &[("A", &[("x", false), ("z", true)])],
        );
        assert_eq!(steps.len(), 1);
        assert!(
            matches!(&steps[0], Step::UpdateItem { name: Some(n), complete: None, .. } if n == "z")
        );
        let steps = plan(
            &[("A", &[("x", false), ("y", true)])],
            &[("A", &[("x", false)])],
        );
        assert!(
            matches!(steps.as_slice(), [Step::RemoveItem { item_id, .. }] if item_id == "i0-1")
        );
    }

    #[test]
    fn checklists_are_added_and_removed_whole_and_a_renamed_one_is_made_again() {
        let steps = plan(&[], &[("A", &[("x", true)])]);
        assert!(matches!(steps.as_slice(), [Step::AddList(_)]));
        assert!(matches!(
            plan(&[("A", &[])], &[]).as_slice(),
            [Step::RemoveList { .. }]
        ));
        let steps = plan(&[("A", &[("x", true)])], &[("B", &[("x", true)])]);
        assert!(matches!(
            steps.as_slice(),
            [Step::RemoveList { .. }, Step::AddList(_)]
        ));
    }

    #[test]
    fn a_reordering_is_repaired_by_making_the_out_of_order_part_again() {
        plan(
            &[("A", &[("x", false), ("y", false)])],
            &[("A", &[("y", false), ("x", false)])],
        );
        plan(
            &[("A", &[]), ("B", &[("b", true)])],
            &[("B", &[("b", true)]), ("A", &[])],
        );
        plan(
            &[("A", &[("x", false), ("k", true)])],
            &[("A", &[("k", true), ("n", false)])],
        );
        plan(
            &[("A", &[("d", false), ("d", true)])],
            &[("A", &[("d", true)])],
        );
    }

    #[test]
    fn merged_checklist_fields_change_only_their_own_checklists() {
        let have = card(&[("QA", &[("x", false)]), ("Launch", &[("y", false)])]);
        let source = card(&[("New", &[]), ("QA", &[("x", true)])]);
        let set = BTreeMap::from([
            ("QA".to_owned(), Some(vec![("x".to_owned(), true)])),
            ("Gone".to_owned(), None),
            ("New".to_owned(), Some(Vec::new())),
        ]);
        let want = values::with_checklists(&have, &set, &source);
        let steps = checklists(&have, &want);
        // QA's item checked, Launch untouched, New added at the bottom.
        assert!(matches!(
            &steps[0],
            Step::UpdateItem {
                complete: Some(true),
                ..
            }
        ));
        assert!(matches!(&steps[1], Step::AddList(l) if l.name == "New"));
        assert_eq!(steps.len(), 2);
        let after = values::checklists(&applied(&have, &steps));
        let launch = r#"{"name":"Launch","items":[["y",false]]}"#;
        let qa = r#"{"name":"QA","items":[["x",true]]}"#;
        assert_eq!(
            after,
            format!(r#"[{qa},{launch},{{"name":"New","items":[]}}]"#)
        );
        let removed = BTreeMap::from([("Launch".to_owned(), None)]);
        let steps = checklists(&have, &values::with_checklists(&have, &removed, &source));
        assert!(matches!(steps.as_slice(), [Step::RemoveList { list_id }] if list_id == "l1"));
    }

    #[test]
    fn labels_go_by_key_and_the_card_s_own_label_of_a_key_is_kept() {
        let label = |id: &str, name: &str, color: &str| Label {
            id: id.into(),
            name: name.into(),
            color: Some(color.into()),
        };
        let have = Card {
            labels: vec![
                label("1", "Hot", "red"),
                label("2", "", "blue"),
                label("3", "Hot", "green"),
            ],
            ..Card::default()
        };
        let want: Vec<LabelKey> = vec![("Big".into(), None), ("Hot".into(), None)];
        let (keep, add) = labels(&have, &want);
        assert_eq!(keep, vec!["1".to_owned()]);
        assert_eq!(add, vec![("Big".to_owned(), None)]);
    }
}
