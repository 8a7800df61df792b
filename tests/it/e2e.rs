//! End to end: the real daemon, real clients and both emulators, driven as users would.
//! Sheet → Trello here; the other directions, faults and recovery live in the sibling files.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::CallLog;
use leadsync::sync::mapping::split_description;

pub const SETTLE: Duration = Duration::from_secs(30);
pub const P: &str = "default";

/// Sheet columns (0-based) of the world's header.
pub const ID: usize = 0;
pub const NAME: usize = 1;
pub const EMAIL: usize = 2;
pub const STATUS: usize = 5;
pub const NOTES: usize = 6;
pub const CARD: usize = 7;

pub async fn world() -> World {
    world_with(WorldOptions::default()).await
}

pub async fn world_with(options: WorldOptions) -> World {
    crate::helpers::test_log();
    World::start(options).await.expect("world starts")
}

/// Types a lead into `row` (1-based) and waits until its card exists; returns (lead id, card).
pub async fn add_lead(
    w: &World,
    pair: &str,
    row: u32,
    name: &str,
    status: &str,
) -> (String, SandboxCard) {
    w.user_edits_rows(pair, row, &[&["", name, "", "", "", status, ""]])
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let card = w.card_named(pair, name).expect("the lead has a card");
    let lead_id = marker(&card);
    (lead_id, card)
}

pub fn marker(card: &SandboxCard) -> String {
    split_description(&card.desc)
        .1
        .expect("the card carries the marker")
        .to_string()
}

/// Calls that change something (reads and token requests excluded).
pub fn writes(log: &CallLog) -> usize {
    log.records()
        .iter()
        .filter(|r| r.method != "GET" && r.method != "HEAD" && !r.path.ends_with("/token"))
        .count()
}

pub fn pool(w: &World) -> &leadsync::store::Pool {
    &w.state().expect("the daemon runs").db.pool
}

/// Every lead row's status equals its card's list and the names agree; one open card per lead.
pub fn assert_sides_equal(w: &World, pair: &str) {
    let rows = w.rows(pair);
    let cards = w.cards(pair);
    assert_eq!(rows.len(), cards.len(), "rows {rows:?}\ncards {cards:?}");
    for row in &rows {
        let mine: Vec<&SandboxCard> = cards.iter().filter(|c| marker(c) == row[ID]).collect();
        assert_eq!(mine.len(), 1, "one card for {row:?}: {mine:?}");
        let card = mine[0];
        assert_eq!(card.name, row[NAME], "{row:?}");
        assert_eq!(w.list_name(pair, &card.id_list), row[STATUS], "{row:?}");
        assert!(row[CARD].ends_with(&card.short_link), "{row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sheet_row_becomes_a_card_and_gets_its_id_and_card_url() {
    let w = world().await;
    w.user_edits_rows(
        P,
        2,
        &[&[
            "",
            "Ada Lovelace",
            "ada@example.com",
            "+44 1",
            "Analytical",
            "Contacted",
            "met at expo",
        ]],
    )
    .await
    .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert_eq!(card.name, "Ada Lovelace");
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
    let (notes, marker) = split_description(&card.desc);
    assert_eq!(notes, "met at expo");
    let row = &w.rows(P)[0];
    let lead_id = marker.expect("marker").to_string();
    assert_eq!(row[ID], lead_id, "the id is written back");
    assert!(
        row[CARD].ends_with(&card.short_link),
        "card url written back: {row:?}"
    );
    let text = |f: &str| card.custom_texts.get(&w.field_id(P, f)).cloned();
    assert_eq!(text("Email").as_deref(), Some("ada@example.com"));
    assert_eq!(text("Phone").as_deref(), Some("+44 1"));
    assert_eq!(text("Company").as_deref(), Some("Analytical"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_in_the_sheet_moves_the_card_to_the_mapped_list() {
    let w = world().await;
    let (_, card) = add_lead(&w, P, 2, "Grace Hopper", "New").await;
    assert_eq!(w.list_name(P, &card.id_list), "New");
    w.user_edits_cell(P, 2, "Status", "Qualified")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(cards[0].id, card.id);
    assert_eq!(w.list_name(P, &cards[0].id_list), "Qualified");
    assert_eq!(w.rows(P)[0][STATUS], "Qualified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_our_own_write_causes_no_further_write() {
    let w = world().await;
    let (lead_id, card) = add_lead(&w, P, 2, "Edsger Dijkstra", "New").await;
    let trello = w.trello.gate().calls();
    let google = w.google.gate().calls();
    trello.clear();
    google.clear();
    let echoes_before = echo_count(&w, &lead_id).await;

    w.user_edits_cell(P, 2, "Notes", "prefers email")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");

    // Exactly the one card update; the webhook of that update came back and changed nothing.
    assert_eq!(writes(&trello), 1, "{:?}", trello.records());
    assert_eq!(trello.count("PUT", &format!("/1/cards/{}", card.id)), 1);
    assert_eq!(writes(&google), 0, "{:?}", google.records());
    let delivered: Vec<_> = w
        .trello
        .deliveries()
        .into_iter()
        .filter(|d| d.action_type == "updateCard")
        .collect();
    assert!(!delivered.is_empty(), "the echo webhook was delivered");
    assert!(
        echo_count(&w, &lead_id).await > echoes_before,
        "the echo was recognised"
    );
    let (notes, _) = split_description(&w.trello.card(&card.id).expect("card").desc);
    assert_eq!(notes, "prefers email");

    // And nothing more happens later.
    trello.clear();
    google.clear();
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(writes(&trello) + writes(&google), 0);
}

async fn echo_count(w: &World, lead_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM activity WHERE lead_id = $1 AND decision = 'echo'")
        .bind(lead_id)
        .fetch_one(pool(w))
        .await
        .expect("activity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_row_paste_makes_exactly_five_cards() {
    let w = world().await;
    let names = ["P One", "P Two", "P Three", "P Four", "P Five"];
    let rows: Vec<[&str; 8]> = names
        .iter()
        .map(|n| ["", n, "", "", "", "New", "", ""])
        .collect();
    let refs: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
    w.user_edits_rows(P, 2, &refs).await.expect("paste");
    w.settle(SETTLE).await.expect("settles");
    // A replayed reconciliation must not add any either.
    w.reconcile(SETTLE).await.expect("reconciles");
    let cards = w.cards(P);
    assert_eq!(cards.len(), 5, "{cards:?}");
    let mut card_names: Vec<&str> = cards.iter().map(|c| c.name.as_str()).collect();
    card_names.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(card_names, expected);
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_names_travel_both_ways() {
    let w = world().await;
    let name = "Zoë Ångström – café 🚀";
    let (_, card) = add_lead(&w, P, 2, name, "New").await;
    assert_eq!(card.name, name);
    let back = "Jürgen Øberg — naïve 日本語 ✓";
    w.user_updates_card(
        &card.id,
        leadsync::connectors::trello::sandbox::UserCardChange {
            name: Some(back.into()),
            ..Default::default()
        },
    )
    .expect("rename");
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][NAME], back);
    assert_eq!(w.cards(P).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_metrics_cover_the_running_engine() {
    let mut w = world().await;
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{}/readyz", w.base_url()))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    w.user_edits_rows("default", 2, &[&["", "Grace", "", "", "", "New", ""]])
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    let text = client
        .get(format!("{}/metrics", w.base_url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "leadsync_outbox_depth",
        "leadsync_inbox_depth",
        "leadsync_outbound_requests_total",
        "leadsync_sync_decisions_total",
        "leadsync_reconcile_duration_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    w.stop_app().await.expect("stops");
}
