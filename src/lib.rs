#![forbid(unsafe_code)]

pub mod model;
pub mod sync;
