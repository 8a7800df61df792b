//! What the HTTP side sees of the running engine: reconcile requests and liveness.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub struct EngineHandle {
    requests: mpsc::UnboundedSender<String>,
    running: Arc<AtomicUsize>,
    tasks: usize,
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
        }
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
