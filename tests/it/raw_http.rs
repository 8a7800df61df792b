//! A raw HTTP/1.1 client on a tokio `TcpStream`, for what reqwest will not do: trickle a
//! request, hold a connection idle, send malformed heads, and see when the server hangs up.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::TestApp;

/// Longer than any test's timeout: a read that waits this long means the server never acted.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// One answer read off a connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics naming the answer when it is not.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response (head, then `content-length` bytes of body) within [`PATIENCE`]. Bytes
/// past it (a pipelined answer) are dropped: read those with [`read_until_closed`].
pub async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> RawResponse {
    let read = async {
        let mut buf = Vec::new();
        loop {
            if let Some((response, _)) = parse_response(&buf) {
                return response;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("reads");
            assert!(
                n > 0,
                "closed before a full response: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a response within the patience")
}

/// Everything the server sends until it closes the connection (within [`PATIENCE`]).
pub async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection")
        .expect("reads");
    buf
}

/// The first complete response in `buf` and how many bytes it takes.
pub fn parse_response(buf: &[u8]) -> Option<(RawResponse, usize)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("utf-8 head");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line")[9..12]
        .parse()
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_lowercase(), v.to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("content-length"));
    let end = head_end + 4 + length;
    let body = buf.get(head_end + 4..end)?.to_vec();
    let response = RawResponse {
        status,
        headers,
        body,
    };
    Some((response, end))
}

/// Waits (within [`PATIENCE`]) for the server to close the connection; returns when it did.
/// Anything it still sends first is read and dropped.
pub async fn closed_at(stream: &mut (impl AsyncRead + Unpin)) -> Instant {
    let wait = async {
        let mut sink = [0u8; 4096];
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the server closes the connection")
}

/// Whether the server has closed the connection, looking for at most `within`.
pub async fn is_closed(stream: &mut (impl AsyncRead + Unpin), within: Duration) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(within, stream.read(&mut byte)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

/// Sends `bytes` one at a time, `every` apart, until they run out or the server hangs up.
pub async fn trickle(stream: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8], every: Duration) {
    for byte in bytes {
        if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
            return;
        }
        // Pacing the trickle, not synchronising: the test waits on the server's answer.
        tokio::time::sleep(every).await;
    }
}

/// A GET of `path` on a kept-alive connection.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: leadsync.test\r\n\r\n").into_bytes()
}
