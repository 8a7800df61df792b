//! Sheet writes land by position, and a user may sort or insert rows between the dispatcher's
//! read and its write (or between the write and any later read). After a batch is written, one
//! more read checks, by content rather than position, where each write went: a row that is
//! not the lead's but took one of the batch's values it did not have before gets its earlier
//! cell back, and a write whose lead's row did not get its value is sent again from a fresh
//! read, which finds the row by its id.

use std::collections::HashMap;

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

/// The commands to send again, and the writes that put other rows' cells back.
#[derive(Debug, Default)]
pub(crate) struct Misses {
    pub commands: Vec<usize>,
    pub restore: Vec<ValueRange>,
}

/// Compares a read taken after the batch's write with `pre`, the read it was planned from.
/// When the lead's row lacks a value of the write and the row now at the written position is
/// another one that holds that value, which it did not hold before, that row took the write:
/// it gets its cell back, and the write is sent again. A value missing from the lead's row and
/// found nowhere was overwritten by a user since: kept.
pub(crate) fn misses(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    cols: Columns,
    written: &[Written],
    sheet: &str,
) -> Misses {
    let mut out = Misses::default();
    let by_lead: HashMap<&str, &Written> =
        written.iter().map(|w| (w.lead_id.as_str(), w)).collect();
    let owners: Vec<Option<&Written>> = (0..post.len())
        .map(|q| owner_of(post, q, cols, &by_lead, written).filter(|_| q > 0))
        .collect();
    for w in written {
        let mine = |q: usize| owners[q].is_some_and(|o| o.lead_id == w.lead_id);
        let holds = |grid: &[Vec<String>], q: usize| {
            w.cells
                .iter()
                .all(|(c, v)| cell_at(grid, q, *c as usize - 1).trim() == v.trim())
        };
        // The lead's row holding the values proves the write landed there only if it did not
        // hold them already when the batch was read.
        let held_before =
            (1..pre.len()).any(|p| cell_at(pre, p, cols.id).trim() == w.lead_id && holds(pre, p));
        let landed = (1..post.len()).any(|q| mine(q) && holds(post, q));
        if landed && !held_before {
            continue;
        }
        let mut took = false;
        for q in (1..post.len()).filter(|&q| !mine(q)) {
            // Only the row now at the written position can have taken the write: a value
            // found elsewhere may be a user's own edit, and is not ours to take back.
            if q + 1 != w.row as usize {
                continue;
            }
            // A row with nothing but the batch's values was blank before: inserted since.
            let found = before(pre, post, q, cols, written);
            let blank = blank_but_written(post, q, written);
            if found.is_none() && !blank {
                continue;
            }
            for (c, value) in &w.cells {
                // The row's own write put the same value there.
                if owners[q]
                    .is_some_and(|o| o.cells.iter().any(|own| own.0 == *c && own.1 == *value))
                {
                    continue;
                }
                let c0 = *c as usize - 1;
                let was = found.map_or("", |p| cell_at(pre, p, c0));
                if cell_at(post, q, c0).trim() == value.trim() && was.trim() != value.trim() {
                    let row = u32::try_from(q + 1).unwrap_or(u32::MAX);
                    out.restore.push(ValueRange {
                        range: A1Range::cell(sheet, *c, row).to_string(),
                        values: vec![vec![was.to_owned()]],
                    });
                    took = true;
                }
            }
        }
        if took && !landed {
            out.commands.push(w.index);
        }
    }
    out
}

/// True when every non-empty cell of the row is in a column the batch wrote.
fn blank_but_written(post: &[Vec<String>], q: usize, written: &[Written]) -> bool {
    let touched: Vec<usize> = written
        .iter()
        .flat_map(|w| w.cells.iter().map(|(c, _)| *c as usize - 1))
        .collect();
    post.get(q).is_some_and(|row| {
        row.iter()
            .enumerate()
            .all(|(c, v)| v.trim().is_empty() || touched.contains(&c))
    })
}

/// The write of the batch this row is the target of, if any: the row holds the lead's id, and
/// for a write that gave the row its id, the name it was written for.
fn owner_of<'a>(
    post: &[Vec<String>],
    q: usize,
    cols: Columns,
    by_lead: &HashMap<&str, &'a Written>,
    written: &'a [Written],
) -> Option<&'a Written> {
    let id = cell_at(post, q, cols.id).trim();
    let name = cell_at(post, q, cols.name).trim();
    if id.is_empty() {
        // A row whose id is not written yet (its write failed, or is queued behind this one)
        // is told by the name it was written for.
        return written.iter().find(|w| {
            w.expect_name.as_deref().is_some_and(|n| n.trim() == name)
                && !w.cells.iter().any(|(c, _)| *c as usize - 1 == cols.id)
        });
    }
    let w = by_lead.get(id)?;
    let gave_id = w.cells.iter().any(|(c, _)| *c as usize - 1 == cols.id);
    match (&w.expect_name, gave_id) {
        (Some(expected), true) if name != expected.trim() => None,
        _ => Some(w),
    }
}

