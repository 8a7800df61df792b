//! The dispatcher's Airtable path against the emulator: batches of at most 10, cells cleared
//! and selected, deleted records, new records renaming their lead, lost answers, 429s.

use std::collections::BTreeMap;

use serde_json::json;

use super::bench::{AirtableBench, LOCKOUT, TABLE, fields, write};
use crate::model::LeadId;
use crate::sandbox::common::Faults;
use crate::store::links;
use crate::sync::mapping::split_description;
use crate::sync::plan::commands::Command;

/// A lead made from a card a user created in Trello, as reconciliation queues it: its new
/// record (with the card's URL and the lead's id) and the marker for the card.
async fn lead_from_card(b: &AirtableBench, lead: &str, name: &str, with_url: bool) -> String {
    let card = b.base.user_card(lead, "New", name);
    b.base.link(lead, Some(&card), None).await;
    let mut cells = BTreeMap::from([
        ("Lead ID".to_owned(), lead.to_owned()),
        ("Name".to_owned(), name.to_owned()),
        ("Status".to_owned(), "New".to_owned()),
    ]);
    if with_url {
        cells.insert("Trello Card".into(), format!("https://trello.com/c/{card}"));
    }
    let append = Command::AppendRow {
        lead_id: lead.into(),
        cells,
    };
    b.enqueue(&append).await;
    card
}

/// The record made for `lead`'s card, found by its name; its id.
fn record_named(b: &AirtableBench, name: &str) -> Vec<String> {
    (b.airtable.records(b.base_id(), TABLE).into_iter())
        .map(|r| r.id)
        .filter(|id| b.fields_of(id)["Name"] == name)
        .collect()
}

#[tokio::test]
async fn twelve_row_writes_go_out_in_two_requests_of_at_most_ten() {
    let b = AirtableBench::start().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = b.record(&[("Name", &format!("Lead {i}")), ("Company", "Old")]);
        b.base.link(&id, None, None).await;
        b.enqueue(&write(&id, &[("company", &format!("New {i}"))]))
            .await;
        ids.push(id);
    }
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!((report.claimed, report.sent), (12, 12));
    assert_eq!(b.calls("PATCH"), 2, "12 updates in 2 requests");
    for (i, id) in ids.iter().enumerate() {
        let f = b.fields_of(id);
        assert_eq!(
            f["Company"],
            format!("New {i}"),
            "header matched case-insensitively"
        );
        assert_eq!(f["Name"], format!("Lead {i}"), "cells not written are kept");
    }
}

#[tokio::test]
async fn a_cleared_cell_becomes_absent_and_a_status_text_selects_its_choice() {
    let b = AirtableBench::start().await;
    let one = b.record(&[
        ("Name", "Ada"),
        ("Email", "ada@example.com"),
        ("Status", "New"),
    ]);
    let two = b.record(&[("Name", "Bob"), ("Status", "New")]);
    for id in [&one, &two] {
        b.base.link(id, None, None).await;
    }
    b.enqueue(&write(&one, &[("Email", ""), ("Status", "Won")]))
        .await;
    // A status with no choice yet becomes one (typecast), as a new list name would.
    b.enqueue(&write(&two, &[("Status", "Lost")])).await;
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.sent, 2);
    let f = b.fields_of(&one);
    assert!(f.get("Email").is_none(), "cleared cell is absent: {f}");
    assert_eq!(f["Status"], "Won");
    assert_eq!(b.fields_of(&two)["Status"], "Lost");
    let tables = b.airtable.tables(b.base_id());
    let status = (tables[0].fields.iter())
        .find(|f| f.name == "Status")
        .expect("field");
    let choices: Vec<&str> = status.choices.iter().map(|c| c.name.as_str()).collect();
    assert!(
        choices.contains(&"Won") && choices.contains(&"Lost"),
        "{choices:?}"
    );
}

#[tokio::test]
async fn a_write_to_a_deleted_record_takes_the_row_deleted_path_and_the_others_land() {
    let b = AirtableBench::start().await;
    let kept = b.record(&[("Name", "Ada")]);
    let gone = b.record(&[("Name", "Bob")]);
    for id in [&kept, &gone] {
        b.base.link(id, None, None).await;
    }
    let gone_cmd = b.enqueue(&write(&gone, &[("Notes", "call back")])).await;
    b.enqueue(&write(&kept, &[("Notes", "call back")])).await;
    (b.airtable)
        .user_delete_record(b.base_id(), TABLE, &gone)
        .expect("delete");
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!((report.sent, report.skipped, report.dead), (1, 1, 0));
    assert_eq!(b.fields_of(&kept)["Notes"], "call back");
    let stored = b.base.stored(gone_cmd).await;
    assert_eq!(stored.status, "done", "nothing left to write: {stored:?}");
    assert_eq!(b.record_count(), 1);
}

