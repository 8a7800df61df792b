//! Commits a lead's plan: new field states, activity rows and outbox commands in the caller's
//! transaction, and the decision log lines once that transaction is committed.

use crate::store::Conn;
use serde_json::json;

use crate::model::{Side, ValueHash};
use crate::store::{StoreError, activity, lead_state, outbox};
use crate::sync::context::PairContext;
use crate::sync::merge::state::stored;
use crate::sync::merge::{DecisionKind, DecisionRecord};
use crate::sync::plan::LeadPlan;
use crate::sync::plan::commands::Command;
use crate::sync::plan::log::rfc3339;
use crate::sync::plan::names::SideNames;

/// Writes everything a plan decided. `key` makes the outbox idempotency keys deterministic for
/// the decision set (replaying the same inbox events enqueues nothing twice).
pub async fn record_plan(
    conn: &mut Conn,
    ctx: &PairContext,
    lead_id: &str,
    card_id: Option<&str>,
    plan: &LeadPlan,
    key: &str,
) -> Result<(), StoreError> {
    let names = SideNames::of(ctx);
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
                    decision: names.decision(d.kind),
                    detail: record_detail(names, d.kind, &d.record),
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
    conn: &mut Conn,
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
    conn: &mut Conn,
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
/// gone for good once overwritten) and copies the value copied; hashes and times as logged, each
/// side named by kind (`airtable_value_hash` on an Airtable pair).
fn record_detail(names: SideNames, kind: DecisionKind, r: &DecisionRecord) -> serde_json::Value {
    let hash = |h: &Option<ValueHash>| json!(h.as_ref().map(|h| h.as_str()));
    let kept = |v: &Option<String>| json!(v.as_deref().map(kept_value));
    let (tracker, trello) = (Side::Sheet, Side::Trello);
    let mut detail = serde_json::Map::new();
    let mut put = |key: String, value: serde_json::Value| detail.insert(key, value);
    put(
        names.field(tracker, "value_hash"),
        hash(&r.sheet_value_hash),
    );
    put(
        names.field(trello, "value_hash"),
        hash(&r.trello_value_hash),
    );
    put(
        names.field(tracker, "changed_at"),
        json!(rfc3339(r.sheet_changed_at)),
    );
    put(
        names.field(trello, "changed_at"),
        json!(rfc3339(r.trello_changed_at)),
    );
    put("winner".into(), json!(r.winner.map(|w| names.side(w))));
    put("policy".into(), json!(names.policy()));
    match kind {
        DecisionKind::Conflict { .. } => {
            put(names.field(tracker, "value"), kept(&r.sheet_value));
            put(names.field(trello, "value"), kept(&r.trello_value));
            put("decided_by".into(), json!(names.decided_by(r)));
        }
        DecisionKind::CopyToTrello => {
            put("value".into(), kept(&r.sheet_value));
        }
        DecisionKind::CopyToSheet => {
            put("value".into(), kept(&r.trello_value));
        }
        DecisionKind::Echo | DecisionKind::Noop => {}
    }
    serde_json::Value::Object(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;
    use crate::sync::merge::{Agreed, Decision, FieldState, Observed, merge_field};
    use crate::sync::test_support::{airtable_ctx, ctx, name_conflict, t};

    fn detail_of(ctx: &PairContext, d: &Decision) -> serde_json::Value {
        record_detail(SideNames::of(ctx), d.kind, &d.record)
    }

    #[test]
    fn a_sheets_conflict_detail_keeps_its_sheet_keys() {
        let ctx = ctx();
        let detail = detail_of(&ctx, &name_conflict(&ctx));
        assert_eq!(detail["winner"], "trello");
        assert_eq!(detail["policy"], "last_writer_wins");
        assert_eq!(detail["decided_by"], "last_writer_wins");
        assert_eq!(detail["sheet_value"], "Ada L");
        assert_eq!(detail["trello_value"], "Ada K");
        assert_eq!(detail["sheet_value_hash"], ValueHash::of("Ada L").as_str());
        assert_eq!(
            detail["sheet_changed_at"],
            rfc3339(Some(t(10))).expect("time")
        );
        assert_eq!(
            detail["trello_changed_at"],
            rfc3339(Some(t(20))).expect("time")
        );
    }

    #[test]
    fn an_airtable_conflict_detail_names_the_tracker_side_airtable() {
        let ctx = airtable_ctx();
        let detail = detail_of(&ctx, &name_conflict(&ctx));
        assert_eq!(detail["winner"], "airtable");
        assert_eq!(detail["policy"], "prefer_tracker");
        assert_eq!(detail["decided_by"], "prefer_tracker");
        assert_eq!(detail["airtable_value"], "Ada L");
        assert_eq!(detail["trello_value"], "Ada K");
        assert_eq!(
            detail["airtable_value_hash"],
            ValueHash::of("Ada L").as_str()
        );
        assert_eq!(detail["trello_value_hash"], ValueHash::of("Ada K").as_str());
        assert_eq!(
            detail["airtable_changed_at"],
            rfc3339(Some(t(10))).expect("time")
        );
        let keys = detail.as_object().expect("object").keys();
        assert!(keys.clone().all(|k| !k.contains("sheet")), "{detail}");
    }

    /// The activity row itself (what `GET /admin/activity` lists) carries the renamed decision.
    #[tokio::test]
    async fn an_airtable_copy_is_stored_as_copy_to_airtable() {
        let ctx = airtable_ctx();
        let state = FieldState {
            agreed: Some(Agreed::new("New", t(0), None)),
            ..FieldState::default()
        };
        let trello = Observed::user("Lost", Some(t(20)));
        let copy = merge_field(
            Field::Status,
            &state,
            None,
            Some(&trello),
            ctx.policy,
            t(30),
        );
        let plan = LeadPlan {
            decisions: vec![copy, name_conflict(&ctx)],
            ..LeadPlan::default()
        };
        let db = crate::store::testdb::temp_db().await;
        let mut tx = db.begin_write().await.expect("tx");
        crate::store::pairs::upsert(&mut *tx, &crate::store::testdb::pair("p"))
            .await
            .expect("pair");
        let link = crate::store::links::NewLink {
            pair: "p".into(),
            lead_id: "recA".into(),
            ..crate::store::links::NewLink::default()
        };
        crate::store::links::insert(&mut *tx, &link)
            .await
            .expect("link");
        record_plan(&mut tx, &ctx, "recA", Some("c1"), &plan, "k")
            .await
            .expect("recorded");
        tx.commit().await.expect("commit");
        let rows = activity::recent(&db.pool, Some("recA"), 10)
            .await
            .expect("listed");
        let decisions: Vec<&str> = rows.iter().map(|r| r.decision.as_str()).collect();
        assert!(decisions.contains(&"copy_to_airtable"), "{decisions:?}");
        assert!(decisions.contains(&"conflict"), "{decisions:?}");
        let copied = rows
            .iter()
            .find(|r| r.decision == "copy_to_airtable")
            .expect("copy");
        assert_eq!(copied.detail["value"], "Lost");
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
