//! Commits a lead's plan: new field states, activity rows and outbox commands in the caller's
//! transaction, and the decision log lines once that transaction is committed.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;

use crate::model::Side;
use crate::store::{StoreError, activity, lead_state, outbox};
use crate::sync::context::PairContext;
use crate::sync::merge::state::stored;
use crate::sync::merge::{DecisionKind, DecisionRecord};
use crate::sync::plan::LeadPlan;
use crate::sync::plan::commands::Command;

/// Writes everything a plan decided. `key` makes the outbox idempotency keys deterministic for
/// the decision set (replaying the same inbox events enqueues nothing twice).
pub async fn record_plan(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    card_id: Option<&str>,
    plan: &LeadPlan,
    key: &str,
) -> Result<(), StoreError> {
    for d in &plan.decisions {
        if let Some(row) = stored(lead_id, d.field, &d.next) {
            lead_state::save(&mut *conn, &ctx.name, &row).await?;
        }
        if d.kind != DecisionKind::Noop {
            activity::insert(
                &mut *conn,
                &activity::NewActivity {
                    pair: ctx.name.clone(),
                    lead_id: Some(lead_id.to_owned()),
                    card_id: card_id.map(str::to_owned),
                    field: Some(d.field.as_str().to_owned()),
                    decision: d.kind.as_str().to_owned(),
                    detail: record_detail(d.kind, &d.record),
                },
            )
            .await?;
        }
    }
    for (i, cmd) in plan.commands.iter().enumerate() {
        enqueue(&mut *conn, ctx, cmd, &format!("{key}:{lead_id}:{i}")).await?;
    }
    Ok(())
}

pub async fn enqueue(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    cmd: &Command,
    idempotency_key: &str,
) -> Result<bool, StoreError> {
    let payload = serde_json::to_value(cmd).map_err(|source| StoreError::BadJson {
        table: "outbox",
        column: "payload",
        source,
    })?;
    outbox::enqueue(
        &mut *conn,
        &outbox::NewCommand {
            pair: ctx.name.clone(),
            lead_id: Some(cmd.lead_id().to_owned()),
            target: cmd.target(ctx.tracker).to_owned(),
            kind: cmd.kind().to_owned(),
            payload,
            idempotency_key: idempotency_key.to_owned(),
        },
    )
    .await
}

