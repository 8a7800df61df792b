//! Two replicas on one PostgreSQL database (CONTRACT §9) around a hand-over: a
//! `POST /admin/reconcile` sent to a standby while no replica leads is done by the next leader
//! (`NOTIFY` keeps nothing, so each new leader reconciles every pair once it listens), and each
//! replica's console says whether it leads. Needs `LEADSYNC_TEST_PG_URL` (skipped loudly).

use leadsync::demo::world::World;
use secrecy::ExposeSecret as _;

use crate::helpers::eventually;
use crate::replicas::{LIMIT, world_leads, world_on};

/// The console's overview fragment as the replica at `base` serves it.
async fn overview(w: &World, base: &str) -> String {
    let token = w.settings.server.admin_token.expose_secret();
    let answer = reqwest::Client::new()
        .get(format!("{base}/admin/ui/overview"))
        .bearer_auth(token)
        .send()
        .await
        .expect("overview");
    assert_eq!(answer.status(), 200);
    answer.text().await.expect("html")
}

async fn last_reconcile_at(db: &leadsync::store::Db) -> Option<i64> {
    sqlx::query_scalar("SELECT last_reconcile_at FROM pairs")
        .fetch_one(&db.pool)
        .await
        .expect("pairs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_request_sent_while_no_replica_leads_is_done_by_the_next_leader() {
    let test = "a_reconcile_request_sent_while_no_replica_leads_is_done_by_the_next_leader";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    // No periodic reconciliation: only a request, or a new leader's first pass, makes one.
    let mut w = world_on(url, true, 0).await;
    eventually("the first daemon leads", LIMIT, || async {
        world_leads(&w).then_some(())
    })
    .await;
    let b = w.start_replica().await.expect("second replica");
    let db = b.state.db.clone();
    let leader = overview(&w, &w.base_url()).await;
    assert!(
        leader.contains(r#"id="leadership" data-leader="true""#),
        "{leader}"
    );
    assert!(
        leader.contains("this replica leads: one of the replicas on PostgreSQL"),
        "{leader}"
    );
    let standby = overview(&w, &b.base_url).await;
    assert!(
        standby.contains(r#"id="leadership" data-leader="false""#),
        "{standby}"
    );
    assert!(
        standby.contains("standby: one of the replicas on PostgreSQL; another leads"),
        "{standby}"
    );

    let first = eventually("the leader's first pass", LIMIT, || async {
        last_reconcile_at(&db).await
    })
    .await;
    // The leader goes; the standby asks for the lock again only every few seconds, so the
    // request below is a NOTIFY that no replica listens to.
    w.stop_app().await.expect("the leader stops");
    assert!(!b.is_leader());
    let token = w.settings.server.admin_token.expose_secret().to_owned();
    let answer = reqwest::Client::new()
        .post(format!("{}/admin/reconcile", b.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("reconcile");
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    assert!(!b.is_leader(), "the request was sent while no replica led");
    eventually("the next leader reconciles", LIMIT, || async {
        let now = last_reconcile_at(&db).await?;
        (b.is_leader() && now > first).then_some(())
    })
    .await;
    let now_leads = overview(&w, &b.base_url).await;
    assert!(now_leads.contains(r#"data-leader="true""#), "{now_leads}");
    b.stop().await.expect("stops");
}
