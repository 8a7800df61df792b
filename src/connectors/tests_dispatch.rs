//! Dispatcher tests against both emulators: Trello commands, retries, dead letters, adoption,
//! and the sheet follow-ups they cause through the real Sheets connector (hence here, above the
//! engine).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::connectors::bench::{Bench, CARD_COL};
use crate::model::LeadId;
use crate::sandbox::common::Faults;
use crate::store::dispatch_support::note_outcome_unknown;
use crate::store::outbox;
use crate::sync::mapping::{compose_description, split_description};
use crate::sync::outbox::{DispatchOptions, DispatchReport};
use crate::sync::plan::commands::Command;

fn create(b: &Bench, lead: &str, name: &str) -> Command {
    Command::CreateCard {
        lead_id: lead.into(),
        list_id: b.list("New"),
        name: name.into(),
        desc: compose_description("met at the fair", &LeadId::parse(lead).expect("id")),
        custom: BTreeMap::from([
            (
                b.field("Email"),
                format!("{}@example.com", name.to_lowercase()),
            ),
            (b.field("Company"), "Acme".into()),
        ]),
    }
}

fn update(lead: &str, name: Option<&str>, id_list: Option<String>) -> Command {
    Command::UpdateCard {
        card_id: None,
        lead_id: lead.into(),
        name: name.map(Into::into),
        desc: None,
        id_list,
        closed: None,
    }
}

fn sent(n: usize) -> DispatchReport {
    DispatchReport {
        claimed: n,
        sent: n,
        ..DispatchReport::default()
    }
}

#[tokio::test]
async fn create_card_makes_one_marked_card_with_its_fields_and_writes_the_url_to_the_sheet() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada", "ada@example.com", "", "Acme", "New"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&create(&b, "L1", "Ada")).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run"), sent(1));

    let cards = b.trello.cards(&b.board.board_id);
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!(
        (card.name.as_str(), card.id_list.as_str()),
        ("Ada", b.list("New").as_str())
    );
    let (notes, marker) = split_description(&card.desc);
    assert_eq!(
        (notes.as_str(), marker.map(String::from)),
        ("met at the fair", Some("L1".into()))
    );
    assert_eq!(card.custom_texts[&b.field("Email")], "ada@example.com");
    assert_eq!(card.custom_texts[&b.field("Company")], "Acme");
    let link = b.get_link("L1").await;
    assert_eq!(link.card_id.as_deref(), Some(card.id.as_str()));
    let url = link.card_short_url.expect("short url");

    // The follow-up write of the card's URL goes out in the next round.
    assert_eq!(b.dispatcher.run_once().await.expect("run"), sent(1));
    assert_eq!(b.cell(2, CARD_COL), url);
    assert_eq!(
        b.dispatcher.run_once().await.expect("run"),
        DispatchReport::default()
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_adopts_the_card_it_made_instead_of_making_another() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"]]);
    b.link("L1", None, Some(2)).await;
    let id = b.enqueue(&create(&b, "L1", "Ada")).await;
    // The card is created, then the connection is reset before the answer arrives.
    b.trello.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.retried, report.sent), (1, 0));
    assert_eq!(
        b.trello.cards(&b.board.board_id).len(),
        1,
        "the create landed"
    );
    let stored = b.stored(id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    assert!(b.get_link("L1").await.card_id.is_none());

    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    let cards = b.trello.cards(&b.board.board_id);
    assert_eq!(cards.len(), 1, "adopted, not created again");
    assert_eq!(
        b.get_link("L1").await.card_id.as_deref(),
        Some(cards[0].id.as_str())
    );
    assert_eq!(cards[0].custom_texts[&b.field("Company")], "Acme");
}

