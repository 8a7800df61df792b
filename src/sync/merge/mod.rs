//! The one merge (DESIGN §1, CONTRACT §5): from the agreed state of a field and what each side
//! is observed to hold, decide copy, conflict, echo or nothing. Webhook events and
//! reconciliation both come through here. Pure: no I/O, no clock (the caller passes `now`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{ConflictPolicy, Field, Side, ValueHash};

/// The value both sides last agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    pub hash: ValueHash,
    pub value: String,
    /// Time of the change that produced this value (not of the decision).
    pub agreed_at: DateTime<Utc>,
    /// The side whose change produced it; `None` when both sides arrived at it together.
    pub writer: Option<Side>,
}

impl Agreed {
    pub fn new(value: impl Into<String>, agreed_at: DateTime<Utc>, writer: Option<Side>) -> Self {
        let value = value.into();
        Self {
            hash: ValueHash::of(&value),
            value,
            agreed_at,
            writer,
        }
    }
}

/// What leadsync remembers of one side of one field, beyond the agreed value. Both times are
/// needed because events arrive late, twice, or out of order, and writes are blind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideMemory {
    /// The latest change time from this side already decided on: anything not newer is old
    /// news (a duplicate, or a state this side has since left) and is ignored.
    pub seen_at: Option<DateTime<Utc>>,
    /// When leadsync last wrote this side. A user change older than that write was overwritten
    /// by it (neither API has conditional writes), so if that change wins it must be written
    /// back to its own side too. The merge records `now` (the write lands later); the engine
    /// may move it to the landing time, and an echo of our write moves it to the echo's time.
    pub written_at: Option<DateTime<Utc>>,
}

/// Everything stored per (link, field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldState {
    pub agreed: Option<Agreed>,
    pub sheet: SideMemory,
    pub trello: SideMemory,
}

impl FieldState {
    pub fn side(&self, side: Side) -> &SideMemory {
        match side {
            Side::Sheet => &self.sheet,
            Side::Trello => &self.trello,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut SideMemory {
        match side {
            Side::Sheet => &mut self.sheet,
            Side::Trello => &mut self.trello,
        }
    }
}

/// What one side holds now, as an event or a reconciliation read reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub value: String,
    /// The change's own time (Trello `action.date`, Apps Script `edited_at`, or the time a
    /// reconciliation read it); `None` when unknown.
    pub changed_at: Option<DateTime<Utc>>,
    /// True for leadsync's own write coming back (a Trello action by our member id). It carries
    /// no user intent, only the time the write landed.
    pub by_leadsync: bool,
    /// The side reports this value as set by the change at `changed_at` (the cells of an
    /// Airtable change, the fields of a Trello action), not merely shown beside it (the whole
    /// row of an Apps Script event, a reconciliation read): a person's word at that time, even
    /// when it repeats the agreed value.
    pub set: bool,
}

impl Observed {
    pub fn user(value: impl Into<String>, changed_at: Option<DateTime<Utc>>) -> Self {
        Self {
            value: value.into(),
            changed_at,
            by_leadsync: false,
            set: false,
        }
    }

    /// A value a person set on its side at `changed_at` (see [`Observed::set`]).
    pub fn set_by_user(value: impl Into<String>, changed_at: DateTime<Utc>) -> Self {
        Self {
            set: true,
            ..Self::user(value, Some(changed_at))
        }
    }

    pub fn leadsync(value: impl Into<String>, changed_at: Option<DateTime<Utc>>) -> Self {
        Self {
            by_leadsync: true,
            ..Self::user(value, changed_at)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    CopyToTrello,
    CopyToSheet,
    /// Both sides changed to different values; `winner`'s value is written to the other side.
    Conflict {
        winner: Side,
    },
    /// An observation of the agreed value that leadsync wrote there (or of our own write).
    Echo,
    /// Nothing to do: no change, old news, or both sides changed to the same value.
    Noop,
}

impl DecisionKind {
    /// The CONTRACT §6 `decision` name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::CopyToTrello => "copy_to_trello",
            DecisionKind::CopyToSheet => "copy_to_sheet",
            DecisionKind::Conflict { .. } => "conflict",
            DecisionKind::Echo => "echo",
            DecisionKind::Noop => "noop",
        }
    }
}

/// A value to write to one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub side: Side,
    pub value: String,
    /// Set on a write that puts back a change this side showed at that time, which a blind
    /// write of ours landed on afterwards: the same side may have moved on again between that
    /// change and our write, unheard of (a lost delivery), and putting the older value back
    /// would revert it. A board that keeps each card's history is asked first
    /// (`outbox::restore`).
    pub restores: Option<DateTime<Utc>>,
}

impl Write {
    pub fn new(side: Side, value: String) -> Self {
        Self {
            side,
            value,
            restores: None,
        }
    }
}

