//! A mirror's decisions, logged (CONTRACT §6, sides `a` and `b`) and kept in the activity log:
//! `pair` is the mirror's name, `lead_id` the link id and `card_id` the card on side a.

use crate::store::Exec;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::MirrorPolicySetting;
use crate::model::ValueHash;
use crate::store::StoreError;
use crate::store::activity::{self, NewActivity};
use crate::store::mirror_links::MirrorSide;

/// Who a decision is about.
pub struct At<'a> {
    pub mirror: &'a str,
    pub link_id: &'a str,
    pub card_a: &'a str,
}

/// A decision that changed nothing: `echo` (our own write came back) or `noop`.
pub fn quiet(at: &At<'_>, field: &str, echo: bool) {
    let decision = if echo { "echo" } else { "noop" };
    tracing::debug!(
        pair = at.mirror,
        lead_id = at.link_id,
        card_id = at.card_a,
        field,
        decision,
        "sync decision"
    );
}

/// A value copied to a side (or, with `field` "card", a twin created there).
pub async fn copied(
    exec: impl Exec<'_>,
    at: &At<'_>,
    field: &str,
    to: MirrorSide,
) -> Result<(), StoreError> {
    let decision = format!("copy_to_{}", to.as_str());
    tracing::info!(pair = at.mirror, lead_id = at.link_id, card_id = at.card_a, field, decision = %decision, "sync decision");
    record(exec, at, field, &decision, json!({})).await
}

/// What a conflict's log line says of it.
pub struct Conflict<'a> {
    pub a: &'a str,
    pub b: &'a str,
    pub a_at: Option<i64>,
    pub b_at: Option<i64>,
    pub winner: MirrorSide,
    pub policy: MirrorPolicySetting,
}

pub async fn conflict(
    exec: impl Exec<'_>,
    at: &At<'_>,
    field: &str,
    c: &Conflict<'_>,
) -> Result<(), StoreError> {
    let time = |ms: Option<i64>| {
        ms.and_then(DateTime::<Utc>::from_timestamp_millis)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let (a_hash, b_hash) = (ValueHash::of(c.a), ValueHash::of(c.b));
    let policy = policy_name(c.policy);
    tracing::info!(
        pair = at.mirror, lead_id = at.link_id, card_id = at.card_a, field, decision = "conflict",
        a_value_hash = a_hash.as_str(), b_value_hash = b_hash.as_str(),
        a_changed_at = %time(c.a_at), b_changed_at = %time(c.b_at),
        winner = c.winner.as_str(), policy, "conflict resolved"
    );
    let detail = json!({"winner": c.winner.as_str(), "policy": policy,
        "a_value_hash": a_hash.as_str(), "b_value_hash": b_hash.as_str()});
    record(exec, at, field, "conflict", detail).await
}

fn policy_name(policy: MirrorPolicySetting) -> &'static str {
    match policy {
        MirrorPolicySetting::LastWriterWins => "last_writer_wins",
        MirrorPolicySetting::PreferA => "prefer_a",
        MirrorPolicySetting::PreferB => "prefer_b",
    }
}

async fn record(
    exec: impl Exec<'_>,
    at: &At<'_>,
    field: &str,
    decision: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let entry = NewActivity {
        pair: at.mirror.to_owned(),
        lead_id: Some(at.link_id.to_owned()),
        card_id: Some(at.card_a.to_owned()),
        field: Some(field.to_owned()),
        decision: decision.to_owned(),
        detail,
    };
    activity::insert(exec, &entry).await
}
