//! Credentials of an emulated Trello request: the OAuth header, or `key`/`token` query parameters.

use axum::http::{HeaderMap, Uri, header::AUTHORIZATION};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub key: Option<String>,
    pub token: Option<String>,
}

/// Reads `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"`, then the query string.
pub fn credentials(headers: &HeaderMap, uri: &Uri) -> Credentials {
    let mut creds = Credentials::default();
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if value.len() > 6 && value[..6].eq_ignore_ascii_case("oauth ") {
            for part in value[6..].split(',') {
                let Some((name, raw)) = part.trim().split_once('=') else {
                    continue;
                };
                let v = raw.trim().trim_matches('"').to_owned();
                match name.trim() {
                    "oauth_consumer_key" => creds.key = Some(v),
                    "oauth_token" => creds.token = Some(v),
                    _ => {}
                }
            }
        }
    }
    for pair in uri.query().unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("key", v)) if creds.key.is_none() => creds.key = Some(v.to_owned()),
            Some(("token", v)) if creds.token.is_none() => creds.token = Some(v.to_owned()),
            _ => {}
        }
    }
    creds
}

/// The quota keys Trello counts a request against: its token and its key.
pub fn quota_keys(headers: &HeaderMap, uri: &Uri) -> Vec<String> {
    let c = credentials(headers, uri);
    let mut keys = Vec::new();
    if let Some(t) = c.token {
        keys.push(format!("token:{t}"));
    }
    if let Some(k) = c.key {
        keys.push(format!("key:{k}"));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_oauth_header_and_falls_back_to_query_parameters() {
        let mut headers = HeaderMap::new();
        let value = r#"OAuth oauth_consumer_key="k1", oauth_token="t1""#;
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        let uri: Uri = "/1/members/me".parse().unwrap();
        let c = credentials(&headers, &uri);
        assert_eq!(
            (c.key.as_deref(), c.token.as_deref()),
            (Some("k1"), Some("t1"))
        );
        let uri: Uri = "/1/members/me?key=k2&token=t2".parse().unwrap();
        let c = credentials(&HeaderMap::new(), &uri);
        assert_eq!(
            (c.key.as_deref(), c.token.as_deref()),
            (Some("k2"), Some("t2"))
        );
        assert_eq!(
            quota_keys(&HeaderMap::new(), &uri),
            vec!["token:t2", "key:k2"]
        );
    }
}
