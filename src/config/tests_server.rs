//! `[server]` and `[database]`: addresses, limits and the database URL, each invalid value
//! named by its key.

use super::tests::{error_text, load_with};

#[test]
fn public_url_must_be_http() {
    assert_eq!(
        error_text("[server]\npublic_url = \"ftp://x\""),
        "server.public_url: must start with http:// or https://"
    );
}

#[test]
fn public_url_must_not_end_with_a_slash() {
    assert_eq!(
        error_text("[server]\npublic_url = \"https://x.example/\""),
        "server.public_url: must not end with a slash"
    );
}

#[test]
fn bind_must_be_a_socket_address() {
    assert!(error_text("[server]\nbind = \"localhost\"").starts_with("server.bind: "));
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    assert_eq!(
        error_text("[server]\nbindd = \"x\""),
        "server.bindd: unknown key"
    );
    assert_eq!(
        error_text("[serverr]\nbind = \"x\""),
        "serverr: unknown key"
    );
    let env = load_with(None, &[], &[("LEADSYNC__SYNC__DEBOUNCE", "5")]).expect_err("rejected");
    assert_eq!(env.to_string(), "sync.debounce: unknown key");
}

#[test]
fn wrong_types_name_the_key() {
    let text = error_text("[server]\nmax_body_bytes = \"lots\"");
    assert!(text.starts_with("server.max_body_bytes: "), "{text}");
}

#[test]
fn body_limit_must_be_positive() {
    assert_eq!(
        error_text("[server]\nmax_body_bytes = 0"),
        "server.max_body_bytes: must be greater than 0"
    );
}

#[test]
fn connection_limits_default_safe_for_a_public_endpoint_and_refuse_0_or_absurd_values() {
    let s = load_with(None, &[], &[]).expect("defaults load");
    let server = &s.server;
    assert_eq!(
        (
            server.header_read_timeout_secs,
            server.body_read_timeout_secs,
            server.idle_timeout_secs
        ),
        (10, 30, 60)
    );
    assert_eq!(
        (server.max_connections, server.max_requests_in_flight),
        (512, 256)
    );
    for (line, error) in [
        (
            "header_read_timeout_secs = 0",
            "server.header_read_timeout_secs: must be between 1 and 300 seconds",
        ),
        (
            "body_read_timeout_secs = 86400",
            "server.body_read_timeout_secs: must be between 1 and 3600 seconds",
        ),
        (
            "idle_timeout_secs = 0",
            "server.idle_timeout_secs: must be between 1 and 3600 seconds",
        ),
        (
            "max_connections = 0",
            "server.max_connections: must be between 1 and 65536",
        ),
        (
            "max_requests_in_flight = 1000000",
            "server.max_requests_in_flight: must be between 1 and 65536",
        ),
    ] {
        assert_eq!(error_text(&format!("[server]\n{line}")), error, "{line}");
    }
}

#[test]
fn database_url_must_be_sqlite_or_postgres() {
    for url in [
        "mysql://x/leads",
        "postgres://",
        "postgresql:///leads",
        "leads.db",
    ] {
        let text = error_text(&format!("[database]\nurl = \"{url}\""));
        assert!(text.starts_with("database.url: "), "{url}: {text}");
    }
    for url in ["postgres://ls:pw@db:5432/leads", "postgresql://db/leads"] {
        let s = load_with(Some(&format!("[database]\nurl = \"{url}\"")), &[], &[]).expect(url);
        assert!(s.database_is_postgres(), "{url}");
        assert_eq!(s.database_path(), None);
    }
}

#[test]
fn database_path_is_taken_from_the_url() {
    let s = load_with(
        Some("[database]\nurl = \"sqlite:///tmp/x/y.db?mode=rwc\""),
        &[],
        &[],
    )
    .expect("loads");
    assert_eq!(
        s.database_path(),
        Some(std::path::PathBuf::from("/tmp/x/y.db"))
    );
}
