//! Shared sandbox machinery: injectable faults, enforced quotas and a call log for both emulators.
//!
//! Each emulator embeds a [`Gate`] and wraps its router with [`gate_middleware`], supplying how a
//! request maps to quota keys and how an error looks in its own wire format ([`GateHooks`]).
//! [`serve`] binds 127.0.0.1:0 with a listener whose connections can be reset mid-request, so a
//! "reset" fault reaches the client as a real TCP RST (a connection error), not as an HTTP answer.

mod net;

pub use net::{ConnReset, ResettableListener, ResettableStream, Served, serve};

/// The lowercase hex HMAC-SHA256 of `body` under `key`: what the emulators sign their webhook
/// deliveries with, each under its API's header and prefix. Written apart from the clients'
/// verifiers, so an emulator checks a client rather than agreeing with it by construction.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    (mac.finalize().into_bytes().iter())
        .map(|b| format!("{b:02x}"))
        .collect()
}

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

/// Faults injected into calls. Rates are probabilities in `0.0..=1.0`, drawn per call.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Fraction of calls answered with an injected error.
    pub error_rate: f64,
    /// Of injected errors, the share answered 429; the rest answer 500, 502 or 503.
    pub status_429_share: f64,
    /// Fraction of calls that hang for `hang_for` before answering (past client timeouts).
    pub hang_rate: f64,
    pub hang_for: Duration,
    /// Fraction of calls whose connection is reset without a response.
    pub reset_rate: f64,
    /// Deterministic: the next calls answer these statuses in order (e.g. `[429, 500]`);
    /// status 0 resets the connection instead of answering, 200 lets the call through (so a
    /// later call of a known sequence can be the one that fails).
    pub fail_next: Vec<u16>,
    /// Deterministic: the next this-many calls (after `fail_next`) hang for `hang_for`.
    pub hang_next: u32,
    /// `Retry-After` seconds sent with injected 429s; `None` sends no header.
    pub retry_after_secs: Option<u64>,
    /// When true, hangs and resets happen after the handler ran: the change is made but the
    /// answer is late or lost, which is what makes a client's outcome unknown.
    pub after_handler: bool,
}

/// A sliding-window quota: at most `max_requests` admitted per `per`, 429 past it.
#[derive(Clone, Debug)]
pub struct Quota {
    pub max_requests: u32,
    pub per: Duration,
}

/// One handled call. `status` 0 means the connection was reset without an answer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The quota keys of the call (token, user …), comma-separated.
    pub key: String,
}

/// Every call the gate saw, in arrival order of their answers.
#[derive(Clone, Default)]
pub struct CallLog {
    records: Arc<Mutex<Vec<CallRecord>>>,
}

impl CallLog {
    pub fn records(&self) -> Vec<CallRecord> {
        lock(&self.records).clone()
    }

    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        lock(&self.records)
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .count()
    }

    pub fn clear(&self) {
        lock(&self.records).clear();
    }

    pub fn count_status(&self, status: u16) -> usize {
        lock(&self.records)
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    fn push(&self, record: CallRecord) {
        lock(&self.records).push(record);
    }
}

// A poisoned lock only means a test panicked while holding it; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct QuotaState {
    default: Option<Quota>,
    by_prefix: BTreeMap<String, Option<Quota>>,
    windows: HashMap<String, VecDeque<Instant>>,
}

impl QuotaState {
    fn quota_for(&self, key: &str) -> Option<Quota> {
        self.by_prefix
            .iter()
            .filter(|(p, _)| key.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map_or_else(|| self.default.clone(), |(_, q)| q.clone())
    }

    /// Admits the call only if every key is under its quota, then counts it against each.
    fn admit(&mut self, keys: &[String], now: Instant) -> bool {
        let quotas: Vec<Option<Quota>> = keys.iter().map(|k| self.quota_for(k)).collect();
        for (key, quota) in keys.iter().zip(&quotas) {
            let Some(q) = quota else { continue };
            let window = self.windows.entry(key.clone()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= q.per)
            {
                window.pop_front();
            }
            if window.len() >= q.max_requests as usize {
                return false;
            }
        }
        for (key, quota) in keys.iter().zip(&quotas) {
            if quota.is_some() {
                self.windows.entry(key.clone()).or_default().push_back(now);
            }
        }
        true
    }
}

/// Shared state each emulator embeds; the middleware consults it before the handler.
#[derive(Clone)]
pub struct Gate {
    faults: Arc<Mutex<Faults>>,
    quotas: Arc<Mutex<QuotaState>>,
    log: CallLog,
}

impl Gate {
    pub fn new(quota: Option<Quota>) -> Self {
        let quotas = QuotaState {
            default: quota,
            ..QuotaState::default()
        };
        Self {
            faults: Arc::default(),
            quotas: Arc::new(Mutex::new(quotas)),
            log: CallLog::default(),
        }
    }

