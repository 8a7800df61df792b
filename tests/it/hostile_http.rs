//! Slow, idle and excess clients (issue 10): each is cut off or turned away within the configured
//! limit, with a JSON 408 or 503, while other requests keep being served.

use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::time::Instant;

use crate::helpers::{TestApp, eventually, spawn_app_with};
use crate::raw_http::{PATIENCE, closed_at, connect, get, is_closed, read_response, trickle};

/// Tests set their timeouts to 1 s; a cut-off must come after it and well before this.
const CUT_OFF_BY: Duration = Duration::from_secs(3);
/// Earliest a 1 s timeout may act (timers may fire a little early against our clock).
const NOT_BEFORE: Duration = Duration::from_millis(900);

async fn app_with(limits: &[(&str, &str)]) -> TestApp {
    let keys: Vec<(String, &str)> = limits
        .iter()
        .map(|(k, v)| (format!("LEADSYNC__SERVER__{}", k.to_uppercase()), *v))
        .collect();
    let extra: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    spawn_app_with(&extra).await
}

fn assert_cut_off_in_time(what: &str, started: Instant, closed: Instant) {
    let after = closed - started;
    assert!(
        (NOT_BEFORE..CUT_OFF_BY).contains(&after),
        "{what} cut off after {after:?}, wanted 1 s (within {CUT_OFF_BY:?})"
    );
}

/// The metrics (one recorder per test process) show `series` counted at least once.
async fn assert_counted(app: &TestApp, series: &str) {
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.lines().any(|l| l.starts_with(series)),
        "{series} missing from:\n{metrics}"
    );
}

#[tokio::test]
async fn a_slow_header_client_is_cut_off_at_the_header_timeout_while_others_are_served() {
    let app = app_with(&[
        ("header_read_timeout_secs", "1"),
        ("idle_timeout_secs", "30"),
    ])
    .await;
    let (mut read, mut write) = connect(&app).await.into_split();
    let started = Instant::now();
    // A head that would take 20 s at this pace.
    let head = b"GET /healthz HTTP/1.1\r\nhost: leadsync.test\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let slow = tokio::spawn(async move {
        trickle(&mut write, head, Duration::from_millis(100)).await;
    });
    for _ in 0..3 {
        assert_eq!(app.get("/readyz").await.status(), 200, "others are served");
    }
    let closed = closed_at(&mut read).await;
    assert_cut_off_in_time("a trickled head", started, closed);
    slow.abort();
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_counted(
        &app,
        r#"leadsync_http_timeouts_total{timeout="header_read"}"#,
    )
    .await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let app = app_with(&[
        ("header_read_timeout_secs", "1"),
        ("idle_timeout_secs", "30"),
    ])
    .await;
    let mut silent = connect(&app).await;
    let started = Instant::now();
    let closed = closed_at(&mut silent).await;
    assert_cut_off_in_time("a silent new connection", started, closed);
}

#[tokio::test]
async fn a_slow_body_is_answered_408_in_json_and_the_connection_closed() {
    let app = app_with(&[("body_read_timeout_secs", "1")]).await;
    let mut stream = connect(&app).await;
    let head = "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    let slow = tokio::spawn(async move {
        trickle(&mut write, &[b'{'; 200], Duration::from_millis(100)).await;
    });
    let response = read_response(&mut read).await;
    assert_cut_off_in_time("a trickled body", started, Instant::now());
    assert_eq!(response.status, 408, "{response:?}");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(
        response.json()["error"],
        "request body not received in time"
    );
    assert!(
        is_closed(&mut read, CUT_OFF_BY).await,
        "the connection is closed"
    );
    slow.abort();
    assert_counted(&app, r#"leadsync_http_timeouts_total{timeout="body_read"}"#).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let app = app_with(&[
        ("idle_timeout_secs", "1"),
        ("header_read_timeout_secs", "30"),
    ])
    .await;
    let mut stream = connect(&app).await;
    stream.write_all(&get("/healthz")).await.expect("first");
    assert_eq!(read_response(&mut stream).await.status, 200);
    // Kept alive: a second request on it is served.
    stream.write_all(&get("/healthz")).await.expect("second");
    assert_eq!(read_response(&mut stream).await.status, 200);
    let idle_from = Instant::now();
    let closed = closed_at(&mut stream).await;
    assert_cut_off_in_time("an idle kept-alive connection", idle_from, closed);
}

