//! Outcomes of dispatched commands and how they are recorded: the command's completion commits
//! together with the link changes and follow-up commands it implies; failures are retried with
//! exponential backoff and jitter or dead-lettered.

use std::time::Duration;

use rand::Rng;

use crate::model::{Side, TrackerKind};
use crate::store::Conn;
use crate::store::outbox::{self, Command as Stored, NewCommand};
use crate::store::{StoreError, lead_state, links};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::outbox::Dispatcher;
use crate::sync::outbox::types::Recorded;
use crate::sync::plan::commands::Command;

/// Completions committed in one transaction by [`Dispatcher::record_batch`].
const RECORD_CHUNK: usize = 256;

/// A follow-up command for the same lead, keyed by the command that caused it, so recording the
/// same outcome twice enqueues it once. `tracker`: the pair's, where its row commands go.
pub fn follow_up(
    row: &Stored,
    purpose: &str,
    cmd: &Command,
    tracker: TrackerKind,
) -> Result<NewCommand, String> {
    let payload = serde_json::to_value(cmd).map_err(|e| format!("cannot encode {purpose}: {e}"))?;
    Ok(NewCommand {
        pair: row.pair.clone(),
        lead_id: Some(cmd.lead_id().to_owned()),
        target: cmd.target(tracker).to_owned(),
        kind: cmd.kind().to_owned(),
        payload,
        idempotency_key: format!("outbox:{}:{purpose}", row.id),
    })
}

/// `base · 2^attempts`, capped, then drawn from its upper half so retries of many commands
/// that failed together spread out.
pub(crate) fn backoff(attempts: i64, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    half + full
        .saturating_sub(half)
        .mul_f64(rand::rng().random::<f64>())
}

impl Dispatcher {
    /// `cmd`: the command as the dispatcher parsed it (`None` for a payload it could not read).
    pub(crate) async fn record(
        &self,
        row: &Stored,
        cmd: Option<&Command>,
        outcome: Outcome,
    ) -> Result<Recorded, StoreError> {
        let (recorded, detail) = match outcome {
            Outcome::Done { follow, skipped } => {
                let landed = cmd.filter(|_| skipped.is_none());
                match self.complete(row, follow, landed).await? {
                    Ok(true) if skipped.is_some() => (Recorded::Skipped, skipped),
                    Ok(true) => (Recorded::Sent, None),
                    Ok(false) => (Recorded::Lost, None),
                    Err(conflict) => (self.dead(row, &conflict).await?, Some(conflict)),
                }
            }
            Outcome::Failed {
                retryable,
                error,
                reassert,
            } => {
                if !reassert.is_empty() {
                    let mut tx = self.db.begin_write().await?;
                    self.reassert(&mut tx, row, &reassert).await?;
                    tx.commit().await?;
                }
                let last_try = row.attempts.saturating_add(1) >= self.options.max_attempts;
                if retryable && !last_try {
                    let o = &self.options;
                    let delay = backoff(row.attempts, o.base_backoff, o.max_backoff);
                    let ok = outbox::retry_later(&self.db.pool, row.id, &error, delay).await?;
                    (
                        if ok {
                            Recorded::Retried
                        } else {
                            Recorded::Lost
                        },
                        Some(error),
                    )
                } else {
                    (self.dead(row, &error).await?, Some(error))
                }
            }
            Outcome::Invalid(error) => (self.dead(row, &error).await?, Some(error)),
        };
        report(row, recorded, detail);
        Ok(recorded)
    }

