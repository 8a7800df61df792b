//! In-process emulator of the Trello API (demo, tests, benchmarks), and the fault gate every
//! emulator shares (`common`); each lead tracker's emulator is in its connector's folder
//! (`connectors::*::sandbox`).

pub mod common;
pub mod trello;
