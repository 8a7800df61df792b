//! The records API: full paginated reads, one record, and writes in batches of at most 10 with a
//! result per record.

use std::future::Future;

use reqwest::Method;
use serde_json::{Value, json};

use super::wire::{DeletedWire, Fields, ListWire, Record, RecordUpdate, RecordsWire};
use super::{AirtableClient, SYSTEM, id};
use crate::clients::http::ClientError;

/// Airtable takes at most this many records per write request.
pub const MAX_BATCH: usize = 10;
/// The largest page Airtable answers.
const PAGE_SIZE: &str = "100";
/// An offset iterator that expired mid-read (Airtable keeps them a few minutes) restarts the read
/// from the top at most this many times.
const RESTARTS: u32 = 2;

impl AirtableClient {
    /// Every record of the table, in the table's default order: page after page of 100 until no
    /// `offset` comes back. Either the whole table or an error, never a part of it.
    pub async fn list_records(
        &self,
        base_id: &str,
        table: &str,
    ) -> Result<Vec<Record>, ClientError> {
        let base = id("list_records", "base", base_id)?;
        let url = self.url(&[base, table]);
        let mut restarts = 0;
        'read: loop {
            let mut records = Vec::new();
            let mut offset: Option<String> = None;
            loop {
                let mut query = vec![("pageSize", PAGE_SIZE.to_owned())];
                if let Some(o) = offset.take() {
                    query.push(("offset", o));
                }
                let page: ListWire = match self.get(base, "list_records", url.clone(), &query).await
                {
                    Err(e) if expired_iterator(&e) && restarts < RESTARTS => {
                        restarts += 1;
                        continue 'read;
                    }
                    other => other?,
                };
                records.extend(page.records);
                match page.offset {
                    Some(o) => offset = Some(o),
                    None => return Ok(records),
                }
            }
        }
    }

    pub async fn get_record(
        &self,
        base_id: &str,
        table: &str,
        record_id: &str,
    ) -> Result<Record, ClientError> {
        let base = id("get_record", "base", base_id)?;
        let record = id("get_record", "record", record_id)?;
        self.get(base, "get_record", self.url(&[base, table, record]), &[])
            .await
    }

    /// Creates the records in order, 10 per request, with `typecast` (a new status becomes a
    /// select choice). Not retried on an unknown outcome: a second POST would create twice, so
    /// the caller looks for the records before it tries again.
    pub async fn create_records(
        &self,
        base_id: &str,
        table: &str,
        records: &[Fields],
    ) -> Vec<Result<Record, ClientError>> {
        let endpoint = "create_records";
        let url = match id(endpoint, "base", base_id) {
            Ok(base) => self.url(&[base, table]),
            Err(e) => return records.iter().map(|_| Err(copy(&e))).collect(),
        };
        in_batches(endpoint, records, |batch| {
            let records: Vec<Value> = batch.iter().map(|f| json!({"fields": f})).collect();
            let body = json!({"records": records, "typecast": true});
            let url = url.clone();
            async move {
                let to = (Method::POST, url);
                let w: RecordsWire = self.send(base_id, endpoint, to, Some(&body), false).await?;
                Ok(w.records)
            }
        })
        .await
    }

    /// PATCHes the given cells of each record (others keep their values; `Cell::Empty` clears),
    /// 10 per request, with `typecast`. Answers each record as it now is.
    pub async fn update_records(
        &self,
        base_id: &str,
        table: &str,
        updates: &[RecordUpdate],
    ) -> Vec<Result<Record, ClientError>> {
        let endpoint = "update_records";
        let url = match id(endpoint, "base", base_id) {
            Ok(base) => self.url(&[base, table]),
            Err(e) => return updates.iter().map(|_| Err(copy(&e))).collect(),
        };
        in_batches(endpoint, updates, |batch| {
            let records: Vec<Value> = (batch.iter())
                .map(|u| json!({"id": u.id, "fields": u.fields}))
                .collect();
            let body = json!({"records": records, "typecast": true});
            let url = url.clone();
            async move {
                let to = (Method::PATCH, url);
                let w: RecordsWire = self.send(base_id, endpoint, to, Some(&body), true).await?;
                Ok(w.records)
            }
        })
        .await
    }

    /// Deletes the records, 10 per request; answers each deleted id. Retried like any idempotent
    /// call, so a retry after a lost answer may say `NotFound`: the record is gone either way.
    pub async fn delete_records(
        &self,
        base_id: &str,
        table: &str,
        record_ids: &[String],
    ) -> Vec<Result<String, ClientError>> {
        let endpoint = "delete_records";
        let url = match id(endpoint, "base", base_id) {
            Ok(base) => self.url(&[base, table]),
            Err(e) => return record_ids.iter().map(|_| Err(copy(&e))).collect(),
        };
        in_batches(endpoint, record_ids, |batch| {
            let mut url = url.clone();
            let checked: Result<(), ClientError> =
                (batch.iter()).try_for_each(|r| id(endpoint, "record", r).map(drop));
            if checked.is_ok() {
                let mut pairs = url.query_pairs_mut();
                for r in batch {
                    pairs.append_pair("records[]", r);
                }
            }
            async move {
                checked?;
                let to = (Method::DELETE, url);
                let w: DeletedWire = self.send(base_id, endpoint, to, None, true).await?;
                Ok(w.records
                    .into_iter()
                    .filter(|r| r.deleted)
                    .map(|r| r.id)
                    .collect())
            }
        })
        .await
    }
}

