//! The decision log lines of a committed plan (CONTRACT §6), the tracker side named by kind.

use chrono::{DateTime, Utc};

use tracing::Level;
use tracing::field::Value;

use crate::model::{Side, ValueHash};
use crate::sync::context::PairContext;
use crate::sync::merge::{Decision, DecisionKind};
use crate::sync::plan::LeadPlan;
use crate::sync::plan::names::SideNames;
use crate::telemetry;

/// Times as logs and activity entries print them.
pub fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// One structured event per decision (CONTRACT §6): conflicts and copies at INFO, echoes and
/// no-ops at DEBUG. Called after the commit, so a log line never describes a rolled-back decision.
pub fn log_plan(ctx: &PairContext, lead_id: &str, card_id: Option<&str>, plan: &LeadPlan) {
    let card = card_id.unwrap_or("");
    let names = SideNames::of(ctx);
    for d in &plan.decisions {
        let decision = names.decision(d.kind);
        metrics::counter!("leadsync_sync_decisions_total", "pair" => ctx.name.clone(), "decision" => decision.clone())
            .increment(1);
        let decision = decision.as_str();
        match d.kind {
            DecisionKind::Conflict { .. } => {
                metrics::counter!("leadsync_conflicts_total", "pair" => ctx.name.clone())
                    .increment(1);
                log_conflict(ctx, d, (lead_id, card, decision));
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

/// The `conflict resolved` event (`ids`: the lead id, the card id and the decision's name). Its
/// per-side keys come from [`SideNames::field`] (`airtable_value_hash` on an Airtable pair), so
/// a new tracker kind is named here without a line of its own.
fn log_conflict(ctx: &PairContext, d: &Decision, (lead_id, card_id, decision): (&str, &str, &str)) {
    let (r, names) = (&d.record, SideNames::of(ctx));
    let hash = |h: &Option<ValueHash>| h.as_ref().map_or(String::new(), |h| h.as_str().to_owned());
    let (tracker_hash, trello_hash) = (hash(&r.sheet_value_hash), hash(&r.trello_value_hash));
    let tracker_at = rfc3339(r.sheet_changed_at).unwrap_or_default();
    let trello_at = rfc3339(r.trello_changed_at).unwrap_or_default();
    let winner = r.winner.map(|w| names.side(w)).unwrap_or_default();
    let field = d.field.as_str();
    let fields: [(String, &dyn Value); 12] = [
        ("pair".into(), &ctx.name.as_str()),
        ("lead_id".into(), &lead_id),
        ("card_id".into(), &card_id),
        ("field".into(), &field),
        ("decision".into(), &decision),
        (
            names.field(Side::Sheet, "value_hash"),
            &tracker_hash.as_str(),
        ),
        (
            names.field(Side::Trello, "value_hash"),
            &trello_hash.as_str(),
        ),
        (names.field(Side::Sheet, "changed_at"), &tracker_at.as_str()),
        (names.field(Side::Trello, "changed_at"), &trello_at.as_str()),
        ("winner".into(), &winner),
        ("policy".into(), &names.policy()),
        ("decided_by".into(), &names.decided_by(r)),
    ];
    telemetry::event(module_path!(), Level::INFO, "conflict resolved", &fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;
    use crate::sync::merge::{Agreed, FieldState, Observed, merge_field};
    use crate::sync::test_support::{airtable_ctx, ctx, json_logs_of, name_conflict, t};

    fn conflict_plan(ctx: &PairContext) -> LeadPlan {
        LeadPlan {
            decisions: vec![name_conflict(ctx)],
            ..LeadPlan::default()
        }
    }

    fn at(s: i64) -> String {
        t(s).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    #[test]
    fn a_conflict_is_one_json_event_with_every_field_the_contract_names() {
        let ctx = ctx();
        let lines = json_logs_of(|| log_plan(&ctx, "L1", Some("c1"), &conflict_plan(&ctx)));
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
        assert_eq!(e["sheet_changed_at"], at(10));
        assert_eq!(e["trello_changed_at"], at(20));
        assert_eq!(e["sheet_value_hash"], ValueHash::of("Ada L").as_str());
        assert_eq!(e["trello_value_hash"], ValueHash::of("Ada K").as_str());
    }

    #[test]
    fn an_airtable_conflict_names_the_tracker_side_airtable_and_the_policy_as_configured() {
        let ctx = airtable_ctx();
        let lines = json_logs_of(|| log_plan(&ctx, "recA", Some("c1"), &conflict_plan(&ctx)));
        assert_eq!(lines.len(), 1, "{lines:?}");
        let e = &lines[0];
        assert_eq!(e["message"], "conflict resolved");
        for (key, value) in [
            ("decision", "conflict"),
            ("winner", "airtable"),
            ("policy", "prefer_tracker"),
            ("decided_by", "prefer_tracker"),
        ] {
            assert_eq!(e[key], value, "{key} in {e}");
        }
        assert_eq!(e["airtable_changed_at"], at(10));
        assert_eq!(e["trello_changed_at"], at(20));
        assert_eq!(e["airtable_value_hash"], ValueHash::of("Ada L").as_str());
        assert_eq!(e["trello_value_hash"], ValueHash::of("Ada K").as_str());
        // The event's keys are the naming rule's, and no key still says "sheet".
        let names = SideNames::of(&ctx);
        for what in ["value_hash", "changed_at"] {
            assert!(
                e.get(names.field(Side::Sheet, what)).is_some(),
                "{what} in {e}"
            );
        }
        let keys = e.as_object().expect("object").keys();
        assert!(keys.clone().all(|k| !k.contains("sheet")), "{e}");
    }

    #[test]
    fn a_copy_from_trello_on_an_airtable_pair_is_copy_to_airtable() {
        let ctx = airtable_ctx();
        let state = FieldState {
            agreed: Some(Agreed::new("New", t(0), None)),
            ..FieldState::default()
        };
        let trello = Observed::user("Lost", Some(t(20)));
        let decision = merge_field(
            Field::Status,
            &state,
            None,
            Some(&trello),
            ctx.policy,
            t(30),
        );
        let plan = LeadPlan {
            decisions: vec![decision],
            ..LeadPlan::default()
        };
        let lines = json_logs_of(|| log_plan(&ctx, "recA", Some("c1"), &plan));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["decision"], "copy_to_airtable", "{}", lines[0]);
        assert_eq!(lines[0]["message"], "field copied");
    }
}
