//! A lead's one write: every change its decision lists, in the caller's transaction, in a fixed
//! order and with idempotency keys that make a replay of the same events enqueue nothing twice.

use crate::store::Conn;
use serde_json::json;

use crate::store::{StoreError, absences, lead_state, links, sheet_blanks, tombstones};
use crate::sync::context::PairContext;
use crate::sync::inbox::decide::LeadDecision;
use crate::sync::plan::apply::{enqueue, note, record_plan};

/// Link changes first (new or revived link, row hint, deleted card, archived state), then the
/// plan's decisions and commands, then the extra commands, then — for a deleted record — its
/// link tombstoned (`store::tombstones`).
pub async fn write_decision(
    conn: &mut Conn,
    ctx: &PairContext,
    d: &LeadDecision,
) -> Result<(), StoreError> {
    let pair = ctx.name.as_str();
    let lead = d.lead_id.as_str();
    if let Some(new) = &d.new_link {
        links::insert(&mut *conn, new).await?;
        let detail = json!({"from": ctx.tracker.side_name(), "row": new.row_hint});
        let what = if d.revived {
            "lead_restored"
        } else {
            "lead_created"
        };
        note(&mut *conn, ctx, lead, None, what, detail).await?;
    }
    if let Some(row) = d.row_hint {
        links::set_row_hint(&mut *conn, pair, lead, row).await?;
    }
    if let Some(card_id) = &d.card_deleted {
        lead_state::mark_card_deleted(&mut *conn, pair, lead).await?;
        note(
            &mut *conn,
            ctx,
            lead,
            Some(card_id),
            "card_deleted",
            json!({}),
        )
        .await?;
    }
    if let Some(closed) = d.closed {
        links::set_closed(&mut *conn, pair, lead, closed).await?;
    }
    if d.clear_card_deleted {
        lead_state::clear_card_deleted(&mut *conn, pair, lead).await?;
    }
    let card_id = d.card_id.as_deref();
    record_plan(&mut *conn, ctx, lead, card_id, &d.plan, &d.key_prefix).await?;
    for (i, cmd) in d.extra.iter().enumerate() {
        let key = format!("{}:{lead}:x{i}", d.key_prefix);
        enqueue(&mut *conn, ctx, cmd, &key).await?;
    }
    for key in &d.blanks_used {
        sheet_blanks::forget(&mut *conn, key).await?;
    }
    if d.forget {
        let reason = format!("record deleted from {}", ctx.tracker.side_name());
        let detail = json!({"reason": reason});
        note(&mut *conn, ctx, lead, card_id, "row_deleted", detail).await?;
        // Tombstoned, not deleted: a record its tracker restores (a Notion page out of the
        // trash) keeps its id and must find its card again, not get a second one.
        let archived = !d.plan.commands.is_empty();
        tombstones::tombstone(&mut *conn, pair, lead, archived).await?;
        absences::clear(&mut *conn, pair, lead).await?;
    }
    Ok(())
}
