//! A mirror's twins around lost answers and archives: a twin found again by a reconciliation is
//! in the activity log, and a card archived before its twin is made gets none.

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::sandbox::common::Faults;

use crate::mirror_support::{
    a_pass_failed, events_stored, held, mirror_world, redeliver_losing_third_answer,
};

/// A twin whose create answer was lost is found again by the reconciliation a restart starts
/// with, from the twin's own board (a before b): the activity log still shows the card copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_twin_found_by_a_reconciliation_is_logged_as_copied() {
    let mut m = mirror_world("last_writer_wins").await;
    m.w.trello.hold_deliveries(true);
    let id =
        m.w.trello
            .user_create_card(&m.b.lists["Backlog"], "Found", "")
            .expect("card");
    let jobs = held(&m.w, 1).await;
    // Read, marked, then the twin's create on board a is made and its answer lost.
    redeliver_losing_third_answer(&m.w, jobs);
    // Later deliveries (the twin's own createCard) are lost: only a reconciliation finds it.
    events_stored(&m.w, 1).await;
    m.w.trello.drop_deliveries(true);
    a_pass_failed(&m.w).await;
    // Its retries fail before writing anything, until the restart's reconciliation has run.
    m.w.trello.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    m.w.stop_app().await.expect("stops");
    m.w.trello.gate().set_faults(Faults::default());
    m.w.trello.drop_deliveries(false);
    m.w.start_app().await.expect("starts");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    assert_eq!((twin.name.as_str(), m.cards_a().len()), ("Found", 1));
    let copies = m.activity("copy_to_a").await;
    assert!(
        copies.iter().any(|(field, _)| field == "card"),
        "the twin's creation is in the activity log: {copies:?}"
    );
}

/// The twin's create fails; the card is archived before it is tried again: the archived card
/// gets no twin, and stays archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_archived_before_its_twin_is_made_gets_none_and_stays_archived() {
    let m = mirror_world("last_writer_wins").await;
    m.w.trello.gate().set_faults(Faults {
        fail_next: vec![200, 200, 400],
        ..Faults::default()
    });
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Late", "")
            .expect("card");
    a_pass_failed(&m.w).await;
    // Every call fails until the card is archived, so no retry comes before it.
    m.w.trello.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    m.edit(
        &id,
        UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        },
    );
    m.w.trello.gate().set_faults(Faults::default());
    m.settle().await;
    assert!(m.card(&id).closed, "the user's archive stays");
    assert!(m.cards_b().is_empty(), "no twin: {:?}", m.cards_b());
}
