//! The sync engine: field mapping and the pure merge that decides every change.

pub mod mapping;
pub mod merge;
