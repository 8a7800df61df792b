//! A lead whose record the tracker says is deleted (Airtable's `destroyedRecordIds`): handled as
//! a deleted row (`sync.on_row_deleted`) at once, since the API says so explicitly and no second
//! read is needed (CONTRACT §7). Pure: `write` tombstones the link once the plan is recorded.

use crate::config::OnRowDeleted;
use crate::store::links::Link;
use crate::sync::context::PairContext;
use crate::sync::plan::LeadPlan;
use crate::sync::plan::commands::Command;

/// Archives the lead's card (unless `on_row_deleted = "ignore"` or it is archived already); the
/// archive names the card, since the link is tombstoned (no lead) when it is sent.
pub fn record_gone_plan(ctx: &PairContext, link: &Link) -> LeadPlan {
    let mut plan = LeadPlan::default();
    if ctx.on_row_deleted == OnRowDeleted::ArchiveCard
        && let Some(card_id) = link.card_id.as_deref()
        && !link.card_closed
    {
        plan.commands.push(Command::UpdateCard {
            lead_id: link.lead_id.clone(),
            card_id: Some(card_id.to_owned()),
            name: None,
            desc: None,
            id_list: None,
            closed: Some(true),
        });
    }
    plan
}
