//! The emulated OAuth token endpoint: verifies a service account's RS256 JWT assertion and issues
//! expiring bearer tokens, answering refusals with Google's error bodies.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Validation};
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::{Shared, lock};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SPREADSHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
const TIMEFRAME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
/// Google tolerates this much clock skew on `iat`.
const SKEW_SECS: i64 = 60;

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// A bearer token the emulator issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub email: String,
    pub expires_at: Instant,
}

/// A refused grant: Google's OAuth error code and description, answered with 400.
struct Refusal {
    error: &'static str,
    description: String,
}

fn refuse(error: &'static str, description: &str) -> Refusal {
    Refusal {
        error,
        description: description.to_owned(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

/// `POST /token` with `grant_type=…&assertion=…` (form-encoded).
pub async fn token_endpoint(
    State(shared): State<std::sync::Arc<Shared>>,
    body: String,
) -> Response {
    shared.token_requests.fetch_add(1, Ordering::SeqCst);
    let form = match Url::parse(&format!("http://form.invalid/?{body}")) {
        Ok(url) => url
            .query_pairs()
            .into_owned()
            .collect::<Vec<(String, String)>>(),
        Err(_) => Vec::new(),
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let grant_type = field("grant_type").unwrap_or("");
    if grant_type != GRANT_TYPE {
        return refuse(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        )
        .into_response();
    }
    let Some(assertion) = field("assertion") else {
        return refuse("invalid_request", "Missing required parameter: assertion").into_response();
    };
    match verify(&shared, assertion) {
        Ok(email) => issue(&shared, email),
        Err(refusal) => refusal.into_response(),
    }
}

fn verify(shared: &Shared, assertion: &str) -> Result<String, Refusal> {
    let invalid = || refuse("invalid_grant", "Invalid JWT Signature.");
    let unverified: Claims =
        jsonwebtoken::dangerous::insecure_decode_claims(assertion).map_err(|_| invalid())?;
    let key = lock(&shared.accounts)
        .get(&unverified.iss)
        .cloned()
        .ok_or_else(|| refuse("invalid_grant", "Invalid grant: account not found"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Claims are checked below, one by one, to answer with Google's own messages.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|_| invalid())?
        .claims;
    let token_uri = shared.token_uri();
    if claims.aud != token_uri {
        let message =
            format!("Invalid JWT: Failed audience check. The right audience is {token_uri}");
        return Err(refuse("invalid_grant", &message));
    }
    let now = chrono::Utc::now().timestamp();
    let fresh = claims.iat <= now + SKEW_SECS && claims.exp > now;
    if !fresh || claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return Err(refuse("invalid_grant", TIMEFRAME));
    }
    if !claims.scope.split(' ').any(|s| s == SPREADSHEETS_SCOPE) {
        return Err(refuse(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(claims.iss)
}

fn issue(shared: &Shared, email: String) -> Response {
    let lifetime = *lock(&shared.token_lifetime);
    let token = format!("ya29.sandbox.{}", uuid::Uuid::new_v4().simple());
    let issued = Issued {
        email,
        expires_at: Instant::now() + lifetime,
    };
    lock(&shared.tokens).insert(token.clone(), issued);
    // Google reports one second less than it grants.
    let expires_in = lifetime
        .saturating_sub(Duration::from_secs(1))
        .as_secs()
        .max(1);
    let body = json!({ "access_token": token, "expires_in": expires_in, "token_type": "Bearer" });
    (StatusCode::OK, Json(body)).into_response()
}
