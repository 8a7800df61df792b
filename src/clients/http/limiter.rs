//! Client-side rate limiting for outbound calls, below the servers' published quotas.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Client-side limit: at most `max_requests` per `per` window; `acquire()` waits for a slot.
///
/// Two rules, both must allow a grant:
/// - a sliding log of grant times: never more than `max` within any `per` (a classic token bucket
///   lets 2×max through across a refill boundary, which breaks the servers' sliding windows);
/// - pacing (GCRA) at `per / max` with a burst of `max / 20`: requests arrive at the server with
///   jitter, so a full window's budget sent at once could land inside the server's next window.
#[derive(Clone)]
pub struct RateLimiter {
    window: Arc<Mutex<Window>>,
    pub(super) remaining_header: Option<&'static str>,
    /// The server locks this scope out for this long after a 429 (see `with_lockout_on_429`).
    pub(super) lockout: Option<Duration>,
}

/// The pure decision state of a [`RateLimiter`], testable with synthetic instants.
#[derive(Debug)]
struct Window {
    max: u32,
    per: Duration,
    granted: VecDeque<Instant>,
    paused_until: Option<Instant>,
    /// GCRA's theoretical arrival time of the next request.
    tat: Option<Instant>,
}

impl Window {
    fn new(max: u32, per: Duration) -> Self {
        let max = max.max(1);
        Self {
            max,
            per,
            granted: VecDeque::new(),
            paused_until: None,
            tat: None,
        }
    }

    fn interval(&self) -> Duration {
        self.per / self.max
    }

    fn burst_tolerance(&self) -> Duration {
        self.interval() * ((self.max / 20).max(1) - 1)
    }

    /// Takes a slot at `now`, or says when to ask again.
    fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        while self
            .granted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.per)
        {
            self.granted.pop_front();
        }
        let tat = self.tat.map_or(now, |t| t.max(now));
        let paced_at = tat.checked_sub(self.burst_tolerance()).unwrap_or(now);
        if paced_at > now {
            return Err(paced_at);
        }
        if self.granted.len() < self.max as usize {
            self.granted.push_back(now);
            self.tat = Some(tat + self.interval());
            return Ok(());
        }
        Err(self.granted.front().map_or(now, |t| *t + self.per))
    }

    /// Server says `remaining` calls are left: below a tenth of our budget, pause proportionally.
    fn observe_remaining(&mut self, remaining: u32, now: Instant) {
        let low = (self.max / 10).max(1);
        if remaining >= low {
            return;
        }
        let pause = self
            .per
            .mul_f64(f64::from(low - remaining) / f64::from(low));
        self.pause_until(now + pause);
    }

    /// No grant before `until`; an earlier pause never shortens a longer one.
    fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }
}

impl RateLimiter {
    pub fn new(max_requests: u32, per: Duration) -> Self {
        Self {
            window: Arc::new(Mutex::new(Window::new(max_requests, per))),
            remaining_header: None,
            lockout: None,
        }
    }

    /// The server answers every call in this limiter's scope 429 for `penalty` once it went over
    /// (Airtable: 30 s per base, refused calls included). `ApiClient` then waits `Retry-After`,
    /// or else `penalty`, before the retry, and holds every call through this limiter as long.
    pub fn with_lockout_on_429(mut self, penalty: Duration) -> Self {
        self.lockout = Some(penalty);
        self
    }

    /// Holds every grant for `pause` from now.
    pub fn pause_for(&self, pause: Duration) {
        self.lock().pause_until(Instant::now() + pause);
    }

    /// Names the response header that reports this limiter's remaining server quota
    /// (e.g. Trello's `x-rate-limit-api-token-remaining`); `ApiClient` feeds it to `observe_remaining`.
    pub fn with_remaining_header(mut self, header: &'static str) -> Self {
        self.remaining_header = Some(header);
        self
    }

    pub async fn acquire(&self) {
        loop {
            let verdict = self.lock().try_take(Instant::now());
            match verdict {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// Slow down: the server told us how many requests remain (Trello x-rate-limit-*-remaining).
    pub fn observe_remaining(&self, remaining: u32) {
        self.lock().observe_remaining(remaining, Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // A panic while holding this lock cannot leave the window inconsistent, so poison is ignored.
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(max: u32, per_ms: u64) -> Window {
        Window::new(max, Duration::from_millis(per_ms))
    }

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn limiter_paces_requests_after_a_small_burst() {
        let mut w = window(100, 1000);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(w.try_take(t0), Ok(()));
        }
        assert_eq!(w.try_take(t0), Err(ms(t0, 10)));
        assert_eq!(w.try_take(ms(t0, 10)), Ok(()));
        let mut slow = window(20, 1000);
        assert_eq!(slow.try_take(t0), Ok(()));
        assert_eq!(slow.try_take(ms(t0, 10)), Err(ms(t0, 50)));
    }

    #[test]
    fn limiter_grants_max_per_window_then_waits_for_the_oldest_to_age_out() {
        // Pacing alone would allow 41 grants in the first second here; the log stops at 40.
        let mut w = window(40, 1000);
        let t0 = Instant::now();
        let granted = (0..1000).filter(|m| w.try_take(ms(t0, *m)).is_ok()).count();
        assert_eq!(granted, 40);
        assert_eq!(w.try_take(ms(t0, 999)), Err(t0 + Duration::from_secs(1)));
        assert_eq!(w.try_take(ms(t0, 1000)), Ok(()));
    }

    #[test]
    fn limiter_never_grants_more_than_max_in_any_window() {
        let mut w = window(5, 1000);
        let t0 = Instant::now();
        let mut grants = Vec::new();
        for ms in (0..5000).step_by(7) {
            let now = t0 + Duration::from_millis(ms);
            if w.try_take(now).is_ok() {
                grants.push(now);
            }
        }
        for (i, start) in grants.iter().enumerate() {
            let in_window = grants[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < w.per)
                .count();
            assert!(in_window <= 5, "{in_window} grants within one window");
        }
        assert!(grants.len() >= 25);
    }

    #[test]
    fn a_pause_holds_grants_and_is_never_shortened() {
        let mut w = window(100, 1000);
        let t0 = Instant::now();
        w.pause_until(ms(t0, 3000));
        w.pause_until(ms(t0, 1000));
        assert_eq!(w.try_take(ms(t0, 2999)), Err(ms(t0, 3000)));
        assert_eq!(w.try_take(ms(t0, 3000)), Ok(()));
    }

    #[test]
    fn low_remaining_quota_pauses_the_limiter() {
        let mut w = window(90, 10_000);
        let t0 = Instant::now();
        w.observe_remaining(50, t0);
        assert_eq!(w.try_take(t0), Ok(()));
        w.observe_remaining(0, t0);
        assert_eq!(
            w.try_take(t0 + Duration::from_secs(1)),
            Err(t0 + Duration::from_secs(10))
        );
        assert_eq!(w.try_take(t0 + Duration::from_secs(10)), Ok(()));
    }
}
