//! Mirrors as an operator meets them: `leadsync reconcile --pair <mirror>`, `/admin/status`, and
//! the last writer winning a conflict by its change's own time.

use std::process::Command;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::e2e::SETTLE;
use crate::helpers::eventually;
use crate::mirror_support::{
    M, events_stored, held, marker, mirror_world, mirror_world_with, name,
    redeliver_losing_third_answer, writes,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_with_a_mirror_s_name_gives_each_card_one_twin_and_twice_changes_nothing() {
    let m = mirror_world_with("last_writer_wins", false).await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["Doing"], "Offline", "typed")
            .expect("card");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_leadsync"))
            .arg("--config")
            .arg(m.w.config_path())
            .args(["reconcile", "--pair", M])
            .current_dir(m.w.dir())
            .env_remove("LEADSYNC_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .expect("runs")
    };
    let first = run();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains(r#""mirrors":["client"]"#) && stdout.contains(r#""ok":true"#),
        "{stdout}"
    );
    let twin = m.twin_of(&m.card(&id));
    assert_eq!(
        (twin.name.as_str(), twin.id_list.as_str()),
        ("Offline", m.b.lists["In Progress"].as_str())
    );
    let before = writes(&m.w);
    assert!(run().status.success());
    assert_eq!(
        writes(&m.w),
        before,
        "a second reconciliation writes nothing"
    );
    assert_eq!(m.cards_b().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_status_lists_the_mirror_with_its_links() {
    let m = mirror_world("last_writer_wins").await;
    m.w.trello
        .user_create_card(&m.a.lists["To Do"], "Seen", "")
        .expect("card");
    m.settle().await;
    let token = m.w.settings.server.admin_token.expose_secret().to_owned();
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/admin/status", m.w.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let mirror = &body["mirrors"][0];
    assert_eq!(mirror["name"], M, "{body}");
    assert_eq!(mirror["links"], 1, "{body}");
    assert_eq!(mirror["inbox_depth"], 0, "{body}");
    assert!(mirror["last_reconcile_at"].is_string(), "{body}");
    assert!(
        body["pairs"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["name"] != M))
    );
}

/// `last_writer_wins`: side b's edit is later by its own time, so b wins although a's webhook is
/// the one delivered last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_writer_wins_a_conflict_by_its_change_time() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Scope", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&id));
    m.w.trello.hold_deliveries(true);
    m.edit(&id, name("Scope (a, first)"));
    let first = chrono::Utc::now();
    eventually("a later millisecond", SETTLE, || async {
        (chrono::Utc::now() - first > chrono::TimeDelta::milliseconds(5)).then_some(())
    })
    .await;
    m.edit(&twin.id, name("Scope (b, later)"));
    let mut jobs = held(&m.w, 2).await;
    jobs.reverse();
    for job in jobs {
        m.w.trello.redeliver(job);
    }
    m.w.settle(Duration::from_secs(30)).await.expect("settles");
    assert_eq!(m.card(&id).name, "Scope (b, later)");
    let conflicts = m.activity("conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(conflicts[0].1.contains("\"winner\":\"b\""), "{conflicts:?}");
    assert_eq!(marker(&m.card(&id)), marker(&m.card(&twin.id)));
}

/// The twin's create reaches the board but its answer is lost (the connection reset after the
/// emulator made the card): the retry finds the card by its marker and creates nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twin_create_whose_answer_was_lost_is_found_by_its_marker_not_made_twice() {
    let m = mirror_world("last_writer_wins").await;
    m.w.trello.hold_deliveries(true);
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Once", "")
            .expect("card");
    let jobs = held(&m.w, 1).await;
    // The engine reads the card, marks it, then creates its twin: the create is reset.
    let before = writes(&m.w);
    redeliver_losing_third_answer(&m.w, jobs);
    // Once the card's action is stored (the debounce holds it), later deliveries are lost: the
    // twin's own createCard cannot link it, only the search by marker can.
    events_stored(&m.w, 1).await;
    m.w.trello.drop_deliveries(true);
    m.w.settle(Duration::from_secs(30)).await.expect("settles");
    m.w.trello.drop_deliveries(false);
    assert!(
        m.w.trello.gate().faults().fail_next.is_empty(),
        "the reset was served"
    );
    let creates = writes(&m.w).0 - before.0;
    assert_eq!(
        creates, 1,
        "one create call, its answer lost, never repeated"
    );
    assert_eq!(m.cards_b().len(), 1, "{:?}", m.cards_b());
    assert_eq!(m.twin_of(&m.card(&id)).name, "Once");
}

/// Copying a linked card copies its description, marker and all: the copy gets a twin of its
/// own under a new marker, and the original pair of twins stays linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_linked_card_gets_its_own_twin_and_leaves_the_original_link() {
    let m = mirror_world("last_writer_wins").await;
    let id =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Original", "")
            .expect("card");
    m.settle().await;
    let original = m.card(&id);
    let twin = m.twin_of(&original);
    let copy = (m.w.trello)
        .user_create_card(&m.a.lists["To Do"], "Copy", &original.desc)
        .expect("copy");
    m.settle().await;
    let copy = m.card(&copy);
    assert_ne!(
        marker(&copy),
        marker(&original),
        "the copy has a marker of its own"
    );
    assert_eq!(m.twin_of(&copy).name, "Copy");
    assert_eq!(
        m.twin_of(&m.card(&id)).id,
        twin.id,
        "the original link stands"
    );
    m.edit(&id, name("Original 2"));
    m.settle().await;
    assert_eq!(m.card(&twin.id).name, "Original 2");
    assert_eq!(m.cards_b().len(), 2);
}