#[tokio::test]
async fn an_adopted_card_keeps_what_a_user_changed_before_the_retry() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&create(&b, "L1", "Ada")).await;
    b.trello.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    assert_eq!(b.dispatcher.run_once().await.expect("run").retried, 1);
    let card = b.trello.cards(&b.board.board_id)[0].clone();
    // Before the retry a user moves and renames the card and types a company of their own;
    // the custom fields the lost answer left unset are still empty.
    b.trello
        .user_update_card(
            &card.id,
            &crate::connectors::trello::sandbox::UserCardChange {
                name: Some("Ada King".into()),
                id_list: Some(b.list("Contacted")),
                ..Default::default()
            },
        )
        .expect("user edit");
    b.trello
        .user_set_custom_field(&card.id, &b.field("Company"), "Babbage & Co")
        .expect("user field");
    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    let cards = b.trello.cards(&b.board.board_id);
    assert_eq!(cards.len(), 1, "adopted");
    let adopted = &cards[0];
    assert_eq!(adopted.name, "Ada King", "the rename is kept");
    assert_eq!(adopted.id_list, b.list("Contacted"), "the move is kept");
    assert_eq!(adopted.custom_texts[&b.field("Company")], "Babbage & Co");
    assert_eq!(adopted.custom_texts[&b.field("Email")], "ada@example.com");
}

#[tokio::test]
async fn a_create_left_in_flight_by_a_dispatcher_that_died_adopts_the_card_it_made() {
    let b = Bench::start().await;
    b.link("L1", None, None).await;
    let id = b.enqueue(&create(&b, "L1", "Ada")).await;
    // A dispatcher claims with a lease that has already run out, notes the create, and dies
    // after Trello made the card.
    let claimed = outbox::claim_due(&b.db, None, 10, Duration::ZERO)
        .await
        .expect("claim");
    assert_eq!(claimed[0].id, id);
    note_outcome_unknown(&b.db.pool, id, "sent")
        .await
        .expect("note");
    let card = b.user_card("L1", "New", "Ada");

    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(b.trello.cards(&b.board.board_id).len(), 1);
    assert_eq!(b.get_link("L1").await.card_id, Some(card));
}

#[tokio::test]
async fn a_card_already_linked_to_another_lead_dead_letters_the_create() {
    let b = Bench::start().await;
    // L2's card carries L1's marker (a copied description).
    let copied = b.user_card("L1", "New", "Copy");
    b.link("L2", Some(&copied), None).await;
    b.link("L1", None, None).await;
    let id = b.enqueue(&create(&b, "L1", "Ada")).await;
    b.trello.gate().set_faults(Faults {
        fail_next: vec![500],
        ..Faults::default()
    });
    assert_eq!(b.dispatcher.run_once().await.expect("run").retried, 1);
    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").dead, 1);
    let stored = b.stored(id).await;
    assert_eq!(stored.status, "dead");
    assert!(
        stored
            .last_error
            .expect("error")
            .contains("is linked to lead L2")
    );
    assert!(b.get_link("L1").await.card_id.is_none());
    assert_eq!(
        b.trello.card(&copied).expect("card").name,
        "Copy",
        "left as it was"
    );
}

#[tokio::test]
async fn update_card_moves_and_renames_the_linked_card_and_set_custom_field_fills_it() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    b.enqueue(&update(
        "L1",
        Some("Ada Lovelace"),
        Some(b.list("Contacted")),
    ))
    .await;
    b.enqueue(&Command::SetCustomField {
        lead_id: "L1".into(),
        field_id: b.field("Phone"),
        text: "+44 1".into(),
    })
    .await;
    assert_eq!(
        b.dispatcher.run_once().await.expect("run"),
        sent(1),
        "one per lead per round"
    );
    assert_eq!(b.dispatcher.run_once().await.expect("run"), sent(1));
    let now = b.trello.card(&card).expect("card");
    assert_eq!(
        (now.name.as_str(), now.id_list.as_str()),
        ("Ada Lovelace", b.list("Contacted").as_str())
    );
    assert_eq!(now.custom_texts[&b.field("Phone")], "+44 1");
}

