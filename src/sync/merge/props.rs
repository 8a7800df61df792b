//! Property tests of the merge: a tiny in-test engine fed user edits from both sides through a
//! channel that duplicates, reorders and loses events, then one reconciliation.

use std::collections::BTreeMap;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

const FIELDS: [Field; 2] = [Field::Name, Field::Status];
const INITIAL: &str = "initial";

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    /// A user sets a field on one side to a value never used before.
    Edit { side: Side, field: usize },
    /// A user sets a field on one side to what the other side shows now (typing the status a
    /// card was just moved to, say): the same value, a new word.
    Retype { side: Side, field: usize },
    /// The channel delivers any pending event, possibly keeping a copy for a later duplicate.
    Deliver { pick: usize, duplicate: bool },
    /// The channel drops any pending event.
    Lose { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let side = prop_oneof![Just(Side::Sheet), Just(Side::Trello)];
    prop_oneof![
        3 => (side, 0..FIELDS.len()).prop_map(|(side, field)| Op::Edit { side, field }),
        5 => (any::<usize>(), prop::bool::weighted(0.25))
            .prop_map(|(pick, duplicate)| Op::Deliver { pick, duplicate }),
        1 => any::<usize>().prop_map(|pick| Op::Lose { pick }),
    ]
}

/// [`op`] with retyping too (values repeat, so only the convergence property uses it).
fn op_or_retype() -> impl Strategy<Value = Op> {
    let side = prop_oneof![Just(Side::Sheet), Just(Side::Trello)];
    prop_oneof![
        4 => op(),
        1 => (side, 0..FIELDS.len()).prop_map(|(side, field)| Op::Retype { side, field }),
    ]
}

#[derive(Debug, Clone)]
struct Event {
    side: Side,
    field: usize,
    value: String,
    at: i64,
    by_leadsync: bool,
    /// The user edit this event reports, if it is not an echo of ours.
    edit: Option<usize>,
}

#[derive(Debug)]
struct Edit {
    side: Side,
    field: usize,
    value: String,
    at: i64,
    delivered: bool,
}

/// The two systems, the engine's stored state and the channel between them. One clock tick per
/// step, so every edit, decision and write has its own time; writes land at once.
#[derive(Default)]
struct World {
    policy: ConflictPolicy,
    clock: i64,
    values: BTreeMap<(Side, usize), String>,
    last_write: BTreeMap<(Side, usize), i64>,
    state: LeadState,
    pending: Vec<Event>,
    edits: Vec<Edit>,
}

impl World {
    fn new(policy: ConflictPolicy) -> Self {
        let mut world = World {
            policy,
            ..World::default()
        };
        for (i, field) in FIELDS.iter().enumerate() {
            for side in [Side::Sheet, Side::Trello] {
                world.values.insert((side, i), INITIAL.to_owned());
            }
            let agreed = Some(Agreed::new(INITIAL, t(0), None));
            world.state.insert(
                *field,
                FieldState {
                    agreed,
                    ..FieldState::default()
                },
            );
        }
        world
    }

    fn step(&mut self, op: &Op) {
        self.clock += 1;
        match *op {
            Op::Edit { side, field } | Op::Retype { side, field } => {
                let value = match op {
                    Op::Retype { .. } => self.values[&(side.other(), field)].clone(),
                    _ => format!("{side}-{}", self.edits.len()),
                };
                self.values.insert((side, field), value.clone());
                let edit = Some(self.edits.len());
                self.edits.push(Edit {
                    side,
                    field,
                    value: value.clone(),
                    at: self.clock,
                    delivered: false,
                });
                self.pending.push(Event {
                    side,
                    field,
                    value,
                    at: self.clock,
                    by_leadsync: false,
                    edit,
                });
            }
            Op::Deliver { pick, duplicate } if !self.pending.is_empty() => {
                let i = pick % self.pending.len();
                let event = if duplicate {
                    self.pending[i].clone()
                } else {
                    self.pending.swap_remove(i)
                };
                if let Some(e) = event.edit {
                    self.edits[e].delivered = true;
                }
                self.deliver(&event);
            }
            Op::Lose { pick } if !self.pending.is_empty() => {
                let i = pick % self.pending.len();
                self.pending.swap_remove(i);
            }
            Op::Deliver { .. } | Op::Lose { .. } => {}
        }
    }

    fn deliver(&mut self, event: &Event) {
        let observed = Observed {
            value: event.value.clone(),
            changed_at: Some(t(event.at)),
            by_leadsync: event.by_leadsync,
            set: !event.by_leadsync,
        };
        let obs: LeadObservation = [(FIELDS[event.field], observed)].into();
        let none = LeadObservation::new();
        let (sheet, trello) = match event.side {
            Side::Sheet => (&obs, &none),
            Side::Trello => (&none, &obs),
        };
        let decisions = merge_lead(&self.state, sheet, trello, self.policy, t(self.clock));
        if event.by_leadsync {
            assert!(
                decisions.iter().all(|d| d.writes.is_empty()),
                "an echo caused a write"
            );
        }
        self.apply(decisions, true);
    }

