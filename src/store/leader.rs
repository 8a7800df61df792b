//! The engine leader's lock on PostgreSQL (CONTRACT §9): a session-level advisory lock held on
//! a connection of its own, outside the pool, and the reconcile requests followers hand to the
//! leader (`NOTIFY` on [`RECONCILE_CHANNEL`]).

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgListener};

use super::StoreError;
use super::backend::Exec;

/// The leader's lock key. Advisory locks of a session and of a transaction share one key
/// space, so this differs from the write transaction's key (`Dialect::begin_write`).
pub const LEADER_KEY: i64 = 7_810_756_212_805_955_172;

/// Where a follower's `POST /admin/reconcile` reaches the leader; the payload is a pair's name
/// or `*` for every pair.
pub const RECONCILE_CHANNEL: &str = "leadsync_reconcile";

/// How long one connect or check may take before the lock counts as lost: a leader cut off
/// from the server must stop working long before the server frees its lock for another.
const CHECK_BOUND: Duration = Duration::from_secs(5);

/// The lock, taken or not. Dropping it closes its connection, which frees the lock on the
/// server; so does the process dying.
pub struct LeaderLock {
    url: String,
    conn: Option<PgConnection>,
    held: bool,
}

impl LeaderLock {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            conn: None,
            held: false,
        }
    }

    /// Whether this process holds the lock now: takes it when free, or checks that the
    /// session holding it is still alive. Any failure (the server gone, a check that does not
    /// answer in time) drops the connection and answers false.
    pub async fn hold(&mut self) -> bool {
        let result = tokio::time::timeout(CHECK_BOUND, self.try_hold()).await;
        match result {
            Ok(Ok(held)) => held,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "leader lock check failed");
                self.forget()
            }
            Err(_) => {
                tracing::warn!("leader lock check did not answer in time");
                self.forget()
            }
        }
    }

    async fn try_hold(&mut self) -> Result<bool, StoreError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(super::postgres::connect(&self.url).await?),
        };
        if self.held {
            // A session lock lasts as long as its session: one round trip proves both.
            sqlx::query("SELECT 1").execute(&mut *conn).await?;
        } else {
            self.held = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LEADER_KEY)
                .fetch_one(&mut *conn)
                .await?;
        }
        Ok(self.held)
    }

    fn forget(&mut self) -> bool {
        self.conn = None;
        self.held = false;
        false
    }

    /// Gives the lock up at once (a graceful stop), so another replica need not wait for
    /// the connection to be noticed closed.
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlock = async {
                sqlx::query("SELECT pg_advisory_unlock_all()")
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            };
            let _ = tokio::time::timeout(CHECK_BOUND, unlock).await;
        }
    }
}

/// Asks the leader, wherever it runs, to reconcile `pair` (`*`: every pair). `NOTIFY` keeps
/// nothing for later, so a request sent while no replica listens (a hand-over's few seconds)
/// is heard by nobody: each leader, once it listens, reconciles every pair first, which covers
/// it (`app::leader`).
pub async fn request_reconcile(db: impl Exec<'_>, pair: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(RECONCILE_CHANNEL)
        .bind(pair)
        .execute(db)
        .await?;
    Ok(())
}

/// The leader's ear for [`request_reconcile`], on a connection of its own.
pub struct ReconcileRequests(PgListener);

impl ReconcileRequests {
    /// The next request's pair (`*`: every pair); an error when the connection is lost.
    pub async fn recv(&mut self) -> Result<String, StoreError> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

/// Listens for [`request_reconcile`] from now on.
pub async fn reconcile_requests(url: &str) -> Result<ReconcileRequests, StoreError> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(RECONCILE_CHANNEL).await?;
    Ok(ReconcileRequests(listener))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two replicas on one database: only one holds the lock; when it lets go (or its
    /// connection closes), the other takes it. Needs `LEADSYNC_TEST_PG_URL`.
    #[tokio::test]
    async fn one_holder_at_a_time_and_hand_over() {
        let Ok(url) = std::env::var("LEADSYNC_TEST_PG_URL") else {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED store::leader::one_holder_at_a_time_and_hand_over: LEADSYNC_TEST_PG_URL is not set"
            );
            return;
        };
        let mut a = LeaderLock::new(&url);
        let mut b = LeaderLock::new(&url);
        assert!(a.hold().await, "a free lock is taken");
        assert!(a.hold().await, "and kept");
        assert!(!b.hold().await, "a second replica does not lead");
        a.release().await;
        assert!(b.hold().await, "the lock passes on a graceful stop");
        let mut c = LeaderLock::new(&url);
        assert!(!c.hold().await);
        drop(b);
        // The server frees a closed session's locks once it notices the close: bounded wait.
        let mut took = false;
        for _ in 0..100 {
            if c.hold().await {
                took = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(took, "the lock passes when its holder's connection closes");
        c.release().await;
    }

    #[tokio::test]
    async fn an_unreachable_server_is_no_leadership() {
        let mut lock = LeaderLock::new("postgres://leadsync@127.0.0.1:9/leadsync");
        assert!(!lock.hold().await);
        assert!(lock.conn.is_none());
    }
}
