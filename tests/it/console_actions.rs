//! The console's actions over HTTP against the daemon and its emulators: a conflict's losing
//! value applied through the merge to both systems, webhooks registered and checked, and each
//! pair's tracker API budget on the overview.

use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::store::activity_page::{ActivityFilter, PageEntry, page};
use secrecy::ExposeSecret;

use crate::e2e::{NAME, P, SETTLE, add_lead, pool, world, world_with};
use crate::e2e_airtable::airtable_world;
use crate::helpers::eventually;

/// `method path` with the world's admin token: (status, body).
pub async fn admin(w: &World, method: reqwest::Method, path: &str) -> (u16, String) {
    let token = w.settings.server.admin_token.expose_secret();
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", w.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A lead renamed in the sheet ("Ada from the sheet") and a moment later on its card ("Ada from
/// Trello"), in one decision set: a conflict Trello wins, both systems holding its name.
/// Answers the world, the lead, its card and the conflict's activity entry.
pub async fn conflict_world() -> (World, String, String, i64) {
    let w = world_with(WorldOptions {
        // Long enough that both edits are decided together.
        debounce_ms: 2000,
        ..WorldOptions::default()
    })
    .await;
    let (lead_id, card) = add_lead(&w, P, 2, "Ada", "New").await;
    w.user_edits_cell(P, 2, "Name", "Ada from the sheet")
        .await
        .expect("edit");
    // Different change times (equal ones are a tie, which the sheet wins); not a sync.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let rename = UserCardChange {
        name: Some("Ada from Trello".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, rename).expect("rename");
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.rows(P)[0][NAME], "Ada from Trello", "Trello won");
    let conflict = entries_of(&w, &lead_id)
        .await
        .into_iter()
        .find(|e| e.decision == "conflict")
        .expect("a conflict logged");
    assert_eq!(conflict.detail["sheet_value"], "Ada from the sheet");
    (w, lead_id, card.id, conflict.id)
}

/// The lead's activity, newest first, with each entry's id.
pub async fn entries_of(w: &World, lead_id: &str) -> Vec<PageEntry> {
    let filter = ActivityFilter {
        lead_id: Some(lead_id.to_owned()),
        ..ActivityFilter::default()
    };
    page(pool(w), &filter, None, 100).await.expect("activity").0
}

