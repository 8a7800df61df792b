//! The sync engine, one folder per stage: `inbox` (the worker that turns stored webhook events
//! into decisions), `merge` (pure: decides every change), `plan` (a lead's decisions as outbox
//! commands, and `apply`, which commits them), `outbox` (the dispatcher that sends them) and
//! `reconcile` (full reads planned through the same merge). What the stages share sits beside
//! them: `context` (a pair at run time), `mapping` (each system's shape ↔ lead fields),
//! `observe` (what a side holds, as the merge's observations), `connector` (the trait every
//! lead tracker's connector implements) and `board` (the trait the board's connector
//! implements); the connectors live in `crate::connectors`, above the engine. `resolve` builds the contexts at start-up, `engine` runs the stages and `handle` is
//! what the HTTP side sees of it; `operator` decides an operator's edit from the console
//! (through `plan`, like a user's). A stage imports only what is below it: merge ← plan ← inbox,
//! outbox, reconcile ← engine.

pub mod board;
pub mod connector;
pub mod context;
pub mod engine;
pub mod handle;
pub mod inbox;
pub mod mapping;
pub mod merge;
pub mod observe;
pub mod operator;
pub mod outbox;
pub mod plan;
pub mod reconcile;
pub mod resolve;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
pub(crate) mod test_tracker;
