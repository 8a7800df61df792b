//! What the dispatcher's files share: a claimed command, the outcome of sending it, and how
//! that outcome was recorded. Kept below both the dispatcher and the recorder so neither imports
//! the other.

use crate::clients::http::ClientError;
use crate::store::outbox::{Command as Stored, NewCommand};
use crate::sync::plan::commands::Command;

/// A claimed command with its parsed payload.
pub(crate) struct Claimed {
    pub row: Stored,
    pub cmd: Command,
}

/// Store changes that belong to a command's success and commit with its completion.
#[derive(Debug, Default)]
pub(crate) struct FollowUp {
    /// The card made (or adopted) for the lead: id and short URL.
    pub card: Option<(String, String)>,
    /// The card is gone from Trello: the link keeps the lead but loses the card.
    pub card_deleted: bool,
    pub closed: Option<bool>,
    pub row_hint: Option<i64>,
    /// The lead's new id reached its row.
    pub id_landed: bool,
    /// The row a new id was made for is gone: the lead is forgotten if nothing else needs it.
    pub abandon: bool,
    /// The lead's id becomes this one (an Airtable pair's lead is keyed by its record id, known
    /// once the record is made); done after the other changes, before `enqueue`.
    pub renamed: Option<String>,
    pub enqueue: Vec<NewCommand>,
}

pub(crate) enum Outcome {
    /// Finished; `skipped` says why nothing (or not everything) was sent.
    Done {
        follow: FollowUp,
        skipped: Option<String>,
    },
    /// The call failed; `retryable` failures are tried again until the attempts run out.
    Failed { retryable: bool, error: String },
    /// The command can never succeed as it is (bad payload, missing column …).
    Invalid(String),
}

impl Outcome {
    pub fn sent(follow: FollowUp) -> Self {
        Self::Done {
            follow,
            skipped: None,
        }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        Self::Done {
            follow: FollowUp::default(),
            skipped: Some(why.into()),
        }
    }

    pub fn failed(e: &ClientError) -> Self {
        Self::Failed {
            retryable: e.is_retryable(),
            error: e.to_string(),
        }
    }
}

/// How an outcome ended up in the outbox; `Lost` when the claim had already lapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    Sent,
    Skipped,
    Retried,
    Dead,
    Lost,
}

impl Recorded {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Retried => "retried",
            Self::Dead => "dead",
            Self::Lost => "lease_lost",
        }
    }
}
