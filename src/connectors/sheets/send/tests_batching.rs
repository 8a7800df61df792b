//! How many sheet calls a batch costs: sheet writes wait while the rounds are full of Trello
//! work and then go in one batch; a body past Google's recommended size is split.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connectors::bench::{Bench, SS};
use crate::sync::outbox::DispatchOptions;
use crate::sync::plan::commands::Command;

fn note(lead: &str, text: &str) -> Command {
    Command::WriteRow {
        lead_id: lead.into(),
        row_hint: None,
        expect_name: None,
        cells: BTreeMap::from([("Notes".to_owned(), text.to_owned())]),
    }
}

fn rename(lead: &str, name: &str) -> Command {
    Command::UpdateCard {
        card_id: None,
        lead_id: lead.into(),
        name: Some(name.into()),
        desc: None,
        id_list: None,
        closed: None,
    }
}

fn sheet_calls(b: &Bench) -> Vec<String> {
    (b.google.gate().calls().records().into_iter())
        .filter(|r| r.path.starts_with(&format!("/v4/spreadsheets/{SS}/values")))
        .map(|r| r.method)
        .collect()
}

/// Three leads with a card to rename, two with a row to write.
async fn trello_and_sheet_work(b: &Bench) {
    for i in 1..=3 {
        let lead = format!("T{i}");
        let card = b.user_card(&lead, "New", "x");
        b.link(&lead, Some(&card), None).await;
        b.enqueue(&rename(&lead, &format!("Card {i}"))).await;
    }
    b.rows(2, &[&["S1", "Ada"], &["S2", "Bob"]]);
    for lead in ["S1", "S2"] {
        b.link(lead, None, Some(2)).await;
        b.enqueue(&note(lead, &format!("note {lead}"))).await;
    }
    b.google.gate().calls().clear();
}

#[tokio::test]
async fn sheet_writes_wait_while_rounds_are_full_of_trello_work_then_go_in_one_batch() {
    let b = Bench::start().await;
    trello_and_sheet_work(&b).await;
    let d = b.dispatcher.clone().with_options(DispatchOptions {
        batch: 2,
        tracker_linger: Duration::from_secs(3600),
        ..DispatchOptions::default()
    });
    let first = d.run_once().await.expect("round");
    assert_eq!(
        (first.claimed, first.sent),
        (2, 2),
        "a full round of Trello"
    );
    assert!(sheet_calls(&b).is_empty(), "{:?}", sheet_calls(&b));
    let second = d.run_once().await.expect("round");
    assert_eq!(
        (second.claimed, second.sent),
        (3, 3),
        "the last card, both rows"
    );
    assert_eq!(sheet_calls(&b), ["GET", "POST", "GET"]);
    assert_eq!(
        (b.cell(2, 7), b.cell(3, 7)),
        ("note S1".into(), "note S2".into())
    );
}

#[tokio::test]
async fn sheet_writes_that_waited_their_linger_go_out_beside_a_full_round() {
    let b = Bench::start().await;
    trello_and_sheet_work(&b).await;
    let d = b.dispatcher.clone().with_options(DispatchOptions {
        batch: 2,
        tracker_linger: Duration::ZERO,
        ..DispatchOptions::default()
    });
    let first = d.run_once().await.expect("round");
    assert_eq!((first.claimed, first.sent), (4, 4));
    assert_eq!(sheet_calls(&b), ["GET", "POST", "GET"]);
}

#[tokio::test]
async fn a_batch_past_two_megabytes_is_split_into_batch_updates_with_one_read_back() {
    let b = Bench::start().await;
    let text = "n".repeat(45_000);
    let mut leads = Vec::new();
    for i in 0..40 {
        let lead = format!("L{i}");
        b.rows(2 + i, &[&[&lead, &format!("Name {i}")]]);
        b.link(&lead, None, None).await;
        b.enqueue(&note(&lead, &format!("{i} {text}"))).await;
        leads.push(lead);
    }
    b.google.gate().calls().clear();
    let report = b.dispatcher.run_once().await.expect("round");
    assert_eq!((report.claimed, report.sent), (40, 40));
    assert_eq!(
        sheet_calls(&b),
        ["GET", "POST", "POST", "GET"],
        "1.8 MB of notes: two batchUpdates, one read before and one after"
    );
    for i in 0..40 {
        assert!(b.cell(2 + i, 7).starts_with(&format!("{i} n")));
    }
}
