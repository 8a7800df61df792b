//! Trello board ↔ board mirrors end to end (CONTRACT §8): the real app on 127.0.0.1:0 with the
//! Trello emulator holding the pair's board and the mirror's two boards.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::{HeldDelivery, UserCardChange};
use leadsync::sandbox::common::Faults;

use crate::mirror_support::{
    held, marker, mirror_world, name, redeliver_losing_third_answer, writes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_created_on_either_board_gets_one_twin_and_its_fields_travel_both_ways() {
    let m = mirror_world("last_writer_wins").await;
    let on_a =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Brief", "Call Ada")
            .expect("card");
    let on_b =
        (m.w.trello
            .user_create_card(&m.b.lists["In Progress"], "Logo", ""))
        .expect("card");
    m.settle().await;
    let (a, twin_a) = (m.card(&on_a), m.twin_of(&m.card(&on_a)));
    assert_eq!(
        (twin_a.name.as_str(), twin_a.id_list.as_str()),
        ("Brief", m.b.lists["Backlog"].as_str())
    );
    assert_eq!(marker(&a), marker(&twin_a), "both end with the same marker");
    assert!(twin_a.desc.starts_with("Call Ada\n"), "{:?}", twin_a.desc);
    let twin_b = m.twin_of(&m.card(&on_b));
    assert_eq!(
        (twin_b.name.as_str(), twin_b.id_list.as_str()),
        ("Logo", m.a.lists["Doing"].as_str())
    );
    assert_eq!((m.cards_a().len(), m.cards_b().len()), (2, 2));

    m.edit(&on_a, name("Brief v2"));
    m.edit(
        &twin_a.id,
        UserCardChange {
            desc: Some(format!(
                "Call Ada at 10\n\nleadsync:{}",
                marker(&a).expect("marker")
            )),
            ..UserCardChange::default()
        },
    );
    m.settle().await;
    assert_eq!(m.card(&twin_a.id).name, "Brief v2", "a → b");
    assert!(
        m.card(&on_a)
            .desc
            .starts_with("Call Ada at 10\n\nleadsync:"),
        "b → a: {:?}",
        m.card(&on_a).desc
    );

    m.edit(
        &on_a,
        UserCardChange {
            id_list: Some(m.a.lists["Done"].clone()),
            ..UserCardChange::default()
        },
    );
    m.edit(
        &on_b,
        UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        },
    );
    m.settle().await;
    assert_eq!(
        m.card(&twin_a.id).id_list,
        m.b.lists["Done"],
        "the list travels through the map"
    );
    assert!(m.card(&twin_b.id).closed, "archived on b → archived on a");
    m.edit(
        &twin_b.id,
        UserCardChange {
            closed: Some(false),
            ..UserCardChange::default()
        },
    );
    m.settle().await;
    assert!(!m.card(&on_b).closed, "unarchived on a → unarchived on b");
    assert_eq!(
        (m.cards_a().len(), m.cards_b().len()),
        (2, 2),
        "never a second twin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_our_own_writes_causes_no_further_write() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Quote", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    let before = writes(&m.w);
    m.edit(&id, name("Quote (final)"));
    m.settle().await;
    assert_eq!(m.card(&twin.id).name, "Quote (final)");
    // One write, to the twin; its webhook comes back, is recognised, and writes nothing.
    let after = writes(&m.w);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (0, 1),
        "creates and updates"
    );
    assert!(!m.activity("copy_to_b").await.is_empty());
}

/// A copy whose answer is lost lands all the same: the pass, run again, finds both cards equal
/// and decides nothing, and the activity log still shows the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_whose_answer_was_lost_is_in_the_activity_log() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Memo", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.trello.hold_deliveries(true);
    m.edit(&id, name("Memo v2"));
    let jobs = held(&m.w, 1).await;
    // Both cards read, then the twin's update is made and its answer lost.
    redeliver_losing_third_answer(&m.w, jobs);
    m.settle().await;
    assert!(
        m.w.trello.gate().faults().fail_next.is_empty(),
        "the reset was served"
    );
    assert_eq!(m.card(&twin.id).name, "Memo v2");
    let copies = m.activity("copy_to_b").await;
    assert!(
        copies.iter().any(|(field, _)| field == "name"),
        "the copy is in the activity log: {copies:?}"
    );
}

