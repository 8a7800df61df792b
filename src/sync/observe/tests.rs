//! Change times, resemblance and event rows as observations.

use super::*;

const RECEIVED_MS: i64 = 1_800_000_000_123;

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

#[test]
fn the_limit_is_the_receipt_or_the_end_of_the_signed_second_whichever_is_earlier() {
    assert_eq!(change_time_limit(RECEIVED_MS, None), at(RECEIVED_MS));
    // Signed 5 s before it arrived: the edit cannot be later than that second's end.
    let signed = RECEIVED_MS / 1000 - 5;
    assert_eq!(
        change_time_limit(RECEIVED_MS, Some(signed)),
        at(signed * 1000 + 999)
    );
    // Signed "in the future" (within the tolerance): the receipt still bounds it.
    let ahead = RECEIVED_MS / 1000 + 200;
    assert_eq!(change_time_limit(RECEIVED_MS, Some(ahead)), at(RECEIVED_MS));
}

#[test]
fn a_future_change_time_is_clamped_to_the_limit_and_a_past_one_kept() {
    let limit = at(RECEIVED_MS);
    let future = at(RECEIVED_MS + 10 * 60 * 1000);
    assert_eq!(clamp_change_time("p", Source::Sheets, future, limit), limit);
    let past = at(RECEIVED_MS - 2_000);
    assert_eq!(clamp_change_time("p", Source::Trello, past, limit), past);
    assert_eq!(clamp_change_time("p", Source::Trello, limit, limit), limit);
    let moment_after = at(RECEIVED_MS + 300);
    assert_eq!(
        clamp_change_time("p", Source::Trello, moment_after, limit),
        limit
    );
}

/// The WARN lines `f` logs, as JSON.
fn warnings_of(f: impl FnOnce()) -> Vec<serde_json::Value> {
    crate::sync::test_support::json_logs_of(f)
        .into_iter()
        .filter(|e| e["level"] == "WARN")
        .collect()
}

#[test]
fn a_clamp_beyond_clock_skew_is_one_warning_with_pair_source_and_both_times() {
    let limit = at(RECEIVED_MS);
    let future = at(RECEIVED_MS + 10 * 60 * 1000);
    let lines = warnings_of(|| {
        clamp_change_time("sales", Source::Sheets, future, limit);
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let e = &lines[0];
    assert_eq!(e["pair"], "sales");
    assert_eq!(e["source"], "sheets");
    assert_eq!(e["claimed_at"], "2027-01-15T08:10:00.123Z");
    assert_eq!(e["clamped_to"], "2027-01-15T08:00:00.123Z");
    // Clocks a few hundred milliseconds apart are usual: clamped, not warned about.
    let skew = warnings_of(|| {
        clamp_change_time("sales", Source::Trello, at(RECEIVED_MS + 300), limit);
    });
    assert!(skew.is_empty(), "{skew:?}");
}

#[test]
fn resemblance_counts_only_fields_filled_on_both_sides() {
    use crate::sync::merge::{Agreed, FieldState};
    let state: LeadState = [
        (Field::Name, "Ada"),
        (Field::Email, "a@x.io"),
        (Field::Notes, ""),
    ]
    .into_iter()
    .map(|(f, v)| {
        let agreed = Some(Agreed::new(v, at(0), None));
        (
            f,
            FieldState {
                agreed,
                ..FieldState::default()
            },
        )
    })
    .collect();
    let row = |cells: &[(Field, &str)]| -> LeadObservation {
        cells
            .iter()
            .map(|(f, v)| (*f, Observed::user(*v, None)))
            .collect()
    };
    let same = row(&[
        (Field::Name, "Ada"),
        (Field::Email, ""),
        (Field::Notes, "new"),
    ]);
    let r = resemblance(&state, &same);
    assert_eq!((r.same_name, r.differing), (true, 0));
    let other = row(&[(Field::Name, "Bo"), (Field::Email, "b@x.io")]);
    let r = resemblance(&state, &other);
    assert_eq!((r.same_name, r.differing), (false, 2));
}

#[test]
fn an_event_rows_edited_cells_are_set_and_the_cells_beside_them_only_shown() {
    let ctx = crate::sync::test_support::ctx();
    let row = SheetEventRow {
        row: 4,
        values: [("Name", "Ada"), ("Status", "Lost"), ("Notes", "hi")]
            .map(|(h, v)| (h.to_owned(), v.to_owned()))
            .into(),
        edited: vec![" status ".to_owned()],
    };
    let seen = observe_event_row(&ctx, &row, Some(at(RECEIVED_MS)), &mut Vec::new());
    assert!(seen.fields[&Field::Status].set);
    assert!(!seen.fields[&Field::Name].set && !seen.fields[&Field::Notes].set);
    let older_script = SheetEventRow {
        edited: Vec::new(),
        ..row
    };
    let seen = observe_event_row(&ctx, &older_script, Some(at(RECEIVED_MS)), &mut Vec::new());
    assert!(seen.fields.values().all(|o| !o.set));
}
