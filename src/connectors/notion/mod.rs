//! Notion as a lead tracker (issue 13), the bottom of its slice so far: `client/` (the API on the
//! shared HTTP policy, the wire types and the webhook signature check) and `sandbox/` (the
//! emulator). The tracker connector, its check and its door are the next steps.

pub mod client;
pub mod sandbox;
