//! Outbound API clients: the shared HTTP policy (`http`) and the Trello client (the engine's
//! board); each lead tracker's client is in its connector's folder (`connectors::*::client`).
pub mod board_ids;
pub mod build;
pub mod http;
pub mod trello;
