//! Applies one lead's debounced events inside the worker's transaction, the way reconciliation
//! does a pair: read once ([`read_lead`]), decide with no I/O ([`must_wait`],
//! [`observe_records`], [`decide`]), write once ([`write_decision`]).

use crate::store::Conn;
use chrono::{DateTime, Utc};

use crate::store::StoreError;
use crate::sync::context::PairContext;
use crate::sync::inbox::decide::{Decided, decide};
use crate::sync::inbox::group::Group;
use crate::sync::inbox::read::read_lead;
use crate::sync::inbox::records::{must_wait, observe_records};
use crate::sync::inbox::write::write_decision;
use crate::sync::plan::LeadPlan;
use crate::sync::plan::log::log_plan;

#[cfg(test)]
mod tests;

/// What to log once the batch has committed.
pub struct LeadLog {
    lead_id: String,
    card_id: Option<String>,
    plan: LeadPlan,
}

impl LeadLog {
    pub fn emit(&self, ctx: &PairContext) {
        log_plan(ctx, &self.lead_id, self.card_id.as_deref(), &self.plan);
    }
}

/// What became of one lead's events.
pub enum Applied {
    /// Decided and written; the log to emit once the transaction commits.
    Logged(LeadLog),
    /// Nothing to change.
    Nothing,
    /// Not yet: the events stay pending ([`must_wait`]), nothing was written.
    Wait,
}

/// One lead's decision: its facts read, its changes decided from them and its events, and
/// those changes written, all in the caller's transaction.
pub async fn apply_group(
    conn: &mut Conn,
    ctx: &PairContext,
    key: &str,
    group: Group,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let Some(facts) = read_lead(conn, ctx, key, &group, now).await? else {
        return Ok(Applied::Nothing);
    };
    if must_wait(&facts, &group, now) {
        return Ok(Applied::Wait);
    }
    let mut warnings = Vec::new();
    let group = observe_records(ctx, &facts, group, &mut warnings);
    for w in warnings {
        tracing::warn!(pair = %ctx.name, lead_id = %facts.lead_id, "{w}");
    }
    let decision = match decide(&facts, &group, ctx, now) {
        Decided::Lead(decision) => decision,
        Decided::Nothing => return Ok(Applied::Nothing),
        Decided::BadLeadId => {
            tracing::warn!(pair = %ctx.name, lead_id = %facts.lead_id, "the id cell holds an invalid lead id (A-Z, a-z, 0-9, _ and - only, at most 32); row left alone");
            return Ok(Applied::Nothing);
        }
    };
    write_decision(conn, ctx, &decision).await?;
    let d = *decision;
    // A deleted record's log names no card: its link is tombstoned.
    let card_id = if d.forget { None } else { d.card_id };
    let mut plan = d.plan;
    plan.commands.extend(d.extra);
    Ok(Applied::Logged(LeadLog {
        lead_id: d.lead_id,
        card_id,
        plan,
    }))
}
