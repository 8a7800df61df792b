//! Logging: JSON lines by default, `LEADSYNC_LOG_FORMAT=pretty` for humans, `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Where log lines go: `serve` logs to stdout; other commands keep stdout for their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Installs the global subscriber. Secrets cannot reach it: they are `SecretString`s whose
/// `Debug` is redacted, and outbound errors are stripped of URLs before they are logged.
pub fn init(target: LogTarget) {
    init_with_default(target, "info");
}

/// As [`init`], with another filter when `RUST_LOG` is unset.
pub fn init_with_default(target: LogTarget, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let writer = match target {
        LogTarget::Stdout => BoxMakeWriter::new(std::io::stdout),
        LogTarget::Stderr => BoxMakeWriter::new(std::io::stderr),
    };
    let pretty =
        std::env::var("LEADSYNC_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("pretty"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // try_init: tests and the demo may build several apps in one process.
    let _ = if pretty {
        builder.pretty().try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    };
}
