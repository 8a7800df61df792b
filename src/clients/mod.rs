//! Outbound API clients: the shared HTTP policy, and the Trello and Sheets clients (Airtable's is
//! `connectors::airtable::client`).
pub mod board_ids;
pub mod build;
pub mod http;
pub mod sheets;
pub mod trello;
