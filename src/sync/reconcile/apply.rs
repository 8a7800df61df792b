//! Carries out a reconciliation plan, a chunk of actions per write transaction: each action as
//! the store changes it means, leads read stale left for the next pass, and the decision log
//! lines once the chunk is committed.

use std::collections::HashSet;

use crate::store::Conn;
use serde_json::json;

use crate::store::{Db, StoreError, absences, activity, lead_state, links, pairs, tombstones};
use crate::sync::context::PairContext;
use crate::sync::plan::apply::{enqueue, note, record_plan};
use crate::sync::plan::commands::Command;
use crate::sync::plan::log::log_plan;
use crate::sync::reconcile::action::Action;

/// What one reconciliation's chunks share: the pair, what its reads showed and when they began.
pub(super) struct Run<'a> {
    pub ctx: &'a PairContext,
    /// The outbox idempotency keys' prefix, and the time the plan was made (unix ms).
    pub key: &'a str,
    pub now_ms: i64,
    /// When the reads began (unix ms).
    pub started_ms: i64,
    pub retention_days: u32,
}

/// What the chunks applied so far carry to the next.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// Leads left alone (read stale, or linked since the reads): left alone in later chunks too.
    skip: HashSet<String>,
    /// Leads an earlier chunk of this reconciliation wrote: a change of theirs since the reads
    /// began is this reconciliation's own, not a sign its reads were stale.
    ours: HashSet<String>,
}

/// Applies one chunk of the plan (`shown`: the lead ids the sheet's read shows) in its own
/// write transaction, the last one (`last`) with the
/// pair's reconcile time and the activity log's pruning, then logs it.
pub(super) async fn apply_chunk(
    db: &Db,
    run: &Run<'_>,
    shown: &HashSet<String>,
    actions: &[Action],
    applied: &mut Applied,
    last: bool,
) -> Result<(), StoreError> {
    let pair = run.ctx.name.as_str();
    let mut tx = db.begin_write().await?;
    let mut skip = skipped_leads(&mut tx, pair, actions, shown, run.started_ms, applied).await?;
    apply_all(&mut tx, run.ctx, actions, (run.key, run.now_ms), &mut skip).await?;
    if last {
        pairs::record_reconcile(&mut *tx, pair, run.now_ms).await?;
        activity::prune_older_than(&mut *tx, run.retention_days).await?;
    }
    tx.commit().await?;
    let wrote = actions.iter().filter_map(Action::lead_id);
    applied
        .ours
        .extend(wrote.filter(|l| !skip.contains(*l)).map(str::to_owned));
    applied.skip = skip;
    log_applied(run.ctx, actions);
    Ok(())
}

/// The leads whose actions are left alone in this chunk.
async fn skipped_leads(
    tx: &mut Conn,
    pair: &str,
    actions: &[Action],
    shown: &HashSet<String>,
    started_ms: i64,
    applied: &Applied,
) -> Result<HashSet<String>, StoreError> {
    // The plan was made from reads that took a while; a lead whose state changed since
    // they began was read stale, and applying its plan could undo a newer change. Checked
    // inside the write transaction, so nothing can change it between check and write.
    let mut skip = lead_state::touched_since(&mut *tx, pair, started_ms).await?;
    skip.retain(|l| !applied.ours.contains(l));
    // A lead the sheet read did not show, touched since that read began, may be a row the
    // read showed without an id whose new id landed after it: a new id for such a row
    // would be a second lead for it. Those rows wait for the next pass.
    if let Some(lead) = skip.iter().find(|l| !shown.contains(*l)) {
        let waiting: Vec<&str> = actions
            .iter()
            .filter_map(|a| match a {
                Action::LinkLead {
                    lead_id,
                    new_id_for_row: true,
                    ..
                } => Some(lead_id.as_str()),
                _ => None,
            })
            .collect();
        if !waiting.is_empty() {
            tracing::info!(pair, rows = waiting.len(), changed_lead = %lead,
                "rows without an id wait for the next reconciliation: a lead changed while the sheet was read");
        }
        skip.extend(waiting.into_iter().map(str::to_owned));
    }
    skip.extend(applied.skip.iter().cloned());
    Ok(skip)
}

/// Every action's store changes, in order; a lead in `skip` (or joining it) is left alone.
async fn apply_all(
    tx: &mut Conn,
    ctx: &PairContext,
    actions: &[Action],
    (key, now_ms): (&str, i64),
    skip: &mut HashSet<String>,
) -> Result<(), StoreError> {
    for action in actions {
        if action.lead_id().is_some_and(|l| skip.contains(l)) {
            continue;
        }
        apply_action(&mut *tx, ctx, action, key, now_ms, skip).await?;
    }
    Ok(())
}