    /// Completes the command with its follow-up in one transaction. `Err` carries the reason
    /// the follow-up cannot be stored (a card linked twice), after rolling back.
    async fn complete(
        &self,
        row: &Stored,
        follow: FollowUp,
        landed: Option<&Command>,
    ) -> Result<Result<bool, String>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        if let Some(cmd) = landed {
            self.mark_landed(&mut tx, row, cmd).await?;
        }
        let done = complete_in(&mut tx, row, &follow).await?;
        if done.is_ok() {
            self.reassert(&mut tx, row, &follow.reassert).await?;
            tx.commit().await?;
        }
        Ok(done)
    }

    /// Records the outcomes of a batch (one per command, in order). Completions that link no
    /// card commit together (up to [`RECORD_CHUNK`] in one transaction), as one command's would:
    /// a sheet batch of many rows costs a commit per few hundred, not one per row. The rest (a card to link, a lead to rename: they
    /// may meet a conflict that rolls their transaction back) are recorded one by one.
    pub(crate) async fn record_batch(
        &self,
        batch: &[Claimed],
        outcomes: Vec<Outcome>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut recorded = Vec::with_capacity(batch.len());
        let mut rest = Vec::new();
        let mut tx = self.db.begin_write().await?;
        for (n, (claimed, outcome)) in batch.iter().zip(outcomes).enumerate() {
            // A sheet batch can hold thousands: commit every few hundred, so the write lock
            // is never held long enough to keep a webhook's acknowledgement waiting.
            if n > 0 && n % RECORD_CHUNK == 0 {
                tx.commit().await?;
                tx = self.db.begin_write().await?;
            }
            match outcome {
                Outcome::Done { follow, skipped }
                    if follow.card.is_none() && follow.renamed.is_none() =>
                {
                    // Without a card to link or a lead to rename, completing cannot meet a
                    // conflict.
                    if skipped.is_none() {
                        self.mark_landed(&mut tx, &claimed.row, &claimed.cmd)
                            .await?;
                    }
                    let done = complete_in(&mut tx, &claimed.row, &follow).await?;
                    self.reassert(&mut tx, &claimed.row, &follow.reassert)
                        .await?;
                    let r = match (done, &skipped) {
                        (Ok(true), Some(_)) => Recorded::Skipped,
                        (Ok(true), None) => Recorded::Sent,
                        _ => Recorded::Lost,
                    };
                    recorded.push((&claimed.row, r, skipped));
                }
                other => rest.push((claimed, other)),
            }
        }
        tx.commit().await?;
        let mut all: Vec<Recorded> = recorded
            .into_iter()
            .map(|(row, r, detail)| {
                report(row, r, detail);
                r
            })
            .collect();
        for (claimed, outcome) in rest {
            all.push(
                self.record(&claimed.row, Some(&claimed.cmd), outcome)
                    .await?,
            );
        }
        Ok(all)
    }

    /// A write that landed replaced what its side showed until now, not when it was planned:
    /// the fields it wrote are marked written now. A sheet write whose fields' agreed values
    /// changed since it was planned has them written again (`superseded`).
    async fn mark_landed(
        &self,
        tx: &mut Conn,
        row: &Stored,
        cmd: &Command,
    ) -> Result<(), StoreError> {
        let (Some(ctx), Some(lead)) = (self.pair(&row.pair), row.lead_id.as_deref()) else {
            return Ok(());
        };
        let now = crate::store::now_ms();
        for side in [Side::Sheet, Side::Trello] {
            let fields: Vec<&str> = cmd
                .fields_written(ctx)
                .into_iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, f)| f.as_str())
                .collect();
            if !fields.is_empty() {
                lead_state::mark_written(&mut *tx, &row.pair, lead, side.as_str(), &fields, now)
                    .await?;
            }
        }
        let Some(again) = super::superseded::superseded_again(tx, ctx, lead, row, cmd).await?
        else {
            return Ok(());
        };
        // Keyed by the landed command and its attempt.
        let purpose = format!("superseded:{}", row.attempts);
        match follow_up(row, &purpose, &again, ctx.tracker) {
            Ok(new) => {
                outbox::enqueue(&mut *tx, &new).await?;
            }
            Err(e) => tracing::error!(pair = %ctx.name, lead_id = %lead, error = %e,
                "could not plan writing the agreed values again"),
        }
        Ok(())
    }

    async fn dead(&self, row: &Stored, error: &str) -> Result<Recorded, StoreError> {
        Ok(
            if outbox::dead_letter(&self.db.pool, row.id, error).await? {
                Recorded::Dead
            } else {
                Recorded::Lost
            },
        )
    }
}

