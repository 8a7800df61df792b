//! The parts of a reconciliation plan beyond the rows the sheet shows: rows that disappeared
//! from it, and cards users made in Trello that have no row yet.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::config::OnRowDeleted;
use crate::model::LeadId;
use crate::model::board::Card;
use crate::store::links::Link;
use crate::sync::context::PairContext;
use crate::sync::merge::{LeadObservation, LeadState};
use crate::sync::plan::commands::Command;
use crate::sync::plan::{LeadPlan, LinkView, plan_lead};
use crate::sync::reconcile::action::{Action, lead_action};
use crate::sync::reconcile::read::{Known, ROW_GONE_AFTER_MS, card_observation};

pub(crate) fn missing_rows(
    ctx: &PairContext,
    on_row_deleted: OnRowDeleted,
    known: &Known,
    seen: &HashSet<String>,
    by_id: &HashMap<&str, &Card>,
    now: DateTime<Utc>,
    actions: &mut Vec<Action>,
) {
    let now_ms = now.timestamp_millis();
    let mut gone: Vec<&Link> = known
        .links
        .values()
        .filter(|l| !seen.contains(&l.lead_id) && !known.unsent.contains(&l.lead_id))
        .collect();
    gone.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    for link in gone {
        let confirmed = known
            .absences
            .get(&link.lead_id)
            .is_some_and(|first| now_ms - first >= ROW_GONE_AFTER_MS);
        if !confirmed {
            actions.push(Action::RowMissing {
                lead_id: link.lead_id.clone(),
            });
            continue;
        }
        let mut card_archived = false;
        if on_row_deleted == OnRowDeleted::ArchiveCard
            && let Some(card) = link.card_id.as_deref().and_then(|id| by_id.get(id))
            && !card.closed
        {
            card_archived = true;
            let plan = LeadPlan {
                commands: vec![Command::UpdateCard {
                    lead_id: link.lead_id.clone(),
                    card_id: Some(card.id.clone()),
                    name: None,
                    desc: None,
                    id_list: None,
                    closed: Some(true),
                }],
                ..LeadPlan::default()
            };
            actions.push(lead_action(ctx, &link.lead_id, Some(&card.id), plan));
        }
        actions.push(Action::DropLink {
            lead_id: link.lead_id.clone(),
            reason: format!("row deleted from sheet \"{}\"", ctx.settings.sheet),
            card_archived,
        });
    }
}

/// Cards users made in mapped lists that carry no marker become rows (and get the marker).
pub(crate) fn new_cards(
    ctx: &PairContext,
    cards: &[Card],
    linked: &HashSet<&str>,
    now: DateTime<Utc>,
    actions: &mut Vec<Action>,
) {
    if !ctx.create_rows_from_cards {
        return;
    }
    let empty = LeadState::new();
    for card in cards
        .iter()
        .filter(|c| !c.closed && !linked.contains(c.id.as_str()))
    {
        let (fields, marker, unmapped) = card_observation(ctx, card, None, now);
        if marker.is_some() || unmapped.is_some() {
            continue;
        }
        let id = LeadId::generate();
        let view = LinkView {
            lead_id: id.clone(),
            has_card: true,
            create_pending: false,
            card_closed: false,
            card_deleted: false,
            row_hint: None,
            in_flight: Vec::new(),
        };
        let mut plan = plan_lead(ctx, &view, &empty, &LeadObservation::new(), &fields, now);
        let mut cells = BTreeMap::from([(ctx.settings.columns.id.clone(), id.to_string())]);
        if let Some(header) = &ctx.settings.columns.card {
            cells.insert(header.clone(), card.short_url.clone());
        }
        plan.commands = plan
            .commands
            .into_iter()
            .map(|c| match c {
                Command::WriteRow { cells: written, .. } => {
                    cells.extend(written);
                    Command::AppendRow {
                        lead_id: id.to_string(),
                        cells: cells.clone(),
                    }
                }
                other => other,
            })
            .collect();
        plan.commands.push(Command::MarkCard {
            lead_id: id.to_string(),
            card_id: card.id.clone(),
        });
        actions.push(Action::LinkLead {
            lead_id: id.to_string(),
            card_id: Some(card.id.clone()),
            card_short_url: Some(card.short_url.clone()),
            row: None,
            new_id_for_row: false,
        });
        actions.push(lead_action(ctx, id.as_str(), Some(&card.id), plan));
    }
}
