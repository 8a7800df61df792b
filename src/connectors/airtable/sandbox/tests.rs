//! The records API and auth seen with a plain HTTP client: shapes, pagination, batch limits,
//! PATCH vs PUT, select choices and Airtable's error bodies.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

pub(super) fn unlimited() -> AirtableOptions {
    AirtableOptions {
        rate_limit: None,
        per_token: None,
        ..AirtableOptions::default()
    }
}

/// A sandbox without rate limits and a "Leads" table of every emulated type.
pub(super) async fn started() -> (AirtableSandbox, TableSetup) {
    let sb = AirtableSandbox::start_with(unlimited()).await.unwrap();
    let base = sb.create_base("CRM");
    let fields = [
        FieldSpec::new("Name", "singleLineText"),
        FieldSpec::new("Email", "email"),
        FieldSpec::new("Phone", "phoneNumber"),
        FieldSpec::new("Notes", "multilineText"),
        FieldSpec::select("Status", &["New", "Contacted"]),
        FieldSpec::new("Card", "url"),
    ];
    let table = sb.create_table(&base, "Leads", &fields).unwrap();
    (sb, table)
}

pub(super) async fn call_as(
    sb: &AirtableSandbox,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", sb.api_base()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(super) async fn call(
    sb: &AirtableSandbox,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(sb, Some(sb.token()), method, path, body).await
}

