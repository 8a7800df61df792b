//! Convergence under the races that once broke it: a reconciliation that overlaps the worker
//! giving a new row its id, and a card moved while the create that made it is being retried.
//! Each would end with a second card or a reverted move if its root cause came back.

use std::time::Duration;

use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::sandbox::common::Faults;

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::sync::mapping::{compose_description, split_description};

use crate::e2e::{
    EMAIL, ID, NAME, NOTES, P, SETTLE, STATUS, add_lead, assert_sides_equal, marker, pool, world,
    world_with,
};
use crate::helpers::eventually;

/// One number from the daemon's database.
async fn number(w: &World, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool(w)).await.expect(sql)
}

async fn last_reconcile(w: &World) -> i64 {
    number(w, "SELECT coalesce(max(last_reconcile_at), 0) FROM pairs").await
}

async fn links(w: &World) -> i64 {
    number(w, "SELECT count(*) FROM links").await
}

/// The reconciler reads the sheet (no id yet), then its board read hangs; meanwhile the worker
/// gives the row lead A, makes its card and writes A into the id cell. The reconciler's stale
/// sheet read must not make a lead B (and a second card) for the same row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_overlapping_a_new_rows_id_write_makes_no_second_lead() {
    let w = world().await;
    let p = w.pair(P);
    w.google
        .set_rows(
            &p.spreadsheet_id,
            SHEET,
            2,
            &[&["", "Ada Lovelace", "", "", "", "New", ""]],
        )
        .expect("type the row");
    let sheet_reads = || w.google.gate().calls().count("GET", "/v4/spreadsheets");
    let reads_before = sheet_reads();
    let before = last_reconcile(&w).await;
    w.trello.gate().set_faults(Faults {
        hang_next: 1,
        hang_for: Duration::from_secs(8),
        ..Faults::default()
    });
    let engine = w.state().and_then(|s| s.engine.as_ref()).expect("engine");
    assert!(engine.request_reconcile(None));
    eventually("the reconciler reads the sheet", SETTLE, || async {
        (sheet_reads() > reads_before).then_some(())
    })
    .await;
    w.send_sheet_event(P, "edit", &[2]).await.expect("event");
    eventually("the reconciliation ends", SETTLE, || async {
        (last_reconcile(&w).await > before).then_some(())
    })
    .await;
    w.settle(SETTLE).await.expect("settles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "one card for one row: {cards:?}");
    assert_eq!(links(&w).await, 1, "one lead for one row");
    assert_eq!(w.rows(P)[0][ID], marker(&cards[0]));
    assert_sides_equal(&w, P);
}

/// `POST /1/cards` makes the card but its answer is lost; before the dispatcher's retry adopts
/// the card, the user moves it. The move must survive the adoption and reach the sheet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_moved_while_its_create_is_retried_keeps_the_move() {
    let w = world_with(WorldOptions {
        // The retry comes seconds after the lost answer: the user's move happens first.
        dispatch_backoff: Duration::from_secs(2),
        ..WorldOptions::default()
    })
    .await;
    w.trello.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    w.user_edits_rows(P, 2, &[&["", "Ada Lovelace", "", "", "", "New", ""]])
        .await
        .expect("edit");
    let card = eventually("the card is made", SETTLE, || async {
        w.card_named(P, "Ada Lovelace")
    })
    .await;
    w.user_moves_card(P, &card.id, "Qualified").expect("move");
    w.settle(SETTLE).await.expect("settles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(
        w.list_name(P, &cards[0].id_list),
        "Qualified",
        "the move is kept"
    );
    assert_eq!(w.rows(P)[0][STATUS], "Qualified", "and reaches the sheet");
    assert_sides_equal(&w, P);
}

/// The card's notes are edited; their copy to the sheet cannot land yet. Meanwhile the user edits
/// another cell of the row, and the Apps Script sends the whole row, the old notes included.
/// Those notes are not a new edit: the card's must not be undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_event_carrying_a_cell_still_to_be_written_does_not_undo_the_card_edit() {
    let w = card_notes_on_their_way().await;
    w.user_edits_cell(P, 2, "Email", "ada@example.com")
        .await
        .expect("row edit");
    eventually("the row edit is decided", SETTLE, || async {
        (inbox_waiting(&w).await == 0).then_some(())
    })
    .await;
    w.google.gate().set_faults(Faults::default());
    w.settle(SETTLE).await.expect("settles");
    let card = w.card_named(P, "Ada Lovelace").expect("card");
    assert_eq!(
        split_description(&card.desc).0,
        "met at the expo",
        "the card edit stands"
    );
    let row = &w.rows(P)[0];
    assert_eq!(row[NOTES], "met at the expo");
    assert_eq!(row[EMAIL], "ada@example.com");
    assert_sides_equal(&w, P);
}

async fn unsent_writes(w: &World) -> i64 {
    let sql = "SELECT count(*) FROM outbox WHERE kind = 'write_row' AND status IN ('pending', 'in_flight')";
    number(w, sql).await
}

async fn inbox_waiting(w: &World) -> i64 {
    number(
        w,
        "SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing')",
    )
    .await
}

