//! A mirror's passes racing each other or the users (issue 14's chaos classes, each made
//! deterministic): a one-off reconciliation whose listing is older than the worker's twin, and a
//! twin deleted while its details were being copied, or edited by its user before they were; a
//! reconciliation's conflict decided by the cards' histories.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::sandbox::common::Faults;

use crate::e2e::SETTLE;
use crate::helpers::{clock_passes, eventually};
use crate::mirror_support::{a_pass_failed, held, marker, mirror_world, name, one_off_engine};

/// A one-off reconciliation lists board a (the new card without a twin), then board b, whose
/// answer comes late; meanwhile the worker gives the card its twin. The reconciliation's listing
/// of b lacks that twin: it must read it, not take it for deleted (archiving the user's card),
/// nor make a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_listed_before_the_twin_was_made_neither_archives_nor_makes_another() {
    let m = mirror_world("last_writer_wins").await;
    m.w.trello.hold_deliveries(true);
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Race", "")
            .expect("card");
    let jobs = held(&m.w, 1).await;
    let engine = one_off_engine(&m).await.expect("a one-off engine");
    let listings_a = format!("/1/boards/{}/cards", m.a.board_id);
    let listed_a = || m.w.trello.gate().calls().count("GET", &listings_a);
    let before = listed_a();
    // Board a's listing passes; board b's is read at once and answered seconds later.
    m.w.trello.gate().set_faults(Faults {
        fail_next: vec![200],
        hang_next: 1,
        hang_for: Duration::from_secs(3),
        after_handler: true,
        ..Faults::default()
    });
    let reconciliation = tokio::spawn(async move { engine.reconcile_all().await });
    eventually("board a is listed", SETTLE, || async {
        (listed_a() > before).then_some(())
    })
    .await;
    for job in jobs {
        m.w.trello.redeliver(job);
    }
    eventually("the worker made the twin", SETTLE, || async {
        let marked = marker(&m.card(&id))?;
        let twins = m
            .cards_b()
            .into_iter()
            .filter(|c| marker(c) == Some(marked.clone()));
        (twins.count() == 1).then_some(())
    })
    .await;
    assert!(
        reconciliation.await.expect("joins"),
        "the reconciliation ran"
    );
    m.settle().await;
    assert!(!m.card(&id).closed, "the user's card stays open");
    assert_eq!(m.cards_b().len(), 1, "one twin: {:?}", m.cards_b());
    assert_eq!(m.twin_of(&m.card(&id)).name, "Race");
    assert!(
        m.activity("copy_to_a").await.is_empty(),
        "nothing came back to a"
    );
}

/// The twin is made, then copying the card's label to it fails; before the retry, a user deletes
/// the twin. The deleted twin archives the card (CONTRACT §8), and no twin is made again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twin_deleted_while_its_details_were_copied_archives_the_card_and_is_not_made_again() {
    let m = mirror_world("last_writer_wins").await;
    let hot =
        m.w.trello
            .user_create_label(&m.a.board_id, "Hot", Some("red"))
            .expect("label");
    m.w.trello.hold_deliveries(true);
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Tagged", "")
            .expect("card");
    m.w.trello
        .user_card_label(&id, &hot, true)
        .expect("labelled");
    let jobs = held(&m.w, 2).await;
    // The card read, marked, its twin made; then the read of board b's labels fails.
    m.w.trello.gate().set_faults(Faults {
        fail_next: vec![200, 200, 200, 400],
        ..Faults::default()
    });
    for job in jobs {
        m.w.trello.redeliver(job);
    }
    a_pass_failed(&m.w).await;
    // Every call fails until the twin is deleted, so no retry comes before it.
    m.w.trello.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let twins = m.cards_b();
    assert_eq!(twins.len(), 1, "the twin was made: {twins:?}");
    m.w.trello.user_delete_card(&twins[0].id).expect("deleted");
    m.w.trello.gate().set_faults(Faults::default());
    m.settle().await;
    assert!(
        m.cards_b().is_empty(),
        "no twin made again: {:?}",
        m.cards_b()
    );
    assert!(
        m.card(&id).closed,
        "the card of the deleted twin is archived"
    );
}

