//! The meta API, PATCH vs PUT and select choices, the per-base rate limit with its penalty, and
//! faults from the shared gate, seen with a plain HTTP client.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::tests::{call, started, unlimited};
use super::*;
use crate::sandbox::common::Faults;

fn leads(t: &TableSetup) -> String {
    format!("/{}/{}", t.base_id, t.table_name)
}

#[tokio::test]
async fn patch_merges_put_replaces_and_select_choices_need_typecast() {
    let (sb, t) = started().await;
    let id = sb
        .user_create_record(&t.base_id, "Leads", &[("Name", "Ada"), ("Email", "a@x.io")])
        .unwrap();
    let patch = json!({"records": [{"id": id, "fields": {"Phone": "+44 1"}}]});
    let (status, body) = call(&sb, Method::PATCH, &leads(&t), Some(patch)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["records"][0]["fields"],
        json!({"Name": "Ada", "Email": "a@x.io", "Phone": "+44 1"})
    );
    let put = json!({"records": [{"id": id, "fields": {"Name": "Ada L"}}]});
    let (_, body) = call(&sb, Method::PUT, &leads(&t), Some(put)).await;
    assert_eq!(body["records"][0]["fields"], json!({"Name": "Ada L"}));
    let single = format!("{}/{id}", leads(&t));
    let (_, body) = call(
        &sb,
        Method::PATCH,
        &single,
        Some(json!({"fields": {"Status": "Won"}})),
    )
    .await;
    assert_eq!(body["error"]["type"], "INVALID_MULTIPLE_CHOICE_OPTIONS");
    assert_eq!(
        body["error"]["message"],
        "Insufficient permissions to create new select option \"\"Won\"\""
    );
    let (status, body) = call(
        &sb,
        Method::PATCH,
        &single,
        Some(json!({"fields": {"Status": "Won"}, "typecast": true})),
    )
    .await;
    assert_eq!((status, &body["fields"]["Status"]), (200, &json!("Won")));
    let status_field = sb.tables(&t.base_id)[0]
        .fields
        .iter()
        .find(|f| f.name == "Status")
        .cloned()
        .unwrap();
    let choices: Vec<&str> = status_field
        .choices
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(choices, ["New", "Contacted", "Won"]);
    let (_, body) = call(
        &sb,
        Method::PATCH,
        &single,
        Some(json!({"fields": {"Status": null, "Name": ""}})),
    )
    .await;
    assert_eq!(body["fields"], json!({}));
    let gone = json!({"records": [{"id": "recNoSuchRecord00", "fields": {"Name": "x"}}]});
    let (status, body) = call(&sb, Method::PATCH, &leads(&t), Some(gone)).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("ROW_DOES_NOT_EXIST"))
    );
    let (status, body) = call(
        &sb,
        Method::PATCH,
        &single,
        Some(json!({"fields": {"Email": 5}})),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("INVALID_VALUE_FOR_COLUMN"))
    );
}

#[tokio::test]
async fn the_meta_api_lists_the_bases_and_the_schema() {
    let (sb, t) = started().await;
    let (status, bases) = call(&sb, Method::GET, "/meta/bases", None).await;
    assert_eq!((status, &bases["bases"][0]["id"]), (200, &json!(t.base_id)));
    let path = format!("/meta/bases/{}/tables", t.base_id);
    let (status, schema) = call(&sb, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let table = &schema["tables"][0];
    assert_eq!(
        (&table["id"], &table["name"]),
        (&json!(t.table_id), &json!("Leads"))
    );
    assert_eq!(table["primaryFieldId"], json!(t.fields["Name"]));
    let types: Vec<&str> = table["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "singleLineText",
            "email",
            "phoneNumber",
            "multilineText",
            "singleSelect",
            "url"
        ]
    );
    let choices = &table["fields"][4]["options"]["choices"];
    assert_eq!(
        (&choices[0]["name"], &choices[1]["name"]),
        (&json!("New"), &json!("Contacted"))
    );
    assert!(choices[0]["id"].as_str().unwrap().starts_with("sel"));
}

