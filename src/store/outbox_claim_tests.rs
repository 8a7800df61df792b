//! Tests of claims parsed straight into the caller's command type.

use std::time::Duration;

use serde::Deserialize;

use super::*;
use crate::store::testdb::temp_db;

#[derive(Debug, Deserialize, PartialEq)]
struct Named {
    name: String,
}

fn cmd(key: &str, payload: serde_json::Value) -> NewCommand {
    NewCommand {
        pair: "a".into(),
        lead_id: Some(key.into()),
        target: "sheets".into(),
        kind: "write_row".into(),
        payload,
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn a_parsed_claim_hands_each_payload_as_the_type_asked_for_and_an_unreadable_one_as_its_error()
 {
    let db = temp_db().await;
    let cmds = [
        cmd("k1", serde_json::json!({ "name": "Zoë" })),
        cmd("k2", serde_json::json!({ "nom": "Zoë" })),
    ];
    for c in &cmds {
        assert!(enqueue(&db.pool, c).await.expect("enqueue"));
    }
    let only = Targets::Only(vec!["sheets".into()]);
    let lease = Duration::from_secs(60);
    let claimed = claim_due_parsed::<Named>(&db, Some("a"), &only, 10, lease)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let keys: Vec<&str> = (claimed.iter())
        .map(|c| c.row.idempotency_key.as_str())
        .collect();
    assert_eq!(keys, ["k1", "k2"], "in id order");
    assert!(claimed.iter().all(|c| c.row.status == "in_flight"));
    // The stored text is parsed once, into the caller's type, and no JSON tree is kept.
    assert!(claimed.iter().all(|c| c.row.payload.is_null()));
    assert_eq!(
        claimed[0].payload.as_ref().expect("readable"),
        &Named {
            name: "Zoë".into()
        }
    );
    let err = claimed[1].payload.as_ref().expect_err("no name");
    assert!(err.to_string().contains("missing field `name`"), "{err}");
    // Claimed: a second claim finds nothing due.
    let again = claim_due_parsed::<Named>(&db, Some("a"), &only, 10, lease).await;
    assert!(again.expect("claim").is_empty());
}
