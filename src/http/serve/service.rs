//! What runs for each request hyper parses: the in-flight cap (503 with `Retry-After` past it),
//! the body-read deadline (408 when the client is too slow to send its body), and the marks
//! that tell the connection's watchdog when a request starts and ends.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use super::phase::{ConnShared, Timeouts};

/// Seconds a client is told to wait after a 503 for load.
const RETRY_AFTER_SECS: &str = "1";

/// The per-connection hyper service around the app's router.
#[derive(Clone)]
pub struct ConnService {
    pub router: Router,
    pub conn: Arc<ConnShared>,
    pub in_flight: Arc<Semaphore>,
    pub timeouts: Timeouts,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.conn.request_started();
        // Liveness must not fail because the server is busy: a probe that restarts a loaded
        // server makes the load worse.
        let permit = if req.uri().path() == "/healthz" {
            None
        } else {
            match self.in_flight.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    metrics::counter!("leadsync_http_requests_shed_total").increment(1);
                    let response = track(overloaded(), None, self.conn.clone());
                    return Box::pin(std::future::ready(Ok(response)));
                }
            }
        };
        let timed_out = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + self.timeouts.body_read;
        let req = req.map(|body| {
            Body::new(DeadlineBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                timed_out: timed_out.clone(),
            })
        });
        let router = self.router.clone();
        let conn = self.conn.clone();
        Box::pin(async move {
            let Ok(mut response) = router.oneshot(req).await;
            // However the handler answered a body that broke off, the answer is the timeout.
            if timed_out.load(Ordering::Relaxed) {
                tracing::debug!("request body not received in time; closing the connection");
                metrics::counter!("leadsync_http_timeouts_total", "timeout" => "body_read")
                    .increment(1);
                response = body_timeout();
            }
            Ok(track(response, permit, conn))
        })
    }
}

fn overloaded() -> Response<Body> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server busy, retry shortly",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    response
}

fn body_timeout() -> Response<Body> {
    let mut response = error(
        StatusCode::REQUEST_TIMEOUT,
        "request body not received in time",
    );
    // The rest of the body may still be on its way: the connection cannot be reused.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Wraps the response body so the request counts as in flight (and the connection as busy)
/// until hyper has taken the whole answer.
fn track(
    response: Response<Body>,
    permit: Option<OwnedSemaphorePermit>,
    conn: Arc<ConnShared>,
) -> Response<Body> {
    response.map(|inner| {
        Body::new(TrackedBody {
            inner,
            _permit: permit,
            conn,
        })
    })
}

struct TrackedBody {
    inner: Body,
    _permit: Option<OwnedSemaphorePermit>,
    conn: Arc<ConnShared>,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.conn.response_done();
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body with a deadline for the whole of it, not per chunk: a client trickling a
/// byte a second never lets a per-chunk timer run out.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("request body not received in time")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            // Only waiting for the client counts: a body that has arrived is read at any time.
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(BodyTimedOut.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
