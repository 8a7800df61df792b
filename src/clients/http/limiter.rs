//! Client-side rate limiting for outbound calls, below the servers' published quotas.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Client-side limit: at most `max_requests` per `per` window; `acquire()` waits for a slot.
///
/// Called a token bucket for short, but kept as a sliding log of grant times: a classic bucket
/// lets 2×max through across a refill boundary, which would break the servers' sliding windows.
#[derive(Clone)]
pub struct RateLimiter {
    window: Arc<Mutex<Window>>,
    pub(super) remaining_header: Option<&'static str>,
}

/// The pure decision state of a [`RateLimiter`], testable with synthetic instants.
#[derive(Debug)]
struct Window {
    max: u32,
    per: Duration,
    granted: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl Window {
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
        if self.granted.len() < self.max.max(1) as usize {
            self.granted.push_back(now);
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
        let until = now + pause;
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }
}

impl RateLimiter {
    pub fn new(max_requests: u32, per: Duration) -> Self {
        let window = Window {
            max: max_requests,
            per,
            granted: VecDeque::new(),
            paused_until: None,
        };
        Self {
            window: Arc::new(Mutex::new(window)),
            remaining_header: None,
        }
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
        Window {
            max,
            per: Duration::from_millis(per_ms),
            granted: VecDeque::new(),
            paused_until: None,
        }
    }

    #[test]
    fn limiter_grants_max_per_window_then_waits_for_the_oldest_to_age_out() {
        let mut w = window(3, 1000);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(w.try_take(t0 + Duration::from_millis(i * 100)), Ok(()));
        }
        assert_eq!(
            w.try_take(t0 + Duration::from_millis(500)),
            Err(t0 + Duration::from_secs(1))
        );
        assert_eq!(w.try_take(t0 + Duration::from_secs(1)), Ok(()));
        let next = t0 + Duration::from_millis(1050);
        assert_eq!(w.try_take(next), Err(t0 + Duration::from_millis(1100)));
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