/// Two labels put on b are copied to a in one call (the whole set), which fails, so a holds
/// none. Before the retry, the user of b takes the first label off again. The retry finishes
/// its own copy (a's empty set is what it held when the copy was decided, not an edit of a's
/// user) with b's newer value, even under `prefer_a`, which a conflict would have given to a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_label_copy_is_finished_with_the_user_s_newer_edit() {
    let m = mirror_world("prefer_a").await;
    let t = &m.w.trello;
    let mut on_b = Vec::new();
    for (name, color) in [("Cold", "blue"), ("Hot", "red")] {
        t.user_create_label(&m.a.board_id, name, Some(color))
            .expect("label on a");
        on_b.push(
            t.user_create_label(&m.b.board_id, name, Some(color))
                .expect("label on b"),
        );
    }
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Halves", "")
        .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    // Both cards read, a's labels read; the one write of the set fails.
    t.gate().set_faults(Faults {
        fail_next: vec![200, 200, 200, 400],
        ..Faults::default()
    });
    for label in &on_b {
        t.user_card_label(&twin.id, label, true).expect("labelled");
    }
    a_pass_failed(&m.w).await;
    assert!(t.card_label_names(&id).is_empty(), "the copy failed whole");
    // Every call fails until b's user has changed the labels again.
    t.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    t.user_card_label(&twin.id, &on_b[0], false)
        .expect("unlabelled");
    t.gate().set_faults(Faults::default());
    m.settle().await;
    assert_eq!(
        t.card_label_names(&twin.id),
        ["Hot"],
        "b's newer edit stays"
    );
    assert_eq!(t.card_label_names(&id), ["Hot"], "and reaches a");
}

/// A card with a checklist is made on a; its twin is made on b, and before the checklist is
/// copied there (the copy's first call held up), b's user adds a checklist of that name to the
/// twin. The copy reads the twin as it is now: one checklist of that name on each card, never
/// two; the two users' values are one conflict, which `prefer_b` gives to b (seed 31).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checklist_added_to_a_new_twin_before_the_copy_is_not_made_twice() {
    let m = mirror_world("prefer_b").await;
    let t = &m.w.trello;
    t.hold_deliveries(true);
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Listed", "")
        .expect("card");
    let list = t.user_add_checklist(&id, "Tasks").expect("checklist");
    t.user_add_item(&list, "x").expect("item");
    let jobs = held(&m.w, 3).await;
    // The card read, marked, its twin made; the next call waits a while before it is handled.
    t.gate().set_faults(Faults {
        fail_next: vec![200, 200, 200],
        hang_next: 1,
        hang_for: Duration::from_secs(3),
        ..Faults::default()
    });
    for job in jobs {
        t.redeliver(job);
    }
    let twin = eventually("the twin is made", SETTLE, || async {
        m.cards_b().first().map(|c| c.id.clone())
    })
    .await;
    let mine = t.user_add_checklist(&twin, "Tasks").expect("on the twin");
    t.user_add_item(&mine, "y").expect("item");
    m.settle().await;
    m.one_checklist([&id, &twin], "Tasks", &["y"], "b's");
    m.one_conflict("checklist:Tasks").await;
}

/// Both cards of a link renamed while their deliveries are lost, b's the later. A
/// reconciliation finds the conflict without change times (it reads the boards, not events),
/// reads them from the cards' histories, and `last_writer_wins` gives it to b, not to side a
/// as a conflict of unknown times (seed 18).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_s_conflict_goes_to_the_later_edit_by_the_cards_histories() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Old", "")
        .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id)).id;
    t.hold_deliveries(true);
    m.edit(&id, name("From a"));
    // b's edit later by the board's clock: it waits for the clock to pass a's.
    clock_passes().await;
    m.edit(&twin, name("From b"));
    drop(held(&m.w, 2).await);
    let engine = one_off_engine(&m).await.expect("a one-off engine");
    assert!(engine.reconcile_all().await, "the reconciliation ran");
    assert_eq!(m.card(&id).name, "From b", "b's later edit wins");
    assert_eq!(m.card(&twin).name, "From b");
    m.one_conflict("name").await;
}

