//! End to end under trouble: webhooks that never arrive and APIs that fail a third of the calls.

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::sandbox::common::Faults;

use crate::e2e::{NAME, P, SETTLE, STATUS, add_lead, assert_sides_equal, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_webhook_is_repaired_by_reconciliation() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Donald Knuth", "New").await;

    w.trello.drop_deliveries(true);
    w.user_updates_card(
        &card.id,
        UserCardChange {
            name: Some("Donald E. Knuth".into()),
            ..UserCardChange::default()
        },
    )
    .expect("rename");
    w.user_moves_card(P, &card.id, "Qualified").expect("move");
    w.settle(SETTLE).await.expect("settles");
    let dropped = w.trello.deliveries().iter().filter(|d| d.dropped).count();
    assert_eq!(dropped, 2, "both webhooks were lost");
    assert_eq!(w.rows(P)[0][NAME], "Donald Knuth", "nothing arrived yet");
    w.trello.drop_deliveries(false);

    w.reconcile(SETTLE).await.expect("reconciles");
    let row = &w.rows(P)[0];
    assert_eq!(row[NAME], "Donald E. Knuth");
    assert_eq!(row[STATUS], "Qualified");
    let after = w.trello.card(&card.id).expect("card");
    assert_eq!(after.name, "Donald E. Knuth", "Trello's edit is kept");
    assert_eq!(w.cards(P).len(), 1);
    assert_sides_equal(&w, P);
}

fn faults() -> Faults {
    Faults {
        error_rate: 0.3,
        status_429_share: 0.5,
        retry_after_secs: Some(0),
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_while_thirty_leads_are_created_and_twenty_moved_end_equal() {
    let w = world().await;
    w.trello.gate().set_faults(faults());
    w.google.gate().set_faults(faults());

    let names: Vec<String> = (1..=30).map(|i| format!("Lead {i:02}")).collect();
    // Pasted in three blocks of ten, each its own Apps Script event.
    for block in 0..3u32 {
        let rows: Vec<[&str; 7]> = names[(block * 10) as usize..(block * 10 + 10) as usize]
            .iter()
            .map(|n| ["", n.as_str(), "", "", "", "New", ""])
            .collect();
        let refs: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
        w.user_edits_rows(P, 2 + block * 10, &refs)
            .await
            .expect("paste");
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");

    // Ten cards are moved in Trello, ten statuses changed in the sheet, still under faults.
    for name in &names[..10] {
        let card = w.card_named(P, name).expect("the lead has a card");
        w.user_moves_card(P, &card.id, "Contacted").expect("move");
    }
    for row in 12..22u32 {
        w.user_edits_cell(P, row, "Status", "Qualified")
            .await
            .expect("edit");
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");

    w.trello.gate().set_faults(Faults::default());
    w.google.gate().set_faults(Faults::default());
    w.reconcile(SETTLE).await.expect("reconciles");
    w.settle(SETTLE).await.expect("settles");

    assert!(
        w.trello.gate().calls().count_status(429) + w.google.gate().calls().count_status(429) > 0,
        "faults were really injected"
    );
    let rows = w.rows(P);
    assert_eq!(rows.len(), 30);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[NAME], names[i]);
        let expected = match i {
            0..10 => "Contacted",
            10..20 => "Qualified",
            _ => "New",
        };
        assert_eq!(row[STATUS], expected, "{row:?}");
    }
    assert_eq!(w.cards(P).len(), 30);
    assert!(w.cards(P).iter().all(|c| !c.closed));
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_lost_after_trello_made_the_card_create_no_duplicates() {
    let w = world().await;
    // A third of Trello's answers are cut off after the change was made.
    w.trello.gate().set_faults(Faults {
        reset_rate: 0.3,
        after_handler: true,
        ..Faults::default()
    });
    let names: Vec<String> = (1..=10).map(|i| format!("Reset {i:02}")).collect();
    let rows: Vec<[&str; 7]> = names
        .iter()
        .map(|n| ["", n.as_str(), "x@example.com", "", "", "Contacted", ""])
        .collect();
    let refs: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
    w.user_edits_rows(P, 2, &refs).await.expect("paste");
    w.settle(SETTLE * 3).await.expect("settles under faults");
    w.trello.gate().set_faults(Faults::default());
    w.reconcile(SETTLE).await.expect("reconciles");

    assert!(
        w.trello.gate().calls().count_status(0) > 0,
        "connections were really reset"
    );
    let cards = w.cards(P);
    assert_eq!(cards.len(), 10, "{cards:?}");
    for card in &cards {
        assert_eq!(w.list_name(P, &card.id_list), "Contacted");
        let email = card.custom_texts.get(&w.field_id(P, "Email"));
        assert_eq!(email.map(String::as_str), Some("x@example.com"));
    }
    assert_sides_equal(&w, P);
}
