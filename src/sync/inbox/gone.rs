//! A lead whose record the tracker says is deleted (Airtable's `destroyedRecordIds`): handled as
//! a deleted row (`sync.on_row_deleted`) at once, since the API says so explicitly and no second
//! read is needed (CONTRACT §7).

use serde_json::json;
use sqlx::SqliteConnection;

use crate::config::OnRowDeleted;
use crate::store::{StoreError, absences, links};
use crate::sync::context::PairContext;
use crate::sync::plan::LeadPlan;
use crate::sync::plan::apply::{note, record_plan};
use crate::sync::plan::commands::Command;

/// Archives the lead's card (unless `on_row_deleted = "ignore"` or it is archived already) and
/// forgets the lead; the archive names the card, since the link is gone when it is sent.
pub async fn record_gone(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    key_prefix: &str,
) -> Result<Option<LeadPlan>, StoreError> {
    let Some(link) = links::get_by_lead(&mut *conn, &ctx.name, lead_id).await? else {
        return Ok(None);
    };
    let mut plan = LeadPlan::default();
    if ctx.on_row_deleted == OnRowDeleted::ArchiveCard
        && let Some(card_id) = link.card_id.as_deref()
        && !link.card_closed
    {
        plan.commands.push(Command::UpdateCard {
            lead_id: lead_id.to_owned(),
            card_id: Some(card_id.to_owned()),
            name: None,
            desc: None,
            id_list: None,
            closed: Some(true),
        });
    }
    let card_id = link.card_id.as_deref();
    record_plan(&mut *conn, ctx, lead_id, card_id, &plan, key_prefix).await?;
    let reason = format!("record deleted from {}", ctx.tracker.side_name());
    let detail = json!({"reason": reason});
    note(&mut *conn, ctx, lead_id, card_id, "row_deleted", detail).await?;
    links::delete(&mut *conn, &ctx.name, lead_id).await?;
    absences::clear(&mut *conn, &ctx.name, lead_id).await?;
    Ok(Some(plan))
}
