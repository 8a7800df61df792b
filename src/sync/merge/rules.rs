//! The rules of the merge, case by case (kept apart from the types so each file stays small).

use chrono::{DateTime, Utc};

use super::{
    Agreed, Decision, DecisionKind, DecisionRecord, FieldState, Merge, Observed, View, Write,
};
use crate::model::{ConflictPolicy, Field, Side, ValueHash};

impl<'a> Merge<'a> {
    pub(super) fn classify<'o>(&self, side: Side, obs: Option<&'o Observed>) -> View<'o> {
        let Some(obs) = obs else {
            return View::Unobserved;
        };
        if obs.by_leadsync {
            // We only ever write agreed values and record each write, so our write coming
            // back says no person's word, whatever it holds (see `unchanged` for one that
            // landed after a newer agreement).
            return View::Ours(obs);
        }
        if let Some(agreed) = &self.state.agreed
            && ValueHash::of(&obs.value) == agreed.hash
        {
            return View::Agrees;
        }
        let Some(t) = obs.changed_at else {
            return View::Changed(obs);
        };
        // What this side showed later was seen already: old news. Not for a cell a person set
        // that a blind write of ours landed on after (`written_at`): what was seen since was
        // our write over it, not the side moving on, and the change must still be weighed.
        let overwritten = obs.set && self.overwritten_since(side, Some(t));
        let seen = !overwritten && self.state.side(side).seen_at.is_some_and(|seen| t <= seen);
        // This side's own later change is the agreed one: anything older from it is superseded.
        let superseded = self
            .state
            .agreed
            .as_ref()
            .is_some_and(|a| a.writer == Some(side) && t < a.agreed_at);
        if seen || superseded {
            View::Old
        } else {
            View::Changed(obs)
        }
    }

    pub(super) fn remember(&mut self, side: Side, obs: Option<&Observed>) {
        let Some(Observed {
            changed_at: Some(t),
            by_leadsync,
            ..
        }) = obs
        else {
            return;
        };
        let memory = self.next.side_mut(side);
        let slot = if *by_leadsync {
            &mut memory.written_at
        } else {
            &mut memory.seen_at
        };
        *slot = Some(slot.map_or(*t, |s| s.max(*t)));
    }

    /// Neither side holds a new value: an echo if what came in is a write of ours. A write of
    /// ours planned before the agreed change and landed after it (a card's marker written with
    /// the notes it had when it was planned, over a person's newer notes, whose own delivery
    /// came first) left its side at an older value: the agreed one goes back there, as a
    /// restore of the change that made it, so a later read does not take our stale value for
    /// that side's newest word (chaos seed 335, four histories at once).
    pub(super) fn unchanged(&mut self, views: &[(Side, View<'_>); 2]) -> DecisionKind {
        if let Some(side) = self.stale_echo(views) {
            let agreed = self
                .state
                .agreed
                .clone()
                .expect("a stale echo has an agreed value");
            self.put_back(side, &Observed::user(agreed.value, Some(agreed.agreed_at)));
            return match side {
                Side::Sheet => DecisionKind::CopyToSheet,
                Side::Trello => DecisionKind::CopyToTrello,
            };
        }
        let writer = self.state.agreed.as_ref().and_then(|a| a.writer);
        let echo = views.iter().any(|(side, view)| match view {
            View::Ours(_) => true,
            View::Agrees => writer == Some(side.other()),
            _ => false,
        });
        if echo {
            DecisionKind::Echo
        } else {
            DecisionKind::Noop
        }
    }

    /// The side where a write of ours landed after the agreed change, holding another value,
    /// and no later write of ours is known there (a notice of an older write coming late, with
    /// the agreed value's own write landed after it, changes nothing).
    fn stale_echo(&self, views: &[(Side, View<'_>); 2]) -> Option<Side> {
        let agreed = self.state.agreed.as_ref()?;
        views.iter().find_map(|(side, view)| match view {
            View::Ours(obs) if ValueHash::of(&obs.value) != agreed.hash => {
                let t = obs.changed_at?;
                let latest = (self.state.side(*side).written_at).is_none_or(|w| t >= w);
                (t > agreed.agreed_at && latest).then_some(*side)
            }
            _ => None,
        })
    }

    pub(super) fn one_changed(&mut self, side: Side, obs: &Observed) -> DecisionKind {
        let state = self.state;
        let Some(agreed) = state.agreed.as_ref() else {
            return self.win(side, obs, false);
        };
        // A change older than the agreed one (which then came from the other side or from
        // both, see `classify`): this side changed before hearing of it, so both sides changed
        // since their last agreement.
        let older = obs.changed_at.is_some_and(|t| t < agreed.agreed_at);
        if !older {
            return self.win(side, obs, false);
        }
        let winner = match self.policy {
            // The agreed change is the later one.
            ConflictPolicy::LastWriterWins => side.other(),
            ConflictPolicy::PreferSheet => Side::Sheet,
            ConflictPolicy::PreferTrello => Side::Trello,
        };
        if winner == side {
            return self.win(side, obs, true);
        }
        // Our copy of the agreed value, if it landed after this change, already replaced it.
        if !self.overwritten_since(side, obs.changed_at) {
            self.write(side, agreed.value.clone());
        }
        DecisionKind::Conflict { winner }
    }

    pub(super) fn both_changed(&mut self, sheet: &Observed, trello: &Observed) -> DecisionKind {
        if ValueHash::of(&sheet.value) == ValueHash::of(&trello.value) {
            let at = [sheet.changed_at, trello.changed_at]
                .into_iter()
                .flatten()
                .max();
            self.next.agreed = Some(Agreed::new(&sheet.value, at.unwrap_or(self.now), None));
            for (side, obs) in [(Side::Sheet, sheet), (Side::Trello, trello)] {
                if self.overwritten_since(side, obs.changed_at) {
                    self.put_back(side, obs);
                }
            }
            // Only a side we had overwritten needs the value (rare); say which.
            return match self.writes.first().map(|w| w.side) {
                Some(Side::Sheet) => DecisionKind::CopyToSheet,
                Some(Side::Trello) => DecisionKind::CopyToTrello,
                None => DecisionKind::Noop,
            };
        }
        if self.state.agreed.is_none() {
            // Nothing was ever agreed: not two edits racing, but two existing values of which
            // the operator said which is the truth.
            self.by_initial_source = true;
            let winner = self.initial_source;
            let obs = if winner == Side::Sheet { sheet } else { trello };
            return self.win(winner, obs, true);
        }
        let winner = match self.policy {
            ConflictPolicy::LastWriterWins => match (sheet.changed_at, trello.changed_at) {
                (Some(s), Some(t)) if t > s => Side::Trello,
                // Ties and unknown times go to the sheet (CONTRACT §5).
                _ => Side::Sheet,
            },
            ConflictPolicy::PreferSheet => Side::Sheet,
            ConflictPolicy::PreferTrello => Side::Trello,
        };
        let obs = if winner == Side::Sheet { sheet } else { trello };
        self.win(winner, obs, true)
    }

    /// `side`'s value becomes the agreed one and goes to the other side (and back to its own
    /// side if a blind write of ours replaced it after the change).
    fn win(&mut self, side: Side, obs: &Observed, conflict: bool) -> DecisionKind {
        let at = obs.changed_at.unwrap_or(self.now);
        self.next.agreed = Some(Agreed::new(&obs.value, at, Some(side)));
        self.write(side.other(), obs.value.clone());
        if self.overwritten_since(side, obs.changed_at) {
            self.put_back(side, obs);
        }
        match (conflict, side) {
            (true, winner) => DecisionKind::Conflict { winner },
            (false, Side::Sheet) => DecisionKind::CopyToTrello,
            (false, Side::Trello) => DecisionKind::CopyToSheet,
        }
    }

    fn overwritten_since(&self, side: Side, changed_at: Option<DateTime<Utc>>) -> bool {
        match (self.state.side(side).written_at, changed_at) {
            (Some(w), Some(t)) => w > t,
            _ => false,
        }
    }

    fn write(&mut self, side: Side, value: String) {
        self.next.side_mut(side).written_at = Some(self.now);
        self.writes.push(Write::new(side, value));
    }

    /// Writes `obs` back to its own side, over the blind write of ours that landed on it.
    fn put_back(&mut self, side: Side, obs: &Observed) {
        self.write(side, obs.value.clone());
        if let Some(w) = self.writes.last_mut() {
            w.restores = obs.changed_at;
        }
    }

    pub(super) fn finish(
        self,
        field: Field,
        kind: DecisionKind,
        sheet: Option<&Observed>,
        trello: Option<&Observed>,
    ) -> Decision {
        let conflict = matches!(kind, DecisionKind::Conflict { .. });
        // In a conflict an unobserved side is the one holding the agreed value.
        let standing = self.state.agreed.as_ref().filter(|_| conflict);
        let describe = |obs: Option<&Observed>| match (obs, standing) {
            (Some(o), _) => Described {
                hash: Some(ValueHash::of(&o.value)),
                value: Some(o.value.clone()),
                at: o.changed_at,
            },
            (None, Some(a)) => Described {
                hash: Some(a.hash.clone()),
                value: Some(a.value.clone()),
                at: Some(a.agreed_at),
            },
            (None, None) => Described::default(),
        };
        let (sheet_side, trello_side) = (describe(sheet), describe(trello));
        Decision {
            field,
            kind,
            writes: self.writes,
            next: self.next,
            record: DecisionRecord {
                field,
                decision: kind.as_str(),
                sheet_value_hash: sheet_side.hash,
                trello_value_hash: trello_side.hash,
                sheet_value: sheet_side.value,
                trello_value: trello_side.value,
                sheet_changed_at: sheet_side.at,
                trello_changed_at: trello_side.at,
                winner: match kind {
                    DecisionKind::Conflict { winner } => Some(winner),
                    _ => None,
                },
                policy: self.policy,
                by_initial_source: self.by_initial_source,
            },
        }
    }
}

/// One side as a decision record describes it.
#[derive(Default)]
struct Described {
    hash: Option<ValueHash>,
    value: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// The state as a person who set the agreed value again left it: set on a side later than it
/// was agreed (typing the status a card was just moved to, say), the latest word on the field
/// is that side's. A change from the other side made before it but heard of with it or after
/// is then the older one, and loses under last-writer-wins instead of overwriting what the
/// person set. `None` when no side did so.
pub(super) fn reasserted(
    state: &FieldState,
    sheet: Option<&Observed>,
    trello: Option<&Observed>,
) -> Option<FieldState> {
    let agreed = state.agreed.as_ref()?;
    let (side, obs, at) = [(Side::Sheet, sheet), (Side::Trello, trello)]
        .into_iter()
        .filter_map(|(side, obs)| {
            let obs = obs?;
            let at = obs.changed_at?;
            let again = obs.set && !obs.by_leadsync && ValueHash::of(&obs.value) == agreed.hash;
            (again && at > agreed.agreed_at).then_some((side, obs, at))
        })
        .max_by_key(|(_, _, at)| *at)?;
    let mut next = state.clone();
    next.agreed = Some(Agreed::new(&obs.value, at, Some(side)));
    Some(next)
}