/// The status and Airtable error type of a call that should fail.
pub(super) async fn fails(
    sb: &AirtableSandbox,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let (status, body) = call(sb, method, path, body).await;
    let kind = body["error"]["type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, kind)
}

fn err(status: u16, kind: &str) -> (u16, String) {
    (status, kind.to_owned())
}

fn leads(t: &TableSetup) -> String {
    format!("/{}/{}", t.base_id, t.table_name)
}

#[tokio::test]
async fn auth_failures_answer_airtable_error_bodies() {
    let (sb, t) = started().await;
    let (status, body) = call_as(&sb, None, Method::GET, &leads(&t), None).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (401, &json!("AUTHENTICATION_REQUIRED"))
    );
    let (status, _) = call_as(&sb, Some("patWrong"), Method::GET, &leads(&t), None).await;
    assert_eq!(status, 401);
    let forbidden = json!("INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
    let (status, body) = call(&sb, Method::GET, "/appNoSuchBase0000/Leads", None).await;
    assert_eq!((status, &body["error"]["type"]), (403, &forbidden));
    let (status, body) = call(&sb, Method::GET, &format!("/{}/Nope", t.base_id), None).await;
    assert_eq!((status, &body["error"]["type"]), (403, &forbidden));
    sb.set_base_access(&t.base_id, false);
    assert_eq!(call(&sb, Method::GET, &leads(&t), None).await.0, 403);
    sb.set_base_access(&t.base_id, true);
    assert_eq!(call(&sb, Method::GET, &leads(&t), None).await.0, 200);
    let (status, body) = call(&sb, Method::GET, &format!("/{}", t.base_id), None).await;
    assert_eq!((status, body), (404, json!({"error": "NOT_FOUND"})));
}

#[tokio::test]
async fn creates_reads_and_lists_records_with_empty_cells_absent() {
    let (sb, t) = started().await;
    let body = json!({"records": [
        {"fields": {"Name": "Ada", "Email": "ada@example.com", "Notes": "", "Status": "New"}},
        {"fields": {"Name": "Grace"}}]});
    let (status, created) = call(&sb, Method::POST, &leads(&t), Some(body)).await;
    assert_eq!(status, 200, "{created}");
    let ada = &created["records"][0];
    let id = ada["id"].as_str().unwrap();
    assert!(id.starts_with("rec") && id.len() == 17, "{id}");
    assert!(ada["createdTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        ada["fields"],
        json!({"Name": "Ada", "Email": "ada@example.com", "Status": "New"})
    );
    // By table id, one record, fields keyed by field id.
    let path = format!(
        "/{}/{}/{id}?returnFieldsByFieldId=true",
        t.base_id, t.table_id
    );
    let (status, one) = call(&sb, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(one["fields"][&t.fields["Name"]], "Ada");
    let (status, listed) = call(&sb, Method::GET, &leads(&t), None).await;
    assert_eq!(status, 200);
    let names: Vec<&Value> = listed["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["fields"]["Name"])
        .collect();
    assert_eq!(names, [&json!("Ada"), &json!("Grace")]);
    assert!(listed.get("offset").is_none());
    let missing = format!("{}/recNoSuchRecord00", leads(&t));
    let (status, body) = call(&sb, Method::GET, &missing, None).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (404, &json!("MODEL_ID_NOT_FOUND"))
    );
    // The single-record form of create.
    let (status, single) = call(
        &sb,
        Method::POST,
        &leads(&t),
        Some(json!({"fields": {"Name": "Linus"}})),
    )
    .await;
    assert_eq!((status, &single["fields"]["Name"]), (200, &json!("Linus")));
    assert_eq!(sb.records(&t.base_id, &t.table_id).len(), 3);
}

#[tokio::test]
async fn pages_hold_at_most_100_records_and_an_offset_reads_the_same_page_twice() {
    let (sb, t) = started().await;
    for i in 0..230 {
        sb.user_create_record(&t.base_id, "Leads", &[("Name", &format!("Lead {i}"))])
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut offset: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let q = offset.as_ref().map_or(String::new(), |o| {
            format!("?offset={}", o.replace('/', "%2F"))
        });
        let (status, page) = call(&sb, Method::GET, &format!("{}{q}", leads(&t)), None).await;
        assert_eq!(status, 200, "{page}");
        if let Some(o) = &offset {
            // A retried page (e.g. after a lost answer) is the same page.
            let again = call(
                &sb,
                Method::GET,
                &format!("{}?offset={}", leads(&t), o.replace('/', "%2F")),
                None,
            )
            .await
            .1;
            assert_eq!(again, page);
        }
        let records = page["records"].as_array().unwrap();
        pages.push(records.len());
        seen.extend(records.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["offset"].as_str() {
            Some(o) => offset = Some(o.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, [100, 100, 30]);
    let all: Vec<String> = sb
        .records(&t.base_id, "Leads")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn page_size_max_records_and_bad_offsets() {
    let (sb, t) = started().await;
    for i in 0..12 {
        let name = format!("Lead {i}");
        sb.user_create_record(&t.base_id, "Leads", &[("Name", &name)])
            .unwrap();
    }
    let path = format!("{}?pageSize=7&maxRecords=10", leads(&t));
    let (status, page) = call(&sb, Method::GET, &path, None).await;
    assert_eq!(
        (status, page["records"].as_array().unwrap().len()),
        (200, 7)
    );
    let next = page["offset"].as_str().unwrap().replace('/', "%2F");
    let path = format!("{}?pageSize=7&offset={next}", leads(&t));
    let (_, rest) = call(&sb, Method::GET, &path, None).await;
    assert_eq!(rest["records"].as_array().unwrap().len(), 3);
    let path = format!("{}?pageSize=101", leads(&t));
    let expected = err(422, "INVALID_PAGE_SIZE");
    assert_eq!(fails(&sb, Method::GET, &path, None).await, expected);
    let path = format!("{}?offset=garbage", leads(&t));
    let expected = err(422, "INVALID_OFFSET_VALUE");
    assert_eq!(fails(&sb, Method::GET, &path, None).await, expected);
    sb.expire_list_iterators();
    let path = format!("{}?offset={next}", leads(&t));
    let expected = err(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE");
    assert_eq!(fails(&sb, Method::GET, &path, None).await, expected);
}

#[tokio::test]
async fn writes_take_at_most_ten_records_and_a_refused_batch_changes_nothing() {
    let (sb, t) = started().await;
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"fields": {"Name": format!("L{i}")}}))
        .collect();
    let (status, body) = call(
        &sb,
        Method::POST,
        &leads(&t),
        Some(json!({"records": eleven})),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("INVALID_RECORDS"))
    );
    let ten = json!({"records": eleven[..10]});
    assert_eq!(call(&sb, Method::POST, &leads(&t), Some(ten)).await.0, 200);
    let ids: Vec<String> = sb
        .records(&t.base_id, "Leads")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let updates: Vec<Value> = ids
        .iter()
        .chain(&ids[..1])
        .map(|id| json!({"id": id, "fields": {"Name": "x"}}))
        .collect();
    assert_eq!(
        call(
            &sb,
            Method::PATCH,
            &leads(&t),
            Some(json!({"records": updates}))
        )
        .await
        .0,
        422
    );
    let q: Vec<String> = ids
        .iter()
        .chain(&ids[..1])
        .map(|id| format!("records[]={id}"))
        .collect();
    let (status, _) = call(
        &sb,
        Method::DELETE,
        &format!("{}?{}", leads(&t), q.join("&")),
        None,
    )
    .await;
    assert_eq!(status, 422);
    // One bad record refuses the whole batch.
    let mixed = json!({"records": [{"fields": {"Name": "ok"}}, {"fields": {"Nope": "x"}}]});
    let (status, body) = call(&sb, Method::POST, &leads(&t), Some(mixed)).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("UNKNOWN_FIELD_NAME"))
    );
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 10);
}

#[tokio::test]
async fn deletes_one_record_or_a_batch_by_id() {
    let (sb, t) = started().await;
    for name in ["a", "b", "c", "d"] {
        sb.user_create_record(&t.base_id, "Leads", &[("Name", name)])
            .unwrap();
    }
    let ids: Vec<String> = (sb.records(&t.base_id, "Leads").into_iter())
        .map(|r| r.id)
        .collect();
    let q: Vec<String> = ids[..2]
        .iter()
        .map(|id| format!("records[]={id}"))
        .collect();
    let (status, body) = call(
        &sb,
        Method::DELETE,
        &format!("{}?{}", leads(&t), q.join("&")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["records"][1], json!({"id": ids[1], "deleted": true}));
    let (status, body) = call(
        &sb,
        Method::DELETE,
        &format!("{}/{}", leads(&t), ids[2]),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"id": ids[2], "deleted": true}))
    );
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 1);
    let path = format!("{}/{}", leads(&t), ids[2]);
    let expected = err(404, "MODEL_ID_NOT_FOUND");
    assert_eq!(fails(&sb, Method::DELETE, &path, None).await, expected);
}
