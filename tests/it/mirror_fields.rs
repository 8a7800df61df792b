//! Board mirrors' labels, due dates and checklists end to end (CONTRACT §8): the real app with
//! the Trello emulator; each change travels, the echo of leadsync's writes writes nothing more
//! (counted calls), a label conflict goes by the policy, a replayed delivery changes nothing.

use leadsync::connectors::trello::sandbox::SandboxChecklist;
use leadsync::demo::world::World;

use crate::mirror_support::{Mirror, held, mirror_world};

/// Every write leadsync sent to the emulator's API (the user's `user_*` edits are not calls):
/// cards, their labels and checklists, checklists and items, and labels made on boards.
pub(crate) fn all_writes(w: &World) -> usize {
    let calls = w.trello.gate().calls();
    let cards = ["POST", "PUT", "DELETE"].map(|m| calls.count(m, "/1/cards"));
    let lists = ["POST", "PUT", "DELETE"].map(|m| calls.count(m, "/1/checklists"));
    cards.iter().sum::<usize>() + lists.iter().sum::<usize>() + calls.count("POST", "/1/boards")
}

/// The value a card's checklists hold: `(checklist, [(item, checked)])`, in order.
pub(crate) fn lists_of(m: &Mirror, card: &str) -> Vec<(String, Vec<(String, bool)>)> {
    let mut lists: Vec<SandboxChecklist> = m.w.trello.checklists(card);
    for l in &mut lists {
        l.items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    }
    (lists.into_iter())
        .map(|l| {
            let items = l.items.into_iter().map(|i| (i.name, i.complete)).collect();
            (l.name, items)
        })
        .collect()
}

pub(crate) fn labels_of(m: &Mirror, card: &str) -> Vec<String> {
    let mut names = m.w.trello.card_label_names(card);
    names.sort();
    names
}

