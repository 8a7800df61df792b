//! In-process emulators of the Trello and Google Sheets APIs (demo, tests, benchmarks).

pub mod common;
pub mod google;
pub mod trello;