/// A twin's create lands but its answer is lost; before the retry finds the twin by its marker,
/// a's user renames the card and b's user edits the twin's description and labels it. The
/// fields the create carried were agreed before it was sent, and the twin had no details yet:
/// each edit is a change the merge copies, none is reverted to the card as the retry reads it
/// (seed 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_before_a_lost_create_s_twin_is_found_again_are_kept() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let hot = t
        .user_create_label(&m.b.board_id, "Hot", Some("red"))
        .expect("label");
    t.hold_deliveries(true);
    let id = t
        .user_create_card(&m.a.lists["To Do"], "First", "")
        .expect("card");
    let jobs = held(&m.w, 1).await;
    // The card read, marked; the twin made and the create's answer lost; then every call
    // fails until the users' edits are made, so no retry comes before them.
    let mut fail_next = vec![200, 200, 0];
    fail_next.extend([500; 200]);
    t.gate().set_faults(Faults {
        fail_next,
        after_handler: true,
        ..Faults::default()
    });
    for job in jobs {
        t.redeliver(job);
    }
    eventually("the twin is made", SETTLE, || async {
        (!m.cards_b().is_empty()).then_some(())
    })
    .await;
    let twin = m.cards_b().first().expect("the twin was made").clone();
    let link = marker(&twin).expect("the twin's marker");
    // The edits' deliveries are lost: the failed pass's retry finds the twin by its marker.
    t.hold_deliveries(true);
    m.edit(&id, name("Renamed on a"));
    let desc = UserCardChange {
        desc: Some(format!("Told on b\n\nleadsync:{link}")),
        ..UserCardChange::default()
    };
    m.edit(&twin.id, desc);
    t.user_card_label(&twin.id, &hot, true).expect("labelled");
    drop(held(&m.w, 3).await);
    t.gate().set_faults(Faults::default());
    m.settle().await;
    assert_eq!(m.cards_b().len(), 1, "one twin: {:?}", m.cards_b());
    for card in [&id, &twin.id] {
        let card = m.card(card);
        assert_eq!(card.name, "Renamed on a", "a's rename kept");
        assert!(card.desc.starts_with("Told on b"), "b's notes: {card:?}");
        assert_eq!(t.card_label_names(&card.id), ["Hot"], "b's label");
    }
}

/// a's user moves the card to Done; the copy of the move to b lands, its answer lost, and every
/// call fails after it. b's user moves the twin back, its delivery dropped, so the retry has no
/// event of it. The retry finds b holding what it held when the copy was decided: b's history
/// shows our move landed, so that is b's user's move, the later edit, copied to a; not a copy
/// that never landed, finished over it (seed 8: a list move reverted once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landed_copy_its_user_moved_back_is_not_taken_for_one_that_never_landed() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Moved", "")
        .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id)).id;
    let move_to = |list: &str| UserCardChange {
        id_list: Some(list.to_owned()),
        ..UserCardChange::default()
    };
    // Both cards read; the move's write to b lands, its answer lost; then every call fails.
    t.gate().set_faults(Faults {
        fail_next: vec![200, 200, 0],
        after_handler: true,
        error_rate: 1.0,
        ..Faults::default()
    });
    m.edit(&id, move_to(&m.a.lists["Done"]));
    eventually("the move landed on b", SETTLE, || async {
        (m.card(&twin).id_list == m.b.lists["Done"]).then_some(())
    })
    .await;
    a_pass_failed(&m.w).await;
    t.hold_deliveries(true);
    m.edit(&twin, move_to(&m.b.lists["Backlog"]));
    drop(held(&m.w, 1).await);
    t.gate().set_faults(Faults::default());
    m.settle().await;
    assert_eq!(
        m.card(&twin).id_list,
        m.b.lists["Backlog"],
        "b's move stays"
    );
    assert_eq!(m.card(&id).id_list, m.a.lists["To Do"], "and reaches a");
}
