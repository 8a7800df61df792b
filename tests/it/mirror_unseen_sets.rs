//! A user's label, due-date or checklist edit a mirror pass did not see (issue 14's chaos
//! seeds 16, 20, 49, 10 and 4, made deterministic): a pass reads both cards to copy b's change
//! to a, a's user edits a before the copy's write is handled, and the write, decided from the
//! older read, would replace a's value whole or be merged around it. The two users' values are
//! one logged conflict that the policy decides: one side's whole value, never their union.

use std::time::Duration;

use leadsync::sandbox::common::Faults;

use crate::e2e::SETTLE;
use crate::helpers::{clock_passes, eventually};
use crate::mirror_support::{Mirror, mirror_world};

/// A card made in a's To Do and given its twin: the card's id and the twin's.
async fn card_with_a_twin(m: &Mirror) -> (String, String) {
    let id = (m.w.trello)
        .user_create_card(&m.a.lists["To Do"], "Sets", "")
        .expect("card");
    m.settle().await;
    (id.clone(), m.twin_of(&m.card(&id)).id)
}

/// `edit_b` is made on the twin; the pass that copies it reads a and b, makes `then` more calls,
/// and its next one (the write to a) waits a second before it is handled. Returns once that
/// pass has read b and the clock has moved on, so an edit of a made now is later than the read.
async fn copy_to_a_held(m: &Mirror, twin: &str, then: usize, edit_b: impl FnOnce()) {
    let t = &m.w.trello;
    t.gate().set_faults(Faults {
        fail_next: vec![200; 2 + then],
        hang_next: 1,
        hang_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let read_b = format!("/1/cards/{twin}");
    let reads_b = || t.gate().calls().count("GET", &read_b);
    let before = reads_b();
    edit_b();
    eventually("the pass read b", SETTLE, || async {
        (reads_b() > before).then_some(())
    })
    .await;
    clock_passes().await;
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// b's user labels the twin "Theirs"; a's user labels the card "Mine" after the pass read it,
/// and the pass's copy of b's set replaces a's. The later edit, a's, wins under
/// `last_writer_wins`: both cards end with "Mine" alone, one logged conflict; never both labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_put_on_before_a_copy_s_write_is_one_conflict_not_a_union() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let mine = (t.user_create_label(&m.a.board_id, "Mine", Some("green"))).expect("label");
    t.user_create_label(&m.a.board_id, "Theirs", Some("red"))
        .expect("label");
    let theirs = (t.user_create_label(&m.b.board_id, "Theirs", Some("red"))).expect("label");
    let (id, twin) = card_with_a_twin(&m).await;
    // Both cards read, a's board's labels read; the set's write to a waits.
    copy_to_a_held(&m, &twin, 1, || {
        t.user_card_label(&twin, &theirs, true).expect("labelled");
    })
    .await;
    t.user_card_label(&id, &mine, true).expect("labelled");
    m.settle().await;
    for card in [&id, &twin] {
        assert_eq!(sorted(t.card_label_names(card)), ["Mine"], "a's later set");
    }
    m.one_conflict("labels").await;
}

/// b's user moves the twin's due date; a's user completes the card's due date after the pass
/// read it, and the pass's copy of b's due value (the date and the flag, one value) replaces
/// a's flag. a's edit is the later: both cards end with a's value, the old date completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_date_completed_before_a_copy_s_write_is_put_back() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let (id, twin) = card_with_a_twin(&m).await;
    t.user_set_due(&id, Some(Some("2026-12-24T10:00:00Z")), None)
        .expect("due");
    m.settle().await;
    copy_to_a_held(&m, &twin, 0, || {
        (t.user_set_due(&twin, Some(Some("2026-12-31T10:00:00Z")), None)).expect("due");
    })
    .await;
    t.user_set_due(&id, None, Some(true)).expect("completed");
    m.settle().await;
    for card in [&id, &twin] {
        let card = m.card(card);
        let due = (card.due.as_deref(), card.due_complete);
        assert_eq!(due, (Some("2026-12-24T10:00:00.000Z"), true), "a's value");
    }
    m.one_conflict("due").await;
}

/// b's user adds a checklist "Tasks" to the twin; the pass copying it reads the card again
/// before adding it there, and a's user adds a checklist "Tasks" of their own first (the read
/// held up a second). The copy is not written beside it: a has one "Tasks", never two, and the
/// two users' checklists are one conflict the policy decides (a's, the later; seed 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checklist_added_before_a_copy_of_one_of_its_name_is_not_made_twice() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let (id, twin) = card_with_a_twin(&m).await;
    copy_to_a_held(&m, &twin, 0, || {
        let list = t.user_add_checklist(&twin, "Tasks").expect("checklist");
        t.user_add_item(&list, "theirs").expect("item");
    })
    .await;
    let list = t.user_add_checklist(&id, "Tasks").expect("checklist");
    t.user_add_item(&list, "mine").expect("item");
    m.settle().await;
    m.one_checklist([&id, &twin], "Tasks", &["mine"], "a's");
    m.one_conflict("checklist:Tasks").await;
}

/// a's user labels the card "X"; its copy to b fails whole. Before the retry, a's user takes
/// "X" off again and b's user labels the twin "Y". The copy never landed (b's history shows no
/// write of ours since): the stored base stands, a is unchanged, and b's "Y" is copied to a;
/// not a conflict over a base of "X" that `prefer_a` would give to a's empty set (seed 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_while_its_copy_failed_leaves_the_other_side_s_edit() {
    let m = mirror_world("prefer_a").await;
    let t = &m.w.trello;
    let x = (t.user_create_label(&m.a.board_id, "X", Some("red"))).expect("label");
    let y = (t.user_create_label(&m.b.board_id, "Y", Some("blue"))).expect("label");
    let (id, twin) = card_with_a_twin(&m).await;
    // Both cards read, b's labels read; the one write of the set to b fails.
    t.gate().set_faults(Faults {
        fail_next: vec![200, 200, 200, 400],
        ..Faults::default()
    });
    t.user_card_label(&id, &x, true).expect("labelled");
    crate::mirror_support::a_pass_failed(&m.w).await;
    assert!(t.card_label_names(&twin).is_empty(), "the copy failed");
    // Every call fails until both users have edited again.
    t.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    clock_passes().await;
    t.user_card_label(&id, &x, false).expect("unlabelled");
    t.user_card_label(&twin, &y, true).expect("labelled");
    t.gate().set_faults(Faults::default());
    m.settle().await;
    for card in [&id, &twin] {
        assert_eq!(t.card_label_names(card), ["Y"], "b's edit on {card}");
    }
}

/// Both cards hold a checklist "Tasks"; b's user adds an item to the twin's, and a's user one to
/// the card's after the pass copying b's read the card (its read again held up a second). The
/// copy is not written around a's new item: the checklists end as one user's, never both new
/// items, one conflict the policy decides (a's, the later; seed 20).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_added_before_a_copy_s_write_is_one_conflict_not_a_union() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let (id, twin) = card_with_a_twin(&m).await;
    let list = t.user_add_checklist(&id, "Tasks").expect("checklist");
    t.user_add_item(&list, "x").expect("item");
    m.settle().await;
    let theirs = t.checklists(&twin)[0].id.clone();
    copy_to_a_held(&m, &twin, 0, || {
        t.user_add_item(&theirs, "theirs").expect("item");
    })
    .await;
    t.user_add_item(&list, "mine").expect("item");
    m.settle().await;
    m.one_checklist([&id, &twin], "Tasks", &["x", "mine"], "a's");
    m.one_conflict("checklist:Tasks").await;
}
