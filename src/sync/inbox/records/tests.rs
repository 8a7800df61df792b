//! The record changes' pure decisions: the echo test from the facts read in the transaction,
//! the wait for an unfinished create, and records that are no lead.

use super::*;
use crate::inbound::RecordChangeEvent;
use crate::model::Field;
use crate::store::links::Link;
use crate::sync::inbox::group::{Item, RecordItem};
use crate::sync::merge::{Agreed, FieldState};
use crate::sync::test_support::{airtable_ctx, t};

fn record(source: &str, kind: RecordChangeKind, changed: &[(&str, &str)]) -> RecordItem {
    let cells = |c: &[(&str, &str)]| {
        (c.iter())
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    RecordItem {
        change: RecordChangeEvent {
            record_id: "recA".into(),
            kind,
            source: source.into(),
            timestamp: t(5),
            changed: cells(changed),
            unchanged: cells(&[("Name", "Ada")]),
        },
        changed_at: t(5),
        received_at: t(6).timestamp_millis(),
    }
}

fn group(records: Vec<RecordItem>) -> Group {
    let mut g = Group::default();
    for (i, r) in records.into_iter().enumerate() {
        g.add(i64::try_from(i).expect("small"), Item::Record(r));
    }
    g
}

fn linked_facts() -> LeadFacts {
    LeadFacts {
        lead_id: "recA".into(),
        link: Some(Link {
            lead_id: "recA".into(),
            card_id: Some("c1".into()),
            ..Link::default()
        }),
        ..LeadFacts::default()
    }
}

#[test]
fn an_api_change_showing_a_recent_write_of_ours_is_an_echo_and_a_users_is_not() {
    let ctx = airtable_ctx();
    let mut facts = linked_facts();
    facts.state = [(
        Field::Status,
        FieldState {
            agreed: Some(Agreed::new("New", t(4), None)),
            ..FieldState::default()
        },
    )]
    .into();
    facts.own_cells = vec![("Status".into(), "Lost".into())];
    let changed = [("Status", "Lost")];
    let api = record("publicApi", RecordChangeKind::Changed, &changed);
    let user = record("client", RecordChangeKind::Changed, &changed);
    let mut warnings = Vec::new();
    let seen = observe_records(&ctx, &facts, group(vec![api, user]), &mut warnings);
    assert!(seen.records.is_empty(), "every record change is observed");
    let [echo, users] = &seen.rows[..] else {
        panic!("two rows: {:?}", seen.rows);
    };
    assert!(echo.fields[&Field::Status].by_leadsync, "our late write");
    assert!(
        !users.fields[&Field::Status].by_leadsync,
        "a person typed it"
    );
    assert_eq!(
        echo.fields.keys().copied().collect::<Vec<_>>(),
        [Field::Status],
        "a linked record shows only the cells its change set"
    );
}

#[test]
fn an_unlinked_record_is_observed_whole_and_one_without_a_name_is_no_lead() {
    let ctx = airtable_ctx();
    let facts = LeadFacts {
        lead_id: "recA".into(),
        ..LeadFacts::default()
    };
    let mut nameless = record("client", RecordChangeKind::Changed, &[("Status", "New")]);
    nameless.change.unchanged.clear();
    let named = record("client", RecordChangeKind::Changed, &[("Status", "New")]);
    let mut warnings = Vec::new();
    let seen = observe_records(&ctx, &facts, group(vec![nameless, named]), &mut warnings);
    let [row] = &seen.rows[..] else {
        panic!("only the named record: {:?}", seen.rows);
    };
    assert_eq!(row.fields[&Field::Name].value, "Ada", "observed whole");
}

#[test]
fn an_unheld_api_record_waits_only_while_an_append_is_unfinished_and_not_for_ever() {
    let api = || group(vec![record("publicApi", RecordChangeKind::Created, &[])]);
    let unheld = LeadFacts {
        appends_unfinished: true,
        ..LeadFacts::default()
    };
    assert!(must_wait(&unheld, &api(), t(7)));
    let user = group(vec![record("client", RecordChangeKind::Created, &[])]);
    assert!(!must_wait(&unheld, &user, t(7)), "a person made it");
    let settled = LeadFacts::default();
    assert!(!must_wait(&settled, &api(), t(7)), "no create in flight");
    let held = LeadFacts {
        appends_unfinished: true,
        ..linked_facts()
    };
    assert!(!must_wait(&held, &api(), t(7)), "a lead holds it");
    let late = t(6) + chrono::Duration::milliseconds(UNLINKED_RECORD_WAIT_MS);
    assert!(!must_wait(&unheld, &api(), late), "waited long enough");
}
