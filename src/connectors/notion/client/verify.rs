//! Notion webhook signatures: `X-Notion-Signature: sha256=<lowercase hex of HMAC-SHA256 of the
//! raw body keyed by the verification token>`, compared in constant time. Pure: no I/O, no clock.

use hmac::{Hmac, KeyInit, Mac};

/// The header Notion signs events with.
pub const SIGNATURE_HEADER: &str = "X-Notion-Signature";
const PREFIX: &str = "sha256=";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{SIGNATURE_HEADER} header: {0}")]
    MalformedHeader(&'static str),
    #[error("no verification token is known to check {SIGNATURE_HEADER} with")]
    NoToken,
    #[error("{SIGNATURE_HEADER} does not match the body")]
    BadSignature,
}

/// The header value Notion sends for `body` under `token` (what the tests sign with).
#[cfg(test)]
fn sign(token: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{PREFIX}{hex}")
}

/// Checks that `header_value` is the HMAC-SHA256 of `raw_body` keyed with `token`, in constant
/// time (`Mac::verify_slice`). Nothing of the body is parsed here.
pub fn verify_signature(
    token: &str,
    raw_body: &[u8],
    header_value: &str,
) -> Result<(), VerifyError> {
    if token.is_empty() {
        return Err(VerifyError::NoToken);
    }
    let expected = parse_header(header_value)?;
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token.as_bytes())
        .map_err(|_| VerifyError::NoToken)?;
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| VerifyError::BadSignature)
}

/// `sha256=` and 64 hex digits, as the 32 bytes they spell.
fn parse_header(value: &str) -> Result<Vec<u8>, VerifyError> {
    let hex = value
        .trim()
        .strip_prefix(PREFIX)
        .ok_or(VerifyError::MalformedHeader("does not start with sha256="))?;
    if hex.len() != 64 {
        return Err(VerifyError::MalformedHeader(
            "the signature is not 64 hex digits",
        ));
    }
    let digit = |b: u8| (b as char).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok((hi * 16 + lo) as u8),
            _ => Err(VerifyError::MalformedHeader(
                "the signature has a non-hex character",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"e1","type":"page.created","entity":{"id":"p","type":"page"}}"#;

    #[test]
    fn the_signature_matches_an_independent_hmac_sha256_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_good_signature_is_accepted() {
        let header = sign("secret_token", BODY);
        assert_eq!(verify_signature("secret_token", BODY, &header), Ok(()));
        assert_eq!(
            verify_signature(
                "secret_token",
                BODY,
                &header.to_uppercase().replace("SHA256=", "sha256=")
            ),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_or_a_wrong_token_is_refused() {
        let header = sign("secret_token", BODY);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify_signature("secret_token", &tampered, &header),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature("other_token", BODY, &header),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature("", BODY, &header),
            Err(VerifyError::NoToken)
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let header = sign("t", BODY);
        let cases = [
            header.replace("sha256=", "sha1="),
            header[..header.len() - 2].to_owned(),
            format!("sha256={}", "zz".repeat(32)),
            String::new(),
        ];
        for case in cases {
            assert!(
                matches!(
                    verify_signature("t", BODY, &case),
                    Err(VerifyError::MalformedHeader(_))
                ),
                "{case}"
            );
        }
    }
}
