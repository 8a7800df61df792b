//! The writer's own wait for SQLite's write lock. Its connection has no busy handler (see
//! `Db::connect_without_busy_wait`): SQLite's sleeps in growing steps (1, 2, 5, 10, … 50, 100 ms)
//! and wakes late after the lock is free, which put acknowledgements 80–430 ms behind the
//! engine's transactions on a running `serve`. The writer retries instead, at once and then
//! every millisecond, up to a bound past which the batch fails (503 with `Retry-After`).

use std::time::{Duration, Instant};

use crate::store::StoreError;

/// How long a batch waits for the write lock in all before it fails, as the pool's
/// `busy_timeout` bounds every other statement.
pub const BUSY_BOUND: Duration = Duration::from_secs(5);

/// The step between tries once the first, immediate, retry met the lock again. The runtime's
/// timer ticks in milliseconds, so this is its shortest sleep; a retry costs one statement
/// sent to SQLite's thread.
const STEP: Duration = Duration::from_millis(1);

/// Whether `err` is SQLite's "the write lock is held" (`SQLITE_BUSY` and its extended codes,
/// e.g. `SQLITE_BUSY_SNAPSHOT`): the statement changed nothing and can be sent again.
pub fn is_busy(err: &StoreError) -> bool {
    let StoreError::Sqlx(sqlx::Error::Database(db)) = err else {
        return false;
    };
    // SQLite's alone: PostgreSQL's codes are SQLSTATEs, and its writers wait on its locks.
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && (db.code().and_then(|code| code.parse::<i32>().ok()))
            .is_some_and(|code| code & 0xff == 5)
}

/// One batch's wait: when it started and how many tries it has had.
#[derive(Debug)]
pub struct Wait {
    started: Instant,
    bound: Duration,
    tries: u32,
}

impl Wait {
    pub fn new(bound: Duration) -> Self {
        Self {
            started: Instant::now(),
            bound,
            tries: 0,
        }
    }

    /// Pauses before the next try; `false` when the bound would be passed (the batch fails).
    /// The first retry only yields: the lock is often a single short statement's.
    pub async fn pause(&mut self) -> bool {
        let step = if self.tries == 0 {
            Duration::ZERO
        } else {
            STEP
        };
        if self.started.elapsed() + step >= self.bound {
            return false;
        }
        self.tries += 1;
        metrics::counter!("leadsync_inbox_busy_retries_total").increment(1);
        if step.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(step).await;
        }
        true
    }

    /// Records how long the batch waited for the lock, if it had to.
    pub fn done(&self) {
        if self.tries > 0 {
            metrics::histogram!("leadsync_inbox_lock_wait_seconds")
                .record(self.started.elapsed().as_secs_f64());
        }
    }
}