/// Both boards edit the name before either webhook is processed: one conflict, decided by the
/// policy, and the loser's board gets the winner's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_edited_on_both_boards_is_one_conflict_decided_by_the_policy() {
    let m = mirror_world("prefer_b").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Plan", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.trello.hold_deliveries(true);
    m.edit(&twin.id, name("Plan (client)"));
    m.edit(&id, name("Plan (internal, later)"));
    for job in held(&m.w, 2).await {
        m.w.trello.redeliver(job);
    }
    m.settle().await;
    assert_eq!(
        m.card(&id).name,
        "Plan (client)",
        "prefer_b: b wins though a is later"
    );
    assert_eq!(m.card(&twin.id).name, "Plan (client)");
    let conflicts = m.activity("conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, "name");
    assert!(conflicts[0].1.contains("\"winner\":\"b\""), "{conflicts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmapped_list_keeps_the_twin_where_it_is_and_gets_no_twin_of_its_own() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["Doing"], "Audit", "")
            .expect("card");
    let idea =
        m.w.trello
            .user_create_card(&m.a.lists["Ideas"], "Someday", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.edit(
        &id,
        UserCardChange {
            id_list: Some(m.a.lists["Ideas"].clone()),
            name: Some("Audit (parked)".into()),
            ..UserCardChange::default()
        },
    );
    m.settle().await;
    let after = m.card(&twin.id);
    assert_eq!(
        after.id_list, m.b.lists["In Progress"],
        "the twin stays in its list"
    );
    assert_eq!(after.name, "Audit (parked)", "other fields still travel");
    assert_eq!(
        marker(&m.card(&idea)),
        None,
        "a card in an unmapped list gets no twin"
    );
    assert_eq!(m.cards_b().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_card_archives_its_twin_and_an_archived_card_gets_no_twin() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.b.lists["Backlog"], "Spec", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.trello.user_delete_card(&id).expect("delete");
    m.settle().await;
    m.w.trello.hold_deliveries(true);
    let shelved =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Old", "")
            .expect("card");
    m.w.trello.hold_deliveries(true);
    m.edit(
        &shelved,
        UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        },
    );
    m.w.trello.hold_deliveries(false);
    m.settle().await;
    assert!(m.card(&twin.id).closed, "the twin is archived, not deleted");
    // The create of `shelved` was delivered before it was archived: whether or not it got a
    // twin in between, no twin is made for it once archived and nothing is deleted.
    assert!(m.cards_a().iter().any(|c| c.id == twin.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_delivery_changes_nothing_twice() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Memo", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.trello.hold_deliveries(true);
    m.edit(&id, name("Memo 2"));
    let held = held(&m.w, 1).await;
    let before = writes(&m.w);
    for _ in 0..3 {
        let job = &held[0];
        m.w.trello.redeliver(HeldDelivery {
            url: job.url.clone(),
            body: job.body.clone(),
            action_id: job.action_id.clone(),
            action_type: job.action_type.clone(),
        });
        m.settle().await;
    }
    assert_eq!(m.card(&twin.id).name, "Memo 2");
    let after = writes(&m.w);
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_finds_the_twins_by_marker_and_makes_no_second_twin_on_sqlite() {
    let mut m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Kept", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.stop_app().await.expect("stops");
    let db = m.w.settings.database_path().expect("db path");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    m.w.start_app().await.expect("restarts on a fresh database");
    m.w.register_webhooks().await.expect("webhooks");
    m.settle().await;
    m.edit(&twin.id, name("Kept (renamed on b)"));
    m.settle().await;
    assert_eq!(
        m.card(&id).name,
        "Kept (renamed on b)",
        "the link was found again"
    );
    assert_eq!(
        (m.cards_a().len(), m.cards_b().len()),
        (1, 1),
        "no second twin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_with_lost_answers_make_no_duplicate_twin() {
    let m = mirror_world("last_writer_wins").await;
    m.w.trello.gate().set_faults(Faults {
        error_rate: 0.15,
        status_429_share: 0.5,
        retry_after_secs: Some(0),
        reset_rate: 0.15,
        after_handler: true,
        ..Faults::default()
    });
    let ids: Vec<String> = (1..=6)
        .map(|i| {
            let list = if i % 2 == 0 {
                &m.a.lists["To Do"]
            } else {
                &m.a.lists["Done"]
            };
            m.w.trello
                .user_create_card(list, &format!("Task {i}"), "")
                .expect("card")
        })
        .collect();
    m.w.settle(Duration::from_secs(90))
        .await
        .expect("settles under faults");
    m.w.trello.gate().set_faults(Faults::default());
    m.settle().await;
    assert_eq!(m.cards_b().len(), 6, "{:?}", m.cards_b());
    for id in &ids {
        let twin = m.twin_of(&m.card(id));
        assert_eq!(twin.name, m.card(id).name);
    }
}
