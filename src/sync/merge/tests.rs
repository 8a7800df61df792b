//! The merge table: every case of CONTRACT §5 with its expected decision, writes and state.

use chrono::TimeZone;

use super::*;
use crate::model::ConflictPolicy::{LastWriterWins as Lww, PreferSheet, PreferTrello};
use crate::model::Side::{Sheet, Trello};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

const NOW: i64 = 100;

fn agreed(value: &str, at: i64, writer: Option<Side>) -> FieldState {
    FieldState {
        agreed: Some(Agreed::new(value, t(at), writer)),
        ..FieldState::default()
    }
}

fn user(value: &str, at: Option<i64>) -> Option<Observed> {
    Some(Observed::user(value, at.map(t)))
}

fn run(
    state: &FieldState,
    sheet: Option<Observed>,
    trello: Option<Observed>,
    policy: ConflictPolicy,
) -> Decision {
    merge_field(
        Field::Name,
        state,
        sheet.as_ref(),
        trello.as_ref(),
        policy,
        t(NOW),
    )
}

fn writes(d: &Decision) -> Vec<(Side, &str)> {
    d.writes
        .iter()
        .map(|w| (w.side, w.value.as_str()))
        .collect()
}

struct Case {
    what: &'static str,
    state: FieldState,
    sheet: Option<Observed>,
    trello: Option<Observed>,
    policy: ConflictPolicy,
    kind: DecisionKind,
    writes: Vec<(Side, &'static str)>,
    /// The agreed value afterwards (and its writer).
    agreed: Option<(&'static str, Option<Side>)>,
}

fn conflict(winner: Side) -> DecisionKind {
    DecisionKind::Conflict { winner }
}

/// `state` with a write of ours to `side` known at `at`.
fn written(mut state: FieldState, side: Side, at: i64) -> FieldState {
    match side {
        Sheet => state.sheet.written_at = Some(t(at)),
        Trello => state.trello.written_at = Some(t(at)),
    }
    state
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use DecisionKind::*;
    let a = || agreed("A", 10, Some(Sheet));
    let by_trello = || agreed("A", 20, Some(Trello));
    let both = || agreed("A", 10, None);
    let c = |what, state, sheet, trello, policy, kind, writes: Vec<(Side, &'static str)>, agreed| Case {
        what, state, sheet, trello, policy, kind, writes, agreed,
    };
    vec![
        c("sheet changed alone", a(), user("B", Some(20)), None, Lww, CopyToTrello, vec![(Trello, "B")], Some(("B", Some(Sheet)))),
        c("trello changed alone", a(), None, user("B", Some(20)), Lww, CopyToSheet, vec![(Sheet, "B")], Some(("B", Some(Trello)))),
        c("change with unknown time", a(), None, user("B", None), Lww, CopyToSheet, vec![(Sheet, "B")], Some(("B", Some(Trello)))),
        c("reconcile: trello changed", a(), user("A", Some(NOW)), user("B", Some(NOW)), Lww, CopyToSheet, vec![(Sheet, "B")], Some(("B", Some(Trello)))),
        c("both to the same value", a(), user("B", Some(20)), user(" B \r\n", Some(30)), Lww, Noop, vec![], Some(("B", None))),
        c("lww: trello later", a(), user("S", Some(20)), user("T", Some(30)), Lww, conflict(Trello), vec![(Sheet, "T")], Some(("T", Some(Trello)))),
        c("lww: sheet later", a(), user("S", Some(30)), user("T", Some(20)), Lww, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("lww: equal times", a(), user("S", Some(20)), user("T", Some(20)), Lww, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("lww: trello time unknown", a(), user("S", Some(20)), user("T", None), Lww, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("lww: sheet time unknown", a(), user("S", None), user("T", Some(20)), Lww, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("prefer_sheet: trello later", a(), user("S", Some(20)), user("T", Some(30)), PreferSheet, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("prefer_trello: sheet later", a(), user("S", Some(30)), user("T", Some(20)), PreferTrello, conflict(Trello), vec![(Sheet, "T")], Some(("T", Some(Trello)))),
        c("echo on trello of a sheet change", a(), None, user("A ", Some(30)), Lww, Echo, vec![], Some(("A", Some(Sheet)))),
        c("echo on the sheet of a trello change", by_trello(), user("A", Some(30)), None, Lww, Echo, vec![], Some(("A", Some(Trello)))),
        c("our own write of an older value, the agreed one written after it", written(a(), Trello, 35), None, Some(Observed::leadsync("Z", Some(t(30)))), Lww, Echo, vec![], Some(("A", Some(Sheet)))),
        c("our own write of an older value, landed after the agreed change and last", a(), None, Some(Observed::leadsync("Z", Some(t(30)))), Lww, CopyToTrello, vec![(Trello, "A")], Some(("A", Some(Sheet)))),
        c("our own write of an older value, landed before the agreed change", a(), None, Some(Observed::leadsync("Z", Some(t(5)))), Lww, Echo, vec![], Some(("A", Some(Sheet)))),
        c("the change's own duplicate", a(), user("A", Some(10)), None, Lww, Noop, vec![], Some(("A", Some(Sheet)))),
        c("same-side change older than the agreed one", agreed("A", 20, Some(Sheet)), user("S", Some(15)), None, Lww, Noop, vec![], Some(("A", Some(Sheet)))),
        c("stale sheet change, lww", by_trello(), user("S", Some(15)), None, Lww, conflict(Trello), vec![(Sheet, "A")], Some(("A", Some(Trello)))),
        c("stale trello change, lww", agreed("A", 20, Some(Sheet)), None, user("T", Some(15)), Lww, conflict(Sheet), vec![(Trello, "A")], Some(("A", Some(Sheet)))),
        c("stale sheet change, prefer_sheet", by_trello(), user("S", Some(15)), None, PreferSheet, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("stale sheet change, prefer_trello", by_trello(), user("S", Some(15)), None, PreferTrello, conflict(Trello), vec![(Sheet, "A")], Some(("A", Some(Trello)))),
        c("stale change after both agreed", both(), None, user("T", Some(5)), Lww, conflict(Sheet), vec![(Trello, "A")], Some(("A", None))),
        c("new link, sheet only", FieldState::default(), user("S", Some(5)), None, Lww, CopyToTrello, vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("new link, trello only", FieldState::default(), None, user("T", None), Lww, CopyToSheet, vec![(Sheet, "T")], Some(("T", Some(Trello)))),
        c("new link, both equal", FieldState::default(), user("X", Some(5)), user("X", Some(6)), Lww, Noop, vec![], Some(("X", None))),
        c("new link, both differ, lww", FieldState::default(), user("S", Some(6)), user("T", Some(5)), Lww, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("new link, both differ, prefer_trello: the initial source (sheet) decides", FieldState::default(), user("S", Some(6)), user("T", Some(5)), PreferTrello, conflict(Sheet), vec![(Trello, "S")], Some(("S", Some(Sheet)))),
        c("nothing observed", a(), None, None, Lww, Noop, vec![], Some(("A", Some(Sheet)))),
    ]
}

#[test]
fn every_case_of_the_merge_table_decides_as_specified() {
    for case in cases() {
        let d = run(&case.state, case.sheet, case.trello, case.policy);
        assert_eq!(d.kind, case.kind, "{}", case.what);
        assert_eq!(writes(&d), case.writes, "{}", case.what);
        let got = d.next.agreed.as_ref().map(|a| (a.value.trim(), a.writer));
        assert_eq!(got, case.agreed, "{}", case.what);
        assert_eq!(d.record.decision, case.kind.as_str(), "{}", case.what);
        for w in &d.writes {
            assert_eq!(
                d.next.side(w.side).written_at,
                Some(t(NOW)),
                "{}",
                case.what
            );
        }
    }
}

#[test]
fn a_copy_records_the_change_time_and_what_each_side_has_seen() {
    let d = run(
        &agreed("A", 10, Some(Sheet)),
        user("B", Some(20)),
        None,
        Lww,
    );
    let next = d.next;
    assert_eq!(next.agreed.map(|a| a.agreed_at), Some(t(20)));
    assert_eq!(next.sheet.seen_at, Some(t(20)));
    assert_eq!(next.trello.written_at, Some(t(NOW)));
    let unknown = run(&agreed("A", 10, Some(Sheet)), user("B", None), None, Lww);
    assert_eq!(unknown.next.agreed.map(|a| a.agreed_at), Some(t(NOW)));
}

#[test]
fn an_event_no_newer_than_one_already_seen_from_that_side_is_ignored() {
    let mut state = agreed("A", 20, Some(Trello));
    state.sheet.seen_at = Some(t(15));
    let d = run(&state, user("S", Some(15)), None, PreferSheet);
    assert_eq!((d.kind, d.writes.len()), (DecisionKind::Noop, 0));
    assert_eq!(d.next, state);
}

#[test]
fn a_set_cell_our_late_write_landed_on_is_weighed_though_a_later_read_showed_that_write() {
    // The card moved at 10 (agreed); a person set the sheet's cell at 20, while our copy of
    // the move was held back; it landed at 25 over the person's value, and a read at 30 showed
    // it. The person's change, heard of at last, is the later word: it wins, and goes back to
    // its own side too.
    let mut state = agreed("Lost", 10, Some(Trello));
    state.sheet.written_at = Some(t(25));
    state.sheet.seen_at = Some(t(30));
    let set = Some(Observed::set_by_user("Qualified", t(20)));
    let d = run(&state, set, None, Lww);
    assert_eq!(d.kind, DecisionKind::CopyToTrello);
    assert_eq!(
        writes(&d),
        vec![(Trello, "Qualified"), (Sheet, "Qualified")]
    );
    // A value only shown beside a change (not set by it) stays old news.
    let d = run(&state, user("Qualified", Some(20)), None, Lww);
    assert_eq!((d.kind, d.writes.len()), (DecisionKind::Noop, 0));
    // As does a set cell our write did not land on after it.
    state.sheet.written_at = Some(t(15));
    let d = run(
        &state,
        Some(Observed::set_by_user("Qualified", t(20))),
        None,
        Lww,
    );
    assert_eq!((d.kind, d.writes.len()), (DecisionKind::Noop, 0));
}

#[test]
fn a_stale_change_already_overwritten_by_our_copy_needs_no_write_back() {
    let mut state = agreed("A", 20, Some(Trello));
    state.sheet.written_at = Some(t(21));
    let d = run(&state, user("S", Some(15)), None, Lww);
    assert_eq!(d.kind, conflict(Trello));
    assert!(d.writes.is_empty());
}

#[test]
fn a_winning_change_that_our_blind_write_overwrote_is_written_back_to_its_own_side() {
    let mut state = agreed("A", 10, Some(Sheet));
    state.trello.written_at = Some(t(30));
    let d = run(&state, None, user("B", Some(25)), Lww);
    assert_eq!(d.kind, DecisionKind::CopyToSheet);
    assert_eq!(writes(&d), vec![(Sheet, "B"), (Trello, "B")]);
    // The write back says which change it puts back, so that a board keeping the card's
    // history is asked whether that side moved on again before our write landed.
    let restores: Vec<_> = d.writes.iter().map(|w| (w.side, w.restores)).collect();
    assert_eq!(restores, vec![(Sheet, None), (Trello, Some(t(25)))]);
}

#[test]
fn our_own_write_coming_back_moves_the_written_time_only() {
    let state = agreed("A", 10, Some(Sheet));
    let d = run(
        &state,
        None,
        Some(Observed::leadsync("A", Some(t(40)))),
        Lww,
    );
    assert_eq!(d.kind, DecisionKind::Echo);
    assert_eq!(d.next.trello.written_at, Some(t(40)));
    assert_eq!(d.next.trello.seen_at, None);
}

#[test]
fn a_conflict_record_carries_the_contract_fields() {
    let d = run(
        &agreed("A", 10, Some(Sheet)),
        user("S", Some(20)),
        user("T", Some(30)),
        Lww,
    );
    let r = d.record;
    assert_eq!(r.decision, "conflict");
    assert_eq!(r.winner, Some(Trello));
    assert_eq!(r.policy, Lww);
    assert_eq!(r.sheet_value_hash, Some(ValueHash::of("S")));
    assert_eq!(r.trello_value_hash, Some(ValueHash::of("T")));
    assert_eq!(
        (r.sheet_changed_at, r.trello_changed_at),
        (Some(t(20)), Some(t(30)))
    );
}

#[test]
fn a_one_sided_conflict_describes_the_unobserved_side_by_the_agreed_value() {
    let d = run(
        &agreed("A", 20, Some(Trello)),
        user("S", Some(15)),
        None,
        Lww,
    );
    assert_eq!(d.record.trello_value_hash, Some(ValueHash::of("A")));
    assert_eq!(d.record.trello_changed_at, Some(t(20)));
    let copy = run(
        &agreed("A", 10, Some(Sheet)),
        user("S", Some(15)),
        None,
        Lww,
    );
    assert_eq!(copy.record.trello_value_hash, None);
    assert_eq!(copy.record.winner, None);
}

#[test]
fn merge_lead_decides_each_observed_field_in_field_order() {
    let mut state = LeadState::new();
    state.insert(Field::Status, agreed("New", 10, Some(Sheet)));
    let sheet: LeadObservation = [(Field::Email, Observed::user("a@b", Some(t(20))))].into();
    let trello: LeadObservation = [(Field::Status, Observed::user("Lost", Some(t(20))))].into();
    let ds = merge_lead(&state, &sheet, &trello, Lww, t(NOW));
    let got: Vec<_> = ds.iter().map(|d| (d.field, d.kind)).collect();
    assert_eq!(
        got,
        vec![
            (Field::Status, DecisionKind::CopyToSheet),
            (Field::Email, DecisionKind::CopyToTrello),
        ]
    );
}

#[test]
fn a_first_link_goes_to_the_initial_source_whatever_the_policy_and_times() {
    let trello_first = MergeRules {
        policy: PreferSheet,
        initial_source: Trello,
    };
    let d = merge_field(
        Field::Name,
        &FieldState::default(),
        user("S", Some(9)).as_ref(),
        user("T", Some(1)).as_ref(),
        trello_first,
        t(NOW),
    );
    assert_eq!(d.kind, conflict(Trello));
    assert_eq!(writes(&d), vec![(Sheet, "T")]);
    assert!(d.record.by_initial_source);
    assert_eq!(d.record.winner, Some(Trello));
    // Once agreed, the policy decides conflicts again.
    let later = run(
        &agreed("A", 10, None),
        user("S", Some(20)),
        user("T", Some(30)),
        PreferSheet,
    );
    assert_eq!(later.kind, conflict(Sheet));
    assert!(!later.record.by_initial_source);
}

#[test]
fn a_conflict_record_keeps_both_values_and_a_one_sided_one_the_agreed_value() {
    let d = run(
        &agreed("A", 10, Some(Sheet)),
        user("S", Some(20)),
        user("T", Some(30)),
        Lww,
    );
    assert_eq!(
        (
            d.record.sheet_value.as_deref(),
            d.record.trello_value.as_deref()
        ),
        (Some("S"), Some("T"))
    );
    let one_sided = run(
        &agreed("A", 20, Some(Trello)),
        user("S", Some(15)),
        None,
        Lww,
    );
    assert_eq!(
        (
            one_sided.record.sheet_value.as_deref(),
            one_sided.record.trello_value.as_deref()
        ),
        (Some("S"), Some("A"))
    );
}

#[test]
fn a_person_setting_the_agreed_value_again_outweighs_an_older_change_heard_of_later() {
    // The card moved to "Contacted" at 10 (agreed, its write to the sheet side on its way); a
    // person set the record to "Contacted" at 12; the card's move back to "New" made at 11 is
    // heard of only now. The record's word is the latest: the card goes back to "Contacted".
    let state = agreed("Contacted", 10, Some(Trello));
    let retyped = Some(Observed::set_by_user("Contacted", t(12)));
    let first = run(&state, retyped, None, Lww);
    let next = first.next.agreed.as_ref().unwrap();
    assert_eq!((next.agreed_at, next.writer), (t(12), Some(Sheet)));
    assert!(writes(&first).is_empty(), "{:?}", writes(&first));
    let late = run(&first.next, None, user("New", Some(11)), Lww);
    assert_eq!(late.kind, DecisionKind::Conflict { winner: Sheet });
    assert_eq!(writes(&late), [(Trello, "Contacted")]);

    // Heard of together (one debounced decision set), the same.
    let both = run(
        &state,
        Some(Observed::set_by_user("Contacted", t(12))),
        user("New", Some(11)),
        Lww,
    );
    assert_eq!(both.kind, DecisionKind::Conflict { winner: Sheet });
    assert_eq!(writes(&both), [(Trello, "Contacted")]);

    // A whole row that merely shows the agreed value (an Apps Script event for another cell)
    // is no such word: the card's later-heard move wins as before.
    let shown = run(&state, user("Contacted", Some(12)), None, Lww);
    assert_eq!(shown.next.agreed, state.agreed);
    let late = run(&shown.next, None, user("New", Some(11)), Lww);
    assert_eq!(late.kind, DecisionKind::CopyToSheet);
    assert_eq!(writes(&late), [(Sheet, "New")]);
}

/// A card's marker written with the notes it had when planned, landed over a person's newer notes
/// decided first (chaos seed 335): the notes go back as a restore of the person's change.
#[test]
fn our_stale_write_landed_after_the_agreed_change_puts_the_agreed_value_back_as_a_restore() {
    let d = run(
        &agreed("fay955", 10, Some(Trello)),
        None,
        Some(Observed::leadsync("", Some(t(11)))),
        Lww,
    );
    assert_eq!(d.kind, DecisionKind::CopyToTrello);
    let restores = (d.writes.iter()).map(|w| (w.side, w.value.as_str(), w.restores));
    let restores: Vec<_> = restores.collect();
    assert_eq!(restores, vec![(Trello, "fay955", Some(t(10)))]);
    let agreed = d
        .next
        .agreed
        .as_ref()
        .map(|a| (a.value.as_str(), a.agreed_at));
    assert_eq!(agreed, Some(("fay955", t(10))));
}
