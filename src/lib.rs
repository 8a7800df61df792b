#![forbid(unsafe_code)]

pub mod clients;
