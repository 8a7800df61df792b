//! Airtable tracker commands of the dispatcher, batched per pair: the table's fields read once
//! (and remembered), one PATCH per 10 record updates, one POST per 10 new records. Airtable takes
//! 5 requests per second per base, so never one call per command. A new record's id becomes its
//! lead's id, and the lead's card is marked with it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use crate::clients::http::ClientError;
use crate::connectors::airtable::AirtableTracker;
use crate::connectors::airtable::batch::{
    AirtableBatch, NewRecord, failed, not_sent, refused_data, stops_batch, unknown_field, updated,
};
use crate::connectors::airtable::client::{
    AirtableClient, Fields, MAX_BATCH, Record, RecordUpdate, Table,
};
use crate::store::dispatch_support::note_outcome_unknown;
use crate::store::links;
use crate::store::{Db, StoreError};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::outbox::follow_up;
use crate::sync::plan::commands::Command;

const CREATE_NOTE: &str = "create_records sent; its outcome is unknown until Airtable answers";

/// Where a pair's records live.
struct Target<'a> {
    client: &'a AirtableClient,
    base: &'a str,
    /// The table's id: stable when a user renames the table.
    table: &'a str,
}

/// The same outcome for every command of a batch.
fn each(batch: &[Claimed], outcome: impl Fn() -> Outcome) -> Vec<Outcome> {
    batch.iter().map(|_| outcome()).collect()
}

impl AirtableTracker {
    /// Sends the tracker commands of one Airtable pair; one outcome per command, in order.
    pub(super) async fn send_batch(
        &self,
        ctx: &PairContext,
        batch: &[Claimed],
        db: &Db,
    ) -> Result<Vec<Outcome>, StoreError> {
        let invalid = |why: String| Ok(each(batch, || Outcome::Invalid(why.clone())));
        let (Some(base), Some(table)) = (&ctx.settings.base_id, &ctx.settings.table) else {
            return invalid(format!("pair {}: base_id and table must be set", ctx.name));
        };
        let (mut sorted, table) = match sorted(self, ctx, (base, table), batch).await {
            Ok(Some(sorted)) => sorted,
            Ok(None) => {
                return invalid(format!(
                    "table \"{table}\" is missing from Airtable base {base} (pair {})",
                    ctx.name
                ));
            }
            Err(e) => return Ok(each(batch, || failed(&e))),
        };
        let to = Target {
            client: &self.client,
            base,
            table: &table.id,
        };
        if send_updates(&to, batch, &mut sorted).await {
            self.forget(&ctx.name);
        }
        if send_creates(ctx, db, &to, batch, &mut sorted).await? {
            self.forget(&ctx.name);
        }
        Ok(sorted
            .outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Invalid("no outcome was decided".into())))
            .collect())
    }
}

/// One PATCH per 10 updates. Answers whether a write met a field the table no longer has.
async fn send_updates(to: &Target<'_>, batch: &[Claimed], b: &mut AirtableBatch) -> bool {
    let updates = std::mem::take(&mut b.updates);
    let records: Vec<RecordUpdate> = updates.iter().map(|(_, u)| u.clone()).collect();
    let results = in_requests("update_records", records, |chunk| async move {
        to.client.update_records(to.base, to.table, &chunk).await
    })
    .await;
    let mut stale = false;
    for ((i, _), result) in updates.iter().zip(results) {
        stale |= result.as_ref().is_err_and(unknown_field);
        b.outcomes[*i] = Some(updated(result, &batch[*i]));
    }
    stale
}

/// Creates the batch's new records, 10 per POST, after adopting those an earlier try whose
/// answer was lost already made. Answers whether a create met a field the table lacks.
async fn send_creates(
    ctx: &PairContext,
    db: &Db,
    to: &Target<'_>,
    batch: &[Claimed],
    b: &mut AirtableBatch,
) -> Result<bool, StoreError> {
    let creates = std::mem::take(&mut b.creates);
    if creates.is_empty() {
        return Ok(false);
    }
    let made = made_before(ctx, to, batch, &creates, &mut b.outcomes).await;
    let mut to_make = Vec::new();
    for c in &creates {
        if b.outcomes[c.index].is_some() {
            continue;
        }
        match made.get(&c.index) {
            Some(record) => {
                tracing::info!(pair = %ctx.name, lead_id = %c.lead_id, record_id = %record.id,
                        "adopting the record an earlier create made");
                b.outcomes[c.index] = Some(created(ctx, db, &batch[c.index], c, record).await?);
            }
            None => to_make.push(c),
        }
    }
    for c in &to_make {
        note_outcome_unknown(&db.pool, batch[c.index].row.id, CREATE_NOTE).await?;
    }
    let results = create_all(to, &to_make).await;
    let mut stale = false;
    for (c, result) in to_make.iter().zip(results) {
        stale |= result.as_ref().is_err_and(unknown_field);
        b.outcomes[c.index] = Some(match result {
            Ok(record) => created(ctx, db, &batch[c.index], c, &record).await?,
            Err(e) => failed(&e),
        });
    }
    Ok(stale)
}

