//! Client-side rate limiting for outbound calls, below the servers' published quotas.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
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
    counters: Arc<Counters>,
    pub(super) remaining_header: Option<&'static str>,
    /// The server locks this scope out for this long after a 429 (see `with_lockout_on_429`).
    pub(super) lockout: Option<Duration>,
}

/// What a limiter has done so far, for tests and the quota benchmark.
#[derive(Debug, Default)]
struct Counters {
    granted: AtomicU64,
    /// Grants that were not immediate: the caller slept for a slot first.
    delayed: AtomicU64,
}

/// A snapshot of a [`RateLimiter`]'s configuration and counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterStats {
    /// At most this many grants within any `per`.
    pub max: u32,
    pub per: Duration,
    pub granted: u64,
    /// Grants within the last `per`: the budget in use now (of `max`).
    pub in_window: u32,
    /// Grants the caller had to wait for (paced, window full or paused).
    pub delayed: u64,
    /// Whether a server's `Retry-After`/remaining-quota signal is holding grants right now.
    pub paused: bool,
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

    /// Grants within the `per` before `now`: the budget in use.
    fn in_window(&self, now: Instant) -> usize {
        let recent = self
            .granted
            .iter()
            .filter(|t| now.duration_since(**t) < self.per);
        recent.count()
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
            counters: Arc::default(),
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

    /// A limiter for a server budget of `budget` calls per `window`, used at `fraction` of it
    /// (`0 < fraction ≤ 1`): at most `budget` grants within any `window / fraction`. The slack,
    /// `window / fraction - window`, is how much arrival jitter the server's sliding window
    /// absorbs: the `budget + 1`-th call is granted that long after the window of the first.
    pub fn for_budget(budget: u32, window: Duration, fraction: f64) -> Self {
        let fraction = fraction.clamp(0.01, 1.0);
        Self::new(budget, window.div_f64(fraction))
    }

    pub async fn acquire(&self) {
        let mut waited = false;
        loop {
            let verdict = self.lock().try_take(Instant::now());
            match verdict {
                Ok(()) => break,
                Err(at) => {
                    waited = true;
                    tokio::time::sleep_until(at).await;
                }
            }
        }
        self.counters.granted.fetch_add(1, Ordering::Relaxed);
        if waited {
            self.counters.delayed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> LimiterStats {
        let (max, per, paused, in_window) = {
            let w = self.lock();
            let now = Instant::now();
            let paused = w.paused_until.is_some_and(|p| p > now);
            (w.max, w.per, paused, w.in_window(now))
        };
        LimiterStats {
            max,
            per,
            granted: self.counters.granted.load(Ordering::Relaxed),
            in_window: u32::try_from(in_window).unwrap_or(u32::MAX),
            delayed: self.counters.delayed.load(Ordering::Relaxed),
            paused,
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

    #[test]
    fn a_budget_at_a_fraction_is_spent_over_a_longer_window() {
        let l = RateLimiter::for_budget(100, Duration::from_secs(10), 0.95);
        let stats = l.stats();
        assert_eq!(stats.max, 100);
        assert_eq!(stats.per, Duration::from_secs(10).div_f64(0.95));
        // 100 grants spread over 10.53 s: 9.5 per second in the long run (plus the first burst
        // of max / 20), and never more than 100 in any 10 s window of the server's.
        let mut w = Window::new(stats.max, stats.per);
        let t0 = Instant::now();
        let grants: Vec<u64> = (0..100_000)
            .filter(|m| w.try_take(ms(t0, *m)).is_ok())
            .collect();
        assert!((950..=955).contains(&grants.len()), "{}", grants.len());
        let most_in_10s = (0..grants.len())
            .map(|i| {
                grants[i..]
                    .iter()
                    .take_while(|g| **g < grants[i] + 10_000)
                    .count()
            })
            .max();
        assert!(most_in_10s <= Some(100), "{most_in_10s:?}");
    }

    // Paused time: the 20 ms waits are tokio's clock advancing, not the machine's, so a busy
    // machine cannot let a slot's time pass between two calls.
    #[tokio::test(start_paused = true)]
    async fn acquire_counts_grants_and_the_ones_that_waited() {
        let l = RateLimiter::for_budget(50, Duration::from_secs(1), 1.0);
        for _ in 0..4 {
            l.acquire().await;
        }
        let stats = l.stats();
        // A burst of max / 20 = 2 goes at once; the next two wait 20 ms each for their slot.
        assert_eq!((stats.granted, stats.delayed), (4, 2));
        assert!(!stats.paused);
        l.pause_for(Duration::from_secs(5));
        assert!(l.stats().paused);
    }

    #[test]
    fn the_budget_in_use_counts_only_the_current_window() {
        let mut w = Window::new(50, Duration::from_secs(1));
        let t0 = Instant::now();
        for m in [0, 100, 200] {
            w.try_take(ms(t0, m)).expect("a slot");
        }
        assert_eq!(w.in_window(ms(t0, 300)), 3);
        assert_eq!(w.in_window(ms(t0, 1050)), 2, "the first left the window");
        assert_eq!(w.in_window(ms(t0, 1300)), 0);
    }
}
