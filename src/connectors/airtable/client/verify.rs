//! Airtable notification pings: the `X-Airtable-Content-MAC` check on the raw body, then a strict
//! parse of `{"base": {"id"}, "webhook": {"id"}, "timestamp"}`. Pure: no I/O, no clock.

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

/// The header Airtable signs notifications with: `hmac-sha256=<lowercase hex>`.
pub const MAC_HEADER: &str = "X-Airtable-Content-MAC";
const PREFIX: &str = "hmac-sha256=";

/// A verified ping: the changes themselves are read from the webhook's payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub base_id: String,
    pub webhook_id: String,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{MAC_HEADER} header: {0}")]
    MalformedHeader(&'static str),
    #[error("the webhook's macSecretBase64 is not valid base64")]
    BadSecret,
    #[error("{MAC_HEADER} does not match the body")]
    BadMac,
    #[error("notification body: {0}")]
    Body(String),
}

/// Checks that `header_value` is the HMAC-SHA256 of `raw_body` keyed with the base64-decoded
/// secret (compared in constant time), then parses the body. The MAC is checked first, so
/// nothing of an unsigned body is looked at.
pub fn verify_notification(
    mac_secret_base64: &str,
    raw_body: &[u8],
    header_value: &str,
) -> Result<Notification, VerifyError> {
    let expected = parse_header(header_value)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(mac_secret_base64.trim())
        .map_err(|_| VerifyError::BadSecret)?;
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|_| VerifyError::BadSecret)?;
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| VerifyError::BadMac)?;
    parse_body(raw_body)
}

/// `hmac-sha256=` and 64 hex digits, as the 32 bytes they spell.
fn parse_header(value: &str) -> Result<Vec<u8>, VerifyError> {
    let hex = value
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(VerifyError::MalformedHeader(
            "does not start with hmac-sha256=",
        ))?;
    if hex.len() != 64 {
        return Err(VerifyError::MalformedHeader("the MAC is not 64 hex digits"));
    }
    let digit = |b: u8| (b as char).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok((hi * 16 + lo) as u8),
            _ => Err(VerifyError::MalformedHeader(
                "the MAC has a non-hex character",
            )),
        })
        .collect()
}

