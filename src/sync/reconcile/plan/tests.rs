//! Reconciliation planning: rebuilds, new rows and cards, deletions.

use std::collections::HashMap;

use super::*;
use crate::model::Field;
use crate::store::links::Link;
use crate::sync::plan::commands::Command;
use crate::sync::test_support::{card, ctx, grid, t};

pub(super) fn link(lead: &str, card: Option<&str>, row: i64) -> Link {
    Link {
        pair: "p".into(),
        lead_id: lead.into(),
        card_id: card.map(str::to_owned),
        card_short_url: None,
        row_hint: Some(row),
        card_closed: false,
        created_at: 0,
        updated_at: 0,
    }
}

/// A lead whose name and status (and empty other fields) both sides agreed on, written by
/// `writer`.
pub(super) fn agreed_lead(
    name: &str,
    status: &str,
    writer: Option<crate::model::Side>,
) -> LeadState {
    let agreed = |v: &str| crate::sync::merge::FieldState {
        agreed: Some(crate::sync::merge::Agreed::new(v, t(-10), writer)),
        ..Default::default()
    };
    [
        (Field::Name, agreed(name)),
        (Field::Status, agreed(status)),
        (Field::Notes, agreed("")),
        (Field::Email, agreed("")),
        (Field::Phone, agreed("")),
        (Field::Company, agreed("")),
    ]
    .into_iter()
    .collect()
}

pub(super) fn commands(actions: &[Action]) -> Vec<&Command> {
    actions
        .iter()
        .flat_map(|a| match a {
            Action::Lead { commands, .. } => commands.iter().collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn a_row_without_an_id_gets_an_id_and_a_card() {
    let g = grid(&[["", "Ada", "a@x.io", "", "", "New", "", ""]]);
    let actions = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &[],
        &Known::default(),
        t(0),
    )
    .expect("plan");
    let cmds = commands(&actions);
    // The id is written first, so a row gone by then gets no card.
    assert!(
        matches!(cmds[0], Command::WriteRow { row_hint: Some(2), expect_name: Some(n), cells, .. } if n == "Ada" && cells.contains_key("Lead ID")),
        "{cmds:?}"
    );
    assert!(
        matches!(cmds[1], Command::CreateCard { name, .. } if name == "Ada"),
        "{cmds:?}"
    );
}

#[test]
fn a_lost_database_relinks_by_marker_and_creates_no_second_card() {
    let g = grid(&[[
        "L1",
        "Ada",
        "",
        "",
        "",
        "New",
        "met",
        "https://trello.com/c/sc1",
    ]]);
    let cards = [card("c1", "Ada", "met\n\nleadsync:L1", "l-new")];
    let actions = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &cards,
        &Known::default(),
        t(0),
    )
    .expect("plan");
    assert!(
        actions.iter().any(|a| matches!(a, Action::LinkLead { lead_id, card_id: Some(c), .. } if lead_id == "L1" && c == "c1")),
        "{actions:?}"
    );
    assert!(
        commands(&actions).is_empty(),
        "equal sides need no writes: {actions:?}"
    );
}

#[test]
fn a_card_missing_from_the_board_is_a_deleted_card() {
    let g = grid(&[["L1", "Ada", "", "", "", "New", "", ""]]);
    let state = agreed_lead("Ada", "New", None);
    let known = Known {
        links: HashMap::from([("L1".to_owned(), link("L1", Some("gone"), 2))]),
        states: HashMap::from([("L1".to_owned(), state)]),
        ..Known::default()
    };
    let actions =
        plan_reconcile(&ctx(), OnRowDeleted::ArchiveCard, &g, &[], &known, t(0)).expect("plan");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CardDeleted { card_id, .. } if card_id == "gone"))
    );
    assert!(
        commands(&actions).is_empty(),
        "no new card until the status changes: {actions:?}"
    );
}

#[test]
fn a_missing_row_is_deleted_only_after_a_second_read_a_minute_later() {
    let g = grid(&[]);
    let cards = [card("c1", "Ada", "leadsync:L1", "l-new")];
    let mut known = Known {
        links: HashMap::from([("L1".to_owned(), link("L1", Some("c1"), 2))]),
        ..Known::default()
    };
    let first = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &cards,
        &known,
        t(100),
    )
    .expect("plan");
    assert!(first.iter().any(|a| matches!(a, Action::RowMissing { .. })));
    assert!(commands(&first).is_empty());
    known
        .absences
        .insert("L1".into(), t(100).timestamp_millis());
    let soon = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &cards,
        &known,
        t(130),
    )
    .expect("plan");
    assert!(commands(&soon).is_empty(), "30 s is not a minute");
    let later = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &cards,
        &known,
        t(161),
    )
    .expect("plan");
    assert!(
        matches!(commands(&later)[..], [Command::UpdateCard { closed: Some(true), card_id: Some(c), .. }] if c == "c1")
    );
    assert!(later.iter().any(|a| matches!(a, Action::DropLink { .. })));
    let ignore =
        plan_reconcile(&ctx(), OnRowDeleted::Ignore, &g, &cards, &known, t(161)).expect("plan");
    assert!(commands(&ignore).is_empty());
}

