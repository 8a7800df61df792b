//! End to end, Trello → sheet: what a user does to cards in the browser reaches the sheet.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::World;
use leadsync::sandbox::common::Faults;
use leadsync::sync::mapping::split_description;

use crate::e2e::{
    CARD, EMAIL, ID, NAME, NOTES, P, SETTLE, STATUS, add_lead, assert_sides_equal, marker, pool,
    world,
};
use crate::helpers::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_moved_renamed_and_field_edited_in_trello_updates_the_row() {
    let w = world().await;
    let (lead_id, card) = add_lead(&w, P, 2, "Alan Turing", "New").await;

    w.user_moves_card(P, &card.id, "Contacted").expect("move");
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][STATUS], "Contacted");

    w.user_updates_card(
        &card.id,
        UserCardChange {
            name: Some("Alan M. Turing".into()),
            desc: Some(format!("likes chess\n\nleadsync:{lead_id}")),
            ..UserCardChange::default()
        },
    )
    .expect("rename");
    w.settle(SETTLE).await.expect("settles");
    let row = &w.rows(P)[0];
    assert_eq!(row[NAME], "Alan M. Turing");
    assert_eq!(row[NOTES], "likes chess");

    w.user_sets_field(P, &card.id, "Email", "alan@bletchley.uk")
        .expect("field");
    w.settle(SETTLE).await.expect("settles");
    let rows = w.rows(P);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[ID], lead_id);
    assert_eq!(row[NAME], "Alan M. Turing");
    assert_eq!(row[EMAIL], "alan@bletchley.uk");
    assert_eq!(row[STATUS], "Contacted");
    assert_eq!(row[NOTES], "likes chess");
    assert_eq!(w.cards(P).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_card_sets_the_status_to_lost_and_stays_archived() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Ken Thompson", "Contacted").await;
    w.user_updates_card(
        &card.id,
        UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        },
    )
    .expect("archive");
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][STATUS], "Lost");
    // A reconciliation afterwards must not reopen or move it either.
    w.reconcile(SETTLE).await.expect("reconciles");
    let after = w.trello.card(&card.id).expect("card");
    assert!(after.closed, "the card stays archived");
    assert_eq!(w.list_name(P, &after.id_list), "Contacted", "where it was");
    assert_eq!(w.rows(P)[0][STATUS], "Lost");
    assert_eq!(w.cards(P).len(), 1);
}

