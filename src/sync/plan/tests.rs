//! Planner tests: which commands a set of observations produces.

use super::*;
use crate::sync::merge::{Agreed, FieldState, Observed};
use crate::sync::test_support::{ctx, t};

pub(super) fn link(has_card: bool) -> LinkView {
    LinkView {
        lead_id: LeadId::parse("L1").expect("id"),
        has_card,
        create_pending: false,
        card_closed: false,
        card_deleted: false,
        row_hint: Some(5),
        in_flight: Vec::new(),
    }
}

pub(super) fn sheet_row(pairs: &[(Field, &str)], at: i64) -> LeadObservation {
    pairs
        .iter()
        .map(|(f, v)| (*f, Observed::user(*v, Some(t(at)))))
        .collect()
}

pub(super) fn agreed(pairs: &[(Field, &str)]) -> LeadState {
    pairs
        .iter()
        .map(|(f, v)| {
            (
                *f,
                FieldState {
                    agreed: Some(Agreed::new(*v, t(0), None)),
                    ..FieldState::default()
                },
            )
        })
        .collect()
}

#[test]
fn a_new_lead_becomes_one_create_card_with_marker_list_and_custom_fields() {
    let sheet = sheet_row(
        &[
            (Field::Name, "Ada"),
            (Field::Status, "new"),
            (Field::Notes, "met at expo"),
            (Field::Email, "ada@example.com"),
            (Field::Phone, ""),
        ],
        10,
    );
    let plan = plan_lead(
        &ctx(),
        &link(false),
        &LeadState::new(),
        &sheet,
        &LeadObservation::new(),
        t(11),
    );
    assert_eq!(plan.commands.len(), 1, "{:?}", plan.commands);
    let Command::CreateCard {
        list_id,
        name,
        desc,
        custom,
        ..
    } = &plan.commands[0]
    else {
        panic!("expected a create: {:?}", plan.commands);
    };
    assert_eq!(list_id, "l-new", "status maps case-insensitively");
    assert_eq!(name, "Ada");
    assert_eq!(desc, "met at expo\n\nleadsync:L1");
    assert_eq!(
        custom.get("f-email").map(String::as_str),
        Some("ada@example.com")
    );
    assert!(!custom.contains_key("f-phone"), "empty values are not sent");
}

#[test]
fn sheet_edits_of_a_linked_lead_become_one_update_and_one_custom_field_write() {
    let state = agreed(&[
        (Field::Name, "Ada"),
        (Field::Status, "New"),
        (Field::Company, "A"),
    ]);
    let sheet = sheet_row(
        &[
            (Field::Name, "Ada L"),
            (Field::Status, "Lost"),
            (Field::Company, "B"),
        ],
        10,
    );
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &sheet,
        &LeadObservation::new(),
        t(11),
    );
    assert_eq!(
        plan.commands,
        vec![
            Command::UpdateCard {
                lead_id: "L1".into(),
                card_id: None,
                name: Some("Ada L".into()),
                desc: None,
                id_list: Some("l-lost".into()),
                closed: None,
            },
            Command::SetCustomFields {
                lead_id: "L1".into(),
                fields: BTreeMap::from([("f-company".into(), "B".into())]),
            },
        ]
    );
}

#[test]
fn several_changed_custom_fields_of_a_card_become_one_command() {
    let state = agreed(&[
        (Field::Name, "Ada"),
        (Field::Email, "a@x"),
        (Field::Phone, "1"),
        (Field::Company, "A"),
    ]);
    let sheet = sheet_row(
        &[
            (Field::Name, "Ada"),
            (Field::Email, "b@x"),
            (Field::Phone, ""),
            (Field::Company, "B"),
        ],
        10,
    );
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &sheet,
        &LeadObservation::new(),
        t(11),
    );
    assert_eq!(
        plan.commands,
        vec![Command::SetCustomFields {
            lead_id: "L1".into(),
            fields: BTreeMap::from([
                ("f-company".into(), "B".into()),
                ("f-email".into(), "b@x".into()),
                ("f-phone".into(), String::new()),
            ]),
        }],
        "one write for the three fields, the cleared phone included"
    );
}

#[test]
fn trello_edits_become_one_row_write_by_header() {
    let state = agreed(&[(Field::Name, "Ada"), (Field::Status, "New")]);
    let trello = sheet_row(&[(Field::Name, "Ada B"), (Field::Status, "Lost")], 10);
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &LeadObservation::new(),
        &trello,
        t(11),
    );
    let [
        Command::WriteRow {
            cells, row_hint, ..
        },
    ] = &plan.commands[..]
    else {
        panic!("expected one row write: {:?}", plan.commands);
    };
    assert_eq!(*row_hint, Some(5));
    assert_eq!(cells.get("Name").map(String::as_str), Some("Ada B"));
    assert_eq!(cells.get("Status").map(String::as_str), Some("Lost"));
}

#[test]
fn an_unmapped_status_moves_nothing_and_warns() {
    let state = agreed(&[(Field::Status, "New")]);
    let sheet = sheet_row(&[(Field::Status, "Dormant")], 10);
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &sheet,
        &LeadObservation::new(),
        t(11),
    );
    assert!(plan.commands.is_empty(), "{:?}", plan.commands);
    assert_eq!(plan.warnings.len(), 1);
    assert!(plan.warnings[0].contains("Dormant"));
}

