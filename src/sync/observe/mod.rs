//! Events become observations: "this side holds these field values, changed at this time".

mod record;

use chrono::{DateTime, Utc};

use crate::connectors::trello::client::{CardOld, CardState, TrelloEvent};
use crate::inbound::{SheetEventRow, Source};
use crate::model::Field;
use crate::sync::context::PairContext;
use crate::sync::mapping::{SheetLead, read_values, split_description};
use crate::sync::merge::{LeadObservation, LeadState, Observed};

pub use record::{OwnWrites, observe_record};

/// A sheet row as the merge sees it.
#[derive(Debug, Clone)]
pub struct RowObservation {
    pub row: u32,
    pub lead: SheetLead,
    pub fields: LeadObservation,
}

/// Reads every field the row shows; a status with no list is left out (and warned about), so
/// the merge leaves the card's list alone instead of chasing a value it cannot map.
pub fn observe_row(
    ctx: &PairContext,
    row: u32,
    lead: SheetLead,
    changed_at: Option<DateTime<Utc>>,
    warnings: &mut Vec<String>,
) -> RowObservation {
    let mut fields = LeadObservation::new();
    for (field, value) in lead.fields.iter() {
        let value = if field == Field::Status {
            match ctx.statuses.canonical_status(value) {
                Some(status) => status.to_owned(),
                None => {
                    if !value.trim().is_empty() {
                        warnings.push(format!(
                            "row {row}: status \"{value}\" has no list in status_lists; left as it is"
                        ));
                    }
                    continue;
                }
            }
        } else {
            value.to_owned()
        };
        fields.insert(field, Observed::user(value, changed_at));
    }
    RowObservation { row, lead, fields }
}

pub fn observe_event_row(
    ctx: &PairContext,
    row: &SheetEventRow,
    edited_at: Option<DateTime<Utc>>,
    warnings: &mut Vec<String>,
) -> RowObservation {
    let lead = read_values(&row.values, &ctx.columns);
    let mut seen = observe_row(ctx, row.row, lead, edited_at, warnings);
    if let Some(at) = edited_at {
        for (field, observed) in seen.fields.iter_mut() {
            let header = ctx.header(*field).trim().to_lowercase();
            if (row.edited.iter()).any(|h| h.trim().to_lowercase() == header) {
                *observed = Observed::set_by_user(observed.value.clone(), at);
            }
        }
    }
    seen
}

/// What a Trello action means for the lead behind its card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardChange {
    /// Field values the card now holds (only those the action changed).
    Fields {
        card_id: String,
        fields: LeadObservation,
        /// The card was archived (`Some(true)`) or brought back (`Some(false)`) by this action.
        closed: Option<bool>,
    },
    /// A card was created; `by_us` when leadsync created it.
    Created {
        card_id: String,
        list_id: Option<String>,
        name: String,
        by_us: bool,
        at: DateTime<Utc>,
    },
    Deleted {
        card_id: String,
    },
    /// Nothing a lead field depends on (comments, labels, due dates …).
    Ignored,
}

