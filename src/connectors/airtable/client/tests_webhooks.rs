//! Webhooks through the client against the emulator: create / list / refresh / delete, payloads by
//! cursor with `mightHaveMore` paging, flattening, and verifying the emulator's signed pings.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::ExposeSecret;

use super::tests::{cells, setup};
use super::*;
use crate::sandbox::common::serve;

const NOWHERE: &str = "http://127.0.0.1:9/webhooks/airtable";

#[tokio::test]
async fn a_webhook_is_created_listed_refreshed_and_deleted() {
    let (sb, c, t) = setup().await;
    let created = c
        .create_webhook(&t.base_id, &t.table_id, NOWHERE)
        .await
        .unwrap();
    assert!(created.id.starts_with("ach"));
    assert_eq!(
        created.mac_secret_base64.expose_secret().len(),
        44,
        "32 bytes in base64"
    );
    assert!(!format!("{created:?}").contains(created.mac_secret_base64.expose_secret()));
    let hours = (created.expiration_time - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&hours), "{hours}");

    let listed = c.webhooks(&t.base_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    let w = &listed[0];
    assert_eq!(
        (w.id.as_str(), w.notification_url.as_deref()),
        (created.id.as_str(), Some(NOWHERE))
    );
    assert_eq!(w.expiration_time, Some(created.expiration_time));
    assert!(w.is_hook_enabled);
    assert_eq!(w.cursor_for_next_payload, 1);
    let filters = &w.specification["options"]["filters"];
    assert_eq!(filters["recordChangeScope"], t.table_id.as_str());
    assert_eq!(filters["dataTypes"], serde_json::json!(["tableData"]));
    assert_eq!(
        w.specification["options"]["includes"]["includePreviousCellValues"],
        true
    );

    sb.set_webhook_lifetime(Duration::from_secs(3 * 24 * 3600));
    let refreshed = c.refresh_webhook(&t.base_id, &created.id).await.unwrap();
    let hours = (refreshed - chrono::Utc::now()).num_hours();
    assert!((71..=72).contains(&hours), "the new expiration: {hours}");
    assert_eq!(
        c.webhooks(&t.base_id).await.unwrap()[0].expiration_time,
        Some(refreshed)
    );

    c.delete_webhook(&t.base_id, &created.id).await.unwrap();
    assert!(c.webhooks(&t.base_id).await.unwrap().is_empty());
    let gone = c.refresh_webhook(&t.base_id, &created.id).await;
    assert!(
        matches!(gone, Err(ClientError::NotFound { .. })),
        "{gone:?}"
    );
}

#[tokio::test]
async fn payloads_page_by_cursor_until_might_have_more_is_false() {
    let (sb, c, t) = setup().await;
    sb.hold_notifications(true);
    let hook = c
        .create_webhook(&t.base_id, &t.table_id, NOWHERE)
        .await
        .unwrap();
    for i in 0..60 {
        sb.user_create_record(&t.base_id, "Leads", &[("Name", &format!("L{i}"))])
            .unwrap();
    }
    let first = c.payloads(&t.base_id, &hook.id, 1).await.unwrap();
    assert_eq!(
        (first.payloads.len(), first.cursor, first.might_have_more),
        (50, 51, true)
    );
    let numbers: Vec<u64> = (first.payloads.iter())
        .map(|p| p.base_transaction_number)
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in order: {numbers:?}"
    );
    let second = c
        .payloads(&t.base_id, &hook.id, first.cursor)
        .await
        .unwrap();
    assert_eq!(
        (second.payloads.len(), second.cursor, second.might_have_more),
        (10, 61, false)
    );
    let created = &second.payloads[9].record_changes()[0];
    assert!(matches!(&created.change, Change::Created { cells }
        if cells[&t.fields["Name"]].text() == Some("L59")));
    let idle = c
        .payloads(&t.base_id, &hook.id, second.cursor)
        .await
        .unwrap();
    assert_eq!(
        (idle.payloads.len(), idle.cursor, idle.might_have_more),
        (0, 61, false)
    );
    // A cursor re-read answers the same payloads: a crash before storing them loses nothing.
    let again = c
        .payloads(&t.base_id, &hook.id, first.cursor)
        .await
        .unwrap();
    assert_eq!(again, second);
}

