//! Webhook payloads seen from outside: what one holds (sources, v2 cells, previous values),
//! paging by cursor, and the specification's filters.

use reqwest::Method;
use serde_json::{Value, json};

use super::tests::{call, started};
use super::tests_webhooks::{create_hook, payloads, spec};
use super::*;

/// A webhook, then three changes: an API batch creating Ada and Bob, a user's edit of Ada (and
/// one that changes nothing), a user's deletion of Bob. Returns the webhook, Ada and Bob.
async fn three_changes(sb: &AirtableSandbox, t: &TableSetup) -> (String, String, String) {
    let hook = create_hook(sb, t, None, spec(&t.table_id)).await;
    let hook = hook["id"].as_str().unwrap().to_owned();
    let batch = json!({"records": [{"fields": {"Name": "Ada", "Status": "New"}}, {"fields": {"Name": "Bob"}}]});
    let (_, created) = call(
        sb,
        Method::POST,
        &format!("/{}/Leads", t.base_id),
        Some(batch),
    )
    .await;
    let ada = created["records"][0]["id"].as_str().unwrap().to_owned();
    let bob = created["records"][1]["id"].as_str().unwrap().to_owned();
    sb.user_update_record(
        &t.base_id,
        "Leads",
        &ada,
        &[("Status", "Contacted"), ("Name", "Ada")],
    )
    .unwrap();
    // A write that changes nothing makes no payload.
    sb.user_update_record(&t.base_id, "Leads", &ada, &[("Name", "Ada")])
        .unwrap();
    sb.user_delete_record(&t.base_id, "Leads", &bob).unwrap();
    (hook, ada, bob)
}

#[tokio::test]
async fn payloads_record_sources_cells_and_previous_values() {
    let (sb, t) = started().await;
    let (hook, ada, bob) = three_changes(&sb, &t).await;
    let all = payloads(&sb, &t, &hook, "").await;
    assert_eq!(
        (&all["cursor"], &all["mightHaveMore"]),
        (&json!(4), &json!(false))
    );
    let p = all["payloads"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    let numbers: Vec<u64> = p
        .iter()
        .map(|p| p["baseTransactionNumber"].as_u64().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    let sources: Vec<&Value> = p.iter().map(|p| &p["actionMetadata"]["source"]).collect();
    assert_eq!(
        sources,
        [&json!("publicApi"), &json!("client"), &json!("client")]
    );
    assert_eq!(
        p[0]["actionMetadata"]["sourceMetadata"]["user"],
        *sb.api_user()
    );
    let (name, status) = (&t.fields["Name"], &t.fields["Status"]);
    let created = &p[0]["changedTablesById"][&t.table_id]["createdRecordsById"];
    assert_eq!(created[&ada]["cellValuesByFieldId"][name], "Ada");
    assert_eq!(created[&ada]["cellValuesByFieldId"][status]["name"], "New");
    assert!(created[&bob]["createdTime"].is_string());
    let changed = &p[1]["changedTablesById"][&t.table_id]["changedRecordsById"][&ada];
    assert_eq!(
        changed["current"]["cellValuesByFieldId"][status]["name"],
        "Contacted"
    );
    assert_eq!(
        changed["previous"]["cellValuesByFieldId"][status]["name"],
        "New"
    );
    assert!(
        changed["current"]["cellValuesByFieldId"]
            .get(name)
            .is_none()
    );
    assert_eq!(
        p[2]["changedTablesById"][&t.table_id]["destroyedRecordIds"],
        json!([bob])
    );
}

#[tokio::test]
async fn payloads_page_by_cursor() {
    let (sb, t) = started().await;
    let (hook, _, _) = three_changes(&sb, &t).await;
    let p = payloads(&sb, &t, &hook, "").await["payloads"].clone();
    // Paging: limit, then the returned cursor; past the end the cursor stays.
    let first = payloads(&sb, &t, &hook, "?limit=2").await;
    assert_eq!(
        (
            first["payloads"].as_array().unwrap().len(),
            &first["cursor"],
            &first["mightHaveMore"]
        ),
        (2, &json!(3), &json!(true))
    );
    let rest = payloads(&sb, &t, &hook, "?cursor=3").await;
    assert_eq!(
        (rest["payloads"][0].clone(), &rest["cursor"]),
        (p[2].clone(), &json!(4))
    );
    let none = payloads(&sb, &t, &hook, "?cursor=4").await;
    assert_eq!(
        none,
        json!({"payloads": [], "cursor": 4, "mightHaveMore": false})
    );
    let path = format!("/bases/{}/webhooks/{hook}/payloads?limit=51", t.base_id);
    assert_eq!(call(&sb, Method::GET, &path, None).await.0, 422);
}

#[tokio::test]
async fn filters_keep_other_tables_and_sources_out() {
    let (sb, t) = started().await;
    let other = sb
        .create_table(
            &t.base_id,
            "Other",
            &[FieldSpec::new("Name", "singleLineText")],
        )
        .unwrap();
    let scoped = create_hook(&sb, &t, None, json!({"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": t.table_id}}})).await;
    let clients = create_hook(
        &sb,
        &t,
        None,
        json!({"options": {"filters": {"dataTypes": ["tableData"], "fromSources": ["client"]}}}),
    )
    .await;
    sb.user_create_record(&t.base_id, "Other", &[("Name", "x")])
        .unwrap();
    let body = json!({"fields": {"Name": "y"}});
    call(
        &sb,
        Method::POST,
        &format!("/{}/Leads", t.base_id),
        Some(body),
    )
    .await;
    let scoped = payloads(&sb, &t, scoped["id"].as_str().unwrap(), "").await;
    assert_eq!(scoped["payloads"].as_array().unwrap().len(), 1);
    assert!(
        scoped["payloads"][0]["changedTablesById"]
            .get(&t.table_id)
            .is_some()
    );
    let clients = payloads(&sb, &t, clients["id"].as_str().unwrap(), "").await;
    assert_eq!(clients["payloads"].as_array().unwrap().len(), 1);
    assert!(
        clients["payloads"][0]["changedTablesById"]
            .get(&other.table_id)
            .is_some()
    );
}

#[tokio::test]
async fn a_put_that_clears_cells_reports_them_as_null_with_their_previous_values() {
    let (sb, t) = started().await;
    let hook = create_hook(&sb, &t, None, spec(&t.table_id)).await;
    let hook = hook["id"].as_str().unwrap();
    let values = [("Name", "Ada"), ("Email", "a@x.io"), ("Status", "New")];
    let ada = sb.user_create_record(&t.base_id, "Leads", &values).unwrap();
    let put = json!({"records": [{"id": ada, "fields": {"Name": "Ada"}}]});
    let path = format!("/{}/{}", t.base_id, t.table_id);
    assert_eq!(call(&sb, Method::PUT, &path, Some(put)).await.0, 200);
    let p = payloads(&sb, &t, hook, "?cursor=2").await;
    let change = &p["payloads"][0]["changedTablesById"][&t.table_id]["changedRecordsById"][&ada];
    let (email, status) = (&t.fields["Email"], &t.fields["Status"]);
    let current = &change["current"]["cellValuesByFieldId"];
    assert_eq!(
        current,
        &json!({email.as_str(): null, status.as_str(): null})
    );
    let previous = &change["previous"]["cellValuesByFieldId"];
    assert_eq!(previous[email], "a@x.io");
    assert_eq!(previous[status]["name"], "New");
    assert_eq!(p["payloads"][0]["actionMetadata"]["source"], "publicApi");
}
