//! Events become observations: "this side holds these field values, changed at this time".

mod record;

use chrono::{DateTime, Utc};

use crate::inbound::{SheetEventRow, Source};
use crate::model::Field;
use crate::model::board::{BoardEvent, CardOld, CardState};
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
    event: &BoardEvent,
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
        BoardEvent::CreateCard { card, list_id, .. } => CardChange::Created {
            card_id: card.id.clone(),
            list_id: list_id.clone().or_else(|| card.list_id.clone()),
            name: card.name.clone().unwrap_or_default(),
            by_us: ours,
            at: changed_at,
        },
        BoardEvent::DeleteCard { card_id, .. } => CardChange::Deleted {
            card_id: card_id.clone(),
        },
        BoardEvent::UpdateCard {
            card, list_id, old, ..
        } => card_update(ctx, card, list_id.as_deref(), old, &seen, warnings),
        BoardEvent::UpdateCustomFieldItem {
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
        BoardEvent::CardDetail { .. } | BoardEvent::Other { .. } => CardChange::Ignored,
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
    let list = list_id.or(card.list_id.as_deref());
    let archived = card.closed == Some(true);
    if archived && old.closed.is_some() {
        if let Some(status) = &ctx.archived_status {
            fields.insert(Field::Status, seen(status.clone()));
        }
    } else if (old.list_id.is_some() || old.closed.is_some())
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
mod tests;
