//! Service-account auth: the key file, the RS256 JWT assertion, and a cached access token renewed
//! before expiry, once for all concurrent callers.

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::wire::{TokenErrorWire, TokenWire};
use crate::clients::http::{ApiClient, ClientError};

/// The only scope leadsync asks for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// Google accepts assertions valid for at most one hour.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;
const SYSTEM: &str = "google_oauth";

/// The fields of a service-account JSON key that the JWT flow needs.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: SecretString,
    #[serde(default)]
    pub private_key_id: Option<String>,
    pub token_uri: String,
}

impl ServiceAccountKey {
    pub fn from_json(text: &str) -> Result<Self, ClientError> {
        // serde's message names the missing field or the position, never the key material.
        serde_json::from_str(text)
            .map_err(|e| ClientError::Config(format!("service account key: {e}")))
    }

    pub fn from_file(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ClientError::Config(format!("service account key {}: {e}", path.display()))
        })?;
        Self::from_json(&text)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// Signs the assertion exchanged at `token_uri` (RS256, `kid` = the key id when known).
pub fn sign_assertion(
    key: &ServiceAccountKey,
    encoding_key: &EncodingKey,
    now: i64,
) -> Result<String, ClientError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = key.private_key_id.clone();
    let claims = Claims {
        iss: &key.client_email,
        scope: SCOPE,
        aud: &key.token_uri,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
    };
    jsonwebtoken::encode(&header, &claims, encoding_key)
        .map_err(|e| ClientError::Config(format!("signing the JWT assertion: {}", jwt_error(&e))))
}

/// The error's Display may quote key parsing details; its kind is enough.
fn jwt_error(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidRsaKey(_) | K::InvalidKeyFormat => "invalid RSA private key",
        K::RsaFailedSigning | K::Signing(_) => "signing failed",
        _ => "JWT error",
    }
}

struct Cached {
    token: SecretString,
    renew_at: Instant,
}

/// Hands out a valid access token, exchanging a fresh assertion when the cached one is due.
pub struct TokenSource {
    key: ServiceAccountKey,
    encoding_key: EncodingKey,
    oauth: ApiClient,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub fn new(key: ServiceAccountKey, oauth: ApiClient) -> Result<Self, ClientError> {
        let encoding_key = EncodingKey::from_rsa_pem(key.private_key.expose_secret().as_bytes())
            .map_err(|e| ClientError::Config(format!("service account key: {}", jwt_error(&e))))?;
        Ok(Self {
            key,
            encoding_key,
            oauth,
            cached: Mutex::new(None),
        })
    }

    pub fn oauth_system() -> &'static str {
        SYSTEM
    }

    pub fn client_email(&self) -> &str {
        &self.key.client_email
    }

    /// The cached token, or a new one. The lock is held across the exchange so that concurrent
    /// callers wait for one renewal instead of each starting their own.
    pub async fn token(&self) -> Result<SecretString, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token if it is still `stale` (the API refused it); a token another caller
    /// already renewed is kept.
    pub async fn invalidate(&self, stale: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    async fn exchange(&self) -> Result<Cached, ClientError> {
        let assertion = sign_assertion(
            &self.key,
            &self.encoding_key,
            chrono::Utc::now().timestamp(),
        )?;
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ];
        let uri = self.key.token_uri.as_str();
        let result: Result<TokenWire, ClientError> = self
            .oauth
            .send_json("token", |http| http.post(uri).form(&form))
            .await;
        let wire = result.map_err(refused_grant)?;
        let lifetime = Duration::from_secs(wire.expires_in);
        // Renew a minute early (or halfway through a short-lived token) so no call races expiry.
        let margin = Duration::from_secs(60).min(lifetime / 2);
        Ok(Cached {
            token: wire.access_token,
            renew_at: Instant::now() + lifetime - margin,
        })
    }
}

/// Google answers a refused assertion with 400 `invalid_grant`: that is an auth failure.
fn refused_grant(err: ClientError) -> ClientError {
    match err {
        ClientError::BadRequest {
            system,
            endpoint,
            status,
            message,
        } => {
            if let Ok(body) = serde_json::from_str::<TokenErrorWire>(&message) {
                tracing::warn!(
                    error = %body.error,
                    description = %body.error_description,
                    "google token endpoint refused the service account assertion"
                );
            }
            ClientError::Auth {
                system,
                endpoint,
                status,
            }
        }
        other => other,
    }
}
