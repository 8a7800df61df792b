//! What a user does in the pair's lead tracker, whichever it is: a lead typed into the next sheet
//! row (and the Apps Script's event sent) or an Airtable record made in the browser, a cell edited,
//! and the leads as the tracker shows them. The demo's scenario is told once over these.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow};

use crate::connectors::airtable::sandbox::AirtableSandbox;
use crate::connectors::notion::client::{Page, compact_id};
use crate::connectors::notion::sandbox::NotionSandbox;
use crate::connectors::notion::source::page_cells;
use crate::model::TrackerKind;

use super::airtable::TABLE;
use super::{HEADER, World};

/// One lead as the tracker shows it: where it is (a sheet row number, or an Airtable record id)
/// and its cells by the world's headers (Airtable field names are the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRow {
    pub key: String,
    pub cells: BTreeMap<String, String>,
}

impl TrackerRow {
    /// The cell under `header`; empty when the tracker has nothing there.
    pub fn cell(&self, header: &str) -> &str {
        self.cells.get(header).map_or("", String::as_str)
    }
}

impl World {
    pub fn tracker(&self) -> TrackerKind {
        self.options.tracker
    }

    /// A new lead with these cells (by header): the sheet's next row, typed and sent as the
    /// Apps Script does, or a record created in Airtable's browser UI. Answers the lead's key for
    /// [`World::tracker_edits`].
    pub async fn tracker_adds_lead(
        &self,
        pair: &str,
        values: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        match self.tracker() {
            TrackerKind::Sheets => {
                let row = self.rows(pair).len() as u32 + 2;
                let mut cells: Vec<&str> = HEADER
                    .iter()
                    .map(|h| values.iter().find(|(k, _)| k == h).map_or("", |(_, v)| v))
                    .collect();
                // As a person types: nothing in the cells after the last one filled.
                while cells.last() == Some(&"") {
                    cells.pop();
                }
                self.user_edits_rows(pair, row, &[&cells]).await?;
                Ok(row.to_string())
            }
            TrackerKind::Airtable => {
                let (at, base) = self.airtable_table(pair)?;
                at.user_create_record(&base, TABLE, values)
                    .map_err(|e| anyhow!("creating the record: {e:?}"))
            }
            TrackerKind::Notion => {
                let (nt, ds) = self.notion_source(pair)?;
                let page = (nt.user_create_page(&ds, values))
                    .map_err(|e| anyhow!("creating the page: {e:?}"))?;
                Ok(compact_id(&page))
            }
        }
    }

    /// Edits one cell (by header) of the lead at `key`, as its user would.
    pub async fn tracker_edits(
        &self,
        pair: &str,
        key: &str,
        header: &str,
        value: &str,
    ) -> anyhow::Result<()> {
        match self.tracker() {
            TrackerKind::Sheets => {
                let row = key
                    .parse()
                    .with_context(|| format!("{key} is no row number"))?;
                self.user_edits_cell(pair, row, header, value).await
            }
            TrackerKind::Airtable => {
                let (at, base) = self.airtable_table(pair)?;
                at.user_update_record(&base, TABLE, key, &[(header, value)])
                    .map_err(|e| anyhow!("editing record {key}: {e:?}"))
            }
            TrackerKind::Notion => {
                let (nt, _) = self.notion_source(pair)?;
                (nt.user_update_page(key, &[(header, value)]))
                    .map_err(|e| anyhow!("editing page {key}: {e:?}"))
            }
        }
    }

    /// The leads as the tracker shows them: the sheet's rows below the header, or the table's
    /// records in creation order (a select as its choice's name, empty cells empty).
    pub fn tracker_rows(&self, pair: &str) -> Vec<TrackerRow> {
        match self.tracker() {
            TrackerKind::Sheets => (self.rows(pair).into_iter().enumerate())
                .map(|(i, cells)| TrackerRow {
                    key: (i + 2).to_string(),
                    cells: HEADER.iter().map(|h| h.to_string()).zip(cells).collect(),
                })
                .collect(),
            TrackerKind::Airtable => {
                let Ok((at, base)) = self.airtable_table(pair) else {
                    return Vec::new();
                };
                (at.records(&base, TABLE).into_iter())
                    .map(|r| TrackerRow {
                        cells: record_cells(at.record_fields(&base, TABLE, &r.id)),
                        key: r.id,
                    })
                    .collect()
            }
            TrackerKind::Notion => self.notion_rows(pair),
        }
    }

    /// The Notion emulator and the pair's data source.
    fn notion_source(&self, pair: &str) -> anyhow::Result<(&NotionSandbox, String)> {
        let nt = self.notion.as_ref().context("no Notion emulator")?;
        let db = self.pair(pair).database.as_ref();
        let ds = db.context("the pair has no Notion database")?;
        Ok((nt, ds.data_source_id.clone()))
    }

    /// The pages of the pair's database not in the trash, in creation order, by compact id.
    fn notion_rows(&self, pair: &str) -> Vec<TrackerRow> {
        let Ok((nt, ds)) = self.notion_source(pair) else {
            return Vec::new();
        };
        (nt.pages(&ds).into_iter())
            .filter(|p| !p["in_trash"].as_bool().unwrap_or(false))
            .filter_map(|p| serde_json::from_value::<Page>(p).ok())
            .map(|p| TrackerRow {
                key: compact_id(&p.id),
                cells: page_cells(&p),
            })
            .collect()
    }

    /// The Airtable emulator and the pair's base.
    fn airtable_table(&self, pair: &str) -> anyhow::Result<(&AirtableSandbox, String)> {
        let at = self.airtable.as_ref().context("no Airtable emulator")?;
        let table = self.pair(pair).table.as_ref();
        let base = table
            .context("the pair has no Airtable table")?
            .base_id
            .clone();
        Ok((at, base))
    }
}

/// A record's `fields` (by name; strings, a select as its name) as text cells.
fn record_cells(fields: Option<serde_json::Value>) -> BTreeMap<String, String> {
    let Some(serde_json::Value::Object(fields)) = fields else {
        return BTreeMap::new();
    };
    (fields.into_iter())
        .map(|(name, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_fields_become_text_cells_and_missing_ones_read_empty() {
        let cells = record_cells(Some(json!({"Name": "Ada", "Status": "New", "Count": 3})));
        let row = TrackerRow {
            key: "rec1".into(),
            cells,
        };
        assert_eq!(row.cell("Name"), "Ada");
        assert_eq!(row.cell("Status"), "New");
        assert_eq!(row.cell("Count"), "3");
        assert_eq!(
            row.cell("Notes"),
            "",
            "an empty cell is absent from Airtable's answer"
        );
        assert!(record_cells(None).is_empty());
    }
}
