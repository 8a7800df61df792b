//! The dispatcher's heartbeat: while a round sends its commands, their claims' leases are
//! renewed, so a send that outlasts one lease (retries, `Retry-After` waits, a rate limiter's
//! queue) is never taken over and sent a second time by another dispatcher (CONTRACT §9: a
//! lease is at most 60 s, a send may take minutes).

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::{Db, dispatch_support};

/// Renews the round's claims every quarter of a lease until dropped (the round ended, or was
/// dropped at a stop: its claims then run out within one lease) or none is in flight any more.
pub(super) struct Heartbeat(JoinHandle<()>);

impl Heartbeat {
    /// `None` for a round that claimed nothing.
    pub(super) fn start(db: Db, ids: Vec<i64>, lease: Duration) -> Option<Self> {
        if ids.is_empty() {
            return None;
        }
        // Four beats per lease: two late or failed beats still leave the claim held.
        let every = (lease / 4).max(Duration::from_millis(10));
        Some(Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate; the claim was just made.
            tick.tick().await;
            loop {
                tick.tick().await;
                match dispatch_support::renew_claims(&db.pool, &ids, lease).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    // An unreachable database: the next beat tries again (no one else can
                    // claim meanwhile through that same database).
                    Err(e) => tracing::warn!(error = %e, "could not renew outbox claims"),
                }
            }
        })))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