#[tokio::test]
async fn fields_are_created_and_renamed_through_the_meta_api() {
    let (sb, t) = started().await;
    let fields = format!("/meta/bases/{}/tables/{}/fields", t.base_id, t.table_id);
    let company = json!({"name": "Company", "type": "singleLineText"});
    let (status, created) = call(&sb, Method::POST, &fields, Some(company.clone())).await;
    assert_eq!((status, &created["type"]), (200, &json!("singleLineText")));
    assert!(created["id"].as_str().unwrap().starts_with("fld"));
    let (status, body) = call(&sb, Method::POST, &fields, Some(company)).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("DUPLICATE_OR_EMPTY_FIELD_NAME"))
    );
    let select = json!({"name": "Stage", "type": "singleSelect", "options": {"choices": [{"name": "A"}, {"name": "B"}]}});
    let (status, stage) = call(&sb, Method::POST, &fields, Some(select)).await;
    assert_eq!(
        (status, &stage["options"]["choices"][1]["name"]),
        (200, &json!("B"))
    );
    let bare = json!({"name": "Bare", "type": "singleSelect"});
    assert_eq!(call(&sb, Method::POST, &fields, Some(bare)).await.0, 422);
    let odd = json!({"name": "Count", "type": "number"});
    let (status, body) = call(&sb, Method::POST, &fields, Some(odd)).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("INVALID_FIELD_TYPE"))
    );
    let one = format!("{fields}/{}", created["id"].as_str().unwrap());
    let (status, renamed) = call(
        &sb,
        Method::PATCH,
        &one,
        Some(json!({"name": "Firm", "description": "d"})),
    )
    .await;
    assert_eq!(
        (status, &renamed["name"], &renamed["description"]),
        (200, &json!("Firm"), &json!("d"))
    );
    assert_eq!(
        call(&sb, Method::PATCH, &one, Some(json!({"type": "email"})))
            .await
            .0,
        422
    );
    // Written by name right away.
    let id = sb
        .user_create_record(&t.base_id, "Leads", &[("Firm", "Acme")])
        .unwrap();
    assert_eq!(
        sb.record_fields(&t.base_id, "Leads", &id),
        Some(json!({"Firm": "Acme"}))
    );
}

#[tokio::test]
async fn going_over_five_per_second_locks_the_base_out_for_the_penalty() {
    let sb = AirtableSandbox::start_with(unlimited()).await.unwrap();
    let base = sb.create_base("CRM");
    let other = sb.create_base("Other");
    sb.create_table(&base, "Leads", &[FieldSpec::new("Name", "singleLineText")])
        .unwrap();
    sb.create_table(&other, "Leads", &[FieldSpec::new("Name", "singleLineText")])
        .unwrap();
    // A penalty longer than the window: being admitted again proves the penalty, not the window.
    // The window is wide, so six calls fall in it however slowly a loaded machine makes them.
    let penalty = Duration::from_secs(5);
    let limit = RateLimit {
        max_requests: 5,
        per: Duration::from_secs(3),
        penalty,
    };
    sb.set_rate_limit(Some(limit));
    let path = format!("/{base}/Leads");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&sb, Method::GET, &path, None).await.0);
    }
    let locked_at = Instant::now();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let (_, body) = call(&sb, Method::GET, &path, None).await;
    assert_eq!(
        body,
        json!({"errors": [{"error": "RATE_LIMIT_REACHED", "message": RATE_LIMIT_MESSAGE}]})
    );
    assert!(sb.rate_limited_until(&base).is_some());
    assert_eq!(
        call(&sb, Method::GET, &format!("/{other}/Leads"), None)
            .await
            .0,
        200
    );
    // A client that keeps calling keeps getting 429 until the penalty is over, well past the window.
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while call(&sb, Method::GET, &path, None).await.0 == 429 {
        refused += 1;
        assert!(Instant::now() < deadline, "still locked out after 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(locked_at.elapsed() >= penalty - Duration::from_millis(50));
    // Several refusals, however slowly a loaded machine runs the loop.
    assert!(refused >= 3, "{refused}");
    assert!(sb.gate().calls().count_status(429) >= refused + 2);
}

#[tokio::test]
async fn gate_faults_answer_airtable_errors_and_can_lose_the_answer_after_the_change() {
    let (sb, t) = started().await;
    sb.gate().set_faults(Faults {
        fail_next: vec![429, 503, 500],
        ..Faults::default()
    });
    let (status, body) = call(&sb, Method::GET, &leads(&t), None).await;
    assert_eq!(
        (status, &body["errors"][0]["error"]),
        (429, &json!("RATE_LIMIT_REACHED"))
    );
    let (status, body) = call(&sb, Method::GET, &leads(&t), None).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (503, &json!("SERVICE_UNAVAILABLE"))
    );
    assert_eq!(call(&sb, Method::GET, &leads(&t), None).await.0, 500);
    // The record is created but the connection is reset before the answer.
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let sent = reqwest::Client::new()
        .post(format!("{}{}", sb.api_base(), leads(&t)))
        .bearer_auth(sb.token())
        .json(&json!({"fields": {"Name": "Ada"}}))
        .send()
        .await;
    assert!(sent.is_err());
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 1);
    sb.gate().set_faults(Faults::default());
    let calls = sb.gate().calls();
    assert_eq!(calls.count("GET", &format!("/v0{}", leads(&t))), 3);
    assert_eq!(calls.count("POST", &format!("/v0{}", leads(&t))), 1);
}