#[tokio::test]
async fn a_new_record_renames_its_lead_to_the_record_id_and_marks_its_card_with_it() {
    let b = AirtableBench::start().await;
    let card = lead_from_card(&b, "L0000000000a1", "Ada", true).await;
    // Queued behind the create: it must reach the record once it exists.
    b.enqueue(&write("L0000000000a1", &[("Notes", "met at the fair")]))
        .await;
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.sent, 1);
    let made = record_named(&b, "Ada");
    assert_eq!(made.len(), 1);
    let rec = made[0].clone();
    let pool = &b.base.db.pool;
    let link = links::get_by_lead(pool, "a", &rec).await.expect("get");
    assert_eq!(
        link.expect("renamed link").card_id.as_deref(),
        Some(card.as_str())
    );
    assert!(
        links::get_by_lead(pool, "a", "L0000000000a1")
            .await
            .expect("get")
            .is_none()
    );
    let queued = b.outbox().await;
    let pending: Vec<_> = (queued.iter())
        .filter(|c| c.3 == "pending")
        .map(|c| (c.0.as_str(), c.1.as_str(), c.2.as_str()))
        .collect();
    assert_eq!(
        pending,
        [
            (rec.as_str(), "airtable", "write_row"),
            (rec.as_str(), "trello", "mark_card"),
            (rec.as_str(), "airtable", "write_row"),
        ],
        "the queued write, the card's marker and the id field, all under the record id"
    );
    // Next rounds: one command per lead at a time, in order.
    for _ in 0..3 {
        b.dispatcher.run_once().await.expect("round");
    }
    let f = b.fields_of(&rec);
    assert_eq!(f["Notes"], "met at the fair");
    assert_eq!(f["Lead ID"], json!(rec));
    assert_eq!(f["Trello Card"], format!("https://trello.com/c/{card}"));
    let desc = b.base.trello.card(&card).expect("card").desc;
    let marker = split_description(&desc).1;
    assert_eq!(marker, Some(LeadId::parse(&rec).expect("id")), "{desc}");
}

/// A create whose record was made but whose answer was lost is found on the retry, by the card
/// URL when the cells carry it, else by the lead id in the id field.
async fn lost_create_is_not_made_twice(with_url: bool) {
    let b = AirtableBench::start().await;
    // A first round reads the table's fields, so the fault below meets the create itself.
    let warm = b.record(&[("Name", "Warm")]);
    b.base.link(&warm, None, None).await;
    b.enqueue(&write(&warm, &[("Notes", "x")])).await;
    b.dispatcher.run_once().await.expect("warm-up");
    lead_from_card(&b, "L0000000000b2", "Bob", with_url).await;
    b.airtable.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(
        report.retried, 1,
        "the answer was lost: the outcome is unknown"
    );
    assert_eq!(record_named(&b, "Bob").len(), 1, "the record was made");
    b.base.make_retries_due().await;
    let report = b.dispatcher.run_once().await.expect("retry");
    assert_eq!(report.sent, 1);
    let made = record_named(&b, "Bob");
    assert_eq!(made.len(), 1, "no second record");
    assert_eq!(b.calls("POST"), 1, "adopted, not created again");
    let link = links::get_by_lead(&b.base.db.pool, "a", &made[0]).await;
    assert!(
        link.expect("get").is_some(),
        "the lead took the record's id"
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_its_card_url() {
    lost_create_is_not_made_twice(true).await;
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_the_lead_id_field() {
    lost_create_is_not_made_twice(false).await;
}

#[tokio::test]
async fn a_table_without_the_id_field_gets_records_without_it() {
    let b = AirtableBench::start_with(&fields(false)).await;
    lead_from_card(&b, "L0000000000c3", "Cy", true).await;
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!((report.sent, report.dead), (1, 0));
    let rec = record_named(&b, "Cy").pop().expect("made");
    let kinds: Vec<String> = b.outbox().await.into_iter().map(|c| c.2).collect();
    assert_eq!(
        kinds,
        ["append_row", "mark_card"],
        "no id write without the field"
    );
    assert!(b.fields_of(&rec).get("Lead ID").is_none());
}

#[tokio::test]
async fn a_429_is_retried_after_the_bases_lock_out() {
    let b = AirtableBench::start().await;
    let id = b.record(&[("Name", "Ada")]);
    b.base.link(&id, None, None).await;
    b.enqueue(&write(&id, &[("Phone", "+44 20 7946 0000")]))
        .await;
    b.airtable.gate().set_faults(Faults {
        fail_next: vec![429],
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.retried, 1, "the table read was refused: {report:?}");
    b.base.make_retries_due().await;
    let report = b.dispatcher.run_once().await.expect("retry");
    assert_eq!(report.sent, 1);
    assert_eq!(b.fields_of(&id)["Phone"], "+44 20 7946 0000");
    let calls = b.airtable.gate().calls().records();
    let refused = calls.iter().find(|c| c.status == 429).expect("a 429").at;
    let next = calls
        .iter()
        .find(|c| c.at > refused)
        .expect("a later call")
        .at;
    let waited = (next - refused).to_std().expect("later");
    assert!(
        waited >= LOCKOUT - std::time::Duration::from_millis(20),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn a_429_stops_the_rest_of_the_batch_which_is_retried() {
    let b = AirtableBench::start().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let id = b.record(&[("Name", &format!("Lead {i}"))]);
        b.base.link(&id, None, None).await;
        ids.push(id);
    }
    // Reads the table's fields, so the fault below meets the first update request.
    b.enqueue(&write(&ids[0], &[("Notes", "warm")])).await;
    b.dispatcher.run_once().await.expect("warm-up");
    for id in &ids {
        b.enqueue(&write(id, &[("Notes", "x")])).await;
    }
    b.airtable.gate().set_faults(Faults {
        fail_next: vec![429],
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!(report.retried, 25);
    assert_eq!(
        b.calls("PATCH"),
        2,
        "the warm-up and the refused one; no more"
    );
    b.base.make_retries_due().await;
    let report = b.dispatcher.run_once().await.expect("retry");
    assert_eq!(report.sent, 25);
    assert_eq!(b.calls("PATCH"), 5);
}