/// A board shared by the pair and the mirror has one webhook, and each of its actions is stored
/// once for the pair and once for the mirror; the mirror's lists are not the pair's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_shared_by_a_pair_and_a_mirror_has_one_webhook_and_feeds_both() {
    let mut w = crate::e2e::world_with(leadsync::demo::world::WorldOptions {
        start_app: false,
        ..Default::default()
    })
    .await;
    let shared = w.pairs[0].board.board_id.clone();
    let to_do = w.trello.user_create_list(&shared, "To Do").expect("list");
    let b = w.trello.setup_board("Client", &["Backlog"], &[]);
    let mut text = std::fs::read_to_string(w.config_path()).expect("config");
    text.push_str(&format!(
        "\n[[mirrors]]\nname = \"{M}\"\nboard_a = \"{shared}\"\nboard_b = \"{}\"\n\
         [mirrors.lists]\n\"To Do\" = \"Backlog\"\n",
        b.board_id
    ));
    std::fs::write(w.config_path(), text).expect("write config");
    w.settings = leadsync::config::load(&leadsync::config::Sources {
        file: Some(w.config_path()),
        ..Default::default()
    })
    .expect("loads");
    w.start_app().await.expect("app starts");
    w.register_webhooks().await.expect("webhooks");
    let mut boards: Vec<String> = w
        .trello
        .webhooks()
        .into_iter()
        .map(|h| h.id_model)
        .collect();
    boards.sort();
    let mut expected = vec![shared.clone(), b.board_id.clone()];
    expected.sort();
    assert_eq!(boards, expected, "one webhook per board");

    let id = w
        .trello
        .user_create_card(&to_do, "Shared", "")
        .expect("card");
    w.settle(SETTLE).await.expect("settles");
    let db = &w.state().expect("running").db;
    let routes: Vec<String> = sqlx::query_scalar(
        "SELECT pair FROM inbox WHERE dedupe_key =
             (SELECT dedupe_key FROM inbox WHERE pair = $1 ORDER BY id LIMIT 1) ORDER BY pair",
    )
    .bind(M)
    .fetch_all(&db.pool)
    .await
    .expect("inbox");
    assert_eq!(
        routes,
        ["client", "default"],
        "the card's create went to both"
    );
    let twins = w.trello.cards(&b.board_id);
    assert_eq!(twins.len(), 1, "{twins:?}");
    assert_eq!(twins[0].name, "Shared");
    let card = w.trello.card(&id).expect("card");
    assert_eq!(marker(&card), marker(&twins[0]));
}

/// One Trello budget per token: the mirror's calls to both of its boards and the pairs' calls
/// go through the one limiter the console shows (the app's one Trello client): every call the
/// emulator saw from the app while the mirror worked on both boards was granted by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calls_to_both_boards_of_a_mirror_and_the_pairs_share_one_trello_budget() {
    let m = mirror_world("last_writer_wins").await;
    // The mirror's start-up reconciliation done, and its calls answered: no call straddles the
    // counts taken below.
    let db = &m.w.state().expect("running").db;
    eventually("the mirror reconciled at start-up", SETTLE, || async {
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM mirrors WHERE last_reconcile_at IS NOT NULL")
                .fetch_one(&db.pool)
                .await
                .expect("mirrors");
        (done == 1).then_some(())
    })
    .await;
    m.settle().await;
    let budget = || {
        let state = m.w.state().expect("running");
        let trello = state.trello.as_ref().expect("the daemon's Trello client");
        trello.limiter_stats()
    };
    assert_eq!(budget().len(), 2, "one limiter per token and one per key");
    let granted = || budget()[0].granted;
    let calls = m.w.trello.gate().calls();
    let (granted_before, calls_before) = (granted(), calls.records().len());
    let puts_before = calls.count("PUT", "/1/cards");
    let card =
        m.w.trello
            .user_create_card(&m.a.lists["To Do"], "Budget", "")
            .expect("card");
    m.settle().await;
    let twin = m.twin_of(&m.card(&card));
    m.edit(&twin.id, name("Budget v2"));
    m.settle().await;
    assert_eq!(m.card(&card).name, "Budget v2");
    // The mirror wrote to both boards: the marker on a's card, the twin and its name on b.
    let puts = calls.count("PUT", "/1/cards") - puts_before;
    assert!(puts >= 2, "writes on both boards: {puts}");
    assert!(calls.count("POST", "/1/cards") >= 1, "the twin made on b");
    let made = calls.records().len() - calls_before;
    assert!(made > 0);
    assert_eq!(
        granted() - granted_before,
        u64::try_from(made).expect("a count"),
        "every call to either board was granted by the one token limiter"
    );
    assert_eq!(budget()[1].granted, granted(), "and by the one key limiter");
}