/// As above, but the row event, made while the copy was on its way, arrives after the copy
/// landed: the notes it carries were read before that write, and are not an edit either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_event_read_before_our_write_landed_does_not_undo_the_card_edit() {
    let w = card_notes_on_their_way().await;
    // The user types an email; the script's event (old notes included) is delivered late.
    let p = w.pair(P);
    w.google
        .set_cell(&p.spreadsheet_id, SHEET, 2, 3, "ada@example.com")
        .expect("type");
    let late = w.sheet_event(P, "edit", &[2]);
    w.google.gate().set_faults(Faults::default());
    eventually("the copy lands", SETTLE, || async {
        (unsent_writes(&w).await == 0).then_some(())
    })
    .await;
    assert!(
        w.post_sheet_event(&late)
            .await
            .expect("posted")
            .is_success()
    );
    w.settle(SETTLE).await.expect("settles");
    let card = w.card_named(P, "Ada Lovelace").expect("card");
    assert_eq!(
        split_description(&card.desc).0,
        "met at the expo",
        "the card edit stands"
    );
    let row = &w.rows(P)[0];
    assert_eq!(row[NOTES], "met at the expo");
    assert_eq!(row[EMAIL], "ada@example.com");
    assert_sides_equal(&w, P);
}

/// A lead whose card notes a user just edited, with their copy to the sheet held back: the
/// sheet refuses every call until the test lifts the fault.
async fn card_notes_on_their_way() -> World {
    let w = world().await;
    let (lead, card) = add_lead(&w, P, 2, "Ada Lovelace", "New").await;
    w.google.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let id = leadsync::model::LeadId::parse(&lead).expect("id");
    w.user_updates_card(
        &card.id,
        UserCardChange {
            desc: Some(compose_description("met at the expo", &id)),
            ..UserCardChange::default()
        },
    )
    .expect("card edit");
    eventually("the card edit is decided", SETTLE, || async {
        (unsent_writes(&w).await > 0).then_some(())
    })
    .await;
    w
}

/// A card a user made is adopted by a reconciliation whose board read is taken before the user
/// types its notes; the marker leadsync then puts into the description must go around the notes
/// the card has by then, not the ones read (else the user's notes are gone on both sides).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_typed_while_a_user_card_is_adopted_are_kept() {
    let w = world().await;
    w.settle(SETTLE).await.expect("settles");
    // Its creation reaches leadsync only through the reconciliation below.
    w.trello.hold_deliveries(true);
    let list = w.list_id(P, "New");
    let card_id = w
        .trello
        .user_create_card(&list, "Grace Hopper", "")
        .expect("user card");
    // The reconciler's sheet read, then the dispatcher's read before it appends the row,
    // each hang a second: the user types in between the board read and the marker write.
    w.google.gate().set_faults(Faults {
        hang_next: 2,
        hang_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let board = w.pair(P).board.board_id.clone();
    let board_reads = || {
        w.trello
            .gate()
            .calls()
            .count("GET", &format!("/1/boards/{board}/cards"))
    };
    let before = board_reads();
    let engine = w.state().and_then(|s| s.engine.as_ref()).expect("engine");
    assert!(engine.request_reconcile(None));
    eventually("the reconciler reads the board", SETTLE, || async {
        (board_reads() > before).then_some(())
    })
    .await;
    let seen = w.card_named(P, "Grace Hopper").expect("the card");
    assert_eq!(
        split_description(&seen.desc).1,
        None,
        "the user types before the marker is written (else this test proves nothing)"
    );
    let change = UserCardChange {
        desc: Some("met at the expo".into()),
        ..UserCardChange::default()
    };
    w.trello
        .user_update_card(&card_id, &change)
        .expect("user types notes");
    w.trello.hold_deliveries(false);
    for held in w.trello.take_held_deliveries() {
        w.trello.redeliver(held);
    }
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    let card = w.card_named(P, "Grace Hopper").expect("the card");
    let (notes, lead) = split_description(&card.desc);
    assert_eq!(notes, "met at the expo", "the card keeps the user's notes");
    let rows = w.rows(P);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][NOTES], "met at the expo", "and the row has them");
    assert_eq!(lead.map(|l| l.to_string()), Some(rows[0][ID].clone()));
}

/// A sheet edit is copied to the card, but the write is slow to land; meanwhile a user
/// renames the card, and Trello delivers that rename only after the write landed over it. The
/// rename, the later edit, must win on both sides: the merge must know that the write landed
/// after it (not when it was planned), so the rename is written back to the card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_edit_overwritten_by_a_slow_write_still_wins() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Grace Hopper", "New").await;
    w.trello.gate().set_faults(Faults {
        hang_next: 1,
        hang_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let card_calls = || w.trello.gate().calls().records().len();
    let before = card_calls();
    w.user_edits_cell(P, 2, "Name", "Grace B. Hopper")
        .await
        .expect("edit");
    // The rename is made while the write hangs; its delivery waits until the write landed.
    w.trello.hold_deliveries(true);
    let rename = UserCardChange {
        name: Some("Admiral Hopper".into()),
        ..UserCardChange::default()
    };
    eventually("the card write is under way", SETTLE, || async {
        (w.trello.gate().faults().hang_next == 0).then_some(())
    })
    .await;
    w.user_updates_card(&card.id, rename).expect("rename");
    eventually("the write lands", SETTLE, || async {
        (card_calls() > before
            && w.trello
                .card(&card.id)
                .is_some_and(|c| c.name == "Grace B. Hopper"))
        .then_some(())
    })
    .await;
    w.trello.hold_deliveries(false);
    for held in w.trello.take_held_deliveries() {
        w.trello.redeliver(held);
    }
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    let after = w.trello.card(&card.id).expect("card");
    assert_eq!(
        after.name, "Admiral Hopper",
        "the later rename stands on the card"
    );
    assert_eq!(w.rows(P)[0][NAME], "Admiral Hopper", "and in the sheet");
}
