//! A webhook payload flattened into one change per record, with who made it and when: what the
//! engine needs, without the payload's nesting by table and kind.

use chrono::{DateTime, Utc};

use super::wire::{Fields, Payload};

/// What happened to one record in one payload. Cells are keyed by field id.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Created {
        cells: Fields,
    },
    /// `current` holds only the changed cells (`Cell::Empty` when cleared); `previous` their
    /// values before, when the webhook includes them.
    Changed {
        current: Fields,
        previous: Option<Fields>,
        /// The record's other cells, when the webhook asked for them (empty ones are absent).
        unchanged: Option<Fields>,
    },
    Destroyed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    pub table_id: String,
    pub record_id: String,
    pub change: Change,
    /// `actionMetadata.source`: `publicApi` for changes made with a token (leadsync's included).
    pub source: String,
    pub timestamp: DateTime<Utc>,
    pub transaction: u64,
}

impl Payload {
    /// One change per record the payload touches: per table, created, then changed, then
    /// destroyed records (a payload is one transaction, so a record appears once).
    pub fn record_changes(&self) -> Vec<RecordChange> {
        let mut out = Vec::new();
        for (table_id, t) in &self.changed_tables_by_id {
            let mut push = |record_id: &str, change: Change| {
                out.push(RecordChange {
                    table_id: table_id.clone(),
                    record_id: record_id.to_owned(),
                    change,
                    source: self.action_metadata.source.clone(),
                    timestamp: self.timestamp,
                    transaction: self.base_transaction_number,
                });
            };
            for (id, created) in &t.created_records_by_id {
                let cells = created.cell_values_by_field_id.clone();
                push(id, Change::Created { cells });
            }
            for (id, changed) in &t.changed_records_by_id {
                let current = changed.current.cell_values_by_field_id.clone();
                let previous =
                    (changed.previous.as_ref()).map(|p| p.cell_values_by_field_id.clone());
                let unchanged =
                    (changed.unchanged.as_ref()).map(|u| u.cell_values_by_field_id.clone());
                push(
                    id,
                    Change::Changed {
                        current,
                        previous,
                        unchanged,
                    },
                );
            }
            for id in &t.destroyed_record_ids {
                push(id, Change::Destroyed);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::airtable::client::Cell;

    #[test]
    fn a_payload_flattens_into_created_changed_and_destroyed_records() {
        let payload: Payload = serde_json::from_value(serde_json::json!({
            "timestamp": "2026-01-02T03:04:05.000Z", "baseTransactionNumber": 7,
            "actionMetadata": {"source": "client", "sourceMetadata": {"user": {"id": "usr1"}}},
            "payloadFormat": "v0",
            "changedTablesById": {"tblA": {
                "createdRecordsById": {"recNew": {"createdTime": "2026-01-02T03:04:05.000Z",
                    "cellValuesByFieldId": {"fldName": "Ada",
                        "fldStatus": {"id": "selX", "name": "New", "color": "blueLight2"}}}},
                "changedRecordsById": {"recOld": {
                    "current": {"cellValuesByFieldId": {"fldName": null}},
                    "previous": {"cellValuesByFieldId": {"fldName": "Bob"}}}},
                "destroyedRecordIds": ["recGone"],
                "changedFieldsById": {}}}
        }))
        .expect("a payload");
        let changes = payload.record_changes();
        let ids: Vec<&str> = changes.iter().map(|c| c.record_id.as_str()).collect();
        assert_eq!(ids, ["recNew", "recOld", "recGone"]);
        assert!(
            changes
                .iter()
                .all(|c| c.source == "client" && c.transaction == 7)
        );
        assert!(changes.iter().all(|c| c.table_id == "tblA"));
        assert_eq!(
            changes[0].timestamp.to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        let Change::Created { cells } = &changes[0].change else {
            panic!("{:?}", changes[0])
        };
        assert_eq!(cells["fldName"], Cell::Text("Ada".into()));
        assert_eq!(cells["fldStatus"].text(), Some("New"));
        let Change::Changed {
            current, previous, ..
        } = &changes[1].change
        else {
            panic!("{:?}", changes[1])
        };
        assert_eq!(current["fldName"], Cell::Empty);
        assert_eq!(previous.as_ref().unwrap()["fldName"].text(), Some("Bob"));
        assert_eq!(changes[2].change, Change::Destroyed);
    }
}
