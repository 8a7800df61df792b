//! Serves one connection with hyper and watches it: closed when its phase's deadline passes,
//! when it is evicted to make room, or drained (the request under way finishes) at shutdown.

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::io::TrackedIo;
use super::service::ConnService;

/// Serves `stream` until the client leaves, a deadline passes or the server stops.
pub async fn serve(stream: TcpStream, service: ConnService, shutdown: CancellationToken) {
    let conn = service.conn.clone();
    let timeouts = service.timeouts;
    let io = TokioIo::new(TrackedIo::new(stream, conn.clone()));
    let http = http1::Builder::new()
        // Every write in one piece: how `TrackedIo` finds hyper's own error answers.
        .writev(false)
        // Our deadlines instead: hyper's would start at the end of the previous answer, so it
        // would also cut idle kept-alive connections at the header timeout.
        .header_read_timeout(None)
        .serve_connection(io, service);
    let mut http = std::pin::pin!(http);
    let mut draining = false;
    loop {
        let deadline = conn.deadline(&timeouts);
        let wake = deadline.map_or_else(far_future, |(at, _)| at);
        tokio::select! {
            result = http.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            () = conn.changed() => {}
            () = tokio::time::sleep_until(wake) => {
                if let Some((at, what)) = conn.deadline(&timeouts)
                    && Instant::now() >= at
                {
                    tracing::debug!(timeout = what, "closing a connection past its timeout");
                    metrics::counter!("leadsync_http_timeouts_total", "timeout" => what).increment(1);
                    return;
                }
            }
            // Evicted (it may have taken a request since it was chosen) or stopping: a request
            // under way finishes first; a connection idle or still sending a head just closes.
            () = conn.evict.cancelled(), if !draining => {
                if !conn.is_serving() {
                    return;
                }
                draining = true;
                http.as_mut().graceful_shutdown();
            }
            () = shutdown.cancelled(), if !draining => {
                if !conn.is_serving() {
                    return;
                }
                draining = true;
                http.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A wake-up that never comes in practice: the phase changes first.
fn far_future() -> Instant {
    Instant::now() + std::time::Duration::from_secs(86_400)
}
