//! Logging: JSON lines by default, `LEADSYNC_LOG_FORMAT=pretty` for humans, `RUST_LOG` filters.

use std::collections::HashMap;
use std::io::{self, IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::callsite::{Callsite, Identifier};
use tracing::field::{FieldSet, Value};
use tracing::level_filters::LevelFilter;
use tracing::metadata::Kind;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};

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

// ===== Events whose field names are known only at run time =====

/// One callsite per (target, level, message, field names): `tracing` names an event's fields
/// where the event is written, as `&'static str`s, so a name made at run time (a tracker
/// side's `airtable_value_hash`, from its kind) needs a callsite made at run time too. Each is
/// made once and kept for the life of the process: the names come from a closed set (the
/// tracker kinds), so the leaked memory is bounded.
struct RuntimeCallsite {
    meta: OnceLock<Metadata<'static>>,
}

impl Callsite for RuntimeCallsite {
    // Not cached: [`event`] asks the current subscriber on every call (these events are rare).
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        // Set before the callsite is registered or used; a registry never sees it unset.
        self.meta.get().unwrap_or(&UNSET)
    }
}

/// Never seen: stands for a callsite's metadata before it is set.
static UNSET: Metadata<'static> = Metadata::new(
    "unset",
    "leadsync",
    Level::TRACE,
    None,
    None,
    None,
    FieldSet::new(&[], Identifier(&UNSET_CALLSITE)),
    Kind::EVENT,
);
static UNSET_CALLSITE: RuntimeCallsite = RuntimeCallsite {
    meta: OnceLock::new(),
};

type CallsiteKey = (&'static str, Level, &'static str, Vec<String>);

fn runtime_callsite(
    target: &'static str,
    level: Level,
    message: &'static str,
    names: Vec<String>,
) -> &'static Metadata<'static> {
    static MADE: OnceLock<Mutex<HashMap<CallsiteKey, &'static RuntimeCallsite>>> = OnceLock::new();
    let mut made = (MADE.get_or_init(Mutex::default).lock()).unwrap_or_else(|p| p.into_inner());
    let key = (target, level, message, names);
    if let Some(callsite) = made.get(&key) {
        return callsite.metadata_static();
    }
    let mut all: Vec<&'static str> = vec!["message"];
    all.extend(
        key.3
            .iter()
            .map(|n| &*Box::leak(n.clone().into_boxed_str())),
    );
    let all: &'static [&'static str] = Box::leak(all.into_boxed_slice());
    let callsite: &'static RuntimeCallsite = Box::leak(Box::new(RuntimeCallsite {
        meta: OnceLock::new(),
    }));
    let fields = FieldSet::new(all, Identifier(callsite));
    let meta = Metadata::new(
        message,
        target,
        level,
        None,
        None,
        None,
        fields,
        Kind::EVENT,
    );
    let _ = callsite.meta.set(meta);
    tracing::callsite::register(callsite);
    made.insert(key, callsite);
    callsite.metadata_static()
}

impl RuntimeCallsite {
    fn metadata_static(&'static self) -> &'static Metadata<'static> {
        self.meta.get().unwrap_or(&UNSET)
    }
}

/// Emits one event whose field names are made at run time, `message` as its message, to the
/// current subscriber (filtered by `target` and `level` like any event).
pub fn event(
    target: &'static str,
    level: Level,
    message: &'static str,
    fields: &[(String, &dyn Value)],
) {
    if level > LevelFilter::current() {
        return;
    }
    let names = fields.iter().map(|(name, _)| name.clone()).collect();
    let meta = runtime_callsite(target, level, message, names);
    tracing::dispatcher::get_default(|dispatch| {
        if !dispatch.enabled(meta) {
            return;
        }
        let mut values: Vec<Option<&dyn Value>> = vec![Some(&message as &dyn Value)];
        values.extend(fields.iter().map(|(_, value)| Some(*value)));
        let set = meta.fields().value_set_all(&values);
        dispatch.event(&tracing::Event::new(meta, &set));
    });
}

/// Collects what a tracing subscriber writes.
#[cfg(test)]
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The JSON log lines `f` writes, as the daemon's subscriber formats them.
#[cfg(test)]
pub(crate) fn json_logs_of(f: impl FnOnce()) -> Vec<serde_json::Value> {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_takes_field_names_made_at_run_time_and_is_filtered_like_any_other() {
        let name = |side: &str| format!("{side}_value_hash");
        let lines = json_logs_of(|| {
            for side in ["sheet", "notion", "sheet"] {
                let fields: [(String, &dyn Value); 2] =
                    [("pair".into(), &"p"), (name(side), &side)];
                event(module_path!(), Level::INFO, "conflict resolved", &fields);
            }
            let quiet: [(String, &dyn Value); 1] = [(name("x"), &1_i64)];
            event(module_path!(), Level::TRACE, "below the filter", &quiet);
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        for (line, side) in lines.iter().zip(["sheet", "notion", "sheet"]) {
            assert_eq!(line["message"], "conflict resolved", "{line}");
            assert_eq!(line["level"], "INFO");
            assert_eq!(line["target"], module_path!());
            assert_eq!(line["pair"], "p");
            assert_eq!(line[name(side)], side, "{line}");
            let keys = line.as_object().expect("object").keys();
            assert_eq!(keys.filter(|k| k.ends_with("_value_hash")).count(), 1);
        }
    }

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
