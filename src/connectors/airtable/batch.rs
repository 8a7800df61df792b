//! A batch of an Airtable pair's tracker commands sorted before anything is sent, against the
//! table's fields: each WriteRow an update of its record (the lead id is the record id), each
//! AppendRow a record to create, and the outcome of every command that needs no call. Pure: the
//! sender (`airtable`) does the I/O.

use std::collections::BTreeMap;

use crate::clients::http::ClientError;
use crate::connectors::airtable::client::{Cell, Fields, Record, RecordUpdate, Table};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

/// A record to create for a lead that exists only as a card.
pub(super) struct NewRecord {
    /// The command's place in the batch.
    pub index: usize,
    pub lead_id: String,
    pub fields: Fields,
    /// (field name, value) that tells the record made for this lead from others, to find it
    /// after a create whose answer was lost: the card URL, else the lead id in the id field.
    pub probe: Option<(String, String)>,
    /// The table has the id field: the record's id is written there once it exists.
    pub writes_id: bool,
}

impl NewRecord {
    /// The record an earlier try made, among `records` (none taken by another create).
    pub(super) fn made_among<'r>(
        &self,
        records: &'r [Record],
        taken: &[&str],
    ) -> Option<&'r Record> {
        let (field, value) = self.probe.as_ref()?;
        records.iter().find(|r| {
            !taken.contains(&r.id.as_str())
                && r.cell(field)
                    .text()
                    .is_some_and(|t| t.trim() == value.trim())
        })
    }
}

/// The batch sorted: updates and creates with their batch index, one outcome slot per command.
#[derive(Default)]
pub(super) struct AirtableBatch {
    pub outcomes: Vec<Option<Outcome>>,
    pub updates: Vec<(usize, RecordUpdate)>,
    pub creates: Vec<NewRecord>,
    /// A command named a field the table (as known) lacks: a newer read of it may have it.
    pub missing_field: bool,
}

impl AirtableBatch {
    pub(super) fn sort(ctx: &PairContext, table: &Table, batch: &[Claimed]) -> Self {
        let mut b = AirtableBatch {
            outcomes: batch.iter().map(|_| None).collect(),
            ..AirtableBatch::default()
        };
        let mapper = Mapper { ctx, table };
        for (i, claimed) in batch.iter().enumerate() {
            let sorted = match &claimed.cmd {
                Command::WriteRow { lead_id, cells, .. } => b.update(&mapper, i, lead_id, cells),
                Command::AppendRow { lead_id, cells } => b.create(&mapper, i, lead_id, cells),
                other => Err(format!(
                    "a {} command reached the Airtable sender",
                    other.kind()
                )),
            };
            if let Err(e) = sorted {
                b.outcomes[i] = Some(Outcome::Invalid(e));
            }
        }
        b
    }

    fn update(
        &mut self,
        mapper: &Mapper<'_>,
        i: usize,
        lead_id: &str,
        cells: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        // A lead's id is its record's once the record exists; before, there is nothing to write.
        if !is_record_id(lead_id) {
            self.outcomes[i] = Some(Outcome::skipped(format!(
                "lead {lead_id} has no Airtable record (its create has not landed); nothing written"
            )));
            return Ok(());
        }
        let mut fields = self.mapped(mapper.map(cells, false))?;
        if fields.is_empty() {
            self.outcomes[i] = Some(Outcome::skipped("the write names no field of the table"));
            return Ok(());
        }
        // CONTRACT §7: when the table has the id field, leadsync writes the lead id there too
        // (a record typed by a user has it empty); every write to the record carries it, so
        // it costs no request of its own.
        if let Some(f) = mapper.table.field(&mapper.ctx.columns.id) {
            fields
                .entry(f.name.clone())
                .or_insert_with(|| Cell::from(lead_id));
        }
        self.updates.push((
            i,
            RecordUpdate {
                id: lead_id.to_owned(),
                fields,
            },
        ));
        Ok(())
    }

    fn create(
        &mut self,
        mapper: &Mapper<'_>,
        i: usize,
        lead_id: &str,
        cells: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let mut fields = self.mapped(mapper.map(cells, true))?;
        let id_field = mapper.table.field(&mapper.ctx.columns.id);
        if let Some(f) = id_field {
            // The lead's id stays findable in the record until the record's own id replaces it.
            fields.insert(f.name.clone(), Cell::from(lead_id));
        }
        let card = (mapper.ctx.columns.card.as_deref()).and_then(|h| {
            let field = mapper.table.field(h)?;
            let url = cells.iter().find(|(k, _)| same(k, h))?.1;
            (!url.trim().is_empty()).then(|| (field.name.clone(), url.clone()))
        });
        let probe = card.or_else(|| id_field.map(|f| (f.name.clone(), lead_id.to_owned())));
        self.creates.push(NewRecord {
            index: i,
            lead_id: lead_id.to_owned(),
            fields,
            probe,
            writes_id: id_field.is_some(),
        });
        Ok(())
    }

    fn mapped(&mut self, fields: Result<Fields, Missing>) -> Result<Fields, String> {
        fields.map_err(|Missing(e)| {
            self.missing_field = true;
            e
        })
    }
}

struct Missing(String);

/// Header text -> the table's field name.
struct Mapper<'a> {
    ctx: &'a PairContext,
    table: &'a Table,
}

