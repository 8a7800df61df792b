//! Cells a sheet write emptied in rows typed without an id (seed 31's class): given to the lead
//! already made from the row's event, else kept for that event.

use std::collections::BTreeMap;

use super::tests::{claimed_write, dispatcher};
use super::*;
use crate::store::lead_state::{self, StoredField};
use crate::store::links::{self, NewLink};
use crate::store::sheet_blanks;
use crate::store::testdb::temp_db;
use crate::sync::connector::{Blanked, Outcome, Reassert};
use crate::sync::plan::commands::Command;

async fn link(db: &crate::store::testdb::TestDb, lead: &str, id_assigned: bool) {
    let new = NewLink {
        pair: "a".into(),
        lead_id: lead.into(),
        card_id: None,
        card_short_url: None,
        row_hint: Some(2),
        id_assigned,
    };
    assert!(links::insert(&db.pool, &new).await.expect("link"));
}

async fn agree(db: &crate::store::testdb::TestDb, lead: &str, field: &str, value: &str) {
    let agreed = StoredField {
        lead_id: lead.into(),
        field: field.into(),
        agreed_hash: "h".into(),
        agreed_value: value.into(),
        agreed_at: 1,
        last_writer: None,
        sheet_seen_at: None,
        sheet_written_at: None,
        trello_seen_at: None,
        trello_written_at: None,
    };
    lead_state::save(&db.pool, "a", &agreed)
        .await
        .expect("state");
}

fn blank(name: &str, phone: &str) -> Blanked {
    Blanked {
        row: BTreeMap::from([
            ("Name".to_owned(), name.to_owned()),
            ("Phone".to_owned(), phone.to_owned()),
        ]),
        header: "Status".into(),
        written: "Lost".into(),
    }
}

#[tokio::test]
async fn a_cell_emptied_in_a_row_typed_without_an_id_goes_to_its_new_lead_or_waits_for_its_event() {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    link(&db, "L1", false).await;
    // U5 was made from Cy's row's event; its id is still on its way to the row.
    link(&db, "U5", true).await;
    for (field, value) in [("name", "Cy"), ("phone", "+1-9"), ("status", "Won")] {
        agree(&db, "U5", field, value).await;
    }
    let (row, cmd) = claimed_write(&db, &[("Status", "Lost")]).await;

    // The write hit Cy's row (its event read already) and Di's (its event still to come).
    let outcome = Outcome::Failed {
        retryable: true,
        error: "the sheet's rows moved".into(),
        reassert: Reassert {
            cells: Vec::new(),
            blanked: vec![blank("Cy", "+1-9"), blank("Di", "+1-8")],
            stale: Vec::new(),
        },
    };
    let recorded = dispatcher
        .record(&row, Some(&cmd), outcome)
        .await
        .expect("record");
    assert_eq!(recorded, Recorded::Retried);

    let queued: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox WHERE lead_id = 'U5'")
        .fetch_all(&db.pool)
        .await
        .expect("outbox");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let sent: Command = serde_json::from_str(&queued[0]).expect("command");
    let cells = BTreeMap::from([("Status".to_owned(), "Won".to_owned())]);
    assert!(
        matches!(&sent, Command::WriteRow { lead_id, cells: c, .. } if lead_id == "U5" && *c == cells),
        "{sent:?}"
    );
    let kept = sheet_blanks::of_pair(&db.pool, "a").await.expect("blanks");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].row.get("Name").map(String::as_str), Some("Di"));
    assert_eq!(
        (kept[0].header.as_str(), kept[0].typed.as_deref()),
        ("Status", None)
    );
}
