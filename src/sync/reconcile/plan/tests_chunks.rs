//! Planning a chunk of rows at a time, each chunk with its own leads' states, makes the same plan
//! as planning the whole sheet at once.

use std::collections::HashMap;

use super::tests::{agreed_lead, link};
use super::*;
use crate::sync::test_support::{card, ctx, grid, t};

/// Linked leads (one renamed in the sheet, one moved in Trello), a duplicate and an invalid id,
/// a row whose card is found by its marker, and a lead whose row is gone.
fn world() -> (Vec<Vec<String>>, Vec<Card>, Known) {
    let g = grid(&[
        [
            "L1",
            "Ada L",
            "",
            "",
            "",
            "New",
            "",
            "https://trello.com/c/sc1",
        ],
        [
            "L2",
            "Bo",
            "",
            "",
            "",
            "New",
            "",
            "https://trello.com/c/sc2",
        ],
        ["not an id", "Cy", "", "", "", "New", "", ""],
        ["L1", "Ada again", "", "", "", "New", "", ""],
        ["L3", "Di", "", "", "", "New", "", ""],
        [
            "L5",
            "Eve",
            "",
            "",
            "",
            "Lost",
            "",
            "https://trello.com/c/sc5",
        ],
    ]);
    let cards = vec![
        card("c1", "Ada", "leadsync:L1", "l-new"),
        card("c2", "Bo", "leadsync:L2", "l-lost"),
        card("c3", "Di", "leadsync:L3", "l-new"),
        card("c4", "Gone", "leadsync:L4", "l-new"),
        card("c5", "Eve", "leadsync:L5", "l-new"),
    ];
    let mut known = Known::default();
    for (lead, card, row, name, status) in [
        ("L1", "c1", 2, "Ada", "New"),
        ("L2", "c2", 3, "Bo", "New"),
        ("L4", "c4", 9, "Gone", "New"),
        ("L5", "c5", 7, "Eve", "New"),
    ] {
        known.links.insert(lead.into(), link(lead, Some(card), row));
        known
            .states
            .insert(lead.into(), agreed_lead(name, status, None));
    }
    known
        .absences
        .insert("L4".into(), t(-3600).timestamp_millis());
    (g, cards, known)
}

#[test]
fn chunks_with_their_own_states_make_the_plan_of_the_whole_sheet() {
    let (g, cards, mut known) = world();
    let deleted = OnRowDeleted::ArchiveCard;
    let whole = plan_reconcile(&ctx(), deleted, &g, &cards, &known, t(0)).expect("plan");
    let has = |f: fn(&Action) -> bool| whole.iter().any(f);
    assert!(
        has(|a| matches!(a, Action::Warning { .. }))
            && has(|a| matches!(a, Action::LinkLead { lead_id, .. } if lead_id == "L3"))
            && has(|a| matches!(a, Action::DropLink { lead_id, .. } if lead_id == "L4"))
            && has(|a| matches!(a, Action::Lead { commands, .. } if !commands.is_empty())),
        "a plan worth comparing: {whole:?}"
    );
    // As the reconciler holds them: only the states of leads the sheet does not show.
    let all_states = std::mem::take(&mut known.states);
    let header = ColumnMap::from_header(&g[0], &ctx().columns).expect("header");
    let shown = sheet_ids(&header, &g);
    known.states = (all_states.iter())
        .filter(|(lead, _)| !shown.contains(*lead))
        .map(|(l, s)| (l.clone(), s.clone()))
        .collect();
    let ctx = ctx();
    let mut planner =
        Planner::new(&ctx, deleted, &g, &cards, &known, t(0), shown).expect("planner");
    let mut chunked = Vec::new();
    while planner.rows_left() {
        let states: HashMap<String, LeadState> = (planner.next_ids(2).into_iter())
            .filter_map(|id| Some((id.clone(), all_states.get(&id)?.clone())))
            .collect();
        chunked.extend(planner.rows(2, states));
    }
    chunked.extend(planner.finish());
    assert_eq!(format!("{chunked:?}"), format!("{whole:?}"));
}