/// The CONTRACT §6 fields of a decision (the caller adds pair, lead and card). For a conflict
/// with one side unobserved, that side is described by the agreed value it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub field: Field,
    pub decision: &'static str,
    pub sheet_value_hash: Option<ValueHash>,
    pub trello_value_hash: Option<ValueHash>,
    /// The values behind the hashes, kept for the activity log (so an operator can restore a
    /// losing edit); never logged, since they are user data.
    pub sheet_value: Option<String>,
    pub trello_value: Option<String>,
    pub sheet_changed_at: Option<DateTime<Utc>>,
    pub trello_changed_at: Option<DateTime<Utc>>,
    pub winner: Option<Side>,
    pub policy: ConflictPolicy,
    /// The winner was chosen by [`MergeRules::initial_source`] (no agreed value yet), not by
    /// the conflict policy.
    pub by_initial_source: bool,
}

/// How the merge settles two sides that disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeRules {
    /// Conflicts between edits made since the last agreement.
    pub policy: ConflictPolicy,
    /// A field with no agreed value yet whose sides differ (a lead linked for the first time
    /// onto data both sides already hold): this side's value stands, whatever the policy and
    /// the change times say. Reads carry no change times, so without it the sheet would win
    /// by the tie rule even where the board holds the truth.
    pub initial_source: Side,
}

impl From<ConflictPolicy> for MergeRules {
    /// The sheet as initial source: the `sync.initial_source` default.
    fn from(policy: ConflictPolicy) -> Self {
        Self {
            policy,
            initial_source: Side::Sheet,
        }
    }
}

/// One field's decision: its kind, the writes to enqueue, and the state to store with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub field: Field,
    pub kind: DecisionKind,
    /// Usually one write, to the other side. Two when the winning side was itself overwritten
    /// by an earlier blind write of ours after its change. None for echo and noop.
    pub writes: Vec<Write>,
    pub next: FieldState,
    pub record: DecisionRecord,
}

/// One side's observations for a lead, by field.
pub type LeadObservation = BTreeMap<Field, Observed>;
/// The stored state of a lead, by field; a field without an entry has never been agreed.
pub type LeadState = BTreeMap<Field, FieldState>;

/// Decides every field observed on either side.
pub fn merge_lead(
    state: &LeadState,
    sheet: &LeadObservation,
    trello: &LeadObservation,
    rules: impl Into<MergeRules>,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let rules = rules.into();
    let default = FieldState::default();
    Field::ALL
        .iter()
        .filter(|f| sheet.contains_key(f) || trello.contains_key(f))
        .map(|f| {
            let st = state.get(f).unwrap_or(&default);
            merge_field(*f, st, sheet.get(f), trello.get(f), rules, now)
        })
        .collect()
}

/// Decides one field. `None` for a side means it was not observed in this decision set: it is
/// assumed to still hold the agreed value.
pub fn merge_field(
    field: Field,
    state: &FieldState,
    sheet: Option<&Observed>,
    trello: Option<&Observed>,
    rules: impl Into<MergeRules>,
    now: DateTime<Utc>,
) -> Decision {
    let MergeRules {
        policy,
        initial_source,
    } = rules.into();
    let again = rules::reasserted(state, sheet, trello);
    let state = again.as_ref().unwrap_or(state);
    let mut m = Merge {
        state,
        policy,
        initial_source,
        by_initial_source: false,
        now,
        next: state.clone(),
        writes: Vec::new(),
    };
    let views = [(Side::Sheet, sheet), (Side::Trello, trello)].map(|(side, obs)| {
        let view = m.classify(side, obs);
        m.remember(side, obs);
        (side, view)
    });
    let changed: Vec<(Side, &Observed)> = views
        .iter()
        .filter_map(|(side, v)| match v {
            View::Changed(o) => Some((*side, *o)),
            _ => None,
        })
        .collect();
    let kind = match changed[..] {
        [] => m.unchanged(&views),
        [(side, obs)] => m.one_changed(side, obs),
        [(_, s), (_, t)] => m.both_changed(s, t),
        _ => unreachable!("two sides at most"),
    };
    m.finish(field, kind, sheet, trello)
}

#[derive(Debug, Clone, Copy)]
enum View<'a> {
    Unobserved,
    /// Our own write coming back.
    Ours(&'a Observed),
    /// Holds the agreed value.
    Agrees,
    /// Not newer than what this side already told us.
    Old,
    Changed(&'a Observed),
}

struct Merge<'a> {
    state: &'a FieldState,
    policy: ConflictPolicy,
    initial_source: Side,
    /// Set when `initial_source` chose the winner.
    by_initial_source: bool,
    now: DateTime<Utc>,
    next: FieldState,
    writes: Vec<Write>,
}

mod rules;
pub mod state;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
