//! Webhook deliveries: one background queue POSTing signed actions in order, with a drain wait,
//! a drop switch (to simulate missed webhooks), a route (a load balancer in front of the
//! callback URL) and a record of every delivery.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use tokio::sync::mpsc;

/// Trello retries a delivery that is not answered 2xx; these are the emulator's (shortened) pauses.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// `X-Trello-Webhook`: base64(HMAC-SHA1(app secret, body bytes followed by the callback URL)).
pub fn sign(secret: &str, body: &[u8], callback_url: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac.update(callback_url.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// What happened to one delivery.
#[derive(Clone, Debug)]
pub struct DeliveryRecord {
    pub callback_url: String,
    pub action_id: String,
    pub action_type: String,
    /// Status of the last attempt; `None` when dropped or when no answer came.
    pub status: Option<u16>,
    pub attempts: u32,
    pub dropped: bool,
}

/// Picks, per attempt, the address a delivery is POSTed to (signed for its callback URL all
/// the same): what a load balancer in front of several replicas does.
pub type Route = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A delivery as queued: what a held one is, so a test can send it late, twice or never.
#[derive(Clone, Debug)]
pub struct Job {
    pub url: String,
    pub body: Vec<u8>,
    pub action_id: String,
    pub action_type: String,
}

#[derive(Clone)]
pub struct Deliveries {
    tx: mpsc::UnboundedSender<Job>,
    pending: Arc<AtomicUsize>,
    dropping: Arc<AtomicBool>,
    holding: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<Job>>>,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
    route: Arc<Mutex<Option<Route>>>,
}

impl Deliveries {
    /// Starts the queue's worker on the current tokio runtime; it ends with the last clone.
    pub fn start(secret: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let this = Self {
            tx,
            pending: Arc::default(),
            dropping: Arc::default(),
            holding: Arc::default(),
            held: Arc::default(),
            log: Arc::default(),
            route: Arc::default(),
        };
        tokio::spawn(worker(rx, secret, this.clone()));
        this
    }

    pub fn enqueue(&self, url: &str, body: Vec<u8>, action_id: &str, action_type: &str) {
        self.send(Job {
            url: url.to_owned(),
            body,
            action_id: action_id.to_owned(),
            action_type: action_type.to_owned(),
        });
    }

    /// Queues a delivery (again): a held one released, or one sent twice.
    pub fn send(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub fn set_dropping(&self, drop: bool) {
        self.dropping.store(drop, Ordering::SeqCst);
    }

    /// While true, deliveries are kept aside instead of sent ([`Deliveries::take_held`]).
    pub fn set_holding(&self, hold: bool) {
        self.holding.store(hold, Ordering::SeqCst);
    }

    /// The deliveries held so far, oldest first; they are no longer held.
    pub fn take_held(&self) -> Vec<Job> {
        std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Routes every attempt from now on through `route` (`None`: to the callback URL itself).
    pub fn set_route(&self, route: Option<Route>) {
        *self.route.lock().unwrap_or_else(|p| p.into_inner()) = route;
    }

    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until every queued delivery was sent or dropped; false on timeout.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.pending() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    pub fn records(&self) -> Vec<DeliveryRecord> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn worker(mut rx: mpsc::UnboundedReceiver<Job>, secret: String, this: Deliveries) {
    let Deliveries {
        tx,
        pending,
        dropping,
        holding,
        held,
        log,
        route,
    } = this;
    // The queue ends with the last sender outside this task.
    drop(tx);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok();
    while let Some(job) = rx.recv().await {
        if holding.load(Ordering::SeqCst) {
            held.lock().unwrap_or_else(|p| p.into_inner()).push(job);
            pending.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let dropped = dropping.load(Ordering::SeqCst) || client.is_none();
        let (status, attempts) = match (&client, dropped) {
            (Some(client), false) => post_with_retries(client, &secret, &job, &route).await,
            _ => (None, 0),
        };
        let record = DeliveryRecord {
            callback_url: job.url,
            action_id: job.action_id,
            action_type: job.action_type,
            status,
            attempts,
            dropped,
        };
        log.lock().unwrap_or_else(|p| p.into_inner()).push(record);
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn post_with_retries(
    client: &reqwest::Client,
    secret: &str,
    job: &Job,
    route: &Mutex<Option<Route>>,
) -> (Option<u16>, u32) {
    let signature = sign(secret, &job.body, &job.url);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let routed =
            (route.lock().unwrap_or_else(|p| p.into_inner()).as_ref()).map(|route| route(&job.url));
        let sent = client
            .post(routed.as_deref().unwrap_or(&job.url))
            .header("content-type", "application/json")
            .header("user-agent", "Trello")
            .header("x-trello-webhook", &signature)
            .body(job.body.clone())
            .send()
            .await;
        let status = sent.ok().map(|r| r.status().as_u16());
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        match RETRY_DELAYS.get(attempts as usize - 1) {
            Some(delay) if !ok => tokio::time::sleep(*delay).await,
            _ => return (status, attempts),
        }
    }
}

impl super::TrelloSandbox {
    /// Sends every delivery attempt (a retry too) where `route` says, as a load balancer in
    /// front of the callback URL does; `None`: to the callback URL itself.
    pub fn route_deliveries(&self, route: Option<Route>) {
        self.core.deliveries.set_route(route);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_hmac_sha1_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?", split across body and URL.
        let sig = sign("Jefe", b"what do ya want ", "for nothing?");
        let hex = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
        let bytes: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(sig, base64::engine::general_purpose::STANDARD.encode(bytes));
    }
}