    fn apply(&mut self, decisions: Vec<Decision>, echo: bool) {
        for d in decisions {
            let field = FIELDS.iter().position(|f| *f == d.field).unwrap();
            for w in &d.writes {
                self.values.insert((w.side, field), w.value.clone());
                self.last_write.insert((w.side, field), self.clock);
                if echo {
                    let value = w.value.clone();
                    self.pending.push(Event {
                        side: w.side,
                        field,
                        value,
                        at: self.clock,
                        by_leadsync: true,
                        edit: None,
                    });
                }
            }
            self.state.insert(d.field, d.next);
        }
    }

    /// Both sides read whole at one instant, later than every edit; whatever is still in
    /// the channel is lost.
    fn reconcile(&mut self) {
        self.clock += 1;
        let read = |side: Side, values: &BTreeMap<(Side, usize), String>| -> LeadObservation {
            FIELDS
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        *f,
                        Observed::user(values[&(side, i)].clone(), Some(t(self.clock))),
                    )
                })
                .collect()
        };
        let (sheet, trello) = (
            read(Side::Sheet, &self.values),
            read(Side::Trello, &self.values),
        );
        let decisions = merge_lead(&self.state, &sheet, &trello, self.policy, t(self.clock));
        self.apply(decisions, false);
    }

    fn agreed(&self, field: usize) -> String {
        self.state[&FIELDS[field]]
            .agreed
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default()
    }
}

/// The value a field must end with under `last_writer_wins`. Let L be the field's latest edit.
///
/// - No edit: the initial value.
/// - L's event was delivered at least once: L's value.
/// - L's event was lost, so only the reconciliation can find L. Compare each side's value just
///   before it with the engine's last agreed value `a`:
///   - both sides differ from `a` (L's side, and the other side changed too since the last
///     agreement): both are "changed" at the same observed instant, and the tie rule gives the
///     sheet's value — L's value if L was made in the sheet, the other edit's value if not;
///   - only L's side differs: L's value;
///   - L's side holds `a`: leadsync overwrote L with a blind write (a change from the other
///     side, made before L but delivered after it) and, its event lost, L is gone; the other
///     side's value wins if it differs from `a`, else `a` stays.
///
/// The test asserts that L's side still holds L's value whenever no write of ours landed on it
/// after L, so the first two sub-cases are exactly "L survived".
fn expected(world: &World, snapshot: &BTreeMap<(Side, usize), String>, field: usize) -> String {
    let Some(latest) = world.edits.iter().rev().find(|e| e.field == field) else {
        return INITIAL.to_owned();
    };
    if latest.delivered {
        return latest.value.clone();
    }
    let own = &snapshot[&(latest.side, field)];
    let other = &snapshot[&(latest.side.other(), field)];
    let overwritten = world
        .last_write
        .get(&(latest.side, field))
        .is_some_and(|w| *w > latest.at);
    if !overwritten {
        assert_eq!(
            own, &latest.value,
            "L's side lost L without a write of ours"
        );
    }
    let agreed = world.agreed(field);
    match (own != &agreed, other != &agreed) {
        (true, true) => snapshot[&(Side::Sheet, field)].clone(),
        (true, false) => own.clone(),
        (false, _) => other.clone(),
    }
}

fn run(policy: ConflictPolicy, ops: &[Op]) -> World {
    let mut world = World::new(policy);
    for op in ops {
        world.step(op);
    }
    world
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every field ends equal on both sides and holds the value `expected` describes.
    #[test]
    fn lossy_delivery_then_reconciliation_ends_equal_with_the_latest_edit(
        ops in prop::collection::vec(op(), 1..80)
    ) {
        let mut world = run(ConflictPolicy::LastWriterWins, &ops);
        let snapshot = world.values.clone();
        let want: Vec<String> = (0..FIELDS.len()).map(|f| expected(&world, &snapshot, f)).collect();
        world.reconcile();
        for (f, want) in want.iter().enumerate() {
            prop_assert_eq!(&world.values[&(Side::Sheet, f)], want, "sheet, field {}", f);
            prop_assert_eq!(&world.values[&(Side::Trello, f)], want, "trello, field {}", f);
        }
    }

    /// Under every policy the sides end equal on the agreed value, and no echo writes.
    #[test]
    fn every_policy_converges_after_one_reconciliation(
        ops in prop::collection::vec(op_or_retype(), 1..80),
        policy in prop_oneof![
            Just(ConflictPolicy::LastWriterWins),
            Just(ConflictPolicy::PreferSheet),
            Just(ConflictPolicy::PreferTrello),
        ],
    ) {
        let mut world = run(policy, &ops);
        world.reconcile();
        for f in 0..FIELDS.len() {
            let agreed = world.agreed(f);
            prop_assert_eq!(&world.values[&(Side::Sheet, f)], &agreed);
            prop_assert_eq!(&world.values[&(Side::Trello, f)], &agreed);
        }
    }
}
