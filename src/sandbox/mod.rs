//! In-process emulators of the Trello, Google Sheets and Airtable APIs (demo, tests, benchmarks).

pub mod airtable;
pub mod common;
pub mod google;
pub mod trello;