/// Both systems hold `name` for the lead: its row and its card.
pub async fn both_hold(w: &World, card_id: &str, name: &str) {
    eventually("both systems to hold the name", SETTLE, || async {
        let row = w.rows(P)[0][NAME] == name;
        let card = w.trello.card(card_id).is_some_and(|c| c.name == name);
        (row && card).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicts_losing_value_is_applied_to_both_systems_and_logged_as_the_operators() {
    let (w, lead_id, card_id, conflict) = conflict_world().await;
    let path = format!("/admin/ui/conflict/apply?id={conflict}");
    let (status, body) = admin(&w, reqwest::Method::POST, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("set to the losing value"), "{body}");
    both_hold(&w, &card_id, "Ada from the sheet").await;
    w.settle(SETTLE).await.expect("settles");

    let entries = entries_of(&w, &lead_id).await;
    let edit = entries
        .iter()
        .find(|e| e.decision == "operator_edit")
        .expect("the edit logged");
    assert_eq!(edit.detail["by"], "operator (console)");
    assert_eq!(edit.field.as_deref(), Some("name"));
    assert_eq!(edit.detail["from_activity"], conflict);
    assert_eq!(edit.detail["value"], "Ada from the sheet");
    assert!(
        entries
            .iter()
            .any(|e| e.decision == "copy_to_trello" && e.detail["value"] == "Ada from the sheet"),
        "decided by the merge as a copy: {entries:?}"
    );
    let agreed: String = sqlx::query_scalar(
        "SELECT agreed_value FROM field_states WHERE lead_id = $1 AND field = 'name'",
    )
    .bind(&lead_id)
    .fetch_one(pool(&w))
    .await
    .expect("agreed");
    assert_eq!(agreed, "Ada from the sheet");
    // No conflict since: the echoes of both writes were recognised as leadsync's own.
    let conflicts = entries.iter().filter(|e| e.decision == "conflict").count();
    assert_eq!(conflicts, 1, "{entries:?}");

    // Again: the value is agreed now, so nothing is written.
    let (status, body) = admin(&w, reqwest::Method::POST, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Nothing to do"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_a_losing_value_names_what_is_wrong_with_the_entry() {
    let w = world().await;
    let (lead_id, _) = add_lead(&w, P, 2, "Grace", "New").await;
    let created = entries_of(&w, &lead_id).await.remove(0);
    let cases = [
        ("".to_owned(), 400, "id: name the conflict's activity entry"),
        (
            "?id=x".to_owned(),
            400,
            "id: name the conflict's activity entry",
        ),
        ("?id=999999".to_owned(), 404, "id: no activity entry 999999"),
        (format!("?id={}", created.id), 400, "not a conflict"),
    ];
    for (query, expected, says) in cases {
        let path = format!("/admin/ui/conflict/apply{query}");
        let (status, body) = admin(&w, reqwest::Method::POST, &path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_webhooks_from_the_console_renders_what_each_system_holds() {
    let w = airtable_world().await;
    // The board's webhook gone (deleted as `DELETE /admin/webhooks/{id}` does).
    let id = w.trello.webhooks()[0].id.clone();
    let (status, body) = admin(
        &w,
        reqwest::Method::DELETE,
        &format!("/admin/webhooks/{id}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(w.trello.webhooks().is_empty());

    let (status, body) = admin(&w, reqwest::Method::POST, "/admin/ui/webhooks/register").await;
    assert_eq!(status, 200, "{body}");
    let hooks = w.trello.webhooks();
    assert_eq!(hooks.len(), 1, "registered again in Trello");
    assert!(body.contains(&hooks[0].id), "{body}");
    let trello_row = body
        .split("data-system=\"trello\"")
        .nth(1)
        .expect("a Trello row");
    assert!(trello_row.contains(">active<"), "{body}");
    let airtable_row = body
        .split("data-system=\"airtable\"")
        .nth(1)
        .expect("an Airtable row");
    assert!(airtable_row.contains(">active<"), "{body}");
    let expires = airtable_row
        .split(">active</td><td>")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("an expiry cell");
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "its expiry: {body}"
    );

    let (status, listed) = admin(&w, reqwest::Method::GET, "/admin/ui/webhooks").await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains("Webhooks now: 2 webhook(s)"), "{listed}");
    assert!(listed.contains(&hooks[0].id), "{listed}");
}

/// The number before " of " in a budget's text: the calls within its current window.
fn in_use(html: &str, scope: &str) -> u64 {
    let marker = format!("data-scope=\"{scope}\">{scope}: ");
    let rest = html
        .split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no {scope}: {html}"));
    rest.split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_each_trackers_api_budget_in_use() {
    let w = world().await;
    add_lead(&w, P, 2, "Hedy", "New").await;
    let (status, html) = admin(&w, reqwest::Method::GET, "/admin/ui/overview").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Google Sheets API budget"), "{html}");
    // The sheet was read at start and written for the lead within the last minute.
    assert!(in_use(&html, "per user") >= 2, "{html}");
    assert!(in_use(&html, "per token") >= 1, "Trello's: {html}");

    let w = airtable_world().await;
    let (_, html) = admin(&w, reqwest::Method::GET, "/admin/ui/overview").await;
    let base = w.pair(P).table.as_ref().expect("table").base_id.clone();
    assert!(html.contains("Airtable API budget"), "{html}");
    assert!(in_use(&html, &format!("per base {base}")) >= 1, "{html}");
    assert!(
        html.contains("data-scope=\"per token\">per token: "),
        "{html}"
    );
}

/// On an Airtable pair the losing side is named `airtable`: its value reaches the record and
/// the card alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_airtable_records_losing_value_is_applied_to_the_record_and_the_card() {
    use crate::e2e_airtable::{fields, user_creates, user_updates};
    let w = world_with(WorldOptions {
        tracker: leadsync::model::TrackerKind::Airtable,
        debounce_ms: 2000,
        ..WorldOptions::default()
    })
    .await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    let card = eventually("the card", SETTLE, || async { w.card_named(P, "Ada") }).await;
    user_updates(&w, &rec, &[("Name", "Ada (airtable)")]);
    // Different change times; not a sync.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let rename = UserCardChange {
        name: Some("Ada (trello)".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, rename).expect("rename");
    let conflict = eventually("the conflict", SETTLE, || async {
        let entries = entries_of(&w, &rec).await;
        entries.into_iter().find(|e| e.decision == "conflict")
    })
    .await;
    assert_eq!(conflict.detail["airtable_value"], "Ada (airtable)");
    let path = format!("/admin/ui/conflict/apply?id={}", conflict.id);
    let (status, body) = admin(&w, reqwest::Method::POST, &path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("(airtable's)"), "{body}");
    eventually("the record and the card to hold it", SETTLE, || async {
        let record = fields(&w, &rec)["Name"] == "Ada (airtable)";
        let card = w
            .trello
            .card(&card.id)
            .is_some_and(|c| c.name == "Ada (airtable)");
        (record && card).then_some(())
    })
    .await;
}
