//! End to end, the sheet as people really use it: a new row typed in several edits, rows that
//! move (sorted), and a reconciliation of a world already in sync, which must write nothing.

use leadsync::demo::world::SHEET;

use leadsync::sandbox::common::Faults;

use crate::e2e::{
    ID, NAME, P, SETTLE, STATUS, add_lead, assert_sides_equal, marker, pool, world, writes,
};
use crate::helpers::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_row_typed_in_several_quick_edits_gets_exactly_one_card() {
    let w = world().await;
    // Each edit is sent before the daemon could write the id back, so every event has no id.
    w.user_edits_rows(P, 2, &[&["", "Hedy Lamarr"]])
        .await
        .expect("edit");
    w.user_edits_cell(P, 2, "Status", "Contacted")
        .await
        .expect("edit");
    w.user_edits_cell(P, 2, "Email", "hedy@example.com")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    // The same again after the first settle: the id is in the sheet now.
    w.user_edits_cell(P, 2, "Company", "MGM")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");

    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    let text = |f: &str| cards[0].custom_texts.get(&w.field_id(P, f)).cloned();
    assert_eq!(text("Email").as_deref(), Some("hedy@example.com"));
    assert_eq!(text("Company").as_deref(), Some("MGM"));
    assert_eq!(w.list_name(P, &cards[0].id_list), "Contacted");
    assert_eq!(w.rows(P).len(), 1);
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_row_edited_again_before_its_id_reaches_the_sheet_gets_exactly_one_card() {
    let w = world().await;
    // The sheet refuses every call for now: the id and card URL cannot be written back.
    w.google.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    w.user_edits_rows(P, 2, &[&["", "Katherine Johnson", "", "", "", "New", ""]])
        .await
        .expect("edit");
    eventually("the card exists", SETTLE, || async {
        (w.cards(P).len() == 1).then_some(())
    })
    .await;
    // Well past the debounce, the row still has no id when it is edited again.
    w.user_edits_cell(P, 2, "Status", "Contacted")
        .await
        .expect("edit");
    inbox_drained(&w, "the second edit is decided").await;
    assert_eq!(w.cards(P).len(), 1, "no second card for the same row");
    assert_eq!(w.rows(P)[0][ID], "", "the id is not written yet");
    w.google.gate().set_faults(Faults::default());
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");

    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(w.rows(P)[0][ID], marker(&cards[0]));
    assert_eq!(w.list_name(P, &cards[0].id_list), "Contacted");
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_rows_are_sorted_trello_changes_reach_the_right_rows() {
    let w = world().await;
    let (_, c) = add_lead(&w, P, 2, "Charlie", "New").await;
    let (_, a) = add_lead(&w, P, 3, "Alice", "New").await;
    let (_, b) = add_lead(&w, P, 4, "Bob", "New").await;
    let spreadsheet = &w.pair(P).spreadsheet_id;
    // Sort by name: Alice, Bob, Charlie. Sorting sends no edit event.
    w.google
        .sort_rows(spreadsheet, SHEET, 2, 2, true)
        .expect("sort");

    w.user_moves_card(P, &a.id, "Qualified").expect("move");
    w.user_moves_card(P, &c.id, "Lost").expect("move");
    w.settle(SETTLE).await.expect("settles");
    let rows = w.rows(P);
    let status = |name: &str| {
        rows.iter()
            .find(|r| r[NAME] == name)
            .map(|r| r[STATUS].clone())
    };
    assert_eq!(rows[0][NAME], "Alice", "the sort stays: {rows:?}");
    assert_eq!(status("Alice").as_deref(), Some("Qualified"));
    assert_eq!(status("Bob").as_deref(), Some("New"));
    assert_eq!(status("Charlie").as_deref(), Some("Lost"));
    assert_eq!(
        w.list_name(P, &w.trello.card(&b.id).expect("b").id_list),
        "New"
    );
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_of_a_world_in_sync_writes_nothing() {
    let w = world().await;
    add_lead(&w, P, 2, "Quiet One", "New").await;
    let (_, card) = add_lead(&w, P, 3, "Quiet Two", "Contacted").await;
    w.user_moves_card(P, &card.id, "Qualified").expect("move");
    w.user_edits_cell(P, 2, "Notes", "call back")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let ids: Vec<String> = w.rows(P).iter().map(|r| r[ID].clone()).collect();

    let trello = w.trello.gate().calls();
    let google = w.google.gate().calls();
    trello.clear();
    google.clear();
    let activity = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM activity")
            .fetch_one(pool(&w))
            .await
            .expect("count")
    };
    let logged = activity().await;
    w.reconcile(SETTLE).await.expect("reconciles");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(
        activity().await,
        logged,
        "agreeing reads add nothing to the activity log"
    );
    assert_eq!(writes(&trello), 0, "{:?}", trello.records());
    assert_eq!(writes(&google), 0, "{:?}", google.records());
    let after: Vec<String> = w.rows(P).iter().map(|r| r[ID].clone()).collect();
    assert_eq!(after, ids);
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_write_is_not_undone_by_reconciliation_and_is_sent_once_requeued() {
    use leadsync::connectors::trello::sandbox::UserCardChange;
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Barbara", "New").await;
    // The sheet refuses the next calls outright (a 400 is not retried): the row write dies.
    w.google.gate().set_faults(Faults {
        fail_next: vec![400, 400, 400],
        ..Faults::default()
    });
    w.user_updates_card(
        &card.id,
        UserCardChange {
            name: Some("Barbara Liskov".into()),
            ..UserCardChange::default()
        },
    )
    .expect("rename");
    let pool = pool(&w);
    eventually("the row write to be dead-lettered", SETTLE, || async {
        let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
            .fetch_one(pool)
            .await
            .ok()?;
        (dead > 0).then_some(())
    })
    .await;
    w.google.gate().set_faults(Faults::default());
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(
        w.trello.card(&card.id).expect("card").name,
        "Barbara Liskov",
        "the user's Trello edit stays"
    );
    assert_eq!(w.rows(P)[0][NAME], "Barbara", "not written yet");
    let requeued = leadsync::store::outbox::requeue_dead_letters(pool, None)
        .await
        .expect("requeue");
    assert!(requeued > 0);
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][NAME], "Barbara Liskov");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_typed_while_the_cards_earlier_move_is_on_its_way_to_the_row_is_kept() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Grace Hopper", "New").await;
    // The sheet refuses every call for now: the card's move cannot reach the row yet.
    w.google.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    w.user_moves_card(P, &card.id, "Contacted").expect("move");
    let pool = pool(&w);
    eventually(
        "the row's write of the move to be queued",
        SETTLE,
        || async {
            let queued: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM outbox WHERE kind = 'write_row' AND status <> 'done'",
            )
            .fetch_one(pool)
            .await
            .ok()?;
            (queued > 0).then_some(())
        },
    )
    .await;
    // Later than the move, a person still seeing "New" types "Qualified" into the row. The
    // event names the Status cell as the one typed: the person's word, not a row merely shown.
    w.user_edits_cell(P, 2, "Status", "Qualified")
        .await
        .expect("edit");
    inbox_drained(&w, "the edit is decided").await;
    w.google.gate().set_faults(Faults::default());
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");

    assert_eq!(w.rows(P)[0][STATUS], "Qualified", "the later edit stays");
    let card = w.trello.card(&card.id).expect("card");
    assert_eq!(w.list_name(P, &card.id_list), "Qualified");
    assert_sides_equal(&w, P);
}

/// Waits until the daemon has decided every event it acknowledged.
async fn inbox_drained(w: &leadsync::demo::world::World, what: &str) {
    eventually(what, SETTLE, || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing')",
        )
        .fetch_one(pool(w))
        .await
        .ok()?;
        (waiting == 0).then_some(())
    })
    .await;
}
