//! Standard Webhooks v1 (symmetric), as the Apps Script signs: HMAC-SHA256 over
//! `"<id>.<timestamp>.<body>"` keyed with the base64 part of a `whsec_` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::{KeyError, RawEvent, Source, Unverified, Verified, VerifyError, payload};

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The shared key, already decoded and keyed.
#[derive(Clone)]
pub struct StandardWebhooksKey {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for StandardWebhooksKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandardWebhooksKey(..)")
    }
}

impl StandardWebhooksKey {
    /// Accepts `whsec_<base64>`; the prefix is optional, as in the reference libraries.
    pub fn from_secret(secret: &SecretString) -> Result<Self, KeyError> {
        let text = secret.expose_secret().trim();
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        if encoded.is_empty() {
            return Err(KeyError::Empty);
        }
        let key = B64.decode(encoded).map_err(|_| KeyError::NotBase64)?;
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        let keyed = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| KeyError::Empty)?;
        Ok(Self { keyed })
    }

    /// The `webhook-signature` value (`v1,<base64>`) for one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, &timestamp.to_string(), body).finalize();
        format!("v1,{}", B64.encode(tag.into_bytes()))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// Verifies Apps Script deliveries on `/webhooks/sheets`.
#[derive(Debug, Clone)]
pub struct SheetsVerifier {
    key: StandardWebhooksKey,
    tolerance_secs: u64,
}

impl SheetsVerifier {
    pub fn new(key: StandardWebhooksKey, tolerance_secs: u64) -> Self {
        Self {
            key,
            tolerance_secs,
        }
    }

    pub fn key(&self) -> &StandardWebhooksKey {
        &self.key
    }

    /// `now` is the server clock in unix seconds.
    pub fn verify(
        &self,
        request: &Unverified,
        now: i64,
    ) -> Result<Verified<RawEvent>, VerifyError> {
        let id = payload::checked_key(request.header(ID_HEADER)?.to_owned(), ID_HEADER)
            .map_err(|_| VerifyError::InvalidHeader(ID_HEADER))?;
        let timestamp_text = request.header(TIMESTAMP_HEADER)?;
        let signatures = request.header(SIGNATURE_HEADER).map_err(|e| match e {
            VerifyError::MissingHeader(_) => VerifyError::MissingSignature,
            other => other,
        })?;
        let timestamp = parse_timestamp(timestamp_text)?;
        self.check_window(timestamp, now)?;
        self.check_signatures(&id, timestamp_text, &request.body, signatures)?;
        let (event, route) = payload::sheet_event(&request.body)?;
        Ok(Verified(RawEvent {
            source: Source::Sheets,
            dedupe_key: id,
            route,
            body: request.body.clone(),
            event,
            signed_at: i64::try_from(timestamp).ok(),
        }))
    }

    fn check_window(&self, timestamp: u64, now: i64) -> Result<(), VerifyError> {
        let (timestamp, now) = (i128::from(timestamp), i128::from(now));
        let tolerance = i128::from(self.tolerance_secs);
        if now - timestamp > tolerance {
            return Err(VerifyError::StaleTimestamp);
        }
        if timestamp - now > tolerance {
            return Err(VerifyError::FutureTimestamp);
        }
        Ok(())
    }

    fn check_signatures(
        &self,
        id: &str,
        timestamp: &str,
        body: &[u8],
        header: &str,
    ) -> Result<(), VerifyError> {
        let (mut matched, mut malformed, mut seen) = (false, false, false);
        for entry in header.split_ascii_whitespace() {
            // Other versions (e.g. asymmetric `v1a`) are for other receivers: skip them.
            let Some(encoded) = entry.strip_prefix("v1,") else {
                continue;
            };
            seen = true;
            match B64.decode(encoded) {
                // verify_slice compares in constant time and refuses truncated tags.
                Ok(tag) => matched |= self.key.mac(id, timestamp, body).verify_slice(&tag).is_ok(),
                Err(_) => malformed = true,
            }
        }
        match (matched, seen, malformed) {
            (true, _, _) => Ok(()),
            (false, true, true) => Err(VerifyError::MalformedSignature),
            _ => Err(VerifyError::BadSignature),
        }
    }
}

