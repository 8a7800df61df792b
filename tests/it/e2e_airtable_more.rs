//! More end-to-end families on an Airtable pair: a card made in Trello becomes a record (its
//! lead renamed to the record id), a conflict decided and logged with Airtable's names, and 30 %
//! faults on both APIs ending with every record and card equal and none twice.

use std::collections::HashSet;
use std::time::Duration;

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::airtable::TABLE;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::model::TrackerKind;
use leadsync::sandbox::common::Faults;
use leadsync::store::activity;
use leadsync::sync::mapping::split_description;

use crate::e2e::{P, SETTLE};
use crate::e2e_airtable::{
    airtable_world, base, eventually, fields, marker, user_creates, user_updates,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_card_made_in_trello_becomes_a_record_whose_id_is_the_lead_id() {
    let w = airtable_world().await;
    let list = w.list_id(P, "Qualified");
    let card_id = w
        .trello
        .user_create_card(&list, "Grace Hopper", "compiler pioneer")
        .expect("card");
    // Card creations reach rows through reconciliation (it reads the whole card first).
    w.reconcile(SETTLE).await.expect("reconciles");
    let at = w.airtable.as_ref().expect("emulator");
    eventually(&w, "a record for the card, and its marker", |w| {
        at.records(&base(w), TABLE).len() == 1
            && w.trello
                .card(&card_id)
                .is_some_and(|c| marker(&c).starts_with("rec"))
    })
    .await;
    let record = at.records(&base(&w), TABLE).remove(0);
    let card = w.trello.card(&card_id).expect("card");
    assert_eq!(
        marker(&card),
        record.id,
        "the card's marker is the record id"
    );
    let f = fields(&w, &record.id);
    assert_eq!(f["Name"], "Grace Hopper");
    assert_eq!(f["Status"], "Qualified");
    assert_eq!(f["Notes"], "compiler pioneer");
    assert_eq!(
        f["Lead ID"],
        record.id.as_str(),
        "the id field holds the record id"
    );
    assert!(f["Trello Card"].as_str().is_some_and(|u| !u.is_empty()));
    // The lead is known by the record id from now on: an edit there reaches the card.
    user_updates(&w, &record.id, &[("Status", "Lost")]);
    eventually(&w, "the record's status on the card", |w| {
        w.trello
            .card(&card_id)
            .is_some_and(|c| w.list_name(P, &c.id_list) == "Lost")
    })
    .await;
    assert_eq!(w.cards(P).len(), 1);
    assert_eq!(at.records(&base(&w), TABLE).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_is_decided_by_the_policy_and_logged_with_airtables_names() {
    let w = crate::e2e::world_with(WorldOptions {
        tracker: TrackerKind::Airtable,
        debounce_ms: 600,
        ..WorldOptions::default()
    })
    .await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let card = w.card_named(P, "Ada").expect("card");
    // Both sides rename within the debounce window; Trello's change is the later one.
    user_updates(&w, &rec, &[("Name", "Ada (airtable)")]);
    tokio::time::sleep(Duration::from_millis(30)).await;
    w.user_updates_card(
        &card.id,
        UserCardChange {
            name: Some("Ada (trello)".into()),
            ..UserCardChange::default()
        },
    )
    .expect("renamed");
    eventually(&w, "both sides agree", |w| {
        fields(w, &rec)["Name"] == "Ada (trello)"
            && w.trello
                .card(&card.id)
                .is_some_and(|c| c.name == "Ada (trello)")
    })
    .await;
    let db = &w.state().expect("running").db;
    let entries = activity::recent(&db.pool, Some(&rec), 50)
        .await
        .expect("activity");
    let conflict = entries
        .iter()
        .find(|e| e.decision == "conflict")
        .expect("a conflict was logged");
    assert_eq!(conflict.field.as_deref(), Some("name"));
    assert_eq!(conflict.detail["winner"], "trello");
    assert_eq!(conflict.detail["policy"], "last_writer_wins");
    assert!(conflict.detail["airtable_changed_at"].is_string());
    assert!(conflict.detail["airtable_value_hash"].is_string());
    assert!(conflict.detail.get("sheet_changed_at").is_none());
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
async fn thirty_percent_faults_on_both_apis_end_equal_with_no_duplicates() {
    let w: World = airtable_world().await;
    let at = w.airtable.as_ref().expect("emulator");
    w.trello.gate().set_faults(faults());
    at.gate().set_faults(faults());
    let names: Vec<String> = (1..=20).map(|i| format!("Lead {i:02}")).collect();
    let mut records = Vec::new();
    for name in &names {
        records.push(user_creates(&w, &[("Name", name), ("Status", "New")]));
    }
    // Two cards made in Trello become records too, under the same faults.
    let list = w.list_id(P, "Contacted");
    for name in ["Trello 1", "Trello 2"] {
        w.trello.user_create_card(&list, name, "").expect("card");
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");
    for name in &names[..8] {
        if let Some(card) = w.card_named(P, name) {
            w.user_moves_card(P, &card.id, "Qualified").expect("move");
        }
    }
    for rec in &records[8..14] {
        user_updates(&w, rec, &[("Status", "Lost")]);
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");
    w.trello.gate().set_faults(Faults::default());
    at.gate().set_faults(Faults::default());
    w.reconcile(SETTLE).await.expect("reconciles");
    w.reconcile(SETTLE).await.expect("reconciles again");
    assert!(
        w.trello.gate().calls().count_status(429) + at.gate().calls().count_status(429) > 0,
        "faults were really injected"
    );
    let cards = w.cards(P);
    let rows = at.records(&base(&w), TABLE);
    assert_eq!(cards.len(), 22, "one card per lead: {:?}", card_names(&w));
    assert_eq!(rows.len(), 22, "one record per lead");
    let markers: HashSet<String> = cards.iter().map(marker).collect();
    let ids: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        markers, ids,
        "every card is a record's and every record a card's"
    );
    for card in &cards {
        let f = fields(&w, &marker(card));
        assert_eq!(f["Name"], card.name.as_str());
        assert_eq!(
            f["Status"],
            w.list_name(P, &card.id_list).as_str(),
            "{}",
            card.name
        );
        let notes = split_description(&card.desc).0;
        assert_eq!(f["Notes"].as_str().unwrap_or_default(), notes);
    }
    for (i, name) in names.iter().enumerate() {
        let card = w.card_named(P, name).expect("card");
        let expected = match i {
            0..8 => "Qualified",
            8..14 => "Lost",
            _ => "New",
        };
        assert_eq!(w.list_name(P, &card.id_list), expected, "{name}");
    }
}

fn card_names(w: &World) -> Vec<String> {
    w.cards(P).into_iter().map(|c| c.name).collect()
}
