//! The dispatcher's custom-field writes against the emulator: a new card's fields and a linked
//! card's changed fields each go out in one `PUT /cards/{id}/customFields`; a lost answer is
//! retried without harm; rows stored before the upgrade (`set_custom_field`) still send.

use std::collections::BTreeMap;

use crate::connectors::bench::Bench;
use crate::model::LeadId;
use crate::sandbox::common::Faults;
use crate::store::outbox::{self, NewCommand};
use crate::sync::mapping::compose_description;
use crate::sync::plan::commands::Command;

/// Trello calls that change something, as `METHOD path`.
fn trello_writes(b: &Bench) -> Vec<String> {
    b.trello
        .gate()
        .calls()
        .records()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn item_actions(b: &Bench, card: &str) -> usize {
    b.trello
        .card_actions(card)
        .iter()
        .filter(|a| a["type"] == "updateCustomFieldItem")
        .count()
}

fn create(b: &Bench, custom: BTreeMap<String, String>) -> Command {
    Command::CreateCard {
        lead_id: "L1".into(),
        list_id: b.list("New"),
        name: "Ada".into(),
        desc: compose_description("", &LeadId::parse("L1").expect("id")),
        custom,
    }
}

#[tokio::test]
async fn a_new_card_with_three_custom_fields_costs_two_trello_writes() {
    let b = Bench::start().await;
    b.link("L1", None, None).await;
    let custom = BTreeMap::from([
        (b.field("Email"), "ada@example.com".to_owned()),
        (b.field("Phone"), "+44 1".to_owned()),
        (b.field("Company"), "Acme".to_owned()),
    ]);
    b.enqueue(&create(&b, custom.clone())).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    let card = b.get_link("L1").await.card_id.expect("linked");
    assert_eq!(
        trello_writes(&b),
        [
            "POST /1/cards".to_owned(),
            format!("PUT /1/cards/{card}/customFields")
        ]
    );
    assert_eq!(b.trello.card(&card).expect("card").custom_texts, custom);
    assert_eq!(
        item_actions(&b, &card),
        3,
        "one action per field, for echo detection"
    );
}

#[tokio::test]
async fn a_new_card_without_custom_fields_costs_one_trello_write() {
    let b = Bench::start().await;
    b.link("L1", None, None).await;
    b.enqueue(&create(&b, BTreeMap::new())).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(trello_writes(&b), ["POST /1/cards"]);
}

#[tokio::test]
async fn changed_fields_of_a_linked_card_go_out_in_one_call_clears_included() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.trello
        .user_set_custom_field(&card, &b.field("Phone"), "+44 1")
        .expect("phone");
    b.link("L1", Some(&card), None).await;
    let fields = BTreeMap::from([
        (b.field("Email"), "ada@example.com".to_owned()),
        (b.field("Phone"), String::new()),
        (b.field("Company"), "Acme".to_owned()),
    ]);
    b.enqueue(&Command::SetCustomFields {
        lead_id: "L1".into(),
        fields,
    })
    .await;
    b.trello.gate().calls().clear();
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(
        trello_writes(&b),
        [format!("PUT /1/cards/{card}/customFields")]
    );
    let texts = b.trello.card(&card).expect("card").custom_texts;
    assert_eq!(
        texts,
        BTreeMap::from([
            (b.field("Email"), "ada@example.com".to_owned()),
            (b.field("Company"), "Acme".to_owned()),
        ])
    );
}

/// Issue 12: the batch write is a PUT of values, so when Trello made the change and the answer
/// was lost, the dispatcher's retry sends it again and that changes nothing more.
#[tokio::test]
async fn a_custom_fields_write_whose_answer_was_lost_is_retried_without_duplicates() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    let fields = BTreeMap::from([
        (b.field("Email"), "ada@example.com".to_owned()),
        (b.field("Company"), "Acme".to_owned()),
    ]);
    let id = b
        .enqueue(&Command::SetCustomFields {
            lead_id: "L1".into(),
            fields: fields.clone(),
        })
        .await;
    b.trello.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.retried, report.sent), (1, 0));
    assert_eq!(
        b.trello.card(&card).expect("card").custom_texts,
        fields,
        "the change was made"
    );
    assert_eq!(b.stored(id).await.status, "pending");

    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(b.stored(id).await.status, "done");
    assert_eq!(b.trello.card(&card).expect("card").custom_texts, fields);
    let puts = b
        .trello
        .gate()
        .calls()
        .count("PUT", &format!("/1/cards/{card}/customFields"));
    assert_eq!(puts, 2, "sent twice");
    assert_eq!(
        item_actions(&b, &card),
        2,
        "one action per field: the retry changed nothing"
    );
}

#[tokio::test]
async fn a_set_custom_field_row_stored_before_the_upgrade_still_sends() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    // The payload exactly as the previous version stored it.
    let payload = serde_json::json!({"kind": "set_custom_field", "lead_id": "L1",
        "field_id": b.field("Phone"), "text": "+44 1"});
    let old = NewCommand {
        pair: "a".into(),
        lead_id: Some("L1".into()),
        target: "trello".into(),
        kind: "set_custom_field".into(),
        payload,
        idempotency_key: "before-the-upgrade".into(),
    };
    assert!(outbox::enqueue(&b.db.pool, &old).await.expect("enqueue"));
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    let texts = b.trello.card(&card).expect("card").custom_texts;
    assert_eq!(
        texts.get(&b.field("Phone")).map(String::as_str),
        Some("+44 1")
    );
}