/// `changed_at`: the action's date, clamped ([`clamp_change_time`]).
pub fn observe_card_event(
    ctx: &PairContext,
    event: &TrelloEvent,
    changed_at: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> CardChange {
    let meta = event.meta();
    let ours = meta.member_creator_id == ctx.member_id;
    let seen = |value: String| Observed {
        value,
        changed_at: Some(changed_at),
        by_leadsync: ours,
        // An action names what it changed: each field it carries was set by it.
        set: !ours,
    };
    match event {
        TrelloEvent::CreateCard { card, list_id, .. } => CardChange::Created {
            card_id: card.id.clone(),
            list_id: list_id.clone().or_else(|| card.id_list.clone()),
            name: card.name.clone().unwrap_or_default(),
            by_us: ours,
            at: changed_at,
        },
        TrelloEvent::DeleteCard { card_id, .. } => CardChange::Deleted {
            card_id: card_id.clone(),
        },
        TrelloEvent::UpdateCard {
            card, list_id, old, ..
        } => card_update(ctx, card, list_id.as_deref(), old, &seen, warnings),
        TrelloEvent::UpdateCustomFieldItem {
            card_id,
            field_id,
            text,
            ..
        } => match ctx.field_of(field_id) {
            Some(field) => {
                let mut fields = LeadObservation::new();
                fields.insert(field, seen(text.clone().unwrap_or_default()));
                CardChange::Fields {
                    card_id: card_id.clone(),
                    fields,
                    closed: None,
                }
            }
            None => CardChange::Ignored,
        },
        TrelloEvent::Other { .. } => CardChange::Ignored,
    }
}

/// The fields an `updateCard` action changed: name, notes, and the status its list (or its
/// archiving) stands for.
fn card_update(
    ctx: &PairContext,
    card: &CardState,
    list_id: Option<&str>,
    old: &CardOld,
    seen: &dyn Fn(String) -> Observed,
    warnings: &mut Vec<String>,
) -> CardChange {
    let mut fields = LeadObservation::new();
    if old.name.is_some()
        && let Some(name) = &card.name
    {
        fields.insert(Field::Name, seen(name.clone()));
    }
    if old.desc.is_some()
        && let Some(desc) = &card.desc
    {
        fields.insert(Field::Notes, seen(split_description(desc).0));
    }
    let list = list_id.or(card.id_list.as_deref());
    let archived = card.closed == Some(true);
    if archived && old.closed.is_some() {
        if let Some(status) = &ctx.archived_status {
            fields.insert(Field::Status, seen(status.clone()));
        }
    } else if (old.id_list.is_some() || old.closed.is_some())
        && !archived
        && let Some(list) = list
    {
        match ctx.status_for_list(list) {
            Some(status) => {
                fields.insert(Field::Status, seen(status.to_owned()));
            }
            None => warnings.push(format!(
                "card {} is in a list with no status in status_lists; left as it is",
                card.id
            )),
        }
    }
    let closed = card.closed.filter(|_| old.closed.is_some());
    if fields.is_empty() && closed.is_none() {
        return CardChange::Ignored;
    }
    CardChange::Fields {
        card_id: card.id.clone(),
        fields,
        closed,
    }
}

/// How a row without an id compares with a lead's agreed values. Rows move, are deleted and
/// typed anew, so neither position nor content alone is an identity; the worker and the
/// reconciler weigh both with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resemblance {
    /// The row shows the lead's (non-empty) name.
    pub same_name: bool,
    /// Fields filled on both sides that differ: one edit changes one cell.
    pub differing: usize,
    /// Fields filled on both sides that agree.
    pub agreeing: usize,
}

pub fn resemblance(state: &LeadState, shown: &LeadObservation) -> Resemblance {
    let mut r = Resemblance {
        same_name: false,
        differing: 0,
        agreeing: 0,
    };
    for (field, o) in shown {
        let Some(agreed) = state.get(field).and_then(|s| s.agreed.as_ref()) else {
            continue;
        };
        let (now, was) = (o.value.trim(), agreed.value.trim());
        if now.is_empty() || was.is_empty() {
            continue;
        }
        if now == was {
            r.same_name |= *field == Field::Name;
            r.agreeing += 1;
        } else {
            r.differing += 1;
        }
    }
    r
}

/// The latest time an event's change can have happened: when leadsync received it
/// (`received_at_ms`), and for an Apps Script event the end of the second it was signed in
/// (`signed_at`, unix seconds; the signature window holds that second near the server clock).
pub fn change_time_limit(received_at_ms: i64, signed_at: Option<i64>) -> DateTime<Utc> {
    let signed_end_ms = signed_at.map_or(i64::MAX, |s| s.saturating_mul(1000).saturating_add(999));
    let ms = received_at_ms.min(signed_end_ms);
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

/// How far past its limit a change time may claim before the clamp is worth a warning: clocks
/// a little apart are usual, a claim minutes ahead is not.
const CLAMP_WARN_AFTER_MS: i64 = 1000;

/// A change time is evidence, not authority: one later than `limit` (see [`change_time_limit`])
/// is clamped to it, or it would win every conflict until the clock caught up with it.
pub fn clamp_change_time(
    pair: &str,
    source: Source,
    claimed: DateTime<Utc>,
    limit: DateTime<Utc>,
) -> DateTime<Utc> {
    if claimed <= limit {
        return claimed;
    }
    let claimed_at = claimed.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let clamped_to = limit.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if (claimed - limit).num_milliseconds() > CLAMP_WARN_AFTER_MS {
        tracing::warn!(
            pair,
            source = source.as_str(),
            claimed_at,
            clamped_to,
            "change time is later than the event's receipt; clamped"
        );
    } else {
        tracing::debug!(
            pair,
            source = source.as_str(),
            claimed_at,
            clamped_to,
            "change time a moment after the event's receipt; clamped"
        );
    }
    limit
}

#[cfg(test)]
mod tests {
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
}
