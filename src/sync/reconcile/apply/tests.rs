//! Applying a reconciliation's plan: stale plans left alone, and chunk after chunk.

use super::*;
use crate::store::testdb::{pair, temp_db};
use crate::sync::plan::LeadPlan;
use crate::sync::reconcile::action::lead_action;
use crate::sync::test_support::ctx;

async fn count(db: &crate::store::Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_lead_the_worker_linked_after_the_reads_keeps_its_state_and_gets_no_second_create() {
    let db = temp_db().await;
    pairs::upsert_all(&db, &[pair("p")]).await.expect("pair");
    let ctx = ctx();
    // The plan was made when no link held lead recA (an Airtable record's id); the worker
    // linked it, and planned its card, before this transaction.
    let worker = links::NewLink {
        pair: "p".into(),
        lead_id: "recA".into(),
        card_id: None,
        card_short_url: None,
        row_hint: None,
        id_assigned: false,
    };
    assert!(links::insert(&db.pool, &worker).await.expect("linked"));
    let create = Command::CreateCard {
        lead_id: "recA".into(),
        list_id: "l-new".into(),
        name: "Ada (read later)".into(),
        desc: String::new(),
        custom: Default::default(),
    };
    let plan = LeadPlan {
        commands: vec![create],
        ..LeadPlan::default()
    };
    let actions = [
        Action::LinkLead {
            lead_id: "recA".into(),
            card_id: None,
            card_short_url: None,
            row: Some(2),
            new_id_for_row: false,
        },
        lead_action(&ctx, "recA", None, plan),
    ];
    let mut skip = HashSet::new();
    let mut tx = db.begin_write().await.expect("tx");
    apply_all(&mut tx, &ctx, &actions, ("rc1", 1), &mut skip)
        .await
        .expect("applied");
    tx.commit().await.expect("commit");
    assert!(skip.contains("recA"), "left to the next pass");
    let queued = count(&db, "SELECT count(*) FROM outbox WHERE lead_id = 'recA'").await;
    assert_eq!(queued, 0, "no second create_card from the stale plan");
    let noted = count(
        &db,
        "SELECT count(*) FROM activity WHERE lead_id = 'recA' AND decision = 'lead_linked'",
    )
    .await;
    assert_eq!(noted, 0, "not logged as linked by the reconciliation");
}

/// A chunk giving a new row its id and a card, as a first sync plans it.
fn new_row(ctx: &PairContext, lead: &str, row: u32) -> [Action; 2] {
    let write = Command::WriteRow {
        lead_id: lead.into(),
        row_hint: Some(row),
        expect_name: Some("Ada".into()),
        cells: [("Lead ID".to_owned(), lead.to_owned())].into(),
    };
    let plan = LeadPlan {
        commands: vec![write],
        ..LeadPlan::default()
    };
    [
        Action::LinkLead {
            lead_id: lead.into(),
            card_id: None,
            card_short_url: None,
            row: Some(row),
            new_id_for_row: true,
        },
        lead_action(ctx, lead, None, plan),
    ]
}

async fn linked(db: &crate::store::Db) -> Vec<String> {
    let mut leads: Vec<String> = (links::list(&db.pool, "p").await.expect("links").into_iter())
        .map(|l| l.lead_id)
        .collect();
    leads.sort();
    leads
}

#[tokio::test]
async fn a_chunk_is_not_held_back_by_the_leads_earlier_chunks_wrote_but_by_anothers_change() {
    let db = temp_db().await;
    pairs::upsert_all(&db, &[pair("p")]).await.expect("pair");
    let ctx = ctx();
    let now_ms = crate::store::now_ms();
    let run = Run {
        ctx: &ctx,
        key: "rc1",
        now_ms,
        started_ms: now_ms - 1_000,
        retention_days: 30,
    };
    // A first sync: the sheet's read showed no ids at all.
    let (shown, mut applied) = (HashSet::new(), Applied::default());
    for (lead, row) in [("N1", 2), ("N2", 3)] {
        let chunk = new_row(&ctx, lead, row);
        apply_chunk(&db, &run, &shown, &chunk, &mut applied, false)
            .await
            .expect("applied");
    }
    // N1 changed since the reads began and the read did not show it, but this reconciliation
    // wrote it: N2's row is no row whose id landed after the read.
    assert_eq!(linked(&db).await, ["N1", "N2"]);
    // Another writer links a lead the read did not show: its id may have landed on a row the
    // read showed without one, so the next chunk's new rows wait.
    let other = links::NewLink {
        pair: "p".into(),
        lead_id: "X".into(),
        card_id: None,
        card_short_url: None,
        row_hint: None,
        id_assigned: true,
    };
    assert!(links::insert(&db.pool, &other).await.expect("linked"));
    let chunk = new_row(&ctx, "N3", 4);
    apply_chunk(&db, &run, &shown, &chunk, &mut applied, true)
        .await
        .expect("applied");
    assert_eq!(linked(&db).await, ["N1", "N2", "X"], "N3's row waits");
    let queued = count(&db, "SELECT count(*) FROM outbox WHERE lead_id = 'N3'").await;
    assert_eq!(queued, 0);
    let reconciled = count(
        &db,
        "SELECT count(*) FROM pairs WHERE last_reconcile_at IS NOT NULL",
    )
    .await;
    assert_eq!(reconciled, 1, "the last chunk records the reconciliation");
}
