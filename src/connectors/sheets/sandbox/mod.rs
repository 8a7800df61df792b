//! In-process emulator of Google's OAuth token endpoint and the Sheets v4 values API, on loopback.
//!
//! Emulated, with Google's paths, JSON shapes, status codes and error envelopes
//! (`{"error":{"code","message","status"}}`):
//! - `POST /token`: the service-account JWT-bearer grant. The RS256 signature is verified against
//!   the registered account's public key; `iss`, `aud` (= this token_uri), `scope` (must include
//!   spreadsheets), `iat`/`exp` (at most one hour) and `grant_type` are checked, refusals answer
//!   400 `invalid_grant`/`invalid_scope`/`unsupported_grant_type`. Tokens expire (configurable).
//! - `GET /v4/spreadsheets/{id}` (`fields=sheets.properties` honoured), `GET values/{range}`,
//!   `GET values:batchGet`, `POST values:batchUpdate` (atomic), `POST values/{range}:append`
//!   (INSERT_ROWS or OVERWRITE; answers `tableRange` and `updates.updatedRange`).
//!   Reads omit trailing empty cells and rows; ranges past the grid answer "exceeds grid limits";
//!   an unknown sheet or malformed range answers `Unable to parse range: …`. Bearer tokens are
//!   checked (401), and the caller must be an editor of the spreadsheet (403).
//! - Per-user quotas, like Google's separate read and write quotas (60 per minute each by
//!   default), answered with 429 RESOURCE_EXHAUSTED; faults from `sandbox::common` on the Sheets
//!   endpoints (not on `/token`).
//! - User-side methods (edit cells, set rows, insert/delete/sort rows) that, like a person in the
//!   browser, notify nobody.
//!
//! Not emulated: formulas and number formats (every cell is the string written, RAW and
//! USER_ENTERED alike, so FORMATTED_VALUE is that string), `majorDimension=COLUMNS`, the
//! `spreadsheets.batchUpdate` structural API, and any other endpoint.
//!
//! The key pair in `keys/` is sandbox-only and protects nothing (see `keys/README.md`).

mod api;
mod model;
mod range;
mod token;
mod user;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::routing::{get, post};
use jsonwebtoken::DecodingKey;

use crate::sandbox::common::{Gate, GateHooks, Quota, Served, gate_middleware, serve};
use model::Spreadsheet;
use token::Issued;

pub use user::SandboxError;

/// The sandbox service account's private key (PKCS#8 PEM). Sandbox-only: it protects nothing.
pub const SERVICE_ACCOUNT_PRIVATE_KEY: &str = include_str!("keys/service_account.pem");
const SERVICE_ACCOUNT_PUBLIC_KEY: &str = include_str!("keys/service_account.pub.pem");
/// A private key no account of the emulator knows, for "wrong key" tests. Sandbox-only.
pub const UNREGISTERED_PRIVATE_KEY: &str = include_str!("keys/unregistered.pem");
pub const SERVICE_ACCOUNT_EMAIL: &str = "leadsync@leadsync-sandbox.iam.gserviceaccount.com";

/// Knobs for a sandbox instance.
#[derive(Clone, Debug)]
pub struct GoogleOptions {
    /// How long issued access tokens live (Google: one hour).
    pub token_lifetime: Duration,
    /// Per-user quota, applied separately to reads and writes (Google: 60 per minute).
    pub quota: Option<Quota>,
}

impl Default for GoogleOptions {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3600),
            quota: Some(Quota {
                max_requests: 60,
                per: Duration::from_secs(60),
            }),
        }
    }
}

/// State shared by the handlers and the user-side methods.
pub(crate) struct Shared {
    spreadsheets: Mutex<HashMap<String, Spreadsheet>>,
    accounts: Mutex<HashMap<String, DecodingKey>>,
    tokens: Mutex<HashMap<String, Issued>>,
    token_lifetime: Mutex<Duration>,
    token_requests: AtomicUsize,
    token_uri: OnceLock<String>,
}