/// Runs `send` on chunks of at most [`MAX_BATCH`] items and answers one result per item, in
/// order: the i-th answered record for the i-th item (Airtable answers in request order). A
/// failed request fails each of its items with its error; after an error that every later
/// request would meet too (auth, missing base or table, rate limit), the rest is not sent.
async fn in_batches<I, O, F, Fut>(
    endpoint: &'static str,
    items: &[I],
    send: F,
) -> Vec<Result<O, ClientError>>
where
    F: Fn(&[I]) -> Fut,
    Fut: Future<Output = Result<Vec<O>, ClientError>>,
{
    let mut out = Vec::with_capacity(items.len());
    let mut stopped = false;
    for batch in items.chunks(MAX_BATCH) {
        if stopped {
            out.extend(batch.iter().map(|_| Err(not_sent(endpoint))));
            continue;
        }
        match send(batch).await {
            Ok(answered) => {
                let mut answered = answered.into_iter();
                for _ in batch {
                    out.push(answered.next().ok_or_else(|| short_answer(endpoint)));
                }
            }
            Err(e) => {
                stopped = matches!(
                    e,
                    ClientError::Auth { .. }
                        | ClientError::NotFound { .. }
                        | ClientError::RateLimited { .. }
                        | ClientError::Config(_)
                );
                out.extend(batch.iter().map(|_| Err(copy(&e))));
            }
        }
    }
    out
}

fn expired_iterator(e: &ClientError) -> bool {
    matches!(e, ClientError::BadRequest { message, .. }
        if message.starts_with("LIST_RECORDS_ITERATOR_NOT_AVAILABLE"))
}

fn not_sent(endpoint: &'static str) -> ClientError {
    ClientError::Retryable {
        system: SYSTEM,
        endpoint,
        attempts: 0,
        last: "not sent: an earlier batch failed".into(),
        outcome_unknown: false,
    }
}

fn short_answer(endpoint: &'static str) -> ClientError {
    ClientError::Decode {
        system: SYSTEM,
        endpoint,
        message: "fewer records answered than sent".into(),
    }
}

/// The same error for each record of a failed request (`ClientError` is not `Clone`; listing
/// every variant here makes a new one a compile error rather than a silent mismatch).
fn copy(e: &ClientError) -> ClientError {
    use ClientError as E;
    match e {
        E::Auth {
            system,
            endpoint,
            status,
        } => E::Auth {
            system,
            endpoint,
            status: *status,
        },
        E::NotFound { system, endpoint } => E::NotFound { system, endpoint },
        E::RateLimited {
            system,
            endpoint,
            attempts,
        } => E::RateLimited {
            system,
            endpoint,
            attempts: *attempts,
        },
        E::BadRequest {
            system,
            endpoint,
            status,
            message,
        } => E::BadRequest {
            system,
            endpoint,
            status: *status,
            message: message.clone(),
        },
        E::Retryable {
            system,
            endpoint,
            attempts,
            last,
            outcome_unknown,
        } => E::Retryable {
            system,
            endpoint,
            attempts: *attempts,
            last: last.clone(),
            outcome_unknown: *outcome_unknown,
        },
        E::Decode {
            system,
            endpoint,
            message,
        } => E::Decode {
            system,
            endpoint,
            message: message.clone(),
        },
        E::Config(m) => E::Config(m.clone()),
    }
}