    pub fn set_faults(&self, f: Faults) {
        *lock(&self.faults) = f;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    /// Sets the quota applied to every key without a more specific one; resets the windows.
    pub fn set_quota(&self, q: Option<Quota>) {
        let mut state = lock(&self.quotas);
        state.default = q;
        state.windows.clear();
    }

    /// Sets the quota for keys starting with `prefix` (e.g. Trello's `key:` vs `token:`).
    pub fn set_quota_for_prefix(&self, prefix: &str, q: Option<Quota>) {
        let mut state = lock(&self.quotas);
        state.by_prefix.insert(prefix.to_owned(), q);
        state.windows.clear();
    }

    pub fn calls(&self) -> CallLog {
        self.log.clone()
    }

    fn decide(&self) -> Decision {
        let mut faults = lock(&self.faults);
        if !faults.fail_next.is_empty() {
            let status = faults.fail_next.remove(0);
            return if status == 0 {
                Decision::Reset
            } else if status == 200 {
                Decision::Pass
            } else {
                Decision::Fail(status, faults.retry_after_secs)
            };
        }
        if faults.hang_next > 0 {
            faults.hang_next -= 1;
            return Decision::Hang(faults.hang_for);
        }
        let mut rng = rand::rng();
        if rng.random::<f64>() < faults.reset_rate {
            return Decision::Reset;
        }
        if rng.random::<f64>() < faults.error_rate {
            let status = if rng.random::<f64>() < faults.status_429_share {
                429
            } else {
                [500, 502, 503][rng.random_range(0..3)]
            };
            return Decision::Fail(status, faults.retry_after_secs);
        }
        if rng.random::<f64>() < faults.hang_rate {
            return Decision::Hang(faults.hang_for);
        }
        Decision::Pass
    }
}

enum Decision {
    Pass,
    Fail(u16, Option<u64>),
    Hang(Duration),
    Reset,
}

/// Maps a request to its quota keys (a token, a user …); empty means "no quota applies".
pub type QuotaKeys = Arc<dyn Fn(&Request) -> Vec<String> + Send + Sync>;
/// Renders an error status in the emulator's own wire format.
pub type ErrorResponder = Arc<dyn Fn(StatusCode) -> Response + Send + Sync>;

/// What [`gate_middleware`] needs from an emulator.
#[derive(Clone)]
pub struct GateHooks {
    pub gate: Gate,
    pub quota_keys: QuotaKeys,
    pub error_response: ErrorResponder,
}

/// axum middleware (`axum::middleware::from_fn_with_state(hooks, gate_middleware)`): applies the
/// faults and the quota of the request's keys, then records the call.
pub async fn gate_middleware(State(hooks): State<GateHooks>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let keys = (hooks.quota_keys)(&req);
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnReset>>()
        .map(|c| c.0.clone());
    let response = gated(&hooks, keys.as_slice(), conn, req, next).await;
    let status = response.as_ref().map_or(0, |r| r.status().as_u16());
    hooks.gate.log.push(CallRecord {
        method,
        path,
        status,
        at: chrono::Utc::now(),
        key: keys.join(","),
    });
    response.unwrap_or_else(|| StatusCode::BAD_GATEWAY.into_response())
}

/// `None` means the connection was reset: whatever is answered is never written.
async fn gated(
    hooks: &GateHooks,
    keys: &[String],
    conn: Option<ConnReset>,
    req: Request,
    next: Next,
) -> Option<Response> {
    let decision = hooks.gate.decide();
    let after_handler = hooks.gate.faults().after_handler;
    match decision {
        Decision::Fail(status, retry_after) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = (hooks.error_response)(code);
            if let (429, Some(secs)) = (status, retry_after) {
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from(secs));
            }
            return Some(resp);
        }
        Decision::Reset if !after_handler => return reset(conn),
        Decision::Hang(d) if !after_handler => tokio::time::sleep(d).await,
        _ => {}
    }
    if !lock(&hooks.gate.quotas).admit(keys, Instant::now()) {
        return Some((hooks.error_response)(StatusCode::TOO_MANY_REQUESTS));
    }
    let response = next.run(req).await;
    match decision {
        Decision::Reset => reset(conn),
        Decision::Hang(d) => {
            tokio::time::sleep(d).await;
            Some(response)
        }
        _ => Some(response),
    }
}

fn reset(conn: Option<ConnReset>) -> Option<Response> {
    match conn {
        Some(c) => {
            c.trigger();
            None
        }
        // Served without `serve` (no resettable connection): the closest honest answer.
        None => Some(StatusCode::BAD_GATEWAY.into_response()),
    }
}

#[cfg(test)]
mod tests;