/// Settles, then answers the writes since `before`, and checks the echo of them wrote nothing
/// more: a second settle finds the count unchanged.
async fn writes_since(m: &Mirror, before: usize) -> usize {
    m.settle().await;
    let after = all_writes(&m.w);
    m.settle().await;
    assert_eq!(
        all_writes(&m.w),
        after,
        "the echo of our writes wrote again"
    );
    after - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_travel_both_ways_and_a_missing_label_is_made_with_its_colour() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let hot = t
        .user_create_label(&m.a.board_id, "Hot", Some("red"))
        .unwrap();
    let card = t
        .user_create_card(&m.a.lists["To Do"], "Brief", "")
        .unwrap();
    t.user_card_label(&card, &hot, true).unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    assert_eq!(
        labels_of(&m, &twin.id),
        ["Hot"],
        "a new twin carries the labels"
    );
    let made = t.labels(&m.b.board_id);
    assert_eq!(made.len(), 1);
    assert_eq!(
        (made[0].name.as_str(), made[0].color.as_deref()),
        ("Hot", Some("red"))
    );

    // A second label, which board b has already: put on, not made again.
    let big_a = t
        .user_create_label(&m.a.board_id, "Big", Some("blue"))
        .unwrap();
    t.user_create_label(&m.b.board_id, "Big", Some("green"))
        .unwrap();
    let before = all_writes(&m.w);
    t.user_card_label(&card, &big_a, true).unwrap();
    assert_eq!(writes_since(&m, before).await, 1, "put on, not made");
    assert_eq!(labels_of(&m, &twin.id), ["Big", "Hot"]);
    assert_eq!(t.labels(&m.b.board_id).len(), 2, "no label made twice");

    // Taken off on b: taken off on a.
    let hot_b = made[0].id.clone();
    let before = all_writes(&m.w);
    t.user_card_label(&twin.id, &hot_b, false).unwrap();
    assert_eq!(writes_since(&m, before).await, 1);
    assert_eq!(labels_of(&m, &card), ["Big"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_date_and_its_completion_travel_both_ways() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let card = t
        .user_create_card(&m.a.lists["To Do"], "Quote", "")
        .unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    let before = all_writes(&m.w);
    t.user_set_due(&card, Some(Some("2026-12-24T10:00:00Z")), None)
        .unwrap();
    assert_eq!(writes_since(&m, before).await, 1);
    let due = m.card(&twin.id).due;
    assert_eq!(due.as_deref(), Some("2026-12-24T10:00:00.000Z"));

    let before = all_writes(&m.w);
    t.user_set_due(&twin.id, None, Some(true)).unwrap();
    assert_eq!(writes_since(&m, before).await, 1);
    assert!(m.card(&card).due_complete, "complete on b → complete on a");

    t.user_set_due(&card, Some(None), Some(false)).unwrap();
    m.settle().await;
    let back = m.card(&twin.id);
    assert_eq!(
        (back.due, back.due_complete),
        (None, false),
        "removed on a → on b"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checklist_with_items_added_checked_renamed_and_removed_travels_both_ways() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let card = t.user_create_card(&m.a.lists["To Do"], "Site", "").unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    let list = t.user_add_checklist(&card, "Launch").unwrap();
    let brief = t.user_add_item(&list, "Brief").unwrap();
    t.user_add_item(&list, "Copy").unwrap();
    m.settle().await;
    let want = |items: &[(&str, bool)]| {
        let items = items.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
        vec![("Launch".to_owned(), items)]
    };
    assert_eq!(
        lists_of(&m, &twin.id),
        want(&[("Brief", false), ("Copy", false)])
    );

    // Checked on b: one write, to a.
    let on_b = |name: &str| {
        let lists = t.checklists(&twin.id);
        let item = lists[0].items.iter().find(|i| i.name == name).expect(name);
        (lists[0].id.clone(), item.id.clone())
    };
    let (list_b, copy_b) = on_b("Copy");
    let before = all_writes(&m.w);
    t.user_update_item(&twin.id, &copy_b, None, Some(true))
        .unwrap();
    assert_eq!(writes_since(&m, before).await, 1);
    assert_eq!(
        lists_of(&m, &card),
        want(&[("Brief", false), ("Copy", true)])
    );

    // Renamed on a: renamed in place on b (one write), then unchecked on a.
    let before = all_writes(&m.w);
    t.user_update_item(&card, &brief, Some("Brief v2"), None)
        .unwrap();
    assert_eq!(writes_since(&m, before).await, 1, "a rename is one write");
    assert_eq!(
        lists_of(&m, &twin.id),
        want(&[("Brief v2", false), ("Copy", true)])
    );
    let copy_a = &t.checklists(&card)[0].items[1].id.clone();
    t.user_update_item(&card, copy_a, None, Some(false))
        .unwrap();
    m.settle().await;
    assert_eq!(
        lists_of(&m, &twin.id),
        want(&[("Brief v2", false), ("Copy", false)])
    );

    // Removed on b: the item, then the checklist.
    t.user_remove_item(&list_b, &copy_b).unwrap();
    m.settle().await;
    assert_eq!(lists_of(&m, &card), want(&[("Brief v2", false)]));
    let before = all_writes(&m.w);
    t.user_remove_checklist(&list).unwrap();
    assert_eq!(writes_since(&m, before).await, 1);
    assert!(
        lists_of(&m, &twin.id).is_empty(),
        "removed on a → removed on b"
    );
}

/// Both boards change the labels before either delivery is processed: one conflict, decided
/// by `prefer_a`, logged with its winner; board b gets a's labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_conflict_is_decided_by_the_policy_and_logged() {
    let m = mirror_world("prefer_a").await;
    let t = &m.w.trello;
    let card = t.user_create_card(&m.a.lists["To Do"], "Plan", "").unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    let on_a = t
        .user_create_label(&m.a.board_id, "Internal", Some("purple"))
        .unwrap();
    let on_b = t
        .user_create_label(&m.b.board_id, "Client", Some("green"))
        .unwrap();
    t.hold_deliveries(true);
    t.user_card_label(&twin.id, &on_b, true).unwrap();
    t.user_card_label(&card, &on_a, true).unwrap();
    for job in held(&m.w, 2).await {
        t.redeliver(job);
    }
    m.settle().await;
    assert_eq!(labels_of(&m, &card), ["Internal"]);
    assert_eq!(
        labels_of(&m, &twin.id),
        ["Internal"],
        "prefer_a: a's labels win"
    );
    let conflicts = m.activity("conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, "labels");
    assert!(conflicts[0].1.contains("\"winner\":\"a\""), "{conflicts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_checklist_delivery_writes_nothing_twice() {
    let m = mirror_world("last_writer_wins").await;
    let t = &m.w.trello;
    let card = t.user_create_card(&m.a.lists["To Do"], "Deck", "").unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    t.hold_deliveries(true);
    t.user_add_checklist(&card, "Review").unwrap();
    let jobs = held(&m.w, 1).await;
    let before = all_writes(&m.w);
    for job in jobs {
        t.redeliver(job.clone());
        t.redeliver(job);
    }
    assert_eq!(writes_since(&m, before).await, 1, "one checklist made on b");
    assert_eq!(
        lists_of(&m, &twin.id),
        vec![("Review".to_owned(), Vec::new())]
    );
}

/// Each checklist is its own field (CONTRACT §8): checklist "QA" changed on a and "Launch" on b
/// before either delivery is processed are two changes, not a conflict, and both travel; a
/// checklist removed on one board while the other changes another is removed on both; the same
/// checklist changed on both is one conflict, of that checklist alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_checklists_changed_on_two_boards_at_once_both_survive() {
    let m = mirror_world("prefer_b").await;
    let t = &m.w.trello;
    let card = t.user_create_card(&m.a.lists["To Do"], "Site", "").unwrap();
    let qa = t.user_add_checklist(&card, "QA").unwrap();
    let smoke = t.user_add_item(&qa, "Smoke").unwrap();
    let launch = t.user_add_checklist(&card, "Launch").unwrap();
    t.user_add_item(&launch, "Brief").unwrap();
    m.settle().await;
    let twin = m.twin_of(&m.card(&card)).id;
    let launch_b = t.checklists(&twin)[1].id.clone();
    assert_eq!(t.checklists(&twin)[1].name, "Launch");

    t.hold_deliveries(true);
    t.user_update_item(&card, &smoke, None, Some(true)).unwrap();
    t.user_add_item(&launch_b, "Deck").unwrap();
    for job in held(&m.w, 2).await {
        t.redeliver(job);
    }
    m.settle().await;
    let both = |qa: &[(&str, bool)], launch: &[(&str, bool)]| {
        let items = |l: &[(&str, bool)]| l.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
        vec![
            ("QA".to_owned(), items(qa)),
            ("Launch".to_owned(), items(launch)),
        ]
    };
    let want = both(&[("Smoke", true)], &[("Brief", false), ("Deck", false)]);
    assert_eq!(lists_of(&m, &card), want, "b's Launch reached a");
    assert_eq!(lists_of(&m, &twin), want, "a's QA reached b");
    assert!(m.activity("conflict").await.is_empty(), "no conflict");

    // Launch removed on b while QA changes on a: removed on a, QA's change kept on both.
    t.hold_deliveries(true);
    t.user_add_item(&qa, "Load").unwrap();
    t.user_remove_checklist(&launch_b).unwrap();
    for job in held(&m.w, 2).await {
        t.redeliver(job);
    }
    m.settle().await;
    let want = vec![(
        "QA".to_owned(),
        vec![("Smoke".to_owned(), true), ("Load".to_owned(), false)],
    )];
    assert_eq!(lists_of(&m, &card), want, "Launch removed on a too");
    assert_eq!(lists_of(&m, &twin), want);

    // QA changed on both: one conflict, of QA, won by b (prefer_b).
    let load_b = t.checklists(&twin)[0].items[1].id.clone();
    t.hold_deliveries(true);
    t.user_update_item(&card, &smoke, Some("Smoke test"), None)
        .unwrap();
    t.user_update_item(&twin, &load_b, None, Some(true))
        .unwrap();
    for job in held(&m.w, 2).await {
        t.redeliver(job);
    }
    m.settle().await;
    let want = vec![(
        "QA".to_owned(),
        vec![("Smoke".to_owned(), true), ("Load".to_owned(), true)],
    )];
    assert_eq!(lists_of(&m, &card), want, "b's QA won");
    assert_eq!(lists_of(&m, &twin), want);
    let conflicts = m.activity("conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, "checklist:QA");
}
