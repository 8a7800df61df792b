//! Requests hyper itself refuses (issue 10, item 4): they answer JSON like every other error,
//! with the status hyper chose, instead of an empty body.

use tokio::io::AsyncWriteExt as _;

use crate::helpers::spawn_app;
use crate::raw_http::{
    RawResponse, connect, get, parse_response, read_response, read_until_closed,
};

async fn send_raw(request: &[u8]) -> RawResponse {
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    stream.write_all(request).await.expect("sends");
    read_response(&mut stream).await
}

fn assert_json_error(response: &RawResponse, status: u16, says: &str) {
    assert_eq!(response.status, status, "{response:?}");
    let error = response.json()["error"]
        .as_str()
        .unwrap_or_else(|| panic!("an error message: {response:?}"))
        .to_owned();
    assert!(error.contains(says), "{error:?} should mention {says:?}");
}

#[tokio::test]
async fn too_many_header_fields_answer_431_in_json() {
    let mut request = String::from("GET /healthz HTTP/1.1\r\nhost: leadsync.test\r\n");
    for i in 0..150 {
        request.push_str(&format!("x-filler-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let response = send_raw(request.as_bytes()).await;
    assert_json_error(&response, 431, "header fields too large");
}

#[tokio::test]
async fn an_overlong_uri_answers_414_in_json() {
    let path = format!("/{}", "a".repeat(70_000));
    let response = send_raw(&get(&path)).await;
    assert_json_error(&response, 414, "URI too long");
}

#[tokio::test]
async fn two_different_content_lengths_answer_400_in_json() {
    let request = "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}";
    let response = send_raw(request.as_bytes()).await;
    assert_json_error(&response, 400, "Content-Length");
}

#[tokio::test]
async fn a_malformed_request_line_answers_400_in_json() {
    let response = send_raw(b"NOT A REQUEST\x01\r\n\r\n").await;
    assert_json_error(&response, 400, "malformed request");
}

#[tokio::test]
async fn an_error_after_a_served_request_on_the_same_connection_is_json_too() {
    let mut request = get("/healthz");
    request.extend_from_slice(&get(&format!("/{}", "b".repeat(70_000))));
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    stream.write_all(&request).await.expect("sends");
    // Both answers may come in one write: hyper's error follows the first answer's body.
    let bytes = read_until_closed(&mut stream).await;
    let (first, used) = parse_response(&bytes).expect("the first answer");
    assert_eq!(first.status, 200);
    let (second, rest) = parse_response(&bytes[used..]).expect("the second answer");
    assert_json_error(&second, 414, "URI too long");
    assert_eq!(used + rest, bytes.len(), "nothing after it");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_answers_413_in_json() {
    let app = crate::helpers::spawn_app_with(&[("LEADSYNC__SERVER__MAX_BODY_BYTES", "16")]).await;
    let mut stream = connect(&app).await;
    let request = "POST /webhooks/trello HTTP/1.1\r\nhost: leadsync.test\r\ntransfer-encoding: chunked\r\n\r\n20\r\n{\"padding\": \"aaaaaaaaaaaaaaaaa\"}\r\n0\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("sends");
    let response = read_response(&mut stream).await;
    assert_json_error(&response, 413, "too large");
}

#[tokio::test]
async fn a_method_a_route_does_not_take_answers_405_in_json_with_allow() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 405);
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok());
    assert_eq!(allow, Some("GET,HEAD"), "the Allow header is kept");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "method not allowed");
}