#[tokio::test]
async fn past_the_connection_cap_the_oldest_idle_connection_gives_way_and_readyz_answers() {
    const CAP: usize = 4;
    let app = app_with(&[
        ("max_connections", "4"),
        ("header_read_timeout_secs", "60"),
        ("idle_timeout_secs", "60"),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..=CAP {
        idle.push(connect(&app).await);
    }
    let asked = Instant::now();
    let ready = tokio::time::timeout(Duration::from_secs(2), app.get("/readyz"))
        .await
        .expect("/readyz answers though N+1 idle connections are open");
    assert_eq!(ready.status(), 200);
    assert!(asked.elapsed() < Duration::from_secs(2));
    // The oldest idle connections made room: no more than the cap stay open.
    let mut closed = 0;
    for stream in &mut idle {
        if is_closed(stream, Duration::from_millis(300)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 2,
        "{closed} of {} idle connections closed",
        CAP + 1
    );
    assert!(
        !is_closed(idle.last_mut().expect("newest"), Duration::from_millis(50)).await,
        "the newest idle connection is kept"
    );
}

#[tokio::test]
async fn at_the_cap_slow_header_clients_give_way_to_a_new_connection() {
    let app = app_with(&[("max_connections", "2"), ("header_read_timeout_secs", "60")]).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        // Half a head, and no more: a slow-loris client.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("half a head");
        slow.push(stream);
    }
    // Once their heads have been arriving for over a second, they count as slow.
    eventually("/readyz past two slow clients", PATIENCE, || async {
        let response = app.client.get(app.url("/readyz")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    let mut closed = 0;
    for stream in &mut slow {
        if is_closed(stream, Duration::from_millis(300)).await {
            closed += 1;
        }
    }
    assert!(closed >= 1, "a slow client made room");
}

#[tokio::test]
async fn at_the_cap_with_every_connection_serving_a_new_one_gets_503_with_retry_after() {
    let app = app_with(&[("max_connections", "2"), ("body_read_timeout_secs", "30")]).await;
    let mut serving = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        // A webhook whose body is on its way: these connections are serving a request.
        let head =
            "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ncontent-length: 2\r\n\r\n{";
        stream.write_all(head.as_bytes()).await.expect("head");
        serving.push(stream);
    }
    // An HTTP client's request, not a bare socket: it must read the 503 as an answer.
    let response = eventually("a 503 for a connection past the cap", PATIENCE, || async {
        let response = app.client.get(app.url("/readyz")).send().await.ok()?;
        (response.status() == 503).then_some(response)
    })
    .await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "too many connections, retry shortly");
    for stream in &mut serving {
        stream.write_all(b"}").await.expect("rest of the body");
        assert_ne!(
            read_response(stream).await.status,
            503,
            "requests under way are served"
        );
    }
    eventually("a free slot again", PATIENCE, || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn requests_past_the_in_flight_cap_get_503_with_retry_after_and_healthz_is_exempt() {
    let app = app_with(&[
        ("max_requests_in_flight", "1"),
        ("body_read_timeout_secs", "30"),
    ])
    .await;
    // A webhook whose body is on its way holds the one slot.
    let mut slow = connect(&app).await;
    let head =
        "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ncontent-length: 2\r\n\r\n{";
    slow.write_all(head.as_bytes()).await.expect("head");
    let shed = eventually("a request shed for load", PATIENCE, || async {
        let response = app.get("/readyz").await;
        (response.status() == 503).then_some(response)
    })
    .await;
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = shed.json().await.expect("json");
    assert_eq!(body["error"], "server busy, retry shortly");
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "liveness is exempt"
    );

    slow.write_all(b"}").await.expect("rest of the body");
    let answered = read_response(&mut slow).await;
    assert_ne!(
        answered.status, 503,
        "the request in flight is served: {answered:?}"
    );
    eventually("the slot is free again", PATIENCE, || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
    // Counted, and read once /metrics itself is not shed.
    assert_counted(&app, "leadsync_http_requests_shed_total").await;
}

#[tokio::test]
async fn a_stop_closes_idle_and_half_sent_connections_at_once_and_lets_a_request_finish() {
    let app = app_with(&[
        ("header_read_timeout_secs", "60"),
        ("idle_timeout_secs", "60"),
        ("max_requests_in_flight", "1"),
    ])
    .await;
    let mut idle = connect(&app).await;
    idle.write_all(&get("/healthz")).await.expect("request");
    assert_eq!(read_response(&mut idle).await.status, 200);
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .expect("half a head");
    let mut serving = connect(&app).await;
    let head =
        "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ncontent-length: 2\r\n\r\n{";
    serving.write_all(head.as_bytes()).await.expect("head");
    // With one slot, /readyz answering 503 shows the POST holds it: it is being served.
    eventually("the webhook under way", PATIENCE, || async {
        (app.get("/readyz").await.status() == 503).then_some(())
    })
    .await;

    app.shutdown.cancel();
    assert!(
        is_closed(&mut idle, Duration::from_secs(2)).await,
        "idle closes"
    );
    assert!(
        is_closed(&mut half, Duration::from_secs(2)).await,
        "half-sent closes"
    );
    serving.write_all(b"}").await.expect("rest of the body");
    let answered = read_response(&mut serving).await;
    assert_ne!(
        answered.status, 503,
        "the request under way is answered: {answered:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), app.handle)
        .await
        .expect("the server stops once that request is answered")
        .expect("joins")
        .expect("stops cleanly");
}
