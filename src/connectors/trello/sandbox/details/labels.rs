//! A card's label set in the emulator: the action Trello records for a label put on or taken
//! off, and a whole set replaced at once (`PUT /cards/{id}` with `idLabels`). Kept apart from
//! the operations so that `ops` (card updates) and `details` (label endpoints) both use it
//! without importing each other.

use chrono::Utc;
use serde_json::json;

use crate::connectors::trello::sandbox::actions::{self, Action, card_ref};
use crate::connectors::trello::sandbox::model::{Model, SandboxCard};

/// The action Trello records for one label put on (`addLabelToCard`) or taken off a card.
pub(crate) fn label_action(
    m: &mut Model,
    actor: &str,
    card: &SandboxCard,
    label: &str,
    kind: &str,
) -> Action {
    let l = m.labels.iter().find(|l| l.id == label).cloned();
    let (name, color) = l.map_or((String::new(), None), |l| (l.name, l.color));
    let data = json!({"card": card_ref(card), "label": {"id": label, "name": name, "color": color},
        "value": color, "text": name});
    let id = m.new_id();
    actions::build(m, id, &card.id_board, actor, kind, data, Utc::now())
}

/// PUT `/cards/{id}`'s `idLabels`, comma-separated ids of labels of the card's board (none:
/// every label off): the card's whole new label set, checked before anything is written.
/// `None` when an id is not a label of the card's board.
pub fn label_ids(m: &Model, card: &SandboxCard, ids: &str) -> Option<Vec<String>> {
    let mut want: Vec<String> = Vec::new();
    for id in ids.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let on_board = (m.labels.iter()).any(|l| l.id == id && l.id_board == card.id_board);
        if !on_board {
            return None;
        }
        if !want.iter().any(|w| w == id) {
            want.push(id.to_owned());
        }
    }
    Some(want)
}

/// The actions Trello records for a card's label set replaced by `want`: one
/// `removeLabelFromCard` per label taken off, then one `addLabelToCard` per label put on.
pub fn relabel(m: &mut Model, actor: &str, card: &SandboxCard, want: &[String]) -> Vec<Action> {
    let gone = card.id_labels.iter().filter(|l| !want.contains(l));
    let gone: Vec<String> = gone.cloned().collect();
    let new = want.iter().filter(|l| !card.id_labels.contains(l));
    let new: Vec<String> = new.cloned().collect();
    let mut acts = Vec::new();
    for label in &gone {
        acts.push(label_action(m, actor, card, label, "removeLabelFromCard"));
    }
    for label in &new {
        acts.push(label_action(m, actor, card, label, "addLabelToCard"));
    }
    acts
}
