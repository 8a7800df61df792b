//! The console in a real headless Chromium against the daemon and its sandbox emulators: log in
//! and watch the sync, a dry-run reconcile confirmed, a dead letter requeued, a conflict's
//! losing value applied, webhooks registered.

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::{SHEET, World};
use leadsync::sandbox::common::Faults;
use secrecy::ExposeSecret;

use crate::console_actions::{admin, both_hold, conflict_world};
use crate::console_support::{Browser, SHOWS, leads_alone};
use crate::e2e::{NAME, P, SETTLE, add_lead, marker, pool, world};
use crate::helpers::eventually;

fn token(w: &World) -> &str {
    w.settings.server.admin_token.expose_secret()
}

/// Set (to a path) to keep the overview's screenshot, as the README's was taken:
/// `LEADSYNC_CONSOLE_SCREENSHOT=$PWD/docs/console-overview.png cargo test --test it console_browser`.
const SCREENSHOT_TO: &str = "LEADSYNC_CONSOLE_SCREENSHOT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_logs_in_sees_the_pair_and_watches_a_new_lead_arrive() {
    let w = world().await;
    let b = Browser::start(1000, 760).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.wait_text("[data-pair=default] h2", "default").await;
    b.wait_text("[data-pair=default] .links", "0").await;
    b.wait_text("#leadership", leads_alone(&w)).await;

    w.user_edits_rows(
        P,
        2,
        &[&["", "Ada Lovelace", "ada@example.com", "", "", "New", ""]],
    )
    .await
    .expect("sheet edit");
    // The overview refreshes by itself: the new lead's link shows without a reload.
    b.wait_text("[data-pair=default] .links", "1").await;
    let card = eventually("the card", SETTLE, || async {
        w.card_named(P, "Ada Lovelace")
    })
    .await;
    b.click("[data-tab=activity]").await;
    b.wait_text("#activity", &marker(&card)).await;

    b.click("[data-tab=overview]").await;
    b.wait_text("[data-pair=default] .links", "1").await;
    // The chart counts the sheet's event and the commands that made the card.
    let shown = |css: &'static str| {
        let b = &b;
        async move {
            let text = b.wait_text(css, " ").await;
            (!text.starts_with("0 ")).then_some(text)
        }
    };
    eventually("the chart's events in", SHOWS, || shown("#throughput .in")).await;
    eventually("the chart's commands sent", SHOWS, || {
        shown("#throughput .out")
    })
    .await;
    let png = b.client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    if let Some(path) = std::env::var_os(SCREENSHOT_TO) {
        std::fs::write(path, &png).expect("screenshot written");
    }

    // At 360 px every page reflows: nothing wider than the screen (wide tables scroll inside
    // their own box).
    b.client.set_window_size(360, 740).await.expect("resize");
    let pages = [
        ("overview", "[data-pair=default] .links"),
        ("activity", "#activity-table"),
        ("actions", "#actions [data-pair=default]"),
    ];
    for (tab, shown) in pages {
        b.click(&format!("[data-tab={tab}]")).await;
        b.wait_text(shown, "").await;
        let overflow = b.horizontal_overflow().await;
        assert_eq!(overflow, 0, "{tab}: horizontal overflow at 360 px");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reconcile_is_previewed_as_a_table_then_confirmed() {
    let w = world().await;
    // A row typed while no event reached the daemon: only a reconciliation finds it.
    let row = ["", "Grace Hopper", "", "", "", "New", "", ""];
    let sheet = &w.pair(P).spreadsheet_id;
    w.google.set_rows(sheet, SHEET, 2, &[row]).expect("row");
    let b = Browser::start(1100, 720).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.click("[data-tab=actions]").await;
    b.click("[data-pair=default] [data-post^='/admin/ui/reconcile/preview']")
        .await;
    b.wait_text("#action-result h3", "dry run: nothing was changed")
        .await;
    b.wait_text("#plan", "link_lead").await;
    assert!(
        w.card_named(P, "Grace Hopper").is_none(),
        "a dry run changes nothing"
    );
    assert!(
        w.rows(P)[0][0].is_empty(),
        "the row got no id from the preview"
    );

    b.click("#confirm-reconcile").await;
    b.wait_text("#reconcile-started", "Reconciliation of default started")
        .await;
    eventually("the reconciled card", SETTLE, || async {
        w.card_named(P, "Grace Hopper")
    })
    .await;
    b.click("[data-tab=overview]").await;
    let shown = b
        .wait_text("[data-pair=default] .last-reconcile", "Z")
        .await;
    assert!(!shown.contains("never"), "{shown}");
    b.stop().await;
}

/// A world with one lead whose rename to "Barbara Liskov" is dead-lettered on its way to the
/// sheet (refused with 400s, which are not retried); the sheet works again afterwards.
async fn dead_lettered_world() -> (World, String) {
    let w = world().await;
    let (lead_id, card) = add_lead(&w, P, 2, "Barbara", "New").await;
    w.google.gate().set_faults(Faults {
        fail_next: vec![400, 400, 400],
        ..Faults::default()
    });
    let rename = UserCardChange {
        name: Some("Barbara Liskov".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, rename).expect("rename");
    eventually("a dead letter", SETTLE, || async {
        let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
            .fetch_one(pool(&w))
            .await
            .ok()?;
        (dead > 0).then_some(())
    })
    .await;
    w.google.gate().set_faults(Faults::default());
    (w, lead_id)
}

async fn renamed_in_the_sheet(w: &World) {
    eventually("the requeued write", SHOWS, || async {
        (w.rows(P)[0][NAME] == "Barbara Liskov").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_requeued_from_the_console_and_then_sent() {
    let (w, _) = dead_lettered_world().await;
    let b = Browser::start(1100, 720).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.wait_text("[data-pair=default] .dead-letters", "1").await;
    b.click("[data-tab=actions]").await;
    b.click("[data-pair=default] [data-post^='/admin/ui/dead-letters/requeue']")
        .await;
    b.wait_text("#requeued", "1 dead letter(s) of pair default requeued")
        .await;
    renamed_in_the_sheet(&w).await;
    b.click("[data-tab=overview]").await;
    b.wait_text("[data-pair=default] .dead-letters", "0").await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leads_page_shows_its_link_fields_and_dead_letter_and_resyncs_it() {
    let (w, lead_id) = dead_lettered_world().await;
    let b = Browser::start(1100, 720).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.click("[data-tab=activity]").await;
    b.click(&format!(
        "#activity button[data-show=lead][data-get$='lead={lead_id}']"
    ))
    .await;
    b.wait_text("#lead-id", &lead_id).await;
    let card = w.card_named(P, "Barbara Liskov").expect("card");
    b.wait_text("#lead", &card.short_link).await;
    b.wait_text("#lead-fields", "Barbara").await;
    b.wait_text("#lead-commands", "dead").await;
    b.click("#resync-lead").await;
    b.wait_text("#resynced", "1 dead letter(s) of").await;
    renamed_in_the_sheet(&w).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_opened_and_its_losing_value_applied_to_both_systems() {
    let (w, lead_id, card_id, _) = conflict_world().await;
    let b = Browser::start(1100, 720).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.click("[data-tab=activity]").await;
    b.type_into("#filters [name=decision]", "conflict").await;
    b.click("#filters button[type=submit]").await;
    let shown = b.wait_text("#activity-table", "Ada from the sheet").await;
    assert!(shown.contains("trello: Ada from Trello"), "{shown}");
    assert!(shown.contains("winner"), "{shown}");
    b.click("#activity-table .apply-losing").await;
    b.wait_text("#applied", "set to the losing value").await;
    both_hold(&w, &card_id, "Ada from the sheet").await;
    // The lead's page: the value agreed now, and the operator's edit in its history.
    b.click(&format!(
        "#activity button[data-show=lead][data-get$='lead={lead_id}']"
    ))
    .await;
    b.wait_text("#lead-fields", "Ada from the sheet").await;
    b.wait_text("#lead", "operator_edit").await;
    // At 360 px the conflict, its button and the outcome reflow too.
    b.client.set_window_size(360, 740).await.expect("resize");
    b.click("[data-tab=activity]").await;
    b.wait_text("#activity-table", "Apply the losing value")
        .await;
    assert_eq!(b.horizontal_overflow().await, 0, "activity at 360 px");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_registered_and_checked_from_the_actions_page() {
    let w = world().await;
    let id = w.trello.webhooks()[0].id.clone();
    let (status, _) = admin(
        &w,
        reqwest::Method::DELETE,
        &format!("/admin/webhooks/{id}"),
    )
    .await;
    assert_eq!(status, 200);
    let b = Browser::start(1100, 720).await;
    b.log_in(&w.base_url(), token(&w)).await;
    b.wait_text("[data-pair=default]", "Trello: none registered")
        .await;
    b.click("[data-tab=actions]").await;
    b.click("#register-webhooks").await;
    b.wait_text("#webhooks-title", "Registered: 1 webhook(s)")
        .await;
    let shown = b
        .wait_text("#webhooks [data-system=trello]", "active")
        .await;
    assert!(!shown.contains("inactive"), "{shown}");
    let hooks = w.trello.webhooks();
    assert_eq!(hooks.len(), 1, "registered in Trello");
    b.wait_text("#webhooks", &hooks[0].id).await;
    b.click("#check-webhooks").await;
    b.wait_text("#webhooks-title", "Webhooks now: 1 webhook(s)")
        .await;
    b.click("[data-tab=overview]").await;
    b.wait_text("[data-pair=default]", "Trello: 1 registered")
        .await;
    // The overview asks the systems on demand whether the webhooks are active.
    b.click("#overview-check-webhooks").await;
    let shown = b
        .wait_text("#webhook-check [data-system=trello]", "active")
        .await;
    assert!(
        shown.contains(&hooks[0].id) && !shown.contains("inactive"),
        "{shown}"
    );
    b.stop().await;
}
