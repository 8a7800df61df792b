//! Webhook deliveries: the unsigned verification request sent when a subscription is made, then
//! one signed event per change (`page.created`, `page.properties_updated`, `page.deleted`,
//! `page.undeleted`) naming the page only, POSTed in order by a background worker; property
//! updates of one page may be aggregated over a window, as Notion does. Tests may
//! hold deliveries (to send them late, twice or never) or drop them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::{Author, new_id, stamp};
use crate::sandbox::common::hmac_sha256_hex;

/// One POST to the subscription's URL: the verification request has no signature.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub url: String,
    pub body: Vec<u8>,
    /// `X-Notion-Signature`, `None` for the verification request.
    pub signature: Option<String>,
}

/// What happened to one delivery.
#[derive(Clone, Debug)]
pub struct DeliveryRecord {
    pub delivery: Delivery,
    /// Status of the last attempt; `None` when dropped or when no answer came.
    pub status: Option<u16>,
    pub attempts: u32,
    pub dropped: bool,
}

/// The subscription: where events go and the token that signs them.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    pub verification_token: String,
}

#[derive(Default)]
struct State {
    pending: AtomicUsize,
    dropping: AtomicBool,
    holding: AtomicBool,
    held: Mutex<Vec<Delivery>>,
    log: Mutex<Vec<DeliveryRecord>>,
    subscription: Mutex<Option<Subscription>>,
    /// When set, `page.properties_updated` events of one page within this window are sent as
    /// one, at its end (as Notion aggregates them).
    aggregate: Mutex<Option<Duration>>,
    /// The aggregated event of each page whose window is open.
    open: Mutex<HashMap<String, Value>>,
}

