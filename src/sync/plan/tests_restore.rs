//! Planner tests of the write back that puts a card change over our blind write: a
//! `restore_card` naming the time of the change it puts back.

use super::tests::{agreed, link, sheet_row};
use super::*;
use crate::sync::test_support::{ctx, t};

#[test]
fn a_card_change_our_write_landed_on_goes_back_to_the_card_as_a_restore_naming_its_time() {
    // The card's notes were set to "B" at 25; our copy of an older value landed at 30.
    let mut state = agreed(&[(Field::Notes, "A")]);
    let notes = state.get_mut(&Field::Notes).expect("notes");
    notes.trello.written_at = Some(t(30));
    let trello = sheet_row(&[(Field::Notes, "B")], 25);
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &LeadObservation::new(),
        &trello,
        t(40),
    );
    let desc = compose_description("B", &LeadId::parse("L1").expect("id"));
    let expected = Command::RestoreCard {
        lead_id: "L1".into(),
        fields: BTreeMap::from([("desc".to_owned(), desc.clone())]),
        since: BTreeMap::from([("desc".to_owned(), t(25).timestamp_millis())]),
        closed: None,
    };
    assert!(
        matches!(&plan.commands[..], [restore, Command::WriteRow { cells, .. }]
            if cells.get("Notes").map(String::as_str) == Some("B") && *restore == expected),
        "{:?}",
        plan.commands
    );
    // A card still being made gets it as a plain value.
    let mut pending = link(false);
    pending.create_pending = true;
    let plan = plan_lead(
        &ctx(),
        &pending,
        &state,
        &LeadObservation::new(),
        &trello,
        t(40),
    );
    assert!(
        plan.commands
            .iter()
            .any(|c| matches!(c, Command::UpdateCard { desc: Some(d), .. } if *d == desc)),
        "{:?}",
        plan.commands
    );
}