#[tokio::test]
async fn a_deleted_card_clears_the_link_and_the_card_cell() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.rows(
        2,
        &[&["L1", "Ada", "", "", "", "New", "", "https://trello.com/c/x"]],
    );
    b.link("L1", Some(&card), Some(2)).await;
    b.trello.user_delete_card(&card).expect("delete");
    b.enqueue(&update("L1", Some("Ada L"), None)).await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.skipped, report.dead), (1, 0));
    let link = b.get_link("L1").await;
    assert_eq!((link.card_id, link.card_short_url), (None, None));
    assert_eq!(b.dispatcher.run_once().await.expect("run"), sent(1));
    assert_eq!(b.cell(2, CARD_COL), "");
    assert_eq!(b.cell(2, 2), "Ada", "the row keeps its data");
}

#[tokio::test]
async fn a_500_is_retried_later_with_backoff_and_then_sent() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    let id = b.enqueue(&update("L1", Some("Ada B"), None)).await;
    b.trello.gate().set_faults(Faults {
        fail_next: vec![500],
        ..Faults::default()
    });
    let before = crate::store::now_ms();
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.retried, report.sent), (1, 0));
    let stored = b.stored(id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("pending", 1));
    assert!(stored.next_attempt_at > before, "due again only later");
    assert_eq!(
        b.dispatcher.run_once().await.expect("run"),
        DispatchReport::default()
    );

    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run"), sent(1));
    assert_eq!(b.stored(id).await.status, "done");
    assert_eq!(b.trello.card(&card).expect("card").name, "Ada B");
}

#[tokio::test]
async fn a_bad_request_is_dead_lettered_with_its_error_at_once() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    let id = b.enqueue(&update("L1", Some("Ada B"), None)).await;
    b.trello.gate().set_faults(Faults {
        fail_next: vec![400],
        ..Faults::default()
    });
    assert_eq!(b.dispatcher.run_once().await.expect("run").dead, 1);
    let stored = b.stored(id).await;
    assert_eq!((stored.status.as_str(), stored.attempts), ("dead", 1));
    assert!(stored.last_error.expect("error").contains("bad request"));
}

#[tokio::test]
async fn retryable_failures_are_dead_lettered_once_the_attempts_run_out() {
    let b = Bench::start().await;
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), None).await;
    let id = b.enqueue(&update("L1", Some("Ada B"), None)).await;
    let d = b.dispatcher.clone().with_options(DispatchOptions {
        max_attempts: 2,
        ..DispatchOptions::default()
    });
    b.trello.gate().set_faults(Faults {
        fail_next: vec![503, 503],
        ..Faults::default()
    });
    assert_eq!(d.run_once().await.expect("run").retried, 1);
    b.make_retries_due().await;
    assert_eq!(d.run_once().await.expect("run").dead, 1);
    assert_eq!(b.stored(id).await.attempts, 2);
}

#[tokio::test]
async fn commands_without_a_card_or_link_complete_with_nothing_sent() {
    let b = Bench::start().await;
    b.link("L1", None, None).await;
    let a = b.enqueue(&update("L1", Some("x"), None)).await;
    let c = b.enqueue(&update("nobody", Some("x"), None)).await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.skipped, report.sent), (2, 0));
    assert_eq!(b.stored(a).await.status, "done");
    assert_eq!(b.stored(c).await.status, "done");
    assert_eq!(b.trello.gate().calls().count("PUT", "/"), 0);
}

#[tokio::test]
async fn run_stops_when_cancelled() {
    let b = Bench::start().await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(b.dispatcher.clone().run(shutdown.clone()));
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops")
        .expect("no panic");
}

#[tokio::test]
async fn many_leads_go_out_in_one_round_and_a_failing_lead_holds_back_only_itself() {
    let b = Bench::start().await;
    let mut cards = Vec::new();
    for i in 0..12 {
        let lead = format!("L{i}");
        let card = b.user_card(&lead, "New", "x");
        b.link(&lead, Some(&card), None).await;
        b.enqueue(&update(&lead, Some(&format!("Lead {i}")), None))
            .await;
        cards.push(card);
    }
    // Whichever lead's call comes first is refused for good.
    b.trello.gate().set_faults(Faults {
        fail_next: vec![400],
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.claimed, report.sent, report.dead), (12, 11, 1));
    let renamed = cards
        .iter()
        .filter(|c| b.trello.card(c).expect("card").name.starts_with("Lead "))
        .count();
    assert_eq!(renamed, 11);
}