impl Shared {
    fn token_uri(&self) -> &str {
        self.token_uri.get().map_or("", String::as_str)
    }
}

// A poisoned lock only means a panic elsewhere; the grid is still consistent enough to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running Google emulator; dropping it stops the server.
pub struct GoogleSandbox {
    served: Served,
    shared: Arc<Shared>,
    gate: Gate,
}

impl GoogleSandbox {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(GoogleOptions::default()).await
    }

    pub async fn start_with(options: GoogleOptions) -> std::io::Result<Self> {
        let public = DecodingKey::from_rsa_pem(SERVICE_ACCOUNT_PUBLIC_KEY.as_bytes())
            .map_err(|e| std::io::Error::other(format!("sandbox public key: {e}")))?;
        let shared = Arc::new(Shared {
            spreadsheets: Mutex::default(),
            accounts: Mutex::new(HashMap::from([(SERVICE_ACCOUNT_EMAIL.to_owned(), public)])),
            tokens: Mutex::default(),
            token_lifetime: Mutex::new(options.token_lifetime),
            token_requests: AtomicUsize::new(0),
            token_uri: OnceLock::new(),
        });
        let gate = Gate::new(options.quota);
        let served = serve(router(shared.clone(), gate.clone())).await?;
        // Bound before its address is known: the audience is fixed once, right after binding.
        let _ = shared.token_uri.set(format!("{}/token", served.base_url()));
        Ok(Self {
            served,
            shared,
            gate,
        })
    }

    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The value for `google.sheets_api_base`.
    pub fn sheets_api_base(&self) -> String {
        format!("{}/v4", self.served.base_url())
    }

    pub fn token_uri(&self) -> String {
        self.shared.token_uri().to_owned()
    }

    /// A service-account JSON key, shaped like Google's, whose token_uri points at this emulator.
    pub fn service_account_key_json(&self) -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "leadsync-sandbox",
            "private_key_id": "sandbox-key-1",
            "private_key": SERVICE_ACCOUNT_PRIVATE_KEY,
            "client_email": SERVICE_ACCOUNT_EMAIL,
            "client_id": "100000000000000000001",
            "auth_uri": format!("{}/auth", self.base_url()),
            "token_uri": self.token_uri(),
        })
        .to_string()
    }

    pub fn write_service_account_key(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.service_account_key_json())
    }

    /// Faults, quotas and the call log of the Sheets endpoints.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Makes every issued access token invalid, as if they had all run out.
    pub fn expire_all_tokens(&self) {
        lock(&self.shared.tokens).clear();
    }

    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.shared.token_lifetime) = lifetime;
    }

    /// How many times `/token` was called (successful or not).
    pub fn token_requests(&self) -> usize {
        self.shared
            .token_requests
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn stop(self) {
        self.served.stop();
    }
}

fn router(shared: Arc<Shared>, gate: Gate) -> Router {
    let keys_shared = shared.clone();
    let hooks = GateHooks {
        gate,
        // Google's quotas are per user, reads and writes counted apart.
        quota_keys: Arc::new(move |req: &Request| {
            let Ok(email) = api::caller(&keys_shared, req.headers()) else {
                return Vec::new();
            };
            let kind = if req.method() == Method::GET {
                "read"
            } else {
                "write"
            };
            vec![format!("{kind}:{email}")]
        }),
        error_response: Arc::new(api::gate_error),
    };
    let sheets = Router::new()
        .route("/v4/spreadsheets/{id}", get(api::get_spreadsheet))
        .route("/v4/spreadsheets/{id}/values:batchGet", get(api::batch_get))
        .route(
            "/v4/spreadsheets/{id}/values:batchUpdate",
            post(api::batch_update),
        )
        .route(
            "/v4/spreadsheets/{id}/values/{range}",
            get(api::get_values).post(api::append),
        )
        .layer(axum::middleware::from_fn_with_state(hooks, gate_middleware));
    Router::new()
        .route("/token", post(token::token_endpoint))
        .merge(sheets)
        .with_state(shared)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;
