//! CONTRACT §9's outage on PostgreSQL: the database becomes unreachable under a running replica
//! (a proxy between them goes silent, as behind a dead link). `/readyz` turns 503, every webhook
//! door answers 503 with `Retry-After` (never 200, never a hung request), and once the database
//! is back the replica recovers by itself: ready again, and the sender's retry of the event it
//! refused is stored and synced.

use std::time::Duration;

use leadsync::inbound::signature::{StandardWebhooksKey, TrelloVerifier};
use secrecy::ExposeSecret as _;

use crate::e2e::{P, SETTLE, add_lead, assert_sides_equal, world_with};
use crate::helpers::eventually;
use crate::pg_proxy::PgProxy;

/// A request that hangs past this has hung: every door answers within 10 s.
const NO_HANG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_answers_503_and_the_replica_recovers_by_itself() {
    let test = "an_unreachable_database_answers_503_and_the_replica_recovers_by_itself";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    let proxy = PgProxy::start(&url).await;
    let w = world_with(leadsync::demo::world::WorldOptions {
        database_url: Some(proxy.url.clone()),
        ..Default::default()
    })
    .await;
    add_lead(&w, P, 2, "Ada Lovelace", "Contacted").await;
    let http = reqwest::Client::builder()
        .timeout(NO_HANG)
        .build()
        .expect("client");
    let readyz = format!("{}/readyz", w.base_url());
    assert_eq!(
        http.get(&readyz).send().await.expect("readyz").status(),
        200
    );

    proxy.cut();
    eventually("/readyz answering 503", Duration::from_secs(10), || async {
        let status = http.get(&readyz).send().await.ok()?.status();
        (status == 503).then_some(())
    })
    .await;
    w.google
        .set_rows(
            &w.pair(P).spreadsheet_id,
            leadsync::demo::world::SHEET,
            3,
            &[vec![
                String::new(),
                "Grace Hopper".into(),
                String::new(),
                String::new(),
                String::new(),
                "New".into(),
                String::new(),
            ]],
        )
        .expect("typed");
    let event = w.sheet_event(P, "edit", &[3]);
    for (door, response) in [
        (
            "sheets",
            post_sheets(&http, &w, &event.id, &event.body).await,
        ),
        ("trello", post_trello(&http, &w).await),
        ("airtable", post_airtable(&http, &w).await),
        ("notion", post_notion(&http, &w).await),
    ] {
        let response = response.unwrap_or_else(|e| panic!("{door}: no answer: {e}"));
        assert_eq!(
            response.status(),
            503,
            "{door} while the database is unreachable"
        );
        assert!(
            response.headers().contains_key("retry-after"),
            "{door}: 503 without Retry-After"
        );
    }

    proxy.restore();
    eventually(
        "/readyz answering 200 again",
        Duration::from_secs(30),
        || async {
            let status = http.get(&readyz).send().await.ok()?.status();
            (status == 200).then_some(())
        },
    )
    .await;
    // The Apps Script resends what was refused, with the same webhook-id.
    let response = post_sheets(&http, &w, &event.id, &event.body)
        .await
        .expect("an answer");
    assert_eq!(
        response.status(),
        200,
        "the retry is stored once the database is back"
    );
    w.settle(SETTLE).await.expect("settles");
    assert!(
        w.card_named(P, "Grace Hopper").is_some(),
        "the retried event is synced"
    );
    assert_sides_equal(&w, P);
}

async fn post_sheets(
    http: &reqwest::Client,
    w: &leadsync::demo::world::World,
    id: &str,
    body: &str,
) -> reqwest::Result<reqwest::Response> {
    let key = StandardWebhooksKey::from_secret(&w.settings.apps_script.secret).expect("key");
    let ts = chrono::Utc::now().timestamp();
    http.post(format!("{}/webhooks/sheets", w.base_url()))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", key.sign(id, ts, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
}

/// A signed action on the pair's board (so it is routed and must be stored).
async fn post_trello(
    http: &reqwest::Client,
    w: &leadsync::demo::world::World,
) -> reqwest::Result<reqwest::Response> {
    let board = &w.pair(P).board.board_id;
    let body = crate::ingress_support::trello_action("act-outage", board);
    let callback = format!("{}/webhooks/trello", w.settings.server.public_url);
    let signer = TrelloVerifier::new(&w.settings.trello.api_secret, vec![]).expect("key");
    http.post(format!("{}/webhooks/trello", w.base_url()))
        .header("content-type", "application/json")
        .header("x-trello-webhook", signer.sign(body.as_bytes(), &callback))
        .body(body)
        .send()
        .await
}

/// A ping naming a webhook: its secret is in the database, which does not answer.
async fn post_airtable(
    http: &reqwest::Client,
    w: &leadsync::demo::world::World,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{}/webhooks/airtable", w.base_url()))
        .header("content-type", "application/json")
        .header("x-airtable-content-mac", "hmac-sha256=00")
        .body(r#"{"base":{"id":"app1"},"webhook":{"id":"ach1"},"timestamp":"2026-12-03T00:00:00.000Z"}"#)
        .send()
        .await
}

/// A signed event: its token is the one Notion's verification request left in the database.
async fn post_notion(
    http: &reqwest::Client,
    w: &leadsync::demo::world::World,
) -> reqwest::Result<reqwest::Response> {
    assert!(
        w.settings
            .notion
            .webhook_verification_token
            .expose_secret()
            .is_empty()
    );
    http.post(format!("{}/webhooks/notion", w.base_url()))
        .header("content-type", "application/json")
        .header("x-notion-signature", "sha256=00")
        .body(
            r#"{"id":"evt-1","type":"page.properties_updated","entity":{"id":"p1","type":"page"}}"#,
        )
        .send()
        .await
}
