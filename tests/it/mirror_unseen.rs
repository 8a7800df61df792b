//! A user's edit a mirror pass did not see (issue 14's chaos classes, each made deterministic):
//! overwritten by a write decided from an older read (a copy, or a new twin's marker), and one
//! whose event has not come yet, timed by an older change of its side.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::sandbox::common::Faults;

use crate::e2e::SETTLE;
use crate::helpers::{clock_passes, eventually};
use crate::mirror_support::{Mirror, held, marker, mirror_world, name};

/// A card made in a's To Do and given its twin: the card's id, the twin's, and the marker's
/// link id its descriptions end with.
async fn card_with_a_twin(m: &Mirror) -> (String, String, String) {
    let id = (m.w.trello)
        .user_create_card(&m.a.lists["To Do"], "Notes", "")
        .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id)).id;
    let link = marker(&m.card(&id)).expect("the card's marker");
    (id, twin, link)
}

/// A user's description `text`, above the marker line of `link`.
fn desc(link: &str, text: &str) -> UserCardChange {
    UserCardChange {
        desc: Some(format!("{text}\n\nleadsync:{link}")),
        ..UserCardChange::default()
    }
}

/// b's user writes `text` on the twin; the pass that copies it reads both cards, and its write
/// to a waits a second before it is handled. Returns once that pass has read b and the clock
/// has moved on, so an edit of a made now is later than the pass's read.
async fn copy_to_a_held(m: &Mirror, twin: &str, link: &str, text: &str) {
    let t = &m.w.trello;
    t.gate().set_faults(Faults {
        fail_next: vec![200, 200],
        hang_next: 1,
        hang_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let read_b = format!("/1/cards/{twin}");
    let reads_b = || t.gate().calls().count("GET", &read_b);
    let before = reads_b();
    m.edit(twin, desc(link, text));
    eventually("the pass read b", SETTLE, || async {
        (reads_b() > before).then_some(())
    })
    .await;
    clock_passes().await;
}

/// A pass reads a, then b, to copy b's new description to a; a's user edits a's description
/// before the copy's write is handled (held up a second), so the write lands over the edit
/// unseen (Trello has no conditional write). That edit's event then finds a holding the base
/// although its user changed it after the pass's read; a's history shows our write came after
/// it: the edit, the later of the two, is put back and copied to b, one conflict that
/// `last_writer_wins` gives to a (seed 36).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_s_edit_overwritten_by_a_copy_decided_before_it_is_put_back() {
    let m = mirror_world("last_writer_wins").await;
    let (id, twin, link) = card_with_a_twin(&m).await;
    // Both cards read; the write to a waits a second; a's edit later than the pass's read.
    copy_to_a_held(&m, &twin, &link, "Told on b").await;
    m.edit(&id, desc(&link, "Told on a"));
    m.settle().await;
    for card in [&id, &twin] {
        let card = m.card(card);
        assert!(
            card.desc.starts_with("Told on a"),
            "a's later edit: {card:?}"
        );
    }
    m.one_conflict("desc").await;
}

/// a's rename is synced (its time kept with the base); then b's user renames the twin, and a's
/// user renames the card later still, but a's delivery is lost. The pass of b's event finds
/// both changed: a's only known time is its older rename's, before the read that agreed the
/// base, so it is unknown, read from the cards' histories, and `last_writer_wins` gives the
/// conflict to a's later rename, not to b by a's stale time (seed 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_event_is_missing_is_not_timed_by_an_older_change() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Old", "")
        .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id)).id;
    m.edit(&id, name("Synced"));
    m.settle().await;
    clock_passes().await;
    t.hold_deliveries(true);
    m.edit(&twin, name("From b"));
    let from_b = held(&m.w, 1).await;
    clock_passes().await;
    t.hold_deliveries(true);
    m.edit(&id, name("From a"));
    drop(held(&m.w, 1).await);
    for job in from_b {
        t.redeliver(job);
    }
    m.settle().await;
    assert_eq!(m.card(&id).name, "From a", "a's later rename wins");
    assert_eq!(m.card(&twin).name, "From a");
    m.one_conflict("name").await;
}

/// A card is made on a; the pass that gives it a twin reads it, and its marker write to the
/// card waits a second before it is handled; meanwhile a's user writes a description. The
/// marker, written on the description as read, lands over it unseen. That edit's event then
/// finds a holding the base agreed at the read: the description is put back and copied to the
/// twin (b's time unknown: a wins; seed 38).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_s_edit_overwritten_by_a_new_twin_s_marker_is_put_back() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    // The start's reconciliation done first: its calls are not the pass's.
    m.settle().await;
    // The card read; the marker's write waits a second before it is handled.
    t.gate().set_faults(Faults {
        fail_next: vec![200],
        hang_next: 1,
        hang_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let reads = || t.gate().calls().count("GET", "/1/cards/");
    let before = reads();
    let id = t
        .user_create_card(&m.a.lists["To Do"], "Fresh", "first")
        .expect("card");
    eventually("the pass read the card", SETTLE, || async {
        (reads() > before).then_some(())
    })
    .await;
    clock_passes().await;
    m.edit(
        &id,
        UserCardChange {
            desc: Some("second".into()),
            ..UserCardChange::default()
        },
    );
    m.settle().await;
    let card = m.card(&id);
    assert!(card.desc.starts_with("second"), "a's edit: {card:?}");
    assert!(marker(&card).is_some(), "and the marker: {card:?}");
    let twin = m.twin_of(&card);
    assert!(twin.desc.starts_with("second"), "on the twin: {twin:?}");
}

/// As the first test, under `prefer_b`, and b's user edits the twin again before a's lost edit
/// is seen: the conflict goes to b, and b's newer value reaches a; b's edit is not reverted to
/// the value our write left on a (seed 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_edit_that_loses_its_conflict_leaves_the_other_side_s_newer_value() {
    let m = mirror_world("prefer_b").await;
    let t = &m.w.trello;
    let (id, twin, link) = card_with_a_twin(&m).await;
    copy_to_a_held(&m, &twin, &link, "Told on b").await;
    // Both edits' deliveries come together, once the copy has landed over a's.
    t.hold_deliveries(true);
    m.edit(&id, desc(&link, "Told on a"));
    m.edit(&twin, desc(&link, "Again on b"));
    let jobs = held(&m.w, 2).await;
    eventually("the copy landed on a", SETTLE, || async {
        m.card(&id).desc.starts_with("Told on b").then_some(())
    })
    .await;
    for job in jobs {
        t.redeliver(job);
    }
    m.settle().await;
    for card in [&id, &twin] {
        let card = m.card(card);
        assert!(
            card.desc.starts_with("Again on b"),
            "b's newer edit: {card:?}"
        );
    }
}
