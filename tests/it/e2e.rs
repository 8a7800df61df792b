//! End to end: the real daemon, real clients and both emulators, driven as users would.

use std::time::Duration;

use leadsync::demo::world::{World, WorldOptions};
use leadsync::sync::mapping::split_description;

const SETTLE: Duration = Duration::from_secs(30);

pub async fn world() -> World {
    crate::helpers::test_log();
    World::start(WorldOptions::default())
        .await
        .expect("world starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sheet_row_becomes_a_card_and_gets_its_id_and_card_url() {
    let w = world().await;
    w.user_edits_rows(
        "default",
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
    let cards = w.cards("default");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert_eq!(card.name, "Ada Lovelace");
    assert_eq!(w.list_name("default", &card.id_list), "Contacted");
    let (notes, marker) = split_description(&card.desc);
    assert_eq!(notes, "met at expo");
    let row = &w.rows("default")[0];
    let lead_id = marker.expect("marker").to_string();
    assert_eq!(row[0], lead_id, "the id is written back");
    assert!(
        row[7].ends_with(&card.short_link),
        "card url written back: {row:?}"
    );
    assert_eq!(
        card.custom_texts
            .get(&w.field_id("default", "Email"))
            .map(String::as_str),
        Some("ada@example.com")
    );
    assert_eq!(
        card.custom_texts
            .get(&w.field_id("default", "Company"))
            .map(String::as_str),
        Some("Analytical")
    );
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
