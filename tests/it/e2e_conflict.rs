//! End to end: both sides editing the same field at once, decided by the configured policy and
//! logged; and two pairs running side by side without crossing.

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::store::activity;

use crate::e2e::{NAME, P, SETTLE, STATUS, add_lead, assert_sides_equal, pool, world_with};

/// A debounce long enough that the two edits of a test always land in one decision set.
fn options(policy: &str) -> WorldOptions {
    WorldOptions {
        debounce_ms: 2000,
        conflict_policy: policy.into(),
        ..WorldOptions::default()
    }
}

fn rename(w: &World, card_id: &str, name: &str) {
    w.user_updates_card(
        card_id,
        UserCardChange {
            name: Some(name.into()),
            ..UserCardChange::default()
        },
    )
    .expect("rename");
}

/// Lets the clock pass a few milliseconds so the two edits carry different times (equal times
/// are a tie, which goes to the sheet under every policy). Not a synchronisation.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

/// The one conflict decision recorded for the lead, with its detail.
async fn conflict_of(w: &World, lead_id: &str) -> activity::ActivityEntry {
    let entries = activity::recent(pool(w), Some(lead_id), 100)
        .await
        .expect("activity");
    let conflicts: Vec<_> = entries
        .into_iter()
        .filter(|e| e.decision == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    conflicts.into_iter().next().expect("one conflict")
}

fn assert_detail_complete(e: &activity::ActivityEntry) {
    for key in [
        "sheet_value_hash",
        "trello_value_hash",
        "sheet_changed_at",
        "trello_changed_at",
    ] {
        assert!(
            e.detail[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} missing: {e:?}"
        );
    }
    assert_ne!(e.detail["sheet_value_hash"], e.detail["trello_value_hash"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_conflict_goes_to_the_last_writer_and_is_logged() {
    let w = world_with(options("last_writer_wins")).await;
    let (lead_id, card) = add_lead(&w, P, 2, "Ada", "New").await;

    // The sheet edit comes first, the Trello rename a moment later: Trello is the last writer.
    w.user_edits_cell(P, 2, "Name", "Ada from the sheet")
        .await
        .expect("edit");
    tick().await;
    rename(&w, &card.id, "Ada from Trello");
    w.settle(SETTLE).await.expect("settles");

    assert_eq!(w.rows(P)[0][NAME], "Ada from Trello");
    assert_eq!(
        w.trello.card(&card.id).expect("card").name,
        "Ada from Trello"
    );
    let c = conflict_of(&w, &lead_id).await;
    assert_eq!(c.field.as_deref(), Some("name"));
    assert_eq!(c.card_id.as_deref(), Some(card.id.as_str()));
    assert_eq!(c.detail["winner"], "trello");
    assert_eq!(c.detail["policy"], "last_writer_wins");
    assert_detail_complete(&c);
    assert!(
        c.detail["trello_changed_at"].as_str() > c.detail["sheet_changed_at"].as_str(),
        "{c:?}"
    );
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_trello_lets_trello_win_even_when_the_sheet_wrote_last() {
    let w = world_with(options("prefer_trello")).await;
    let (lead_id, card) = add_lead(&w, P, 2, "Bob", "New").await;

    rename(&w, &card.id, "Bob from Trello");
    tick().await;
    w.user_edits_cell(P, 2, "Name", "Bob from the sheet")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");

    assert_eq!(w.rows(P)[0][NAME], "Bob from Trello");
    assert_eq!(
        w.trello.card(&card.id).expect("card").name,
        "Bob from Trello"
    );
    let c = conflict_of(&w, &lead_id).await;
    assert_eq!(c.field.as_deref(), Some("name"));
    assert_eq!(c.detail["winner"], "trello");
    assert_eq!(c.detail["policy"], "prefer_trello");
    assert_detail_complete(&c);
    assert!(
        c.detail["sheet_changed_at"].as_str() > c.detail["trello_changed_at"].as_str(),
        "the sheet was the later writer: {c:?}"
    );
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pairs_keep_their_leads_on_their_own_boards() {
    let w = world_with(WorldOptions {
        pairs: vec!["east".into(), "west".into()],
        ..WorldOptions::default()
    })
    .await;
    w.user_edits_rows("east", 2, &[&["", "East One", "", "", "", "New", ""]])
        .await
        .expect("edit");
    w.user_edits_rows(
        "west",
        2,
        &[
            &["", "West One", "", "", "", "Contacted", ""],
            &["", "West Two", "", "", "", "New", ""],
        ],
    )
    .await
    .expect("edit");
    w.settle(SETTLE).await.expect("settles");

    let names = |pair: &str| {
        let mut n: Vec<String> = w.cards(pair).into_iter().map(|c| c.name).collect();
        n.sort();
        n
    };
    assert_eq!(names("east"), ["East One"]);
    assert_eq!(names("west"), ["West One", "West Two"]);

    // A move on the west board reaches the west sheet and nothing else.
    let west_one = w.card_named("west", "West One").expect("card");
    w.user_moves_card("west", &west_one.id, "Qualified")
        .expect("move");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(w.rows("west")[0][STATUS], "Qualified");
    assert_eq!(w.rows("east")[0][STATUS], "New");
    assert_eq!(w.rows("east").len(), 1);
    assert_eq!(w.rows("west").len(), 2);
    assert_eq!(names("east"), ["East One"]);
    assert_eq!(names("west"), ["West One", "West Two"]);
    assert_sides_equal(&w, "east");
    assert_sides_equal(&w, "west");
    let pairs: Vec<String> = sqlx::query_scalar("SELECT DISTINCT pair FROM links ORDER BY pair")
        .fetch_all(pool(&w))
        .await
        .expect("links");
    assert_eq!(pairs, ["east", "west"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_found_by_reconciliation_is_resolved_and_logged() {
    let w = world_with(options("last_writer_wins")).await;
    let (lead_id, card) = add_lead(&w, P, 2, "Cleo", "New").await;

    // Neither side's notice arrives: no Trello webhook, no Apps Script event.
    w.trello.drop_deliveries(true);
    rename(&w, &card.id, "Cleo from Trello");
    tick().await;
    let spreadsheet = &w.pair(P).spreadsheet_id;
    w.google
        .set_cell(spreadsheet, SHEET, 2, 2, "Cleo from the sheet")
        .expect("type");
    w.settle(SETTLE).await.expect("settles");
    w.trello.drop_deliveries(false);
    w.reconcile(SETTLE).await.expect("reconciles");

    // Both changes are seen at the same read; the sheet's is the later (or the tie).
    assert_eq!(w.rows(P)[0][NAME], "Cleo from the sheet");
    assert_eq!(
        w.trello.card(&card.id).expect("card").name,
        "Cleo from the sheet"
    );
    let c = conflict_of(&w, &lead_id).await;
    assert_eq!(c.field.as_deref(), Some("name"));
    assert_eq!(c.detail["winner"], "sheet");
    assert_eq!(c.detail["policy"], "last_writer_wins");
    assert_detail_complete(&c);
    assert_sides_equal(&w, P);
}

/// `GET /admin/activity` for one lead, as an operator reads it.
async fn activity_over_http(w: &World, lead_id: &str) -> Vec<serde_json::Value> {
    let token = secrecy::ExposeSecret::expose_secret(&w.settings.server.admin_token).to_owned();
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/admin/activity?lead={lead_id}", w.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    body["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_losing_value_of_a_conflict_is_kept_in_the_activity_log_cut_when_long() {
    let w = world_with(options("last_writer_wins")).await;
    let (lead_id, card) = add_lead(&w, P, 2, "Dora", "New").await;

    // The sheet's long name loses to Trello's later rename; only the log still has it.
    let long = format!("Dora {}", "x".repeat(1500));
    w.user_edits_cell(P, 2, "Name", &long).await.expect("edit");
    tick().await;
    rename(&w, &card.id, "Dora from Trello");
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][NAME], "Dora from Trello");

    let entries = activity_over_http(&w, &lead_id).await;
    let conflict = entries
        .iter()
        .find(|e| e["decision"] == "conflict")
        .unwrap_or_else(|| panic!("a conflict entry: {entries:?}"));
    let detail = &conflict["detail"];
    assert_eq!(detail["winner"], "trello");
    assert_eq!(detail["decided_by"], "last_writer_wins");
    assert_eq!(detail["trello_value"], "Dora from Trello");
    let kept = detail["sheet_value"].as_str().expect("the losing value");
    assert!(kept.starts_with(&long[..1000]), "{kept}");
    assert!(
        kept.ends_with("…[truncated: 1505 characters in all]"),
        "{kept}"
    );
    // The copy that created the card keeps the value it copied.
    let copied = entries
        .iter()
        .find(|e| e["decision"] == "copy_to_trello" && e["field"] == "name")
        .unwrap_or_else(|| panic!("the name's first copy: {entries:?}"));
    assert_eq!(copied["detail"]["value"], "Dora");
}
