//! In-process emulators of the Trello and Google Sheets APIs (demo, tests, benchmarks), and the
//! fault gate every emulator shares (`common`; Airtable's emulator is `connectors::airtable::sandbox`).

pub mod common;
pub mod google;
pub mod trello;