#[tokio::test]
async fn payloads_flatten_into_created_changed_and_destroyed_records() {
    let (sb, c, t) = setup().await;
    sb.hold_notifications(true);
    let hook = c
        .create_webhook(&t.base_id, &t.table_id, NOWHERE)
        .await
        .unwrap();
    let id = sb
        .user_create_record(&t.base_id, "Leads", &[("Name", "Ada"), ("Status", "New")])
        .unwrap();
    let update = RecordUpdate {
        id: id.clone(),
        fields: [
            ("Name".to_owned(), Cell::Empty),
            ("Status".to_owned(), Cell::from("Contacted")),
        ]
        .into(),
    };
    c.update_records(&t.base_id, "Leads", &[update])
        .await
        .remove(0)
        .unwrap();
    sb.user_delete_record(&t.base_id, "Leads", &id).unwrap();
    let page = c.payloads(&t.base_id, &hook.id, 1).await.unwrap();
    let changes: Vec<RecordChange> = page
        .payloads
        .iter()
        .flat_map(Payload::record_changes)
        .collect();
    assert_eq!(changes.len(), 3);
    assert!(
        changes
            .iter()
            .all(|ch| ch.record_id == id && ch.table_id == t.table_id)
    );
    let sources: Vec<&str> = changes.iter().map(|ch| ch.source.as_str()).collect();
    assert_eq!(sources, ["client", "publicApi", "client"]);
    let (name, status) = (&t.fields["Name"], &t.fields["Status"]);
    let Change::Created { cells: created } = &changes[0].change else {
        panic!("{:?}", changes[0])
    };
    assert_eq!(created[name], Cell::Text("Ada".into()));
    assert!(
        matches!(&created[status], Cell::Select { id, name } if id.starts_with("sel") && name == "New")
    );
    let Change::Changed {
        current, previous, ..
    } = &changes[1].change
    else {
        panic!("{:?}", changes[1])
    };
    assert_eq!(
        current[name],
        Cell::Empty,
        "a cleared cell is null in current"
    );
    assert_eq!(current[status].text(), Some("Contacted"));
    let previous = previous.as_ref().expect("previous values were asked for");
    assert_eq!(
        (previous[name].text(), previous[status].text()),
        (Some("Ada"), Some("New"))
    );
    assert_eq!(changes[2].change, Change::Destroyed);
    assert!(changes[0].timestamp <= changes[2].timestamp);
    assert!(changes[0].transaction < changes[1].transaction);
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

#[tokio::test]
async fn the_emulators_signed_pings_verify_with_the_webhooks_secret_only() {
    let (sb, c, t) = setup().await;
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/webhooks/airtable",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let rx = serve(app).await.unwrap();
    let url = format!("{}/webhooks/airtable", rx.base_url());
    let hook = c
        .create_webhook(&t.base_id, &t.table_id, &url)
        .await
        .unwrap();
    let other = c
        .create_webhook(&t.base_id, &t.table_id, NOWHERE)
        .await
        .unwrap();
    c.create_records(&t.base_id, "Leads", &[cells(&[("Name", "Ada")])])
        .await
        .remove(0)
        .unwrap();
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    let got = got.lock().unwrap().clone();
    let (headers, raw) = got.first().expect("a ping arrived");
    let mac = headers[MAC_HEADER].to_str().unwrap();
    let secret = hook.mac_secret_base64.expose_secret();
    let n = verify_notification(secret, raw, mac).expect("verified");
    assert_eq!(
        (n.base_id.as_str(), n.webhook_id.as_str()),
        (t.base_id.as_str(), hook.id.as_str())
    );
    assert!((chrono::Utc::now() - n.timestamp).num_seconds() < 60);
    let wrong = verify_notification(other.mac_secret_base64.expose_secret(), raw, mac);
    assert_eq!(wrong, Err(VerifyError::BadMac));
}
