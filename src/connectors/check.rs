//! What a system's `check` reports, shared by every connector's check and the `check` command
//! that runs them (`crate::check`): one [`Finding`] per checked item, and how a system's account
//! check ended.

use std::fmt;

/// How one checked item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Usable, with something the user may want to act on (and `--fix` cannot do).
    Warning,
    /// Absent, and `--fix` would (or could) create it.
    Missing,
    /// Was absent; created by this run.
    Fixed,
    /// Broken in a way this run cannot repair.
    Error,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Missing => "missing",
            Self::Fixed => "fixed",
            Self::Error => "error",
        }
    }

    pub fn is_usable(self) -> bool {
        matches!(self, Self::Ok | Self::Warning | Self::Fixed)
    }
}

/// One line of the report: `[pair] outcome: what`. `what` never holds a secret: it is built from
/// names, ids and `ClientError`s, which carry neither URLs nor credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub pair: String,
    pub outcome: Outcome,
    pub what: String,
}

impl Finding {
    pub fn new(pair: &str, outcome: Outcome, what: impl Into<String>) -> Self {
        Self {
            pair: pair.to_owned(),
            outcome,
            what: what.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.pair, self.outcome.label(), self.what)
    }
}

/// What each API side's account check ended with, done once and reported for every pair.
pub enum Account<C> {
    Usable(C, String),
    Broken(String),
}

/// Trello and Sheets names are matched as users type them: case and outer spaces do not matter.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}
