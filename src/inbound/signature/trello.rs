//! Trello's `X-Trello-Webhook`: base64 HMAC-SHA1 over the raw body followed by the callback
//! URL, keyed with the application secret. Verification tries every accepted callback URL.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;

use super::{KeyError, RawEvent, Source, Unverified, Verified, VerifyError, payload};

pub const HEADER: &str = "x-trello-webhook";

/// Verifies (and, for tests and benchmarks, produces) Trello webhook signatures.
#[derive(Clone)]
pub struct TrelloVerifier {
    /// Keyed once; each message clones this state, which also saves re-hashing the key.
    keyed: Hmac<Sha1>,
    callback_urls: Vec<String>,
}

impl std::fmt::Debug for TrelloVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrelloVerifier")
            .field("callback_urls", &self.callback_urls)
            .finish_non_exhaustive()
    }
}

impl TrelloVerifier {
    /// `callback_urls`: the current `{public_url}/webhooks/trello` and those of webhooks
    /// registered earlier.
    pub fn new(api_secret: &SecretString, callback_urls: Vec<String>) -> Result<Self, KeyError> {
        let secret = api_secret.expose_secret();
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let keyed = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).map_err(|_| KeyError::Empty)?;
        Ok(Self {
            keyed,
            callback_urls,
        })
    }

    pub fn callback_urls(&self) -> &[String] {
        &self.callback_urls
    }

    /// The header value Trello would send for `body` delivered to `callback_url`.
    pub fn sign(&self, body: &[u8], callback_url: &str) -> String {
        B64.encode(self.mac(body, callback_url).finalize().into_bytes())
    }

    pub fn verify(&self, request: &Unverified) -> Result<Verified<RawEvent>, VerifyError> {
        let header = request.header(HEADER).map_err(|e| match e {
            VerifyError::MissingHeader(_) => VerifyError::MissingSignature,
            other => other,
        })?;
        let tag = B64
            .decode(header)
            .map_err(|_| VerifyError::MalformedSignature)?;
        // Every URL is tried even after a match would be possible to short-cut: the work done
        // then does not depend on which URL matched.
        let matched = self.callback_urls.iter().fold(false, |found, url| {
            self.mac(&request.body, url).verify_slice(&tag).is_ok() | found
        });
        if !matched {
            return Err(VerifyError::BadSignature);
        }
        let (event, dedupe_key, route) = payload::trello_event(&request.body)?;
        Ok(Verified(RawEvent {
            source: Source::Trello,
            dedupe_key,
            route,
            body: request.body.clone(),
            event,
            signed_at: None,
        }))
    }

    fn mac(&self, body: &[u8], callback_url: &str) -> Hmac<Sha1> {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.update(callback_url.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::HeaderMap;

    use super::*;

    const CALLBACK: &str = "https://example.com/webhooks";

    fn verifier(urls: &[&str]) -> TrelloVerifier {
        let urls = urls.iter().map(|u| u.to_string()).collect();
        TrelloVerifier::new(&SecretString::from("secret"), urls).unwrap()
    }

    fn request(body: &str, signature: Option<&str>) -> Unverified {
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(HEADER, signature.parse().unwrap());
        }
        Unverified::new(headers, Bytes::from(body.to_owned()))
    }

    const ACTION: &str = r#"{"action":{"id":"5f0a","idMemberCreator":"m1","type":"updateCard","date":"2026-11-21T10:15:02.123Z","data":{"card":{"id":"c1"}}},"model":{"id":"board1"}}"#;

    #[test]
    fn signs_the_published_ascii_vector() {
        let signer = verifier(&[CALLBACK]);
        assert_eq!(
            signer.sign(br#"{"hello":"world"}"#, CALLBACK),
            "FwPAcuGe9EP/+SbXFWjnEVTa0zw="
        );
    }

    #[test]
    fn signs_the_utf8_vector_over_the_raw_bytes() {
        let signer = verifier(&[CALLBACK]);
        let body = "{\"name\":\"café – test\"}";
        assert_eq!(
            signer.sign(body.as_bytes(), CALLBACK),
            "67oXjYv+DU7aksRzt+x2ES8EtYM="
        );
    }

    #[test]
    fn accepts_a_signature_for_any_registered_callback_url() {
        let old = "https://old.example.com/webhooks/trello";
        let verifier = verifier(&[CALLBACK, old]);
        let signature = verifier.sign(ACTION.as_bytes(), old);
        let event = verifier.verify(&request(ACTION, Some(&signature))).unwrap();
        assert_eq!(event.source, Source::Trello);
        assert_eq!(event.dedupe_key, "5f0a");
        assert_eq!(event.body, ACTION.as_bytes());
    }

    #[test]
    fn rejects_a_signature_made_for_an_unknown_callback_url() {
        let verifier = verifier(&[CALLBACK]);
        let signature = verifier.sign(ACTION.as_bytes(), "https://evil.example.com/hook");
        let error = verifier.verify(&request(ACTION, Some(&signature)));
        assert_eq!(error.unwrap_err(), VerifyError::BadSignature);
    }

    #[test]
    fn rejects_a_body_reserialised_after_signing() {
        let verifier = verifier(&[CALLBACK]);
        let signature = verifier.sign(ACTION.as_bytes(), CALLBACK);
        let value: serde_json::Value = serde_json::from_str(ACTION).unwrap();
        let reserialised = serde_json::to_string_pretty(&value).unwrap();
        let error = verifier.verify(&request(&reserialised, Some(&signature)));
        assert_eq!(error.unwrap_err(), VerifyError::BadSignature);
    }

    #[test]
    fn rejects_missing_malformed_and_truncated_signatures() {
        let verifier = verifier(&[CALLBACK]);
        let good = verifier.sign(ACTION.as_bytes(), CALLBACK);
        let cases = [
            (None, VerifyError::MissingSignature),
            (Some("!!not base64!!"), VerifyError::MalformedSignature),
            (Some(&good[..good.len() - 8]), VerifyError::BadSignature),
        ];
        for (signature, expected) in cases {
            let error = verifier.verify(&request(ACTION, signature)).unwrap_err();
            assert_eq!(error, expected);
        }
    }

    #[test]
    fn a_valid_signature_over_a_non_action_body_is_a_payload_error() {
        let verifier = verifier(&[CALLBACK]);
        let body = r#"{"hello":"world"}"#;
        let signature = verifier.sign(body.as_bytes(), CALLBACK);
        let error = verifier
            .verify(&request(body, Some(&signature)))
            .unwrap_err();
        assert!(error.is_payload_error());
    }

    #[test]
    fn an_empty_secret_is_refused_and_debug_shows_no_key() {
        let empty = TrelloVerifier::new(&SecretString::from(""), vec![]);
        assert_eq!(empty.unwrap_err(), KeyError::Empty);
        let shown = format!("{:?}", verifier(&[CALLBACK]));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
