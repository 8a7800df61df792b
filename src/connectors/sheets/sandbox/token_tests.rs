//! Wire-level tests of the emulated token endpoint and bearer-token checks.

use super::tests::{GRANT, SS, assertion, call, exchange, sandbox, token};
use super::*;
use serde_json::json;

#[tokio::test]
async fn a_valid_assertion_gets_a_bearer_token() {
    let g = sandbox().await;
    let (status, body) = exchange(
        &g,
        GRANT,
        &assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |_| {}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_assertions_as_google_does() {
    let g = sandbox().await;
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            assertion(&g, UNREGISTERED_PRIVATE_KEY, |_| {}),
            "invalid_grant",
            "Invalid JWT Signature.",
        ),
        (
            assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |c| {
                c["aud"] = json!("https://oauth2.googleapis.com/token")
            }),
            "invalid_grant",
            "Failed audience check",
        ),
        (
            assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600)
            }),
            "invalid_grant",
            "short-lived",
        ),
        (
            assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |c| {
                c["exp"] = json!(now + 7200)
            }),
            "invalid_grant",
            "short-lived",
        ),
        (
            assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |c| {
                c["iss"] = json!("someone@else.iam.gserviceaccount.com")
            }),
            "invalid_grant",
            "account not found",
        ),
        (
            assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |c| {
                c["scope"] = json!("https://www.googleapis.com/auth/drive")
            }),
            "invalid_scope",
            "scope",
        ),
        (
            "not.a.jwt".to_owned(),
            "invalid_grant",
            "Invalid JWT Signature.",
        ),
    ];
    for (jwt, error, description) in cases {
        let (status, body) = exchange(&g, GRANT, &jwt).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains(description),
            "{body}"
        );
    }
    let (status, body) = exchange(
        &g,
        "client_credentials",
        &assertion(&g, SERVICE_ACCOUNT_PRIVATE_KEY, |_| {}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert_eq!(g.token_requests(), 8);
}

#[tokio::test]
async fn sheets_calls_need_a_live_token_of_an_editor() {
    let g = sandbox().await;
    let url = format!("{}/spreadsheets/{SS}", g.sheets_api_base());
    let (status, body) = call(reqwest::Method::GET, url.clone(), None, None).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let t = token(&g).await;
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        200
    );
    g.expire_all_tokens();
    assert_eq!(
        call(reqwest::Method::GET, url.clone(), Some(&t), None)
            .await
            .0,
        401
    );
    let t = token(&g).await;
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/spreadsheets/nope", g.sheets_api_base()),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    g.revoke_access(SS, SERVICE_ACCOUNT_EMAIL).unwrap();
    let (status, body) = call(reqwest::Method::GET, url, Some(&t), None).await;
    assert_eq!(
        (status, body["error"]["status"].as_str()),
        (403, Some("PERMISSION_DENIED"))
    );
}

#[tokio::test]
async fn tokens_run_out_after_their_lifetime() {
    let g = sandbox().await;
    g.set_token_lifetime(Duration::ZERO);
    let t = token(&g).await;
    let url = format!("{}/spreadsheets/{SS}", g.sheets_api_base());
    assert_eq!(call(reqwest::Method::GET, url, Some(&t), None).await.0, 401);
}
