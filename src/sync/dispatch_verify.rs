//! Sheet writes land by position, and a user may sort or insert rows between the dispatcher's
//! read and its write. After a batch is written, one more read checks that every written row
//! is still the lead's: a write that hit another row is undone there (from that row's cells
//! as first read) and its command is retried from a fresh read, which finds the row by its id.

use crate::clients::sheets::ValueRange;
use crate::clients::sheets::a1::{A1Range, cell_at};

/// One row a batch wrote: the command's index in the batch, the row, and the cells written
/// (1-based column, value).
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub index: usize,
    pub row: u32,
    pub lead_id: String,
    pub expect_name: Option<String>,
    pub cells: Vec<(u32, String)>,
}

/// Where the sheet's identity lives: the id and name columns, 0-based.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub id: usize,
    pub name: usize,
}

/// The commands whose write hit another row, and the writes that put that row's cells back.
#[derive(Debug, Default)]
pub(crate) struct Misses {
    pub commands: Vec<usize>,
    pub restore: Vec<ValueRange>,
}

/// Compares the rows written with a read taken after the write (`pre` is the read the batch
/// was planned from).
pub(crate) fn misses(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    cols: Columns,
    written: &[Written],
    sheet: &str,
) -> Misses {
    let mut out = Misses::default();
    for w in written {
        let r = w.row as usize - 1;
        if hit(pre, post, cols, w) {
            continue;
        }
        out.commands.push(w.index);
        match original(pre, post, r, w) {
            Some(p) => out.restore.extend(w.cells.iter().map(|(c, _)| ValueRange {
                range: A1Range::cell(sheet, *c, w.row).to_string(),
                values: vec![vec![cell_at(pre, p, *c as usize - 1).to_owned()]],
            })),
            None => tracing::error!(
                row = w.row,
                lead_id = %w.lead_id,
                "a write landed on a row that moved, and that row's earlier cells cannot be told apart; they are left as written"
            ),
        }
    }
    out
}

/// The write reached its lead's row: the row holds the lead's id, and when the write gave the
/// row its id, the row still has the name it was written for.
fn hit(pre: &[Vec<String>], post: &[Vec<String>], cols: Columns, w: &Written) -> bool {
    let r = w.row as usize - 1;
    if cell_at(post, r, cols.id).trim() != w.lead_id {
        return false;
    }
    let gave_id = cell_at(pre, r, cols.id).trim() != w.lead_id;
    match (&w.expect_name, gave_id) {
        (Some(name), true) => cell_at(post, r, cols.name).trim() == name.trim(),
        _ => true,
    }
}

/// The row (0-based, in `pre`) that the row now at `r` was before the write: the one row that
/// agrees with it on every column the write did not touch.
fn original(pre: &[Vec<String>], post: &[Vec<String>], r: usize, w: &Written) -> Option<usize> {
    let written: Vec<usize> = w.cells.iter().map(|(c, _)| *c as usize - 1).collect();
    let width = pre
        .iter()
        .chain(post.iter())
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let same = |p: usize| {
        (0..width)
            .filter(|c| !written.contains(c))
            .all(|c| cell_at(pre, p, c).trim() == cell_at(post, r, c).trim())
    };
    let mut found = (1..pre.len()).filter(|&p| same(p));
    match (found.next(), found.next()) {
        (Some(p), None) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    const COLS: Columns = Columns { id: 0, name: 1 };

    #[test]
    fn a_write_that_reached_its_row_is_a_hit() {
        let pre = grid(&[&["Lead ID", "Name", "Notes"], &["L1", "Ada", ""]]);
        let post = grid(&[&["Lead ID", "Name", "Notes"], &["L1", "Ada", "hi"]]);
        let w = Written {
            index: 0,
            row: 2,
            lead_id: "L1".into(),
            expect_name: None,
            cells: vec![(3, "hi".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert!(m.commands.is_empty() && m.restore.is_empty(), "{m:?}");
    }

    #[test]
    fn a_write_that_hit_a_row_sorted_into_its_place_is_undone_there_and_retried() {
        // Read: L1 at row 2, L2 at row 3. A sort puts L2 first, then L1's note lands on L2.
        let pre = grid(&[
            &["Lead ID", "Name", "Notes"],
            &["L1", "Ada", "old-a"],
            &["L2", "Bob", "old-b"],
        ]);
        let post = grid(&[
            &["Lead ID", "Name", "Notes"],
            &["L2", "Bob", "for-ada"],
            &["L1", "Ada", "old-a"],
        ]);
        let w = Written {
            index: 4,
            row: 2,
            lead_id: "L1".into(),
            expect_name: None,
            cells: vec![(3, "for-ada".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert_eq!(m.commands, [4]);
        assert_eq!(m.restore.len(), 1);
        assert_eq!(m.restore[0].range, "Leads!C2");
        assert_eq!(m.restore[0].values, [["old-b"]]);
    }

    #[test]
    fn an_id_written_into_a_row_inserted_above_is_taken_back() {
        // A new row "Ada" was read at row 2; a row inserted above moves it to 3, and the id
        // lands on the inserted row "Cy".
        let pre = grid(&[&["Lead ID", "Name"], &["", "Ada"], &["", "Cy"]]);
        let post = grid(&[&["Lead ID", "Name"], &["L9", "Cy"], &["", "Ada"]]);
        let w = Written {
            index: 0,
            row: 2,
            lead_id: "L9".into(),
            expect_name: Some("Ada".into()),
            cells: vec![(1, "L9".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert_eq!(m.commands, [0]);
        assert_eq!(m.restore[0].values, [[""]]);
    }
}
