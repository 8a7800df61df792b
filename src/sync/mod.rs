//! The sync engine: field mapping, the pure merge that decides every change, the planner that
//! turns decisions into outbox commands, and the workers that run them.

pub mod commands;
pub mod context;
pub mod mapping;
pub mod merge;
pub mod observe;
pub mod plan;