/// One action's store changes; a lead whose card turns out to be linked already joins `skip`.
async fn apply_action(
    tx: &mut Conn,
    ctx: &PairContext,
    action: &Action,
    key: &str,
    now_ms: i64,
    skip: &mut HashSet<String>,
) -> Result<(), StoreError> {
    let pair = ctx.name.as_str();
    match action {
        Action::LinkLead { .. } => link_lead(tx, ctx, action, skip).await?,
        Action::AdoptCard {
            lead_id,
            card_id,
            card_short_url,
        } => {
            links::set_card(&mut *tx, pair, lead_id, card_id, Some(card_short_url)).await?;
        }
        Action::CardDeleted { lead_id, card_id } => {
            card_deleted(tx, ctx, lead_id, card_id, key).await?;
        }
        Action::RowHint { lead_id, row } => {
            links::set_row_hint(&mut *tx, pair, lead_id, i64::from(*row)).await?;
        }
        Action::RowMissing { lead_id } => {
            absences::record_miss(&mut *tx, pair, lead_id, now_ms).await?;
        }
        Action::CardClosed { lead_id, closed } => {
            links::set_closed(&mut *tx, pair, lead_id, *closed).await?;
        }
        Action::RowSeen { lead_id } => {
            absences::clear(&mut *tx, pair, lead_id).await?;
        }
        Action::BlankWrittenBack { key } => {
            crate::store::sheet_blanks::forget(&mut *tx, key).await?;
        }
        Action::DropLink {
            lead_id,
            reason,
            card_archived,
        } => {
            note(
                &mut *tx,
                ctx,
                lead_id,
                None,
                "row_deleted",
                json!({"reason": reason}),
            )
            .await?;
            // A record id its tracker gave (Airtable, Notion) comes back only with the record
            // itself (a page restored from the trash): the link is kept, tombstoned, for that
            // return to find its card. A sheet's row is forgotten: its id is a cell any row
            // may be given.
            if ctx.tracker.assigns_ids() {
                tombstones::tombstone(&mut *tx, pair, lead_id, *card_archived).await?;
            } else {
                links::delete(&mut *tx, pair, lead_id).await?;
            }
            absences::clear(&mut *tx, pair, lead_id).await?;
        }
        Action::Lead {
            lead_id,
            card_id,
            plan,
            ..
        } => {
            if plan
                .commands
                .iter()
                .any(|c| matches!(c, Command::CreateCard { .. }))
            {
                lead_state::clear_card_deleted(&mut *tx, pair, lead_id).await?;
            }
            record_plan(&mut *tx, ctx, lead_id, card_id.as_deref(), plan, key).await?;
        }
        Action::Warning { .. } => {}
    }
    Ok(())
}

/// Links a lead to its row (and card); a card another lead holds is never linked twice, and a
/// lead linked since the plan's reads is left to the next pass.
async fn link_lead(
    tx: &mut Conn,
    ctx: &PairContext,
    action: &Action,
    skip: &mut HashSet<String>,
) -> Result<(), StoreError> {
    let pair = ctx.name.as_str();
    let Action::LinkLead {
        lead_id,
        card_id,
        card_short_url,
        row,
        new_id_for_row,
    } = action
    else {
        return Ok(());
    };
    let new = links::NewLink {
        pair: pair.to_owned(),
        lead_id: lead_id.clone(),
        card_id: card_id.clone(),
        card_short_url: card_short_url.clone(),
        row_hint: row.map(i64::from),
        id_assigned: *new_id_for_row,
    };
    match links::insert(&mut *tx, &new).await {
        // The plan saw no link for the lead, yet one is there: the worker linked it after the
        // plan's state was read (a commit stamped before the reads began but landing after,
        // which `skipped_leads` cannot see). Its plan came from that stale state: applied, it
        // would record agreed values its card never gets (a second create_card is skipped,
        // the lead having a card), and the card's real values would then read as a user's
        // edit and be copied over the tracker's newer ones.
        Ok(false) => {
            skip.insert(lead_id.clone());
            tracing::info!(
                pair,
                lead_id,
                "lead linked since the reconciliation read it; left to the next pass"
            );
        }
        Ok(true) => {
            note(
                &mut *tx,
                ctx,
                lead_id,
                card_id.as_deref(),
                "lead_linked",
                json!({"by": "reconcile"}),
            )
            .await?
        }
        Err(StoreError::CardAlreadyLinked { card_id, .. }) => {
            skip.insert(lead_id.clone());
            tracing::warn!(
                pair,
                lead_id,
                card_id,
                "card already linked to another lead; not linked twice"
            );
        }
        Err(other) => return Err(other),
    }
    Ok(())
}

/// The lead's card is gone: noted, and the row's card cell cleared.
async fn card_deleted(
    tx: &mut Conn,
    ctx: &PairContext,
    lead_id: &str,
    card_id: &str,
    key: &str,
) -> Result<(), StoreError> {
    lead_state::mark_card_deleted(&mut *tx, &ctx.name, lead_id).await?;
    note(
        &mut *tx,
        ctx,
        lead_id,
        Some(card_id),
        "card_deleted",
        json!({"by": "reconcile"}),
    )
    .await?;
    if let Some(header) = &ctx.settings.columns.card {
        let clear = Command::WriteRow {
            lead_id: lead_id.to_owned(),
            row_hint: None,
            expect_name: None,
            cells: [(header.clone(), String::new())].into(),
        };
        enqueue(
            &mut *tx,
            ctx,
            &clear,
            &format!("{key}:{lead_id}:card-deleted"),
        )
        .await?;
    }
    Ok(())
}

/// The decision log lines and warnings of an applied plan, once it is committed.
fn log_applied(ctx: &PairContext, actions: &[Action]) {
    let pair = ctx.name.as_str();
    for action in actions {
        match action {
            Action::Lead {
                lead_id,
                card_id,
                plan,
                ..
            } => log_plan(ctx, lead_id, card_id.as_deref(), plan),
            Action::Warning { message } => tracing::warn!(pair, "{message}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
