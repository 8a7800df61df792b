//! One pass at a time per link (or per card without one) in this process: the worker, the
//! daemon's reconciliation and a one-off reconciliation beside them (`reconcile --pair` through
//! the admin API, a test's own engine) each run a link's pass whole, so none of them reads a card
//! halfway through another's writes, saves a base over another's, or creates a second twin
//! while another's create is on its way.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::OwnedMutexGuard;

type Locks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Process-wide: two engines on one database (the daemon's and a one-off reconciliation's)
/// share it. Keys carry the mirror's name; link ids are random, so two databases in one process
/// (tests) seldom share a key, and then only wait for each other.
static LOCKS: LazyLock<Locks> = LazyLock::new(Locks::default);

/// Held for a pass; released when dropped (also when the pass's task is cancelled).
pub struct Held {
    _guard: OwnedMutexGuard<()>,
    key: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut locks = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        // Forgotten once no one else holds or waits for it: the map stays as small as the work.
        if locks
            .get(&self.key)
            .is_some_and(|m| Arc::strong_count(m) <= 2)
        {
            locks.remove(&self.key);
        }
    }
}

/// Waits for the pass of `mirror`'s `key` (a link id, or `a:<card id>` for a card without a
/// link) that holds it, then holds it.
pub async fn hold(mirror: &str, key: &str) -> Held {
    let key = format!("{mirror}/{key}");
    let lock = {
        let mut locks = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(key.clone()).or_default())
    };
    Held {
        _guard: lock.lock_owned().await,
        key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_pass_waits_for_the_first_and_the_key_is_forgotten_after() {
        let first = hold("lock-test", "L1").await;
        let other = tokio::time::timeout(std::time::Duration::ZERO, hold("lock-test", "L2")).await;
        assert!(other.is_ok(), "another link does not wait");
        drop(other);
        let waiting = tokio::spawn(hold("lock-test", "L1"));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the same link waits");
        drop(first);
        let second = waiting.await.expect("held after the first");
        drop(second);
        let locks = LOCKS.lock().unwrap_or_else(|p| p.into_inner());
        assert!(!locks.contains_key("lock-test/L1") && !locks.contains_key("lock-test/L2"));
    }
}
