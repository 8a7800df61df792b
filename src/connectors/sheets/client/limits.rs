//! The Sheets client's per-user request budget (Google's published limit, or the configured
//! one) and its retry pacing.

use std::time::Duration;

use super::SheetsClient;
use crate::clients::http::{LimiterStats, RateLimiter, RetryPolicy};

/// Google's published Sheets budget: 60 requests per minute per user (reads and writes apart).
pub const REQUESTS_PER_MINUTE: u32 = 60;

/// Share of the configured budget the client uses. Google counts a minute's calls by arrival; at
/// 0.95 the budget is spent over 63.2 s, so arrivals may bunch up by 3.2 s before a minute sees
/// one call too many.
pub const BUDGET_FRACTION: f64 = 0.95;

impl SheetsClient {
    /// The limiter of a per-user budget of `requests_per_minute` (`google.requests_per_minute`),
    /// used at [`BUDGET_FRACTION`]. Google counts reads and writes apart; one limiter for both
    /// keeps either under its quota whatever the mix.
    pub fn user_limiter(requests_per_minute: u32) -> RateLimiter {
        RateLimiter::for_budget(
            requests_per_minute,
            Duration::from_secs(60),
            BUDGET_FRACTION,
        )
    }

    /// Google's published 60 requests per minute per user.
    pub fn default_user_limiter() -> RateLimiter {
        Self::user_limiter(REQUESTS_PER_MINUTE)
    }

    /// The per-user limiter's budget and counters.
    pub fn limiter_stats(&self) -> Vec<LimiterStats> {
        self.api.limiter_stats()
    }

    /// How each call is attempted and retried: a caller that must try a read again past the
    /// client's own retries paces itself by it.
    pub fn policy(&self) -> &RetryPolicy {
        self.api.policy()
    }
}
