//! Trello, all of it in one folder: its client (`client`, with the settings builder), its emulator
//! (`sandbox`), its `check`, its webhooks' registration (`webhooks`) and the board ids resolved at
//! start-up (`board_ids`), and `board`: [`TrelloBoard`], the engine's
//! [`BoardConnector`](crate::sync::board::BoardConnector) for Trello, above the engine like the
//! tracker connectors. The engine knows Trello only through it; the composition root builds it.

pub mod board;
pub mod board_ids;
pub mod check;
pub mod client;
pub mod sandbox;
pub mod webhooks;

pub use board::TrelloBoard;
