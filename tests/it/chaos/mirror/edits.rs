//! The users' edits the mirror chaos driver makes, on either board: new cards in mapped lists,
//! renames, descriptions, moves (to the unmapped list too), labels, due dates, checklist items,
//! archive and unarchive, deletes, and one field edited on both twins at once. Each edit is
//! recorded in the history with the value the user made and the one they saw before.

use leadsync::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use leadsync::model::LeadId;
use leadsync::sync::mapping::compose_description;
use rand::Rng;

use super::driver::{Driver, LISTS, board_of};
use super::oracle::{Side, UNMAPPED};
use crate::chaos::common;
use crate::mirror_support::marker;

/// The one checklist users keep on a card.
const CHECKLIST: &str = "Tasks";

/// The edits `edit` knows, and the mirrored field each changes.
const KINDS: [(&str, &str); 9] = [
    ("name", "name"),
    ("desc", "desc"),
    ("list", "list"),
    ("labels", "labels"),
    ("due", "due"),
    ("complete", "due"),
    ("item", "checklists"),
    ("check", "checklists"),
    ("closed", "closed"),
];

fn field_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("name", |(_, f)| f)
}

impl Driver {
    pub(super) fn new_card(&mut self) -> anyhow::Result<()> {
        self.made += 1;
        let key = format!("k{}", self.made);
        let side = if self.rng.random_bool(0.5) {
            Side::A
        } else {
            Side::B
        };
        let (a, b) = LISTS[self.rng.random_range(0..LISTS.len())];
        let list = if side == Side::A { a } else { b };
        let name = format!("{key} {}", common::word(&mut self.rng));
        let desc = if self.rng.random_bool(0.5) {
            common::word(&mut self.rng)
        } else {
            String::new()
        };
        let list_id = self.board(side).lists[list].clone();
        let id = (self.m.w.trello)
            .user_create_card(&list_id, &name, &desc)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.keyed(&id, &key);
        let card = self.m.card(&id);
        let values = self.values(side, &card);
        for f in ["name", "desc", "list"] {
            self.history.record(&key, f, side, &values[f], "");
        }
        self.log
            .push(format!("new card {key} on {side:?} in {list}: {id}"));
        Ok(())
    }

    /// One edit of a random card (an archived one only to unarchive it).
    pub(super) fn edit_one(&mut self, kind: &str) {
        if let Some((side, card, key)) = self.pick_card(kind != "closed") {
            self.edit(side, &card, &key, kind);
        }
    }

    /// A user's edit `kind` of `card`, recorded when it changed what the card shows.
    pub(super) fn edit(&mut self, side: Side, card: &SandboxCard, key: &str, kind: &str) {
        let field = field_of(kind);
        let card = self.m.card(&card.id);
        let saw = self.values(side, &card)[field].clone();
        if let Err(e) = self.apply(side, &card, kind) {
            self.log
                .push(format!("{key} {kind} on {side:?} failed: {e:#}"));
            return;
        }
        let Some(now) = self.m.w.trello.card(&card.id) else {
            return;
        };
        let value = self.values(side, &now)[field].clone();
        self.log.push(format!(
            "{key} {kind} on {side:?} ({}): {saw:?} -> {value:?}",
            card.id
        ));
        if value != saw {
            self.history.record(key, field, side, &value, &saw);
        }
    }

    fn apply(&mut self, side: Side, card: &SandboxCard, kind: &str) -> anyhow::Result<()> {
        let t = &self.m.w.trello;
        let err = |e| anyhow::anyhow!("{e:?}");
        let word = common::word(&mut self.rng);
        let mut change = UserCardChange::default();
        match kind {
            "name" => {
                change.name = Some(format!(
                    "{} {word}",
                    card.name.split(' ').next().unwrap_or("")
                ))
            }
            "desc" => {
                change.desc = Some(match marker(card) {
                    Some(m) => compose_description(
                        &word,
                        &LeadId::parse(&m).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                    ),
                    None => word,
                })
            }
            "list" => {
                let lists = &board_of(&self.m, side).lists;
                let mut names: Vec<&String> =
                    lists.keys().filter(|n| lists[*n] != card.id_list).collect();
                if side == Side::A && !self.rng.random_bool(0.2) {
                    names.retain(|n| *n != UNMAPPED);
                }
                let name = names[self.rng.random_range(0..names.len())];
                change.id_list = Some(lists[name].clone());
            }
            "closed" => change.closed = Some(!card.closed),
            "labels" => {
                let labels = t.labels(&card.id_board);
                let label = &labels[self.rng.random_range(0..labels.len())];
                let on = !card.id_labels.contains(&label.id);
                return t.user_card_label(&card.id, &label.id, on).map_err(err);
            }
            "due" => {
                let due = (card.due.is_none() || self.rng.random_bool(0.8))
                    .then(|| format!("2026-12-{:02}T10:00:00.000Z", self.rng.random_range(1..29)));
                return t
                    .user_set_due(&card.id, Some(due.as_deref()), None)
                    .map_err(err);
            }
            "complete" => {
                return t
                    .user_set_due(&card.id, None, Some(!card.due_complete))
                    .map_err(err);
            }
            _ => return self.checklist(card, kind, word),
        }
        t.user_update_card(&card.id, &change).map_err(err)
    }

    /// An item added to the card's checklist (made first when missing), or one checked or
    /// unchecked (`check`, when there is one).
    fn checklist(&mut self, card: &SandboxCard, kind: &str, word: String) -> anyhow::Result<()> {
        let t = &self.m.w.trello;
        let err = |e| anyhow::anyhow!("{e:?}");
        let lists = t.checklists(&card.id);
        let items: Vec<(String, bool)> = (lists.iter())
            .flat_map(|l| l.items.iter().map(|i| (i.id.clone(), i.complete)))
            .collect();
        if kind == "check" && !items.is_empty() {
            let (item, complete) = &items[self.rng.random_range(0..items.len())];
            return t
                .user_update_item(&card.id, item, None, Some(!complete))
                .map_err(err);
        }
        let list = match lists.iter().find(|l| l.name == CHECKLIST) {
            Some(l) => l.id.clone(),
            None => t.user_add_checklist(&card.id, CHECKLIST).map_err(err)?,
        };
        t.user_add_item(&list, &word).map_err(err).map(drop)
    }

    /// A user deletes a card (open or archived); its twin is to end archived.
    pub(super) fn delete(&mut self) {
        let Some((side, card, key)) = self.pick_card(false) else {
            return;
        };
        self.learn();
        self.log
            .push(format!("{key} deleted on {side:?} ({})", card.id));
        match self.m.w.trello.user_delete_card(&card.id) {
            Ok(()) => self.deleted.push(key),
            Err(e) => self.log.push(format!("delete failed: {e:?}")),
        }
    }

    /// One field edited on a card and on its twin, one right after the other: the second user
    /// has not seen the first one's value.
    pub(super) fn concurrent(&mut self) {
        let Some((side, card, key)) = self.pick_card(true) else {
            return;
        };
        let Some(twin) = self.twin(side, &key).filter(|t| !t.closed) else {
            return;
        };
        let kinds = ["name", "desc", "list", "labels", "due", "item"];
        let kind = kinds[self.rng.random_range(0..kinds.len())];
        self.log.push(format!("concurrent {kind} of {key}"));
        let other = if side == Side::A { Side::B } else { Side::A };
        self.edit(side, &card, &key, kind);
        self.edit(other, &twin, &key, kind);
    }
}
