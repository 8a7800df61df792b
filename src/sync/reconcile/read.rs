//! What a reconciliation reads, as the planner takes it: the stored state of a pair, and each
//! card of the board as an observation of the merge.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::clients::trello::Card;
use crate::model::{Field, LeadId};
use crate::store::links::Link;
use crate::sync::context::PairContext;
use crate::sync::mapping::{CardInput, card_fields};
use crate::sync::merge::{LeadObservation, LeadState, Observed};

/// A row must be missing from reads at least this far apart before it counts as deleted.
pub const ROW_GONE_AFTER_MS: i64 = 60_000;

/// What the database knows of a pair, loaded before planning.
#[derive(Debug, Default)]
pub struct Known {
    pub links: HashMap<String, Link>,
    pub states: HashMap<String, LeadState>,
    /// Leads with commands still on their way: their other side may be stale, so skip them.
    pub unsent: HashSet<String>,
    pub deleted_cards: HashSet<String>,
    /// Lead -> first time a full read missed its row (unix ms).
    pub absences: HashMap<String, i64>,
}

/// Reads a card as the merge sees it, observed `now` (reconciliation has no change times).
pub fn card_observation(
    ctx: &PairContext,
    card: &Card,
    now: DateTime<Utc>,
) -> (LeadObservation, Option<LeadId>, Option<String>) {
    let custom: Vec<(String, String)> = card
        .custom_texts
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let read = card_fields(
        CardInput {
            name: &card.name,
            desc: &card.desc,
            list_id: &card.id_list,
            custom_fields: &custom,
        },
        &ctx.board,
        &ctx.statuses,
    );
    let mut fields: LeadObservation = read
        .fields
        .iter()
        .map(|(f, v)| (f, Observed::user(v, Some(now))))
        .collect();
    if card.closed
        && let Some(status) = &ctx.archived_status
    {
        fields.insert(Field::Status, Observed::user(status.clone(), Some(now)));
    }
    (fields, read.lead_id, read.unmapped_list)
}