fn parse_body(raw: &[u8]) -> Result<Notification, VerifyError> {
    let bad = |m: String| VerifyError::Body(m);
    let v: Value = serde_json::from_slice(raw).map_err(|e| {
        bad(format!(
            "not JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(bad("not a JSON object".into()));
    }
    let base_id = id_at(&v, "base", "app")?;
    let webhook_id = id_at(&v, "webhook", "ach")?;
    let timestamp = match v.get("timestamp") {
        None => return Err(bad("timestamp is missing".into())),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| bad(format!("timestamp {s:?} is not an RFC 3339 time")))?
            .with_timezone(&Utc),
        Some(_) => return Err(bad("timestamp is not a string".into())),
    };
    Ok(Notification {
        base_id,
        webhook_id,
        timestamp,
    })
}

/// `v[key].id`: a string of letters and digits starting with `prefix`.
fn id_at(v: &Value, key: &str, prefix: &str) -> Result<String, VerifyError> {
    let bad = |m: String| VerifyError::Body(m);
    let object = match v.get(key) {
        None => return Err(bad(format!("{key} is missing"))),
        Some(o) if o.is_object() => o,
        Some(_) => return Err(bad(format!("{key} is not an object"))),
    };
    let id = match object.get("id") {
        None => return Err(bad(format!("{key}.id is missing"))),
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad(format!("{key}.id is not a string"))),
    };
    let well_formed = id.len() > prefix.len()
        && id.starts_with(prefix)
        && id.chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Err(bad(format!(
            "{key}.id {id:?} is not an id starting with {prefix}"
        )));
    }
    Ok(id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::airtable::sandbox::sign;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const BODY: &str = r#"{"base":{"id":"appABC123"},"webhook":{"id":"achXYZ789"},"timestamp":"2026-03-04T05:06:07.890Z"}"#;

    fn secret_b64(secret: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(secret)
    }

    fn check(body: &str) -> Result<Notification, VerifyError> {
        let header = sign(SECRET, body.as_bytes());
        verify_notification(&secret_b64(SECRET), body.as_bytes(), &header)
    }

    #[test]
    fn a_signed_notification_verifies_and_parses() {
        let n = check(BODY).expect("verified");
        assert_eq!(n.base_id, "appABC123");
        assert_eq!(n.webhook_id, "achXYZ789");
        assert_eq!(n.timestamp.to_rfc3339(), "2026-03-04T05:06:07.890+00:00");
    }

    #[test]
    fn a_changed_body_or_mac_is_refused() {
        let header = sign(SECRET, BODY.as_bytes());
        let tampered = BODY.replace("appABC123", "appABC124");
        let got = verify_notification(&secret_b64(SECRET), tampered.as_bytes(), &header);
        assert_eq!(got, Err(VerifyError::BadMac));
        let mut flipped = header.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let got = verify_notification(&secret_b64(SECRET), BODY.as_bytes(), &flipped);
        assert_eq!(got, Err(VerifyError::BadMac));
    }

    #[test]
    fn another_webhooks_secret_is_refused() {
        let header = sign(b"another secret of another webhook", BODY.as_bytes());
        let got = verify_notification(&secret_b64(SECRET), BODY.as_bytes(), &header);
        assert_eq!(got, Err(VerifyError::BadMac));
        let got = verify_notification("not base64!", BODY.as_bytes(), &header);
        assert_eq!(got, Err(VerifyError::BadSecret));
    }

    #[test]
    fn a_malformed_header_is_named() {
        let good = sign(SECRET, BODY.as_bytes());
        let hex = good.strip_prefix(PREFIX).unwrap();
        for (header, why) in [
            ("", "does not start with hmac-sha256="),
            (
                &format!("sha256={hex}")[..],
                "does not start with hmac-sha256=",
            ),
            (
                &format!("hmac-sha256={}", &hex[..62])[..],
                "the MAC is not 64 hex digits",
            ),
            (
                &format!("hmac-sha256={}zz", &hex[..62])[..],
                "the MAC has a non-hex character",
            ),
        ] {
            let got = verify_notification(&secret_b64(SECRET), BODY.as_bytes(), header);
            assert_eq!(got, Err(VerifyError::MalformedHeader(why)), "{header}");
        }
        let err = VerifyError::MalformedHeader("the MAC is not 64 hex digits").to_string();
        assert_eq!(
            err,
            "X-Airtable-Content-MAC header: the MAC is not 64 hex digits"
        );
    }

    #[test]
    fn a_signed_but_malformed_body_names_what_is_wrong() {
        for (body, why) in [
            ("nope", "not JSON (line 1 column 2)"),
            ("[1]", "not a JSON object"),
            (
                r#"{"webhook":{"id":"achX"},"timestamp":"2026-03-04T05:06:07Z"}"#,
                "base is missing",
            ),
            (
                r#"{"base":"appX","webhook":{"id":"achX"},"timestamp":"x"}"#,
                "base is not an object",
            ),
            (
                r#"{"base":{},"webhook":{"id":"achX"}}"#,
                "base.id is missing",
            ),
            (
                r#"{"base":{"id":7},"webhook":{"id":"achX"}}"#,
                "base.id is not a string",
            ),
            (
                r#"{"base":{"id":"tblX"},"webhook":{"id":"achX"}}"#,
                "base.id \"tblX\" is not an id starting with app",
            ),
            (
                r#"{"base":{"id":"appX"},"webhook":{"id":"ach/1"}}"#,
                "webhook.id \"ach/1\" is not an id starting with ach",
            ),
            (
                r#"{"base":{"id":"appX"},"webhook":{"id":"achX"}}"#,
                "timestamp is missing",
            ),
            (
                r#"{"base":{"id":"appX"},"webhook":{"id":"achX"},"timestamp":5}"#,
                "timestamp is not a string",
            ),
            (
                r#"{"base":{"id":"appX"},"webhook":{"id":"achX"},"timestamp":"yesterday"}"#,
                "timestamp \"yesterday\" is not an RFC 3339 time",
            ),
        ] {
            assert_eq!(check(body), Err(VerifyError::Body(why.into())), "{body}");
        }
    }
}
