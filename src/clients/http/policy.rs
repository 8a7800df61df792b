//! How one logical call is attempted (timeouts, retries with full-jitter backoff) and how a
//! `Retry-After` answer is read.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How one logical call is attempted: timeouts per attempt and bounds on retrying.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub connect_timeout: Duration,
    /// Per attempt (reqwest `.timeout()`): connect, send and read the whole body.
    pub total_timeout: Duration,
    /// First try included.
    pub max_attempts: u32,
    /// Full jitter: sleep = rand(0 ..= min(max_delay, base * 2^n)).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first one.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Upper bound of the jittered sleep before retry number `retry` (0 = the first retry).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Full jitter: a uniformly random sleep in `0..=backoff_cap(retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = self.backoff_cap(retry).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=cap))
    }
}

/// `Retry-After` as seconds or an HTTP date (a date in the past means "now").
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
