#![forbid(unsafe_code)]
pub mod clients;
pub mod sandbox;
