//! Where one connection stands (idle, reading a head, serving a request) and the deadline that
//! allows it: the watchdog in `conn` closes the connection when that deadline passes.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The timeouts a connection lives by (from the `server.*_secs` settings).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request under way and no byte of the next one yet. `first`: nothing was ever asked.
    Idle { since: Instant, first: bool },
    /// Bytes of a request head have arrived; the head is not complete yet.
    Head { since: Instant },
    /// A request is being served: its deadline is kept by its body (see `service`), since only
    /// a handler waiting for the body can tell a slow client from a slow handler.
    Request,
}

/// One connection's state, shared by its IO wrapper, its service and its watchdog.
pub struct ConnShared {
    phase: Mutex<Phase>,
    /// Wakes the watchdog to recompute its deadline after a change of phase.
    changed: Notify,
    /// Cancelled to close the connection: it was idle the longest when a new one needed room.
    pub evict: CancellationToken,
}

impl ConnShared {
    pub fn new(accepted: Instant) -> Self {
        Self {
            phase: Mutex::new(Phase::Idle {
                since: accepted,
                first: true,
            }),
            changed: Notify::new(),
            evict: CancellationToken::new(),
        }
    }

    fn set(&self, update: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *phase = update(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    fn get(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: on an idle connection they start the next request's head.
    pub fn bytes_read(&self) {
        if matches!(self.get(), Phase::Idle { .. }) {
            self.set(|_| Phase::Head {
                since: Instant::now(),
            });
        }
    }

    /// A complete request head was parsed.
    pub fn request_started(&self) {
        self.set(|_| Phase::Request);
    }

    /// The response was handed to the connection in full.
    pub fn response_done(&self) {
        self.set(|_| Phase::Idle {
            since: Instant::now(),
            first: false,
        });
    }

    /// Since when the connection has had nothing to do, if it is idle now.
    pub fn idle_since(&self) -> Option<Instant> {
        match self.get() {
            Phase::Idle { since, .. } => Some(since),
            Phase::Head { .. } | Phase::Request => None,
        }
    }

    /// Since when the connection has been reading a request head, if it is doing that now.
    pub fn head_since(&self) -> Option<Instant> {
        match self.get() {
            Phase::Head { since } => Some(since),
            Phase::Idle { .. } | Phase::Request => None,
        }
    }

    /// Whether a request is being served (closing now would lose its answer).
    pub fn is_serving(&self) -> bool {
        matches!(self.get(), Phase::Request)
    }

    /// When the current phase runs out, and what ran out (for the log); `None` while serving.
    pub fn deadline(&self, t: &Timeouts) -> Option<(Instant, &'static str)> {
        match self.get() {
            // A new connection that sends nothing is a slow head like any other.
            Phase::Idle { since, first: true } => Some((since + t.header_read, "header_read")),
            Phase::Idle {
                since,
                first: false,
            } => Some((since + t.idle, "idle")),
            Phase::Head { since } => Some((since + t.header_read, "header_read")),
            Phase::Request => None,
        }
    }

    /// Resolves at the next change of phase.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        body_read: Duration::from_secs(30),
        idle: Duration::from_secs(60),
    };

    #[test]
    fn a_new_connection_gets_the_header_timeout_then_idle_ones_the_idle_timeout() {
        let start = Instant::now();
        let conn = ConnShared::new(start);
        assert_eq!(
            conn.deadline(&T),
            Some((start + T.header_read, "header_read"))
        );
        assert_eq!(conn.idle_since(), Some(start));

        let before = Instant::now();
        conn.bytes_read();
        let (at, what) = conn.deadline(&T).expect("a head has a deadline");
        assert_eq!(what, "header_read");
        assert!(
            at >= before + T.header_read,
            "counted from the head's first byte"
        );
        assert_eq!(
            conn.idle_since(),
            None,
            "a connection reading a head is not idle"
        );

        conn.request_started();
        assert_eq!(
            conn.deadline(&T),
            None,
            "a request being served has no connection deadline"
        );
        conn.bytes_read();
        assert_eq!(conn.deadline(&T), None, "body bytes do not start a head");

        conn.response_done();
        let idle = conn.idle_since().expect("idle after the answer");
        assert_eq!(conn.deadline(&T), Some((idle + T.idle, "idle")));
    }
}