#[derive(Clone)]
pub struct Deliveries {
    tx: mpsc::UnboundedSender<Delivery>,
    state: Arc<State>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Attempts per delivery (Notion retries failed deliveries a few times).
const ATTEMPTS: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_millis(100);

impl Deliveries {
    /// Starts the worker on the current tokio runtime; it ends with the last clone.
    pub fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State::default());
        tokio::spawn(worker(rx, state.clone()));
        Self { tx, state }
    }

    /// Makes the subscription and sends its unsigned verification request; answers the token.
    pub fn subscribe(&self, url: &str) -> Subscription {
        let sub = Subscription {
            id: new_id(),
            url: url.to_owned(),
            verification_token: format!("secret_{}", new_id().replace('-', "")),
        };
        let body = json!({ "verification_token": sub.verification_token });
        *lock(&self.state.subscription) = Some(sub.clone());
        self.send(Delivery {
            url: sub.url.clone(),
            body: body.to_string().into_bytes(),
            signature: None,
        });
        sub
    }

    pub fn subscription(&self) -> Option<Subscription> {
        lock(&self.state.subscription).clone()
    }

    /// Queues a signed event about a page, if there is a subscription; `updated` holds the
    /// ids of the properties a `page.properties_updated` changed (`data.updated_properties`).
    pub fn announce(
        &self,
        event: (&str, &str, &str),
        by: &Author,
        at: DateTime<Utc>,
        updated: &[String],
    ) {
        let (kind, page_id, data_source_id) = event;
        let Some(sub) = self.subscription() else {
            return;
        };
        let mut body = json!({"id": new_id(), "timestamp": stamp(at), "workspace_id": sub.id,
            "subscription_id": sub.id, "integration_id": sub.id, "type": kind,
            "authors": [{"id": by.id, "type": by.kind}], "attempt_number": 1,
            "entity": {"id": page_id, "type": "page"},
            "data": {"parent": {"id": data_source_id, "type": "data_source"}}});
        if !updated.is_empty() {
            body["data"]["updated_properties"] = json!(updated);
        }
        let window = *lock(&self.state.aggregate);
        match window {
            Some(window) if kind == "page.properties_updated" => {
                self.aggregate(page_id, body, window)
            }
            _ => self.sign_and_send(&body),
        }
    }

    /// Aggregates `page.properties_updated` events per page over `window` (`None`: each change
    /// is sent at once).
    pub fn set_aggregation(&self, window: Option<Duration>) {
        *lock(&self.state.aggregate) = window;
    }

    /// Opens the page's window with this event, or folds the event into the open one (its
    /// authors and updated properties joined); the window's end sends it.
    fn aggregate(&self, page_id: &str, body: Value, window: Duration) {
        let mut open = lock(&self.state.open);
        if let Some(first) = open.get_mut(page_id) {
            for key in ["authors", "updated_properties"] {
                let target = if key == "authors" {
                    &mut first[key]
                } else {
                    &mut first["data"][key]
                };
                let source = if key == "authors" {
                    &body[key]
                } else {
                    &body["data"][key]
                };
                let (Some(into), Some(from)) = (target.as_array_mut(), source.as_array()) else {
                    continue;
                };
                for item in from {
                    if !into.contains(item) {
                        into.push(item.clone());
                    }
                }
            }
            first["timestamp"] = body["timestamp"].clone();
            return;
        }
        open.insert(page_id.to_owned(), body);
        // Counted as pending until sent, so `drained` waits for the window to close.
        self.state.pending.fetch_add(1, Ordering::SeqCst);
        let this = self.clone();
        let page_id = page_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(window).await;
            let body = lock(&this.state.open).remove(&page_id);
            if let Some(body) = body {
                this.sign_and_send(&body);
            }
            this.state.pending.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Signs an event with the subscription's token and queues it.
    fn sign_and_send(&self, body: &Value) {
        let Some(sub) = self.subscription() else {
            return;
        };
        let body = body.to_string().into_bytes();
        let signature = Some(sign(&sub.verification_token, &body));
        self.send(Delivery {
            url: sub.url,
            body,
            signature,
        });
    }

    /// Queues a delivery (again): a held one released, or one sent twice.
    pub fn send(&self, delivery: Delivery) {
        self.state.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(delivery).is_err() {
            self.state.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub fn set_dropping(&self, drop: bool) {
        self.state.dropping.store(drop, Ordering::SeqCst);
    }

    pub fn set_holding(&self, hold: bool) {
        self.state.holding.store(hold, Ordering::SeqCst);
    }

    /// The deliveries held so far, oldest first; they are no longer held.
    pub fn take_held(&self) -> Vec<Delivery> {
        std::mem::take(&mut *lock(&self.state.held))
    }

    /// Waits (bounded) until every queued delivery was sent, held or dropped.
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

    pub fn records(&self) -> Vec<DeliveryRecord> {
        lock(&self.state.log).clone()
    }
}

/// `sha256=<hex HMAC-SHA256(token, body)>`, computed here rather than with the client's code so
/// the emulator checks the client instead of agreeing with it by construction.
pub fn sign(token: &str, body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256_hex(token.as_bytes(), body))
}

async fn worker(mut rx: mpsc::UnboundedReceiver<Delivery>, state: Arc<State>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok();
    while let Some(delivery) = rx.recv().await {
        if state.holding.load(Ordering::SeqCst) {
            lock(&state.held).push(delivery);
            state.pending.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let dropped = state.dropping.load(Ordering::SeqCst) || client.is_none();
        let (status, attempts) = match (&client, dropped) {
            (Some(client), false) => post(client, &delivery).await,
            _ => (None, 0),
        };
        lock(&state.log).push(DeliveryRecord {
            delivery,
            status,
            attempts,
            dropped,
        });
        state.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// POSTs until a 2xx or [`ATTEMPTS`] tries.
async fn post(client: &reqwest::Client, d: &Delivery) -> (Option<u16>, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut req = client
            .post(&d.url)
            .header("content-type", "application/json")
            .body(d.body.clone());
        if let Some(sig) = &d.signature {
            req = req.header("x-notion-signature", sig);
        }
        let status = req.send().await.ok().map(|r| r.status().as_u16());
        if status.is_some_and(|s| (200..300).contains(&s)) || attempts >= ATTEMPTS {
            return (status, attempts);
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}
