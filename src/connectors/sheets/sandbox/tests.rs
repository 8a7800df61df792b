//! Wire-level tests of the Google emulator: the JWT grant, auth, errors, trimming and writes.

use super::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub(super) const SS: &str = "sheet-1";

pub(super) async fn sandbox() -> GoogleSandbox {
    let g = GoogleSandbox::start().await.unwrap();
    g.create_spreadsheet(SS);
    g.add_sheet(SS, "Leads").unwrap();
    g
}

pub(super) fn assertion(g: &GoogleSandbox, key_pem: &str, edit: impl FnOnce(&mut Value)) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": SERVICE_ACCOUNT_EMAIL,
        "scope": "https://www.googleapis.com/auth/spreadsheets",
        "aud": g.token_uri(),
        "iat": now,
        "exp": now + 3600,
    });
    edit(&mut claims);
    let key = EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
}

pub(super) async fn exchange(g: &GoogleSandbox, grant_type: &str, jwt: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(g.token_uri())
        .form(&[("grant_type", grant_type), ("assertion", jwt)])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

pub(super) const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(super) async fn token(g: &GoogleSandbox) -> String {
    let (status, body) =
        exchange(g, GRANT, &assertion(g, SERVICE_ACCOUNT_PRIVATE_KEY, |_| {})).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub(super) async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn reads_trim_trailing_empty_cells_and_rows() {
    let g = sandbox().await;
    g.set_rows(
        SS,
        "Leads",
        1,
        &[
            &["Name", "Email", ""],
            &["Ada", "", ""],
            &["", "", ""],
            &["", "b@x", ""],
        ],
    )
    .unwrap();
    g.set_cell(SS, "Leads", 6, 5, "").unwrap();
    let t = token(&g).await;
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/spreadsheets/{SS}/values/Leads", g.sheets_api_base()),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["range"], "Leads!A1:Z1000");
    assert_eq!(
        body["values"],
        json!([["Name", "Email"], ["Ada"], [], ["", "b@x"]])
    );
    let (_, body) = call(
        reqwest::Method::GET,
        format!(
            "{}/spreadsheets/{SS}/values/Leads!C1:D3",
            g.sheets_api_base()
        ),
        Some(&t),
        None,
    )
    .await;
    assert!(body.get("values").is_none(), "{body}");
    assert_eq!(
        g.grid(SS, "Leads").unwrap(),
        vec![vec!["Name", "Email"], vec!["Ada"], vec![], vec!["", "b@x"]]
    );
}

#[tokio::test]
async fn bad_ranges_answer_invalid_argument() {
    let g = sandbox().await;
    let t = token(&g).await;
    let base = format!("{}/spreadsheets/{SS}/values", g.sheets_api_base());
    for (range, message) in [
        ("Nope!A1", "Unable to parse range: Nope!A1"),
        ("Leads!A0", "Unable to parse range"),
        ("Leads!A1:A1001", "exceeds grid limits"),
    ] {
        let (status, body) = call(
            reqwest::Method::GET,
            format!("{base}/{range}"),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"]["status"].as_str()),
            (400, Some("INVALID_ARGUMENT")),
            "{range}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
}

#[tokio::test]
async fn batch_update_is_all_or_nothing() {
    let g = sandbox().await;
    let t = token(&g).await;
    let url = format!(
        "{}/spreadsheets/{SS}/values:batchUpdate",
        g.sheets_api_base()
    );
    let body = json!({ "valueInputOption": "RAW", "data": [
        { "range": "Leads!A1", "values": [["x"]] },
        { "range": "Leads!A2:B2", "values": [["1", "2", "3"]] } ] });
    let (status, answer) = call(reqwest::Method::POST, url.clone(), Some(&t), Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(g.grid(SS, "Leads").unwrap().is_empty());
    let (status, _) = call(
        reqwest::Method::POST,
        url,
        Some(&t),
        Some(json!({ "data": [] })),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn append_inserts_after_the_table_and_reports_where() {
    let g = sandbox().await;
    g.set_rows(SS, "Leads", 1, &[&["Name", "Email"], &["Ada", "a@x"]])
        .unwrap();
    g.set_cell(SS, "Leads", 5, 4, "far away").unwrap();
    let t = token(&g).await;
    let url = format!(
        "{}/spreadsheets/{SS}/values/Leads!A1:B:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
        g.sheets_api_base()
    );
    let (status, body) = call(
        reqwest::Method::POST,
        url,
        Some(&t),
        Some(json!({ "values": [["Bob", "b@x"]] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tableRange"], "Leads!A1:B2");
    assert_eq!(body["updates"]["updatedRange"], "Leads!A3:B3");
    assert_eq!(g.cell(SS, "Leads", 6, 4).unwrap(), "far away");
    assert_eq!(g.grid_size(SS, "Leads").unwrap(), (1001, 26));
}

#[tokio::test]
async fn user_edits_insert_delete_and_sort_rows() {
    let g = sandbox().await;
    g.set_rows(
        SS,
        "Leads",
        1,
        &[
            &["Name", "N"],
            &["bob", "10"],
            &["Ada", "9"],
            &["", ""],
            &["carl", "x"],
        ],
    )
    .unwrap();
    g.sort_rows(SS, "Leads", 2, 1, true).unwrap();
    assert_eq!(
        g.grid(SS, "Leads").unwrap(),
        vec![
            vec!["Name", "N"],
            vec!["Ada", "9"],
            vec!["bob", "10"],
            vec!["carl", "x"]
        ]
    );
    g.sort_rows(SS, "Leads", 2, 2, true).unwrap();
    assert_eq!(g.cell(SS, "Leads", 2, 1).unwrap(), "Ada");
    assert_eq!(g.cell(SS, "Leads", 4, 1).unwrap(), "carl");
    g.insert_row(SS, "Leads", 2).unwrap();
    assert_eq!(g.cell(SS, "Leads", 3, 1).unwrap(), "Ada");
    g.delete_row(SS, "Leads", 3).unwrap();
    assert_eq!(g.cell(SS, "Leads", 3, 1).unwrap(), "bob");
    assert_eq!(
        g.set_cell(SS, "Nope", 1, 1, "x"),
        Err(SandboxError::UnknownSheet {
            spreadsheet: SS.into(),
            sheet: "Nope".into()
        })
    );
}

#[tokio::test]
async fn reads_and_writes_have_separate_per_user_quotas() {
    let g = sandbox().await;
    g.gate().set_quota(Some(Quota {
        max_requests: 2,
        per: Duration::from_secs(3600),
    }));
    let t = token(&g).await;
    let read = format!("{}/spreadsheets/{SS}/values/Leads", g.sheets_api_base());
    for _ in 0..2 {
        assert_eq!(
            call(reqwest::Method::GET, read.clone(), Some(&t), None)
                .await
                .0,
            200
        );
    }
    let (status, body) = call(reqwest::Method::GET, read, Some(&t), None).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (429, Some("RESOURCE_EXHAUSTED"))
    );
    let write = format!(
        "{}/spreadsheets/{SS}/values:batchUpdate",
        g.sheets_api_base()
    );
    let body =
        json!({ "valueInputOption": "RAW", "data": [{ "range": "Leads!A1", "values": [["x"]] }] });
    assert_eq!(
        call(reqwest::Method::POST, write, Some(&t), Some(body))
            .await
            .0,
        200
    );
    assert_eq!(g.gate().calls().count_status(429), 1);
}