impl Mapper<'_> {
    /// The cells by field name (header text matched case-insensitively). An empty value clears
    /// its cell, or is left out of a create. The id column is optional for Airtable: a table
    /// without it gets no id written. Any other missing field is an error naming it.
    fn map(&self, cells: &BTreeMap<String, String>, create: bool) -> Result<Fields, Missing> {
        let mut out = Fields::new();
        for (header, value) in cells {
            let Some(field) = self.table.field(header) else {
                if same(header, &self.ctx.columns.id) {
                    continue;
                }
                return Err(Missing(format!(
                    "field \"{header}\" is missing from table \"{}\" of pair {} (add it, or \
                     run `leadsync check --fix`)",
                    self.table.name, self.ctx.name
                )));
            };
            if value.trim().is_empty() {
                if !create {
                    out.insert(field.name.clone(), Cell::Empty);
                }
                continue;
            }
            out.insert(field.name.clone(), Cell::Text(value.clone()));
        }
        Ok(out)
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Airtable record ids are `rec` and 14 letters or digits; leadsync's own ids are `L…`.
pub(super) fn is_record_id(id: &str) -> bool {
    id.len() == 17 && id.starts_with("rec") && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The answer says the record is not there (deleted in Airtable).
pub(super) fn record_missing(e: &ClientError) -> bool {
    match e {
        ClientError::NotFound { .. } => true,
        ClientError::BadRequest { message, .. } => ["ROW_DOES_NOT_EXIST", "MODEL_ID_NOT_FOUND"]
            .iter()
            .any(|kind| message.starts_with(kind)),
        _ => false,
    }
}

/// The answer says a field the write named is not in the table (renamed or deleted since the
/// table was read).
pub(super) fn unknown_field(e: &ClientError) -> bool {
    matches!(e, ClientError::BadRequest { message, .. } if message.starts_with("UNKNOWN_FIELD_NAME"))
}

/// Airtable refused the request's data (422) before acting on any of its records: sent one by
/// one, the records that are fine land and the bad one is named.
pub(super) fn refused_data(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::BadRequest { status: 422, .. } | ClientError::NotFound { .. }
    ) && !unknown_field(e)
}

/// An error every later request of the batch would meet too: the rest is not sent.
pub(super) fn stops_batch(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Auth { .. } | ClientError::RateLimited { .. } | ClientError::Config(_)
    )
}

/// The error of a record whose request was not sent; tried again with the next round.
pub(super) fn not_sent(endpoint: &'static str) -> ClientError {
    ClientError::Retryable {
        system: "airtable",
        endpoint,
        attempts: 0,
        last: "not sent: an earlier request of the batch failed".into(),
        outcome_unknown: false,
    }
}

/// The outcome of a write to a record that is gone, as a write to a deleted row is: an id write
/// (it expects a name) gives up its new lead; other writes just have nothing to do.
pub(super) fn record_gone(lead_id: &str, id_write: bool) -> Outcome {
    Outcome::Done {
        follow: FollowUp {
            abandon: id_write,
            ..FollowUp::default()
        },
        skipped: Some(format!(
            "the record of lead {lead_id} is gone from Airtable; nothing written"
        )),
    }
}

/// The outcome of an update whose answer is in.
pub(super) fn updated(result: Result<Record, ClientError>, claimed: &Claimed) -> Outcome {
    match result {
        Ok(_) => Outcome::sent(FollowUp::default()),
        Err(e) if record_missing(&e) => {
            let id_write = matches!(
                &claimed.cmd,
                Command::WriteRow {
                    expect_name: Some(_),
                    ..
                }
            );
            record_gone(claimed.cmd.lead_id(), id_write)
        }
        Err(e) => failed(&e),
    }
}

/// A failed call's outcome. A field unknown to Airtable is retried: the table's fields are read
/// again first, and the pair's config may since name the field as it is now.
pub(super) fn failed(e: &ClientError) -> Outcome {
    if unknown_field(e) {
        return Outcome::Failed {
            retryable: true,
            error: format!("{e}; the table's fields are read again before the next try"),
            reassert: Default::default(),
        };
    }
    Outcome::failed(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_airtable_record_ids_are_taken_for_records() {
        assert!(is_record_id("recA1b2C3d4E5f6G7"));
        assert!(!is_record_id("L0123456789ab"));
        assert!(!is_record_id("recShort"));
        assert!(!is_record_id("rec/../../x12345"));
    }

    #[test]
    fn missing_records_and_unknown_fields_are_told_apart_from_other_refusals() {
        let bad = |message: &str| ClientError::BadRequest {
            system: "airtable",
            endpoint: "update_records",
            status: 422,
            message: message.into(),
        };
        let gone = bad("ROW_DOES_NOT_EXIST: Record ID recX does not exist in this table");
        assert!(record_missing(&gone) && refused_data(&gone) && !unknown_field(&gone));
        let field = bad("UNKNOWN_FIELD_NAME: Unknown field name: \"Stage\"");
        assert!(unknown_field(&field) && !refused_data(&field) && !record_missing(&field));
        let value = bad("INVALID_VALUE_FOR_COLUMN: not an email");
        assert!(refused_data(&value) && !record_missing(&value));
    }
}
