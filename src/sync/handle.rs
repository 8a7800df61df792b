//! What the HTTP side sees of the running engine: reconcile requests, liveness, and for the
//! console the pairs as it runs them and the API budgets its clients keep.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

use crate::sync::reconcile::{ReconcileError, ReconcileOutcome, Reconciler};

#[derive(Clone)]
pub struct EngineHandle {
    requests: mpsc::UnboundedSender<String>,
    running: Arc<AtomicUsize>,
    tasks: usize,
    /// For plans without applying them (the console's dry-run preview).
    reconciler: Option<Reconciler>,
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
        }
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
    pub fn request_reconcile(&self, pair: Option<&str>) -> bool {
        self.requests.send(pair.unwrap_or("*").to_owned()).is_ok()
    }

    /// True while every engine task runs (part of readiness).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst) == self.tasks
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
        drop(rx);
        assert!(!handle.request_reconcile(None));
    }
}
