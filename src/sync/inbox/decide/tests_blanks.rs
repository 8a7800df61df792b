//! A new row's lead writes back what its event shows in cells the write check emptied.

use super::*;
use crate::model::LeadFields;
use crate::sync::mapping::SheetLead;
use crate::sync::merge::Observed;
use crate::sync::observe::RowObservation;
use crate::sync::test_support::{ctx, t};

#[test]
fn a_new_row_s_lead_writes_back_the_cells_the_check_emptied_after_its_id() {
    let mut fields = LeadFields::new();
    fields.set(Field::Name, "Cy");
    fields.set(Field::Status, "Lost");
    let row = RowObservation {
        row: 4,
        lead: SheetLead {
            id: String::new(),
            fields,
            card_url: None,
        },
        fields: [
            (Field::Name, Observed::user("Cy", Some(t(10)))),
            (Field::Status, Observed::user("Lost", Some(t(10)))),
        ]
        .into(),
    };
    let g = Group {
        event_ids: vec![3],
        rows: vec![row],
        cards: Vec::new(),
        records: Vec::new(),
        record_gone: false,
    };
    let facts = LeadFacts {
        lead_id: "Lnew".into(),
        id_for_row: true,
        blanked: vec![
            ("k1".into(), "Status".into(), "Lost".into()),
            // Typed empty: written back too, as the put-back of the check may have failed.
            ("k2".into(), "Notes".into(), String::new()),
        ],
        ..LeadFacts::default()
    };
    let Decided::Lead(d) = decide(&facts, &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    assert!(
        matches!(&d.plan.commands[0], Command::WriteRow { cells, .. } if cells.contains_key("Lead ID"))
    );
    assert_eq!(
        d.extra,
        [Command::WriteRow {
            lead_id: "Lnew".into(),
            row_hint: Some(4),
            expect_name: None,
            cells: BTreeMap::from([
                ("Notes".to_owned(), String::new()),
                ("Status".to_owned(), "Lost".to_owned())
            ]),
        }]
    );
    assert_eq!(d.blanks_used, ["k1", "k2"]);
}

fn renamed_row(name: &str) -> RowObservation {
    let mut fields = LeadFields::new();
    fields.set(Field::Name, name);
    fields.set(Field::Phone, "+1-2");
    RowObservation {
        row: 2,
        lead: SheetLead {
            id: "L2".into(),
            fields,
            card_url: None,
        },
        fields: [
            (Field::Name, Observed::set_by_user(name, t(10))),
            (Field::Phone, Observed::user("+1-2", Some(t(10)))),
        ]
        .into(),
    }
}

/// The event of lead L2's row 2, renamed Robert by its person (phone +1-2).
fn robert_s_event() -> Group {
    Group {
        event_ids: vec![5],
        rows: vec![renamed_row("Robert")],
        cards: Vec::new(),
        records: Vec::new(),
        record_gone: false,
    }
}

/// Lead L2's facts with its row's `column` put back to `value` by a write check (key `k`).
fn put_back(column: &str, value: &str) -> LeadFacts {
    LeadFacts {
        lead_id: "L2".into(),
        put_back: vec![("k".into(), column.into(), value.into())],
        ..LeadFacts::default()
    }
}

#[test]
fn a_lead_s_event_writes_back_what_it_shows_in_a_cell_put_back_to_an_older_read() {
    // Seed 298: the person renamed Bob to Robert; a write for another row landed there and the
    // check put back Bob, the name the read before the write showed.
    let g = robert_s_event();
    let facts = LeadFacts {
        link: Some(crate::store::links::Link {
            pair: "a".into(),
            lead_id: "L2".into(),
            card_id: Some("c2".into()),
            row_hint: Some(2),
            ..Default::default()
        }),
        ..put_back("Name", "Robert")
    };
    let Decided::Lead(d) = decide(&facts, &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    assert_eq!(
        d.extra,
        [Command::WriteRow {
            lead_id: "L2".into(),
            row_hint: Some(2),
            expect_name: None,
            cells: BTreeMap::from([("Name".to_owned(), "Robert".to_owned())]),
        }]
    );
    assert_eq!(d.blanks_used, ["k"]);
}

#[test]
fn a_put_back_cell_whose_event_value_a_later_write_of_ours_replaces_waits() {
    let g = robert_s_event();
    let mut facts = put_back("Phone", "+1-2");
    // Phone is only shown by the event (its edit set the name), and a write of ours sets it
    // after: the event's value is not the row's any more.
    facts.cells_written.insert("phone".into());
    let Decided::Lead(d) = decide(&facts, &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    assert!(d.extra.is_empty(), "{:?}", d.extra);
    assert!(d.blanks_used.is_empty());
}

#[test]
fn a_held_back_event_older_than_the_agreed_value_writes_nothing_back() {
    let g = robert_s_event();
    let mut facts = put_back("Name", "Robert");
    // Renamed Bobby at 15, after the event's Robert (10).
    let agreed = crate::sync::merge::FieldState {
        agreed: Some(crate::sync::merge::Agreed::new("Bobby", t(15), None)),
        ..Default::default()
    };
    facts.state.insert(Field::Name, agreed);
    let Decided::Lead(d) = decide(&facts, &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    let back = |c: &Command| matches!(c, Command::WriteRow { cells, .. } if cells.get("Name").is_some_and(|v| v == "Robert"));
    assert!(!d.extra.iter().any(back), "{:?}", d.extra);
    assert!(d.blanks_used.is_empty());
}

#[test]
fn the_first_event_of_a_row_typed_with_its_id_writes_back_a_cell_the_check_emptied() {
    // Seed 273: no lead yet (no link, no agreed value); its row's Name was emptied by the check
    // of a write meant for another row, and kept for this event.
    let g = robert_s_event();
    let Decided::Lead(d) = decide(&put_back("Name", "Robert"), &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    let back = |c: &Command| matches!(c, Command::WriteRow { cells, .. } if cells.get("Name").is_some_and(|v| v == "Robert"));
    assert!(d.extra.iter().any(back), "{:?}", d.extra);
    assert_eq!(d.blanks_used, ["k"]);
}
