//! The daemon's one Trello budget: the `/admin` webhook calls spend it with the engine's and the
//! mirrors' calls, and the console shows it whether pairs, mirrors or both are configured.

use leadsync::demo::world::{World, WorldOptions};
use secrecy::ExposeSecret;

use crate::e2e::{SETTLE, world};
use crate::mirror_support::mirror_world_in;

/// `method path` on the admin API with the world's admin token: status and body.
async fn admin(w: &World, method: reqwest::Method, path: &str) -> (u16, String) {
    let token = w.settings.server.admin_token.expose_secret().to_owned();
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", w.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("admin request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The token limiter's grants so far (the daemon's one Trello client).
fn granted(w: &World) -> u64 {
    let state = w.state().expect("running");
    let trello = state.trello.as_ref().expect("the daemon's Trello client");
    trello.limiter_stats()[0].granted
}

/// Registering webhooks through `/admin/webhooks` calls Trello with the daemon's client: every
/// call the emulator saw meanwhile was granted by the one token limiter the engine uses. (A
/// client built per request, as before, had a limiter of its own: the token's budget doubled.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_webhook_calls_spend_the_daemons_one_trello_budget() {
    let w = world().await;
    w.settle(SETTLE).await.expect("settled");
    let calls = w.trello.gate().calls();
    let (granted_before, calls_before) = (granted(&w), calls.records().len());
    for _ in 0..2 {
        let (status, body) = admin(&w, reqwest::Method::POST, "/admin/webhooks").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = admin(&w, reqwest::Method::GET, "/admin/webhooks").await;
        assert_eq!(status, 200, "{body}");
    }
    w.settle(SETTLE).await.expect("settled");
    let made = calls.records().len() - calls_before;
    assert!(made > 0, "the admin calls reached Trello");
    assert_eq!(
        granted(&w) - granted_before,
        u64::try_from(made).expect("a count"),
        "every Trello call, the admin's included, was granted by the daemon's one limiter"
    );
}

/// With mirrors only there is no pairs' engine, yet the mirrors spend the token's budget: the
/// console's overview shows it, and it counts the mirror's calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mirrors_only_the_console_shows_the_trello_budget_the_mirror_spends() {
    let options = WorldOptions {
        pairs: Vec::new(),
        ..WorldOptions::default()
    };
    let m = mirror_world_in("last_writer_wins", options).await;
    let state = m.w.state().expect("running");
    assert!(state.engine.is_none(), "mirrors only: no pairs' engine");
    m.w.trello
        .user_create_card(&m.a.lists["To Do"], "Only a mirror", "")
        .expect("card");
    m.settle().await;
    assert_eq!(m.cards_b().len(), 1, "the twin was made");
    assert!(granted(&m.w) > 0, "the mirror's calls were granted");
    let (status, html) = admin(&m.w, reqwest::Method::GET, "/admin/ui/overview").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"Trello API budget: <span class="budget" data-scope="per token">"#),
        "{html}"
    );
}
