//! What the in-process API emulators (demo, tests, benchmarks) share: the fault gate, quotas and
//! call records (`common`). Each system's emulator is in its connector's folder
//! (`connectors::*::sandbox`).

pub mod common;
