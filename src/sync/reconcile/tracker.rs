//! The whole lead tracker as one grid (row 1 = the pair's column names), whatever its kind: the
//! sheet as read, or Airtable's records laid out under the pair's field names with the record
//! id in the id column (a record's id is its lead's, CONTRACT §7). Planning reads only the grid.

use crate::clients::airtable::{AirtableClient, Record};
use crate::clients::http::ClientError;
use crate::clients::sheets::SheetsClient;
use crate::model::{Field, TrackerKind};
use crate::sync::context::PairContext;

/// Reads the pair's tracker: one call for a sheet, page after page for Airtable.
pub async fn read_grid(
    ctx: &PairContext,
    sheets: &SheetsClient,
    airtable: Option<&AirtableClient>,
) -> Result<Vec<Vec<String>>, ClientError> {
    let s = &ctx.settings;
    match ctx.tracker {
        TrackerKind::Sheets => Ok(sheets.read_sheet(&s.spreadsheet_id, &s.sheet).await?.values),
        TrackerKind::Airtable => {
            let client = airtable.ok_or_else(|| {
                ClientError::Config("airtable.token: no Airtable client was built".into())
            })?;
            let base = s.base_id.as_deref().unwrap_or_default();
            let table = s.table.as_deref().unwrap_or_default();
            let records = client.list_records(base, table).await?;
            Ok(records_grid(ctx, &records))
        }
    }
}

/// Records as a grid: the pair's column names, then one row per record.
pub fn records_grid(ctx: &PairContext, records: &[Record]) -> Vec<Vec<String>> {
    let c = &ctx.columns;
    let mut header = vec![c.id.clone()];
    header.extend(Field::ALL.iter().map(|f| ctx.header(*f).to_owned()));
    header.extend(c.card.clone());
    let mut grid = vec![header.clone()];
    for record in records {
        let mut row = vec![record.id.clone()];
        row.extend(header.iter().skip(1).map(|name| cell_text(record, name)));
        grid.push(row);
    }
    grid
}

/// A record's cell by field name (ignoring case and surrounding spaces, as columns match);
/// absent or not text: empty.
fn cell_text(record: &Record, name: &str) -> String {
    let wanted = name.trim().to_lowercase();
    (record.fields.iter())
        .find(|(k, _)| k.trim().to_lowercase() == wanted)
        .and_then(|(_, cell)| cell.text())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::airtable::Cell;
    use crate::sync::test_support::{ctx, t};

    #[test]
    fn records_line_up_under_the_column_names_with_their_id_as_the_lead_id() {
        let c = ctx();
        let record = Record {
            id: "recA".into(),
            created_time: t(1),
            fields: [
                ("name".to_owned(), Cell::from("Ada")),
                (
                    "Status".to_owned(),
                    Cell::Select {
                        id: "selX".into(),
                        name: "Contacted".into(),
                    },
                ),
                ("Lead ID".to_owned(), Cell::from("something else")),
            ]
            .into(),
        };
        let grid = records_grid(&c, &[record]);
        let header = &grid[0];
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(grid[1][at(&c.columns.id)], "recA");
        assert_eq!(grid[1][at(&c.columns.name)], "Ada");
        assert_eq!(grid[1][at(&c.columns.status)], "Contacted");
        assert_eq!(grid[1][at(&c.columns.email)], "");
    }
}
