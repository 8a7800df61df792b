//! Outbound API clients: the shared HTTP policy every system's client is built on (rate limits,
//! retries, `Retry-After`, redaction). Each system's client is in its connector's folder
//! (`connectors::*::client`).
pub mod http;
