//! A lead's read, decision and write against a real database: the store changes land in the
//! order and under the idempotency keys the worker has always used.

use super::*;
use crate::inbound::{RecordChangeEvent, RecordChangeKind};
use crate::model::{Field, LeadFields};
use crate::store::outbox;
use crate::store::testdb::{TestDb, pair, temp_db};
use crate::store::{activity, lead_state, links, pairs};
use crate::sync::inbox::group::{Item, RecordItem};
use crate::sync::mapping::SheetLead;
use crate::sync::merge::Observed;
use crate::sync::observe::{CardChange, RowObservation};
use crate::sync::plan::commands::Command;
use crate::sync::test_support::{airtable_ctx, ctx, t};

async fn db_with_pair() -> TestDb {
    let db = temp_db().await;
    pairs::upsert(&db.pool, &pair("p")).await.expect("pair");
    db
}

async fn link(db: &TestDb, lead: &str, card: &str) {
    let new = links::NewLink {
        pair: "p".into(),
        lead_id: lead.into(),
        card_id: Some(card.into()),
        row_hint: Some(3),
        ..links::NewLink::default()
    };
    assert!(links::insert(&db.pool, &new).await.expect("link"));
}

/// Applies one group in its own transaction, as the worker does.
async fn apply(db: &TestDb, ctx: &PairContext, key: &str, group: Group) -> Option<LeadLog> {
    let mut tx = db.begin_write().await.expect("tx");
    let log = apply_group(&mut tx, ctx, key, group, t(20))
        .await
        .expect("applied");
    tx.commit().await.expect("commit");
    match log {
        Applied::Logged(log) => Some(log),
        Applied::Nothing => None,
        Applied::Wait => panic!("the lead's events were left waiting"),
    }
}