/// The store changes of a command's success, in the caller's transaction. `Err` carries the
/// reason the follow-up cannot be stored (a card linked twice); the caller then rolls back.
async fn complete_in(
    tx: &mut Conn,
    row: &Stored,
    follow: &FollowUp,
) -> Result<Result<bool, String>, StoreError> {
    let pair = row.pair.as_str();
    let lead = row.lead_id.as_deref().unwrap_or("");
    if let Some((card_id, url)) = &follow.card {
        match links::set_card(&mut *tx, pair, lead, card_id, Some(url)).await {
            Ok(_) => {}
            Err(StoreError::CardAlreadyLinked { card_id, .. }) => {
                // Two leads claiming one card means a marker was copied or an id reused:
                // a human must look, so nothing is linked.
                return Ok(Err(format!(
                    "card {card_id} carries lead {lead}'s marker but is already linked to \
                     another lead of pair {pair}; not linked (check for copied markers)"
                )));
            }
            Err(e) => return Err(e),
        }
    }
    if follow.card_deleted {
        // A tombstone, not just a cleared card: the lead gets no new card until its status
        // next changes in the sheet (CONTRACT §5).
        crate::store::lead_state::mark_card_deleted(&mut *tx, pair, lead).await?;
    }
    if let Some(closed) = follow.closed {
        links::set_closed(&mut *tx, pair, lead, closed).await?;
    }
    if let Some(row_hint) = follow.row_hint {
        links::set_row_hint(&mut *tx, pair, lead, row_hint).await?;
    }
    if follow.id_landed {
        links::set_id_landed(&mut *tx, pair, lead).await?;
    }
    if follow.abandon && links::abandon_unlanded(&mut *tx, pair, lead, row.id).await? {
        tracing::warn!(
            pair,
            lead_id = lead,
            "the row a new lead was made for is gone; the lead is dropped before it got a card"
        );
        crate::store::activity::insert(
            &mut *tx,
            &crate::store::activity::NewActivity {
                pair: pair.to_owned(),
                lead_id: Some(lead.to_owned()),
                card_id: None,
                field: None,
                decision: "lead_dropped".into(),
                detail: serde_json::json!({"reason": "its row was not found when its id was written"}),
            },
        )
        .await?;
    }
    if let Some(to) = &follow.renamed
        && !links::rename_lead(&mut *tx, pair, lead, to).await?
    {
        return Ok(Err(format!(
            "lead {lead} of pair {pair} cannot take the id {to} of the record made for it: \
             {to} is already a lead of the pair (was the record adopted on its own?)"
        )));
    }
    for cmd in &follow.enqueue {
        outbox::enqueue(&mut *tx, cmd).await?;
    }
    // Committed even when the claim lapsed: the link changes describe what is now true in
    // Trello and the sheet, and they keep a second dispatcher from repeating the work.
    Ok(Ok(outbox::complete(&mut *tx, row.id).await?))
}

/// The metric and the log line of one recorded outcome.
pub(super) fn report(row: &Stored, recorded: Recorded, detail: Option<String>) {
    let lead = row.lead_id.as_deref().unwrap_or("");
    metrics::counter!(
        "leadsync_outbox_commands_total",
        "pair" => row.pair.clone(),
        "kind" => row.kind.clone(),
        "outcome" => recorded.label()
    )
    .increment(1);
    let detail = detail.unwrap_or_default();
    let (pair, kind, attempts, outcome) = (&row.pair, &row.kind, row.attempts, recorded.label());
    match recorded {
        Recorded::Sent => {
            tracing::info!(pair, lead_id = lead, kind, outcome, "outbox command sent");
        }
        Recorded::Skipped => {
            tracing::warn!(
                pair,
                lead_id = lead,
                kind,
                outcome,
                detail,
                "outbox command skipped"
            );
        }
        Recorded::Retried => {
            tracing::warn!(
                pair,
                lead_id = lead,
                kind,
                outcome,
                attempts,
                error = detail,
                "outbox command will be retried"
            );
        }
        Recorded::Dead => {
            tracing::error!(
                pair,
                lead_id = lead,
                kind,
                outcome,
                attempts,
                error = detail,
                "outbox command dead-lettered"
            );
        }
        Recorded::Released => {
            tracing::debug!(
                pair,
                lead_id = lead,
                kind,
                outcome,
                "outbox command released unsent"
            );
        }
        Recorded::Lost => {
            tracing::warn!(
                pair,
                lead_id = lead,
                kind,
                outcome,
                "outbox command's claim lapsed before its outcome was recorded"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_within_its_jitter_band_and_stops_at_the_cap() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(600));
        for (attempts, full) in [(0, 2), (1, 4), (3, 16), (8, 512), (9, 600), (40, 600)] {
            let full = Duration::from_secs(full);
            for _ in 0..20 {
                let d = backoff(attempts, base, max);
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?}");
            }
        }
    }
}
