//! The Trello client's request budgets: Trello's published limits, or the configured ones.

use std::time::Duration;

/// Trello's published budgets per 10 s: 100 calls per token, 300 per API key.
pub const TOKEN_REQUESTS_PER_10S: u32 = 100;
pub const KEY_REQUESTS_PER_10S: u32 = 300;

/// Share of a configured budget the client uses. Trello counts calls in a 10 s window by their
/// arrival; at 0.95 the client spends the budget over 10.53 s, so arrivals may bunch up by
/// 0.53 s (far more than loopback or internet jitter) before a window sees one call too many.
pub const BUDGET_FRACTION: f64 = 0.95;

/// Client-side request budgets: at most `.0` calls per `.1`, per token and per key.
#[derive(Clone, Debug)]
pub struct TrelloLimits {
    pub per_token: (u32, Duration),
    pub per_key: (u32, Duration),
}

impl TrelloLimits {
    /// The client's limits for server budgets of `per_token` and `per_key` calls per 10 s
    /// (`trello.token_requests_per_10s`, `trello.key_requests_per_10s`), at [`BUDGET_FRACTION`].
    pub fn from_budgets(per_token: u32, per_key: u32) -> Self {
        let window = Duration::from_secs(10).div_f64(BUDGET_FRACTION);
        Self {
            per_token: (per_token, window),
            per_key: (per_key, window),
        }
    }
}

impl Default for TrelloLimits {
    fn default() -> Self {
        Self::from_budgets(TOKEN_REQUESTS_PER_10S, KEY_REQUESTS_PER_10S)
    }
}