#[test]
fn a_deleted_card_is_not_recreated_until_the_sheet_status_changes() {
    let state = agreed(&[(Field::Name, "Ada"), (Field::Status, "New")]);
    let mut tomb = link(false);
    tomb.card_deleted = true;
    let renamed = sheet_row(&[(Field::Name, "Ada L"), (Field::Status, "New")], 10);
    let plan = plan_lead(
        &ctx(),
        &tomb,
        &state,
        &renamed,
        &LeadObservation::new(),
        t(11),
    );
    assert!(plan.commands.is_empty(), "{:?}", plan.commands);
    let moved = sheet_row(&[(Field::Name, "Ada L"), (Field::Status, "Lost")], 20);
    let plan = plan_lead(
        &ctx(),
        &tomb,
        &state,
        &moved,
        &LeadObservation::new(),
        t(21),
    );
    assert!(
        matches!(&plan.commands[..], [Command::CreateCard { list_id, name, .. }] if list_id == "l-lost" && name == "Ada L"),
        "{:?}",
        plan.commands
    );
}

#[test]
fn a_status_set_in_the_sheet_unarchives_the_card_unless_it_is_the_archive_status() {
    let state = agreed(&[(Field::Status, "Lost")]);
    let mut archived = link(true);
    archived.card_closed = true;
    let plan = plan_lead(
        &ctx(),
        &archived,
        &state,
        &sheet_row(&[(Field::Status, "New")], 10),
        &LeadObservation::new(),
        t(11),
    );
    assert!(
        matches!(
            &plan.commands[..],
            [Command::UpdateCard {
                closed: Some(false),
                ..
            }]
        ),
        "{:?}",
        plan.commands
    );
    // Setting the very status archiving stands for moves the card but leaves it archived.
    let state = agreed(&[(Field::Status, "New")]);
    let plan = plan_lead(
        &ctx(),
        &archived,
        &state,
        &sheet_row(&[(Field::Status, "Lost")], 10),
        &LeadObservation::new(),
        t(11),
    );
    assert!(
        matches!(
            &plan.commands[..],
            [Command::UpdateCard { closed: None, id_list: Some(list), .. }] if list == "l-lost"
        ),
        "{:?}",
        plan.commands
    );
}

/// The sheet's status edit was decided (and its move sent) before the card's archive, made
/// earlier, was heard of: the archive loses the conflict, so the card must come back out of
/// the archive, or it would stand for the archived status again at the next reconciliation.
#[test]
fn an_archive_older_than_the_agreed_status_brings_the_card_back() {
    let state: LeadState = [(
        Field::Status,
        FieldState {
            agreed: Some(Agreed::new("New", t(20), Some(Side::Sheet))),
            trello: crate::sync::merge::SideMemory {
                seen_at: None,
                written_at: Some(t(21)),
            },
            ..FieldState::default()
        },
    )]
    .into();
    let mut archived = link(true);
    archived.card_closed = true;
    let archive = [(Field::Status, Observed::user("Lost", Some(t(15))))].into();
    let plan = plan_lead(
        &ctx(),
        &archived,
        &state,
        &LeadObservation::new(),
        &archive,
        t(30),
    );
    assert!(
        matches!(
            &plan.commands[..],
            [Command::UpdateCard { closed: Some(false), id_list: Some(list), .. }] if list == "l-new"
        ),
        "{:?}",
        plan.commands
    );
}

#[test]
fn updates_queue_behind_a_pending_create_instead_of_a_second_create() {
    let state = agreed(&[(Field::Name, "Ada")]);
    let mut pending = link(false);
    pending.create_pending = true;
    let plan = plan_lead(
        &ctx(),
        &pending,
        &state,
        &sheet_row(&[(Field::Name, "Ada L")], 10),
        &LeadObservation::new(),
        t(11),
    );
    assert!(
        matches!(&plan.commands[..], [Command::UpdateCard { .. }]),
        "{:?}",
        plan.commands
    );
}

#[test]
fn an_echo_of_our_own_write_plans_nothing() {
    let state = agreed(&[(Field::Name, "Ada")]);
    let mut trello = LeadObservation::new();
    trello.insert(Field::Name, Observed::leadsync("Ada", Some(t(10))));
    let plan = plan_lead(
        &ctx(),
        &link(true),
        &state,
        &LeadObservation::new(),
        &trello,
        t(11),
    );
    assert!(plan.commands.is_empty());
    assert_eq!(plan.decisions[0].kind.as_str(), "echo");
}

#[test]
fn a_new_agreed_value_is_written_again_to_a_side_with_writes_still_on_their_way() {
    // Both sides were changed to "Won" while an earlier copy of "Qualified" to the sheet is
    // still queued: it would land last and leave the sheet at "Qualified".
    let state = agreed(&[(Field::Status, "Qualified")]);
    let sheet = sheet_row(&[(Field::Status, "Won")], 10);
    let trello = sheet_row(&[(Field::Status, "Won")], 11);
    let mut view = link(true);
    let plain = plan_lead(&ctx(), &view, &state, &sheet, &trello, t(12));
    assert!(plain.commands.is_empty(), "{:?}", plain.commands);
    view.in_flight = vec![(Side::Trello, Field::Status), (Side::Sheet, Field::Name)];
    let other = plan_lead(&ctx(), &view, &state, &sheet, &trello, t(12));
    assert!(
        other.commands.is_empty(),
        "a write of another field: {:?}",
        other.commands
    );
    view.in_flight = vec![(Side::Sheet, Field::Status)];
    let plan = plan_lead(&ctx(), &view, &state, &sheet, &trello, t(12));
    assert!(
        matches!(&plan.commands[..], [Command::WriteRow { cells, .. }] if cells.get("Status").map(String::as_str) == Some("Won")),
        "{:?}",
        plan.commands
    );
    // An unchanged agreed value needs nothing, writes on their way or not.
    let same = sheet_row(&[(Field::Status, "Qualified")], 10);
    let none = plan_lead(&ctx(), &view, &state, &same, &LeadObservation::new(), t(12));
    assert!(none.commands.is_empty(), "{:?}", none.commands);
}
