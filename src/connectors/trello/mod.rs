//! Trello, all of it in one folder: its client (`client`, with the settings builder), its emulator
//! (`sandbox`), its `check`, its webhooks' registration (`webhooks`) and the board ids resolved at
//! start-up (`board_ids`). Trello is not a tracker connector: it is still the engine's one board,
//! so `sync` names its client's types (`client`), the one import of `sync` into `connectors`.

pub mod board_ids;
pub mod check;
pub mod client;
pub mod sandbox;
pub mod webhooks;
