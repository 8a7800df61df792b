//! The sync engine: field mapping, the pure merge that decides every change, the planner that
//! turns decisions into outbox commands, and the workers that run them.

pub mod commands;
pub mod context;
pub mod dispatch;
#[cfg(test)]
mod dispatch_bench;
mod dispatch_record;
mod dispatch_sheets;
mod dispatch_trello;
pub mod mapping;
pub mod merge;
pub mod observe;
pub mod plan;
