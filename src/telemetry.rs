//! Logging: JSON lines by default, `LEADSYNC_LOG_FORMAT=pretty` for humans, `RUST_LOG` filters.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Where log lines go: `serve` logs to stdout; other commands keep stdout for their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

impl LogTarget {
    /// Colours only for a terminal: escape codes in a file, a pipe or a log collector are noise.
    fn is_terminal(self) -> bool {
        match self {
            Self::Stdout => std::io::stdout().is_terminal(),
            Self::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// The two logging variables, given explicitly so `main` can take them from `.env` as well as
/// from the environment (setting environment variables is `unsafe` in edition 2024).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// `RUST_LOG`, if set.
    pub filter: Option<String>,
    /// `LEADSYNC_LOG_FORMAT`, if set: `pretty` or `json`.
    pub format: Option<String>,
}

impl LogSettings {
    /// From the process environment only.
    pub fn from_env() -> Self {
        Self {
            filter: std::env::var("RUST_LOG").ok(),
            format: std::env::var("LEADSYNC_LOG_FORMAT").ok(),
        }
    }

    fn pretty(&self) -> bool {
        self.format
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("pretty"))
    }
}

/// Installs the global subscriber from the process environment. Secrets cannot reach it: they
/// are `SecretString`s whose `Debug` is redacted, and outbound errors are stripped of URLs.
pub fn init(target: LogTarget) {
    init_with(target, &LogSettings::from_env(), "info");
}

/// As [`init`], with explicit settings and the filter used when `RUST_LOG` is unset.
pub fn init_with(target: LogTarget, settings: &LogSettings, default_filter: &str) {
    let filter = settings
        .filter
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let writer = match target {
        LogTarget::Stdout => BoxMakeWriter::new(std::io::stdout),
        LogTarget::Stderr => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // try_init: tests and the demo may build several apps in one process.
    let _ = if settings.pretty() {
        builder.pretty().with_ansi(target.is_terminal()).try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    };
}
