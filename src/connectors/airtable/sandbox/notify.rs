//! Webhook notifications: one background queue POSTing `{"base","webhook","timestamp"}` pings in
//! order, each signed `X-Airtable-Content-MAC`, with hold / drop / redeliver controls for tests,
//! a record of every delivery, and each webhook's last result for the webhooks list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::sandbox::common::hmac_sha256_hex;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::airtable_time;

/// Airtable retries a notification that is not answered 2xx; these are the emulator's (short) pauses.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// `X-Airtable-Content-MAC`: `hmac-sha256=` and the lowercase hex HMAC-SHA256 of the raw body,
/// keyed with the base64-decoded `macSecretBase64`.
pub fn sign(mac_secret: &[u8], body: &[u8]) -> String {
    format!("hmac-sha256={}", hmac_sha256_hex(mac_secret, body))
}

/// What happened to one notification.
#[derive(Clone, Debug)]
pub struct NotificationRecord {
    pub url: String,
    pub webhook_id: String,
    pub body: Vec<u8>,
    /// Status of the last attempt; `None` when dropped or when no answer came.
    pub status: Option<u16>,
    pub attempts: u32,
    pub dropped: bool,
}

/// A notification as queued: what a held one is, so a test can send it late, twice or never.
#[derive(Clone, Debug)]
pub struct Job {
    pub url: String,
    pub body: Vec<u8>,
    pub webhook_id: String,
    pub mac_secret: Vec<u8>,
}

/// The webhooks list's `lastNotificationResult` and `lastSuccessfulNotificationTime`.
#[derive(Clone, Debug, Default)]
pub struct LastResult {
    pub result: Option<Value>,
    pub last_success: Option<String>,
}

/// The queue's state, shared by the handle and the worker (which holds no sender, so the queue
/// ends with the last handle).
#[derive(Default)]
struct State {
    pending: AtomicUsize,
    dropping: AtomicBool,
    holding: AtomicBool,
    held: Mutex<Vec<Job>>,
    log: Mutex<Vec<NotificationRecord>>,
    results: Mutex<HashMap<String, LastResult>>,
}

#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Job>,
    state: Arc<State>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Notifier {
    /// Starts the queue's worker on the current tokio runtime; it ends with the last clone.
    pub fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State::default());
        tokio::spawn(worker(rx, state.clone()));
        Self { tx, state }
    }

    pub fn enqueue(&self, url: &str, body: Vec<u8>, webhook_id: &str, mac_secret: Vec<u8>) {
        self.send(Job {
            url: url.to_owned(),
            body,
            webhook_id: webhook_id.to_owned(),
            mac_secret,
        });
    }

    /// Queues a notification (again): a held one released, or one sent twice.
    pub fn send(&self, job: Job) {
        self.state.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.state.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub fn set_dropping(&self, drop: bool) {
        self.state.dropping.store(drop, Ordering::SeqCst);
    }

    pub fn set_holding(&self, hold: bool) {
        self.state.holding.store(hold, Ordering::SeqCst);
    }

    /// The notifications held so far, oldest first; they are no longer held.
    pub fn take_held(&self) -> Vec<Job> {
        std::mem::take(&mut *lock(&self.state.held))
    }

    /// Waits (bounded) until every queued notification was sent, held or dropped.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.state.pending.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    pub fn records(&self) -> Vec<NotificationRecord> {
        lock(&self.state.log).clone()
    }

    pub fn last_result(&self, webhook_id: &str) -> LastResult {
        lock(&self.state.results)
            .get(webhook_id)
            .cloned()
            .unwrap_or_default()
    }
}

async fn worker(mut rx: mpsc::UnboundedReceiver<Job>, state: Arc<State>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok();
    while let Some(job) = rx.recv().await {
        if state.holding.load(Ordering::SeqCst) {
            lock(&state.held).push(job);
            state.pending.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let dropped = state.dropping.load(Ordering::SeqCst) || client.is_none();
        let (status, attempts) = match (&client, dropped) {
            (Some(client), false) => post_with_retries(client, &job, &state).await,
            _ => (None, 0),
        };
        lock(&state.log).push(NotificationRecord {
            url: job.url,
            webhook_id: job.webhook_id,
            body: job.body,
            status,
            attempts,
            dropped,
        });
        state.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn post_with_retries(
    client: &reqwest::Client,
    job: &Job,
    state: &State,
) -> (Option<u16>, u32) {
    let mac = sign(&job.mac_secret, &job.body);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let started = Instant::now();
        let sent = client
            .post(&job.url)
            .header("content-type", "application/json; charset=utf-8")
            .header("x-airtable-content-mac", &mac)
            .body(job.body.clone())
            .send()
            .await;
        let status = sent.ok().map(|r| r.status().as_u16());
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let now = airtable_time(chrono::Utc::now());
        let mut result = json!({"success": ok, "completionTimestamp": now,
            "durationMs": started.elapsed().as_secs_f64() * 1000.0, "retryNumber": attempts - 1});
        if !ok {
            let message = status.map_or("no answer".to_owned(), |s| format!("HTTP {s}"));
            result["error"] = json!({ "message": message });
        }
        {
            let mut results = lock(&state.results);
            let last = results.entry(job.webhook_id.clone()).or_default();
            last.result = Some(result);
            if ok {
                last.last_success = Some(now);
            }
        }
        match RETRY_DELAYS.get(attempts as usize - 1) {
            Some(delay) if !ok => tokio::time::sleep(*delay).await,
            _ => return (status, attempts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_matches_an_independent_hmac_sha256_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac,
            "hmac-sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
