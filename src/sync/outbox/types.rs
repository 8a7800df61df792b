//! What the dispatcher's files share: how an outcome ended up in the outbox. Kept below both the
//! dispatcher and the recorder so neither imports the other; the outcome itself and the claimed
//! command are the connectors' too, in `sync::connector`.

/// How an outcome ended up in the outbox; `Lost` when the claim had already lapsed, `Released`
/// when a stopped round gave the command back unsent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    Sent,
    Skipped,
    Retried,
    Dead,
    Released,
    Lost,
}

impl Recorded {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Retried => "retried",
            Self::Dead => "dead",
            Self::Released => "released",
            Self::Lost => "lease_lost",
        }
    }
}
