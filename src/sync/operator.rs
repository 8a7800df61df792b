//! An operator's edit of one field of one lead (the console's "apply the losing value" of a
//! conflict), decided like a user's edit: the lead read in one write transaction, planned
//! through the merge (`plan::plan_operator_edit`), committed with its activity rows and outbox
//! commands as the worker commits a lead, and logged once committed. Nothing is sent from here:
//! the dispatcher sends the commands as it sends every other.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::model::{Field, LeadId, Side};
use crate::store::activity::{self, NewActivity};
use crate::store::{Db, StoreError, lead_state, links};
use crate::sync::context::PairContext;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::plan::apply::record_plan;
use crate::sync::plan::commands::Command;
use crate::sync::plan::log::log_plan;
use crate::sync::plan::names::SideNames;
use crate::sync::plan::{LinkView, plan_operator_edit};

/// The activity `decision` of an operator's edit (the copy it causes is logged beside it).
pub const OPERATOR_EDIT: &str = "operator_edit";

/// One field set to one value by the operator.
#[derive(Debug, Clone)]
pub struct OperatorEdit<'a> {
    pub lead_id: &'a str,
    pub field: Field,
    /// The side the value came from (a conflict's loser): the merge sees the edit there.
    pub side: Side,
    pub value: &'a str,
    /// Who asked, as the activity log names them (`"operator (console)"`).
    pub by: &'a str,
    /// The activity entry the value was taken from (a conflict), for the log.
    pub from_activity: Option<i64>,
}

/// What an operator's edit came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// Decided and committed: the commands queued for the sides, by target.
    Applied { targets: Vec<String> },
    /// The value is already the agreed one: nothing to write.
    AlreadyAgreed,
    /// No link: the lead is not (or no longer) known.
    UnknownLead,
}

/// Decides and commits `edit` for `ctx`'s pair at `now`.
pub async fn apply_operator_edit(
    db: &Db,
    ctx: &PairContext,
    edit: &OperatorEdit<'_>,
    now: DateTime<Utc>,
) -> Result<EditOutcome, StoreError> {
    let (pair, lead) = (ctx.name.as_str(), edit.lead_id);
    let Ok(lead_id) = LeadId::parse(lead) else {
        return Ok(EditOutcome::UnknownLead);
    };
    let mut tx = db.begin_write().await?;
    let Some(link) = links::get_by_lead(&mut *tx, pair, lead).await? else {
        return Ok(EditOutcome::UnknownLead);
    };
    let state = merge_state(&lead_state::load_lead(&mut *tx, pair, lead).await?);
    let view = LinkView {
        lead_id,
        has_card: link.card_id.is_some(),
        create_pending: lead_state::create_pending(&mut *tx, pair, lead).await?,
        card_closed: link.card_closed,
        card_deleted: lead_state::is_card_deleted(&mut *tx, pair, lead).await?,
        row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
        in_flight: lead_state::unsent_payloads(&mut *tx, pair, lead)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str::<Command>(p).ok())
            .flat_map(|cmd| cmd.fields_written(ctx))
            .collect(),
    };
    let plan = plan_operator_edit(ctx, &view, &state, edit.side, edit.field, edit.value, now);
    if plan.commands.is_empty() {
        return Ok(EditOutcome::AlreadyAgreed);
    }
    let card_id = link.card_id.as_deref();
    let names = SideNames::of(ctx);
    let detail = json!({
        "by": edit.by,
        "value": crate::sync::plan::apply::kept_value(edit.value),
        "from": names.side(edit.side),
        "from_activity": edit.from_activity,
    });
    let entry = NewActivity {
        pair: ctx.name.clone(),
        lead_id: Some(lead.to_owned()),
        card_id: card_id.map(str::to_owned),
        // Named, so filtering the log by field shows the edit beside the merge's decision.
        field: Some(edit.field.as_str().to_owned()),
        decision: OPERATOR_EDIT.to_owned(),
        detail,
    };
    activity::insert(&mut *tx, &entry).await?;
    // Keys unique to this edit: a second edit of the same field is a new decision.
    let key = format!("operator:{}:{}", edit.field, now.timestamp_millis());
    record_plan(&mut tx, ctx, lead, card_id, &plan, &key).await?;
    tx.commit().await?;
    log_plan(ctx, lead, card_id, &plan);
    tracing::info!(pair, lead_id = lead, field = %edit.field, by = edit.by, "operator edit applied");
    let targets = plan
        .commands
        .iter()
        .map(|c| c.target(ctx.tracker).to_owned())
        .collect();
    Ok(EditOutcome::Applied { targets })
}
