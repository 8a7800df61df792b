//! The card command that puts back changes a person made on a card that a blind write of ours
//! landed on afterwards ([`Command::RestoreCard`]), keyed by the card's own field names so the
//! dispatcher can match them against the card's history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::Field;
use crate::sync::context::PairContext;
use crate::sync::mapping::compose_description;
use crate::sync::plan::commands::Command;
use crate::sync::plan::{LeadPlan, LinkView, list_move};

/// One `RestoreCard` for the values put back (none for none), after the lead's other card
/// commands: a lead's commands are sent in order, and these write other fields.
pub(super) fn restore_card(
    ctx: &PairContext,
    link: &LinkView,
    put_back: &BTreeMap<Field, (String, DateTime<Utc>)>,
    plan: &mut LeadPlan,
) {
    let mut fields = BTreeMap::new();
    let mut since = BTreeMap::new();
    let mut closed = None;
    for (field, (value, at)) in put_back {
        let (key, value) = match field {
            Field::Name => ("name".to_owned(), value.clone()),
            Field::Notes => ("desc".to_owned(), compose_description(value, &link.lead_id)),
            Field::Status => {
                let Some((list, back)) = list_move(ctx, link, value, plan) else {
                    continue;
                };
                closed = closed.or(back);
                ("idList".to_owned(), list)
            }
            other => match ctx.field_id(*other) {
                Some(id) => (id.to_owned(), value.clone()),
                None => continue,
            },
        };
        since.insert(key.clone(), at.timestamp_millis());
        fields.insert(key, value);
    }
    if !fields.is_empty() {
        plan.commands.push(Command::RestoreCard {
            lead_id: link.lead_id.to_string(),
            fields,
            since,
            closed,
        });
    }
}