#[test]
fn a_card_made_in_trello_becomes_an_appended_row_and_gets_the_marker() {
    let g = grid(&[]);
    let mut made = card("c9", "Grace", "call back", "l-new");
    made.custom_texts.insert("f-company".into(), "Navy".into());
    let actions = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &[made],
        &Known::default(),
        t(0),
    )
    .expect("plan");
    let cmds = commands(&actions);
    let Some(Command::AppendRow { cells, lead_id }) =
        cmds.iter().find(|c| matches!(c, Command::AppendRow { .. }))
    else {
        panic!("no append: {cmds:?}");
    };
    assert_eq!(cells.get("Name").map(String::as_str), Some("Grace"));
    assert_eq!(cells.get("Company").map(String::as_str), Some("Navy"));
    assert_eq!(cells.get("Notes").map(String::as_str), Some("call back"));
    assert_eq!(cells.get("Status").map(String::as_str), Some("New"));
    assert_eq!(cells.get("Lead ID"), Some(lead_id));
    // The marker goes around whatever notes the card has when it is sent, not the ones read.
    assert!(cmds.iter().any(
        |c| matches!(c, Command::MarkCard { lead_id: l, card_id } if l == lead_id && card_id == "c9")
    ));
    assert!(!cmds.iter().any(|c| matches!(c, Command::UpdateCard { .. })));
}

#[test]
fn cards_in_unmapped_lists_and_archived_cards_do_not_become_rows() {
    let mut archived = card("c2", "Old", "", "l-new");
    archived.closed = true;
    let cards = [card("c1", "Maybe", "", "l-other"), archived];
    let actions = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &grid(&[]),
        &cards,
        &Known::default(),
        t(0),
    )
    .expect("plan");
    assert!(commands(&actions).is_empty(), "{actions:?}");
}

#[test]
fn a_duplicated_id_is_warned_about_and_the_second_row_left_alone() {
    let g = grid(&[
        ["L1", "Ada", "", "", "", "New", "", ""],
        ["L1", "Bob", "", "", "", "New", "", ""],
    ]);
    let actions = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &[],
        &Known::default(),
        t(0),
    )
    .expect("plan");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Warning { message } if message.contains("appears twice")))
    );
    let creates = commands(&actions)
        .into_iter()
        .filter(|c| matches!(c, Command::CreateCard { .. }))
        .count();
    assert_eq!(creates, 1);
}

#[test]
fn a_missing_header_column_is_an_error_naming_it() {
    let mut g = grid(&[]);
    g[0].retain(|h| h != "Phone");
    let err = plan_reconcile(
        &ctx(),
        OnRowDeleted::ArchiveCard,
        &g,
        &[],
        &Known::default(),
        t(0),
    )
    .expect_err("missing");
    assert!(err.to_string().contains("Phone"));
}

#[test]
fn an_archived_card_reads_as_the_archive_status() {
    let g = grid(&[[
        "L1",
        "Ada",
        "",
        "",
        "",
        "New",
        "",
        "https://trello.com/c/sc1",
    ]]);
    let mut c = card("c1", "Ada", "leadsync:L1", "l-new");
    c.closed = true;
    let known = Known {
        links: HashMap::from([("L1".to_owned(), link("L1", Some("c1"), 2))]),
        ..Known::default()
    };
    let actions =
        plan_reconcile(&ctx(), OnRowDeleted::ArchiveCard, &g, &[c], &known, t(0)).expect("plan");
    // No agreed state: both sides observed at the same time differ -> the sheet wins the tie;
    // with agreed state "New" the archive would be the one change and win.
    let lead = actions
        .iter()
        .find(|a| matches!(a, Action::Lead { .. }))
        .expect("lead");
    let Action::Lead { decisions, .. } = lead else {
        unreachable!()
    };
    assert!(
        decisions
            .iter()
            .any(|d| d.field == "status" && d.decision == "conflict")
    );
}
