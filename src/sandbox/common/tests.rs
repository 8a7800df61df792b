//! Tests of the shared sandbox gate: faults, quotas, call log and resettable serving.

use super::*;
use axum::Router;
use axum::routing::get;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

fn app(gate: &Gate, hits: Arc<AtomicUsize>) -> Router {
    let hooks = GateHooks {
        gate: gate.clone(),
        quota_keys: Arc::new(|req: &Request| {
            req.headers()
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(|u| vec![format!("user:{u}")])
                .unwrap_or_default()
        }),
        error_response: Arc::new(|status: StatusCode| (status, "injected").into_response()),
    };
    Router::new()
        .route(
            "/thing",
            get(move || {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(hooks, gate_middleware))
}

async fn start(gate: &Gate) -> (Served, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let served = serve(app(gate, hits.clone())).await.unwrap();
    (served, hits)
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

async fn get_as(served: &Served, user: &str) -> Result<reqwest::Response, reqwest::Error> {
    client(Duration::from_secs(10))
        .get(format!("{}/thing", served.base_url()))
        .header("x-user", user)
        .send()
        .await
}

#[tokio::test]
async fn answers_fail_next_statuses_in_order_with_retry_after_on_429() {
    let gate = Gate::new(None);
    gate.set_faults(Faults {
        fail_next: vec![429, 500],
        retry_after_secs: Some(1),
        ..Faults::default()
    });
    let (served, hits) = start(&gate).await;
    let first = get_as(&served, "a").await.unwrap();
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "1");
    let second = get_as(&served, "a").await.unwrap();
    assert_eq!(second.status(), 500);
    assert!(second.headers().get("retry-after").is_none());
    assert_eq!(get_as(&served, "a").await.unwrap().status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(gate.calls().count_status(429), 1);
    assert_eq!(gate.calls().count("GET", "/thing"), 3);
}

#[tokio::test]
async fn enforces_the_quota_per_key_with_429s() {
    let gate = Gate::new(Some(Quota {
        max_requests: 2,
        per: Duration::from_secs(3600),
    }));
    let (served, _) = start(&gate).await;
    for _ in 0..2 {
        assert_eq!(get_as(&served, "a").await.unwrap().status(), 200);
    }
    assert_eq!(get_as(&served, "a").await.unwrap().status(), 429);
    assert_eq!(get_as(&served, "b").await.unwrap().status(), 200);
    let keys: Vec<String> = gate.calls().records().into_iter().map(|r| r.key).collect();
    assert_eq!(keys, ["user:a", "user:a", "user:a", "user:b"]);
}

#[tokio::test]
async fn a_prefix_quota_overrides_the_default_quota() {
    let gate = Gate::new(Some(Quota {
        max_requests: 1,
        per: Duration::from_secs(3600),
    }));
    gate.set_quota_for_prefix("user:vip", None);
    let (served, _) = start(&gate).await;
    for _ in 0..3 {
        assert_eq!(get_as(&served, "vip").await.unwrap().status(), 200);
    }
    assert_eq!(get_as(&served, "x").await.unwrap().status(), 200);
    assert_eq!(get_as(&served, "x").await.unwrap().status(), 429);
}

#[test]
fn the_sliding_window_admits_again_once_old_calls_leave_it() {
    let mut state = QuotaState {
        default: Some(Quota {
            max_requests: 1,
            per: Duration::from_secs(10),
        }),
        ..QuotaState::default()
    };
    let keys = vec!["k".to_owned()];
    let t0 = Instant::now();
    assert!(state.admit(&keys, t0));
    assert!(!state.admit(&keys, t0 + Duration::from_secs(9)));
    assert!(state.admit(&keys, t0 + Duration::from_secs(10)));
}

/// reqwest reports a reset as a request error whose source chain holds the OS error.
fn is_connection_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io.kind() == io::ErrorKind::ConnectionReset;
        }
        source = e.source();
    }
    false
}

#[tokio::test]
async fn a_reset_reaches_reqwest_as_a_connection_error_without_running_the_handler() {
    let gate = Gate::new(None);
    gate.set_faults(Faults {
        fail_next: vec![0],
        ..Faults::default()
    });
    let (served, hits) = start(&gate).await;
    let err = get_as(&served, "a").await.unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(is_connection_reset(&err), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(gate.calls().count_status(0), 1);
    assert_eq!(get_as(&served, "a").await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_reset_after_the_handler_makes_the_change_but_loses_the_answer() {
    let gate = Gate::new(None);
    gate.set_faults(Faults {
        reset_rate: 1.0,
        after_handler: true,
        ..Faults::default()
    });
    let (served, hits) = start(&gate).await;
    let err = get_as(&served, "a").await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout() {
    let gate = Gate::new(None);
    gate.set_faults(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(5),
        ..Faults::default()
    });
    let (served, _) = start(&gate).await;
    let err = client(Duration::from_millis(200))
        .get(format!("{}/thing", served.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn random_errors_at_full_rate_answer_429_or_5xx() {
    let gate = Gate::new(None);
    gate.set_faults(Faults {
        error_rate: 1.0,
        status_429_share: 0.5,
        ..Faults::default()
    });
    let (served, hits) = start(&gate).await;
    for _ in 0..10 {
        let status = get_as(&served, "a").await.unwrap().status().as_u16();
        assert!([429, 500, 502, 503].contains(&status), "{status}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_stopped_server_refuses_new_connections() {
    let gate = Gate::new(None);
    let (served, _) = start(&gate).await;
    let url = format!("{}/thing", served.base_url());
    served.stop();
    let mut refused = false;
    for _ in 0..100 {
        let fresh = reqwest::Client::builder().build().unwrap();
        if fresh.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused);
}
