//! A `batchUpdate` whose answer was lost (a timeout, a reset, a 5xx after the server acted)
//! is settled by reading the sheet, never by sending it again blindly: a user who saw the first
//! try land may have typed over it since, and a blind repeat would revert their edit. Google
//! applies a `batchUpdate` whole or not at all, so one cell of the batch that went from the
//! value read before to ours shows the batch landed; otherwise each write is sent again only
//! for the cells that still hold what they held before, and a cell a user changed since keeps
//! the user's value. Pure: the sender (`send`) reads and writes.

use crate::connectors::sheets::client::a1::cell_at;
use crate::connectors::sheets::verify::{Columns, Written};

/// What became of one write of a batch that did not land.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unlanded {
    /// Every cell still holds what it held before: send the write again as it is.
    Resend,
    /// A user changed some of its cells since (their values stand); these others (1-based
    /// column, value) still hold what they held before and are sent again.
    Partly(Vec<(u32, String)>),
}

/// True when the batch was applied: some cell of it holds our value in its lead's row now and
/// did not hold it when the batch was planned.
pub(crate) fn batch_landed(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    cols: Columns,
    written: &[Written],
) -> bool {
    written.iter().any(|w| {
        let Some(q) = row_now(post, cols, w) else {
            return false;
        };
        let p = w.row as usize - 1;
        w.cells.iter().any(|(c, v)| {
            let c0 = *c as usize - 1;
            cell_at(post, q, c0).trim() == v.trim() && cell_at(pre, p, c0).trim() != v.trim()
        })
    })
}

/// For a batch that did not land: what to send again of write `w` (`None`: nothing, a user
/// changed every cell of it since). A row that cannot be found is sent again as it is: the
/// next round's read locates it afresh.
pub(crate) fn unlanded(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    cols: Columns,
    w: &Written,
) -> Option<Unlanded> {
    let Some(q) = row_now(post, cols, w) else {
        return Some(Unlanded::Resend);
    };
    let p = w.row as usize - 1;
    let (same, changed): (Vec<_>, Vec<_>) = w.cells.iter().cloned().partition(|(c, _)| {
        let c0 = *c as usize - 1;
        cell_at(post, q, c0).trim() == cell_at(pre, p, c0).trim()
    });
    match (same.is_empty(), changed.is_empty()) {
        (_, true) => Some(Unlanded::Resend),
        (true, false) => None,
        (false, false) => Some(Unlanded::Partly(same)),
    }
}

/// The lead's row in the read taken after the lost answer (0-based): the row holding its id;
/// for a write that gives a row its id, the row it was planned for if that row still has no
/// id and the expected name, else the one row without an id that has that name.
fn row_now(post: &[Vec<String>], cols: Columns, w: &Written) -> Option<usize> {
    if let Some(q) = (1..post.len()).find(|&q| cell_at(post, q, cols.id).trim() == w.lead_id) {
        return Some(q);
    }
    let name = w.expect_name.as_deref()?.trim();
    let open = |q: usize| {
        cell_at(post, q, cols.id).trim().is_empty() && cell_at(post, q, cols.name).trim() == name
    };
    let planned = w.row as usize - 1;
    if planned > 0 && planned < post.len() && open(planned) {
        return Some(planned);
    }
    let mut rows = (1..post.len()).filter(|&q| open(q));
    match (rows.next(), rows.next()) {
        (Some(q), None) => Some(q),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: Columns = Columns { id: 0, name: 1 };

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        let mut g = vec![vec!["Id".to_owned(), "Name".into(), "Company".into()]];
        g.extend(
            rows.iter()
                .map(|r| r.iter().map(|c| (*c).to_owned()).collect()),
        );
        g
    }

    fn write(lead: &str, row: u32, cells: &[(u32, &str)]) -> Written {
        Written {
            index: 0,
            row,
            lead_id: lead.into(),
            expect_name: None,
            cells: cells.iter().map(|(c, v)| (*c, (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn a_cell_that_went_from_the_value_read_to_ours_shows_the_batch_landed() {
        let pre = grid(&[&["L1", "Ann", "old"], &["L2", "Bob", "x"]]);
        let w = [write("L1", 2, &[(3, "new")]), write("L2", 3, &[(3, "y")])];
        // L1's cell was typed over by a user since; L2's shows ours: the batch landed.
        let post = grid(&[&["L1", "Ann", "typed"], &["L2", "Bob", "y"]]);
        assert!(batch_landed(&pre, &post, COLS, &w));
        let post = grid(&[&["L1", "Ann", "typed"], &["L2", "Bob", "x"]]);
        assert!(!batch_landed(&pre, &post, COLS, &w));
    }

    #[test]
    fn rows_sorted_since_are_found_by_their_ids() {
        let pre = grid(&[&["L1", "Ann", "old"], &["L2", "Bob", "x"]]);
        let w = [write("L1", 2, &[(3, "new")])];
        let post = grid(&[&["L2", "Bob", "x"], &["L1", "Ann", "new"]]);
        assert!(batch_landed(&pre, &post, COLS, &w));
    }

    #[test]
    fn a_write_not_landed_is_sent_again_except_for_the_cells_a_user_changed_since() {
        let pre = grid(&[&["L1", "Ann", "old"]]);
        let both = write("L1", 2, &[(2, "Anna"), (3, "new")]);
        let untouched = grid(&[&["L1", "Ann", "old"]]);
        assert_eq!(
            unlanded(&pre, &untouched, COLS, &both),
            Some(Unlanded::Resend)
        );
        let company_typed = grid(&[&["L1", "Ann", "typed"]]);
        assert_eq!(
            unlanded(&pre, &company_typed, COLS, &both),
            Some(Unlanded::Partly(vec![(2, "Anna".into())]))
        );
        let all_typed = grid(&[&["L1", "Al", "typed"]]);
        assert_eq!(unlanded(&pre, &all_typed, COLS, &both), None);
    }

    #[test]
    fn an_id_write_is_found_by_the_name_it_was_planned_for() {
        let pre = grid(&[&["", "Ann", "a"], &["", "Bob", "b"]]);
        let mut w = write("L9", 3, &[(1, "L9")]);
        w.expect_name = Some("Bob".into());
        // Sorted since: Bob's row is now row 2, still without an id.
        let post = grid(&[&["", "Bob", "b"], &["", "Ann", "a"]]);
        assert!(!batch_landed(&pre, &post, COLS, &[w.clone()]));
        assert_eq!(unlanded(&pre, &post, COLS, &w), Some(Unlanded::Resend));
        let landed = grid(&[&["L9", "Bob", "b"], &["", "Ann", "a"]]);
        assert!(batch_landed(&pre, &landed, COLS, &[w]));
    }
}