/// A status set in the sheet after a user archived the card brings the card back into that
/// status's list, whether leadsync heard of the archive from its webhook or, the delivery
/// lost, only from a reconciliation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_set_in_the_sheet_after_an_archive_brings_the_card_back() {
    for delivered in [true, false] {
        let w = world().await;
        let (_, card) = add_lead(&w, P, 2, "Ken Thompson", "Contacted").await;
        w.trello.hold_deliveries(!delivered);
        let archive = UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        };
        w.user_updates_card(&card.id, archive).expect("archive");
        w.settle(SETTLE).await.expect("settles");
        // Trello gave up on the held delivery.
        drop(w.trello.take_held_deliveries());
        w.trello.hold_deliveries(false);
        w.reconcile(SETTLE).await.expect("reconciles");
        assert_eq!(w.rows(P)[0][STATUS], "Lost", "delivered {delivered}");
        w.user_edits_cell(P, 2, "Status", "Qualified")
            .await
            .expect("edit");
        w.settle(SETTLE).await.expect("settles");
        let after = w.trello.card(&card.id).expect("card");
        assert!(!after.closed, "the card is back (delivered {delivered})");
        assert_eq!(w.list_name(P, &after.id_list), "Qualified");
        w.reconcile(SETTLE).await.expect("reconciles");
        assert_eq!(w.rows(P)[0][STATUS], "Qualified", "delivered {delivered}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_created_in_trello_becomes_a_row_and_gets_the_marker() {
    let w = world().await;
    let list = w.list_id(P, "Qualified");
    let card_id = w
        .trello
        .user_create_card(&list, "Walk-in Customer", "met at the booth")
        .expect("create");
    w.settle(SETTLE).await.expect("settles");

    let rows = w.rows(P);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    let card = w.trello.card(&card_id).expect("card");
    let (notes, lead) = split_description(&card.desc);
    assert_eq!(notes, "met at the booth");
    let lead = lead.expect("the card received the marker").to_string();
    assert_eq!(row[ID], lead);
    assert_eq!(row[NAME], "Walk-in Customer");
    assert_eq!(row[STATUS], "Qualified");
    assert_eq!(row[NOTES], "met at the booth");
    assert!(row[CARD].ends_with(&card.short_link), "{row:?}");

    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(w.rows(P).len(), 1);
    assert_eq!(w.cards(P).len(), 1);
    assert_sides_equal(&w, P);

    // Three more at once: three more rows, none overwriting another.
    let new = w.list_id(P, "New");
    for name in ["Card A", "Card B", "Card C"] {
        w.trello.user_create_card(&new, name, "").expect("create");
    }
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    let mut names: Vec<String> = w.rows(P).into_iter().map(|r| r[NAME].clone()).collect();
    names.sort();
    assert_eq!(names, ["Card A", "Card B", "Card C", "Walk-in Customer"]);
    assert_eq!(w.cards(P).len(), 4);
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_card_drops_the_link_and_gets_no_new_card_until_the_status_changes() {
    let w = world().await;
    let (lead_id, card) = add_lead(&w, P, 2, "Barbara Liskov", "New").await;
    w.user_edits_cell(P, 2, "Email", "bl@mit.edu")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");

    w.trello.user_delete_card(&card.id).expect("delete");
    w.settle(SETTLE).await.expect("settles");
    let row = w.rows(P)[0].clone();
    assert_eq!(row[ID], lead_id, "the row keeps its data");
    assert_eq!(row[NAME], "Barbara Liskov");
    assert_eq!(row[EMAIL], "bl@mit.edu");
    assert_eq!(row[STATUS], "New");
    assert_eq!(row[CARD], "", "the card cell is cleared");
    let linked: Option<String> =
        sqlx::query_scalar("SELECT card_id FROM links WHERE pair = $1 AND lead_id = $2")
            .bind(P)
            .bind(&lead_id)
            .fetch_optional(pool(&w))
            .await
            .expect("links")
            .flatten();
    assert_eq!(linked, None, "the link to the deleted card is dropped");

    // Other edits and reconciliations do not bring the card back …
    w.user_edits_cell(P, 2, "Notes", "still interested?")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert!(w.cards(P).is_empty(), "{:?}", w.cards(P));

    // … a status change does, exactly once.
    w.user_edits_cell(P, 2, "Status", "Contacted")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_ne!(cards[0].id, card.id);
    assert_eq!(marker(&cards[0]), lead_id);
    assert_eq!(w.list_name(P, &cards[0].id_list), "Contacted");
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_in_an_unmapped_list_and_an_unmapped_status_are_left_as_they_are() {
    let w = world().await;
    let (_, parked) = add_lead(&w, P, 2, "Parked", "New").await;
    let (_, odd) = add_lead(&w, P, 3, "Odd Status", "New").await;
    let board = &w.pair(P).board.board_id;
    let parking = w.trello.user_create_list(board, "Parking").expect("list");
    w.user_updates_card(
        &parked.id,
        UserCardChange {
            id_list: Some(parking.clone()),
            ..UserCardChange::default()
        },
    )
    .expect("move");
    w.user_edits_cell(P, 3, "Status", "Maybe")
        .await
        .expect("edit");
    let stray = w
        .trello
        .user_create_card(&parking, "Not a lead", "")
        .expect("create");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");

    let rows = w.rows(P);
    assert_eq!(rows[0][STATUS], "New", "an unmapped list changes no status");
    assert_eq!(rows[1][STATUS], "Maybe", "the sheet keeps what was typed");
    assert_eq!(w.trello.card(&parked.id).expect("card").id_list, parking);
    let odd_now = w.trello.card(&odd.id).expect("card");
    assert_eq!(w.list_name(P, &odd_now.id_list), "New", "no list for Maybe");
    assert_eq!(
        rows.len(),
        2,
        "a card made in an unmapped list is no lead: {rows:?}"
    );
    assert_eq!(w.cards(P).len(), 3);
    let stray = w.trello.card(&stray).expect("the stray card");
    assert_eq!(stray.desc, "", "a card that is no lead gets no marker");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
        .fetch_one(pool(&w))
        .await
        .expect("outbox");
    assert_eq!(dead, 0);
}

/// Archives the card "in the browser" with its webhook lost (Trello gave up on the delivery).
async fn archive_with_delivery_dropped(w: &World, card_id: &str) {
    w.trello.hold_deliveries(true);
    let archive = UserCardChange {
        closed: Some(true),
        ..UserCardChange::default()
    };
    w.user_updates_card(card_id, archive).expect("archive");
    w.settle(SETTLE).await.expect("settles");
    drop(w.trello.take_held_deliveries());
    w.trello.hold_deliveries(false);
}

/// An archive leadsync never heard of is ordered by when it happened (Trello's card actions),
/// not by when a reconciliation found it: a status set in the sheet afterwards wins, and the
/// card leadsync moved while it lay archived comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_status_set_after_a_missed_archive_wins_and_brings_the_card_back() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Ken Thompson", "New").await;
    archive_with_delivery_dropped(&w, &card.id).await;
    w.user_edits_cell(P, 2, "Status", "Contacted")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    for _ in 0..2 {
        w.reconcile(SETTLE).await.expect("reconciles");
        assert_eq!(w.rows(P)[0][STATUS], "Contacted");
    }
    let after = w.trello.card(&card.id).expect("card");
    assert!(!after.closed, "the card is back");
    assert_eq!(w.list_name(P, &after.id_list), "Contacted");
    assert_eq!(w.cards(P).len(), 1);
}

/// The other order: an archive leadsync missed, made after the sheet's status change, is the
/// newer change and wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_archive_after_a_sheet_status_set_wins_and_the_row_gets_lost() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Ken Thompson", "New").await;
    w.user_edits_cell(P, 2, "Status", "Contacted")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    archive_with_delivery_dropped(&w, &card.id).await;
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(w.rows(P)[0][STATUS], "Lost");
    let after = w.trello.card(&card.id).expect("card");
    assert!(after.closed, "the card stays archived");
    assert_eq!(w.list_name(P, &after.id_list), "Contacted", "where it was");
}

