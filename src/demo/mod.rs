//! `leadsync demo` and the sandbox world it runs in (also used by tests and benchmarks).

pub mod mirror;
pub mod ops;
pub mod run;
pub mod show;
pub mod world;