async fn outbox(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as("SELECT idempotency_key, kind FROM outbox ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .expect("outbox")
}

async fn noted(db: &TestDb, lead: &str, decision: &str) -> activity::ActivityEntry {
    let rows = activity::recent(&db.pool, Some(lead), 50)
        .await
        .expect("activity");
    let found = rows.into_iter().find(|r| r.decision == decision);
    found.unwrap_or_else(|| panic!("no {decision} noted for {lead}"))
}

#[tokio::test]
async fn a_new_rows_lead_is_linked_noted_and_its_commands_keyed_by_the_first_event() {
    let (db, ctx) = (db_with_pair().await, ctx());
    let mut fields = LeadFields::new();
    fields.set(Field::Name, "Grace");
    fields.set(Field::Status, "New");
    let row = RowObservation {
        row: 5,
        lead: SheetLead {
            id: String::new(),
            fields,
            card_url: None,
        },
        fields: [
            (Field::Name, Observed::user("Grace", Some(t(10)))),
            (Field::Status, Observed::user("New", Some(t(10)))),
        ]
        .into(),
    };
    let mut group = Group::default();
    group.add(9, Item::Row(row.clone()));
    group.add(7, Item::Row(row));
    let log = apply(&db, &ctx, "row:5", group).await.expect("a lead");
    let all = links::list(&db.pool, "p").await.expect("links");
    let [made] = &all[..] else {
        panic!("one link: {all:?}")
    };
    assert_eq!(
        (made.lead_id.as_str(), made.row_hint),
        (log.lead_id.as_str(), Some(5))
    );
    let lead = made.lead_id.as_str();
    let created = noted(&db, lead, "lead_created").await;
    assert_eq!(
        created.detail,
        serde_json::json!({"from": "sheet", "row": 5})
    );
    let expected = [
        (format!("ev7:{lead}:0"), "write_row"),
        (format!("ev7:{lead}:1"), "create_card"),
    ];
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    assert_eq!(
        outbox(&db).await,
        expected,
        "the id write first, then the card"
    );
    assert_eq!(log.plan.commands.len(), 2);
}

#[tokio::test]
async fn a_deleted_cards_events_replayed_clear_its_cell_once() {
    let (db, ctx) = (db_with_pair().await, ctx());
    link(&db, "L1", "c1").await;
    let mut group = Group::default();
    let deleted = CardChange::Deleted {
        card_id: "c1".into(),
    };
    group.add(2, Item::Card(deleted));
    for _ in 0..2 {
        let log = apply(&db, &ctx, "id:L1", group.clone())
            .await
            .expect("a lead");
        assert_eq!(log.card_id, None, "the card is gone");
        assert_eq!(
            log.plan.commands.len(),
            1,
            "the extra command is logged too"
        );
    }
    assert_eq!(
        outbox(&db).await,
        vec![("ev2:L1:x0".to_owned(), "write_row".to_owned())]
    );
    assert!(
        lead_state::is_card_deleted(&db.pool, "p", "L1")
            .await
            .expect("read")
    );
    let now = links::get_by_lead(&db.pool, "p", "L1").await.expect("read");
    assert_eq!(now.expect("still linked").card_id, None);
    assert_eq!(
        noted(&db, "L1", "card_deleted").await.card_id.as_deref(),
        Some("c1")
    );
}

#[tokio::test]
async fn a_deleted_record_archives_its_card_and_forgets_the_lead() {
    let (db, ctx) = (db_with_pair().await, airtable_ctx());
    link(&db, "recA", "c1").await;
    let mut group = Group::default();
    group.add(5, Item::RecordGone);
    let log = apply(&db, &ctx, "id:recA", group.clone())
        .await
        .expect("a lead");
    assert_eq!(
        log.card_id, None,
        "logged without the card: its link is gone"
    );
    assert_eq!(
        outbox(&db).await,
        vec![("ev5:recA:0".to_owned(), "update_card".to_owned())]
    );
    let gone = noted(&db, "recA", "row_deleted").await;
    assert_eq!(gone.card_id.as_deref(), Some("c1"));
    assert_eq!(gone.detail["reason"], "record deleted from airtable");
    let now = links::get_by_lead(&db.pool, "p", "recA")
        .await
        .expect("read");
    assert!(now.is_none(), "the lead is forgotten");
    assert!(
        apply(&db, &ctx, "id:recA", group).await.is_none(),
        "nothing left to do"
    );
}

/// A record change to `recA`'s Status, made through the API or by a person.
fn status_change(source: &str, kind: RecordChangeKind, status: &str) -> Item {
    Item::Record(RecordItem {
        change: RecordChangeEvent {
            record_id: "recA".into(),
            kind,
            source: source.into(),
            timestamp: t(10),
            changed: [("Status".to_owned(), status.to_owned())].into(),
            unchanged: [("Name".to_owned(), "Ada".to_owned())].into(),
        },
        changed_at: t(10),
        received_at: t(11).timestamp_millis(),
    })
}

/// A tracker write of leadsync's, sent before the changes the tests observe (at `t(8)`), whose
/// notice may still come back.
async fn wrote(db: &TestDb, kind: &str, cells: &[(&str, &str)]) {
    let cells = (cells.iter()).map(|(h, v)| ((*h).to_owned(), (*v).to_owned()));
    let cmd = Command::WriteRow {
        lead_id: "recA".into(),
        row_hint: None,
        expect_name: None,
        cells: cells.collect(),
    };
    let new = outbox::NewCommand {
        pair: "p".into(),
        lead_id: Some("recA".into()),
        target: "airtable".into(),
        kind: kind.into(),
        payload: serde_json::to_value(&cmd).expect("json"),
        idempotency_key: format!("w-{kind}"),
    };
    assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
    sqlx::query("UPDATE outbox SET status = 'done', updated_at = $1")
        .bind(t(8).timestamp_millis())
        .execute(&db.pool)
        .await
        .expect("sent");
}

#[tokio::test]
async fn a_record_change_showing_a_value_leadsync_just_wrote_is_read_in_the_transaction_as_an_echo()
{
    let (db, ctx) = (db_with_pair().await, airtable_ctx());
    link(&db, "recA", "c1").await;
    wrote(&db, "write_row", &[("Status", "Lost")]).await;
    let mut group = Group::default();
    group.add(
        4,
        status_change("publicApi", RecordChangeKind::Changed, "Lost"),
    );
    let log = apply(&db, &ctx, "id:recA", group).await.expect("a lead");
    assert!(log.plan.commands.is_empty(), "{:?}", log.plan.commands);
    assert_eq!(outbox(&db).await.len(), 1, "only our own write");
    let mut group = Group::default();
    group.add(
        5,
        status_change("client", RecordChangeKind::Changed, "Lost"),
    );
    apply(&db, &ctx, "id:recA", group).await.expect("a lead");
    let kinds: Vec<String> = outbox(&db).await.into_iter().map(|(_, k)| k).collect();
    assert!(
        kinds.contains(&"update_card".to_owned()),
        "a person's change goes to the card: {kinds:?}"
    );
}

#[tokio::test]
async fn an_api_made_record_no_lead_holds_waits_while_a_record_create_is_unfinished() {
    let (db, ctx) = (db_with_pair().await, airtable_ctx());
    wrote(&db, "append_row", &[("Name", "Ada")]).await;
    sqlx::query("UPDATE outbox SET status = 'in_flight'")
        .execute(&db.pool)
        .await
        .expect("on its way");
    let mut group = Group::default();
    group.add(
        6,
        status_change("publicApi", RecordChangeKind::Created, "New"),
    );
    let mut tx = db.begin_write().await.expect("tx");
    let now = t(20);
    let applied = apply_group(&mut tx, &ctx, "id:recA", group.clone(), now).await;
    tx.commit().await.expect("commit");
    assert!(matches!(applied, Ok(Applied::Wait)), "waits for the create");
    assert!(links::list(&db.pool, "p").await.expect("links").is_empty());
    sqlx::query("UPDATE outbox SET status = 'done'")
        .execute(&db.pool)
        .await
        .expect("answered");
    let mut tx = db.begin_write().await.expect("tx");
    let applied = apply_group(&mut tx, &ctx, "id:recA", group, now).await;
    tx.commit().await.expect("commit");
    assert!(matches!(applied, Ok(Applied::Logged(_))), "then a new lead");
    assert_eq!(links::list(&db.pool, "p").await.expect("links").len(), 1);
}

#[tokio::test]
async fn a_persons_record_change_to_a_cell_our_queued_write_will_set_is_weighed_not_dropped() {
    // leadsync queued "Contacted" for the record's Status (not sent yet); a person then set it
    // to "Lost". Unlike a cell an Apps Script row merely shows, the change set that cell: it
    // goes to the card, and is written to the record again, after the queued write.
    let (db, ctx) = (db_with_pair().await, airtable_ctx());
    link(&db, "recA", "c1").await;
    wrote(&db, "write_row", &[("Status", "Contacted")]).await;
    sqlx::query("UPDATE outbox SET status = 'pending'")
        .execute(&db.pool)
        .await
        .expect("queued");
    let mut group = Group::default();
    group.add(
        4,
        status_change("client", RecordChangeKind::Changed, "Lost"),
    );
    let log = apply(&db, &ctx, "id:recA", group).await.expect("a lead");
    let kinds: Vec<&str> = (log.plan.commands.iter()).map(Command::kind).collect();
    assert!(kinds.contains(&"update_card"), "{kinds:?}");
    let again = log.plan.commands.iter().any(|c| {
        matches!(c, Command::WriteRow { cells, .. } if cells.get("Status").map(String::as_str) == Some("Lost"))
    });
    assert!(
        again,
        "the record is set again after the queued write: {kinds:?}"
    );
}
