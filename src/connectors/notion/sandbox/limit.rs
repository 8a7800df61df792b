//! Notion's rate limit: an average of 3 requests per second per integration. A call over it is
//! answered 429 `rate_limited` with `Retry-After` (whole seconds until the window has room).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// At most `max_requests` per `per`; tests may widen the window to allow bursts.
#[derive(Clone, Debug)]
pub struct RateLimit {
    pub max_requests: u32,
    pub per: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            max_requests: 3,
            per: Duration::from_secs(1),
        }
    }
}

#[derive(Default)]
pub struct Limiter {
    limit: Mutex<Option<RateLimit>>,
    admitted: Mutex<VecDeque<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit: Mutex::new(limit),
            admitted: Mutex::default(),
        }
    }

    /// Replaces the limit and forgets the window.
    pub fn set(&self, limit: Option<RateLimit>) {
        *lock(&self.limit) = limit;
        lock(&self.admitted).clear();
    }

    /// `Ok` when the call at `now` is admitted, else the `Retry-After` seconds to answer.
    pub fn admit(&self, now: Instant) -> Result<(), u64> {
        let Some(limit) = lock(&self.limit).clone() else {
            return Ok(());
        };
        let mut window = lock(&self.admitted);
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.per)
        {
            window.pop_front();
        }
        if let Some(oldest) = window
            .front()
            .filter(|_| window.len() >= limit.max_requests as usize)
        {
            let wait = limit.per.saturating_sub(now.duration_since(*oldest));
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fourth_call_in_a_second_is_refused_with_a_retry_after() {
        let limiter = Limiter::new(Some(RateLimit::default()));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.admit(t0 + Duration::from_millis(i * 100)), Ok(()));
        }
        assert_eq!(limiter.admit(t0 + Duration::from_millis(300)), Err(1));
        assert_eq!(limiter.admit(t0 + Duration::from_millis(1000)), Ok(()));
        limiter.set(None);
        assert!((0..100).all(|_| limiter.admit(t0).is_ok()));
    }
}