/// A record made for the lead: the lead takes the record's id (when the create is recorded),
/// its card is marked with that id, and the id field (if the table has one) gets it too.
async fn created(
    ctx: &PairContext,
    db: &Db,
    claimed: &Claimed,
    new: &NewRecord,
    record: &Record,
) -> Result<Outcome, StoreError> {
    let link = links::get_by_lead(&db.pool, &ctx.name, &new.lead_id).await?;
    let mut commands = Vec::new();
    if let Some(card_id) = link.and_then(|l| l.card_id) {
        let mark = Command::MarkCard {
            lead_id: record.id.clone(),
            card_id,
        };
        commands.push(("mark-record", mark));
    }
    if new.writes_id {
        let id = Command::WriteRow {
            lead_id: record.id.clone(),
            row_hint: None,
            expect_name: None,
            cells: [(ctx.columns.id.clone(), record.id.clone())].into(),
        };
        commands.push(("record-id", id));
    }
    let mut follow = FollowUp {
        renamed: Some(record.id.clone()),
        ..FollowUp::default()
    };
    for (purpose, cmd) in commands {
        match follow_up(&claimed.row, purpose, &cmd, ctx.tracker) {
            Ok(cmd) => follow.enqueue.push(cmd),
            Err(e) => return Ok(Outcome::Invalid(e)),
        }
    }
    Ok(Outcome::sent(follow))
}

/// The table as known (read again if a command names a field the remembered one lacks), and
/// the batch sorted against it. `None`: the base has no such table.
async fn sorted(
    sender: &AirtableTracker,
    ctx: &PairContext,
    at: (&str, &str),
    batch: &[Claimed],
) -> Result<Option<(AirtableBatch, Arc<Table>)>, ClientError> {
    let cached = sender.cached(&ctx.name);
    let was_cached = cached.is_some();
    let table = match cached {
        Some(t) => t,
        None => match sender.read(ctx, at).await? {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    let sorted = AirtableBatch::sort(ctx, &table, batch);
    if !sorted.missing_field || !was_cached {
        return Ok(Some((sorted, table)));
    }
    // The field may have been added since the table was read (`check --fix`, or by hand).
    let Some(table) = sender.read(ctx, at).await? else {
        return Ok(None);
    };
    Ok(Some((AirtableBatch::sort(ctx, &table, batch), table)))
}

/// POSTs the records, 10 per request.
async fn create_all(to: &Target<'_>, creates: &[&NewRecord]) -> Vec<Result<Record, ClientError>> {
    let fields: Vec<Fields> = creates.iter().map(|c| c.fields.clone()).collect();
    in_requests("create_records", fields, |chunk| async move {
        to.client.create_records(to.base, to.table, &chunk).await
    })
    .await
}

/// Sends `items` at most 10 per request through `send` (one request per call); one result per
/// item, in order. Airtable refuses a request whose data it rejects (a gone record, a bad value)
/// before acting on any of its records, so a refused request is sent again one record at a
/// time: the others land and the bad one is named. After an error every later request would
/// meet too (auth, rate limit), the rest is not sent.
async fn in_requests<I, F, Fut>(
    endpoint: &'static str,
    items: Vec<I>,
    send: F,
) -> Vec<Result<Record, ClientError>>
where
    I: Clone,
    F: Fn(Vec<I>) -> Fut,
    Fut: Future<Output = Vec<Result<Record, ClientError>>>,
{
    let mut out = Vec::with_capacity(items.len());
    let mut stopped = false;
    for chunk in items.chunks(MAX_BATCH) {
        if stopped {
            out.extend(chunk.iter().map(|_| Err(not_sent(endpoint))));
            continue;
        }
        let results = send(chunk.to_vec()).await;
        let first = results.first().and_then(|r| r.as_ref().err());
        stopped = first.is_some_and(stops_batch);
        if chunk.len() > 1 && first.is_some_and(refused_data) {
            for one in chunk {
                out.extend(send(vec![one.clone()]).await);
            }
        } else {
            out.extend(results);
        }
    }
    out
}

/// Records earlier tries of these creates made, by batch index: a try whose answer was lost
/// (or a dispatcher that died mid-call) may have made one, and a second POST would make
/// another. Found by the card URL, else the lead id in the id field; with neither mapped the
/// record cannot be told from others and is created again (said in the log). A failed search
/// fails the creates that needed it, to be tried again.
async fn made_before(
    ctx: &PairContext,
    to: &Target<'_>,
    batch: &[Claimed],
    creates: &[NewRecord],
    outcomes: &mut [Option<Outcome>],
) -> HashMap<usize, Record> {
    let mut found = HashMap::new();
    let maybe: Vec<&NewRecord> = (creates.iter())
        .filter(|c| {
            let row = &batch[c.index].row;
            row.attempts > 0 || row.last_error.is_some()
        })
        .collect();
    let (findable, blind): (Vec<&NewRecord>, Vec<&NewRecord>) =
        maybe.into_iter().partition(|c| c.probe.is_some());
    for c in blind {
        tracing::warn!(pair = %ctx.name, lead_id = %c.lead_id,
            "creating a record again after an unknown outcome: the pair maps neither a card \
             field nor an id field to find the first one by, so it may now exist twice");
    }
    if findable.is_empty() {
        return found;
    }
    let records = match to.client.list_records(to.base, to.table).await {
        Ok(records) => records,
        Err(e) => {
            for c in findable {
                outcomes[c.index] = Some(failed(&e));
            }
            return found;
        }
    };
    let mut taken: Vec<&str> = Vec::new();
    for c in findable {
        if let Some(record) = c.made_among(&records, &taken) {
            taken.push(&record.id);
            found.insert(c.index, record.clone());
        }
    }
    found
}

#[cfg(test)]
pub(crate) mod bench;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fields;