/// An activity row for something other than a field decision (a card deleted, a lead created …).
pub async fn note(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    card_id: Option<&str>,
    decision: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    activity::insert(
        &mut *conn,
        &activity::NewActivity {
            pair: ctx.name.clone(),
            lead_id: Some(lead_id.to_owned()),
            card_id: card_id.map(str::to_owned),
            field: None,
            decision: decision.to_owned(),
            detail,
        },
    )
    .await
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Longest value kept in an activity entry, in characters; longer ones are cut there and
/// marked, so one huge note cannot bloat the log.
pub const MAX_KEPT_VALUE_CHARS: usize = 1000;

/// `value`, or its first [`MAX_KEPT_VALUE_CHARS`] characters and a marker saying how long it was.
pub fn kept_value(value: &str) -> String {
    match value.char_indices().nth(MAX_KEPT_VALUE_CHARS) {
        None => value.to_owned(),
        Some((cut, _)) => format!(
            "{}…[truncated: {} characters in all]",
            &value[..cut],
            value.chars().count()
        ),
    }
}

/// The activity entry's `detail`. Conflicts keep both sides' values (the loser's is otherwise
/// gone for good once overwritten) and copies the value copied; hashes and times as logged.
fn record_detail(kind: DecisionKind, r: &DecisionRecord) -> serde_json::Value {
    let mut detail = json!({
        "sheet_value_hash": r.sheet_value_hash.as_ref().map(|h| h.as_str().to_owned()),
        "trello_value_hash": r.trello_value_hash.as_ref().map(|h| h.as_str().to_owned()),
        "sheet_changed_at": rfc3339(r.sheet_changed_at),
        "trello_changed_at": rfc3339(r.trello_changed_at),
        "winner": r.winner.map(Side::as_str),
        "policy": r.policy.as_str(),
    });
    let kept = |v: &Option<String>| v.as_deref().map(kept_value);
    let values = match kind {
        DecisionKind::Conflict { .. } => json!({
            "sheet_value": kept(&r.sheet_value),
            "trello_value": kept(&r.trello_value),
            "decided_by": if r.by_initial_source { "initial_source" } else { r.policy.as_str() },
        }),
        DecisionKind::CopyToTrello => json!({"value": kept(&r.sheet_value)}),
        DecisionKind::CopyToSheet => json!({"value": kept(&r.trello_value)}),
        DecisionKind::Echo | DecisionKind::Noop => json!({}),
    };
    if let (Some(detail), Some(values)) = (detail.as_object_mut(), values.as_object()) {
        detail.extend(values.clone());
    }
    detail
}

/// One structured event per decision (CONTRACT §6): conflicts and copies at INFO, echoes and
/// no-ops at DEBUG. Called after the commit, so a log line never describes a rolled-back decision.
pub fn log_plan(ctx: &PairContext, lead_id: &str, card_id: Option<&str>, plan: &LeadPlan) {
    let card = card_id.unwrap_or("");
    for d in &plan.decisions {
        let r = &d.record;
        let decision = d.kind.as_str();
        metrics::counter!("leadsync_sync_decisions_total", "pair" => ctx.name.clone(), "decision" => decision)
            .increment(1);
        match d.kind {
            DecisionKind::Conflict { winner } => {
                metrics::counter!("leadsync_conflicts_total", "pair" => ctx.name.clone())
                    .increment(1);
                tracing::info!(
                    pair = %ctx.name,
                    lead_id,
                    card_id = card,
                    field = d.field.as_str(),
                    decision,
                    sheet_value_hash = r.sheet_value_hash.as_ref().map(|h| h.as_str()).unwrap_or(""),
                    trello_value_hash = r.trello_value_hash.as_ref().map(|h| h.as_str()).unwrap_or(""),
                    sheet_changed_at = rfc3339(r.sheet_changed_at).unwrap_or_default(),
                    trello_changed_at = rfc3339(r.trello_changed_at).unwrap_or_default(),
                    winner = winner.as_str(),
                    policy = r.policy.as_str(),
                    decided_by = if r.by_initial_source { "initial_source" } else { r.policy.as_str() },
                    "conflict resolved"
                );
            }
            DecisionKind::CopyToSheet | DecisionKind::CopyToTrello => tracing::info!(
                pair = %ctx.name,
                lead_id,
                card_id = card,
                field = d.field.as_str(),
                decision,
                "field copied"
            ),
            DecisionKind::Echo | DecisionKind::Noop => tracing::debug!(
                pair = %ctx.name,
                lead_id,
                card_id = card,
                field = d.field.as_str(),
                decision,
                "no change to send"
            ),
        }
    }
    for w in &plan.warnings {
        tracing::warn!(pair = %ctx.name, lead_id, card_id = card, "{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConflictPolicy, Field};
    use crate::sync::merge::{FieldState, Observed, merge_field};
    use crate::sync::test_support::{ctx, json_logs_of, t};

    #[test]
    fn a_conflict_is_one_json_event_with_every_field_the_contract_names() {
        let state = FieldState {
            agreed: Some(crate::sync::merge::Agreed::new("Ada", t(0), None)),
            ..FieldState::default()
        };
        let sheet = Observed::user("Ada L", Some(t(10)));
        let trello = Observed::user("Ada K", Some(t(20)));
        let decision = merge_field(
            Field::Name,
            &state,
            Some(&sheet),
            Some(&trello),
            ConflictPolicy::LastWriterWins,
            t(30),
        );
        let plan = LeadPlan {
            decisions: vec![decision],
            ..LeadPlan::default()
        };
        let lines = json_logs_of(|| log_plan(&ctx(), "L1", Some("c1"), &plan));
        assert_eq!(lines.len(), 1, "{lines:?}");
        let e = &lines[0];
        assert_eq!(e["message"], "conflict resolved");
        assert_eq!(e["level"], "INFO");
        for (key, value) in [
            ("pair", "p"),
            ("lead_id", "L1"),
            ("card_id", "c1"),
            ("field", "name"),
            ("decision", "conflict"),
            ("winner", "trello"),
            ("policy", "last_writer_wins"),
        ] {
            assert_eq!(e[key], value, "{key} in {e}");
        }
        assert_eq!(
            e["sheet_changed_at"],
            t(10).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        assert_eq!(
            e["trello_changed_at"],
            t(20).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        assert_eq!(
            e["sheet_value_hash"],
            crate::model::ValueHash::of("Ada L").as_str()
        );
        assert_eq!(
            e["trello_value_hash"],
            crate::model::ValueHash::of("Ada K").as_str()
        );
    }

    #[test]
    fn kept_values_are_cut_at_a_thousand_characters_with_a_marker() {
        assert_eq!(kept_value("short"), "short");
        let exact = "é".repeat(MAX_KEPT_VALUE_CHARS);
        assert_eq!(kept_value(&exact), exact);
        let long = format!("{}{}", "ü".repeat(MAX_KEPT_VALUE_CHARS), "tail");
        let kept = kept_value(&long);
        assert!(kept.starts_with(&"ü".repeat(MAX_KEPT_VALUE_CHARS)));
        assert!(!kept.contains("tail"));
        assert!(
            kept.ends_with("…[truncated: 1004 characters in all]"),
            "{kept}"
        );
    }
}