/// A reconciliation reads the board, and while its answer is on its way a user archives the
/// card. What the read showed was so when it was made: the archive, made after, is the newer
/// change and must stand (the row gets the archived status, the card stays archived), though
/// the reconciliation's plan is made after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_made_while_a_reconciliation_reads_the_board_stands() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Ken Thompson", "Contacted").await;
    // The user moves the card to New; that move reaches leadsync only through the read.
    w.trello.hold_deliveries(true);
    let to_new = UserCardChange {
        id_list: Some(w.list_id(P, "New")),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, to_new).expect("move");
    drop(w.trello.take_held_deliveries());
    // The board read is served, then its answer hangs for a second.
    w.trello.gate().set_faults(Faults {
        hang_next: 1,
        hang_for: Duration::from_secs(1),
        after_handler: true,
        ..Faults::default()
    });
    let engine = w.state().and_then(|s| s.engine.as_ref()).expect("engine");
    assert!(engine.request_reconcile(None));
    eventually("the board read is under way", SETTLE, || async {
        (w.trello.gate().faults().hang_next == 0).then_some(())
    })
    .await;
    let archive = UserCardChange {
        closed: Some(true),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, archive).expect("archive");
    eventually("the reconciliation copies the move", SETTLE, || async {
        (w.rows(P)[0][STATUS] == "New").then_some(())
    })
    .await;
    w.trello.hold_deliveries(false);
    for held in w.trello.take_held_deliveries() {
        w.trello.redeliver(held);
    }
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(
        w.rows(P)[0][STATUS],
        "Lost",
        "the archive stands in the sheet"
    );
    assert!(
        w.trello.card(&card.id).expect("card").closed,
        "and on the board"
    );
}