/// Digits only: no sign, no fraction, no exponent, no surrounding junk.
fn parse_timestamp(text: &str) -> Result<u64, VerifyError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::BadTimestamp);
    }
    text.parse().map_err(|_| VerifyError::BadTimestamp)
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::HeaderMap;

    use super::*;

    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1_614_265_330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const EDIT: &str = r#"{"spreadsheet_id":"s1","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02.123Z","rows":[{"row":2,"values":{"Name":"Zoë Ångström – café"}}]}"#;
    const NOW: i64 = 1_800_000_000;

    fn key() -> StandardWebhooksKey {
        StandardWebhooksKey::from_secret(&SecretString::from(VECTOR_SECRET)).unwrap()
    }

    fn verifier() -> SheetsVerifier {
        SheetsVerifier::new(key(), 300)
    }

    fn request(id: Option<&str>, ts: Option<&str>, sig: Option<&str>, body: &str) -> Unverified {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (ID_HEADER, id),
            (TIMESTAMP_HEADER, ts),
            (SIGNATURE_HEADER, sig),
        ] {
            if let Some(value) = value {
                headers.insert(name, value.parse().unwrap());
            }
        }
        Unverified::new(headers, Bytes::from(body.to_owned()))
    }

    fn signed(ts: i64, body: &str) -> Unverified {
        let sig = key().sign("evt_1", ts, body.as_bytes());
        request(Some("evt_1"), Some(&ts.to_string()), Some(&sig), body)
    }

    #[test]
    fn signs_the_published_standard_webhooks_vector() {
        assert_eq!(
            key().sign(VECTOR_ID, VECTOR_TS, VECTOR_BODY.as_bytes()),
            VECTOR_SIG
        );
    }

    #[test]
    fn the_published_vector_verifies_up_to_the_payload_check() {
        let request = request(
            Some(VECTOR_ID),
            Some(&VECTOR_TS.to_string()),
            Some(VECTOR_SIG),
            VECTOR_BODY,
        );
        // The signature is good; the body is not an Apps Script event, so it is a 400 not a 401.
        let error = verifier().verify(&request, VECTOR_TS).unwrap_err();
        assert!(error.is_payload_error(), "{error:?}");
    }

    #[test]
    fn accepts_a_signed_utf8_edit_and_keys_it_by_webhook_id() {
        let event = verifier().verify(&signed(NOW, EDIT), NOW).unwrap();
        assert_eq!(event.source, Source::Sheets);
        assert_eq!(event.dedupe_key, "evt_1");
        assert_eq!(event.body, EDIT.as_bytes());
        assert_eq!(
            event.signed_at,
            Some(NOW),
            "the signed time bounds edited_at"
        );
    }

    #[test]
    fn one_valid_signature_among_several_suffices() {
        let good = key().sign("evt_1", NOW, EDIT.as_bytes());
        let header = format!("v1,AAAA v1a,ZZZZ v2,abc {good}");
        let request = request(Some("evt_1"), Some(&NOW.to_string()), Some(&header), EDIT);
        assert!(verifier().verify(&request, NOW).is_ok());
    }

    #[test]
    fn the_tolerance_applies_in_both_directions() {
        assert!(verifier().verify(&signed(NOW - 300, EDIT), NOW).is_ok());
        assert!(verifier().verify(&signed(NOW + 300, EDIT), NOW).is_ok());
        let stale = verifier().verify(&signed(NOW - 301, EDIT), NOW);
        assert_eq!(stale.unwrap_err(), VerifyError::StaleTimestamp);
        let future = verifier().verify(&signed(NOW + 301, EDIT), NOW);
        assert_eq!(future.unwrap_err(), VerifyError::FutureTimestamp);
    }

    #[test]
    fn rejects_every_malformed_header_with_its_reason() {
        let ts = NOW.to_string();
        let good = key().sign("evt_1", NOW, EDIT.as_bytes());
        // Whole base64 groups cut off decode to a short tag; a ragged cut does not decode.
        let truncated = &good[..good.len() - 4];
        let ragged = &good[..good.len() - 6];
        let other_id = key().sign("evt_2", NOW, EDIT.as_bytes());
        let cases = [
            (
                None,
                Some(ts.as_str()),
                Some(good.as_str()),
                "missing_header",
            ),
            (Some("evt_1"), None, Some(good.as_str()), "missing_header"),
            (Some("evt_1"), Some(ts.as_str()), None, "missing_signature"),
            (
                Some("evt_1"),
                Some("-5"),
                Some(good.as_str()),
                "bad_timestamp",
            ),
            (
                Some("evt_1"),
                Some("12.5"),
                Some(good.as_str()),
                "bad_timestamp",
            ),
            (
                Some("evt_1"),
                Some("soon"),
                Some(good.as_str()),
                "bad_timestamp",
            ),
            (
                Some("evt_1"),
                Some("99999999999999999999999"),
                Some(good.as_str()),
                "bad_timestamp",
            ),
            (
                Some("evt_1"),
                Some(ts.as_str()),
                Some(truncated),
                "bad_signature",
            ),
            (
                Some("evt_1"),
                Some(ts.as_str()),
                Some(ragged),
                "malformed_signature",
            ),
            (
                Some("evt_1"),
                Some(ts.as_str()),
                Some("v1,@@@@"),
                "malformed_signature",
            ),
            (
                Some("evt_1"),
                Some(ts.as_str()),
                Some("v2,abcd"),
                "bad_signature",
            ),
            (
                Some("evt_1"),
                Some(ts.as_str()),
                Some(other_id.as_str()),
                "bad_signature",
            ),
        ];
        for (id, ts, sig, reason) in cases {
            let error = verifier()
                .verify(&request(id, ts, sig, EDIT), NOW)
                .unwrap_err();
            assert_eq!(error.reason(), reason, "{id:?} {ts:?} {sig:?}");
        }
    }

    #[test]
    fn rejects_a_body_changed_after_signing() {
        let sig = key().sign("evt_1", NOW, EDIT.as_bytes());
        let value: serde_json::Value = serde_json::from_str(EDIT).unwrap();
        let changed = serde_json::to_string(&value).unwrap();
        assert_ne!(changed, EDIT);
        let request = request(Some("evt_1"), Some(&NOW.to_string()), Some(&sig), &changed);
        assert_eq!(
            verifier().verify(&request, NOW).unwrap_err(),
            VerifyError::BadSignature
        );
    }

    #[test]
    fn secrets_must_be_non_empty_base64() {
        for (secret, expected) in [
            ("whsec_", KeyError::Empty),
            ("", KeyError::Empty),
            ("whsec_not*base64", KeyError::NotBase64),
        ] {
            let error = StandardWebhooksKey::from_secret(&SecretString::from(secret));
            assert_eq!(error.unwrap_err(), expected);
        }
        assert_eq!(format!("{:?}", key()), "StandardWebhooksKey(..)");
    }
}
