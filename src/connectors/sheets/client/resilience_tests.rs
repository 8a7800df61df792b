//! Client resilience tests against the Google emulator: retries, timeouts, auth, secrets, limits.

use std::time::Duration;

use super::tests::{SS, client, client_with, policy, roomy_limiter, sandbox, sandbox_with};
use super::*;
use crate::connectors::sheets::sandbox::{
    GoogleOptions, GoogleSandbox, SERVICE_ACCOUNT_PRIVATE_KEY, UNREGISTERED_PRIVATE_KEY,
};
use crate::sandbox::common::{Faults, Quota};

#[tokio::test]
async fn retries_429_with_and_without_retry_after_then_succeeds() {
    let g = sandbox().await;
    let c = client(&g);
    for retry_after_secs in [Some(0), None] {
        g.gate().set_faults(Faults {
            fail_next: vec![429, 429],
            retry_after_secs,
            ..Faults::default()
        });
        c.read_sheet(SS, "Leads").await.unwrap();
    }
    assert_eq!(g.gate().calls().count_status(429), 4);
    assert_eq!(g.gate().calls().count_status(200), 2);
}

#[tokio::test]
async fn retries_a_500_then_succeeds() {
    let g = sandbox().await;
    g.gate().set_faults(Faults {
        fail_next: vec![500, 502, 503],
        ..Faults::default()
    });
    client(&g).spreadsheet(SS).await.unwrap();
    assert_eq!(g.gate().calls().records().len(), 4);
}

#[tokio::test]
async fn retries_a_reset_connection_then_succeeds() {
    let g = sandbox().await;
    g.gate().set_faults(Faults {
        fail_next: vec![0],
        ..Faults::default()
    });
    client(&g).spreadsheet(SS).await.unwrap();
    assert_eq!(g.gate().calls().count_status(0), 1);
}

#[tokio::test]
async fn an_append_whose_answer_is_lost_is_not_sent_again_blindly() {
    let g = sandbox().await;
    let c = client(&g);
    let rows_before = g.grid(SS, "Leads").unwrap().len();
    // The rows are added, then the connection is reset before the answer.
    g.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let err = c
        .append(SS, "Leads!A1:B", &[vec!["L9".into(), "Ada".into()]])
        .await
        .expect_err("the answer was lost");
    assert!(
        matches!(
            err,
            ClientError::Retryable {
                outcome_unknown: true,
                attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        g.grid(SS, "Leads").unwrap().len(),
        rows_before + 1,
        "added once"
    );
    // A 429 is refused before anything is done: that one is retried here.
    g.gate().set_faults(Faults {
        fail_next: vec![429],
        retry_after_secs: Some(0),
        ..Faults::default()
    });
    c.append(SS, "Leads!A1:B", &[vec!["L10".into(), "Bob".into()]])
        .await
        .expect("retried after the 429");
    assert_eq!(g.grid(SS, "Leads").unwrap().len(), rows_before + 2);
}

#[tokio::test]
async fn retries_a_hang_past_the_timeout_then_succeeds() {
    let g = sandbox().await;
    g.gate().set_faults(Faults {
        hang_next: 1,
        hang_for: Duration::from_secs(30),
        ..Faults::default()
    });
    let c = client_with(
        &g,
        RetryPolicy {
            total_timeout: Duration::from_millis(300),
            ..policy()
        },
        roomy_limiter(),
    );
    let sheet = c.read_sheet(SS, "Leads").await.unwrap();
    assert_eq!(sheet.values.len(), 3);
}

#[tokio::test]
async fn a_hang_on_every_attempt_ends_in_a_classified_timeout() {
    let g = sandbox().await;
    g.gate().set_faults(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(30),
        ..Faults::default()
    });
    let p = RetryPolicy {
        total_timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..policy()
    };
    let err = client_with(&g, p, roomy_limiter())
        .read_sheet(SS, "Leads")
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.is_timeout_or_connection(),
        "{err:?}"
    );
    assert!(
        matches!(err, ClientError::Retryable { attempts: 2, .. }),
        "{err:?}"
    );
}

fn key_with(g: &GoogleSandbox, private_key: &str) -> ServiceAccountKey {
    let mut json: serde_json::Value = serde_json::from_str(&g.service_account_key_json()).unwrap();
    json["private_key"] = serde_json::json!(private_key);
    ServiceAccountKey::from_json(&json.to_string()).unwrap()
}

