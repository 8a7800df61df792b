//! Client tests against the Google emulator: each call, retries, timeouts, auth and renewal.

use std::time::Duration;

use super::a1::pad_grid;
use super::*;
use crate::connectors::sheets::sandbox::{
    GoogleOptions, GoogleSandbox, SERVICE_ACCOUNT_PRIVATE_KEY,
};

pub(super) const SS: &str = "leads-book";

pub(super) fn policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(2),
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

pub(super) async fn sandbox_with(options: GoogleOptions) -> GoogleSandbox {
    let g = GoogleSandbox::start_with(options).await.unwrap();
    g.create_spreadsheet(SS);
    g.add_sheet(SS, "Leads").unwrap();
    g.add_sheet(SS, "Lead's sheet").unwrap();
    g.set_rows(
        SS,
        "Leads",
        1,
        &[
            &["Lead ID", "Name", "Email"],
            &["L1", "Ada", ""],
            &["L2", "Bob", "b@x"],
        ],
    )
    .unwrap();
    g
}

pub(super) async fn sandbox() -> GoogleSandbox {
    sandbox_with(GoogleOptions::default()).await
}

pub(super) fn client_with(
    g: &GoogleSandbox,
    policy: RetryPolicy,
    limiter: RateLimiter,
) -> SheetsClient {
    let key = ServiceAccountKey::from_json(&g.service_account_key_json()).unwrap();
    SheetsClient::new(&g.sheets_api_base(), key, policy, limiter).unwrap()
}

/// The production limiter paces calls about a second apart; tests that are not about pacing use
/// a limiter that never waits.
pub(super) fn roomy_limiter() -> RateLimiter {
    RateLimiter::new(10_000, Duration::from_secs(1))
}

pub(super) fn client(g: &GoogleSandbox) -> SheetsClient {
    client_with(g, policy(), roomy_limiter())
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test]
async fn reads_spreadsheet_metadata_from_a_key_file() {
    let g = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sa.json");
    g.write_service_account_key(&path).unwrap();
    let c = SheetsClient::from_key_file(
        &g.sheets_api_base(),
        &path,
        policy(),
        SheetsClient::default_user_limiter(),
    )
    .unwrap();
    let info = c.spreadsheet(SS).await.unwrap();
    let titles: Vec<&str> = info.sheets.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Leads", "Lead's sheet"]);
    assert_eq!(
        info.sheet("leads").map(|s| (s.sheet_id, s.row_count)),
        Some((0, 1000))
    );
    assert_eq!(
        g.gate()
            .calls()
            .count("GET", &format!("/v4/spreadsheets/{SS}")),
        1
    );
}

#[tokio::test]
async fn reads_a_whole_sheet_trimmed_and_pads_it() {
    let g = sandbox().await;
    let sheet = client(&g).read_sheet(SS, "Leads").await.unwrap();
    assert_eq!(sheet.range, "Leads!A1:Z1000");
    assert_eq!(sheet.values[1], ["L1", "Ada"]);
    let grid = pad_grid(sheet.values, 4, 3);
    assert_eq!(grid[1], ["L1", "Ada", ""]);
    assert_eq!(grid[3], ["", "", ""]);
}

#[tokio::test]
async fn quotes_sheet_names_with_apostrophes_and_spaces_on_the_wire() {
    let g = sandbox().await;
    g.set_cell(SS, "Lead's sheet", 2, 28, "far").unwrap();
    let c = client(&g);
    let sheet = c.read_sheet(SS, "Lead's sheet").await.unwrap();
    assert_eq!(sheet.range, "'Lead''s sheet'!A1:AB1000");
    let mut second = vec![String::new(); 27];
    second.push("far".to_owned());
    assert_eq!(sheet.values, vec![vec![], second]);
    let cell = A1Range::cell("Lead's sheet", 28, 2).to_string();
    let got = c
        .batch_get(SS, &[cell, "Leads!B2:C3".to_owned()])
        .await
        .unwrap();
    assert_eq!(got[0].values, [["far"]]);
    assert_eq!(got[1].values, vec![row(&["Ada"]), row(&["Bob", "b@x"])]);
}

#[tokio::test]
async fn batch_update_writes_many_ranges_in_one_call() {
    let g = sandbox().await;
    let c = client(&g);
    let data = [
        ValueRange {
            range: A1Range::cell("Leads", 3, 2).to_string(),
            values: vec![row(&["ada@x"])],
        },
        ValueRange {
            range: A1Range::rows("Lead's sheet", 1, 1, 2).to_string(),
            values: vec![row(&["a", "b"])],
        },
    ];
    let result = c.batch_update(SS, &data).await.unwrap();
    assert_eq!(result.total_updated_cells, 3);
    assert_eq!(
        result.updated_ranges,
        ["Leads!C2:C2", "'Lead''s sheet'!A1:B1"]
    );
    assert_eq!(g.cell(SS, "Leads", 2, 3).unwrap(), "ada@x");
    assert_eq!(g.grid(SS, "Lead's sheet").unwrap(), [["a", "b"]]);
    assert_eq!(g.gate().calls().count("POST", "/v4"), 1);
}

#[tokio::test]
async fn append_returns_the_parsed_range_it_wrote() {
    let g = sandbox().await;
    let c = client(&g);
    let out = c
        .append(SS, "Leads!A1:C", &[row(&["L3", "Cy", "c@x"])])
        .await
        .unwrap();
    assert_eq!(out.updated_range, "Leads!A4:C4");
    assert_eq!(
        (out.range.first_row, out.range.last_col),
        (Some(4), Some(3))
    );
    assert_eq!(out.table_range.as_deref(), Some("Leads!A1:C3"));
    assert_eq!(g.cell(SS, "Leads", 4, 2).unwrap(), "Cy");
}

#[tokio::test]
async fn a_bad_range_is_a_bad_request_naming_it() {
    let g = sandbox().await;
    let err = client(&g).read_range(SS, "Nope!A1").await.unwrap_err();
    assert!(
        matches!(err, ClientError::BadRequest { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("Unable to parse range: Nope!A1"),
        "{err}"
    );
    let err = client(&g).spreadsheet("missing").await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err:?}");
}

#[test]
fn the_sandbox_key_signs_an_assertion_with_the_claims_google_expects() {
    let key = ServiceAccountKey {
        client_email: "sa@x.iam.gserviceaccount.com".into(),
        private_key: SERVICE_ACCOUNT_PRIVATE_KEY.into(),
        private_key_id: Some("k1".into()),
        token_uri: "http://127.0.0.1:9/token".into(),
    };
    let enc =
        jsonwebtoken::EncodingKey::from_rsa_pem(SERVICE_ACCOUNT_PRIVATE_KEY.as_bytes()).unwrap();
    let jwt = auth::sign_assertion(&key, &enc, 1_000).unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (jsonwebtoken::Algorithm::RS256, Some("k1"))
    );
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(&jwt).unwrap();
    assert_eq!(claims["iss"], "sa@x.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], "http://127.0.0.1:9/token");
    assert_eq!(claims["scope"], auth::SCOPE);
    assert_eq!(
        (claims["iat"].as_i64(), claims["exp"].as_i64()),
        (Some(1_000), Some(4_600))
    );
}
