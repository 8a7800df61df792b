//! The HTTP server loop, hardened for a public endpoint: header, body and idle timeouts, a cap
//! on open connections (an idle or slow one makes room; with none, a quick 503) and a cap
//! on requests in flight (503 with `Retry-After`). Replaces `axum::serve`, which has none.

mod conn;
mod io;
mod phase;
mod service;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::ServerSettings;
use phase::ConnShared;
pub use phase::Timeouts;
use service::ConnService;

/// The limits the server runs with, from the `server.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeouts: Timeouts,
    pub max_connections: usize,
    pub max_requests_in_flight: usize,
}

impl Limits {
    pub fn from_settings(s: &ServerSettings) -> Self {
        Self {
            timeouts: Timeouts {
                header_read: Duration::from_secs(s.header_read_timeout_secs),
                body_read: Duration::from_secs(s.body_read_timeout_secs),
                idle: Duration::from_secs(s.idle_timeout_secs),
            },
            max_connections: s.max_connections,
            max_requests_in_flight: s.max_requests_in_flight,
        }
    }
}

/// A request head still arriving after this long marks a slow client, which gives way to a new
/// connection at the cap.
const SLOW_HEAD: Duration = Duration::from_secs(1);

/// Turned-away connections being answered at once, at most; past this they are just closed
/// (each holds a file descriptor until its client has read the 503).
const MAX_REFUSING: usize = 64;

/// Most of a turned-away client's request head read before it is answered.
const MAX_REFUSED_HEAD: usize = 16 * 1024;

/// How long a turned-away client gets to send its head and read its 503 before the socket
/// closes.
const REFUSE_LINGER: Duration = Duration::from_secs(1);

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 47\r\n\r\n{\"error\":\"too many connections, retry shortly\"}";

/// Open connections by id, for choosing which idle one gives way.
#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<ConnShared>>>,
    refusing: AtomicUsize,
}

impl Registry {
    /// Makes room for one more connection: under the cap, nothing to do; at it, one connection
    /// not already leaving is told to close: the one idle the longest, else the one that has
    /// been sending a request head the longest (past [`SLOW_HEAD`]: a slow-loris client, since a
    /// real one sends its head at once). `false` when every connection is serving a request.
    fn make_room(&self, cap: usize) -> bool {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let leaving = open.values().filter(|c| c.evict.is_cancelled()).count();
        if open.len() - leaving < cap {
            return true;
        }
        let staying = || open.values().filter(|c| !c.evict.is_cancelled());
        let oldest_idle = staying()
            .filter_map(|c| c.idle_since().map(|since| (since, c)))
            .min_by_key(|(since, _)| *since);
        let slow_before = Instant::now().checked_sub(SLOW_HEAD);
        let slowest_head = || {
            staying()
                .filter_map(|c| c.head_since().map(|since| (since, c)))
                .filter(|(since, _)| slow_before.is_some_and(|before| *since <= before))
                .min_by_key(|(since, _)| *since)
        };
        match oldest_idle.or_else(slowest_head) {
            Some((_, conn)) => {
                conn.evict.cancel();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from the registry however its task ends (aborted included).
struct Registered(Arc<Registry>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        let mut open = self.0.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.1);
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits for the open
/// connections to finish their requests (idle ones close at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry::default());
    let in_flight = Arc::new(Semaphore::new(limits.max_requests_in_flight));
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        if !registry.make_room(limits.max_connections) {
            refuse(stream, &registry, &mut tasks);
            continue;
        }
        next_id += 1;
        let conn = Arc::new(ConnShared::new(Instant::now()));
        registry
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(next_id, conn.clone());
        let registered = Registered(registry.clone(), next_id);
        let service = ConnService {
            router: router.clone(),
            conn,
            in_flight: in_flight.clone(),
            timeouts: limits.timeouts,
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            conn::serve(stream, service, shutdown).await;
            drop(registered);
        });
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Like `axum::serve`: a client that gave up before it was accepted is no news; anything else
/// (out of file descriptors, most likely) is logged and retried after a pause.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Every connection is busy: this one is answered 503 and closed, its request unserved.
fn refuse(mut stream: TcpStream, registry: &Arc<Registry>, tasks: &mut JoinSet<()>) {
    metrics::counter!("leadsync_http_connections_refused_total").increment(1);
    if registry.refusing.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSING {
        registry.refusing.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let registry = registry.clone();
    tasks.spawn(async move {
        let answer = async {
            // The request head first: a client answered before it has asked (hyper's, for
            // one) takes the answer for a broken connection, not for a 503.
            let mut head = Vec::new();
            let mut chunk = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REFUSED_HEAD {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(());
                }
                head.extend_from_slice(&chunk[..n]);
            }
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes: closing on unread bytes would reset
            // the connection and could discard the answer before the client reads it.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(REFUSE_LINGER, answer).await;
        registry.refusing.fetch_sub(1, Ordering::Relaxed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_declares_its_body_length() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length = format!("content-length: {}", body.len());
        assert!(head.split("\r\n").any(|line| line == length), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].is_string());
    }

    #[tokio::test]
    async fn at_the_cap_the_connection_idle_longest_gives_way_and_busy_ones_never_do() {
        let registry = Registry::default();
        let older = Arc::new(ConnShared::new(Instant::now()));
        let newer = Arc::new(ConnShared::new(Instant::now() + Duration::from_millis(5)));
        {
            let mut open = registry.open.lock().unwrap();
            open.insert(1, older.clone());
            open.insert(2, newer.clone());
        }
        assert!(registry.make_room(3), "under the cap");
        assert!(!older.evict.is_cancelled());

        assert!(registry.make_room(2));
        assert!(older.evict.is_cancelled(), "the oldest idle one gives way");
        assert!(!newer.evict.is_cancelled());

        newer.bytes_read();
        assert!(
            !registry.make_room(1),
            "a head that just started is not slow yet"
        );
        newer.request_started();
        assert!(
            !registry.make_room(1),
            "the leaving one is not counted, the busy one stays"
        );
        assert!(!newer.evict.is_cancelled());
    }

    #[test]
    fn at_the_cap_with_none_idle_the_slowest_head_gives_way() {
        let registry = Registry::default();
        let slow = Arc::new(ConnShared::new(Instant::now()));
        slow.bytes_read();
        let serving = Arc::new(ConnShared::new(Instant::now()));
        serving.request_started();
        {
            let mut open = registry.open.lock().unwrap();
            open.insert(1, slow.clone());
            open.insert(2, serving.clone());
        }
        std::thread::sleep(SLOW_HEAD);
        assert!(registry.make_room(2));
        assert!(slow.evict.is_cancelled(), "the slow head gives way");
        assert!(!serving.evict.is_cancelled());
    }
}
