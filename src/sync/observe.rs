//! Events become observations: "this side holds these field values, changed at this time".

use chrono::{DateTime, Utc};

use crate::clients::trello::TrelloEvent;
use crate::inbound::SheetEventRow;
use crate::model::Field;
use crate::sync::context::PairContext;
use crate::sync::mapping::{SheetLead, read_values, split_description};
use crate::sync::merge::{LeadObservation, Observed};

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
    observe_row(ctx, row.row, lead, edited_at, warnings)
}

/// What a Trello action means for the lead behind its card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardChange {
    /// Field values the card now holds (only those the action changed).
    Fields {
        card_id: String,
        fields: LeadObservation,
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

/// `changed_at`: the action's date.
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
    };
    let mut fields = LeadObservation::new();
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
        } => {
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
            let list = list_id.as_deref().or(card.id_list.as_deref());
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
            if fields.is_empty() {
                return CardChange::Ignored;
            }
            CardChange::Fields {
                card_id: card.id.clone(),
                fields,
            }
        }
        TrelloEvent::UpdateCustomFieldItem {
            card_id,
            field_id,
            text,
            ..
        } => match ctx.field_of(field_id) {
            Some(field) => {
                fields.insert(field, seen(text.clone().unwrap_or_default()));
                CardChange::Fields {
                    card_id: card_id.clone(),
                    fields,
                }
            }
            None => CardChange::Ignored,
        },
        TrelloEvent::Other { .. } => CardChange::Ignored,
    }
}
