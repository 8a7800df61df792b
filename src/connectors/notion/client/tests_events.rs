//! What the emulator POSTs to a subscription, read by the client's pure half: the verification
//! request gives the token, and each event verifies under it and parses to the page it names.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;

use super::tests::setup;
use super::*;
use crate::sandbox::common::serve;

/// Each POST's `X-Notion-Signature` and body.
type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

#[tokio::test]
async fn the_emulators_deliveries_verify_and_parse() {
    let (sb, client, db) = setup(None, 100).await;
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let sig = headers
                    .get(SIGNATURE_HEADER)
                    .map(|v| v.to_str().unwrap_or("").to_owned());
                keep.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((sig, body));
                ""
            }
        }),
    );
    let served = serve(app).await.unwrap();
    sb.subscribe(&format!("{}/hook", served.base_url()));
    let page = client
        .create_page(&db.data_source_id, &super::tests::props_for_name("Ada"))
        .await
        .unwrap();
    client.set_in_trash(&page.id, true).await.unwrap();
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);

    let Ok(Delivery::Verification { token }) = parse_delivery(&got[0].1) else {
        panic!("the first delivery is the verification request");
    };
    let mut kinds = Vec::new();
    for (sig, body) in &got[1..] {
        let sig = sig.as_deref().unwrap_or("");
        assert_eq!(verify_signature(&token, body, sig), Ok(()));
        assert_eq!(
            verify_signature("secret_other", body, sig),
            Err(VerifyError::BadSignature)
        );
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        assert_eq!(
            verify_signature(&token, &tampered, sig),
            Err(VerifyError::BadSignature)
        );
        let Ok(Delivery::Event(event)) = parse_delivery(body) else {
            panic!("a signed delivery is an event");
        };
        assert_eq!(event.page_id(), Some(page.id.as_str()));
        assert_eq!(event.authors[0].id, sb.bot_id(), "API writes are the bot's");
        assert_eq!(event.parent_id.as_deref(), Some(db.data_source_id.as_str()));
        kinds.push(event.kind);
    }
    assert_eq!(kinds, ["page.created", "page.deleted"]);
}
