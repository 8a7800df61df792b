//! How a failed command reports: one message on stderr, each cause said once, and exit status 2
//! for configuration problems (CONTRACT: an invalid config exits 2 everywhere) or 1 otherwise.

use crate::admin::AdminError;
use crate::clients::http::ClientError;
use crate::config::ConfigError;
use crate::sync::engine::EngineError;

/// Exit status for bad usage and invalid configuration (clap uses it for usage errors too).
pub const EXIT_CONFIG: u8 = 2;

/// The error and its causes joined with ": ", skipping a cause whose text the message already
/// holds (a thiserror `"pair {pair}: {source}"` with `#[source]` would otherwise say it twice).
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Whether the failure is one to fix in the configuration (a missing credential the command
/// needs, an unreadable key file, an invalid value): decided by the error's type, never its text.
pub fn is_config_error(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<ConfigError>().is_some()
            || cause
                .downcast_ref::<ClientError>()
                .is_some_and(is_config_client)
            || cause
                .downcast_ref::<AdminError>()
                .is_some_and(AdminError::is_usage)
            || matches!(
                cause.downcast_ref::<EngineError>(),
                Some(EngineError::Client(inner)) if is_config_client(inner)
            )
    })
}

fn is_config_client(err: &ClientError) -> bool {
    matches!(err, ClientError::Config(_))
}

/// The exit status for a failed command.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if is_config_error(err) { EXIT_CONFIG } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("pair {pair}: {source}")]
    struct Wrapped {
        pair: String,
        #[source]
        source: ClientError,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let inner = ClientError::NotFound {
            system: "trello",
            endpoint: "board",
        };
        let err = anyhow::Error::new(Wrapped {
            pair: "sales".into(),
            source: inner,
        })
        .context("starting the engine");
        assert_eq!(
            error_text(&err),
            "starting the engine: pair sales: trello board: not found"
        );
    }

    #[test]
    fn configuration_problems_are_recognised_by_type_through_wrappers() {
        let missing = ClientError::Config("trello.api_key is empty".into());
        let engine = anyhow::Error::new(EngineError::Client(missing)).context("building");
        assert!(is_config_error(&engine));
        assert_eq!(exit_code(&engine), EXIT_CONFIG);
        let invalid = anyhow::Error::new(ConfigError::Invalid {
            key: "trello.api_secret".into(),
            problem: "is empty".into(),
        });
        assert_eq!(exit_code(&invalid), EXIT_CONFIG);
        let runtime = anyhow::Error::new(ClientError::NotFound {
            system: "trello",
            endpoint: "board",
        });
        assert_eq!(exit_code(&runtime), 1);
    }
}
