//! Logging: JSON lines by default, `LEADSYNC_LOG_FORMAT=pretty` for humans, `RUST_LOG` filters.

use std::io::{self, IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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
        LogTarget::Stdout => BoxMakeWriter::new(|| LossyWriter::new(io::stdout(), &STDOUT_GONE)),
        LogTarget::Stderr => {
            BoxMakeWriter::new(|| LossyWriter::new(UnderBar(io::stderr()), &STDERR_GONE))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Its own write errors would go to stderr through `eprintln!`, which panics when stderr
        // is closed too: `LossyWriter` reports a lost log output once, without panicking.
        .log_internal_errors(false);
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

/// Writes with the progress bar (if one is drawn on stderr) cleared, so a log line scrolls
/// above the bar instead of being drawn over.
struct UnderBar<W: Write>(W);

impl<W: Write> Write for UnderBar<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::progress::while_hidden(|| self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// A log writer that survives its reader going away (`leadsync serve | head`): the first
/// failed write (EPIPE, usually) marks the output gone, says so once on stderr, and every later
/// line is dropped. Logging must never fail, block on retries or panic the task that logs;
/// the shutdown path logs too.
pub(crate) struct LossyWriter<W: Write> {
    inner: W,
    gone: &'static AtomicBool,
}

impl<W: Write> LossyWriter<W> {
    pub(crate) fn new(inner: W, gone: &'static AtomicBool) -> Self {
        Self { inner, gone }
    }
}

impl<W: Write> Write for LossyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.gone.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => {
                if !self.gone.swap(true, Ordering::Relaxed) {
                    let note = format!("leadsync: log output lost ({err}); logging stops\n");
                    // Never `eprintln!`: it panics if stderr is closed as well.
                    let _ = io::stderr().write_all(note.as_bytes());
                }
                Ok(buf.len())
            }
            // A writer that takes nothing would make `write_all` fail: treat it as gone too.
            Ok(0) if !buf.is_empty() => {
                self.gone.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            Ok(n) => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.gone.load(Ordering::Relaxed) && self.inner.flush().is_err() {
            self.gone.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands for a pipe whose reader exited: every write fails with EPIPE.
    struct ClosedPipe(usize);

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.0 += 1;
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn a_closed_output_swallows_lines_and_stops_trying() {
        static GONE: AtomicBool = AtomicBool::new(false);
        let mut writer = LossyWriter::new(ClosedPipe(0), &GONE);
        writer.write_all(b"first line\n").expect("never fails");
        writer.write_all(b"second line\n").expect("never fails");
        writer.flush().expect("never fails");
        assert!(GONE.load(Ordering::Relaxed));
        assert_eq!(
            writer.inner.0, 1,
            "no write is tried once the output is gone"
        );
    }

    #[test]
    fn a_working_output_gets_every_byte() {
        static GONE: AtomicBool = AtomicBool::new(false);
        let mut writer = LossyWriter::new(Vec::new(), &GONE);
        writer.write_all(b"line\n").expect("writes");
        assert_eq!(writer.inner, b"line\n");
        assert!(!GONE.load(Ordering::Relaxed));
    }
}
