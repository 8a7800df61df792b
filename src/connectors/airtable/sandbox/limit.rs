//! Airtable's per-base rate limit: at most `max_requests` per `per` (5 per second), and once a
//! base goes over it, every call on that base is answered 429 for `penalty` (30 seconds), so a
//! client that ignores a 429 keeps getting them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The limit's three numbers; tests shrink the penalty.
#[derive(Clone, Debug)]
pub struct RateLimit {
    pub max_requests: u32,
    pub per: Duration,
    pub penalty: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            max_requests: 5,
            per: Duration::from_secs(1),
            penalty: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Window {
    admitted: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

#[derive(Default)]
pub struct Limiter {
    limit: Mutex<Option<RateLimit>>,
    windows: Mutex<HashMap<String, Window>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit: Mutex::new(limit),
            windows: Mutex::default(),
        }
    }

    /// Replaces the limit and forgets every window and penalty.
    pub fn set(&self, limit: Option<RateLimit>) {
        *lock(&self.limit) = limit;
        lock(&self.windows).clear();
    }

    /// Whether a call on `base` at `now` is admitted; a call over the limit starts the penalty.
    /// Calls refused during the penalty do not extend it.
    pub fn admit(&self, base: &str, now: Instant) -> bool {
        let Some(limit) = lock(&self.limit).clone() else {
            return true;
        };
        let mut windows = lock(&self.windows);
        let w = windows.entry(base.to_owned()).or_default();
        if w.blocked_until.is_some_and(|until| now < until) {
            return false;
        }
        w.blocked_until = None;
        while w
            .admitted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.per)
        {
            w.admitted.pop_front();
        }
        if w.admitted.len() >= limit.max_requests as usize {
            w.blocked_until = Some(now + limit.penalty);
            return false;
        }
        w.admitted.push_back(now);
        true
    }

    /// When the base's penalty ends, if it is serving one.
    pub fn blocked_until(&self, base: &str) -> Option<Instant> {
        let windows = lock(&self.windows);
        let until = windows.get(base)?.blocked_until?;
        (Instant::now() < until).then_some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_over_the_limit_blocks_the_base_for_the_whole_penalty() {
        let limiter = Limiter::new(Some(RateLimit::default()));
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.admit("appA", t0 + Duration::from_millis(i * 10)));
        }
        assert!(!limiter.admit("appA", t0 + Duration::from_millis(100)));
        // Another base has its own window.
        assert!(limiter.admit("appB", t0 + Duration::from_millis(100)));
        // The window alone would admit again after a second; the penalty holds for 30.
        assert!(!limiter.admit("appA", t0 + Duration::from_secs(2)));
        assert!(!limiter.admit("appA", t0 + Duration::from_millis(30_099)));
        assert!(limiter.admit("appA", t0 + Duration::from_millis(30_100)));
    }

    #[test]
    fn no_limit_admits_everything() {
        let limiter = Limiter::new(None);
        let t0 = Instant::now();
        assert!((0..100).all(|_| limiter.admit("appA", t0)));
        limiter.set(Some(RateLimit {
            max_requests: 1,
            ..RateLimit::default()
        }));
        assert!(limiter.admit("appA", t0));
        assert!(!limiter.admit("appA", t0));
    }
}
