//! What the HTTP side sees of the running engine: reconcile requests, liveness, and for the
//! console the pairs as it runs them and the API budgets its clients keep.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::mpsc;

use crate::store::{Db, Dialect};
use crate::sync::reconcile::{ReconcileError, ReconcileOutcome, Reconciler};

#[derive(Clone)]
pub struct EngineHandle {
    requests: mpsc::UnboundedSender<String>,
    running: Arc<AtomicUsize>,
    tasks: usize,
    /// For plans without applying them (the console's dry-run preview).
    reconciler: Option<Reconciler>,
    /// True while another replica leads (CONTRACT §9): this one's loops wait, by design.
    standby: Arc<AtomicBool>,
    /// Where a standby replica hands reconcile requests to the leader (PostgreSQL only).
    db: Option<Db>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("tasks", &self.tasks)
            .field("reconciler", &self.reconciler.is_some())
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    pub fn new(
        requests: mpsc::UnboundedSender<String>,
        running: Arc<AtomicUsize>,
        tasks: usize,
    ) -> Self {
        Self {
            requests,
            running,
            tasks,
            reconciler: None,
            standby: Arc::new(AtomicBool::new(false)),
            db: None,
        }
    }

    /// Lets a standby replica hand its reconcile requests to the leader through `db`.
    pub fn with_db(mut self, db: Db) -> Self {
        self.db = Some(db);
        self
    }

    /// Marks this replica as waiting for leadership (`true`) or leading (`false`); set by the
    /// leadership loop of the composition root.
    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::SeqCst);
    }

    /// Whether this replica runs the engine's loops (always, on SQLite).
    pub fn is_leader(&self) -> bool {
        !self.standby.load(Ordering::SeqCst)
    }

    /// Lets [`EngineHandle::dry_run`] plan with the engine's own reconciler.
    pub fn with_reconciler(mut self, reconciler: Reconciler) -> Self {
        self.reconciler = Some(reconciler);
        self
    }

    /// What a reconciliation of `pair` would do now, changing nothing; `None` without a
    /// reconciler.
    pub async fn dry_run(&self, pair: &str) -> Option<Result<ReconcileOutcome, ReconcileError>> {
        Some(self.reconciler.as_ref()?.reconcile(pair, true).await)
    }

    /// The API budgets of `pair`'s tracker (its connector's limits); empty without a
    /// reconciler or for a pair the engine does not run.
    pub fn tracker_budget(&self, pair: &str) -> Vec<crate::sync::connector::Budget> {
        let Some(r) = self.reconciler.as_ref() else {
            return Vec::new();
        };
        let Some(ctx) = r.context(pair) else {
            return Vec::new();
        };
        r.trackers()
            .of(&ctx)
            .map(|t| t.budget(&ctx.settings))
            .unwrap_or_default()
    }

    /// A pair as the engine runs it; `None` without a reconciler or for an unknown pair.
    pub fn pair_context(&self, pair: &str) -> Option<Arc<crate::sync::context::PairContext>> {
        self.reconciler.as_ref()?.context(pair)
    }

    /// The pairs the engine runs, by name.
    pub fn pair_names(&self) -> Vec<String> {
        self.reconciler
            .as_ref()
            .map(Reconciler::pair_names)
            .unwrap_or_default()
    }

    /// Queues a reconciliation of one pair, or of every pair with `None`. False once stopped.
    /// A standby replica on PostgreSQL hands it to the leader instead (its reconciler is the
    /// one that runs, and its clients keep the tokens' budgets). A `NOTIFY` that no leader hears
    /// (none leads at that moment) is not lost work: whichever replica leads next queues a pass
    /// over every pair before its loops start (`app::leader`).
    pub fn request_reconcile(&self, pair: Option<&str>) -> bool {
        let pair = pair.unwrap_or("*").to_owned();
        match &self.db {
            Some(db) if !self.is_leader() && db.dialect() == Dialect::Postgres => {
                let db = db.clone();
                tokio::spawn(async move {
                    match crate::store::leader::request_reconcile(&db.pool, &pair).await {
                        Ok(()) => tracing::info!(%pair, "reconciliation handed to the leader"),
                        Err(err) => {
                            tracing::warn!(%pair, error = %err, "reconcile request not sent")
                        }
                    }
                });
                !self.requests.is_closed()
            }
            _ => self.queue_reconcile(&pair),
        }
    }

    /// Queues a reconciliation on this replica's own reconciler (`*`: every pair), as the
    /// leader does with the requests the others hand it. False once stopped.
    pub fn queue_reconcile(&self, pair: &str) -> bool {
        self.requests.send(pair.to_owned()).is_ok()
    }

    /// True while every engine task runs, or while the replica waits for leadership (its
    /// loops are meant to be stopped then): part of readiness.
    pub fn is_running(&self) -> bool {
        !self.is_leader() || self.running.load(Ordering::SeqCst) == self.tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_reach_the_reconciler_and_liveness_counts_tasks() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let running = Arc::new(AtomicUsize::new(2));
        let handle = EngineHandle::new(tx, Arc::clone(&running), 2);
        assert!(handle.is_running());
        assert!(handle.request_reconcile(Some("p")));
        assert!(handle.request_reconcile(None));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("p"));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("*"));
        running.fetch_sub(1, Ordering::SeqCst);
        assert!(!handle.is_running());
        handle.set_standby(true);
        assert!(
            handle.is_running(),
            "a standby replica's loops are stopped by design"
        );
        assert!(!handle.is_leader());
        handle.set_standby(false);
        assert!(!handle.is_running());
        drop(rx);
        assert!(!handle.request_reconcile(None));
    }
}
