#![forbid(unsafe_code)]
//! leadsync: two-way sync between a Google Sheet of leads and a Trello board.

pub mod admin;
pub mod app;
pub mod check;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod http;
pub mod inbound;
pub mod mirror;
pub mod model;
pub mod output;
pub mod progress;
pub mod reconcile_cmd;
pub mod report;
pub mod sandbox;
pub mod shutdown;
pub mod store;
pub mod sync;
pub mod telemetry;
