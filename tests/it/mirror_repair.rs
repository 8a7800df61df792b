//! A mirror's reconciliation end to end (CONTRACT §8): what webhooks missed of labels, due dates
//! and checklists is repaired from one read of each board.

use crate::mirror_fields::{all_writes, labels_of, lists_of};
use crate::mirror_support::Mirror;

/// `leadsync reconcile --pair client`, run once: answers whether it succeeded.
fn reconcile(m: &Mirror) -> bool {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .arg("--config")
        .arg(m.w.config_path())
        .args(["reconcile", "--pair", crate::mirror_support::M])
        .current_dir(m.w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    out.status.success()
}

/// Reconciliation (no webhooks at all) reads each board's cards with their labels and
/// checklists in one call, the labels of a board only when one is to be put on (and a new twin
/// again before its details are copied, as its user may have edited it), and repairs
/// both ways; a second run writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_labels_due_and_checklists_reading_each_board_once() {
    let m = crate::mirror_support::mirror_world_with("last_writer_wins", false).await;
    let t = &m.w.trello;
    let card = t
        .user_create_card(&m.a.lists["Doing"], "Offline", "")
        .unwrap();
    let hot = t
        .user_create_label(&m.a.board_id, "Hot", Some("orange"))
        .unwrap();
    t.user_card_label(&card, &hot, true).unwrap();
    t.user_set_due(&card, Some(Some("2026-12-31T09:30:00Z")), None)
        .unwrap();
    let list = t.user_add_checklist(&card, "Steps").unwrap();
    t.user_add_item(&list, "One").unwrap();
    let calls = t.gate().calls();
    let reads = |board: &str, what: &str| calls.count("GET", &format!("/1/boards/{board}/{what}"));
    assert!(reconcile(&m));
    let twin = m.twin_of(&m.card(&card));
    assert_eq!(labels_of(&m, &twin.id), ["Hot"]);
    assert_eq!(
        m.card(&twin.id).due.as_deref(),
        Some("2026-12-31T09:30:00.000Z")
    );
    assert_eq!(
        lists_of(&m, &twin.id),
        vec![("Steps".into(), vec![("One".into(), false)])]
    );
    let (a, b) = (&m.a.board_id, &m.b.board_id);
    assert_eq!(
        (reads(a, "cards"), reads(b, "cards")),
        (1, 1),
        "one read a board"
    );
    assert_eq!((reads(a, "labels"), reads(b, "labels")), (0, 1));
    let twin_read = format!("/1/cards/{}", twin.id);
    assert_eq!(
        (
            calls.count("GET", "/1/cards"),
            calls.count("GET", &twin_read)
        ),
        (1, 1),
        "no card read alone but the new twin, read again before its details are copied"
    );

    // Changed on b while nothing listens: the next reconciliation brings it to a.
    let item = t.checklists(&twin.id)[0].items[0].id.clone();
    t.user_update_item(&twin.id, &item, None, Some(true))
        .unwrap();
    let hot_b = t.labels(b)[0].id.clone();
    t.user_card_label(&twin.id, &hot_b, false).unwrap();
    assert!(reconcile(&m));
    assert!(labels_of(&m, &card).is_empty());
    assert_eq!(
        lists_of(&m, &card),
        vec![("Steps".into(), vec![("One".into(), true)])]
    );
    let before = all_writes(&m.w);
    assert!(reconcile(&m));
    assert_eq!(
        all_writes(&m.w),
        before,
        "a second reconciliation writes nothing"
    );
}
