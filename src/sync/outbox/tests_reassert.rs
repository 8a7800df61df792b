//! A sheet write that landed on a row typed since it was planned reports the cells it hit
//! there (`reassert`): recording its outcome enqueues, for each, a write of that row's lead's
//! agreed value, found by the lead's id; a lead with no agreed value for the field gets none,
//! its cell kept for its row's event.

use std::collections::BTreeMap;

use super::tests::{claimed_write, dispatcher};
use super::*;
use crate::store::lead_state::{self, StoredField};
use crate::store::links::{self, NewLink};
use crate::store::testdb::temp_db;
use crate::sync::connector::{Outcome, Reassert};
use crate::sync::plan::commands::Command;

async fn link(db: &crate::store::testdb::TestDb, lead: &str) {
    let new = NewLink {
        pair: "a".into(),
        lead_id: lead.into(),
        card_id: None,
        card_short_url: None,
        row_hint: Some(2),
        id_assigned: false,
    };
    assert!(links::insert(&db.pool, &new).await.expect("link"));
}

async fn save_agreed(db: &crate::store::testdb::TestDb, lead: &str, value: &str) {
    let agreed = StoredField {
        lead_id: lead.into(),
        field: "status".into(),
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

#[tokio::test]
async fn cells_a_write_hit_in_a_row_typed_since_get_their_leads_agreed_value_again() {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    for lead in ["L1", "U9", "U7"] {
        link(&db, lead).await;
    }
    save_agreed(&db, "U9", "Contacted").await;
    let (row, cmd) = claimed_write(&db, &[("Status", "Lost")]).await;

    let outcome = Outcome::Failed {
        retryable: true,
        error: "the sheet's rows moved".into(),
        reassert: Reassert {
            cells: vec![
                ("U9".to_owned(), "Status".to_owned()),
                ("U7".to_owned(), "Status".to_owned()),
            ],
            blanked: Vec::new(),
            stale: Vec::new(),
        },
    };
    let recorded = dispatcher
        .record(&row, Some(&cmd), outcome)
        .await
        .expect("record");
    assert_eq!(recorded, Recorded::Retried);

    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT lead_id, payload FROM outbox WHERE lead_id != 'L1'")
            .fetch_all(&db.pool)
            .await
            .expect("outbox");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (lead, payload) = &queued[0];
    let sent: Command = serde_json::from_str(payload).expect("command");
    assert_eq!(lead, "U9");
    assert_eq!(
        sent,
        Command::WriteRow {
            lead_id: "U9".into(),
            row_hint: None,
            expect_name: None,
            cells: BTreeMap::from([("Status".to_owned(), "Contacted".to_owned())]),
        }
    );
}

#[tokio::test]
async fn a_cell_put_back_to_an_older_read_waits_for_its_event_or_gets_a_newer_agreed_value() {
    // Seed 298's put-back: U9's event was read before (its agreed value is newer than what was
    // put back), U7's is still to come.
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    for lead in ["L1", "U9", "U7"] {
        link(&db, lead).await;
    }
    save_agreed(&db, "U9", "Contacted").await;
    save_agreed(&db, "U7", "Won").await;
    let (row, cmd) = claimed_write(&db, &[("Status", "Lost")]).await;
    let stale = |lead: &str, put: &str| (lead.to_owned(), "Status".to_owned(), put.to_owned());
    let outcome = Outcome::Failed {
        retryable: true,
        error: "the sheet's rows moved".into(),
        reassert: Reassert {
            stale: vec![stale("U9", "New"), stale("U7", "Won")],
            ..Reassert::default()
        },
    };
    let recorded = dispatcher.record(&row, Some(&cmd), outcome).await;
    assert_eq!(recorded.expect("record"), Recorded::Retried);
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT lead_id, payload FROM outbox WHERE lead_id != 'L1'")
            .fetch_all(&db.pool)
            .await
            .expect("outbox");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let sent: Command = serde_json::from_str(&queued[0].1).expect("command");
    let cells = BTreeMap::from([("Status".to_owned(), "Contacted".to_owned())]);
    assert!(
        matches!(sent, Command::WriteRow { lead_id, cells: c, .. } if lead_id == "U9" && c == cells)
    );
    let kept = crate::store::sheet_blanks::of_pair(&db.pool, "a").await;
    let kept = kept.expect("blanks");
    let leads: Vec<bool> = (kept.iter())
        .map(|b| b.is_lead_row("Lead ID", "U7") || b.is_lead_row("Lead ID", "U9"))
        .collect();
    assert_eq!(leads, [true, true]);
    assert_eq!(kept.iter().filter(|b| b.written == "Won").count(), 1);
}

#[tokio::test]
async fn a_cell_emptied_in_the_row_of_a_lead_still_to_come_is_kept_for_its_event() {
    // Seed 273: a person typed a row with its own id (U7) while a write meant for another row
    // was on its way; it landed on U7's Name and the check emptied it. U7's event, still to
    // come, shows the name typed; the lead it makes must write it back.
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    link(&db, "L1").await;
    let (row, cmd) = claimed_write(&db, &[("Name", "Ada")]).await;
    let outcome = Outcome::Failed {
        retryable: true,
        error: "the sheet's rows moved".into(),
        reassert: Reassert {
            cells: vec![("U7".to_owned(), "Name".to_owned())],
            ..Reassert::default()
        },
    };
    let recorded = dispatcher.record(&row, Some(&cmd), outcome).await;
    assert_eq!(recorded.expect("record"), Recorded::Retried);
    let kept = crate::store::sheet_blanks::of_pair(&db.pool, "a").await;
    let kept = kept.expect("blanks");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].is_lead_row("Lead ID", "U7"));
    assert_eq!(
        (kept[0].header.as_str(), kept[0].written.as_str()),
        ("Name", "")
    );
}
