//! Outbound API clients: the shared HTTP policy and one typed client per system.
pub mod airtable;
pub mod board_ids;
pub mod build;
pub mod http;
pub mod sheets;
pub mod trello;