#[tokio::test]
async fn a_refused_service_account_is_an_auth_error_not_retried() {
    let g = sandbox().await;
    let c = SheetsClient::new(
        &g.sheets_api_base(),
        key_with(&g, UNREGISTERED_PRIVATE_KEY),
        policy(),
        roomy_limiter(),
    )
    .unwrap();
    let err = c.read_sheet(SS, "Leads").await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Auth {
                status: 400,
                endpoint: "token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(g.token_requests(), 1);
    assert!(g.gate().calls().records().is_empty());
}

#[tokio::test]
async fn no_error_or_debug_output_shows_a_secret_or_url() {
    let g = sandbox().await;
    let good = client(&g);
    good.authenticate().await.unwrap();
    let bad = SheetsClient::new(
        &g.sheets_api_base(),
        key_with(&g, UNREGISTERED_PRIVATE_KEY),
        policy(),
        roomy_limiter(),
    )
    .unwrap();
    let mut errors = vec![
        bad.spreadsheet(SS).await.unwrap_err(),
        good.read_range(SS, "Nope!A1").await.unwrap_err(),
    ];
    g.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    errors.push(good.spreadsheet(SS).await.unwrap_err());
    g.gate().set_faults(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(30),
        ..Faults::default()
    });
    let quick = client_with(
        &g,
        RetryPolicy {
            total_timeout: Duration::from_millis(100),
            max_attempts: 1,
            ..policy()
        },
        roomy_limiter(),
    );
    errors.push(quick.spreadsheet(SS).await.unwrap_err());
    errors.push(
        ServiceAccountKey::from_json(r#"{"private_key":"-----BEGIN PRIVATE KEY-----\nabc"}"#)
            .unwrap_err(),
    );
    let key = ServiceAccountKey::from_json(&g.service_account_key_json()).unwrap();
    let key_body = SERVICE_ACCOUNT_PRIVATE_KEY.lines().nth(1).unwrap();
    let secrets = ["ya29.", "PRIVATE KEY", key_body, "assertion"];
    for text in errors.iter().map(|e| format!("{e} | {e:?}")) {
        // The host may be named (which address failed), never the URL with its path or query.
        for leak in secrets.iter().chain(&["://", "/spreadsheets"]) {
            assert!(!text.contains(leak), "{leak:?} leaked in {text}");
        }
    }
    let key_debug = format!("{key:?}");
    assert!(
        secrets.iter().all(|s| !key_debug.contains(s)),
        "{key_debug}"
    );
}

#[tokio::test]
async fn renews_a_token_the_emulator_expired_once_for_concurrent_callers() {
    let g = sandbox().await;
    let c = client(&g);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            async move { c.spreadsheet(SS).await.map(drop) }
        })
        .collect();
    for result in futures_join(calls).await {
        result.unwrap();
    }
    assert_eq!(g.token_requests(), 1);
    g.expire_all_tokens();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            async move { c.read_sheet(SS, "Leads").await.map(drop) }
        })
        .collect();
    for result in futures_join(calls).await {
        result.unwrap();
    }
    assert_eq!(g.token_requests(), 2);
    assert!(g.gate().calls().count_status(401) >= 1);
}

async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The server counts arrivals, the limiter counts grants: a request granted before a window but
/// arriving inside it is one more in that window. At most `WORKERS` requests are in flight, so
/// any server window sees at most 54 + 6 = 60 arrivals: the bound the test relies on.
#[tokio::test]
async fn a_burst_of_120_reads_under_the_limiter_meets_no_429() {
    const WORKERS: usize = 6;
    let window = Duration::from_secs(1);
    let quota = Quota {
        max_requests: 60,
        per: window,
    };
    let g = sandbox_with(GoogleOptions {
        quota: Some(quota),
        ..GoogleOptions::default()
    })
    .await;
    let c = client_with(&g, policy(), RateLimiter::new(54, window));
    c.authenticate().await.unwrap();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let c = c.clone();
            async move {
                for _ in 0..120 / WORKERS {
                    c.read_sheet(SS, "Leads").await?;
                }
                Ok::<(), ClientError>(())
            }
        })
        .collect();
    for result in futures_join(workers).await {
        result.unwrap();
    }
    assert_eq!(g.gate().calls().count_status(429), 0);
    assert_eq!(g.gate().calls().count_status(200), 120);
}