/// The row (0-based, in `pre`) that the row now at `q` was before the write: the one with its
/// id, or for a row without one, the one row that agrees with it on every column no write of
/// the batch touched.
fn before(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    q: usize,
    cols: Columns,
    written: &[Written],
) -> Option<usize> {
    let id = cell_at(post, q, cols.id).trim();
    let ours = written.iter().any(|w| w.lead_id == id);
    if !id.is_empty() && !ours {
        return (1..pre.len()).find(|&p| cell_at(pre, p, cols.id).trim() == id);
    }
    let touched: Vec<usize> = written
        .iter()
        .flat_map(|w| w.cells.iter().map(|(c, _)| *c as usize - 1))
        .chain([cols.id])
        .collect();
    // The one pre row sharing the most non-empty cells outside the written columns (not all:
    // a user may have edited one of its cells since the first read).
    let width = pre.iter().chain(post).map(Vec::len).max().unwrap_or(0);
    let shared = |p: usize| {
        (0..width)
            .filter(|c| !touched.contains(c))
            .filter(|&c| {
                let v = cell_at(post, q, c).trim();
                !v.is_empty() && cell_at(pre, p, c).trim() == v
            })
            .count()
    };
    let scores: Vec<(usize, usize)> = (1..pre.len()).map(|p| (shared(p), p)).collect();
    let best = scores.iter().map(|(n, _)| *n).max().filter(|n| *n >= 1)?;
    let mut found = scores.iter().filter(|(n, _)| *n == best);
    match (found.next(), found.next()) {
        (Some((_, p)), None) => Some(*p),
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
    fn a_write_that_hit_another_row_sorted_away_again_is_sent_again_only_if_found_in_place() {
        // The note for L1 landed on L2 while L2 stood at row 2; a second sort put L1 back at
        // row 2, where nothing is wrong any more by position.
        let pre = grid(&[
            &["Lead ID", "Name", "Notes"],
            &["L1", "Ada", "old-a"],
            &["L2", "Bob", "old-b"],
        ]);
        let post = grid(&[
            &["Lead ID", "Name", "Notes"],
            &["L1", "Ada", "old-a"],
            &["L2", "Bob", "for-ada"],
        ]);
        let w = Written {
            index: 1,
            row: 2,
            lead_id: "L1".into(),
            expect_name: None,
            cells: vec![(3, "for-ada".into())],
        };
        // L1's row lacks the note, but the row at the written position is L1's own: a second
        // sort moved the other row away, and a value found elsewhere may be a user's edit.
        // Nothing is taken back; the next reconciliation sees L1 differ and repairs it.
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert!(m.commands.is_empty() && m.restore.is_empty(), "{m:?}");
    }

    #[test]
    fn several_rows_given_the_same_value_by_their_own_writes_are_hits() {
        let pre = grid(&[&["Lead ID", "Status"], &["L1", "New"], &["L2", "New"]]);
        let post = grid(&[&["Lead ID", "Status"], &["L2", "Won"], &["L1", "Won"]]);
        let w = |i, lead: &str, row| Written {
            index: i,
            row,
            lead_id: lead.into(),
            expect_name: None,
            cells: vec![(2, "Won".into())],
        };
        let m = misses(&pre, &post, COLS, &[w(0, "L1", 2), w(1, "L2", 3)], "Leads");
        assert!(m.commands.is_empty() && m.restore.is_empty(), "{m:?}");
    }

    #[test]
    fn a_user_typing_the_same_value_elsewhere_meanwhile_is_left_alone() {
        let pre = grid(&[&["Lead ID", "Status"], &["L1", "New"], &["L2", "New"]]);
        let post = grid(&[&["Lead ID", "Status"], &["L1", "Won"], &["L2", "Won"]]);
        let w = Written {
            index: 0,
            row: 2,
            lead_id: "L1".into(),
            expect_name: None,
            cells: vec![(2, "Won".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert!(m.commands.is_empty() && m.restore.is_empty(), "{m:?}");
    }

    #[test]
    fn an_id_written_over_another_leads_id_is_put_back_though_a_user_edited_that_row() {
        // New lead L9 was planned for the row "Ada" at row 3; a row inserted above moved U1
        // there, and a user changed U1's company meanwhile.
        let pre = grid(&[
            &["Lead ID", "Name", "Phone", "Company"],
            &["U1", "Bob", "+1 2", "Acme"],
            &["", "Ada", "+1 3", ""],
        ]);
        let post = grid(&[
            &["Lead ID", "Name", "Phone", "Company"],
            &["", "", "", ""],
            &["L9", "Bob", "+1 2", "Initech"],
            &["", "Ada", "+1 3", ""],
        ]);
        let w = Written {
            index: 0,
            row: 3,
            lead_id: "L9".into(),
            expect_name: Some("Ada".into()),
            cells: vec![(1, "L9".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert_eq!(m.commands, [0]);
        assert_eq!(m.restore[0].range, "Leads!A3");
        assert_eq!(m.restore[0].values, [["U1"]]);
    }

    #[test]
    fn a_write_the_lead_did_not_need_is_still_taken_back_from_the_row_it_hit() {
        // L1's row already showed the card's URL; the write planned for row 2 landed on the
        // blank row a user inserted there, which must not keep it.
        let pre = grid(&[&["Lead ID", "Name", "Card"], &["L1", "Ada", "u1"]]);
        let post = grid(&[
            &["Lead ID", "Name", "Card"],
            &["", "", "u1"],
            &["L1", "Ada", "u1"],
        ]);
        let w = Written {
            index: 0,
            row: 2,
            lead_id: "L1".into(),
            expect_name: None,
            cells: vec![(3, "u1".into())],
        };
        let m = misses(&pre, &post, COLS, &[w], "Leads");
        assert!(
            m.commands.is_empty(),
            "the lead holds it: nothing to send again"
        );
        assert_eq!(m.restore.len(), 1, "{m:?}");
        assert_eq!(m.restore[0].range, "Leads!C2");
        assert_eq!(m.restore[0].values, [[""]]);
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
