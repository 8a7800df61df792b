//! Airtable's records as the reconciliation grid (row 1 = the pair's column names): the records
//! laid out under the pair's field names with the record id in the id column (a record's id is
//! its lead's, CONTRACT §7). Planning reads only the grid.

use crate::connectors::airtable::client::Record;
use crate::model::Field;
use crate::sync::context::PairContext;

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
    use crate::connectors::airtable::client::Cell;
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
