//! The sync engine: field mapping, the pure merge that decides every change, the planner that
//! turns decisions into outbox commands, and the workers that run them.

pub mod context;
pub mod engine;
pub mod handle;
pub mod mapping;
pub mod merge;
pub mod observe;
pub mod outbox;
pub mod plan;
pub mod reconcile;
pub mod resolve;
#[cfg(test)]
pub(crate) mod test_support;
pub mod worker;
pub mod worker_lead;
