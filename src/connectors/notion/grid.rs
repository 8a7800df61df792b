//! Notion's pages as the reconciliation grid (row 1 = the pair's column names): the pages laid
//! out under the pair's property names with the page id, 32 hex digits, in the id column (a
//! page's id is its lead's, CONTRACT §7). Planning reads only the grid.

use crate::connectors::notion::client::{Page, compact_id};
use crate::connectors::notion::source::cell;
use crate::model::Field;
use crate::sync::context::PairContext;

/// Pages as a grid: the pair's column names, then one row per page not in the trash.
pub fn pages_grid(ctx: &PairContext, pages: &[Page]) -> Vec<Vec<String>> {
    let c = &ctx.columns;
    let mut header = vec![c.id.clone()];
    header.extend(Field::ALL.iter().map(|f| ctx.header(*f).to_owned()));
    header.extend(c.card.clone());
    let mut grid = vec![header.clone()];
    for page in pages.iter().filter(|p| !p.in_trash) {
        let mut row = vec![compact_id(&page.id)];
        row.extend(
            header
                .iter()
                .skip(1)
                .map(|name| cell(page, name).to_owned()),
        );
        grid.push(row);
    }
    grid
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::test_support::ctx;

    fn page(id: &str, in_trash: bool) -> Page {
        serde_json::from_value(json!({
            "id": id, "created_time": "2026-01-05T10:05:00Z",
            "last_edited_time": "2026-01-05T10:05:00Z",
            "last_edited_by": {"id": "u1", "type": "person"}, "in_trash": in_trash,
            "properties": {
                "name": {"type": "title", "title": [{"plain_text": "Ada"}]},
                "Status": {"type": "select", "select": {"name": "Contacted"}},
                "Lead ID": {"type": "rich_text", "rich_text": [{"plain_text": "other"}]}
            }
        }))
        .expect("a page")
    }

    #[test]
    fn pages_line_up_under_the_column_names_with_their_compact_id_as_the_lead_id() {
        let c = ctx();
        let id = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809";
        let grid = pages_grid(&c, &[page(id, false), page(id, true)]);
        assert_eq!(grid.len(), 2, "the trashed page is no row");
        let at = |name: &str| grid[0].iter().position(|h| h == name).unwrap();
        assert_eq!(
            grid[1][at(&c.columns.id)],
            "1a2b3c4d5e6f708192a3b4c5d6e7f809"
        );
        assert_eq!(grid[1][at(&c.columns.name)], "Ada");
        assert_eq!(grid[1][at(&c.columns.status)], "Contacted");
        assert_eq!(grid[1][at(&c.columns.email)], "");
    }
}
