//! Sheet writes land by position, and a user may sort or insert rows between the dispatcher's
//! read and its write (or between the write and any later read). After a batch is written, one
//! more read checks, by content rather than position, where each write went: a row that is
//! not the lead's but took one of the batch's values it did not have before gets its earlier
//! cell back, and a write whose lead's row did not get its value is sent again from a fresh
//! read, which finds the row by its id.

use std::collections::HashMap;

use crate::connectors::sheets::client::ValueRange;
use crate::connectors::sheets::client::a1::{A1Range, cell_at};

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
    /// Cells a write (by its index in the batch) landed on in a row typed since the batch was
    /// read, as (that row's lead id, column): what a person typed there is unknown here, so
    /// only emptied; the engine gives them the lead's agreed value again.
    pub unknown: Vec<(usize, String, u32)>,
    /// The same for a row typed since *without* an id, as (write index, row of the second
    /// read, 0-based, column): no lead holds what the person typed there yet, only that row's
    /// own event, still to come, knows it.
    pub blanked: Vec<(usize, usize, u32)>,
    /// Where each of `restore` puts a cell back: (write index, row of the second read, 0-based,
    /// column), so that a put-back that fails is not taken for done (`Misses::unrestored`).
    pub restored: Vec<(usize, usize, u32)>,
    /// Cells put back in a row with an id from the first read, as (write index, that row's
    /// lead id, column, value put back): a person may have typed there between that read and
    /// the write (seed 298: a rename), which only that row's event knows. The engine keeps
    /// them for that event to write back, or writes the lead's agreed value again when it is
    /// newer than the value put back.
    pub stale: Vec<(usize, String, u32, String)>,
}

impl Misses {
    /// The put-back failed: each cell it meant to restore in a row with an id (not the id the
    /// write itself put there) still holds another lead's value, which the next reconciliation
    /// would read as a person's edit of that row and copy to its card (seed 12's shape: one
    /// lead's company in another's row). Those cells are named by the row's lead instead, and
    /// the engine writes that lead's agreed value again, found by its id.
    pub fn unrestored(&mut self, post: &[Vec<String>], cols: Columns, written: &[Written]) {
        for &(i, q, c) in &self.restored {
            let id = cell_at(post, q, cols.id).trim();
            let by = written.iter().find(|w| w.index == i);
            let ours = by.is_some_and(|w| w.lead_id == id);
            let known = (self.unknown.iter()).any(|(j, l, k)| *j == i && l == id && *k == c);
            if id.is_empty() || ours || known || c as usize - 1 == cols.id {
                continue;
            }
            self.unknown.push((i, id.to_owned(), c));
        }
    }
}

/// Compares a read taken after the batch's write with `pre`, the read it was planned from.
/// When the lead's row lacks a value of the write and the row now at the written position is
/// another one that holds that value, which it did not hold before, that row took the write:
/// it gets its cell back, and the write is sent again. A value missing from the lead's row and
/// found nowhere was overwritten by a user since: kept.
///
/// Both reads are indexed once (rows by id, rows by the write that owns them), so a batch of
/// thousands of writes against a sheet of thousands of rows costs a pass over each, not their
/// product.
pub(crate) fn misses(
    pre: &[Vec<String>],
    post: &[Vec<String>],
    cols: Columns,
    written: &[Written],
    sheet: &str,
) -> Misses {
    let mut out = Misses::default();
    let index = Index::new(pre, post, cols, written);
    for w in written {
        let mine = |q: usize| index.owners[q].is_some_and(|o| o.lead_id == w.lead_id);
        let holds = |grid: &[Vec<String>], q: usize| {
            w.cells
                .iter()
                .all(|(c, v)| cell_at(grid, q, *c as usize - 1).trim() == v.trim())
        };
        // The lead's row holding the values proves the write landed there only if it did not
        // hold them already when the batch was read.
        let held_before = (index.pre_rows.get(w.lead_id.as_str()))
            .is_some_and(|rows| rows.iter().any(|&p| holds(pre, p)));
        let landed = (index.owned.get(w.lead_id.as_str()))
            .is_some_and(|rows| rows.iter().any(|&q| holds(post, q)));
        if landed && !held_before {
            continue;
        }
        // Only the row now at the written position can have taken the write: a value found
        // elsewhere may be a user's own edit, and is not ours to take back.
        let q = w.row as usize - 1;
        let hit = Hit {
            pre,
            post,
            q,
            cols,
            index: &index,
            sheet,
        };
        if !landed && hit.renamed_in_place(w) {
            continue;
        }
        let took =
            q > 0 && q < post.len() && !mine(q) && hit.take_back(w, index.owners[q], &mut out);
        if took && !landed {
            out.commands.push(w.index);
        }
    }
    out
}

/// The two reads indexed for the check.
struct Index<'a> {
    /// Lead id -> the rows (0-based) of `pre` holding it.
    pre_rows: HashMap<&'a str, Vec<usize>>,
    /// The same for `post` (a read row whose id shows in another row of it is not the row
    /// now at a written position).
    post_rows: HashMap<&'a str, Vec<usize>>,
    /// Per row of `post`, the write it is the target of (never the header).
    owners: Vec<Option<&'a Written>>,
    /// Lead id -> the rows of `post` its write owns.
    owned: HashMap<&'a str, Vec<usize>>,
    /// The batch's writes by lead id.
    leads: HashMap<&'a str, &'a Written>,
    /// Per column (0-based), whether a write of the batch wrote it.
    touched: Vec<bool>,
}

impl<'a> Index<'a> {
    fn new(
        pre: &'a [Vec<String>],
        post: &'a [Vec<String>],
        cols: Columns,
        written: &'a [Written],
    ) -> Self {
        let by_lead: HashMap<&str, &Written> =
            written.iter().map(|w| (w.lead_id.as_str(), w)).collect();
        // A row without its id is told by the name it was written for: the first such write.
        let mut by_name: HashMap<&str, &Written> = HashMap::new();
        for w in written {
            let gives_id = w.cells.iter().any(|(c, _)| *c as usize - 1 == cols.id);
            if let (Some(name), false) = (&w.expect_name, gives_id) {
                by_name.entry(name.trim()).or_insert(w);
            }
        }
        let owners: Vec<Option<&Written>> = (0..post.len())
            .map(|q| owner_of(post, q, cols, &by_lead, &by_name).filter(|_| q > 0))
            .collect();
        let mut owned: HashMap<&str, Vec<usize>> = HashMap::new();
        for (q, o) in owners.iter().enumerate() {
            if let Some(o) = o {
                owned.entry(o.lead_id.as_str()).or_default().push(q);
            }
        }
        let (pre_rows, post_rows) = (rows_by_id(pre, cols), rows_by_id(post, cols));
        let width = pre.iter().chain(post).map(Vec::len).max().unwrap_or(0);
        let mut touched = vec![false; width];
        for (c, _) in written.iter().flat_map(|w| &w.cells) {
            if let Some(t) = touched.get_mut(*c as usize - 1) {
                *t = true;
            }
        }
        Self {
            pre_rows,
            post_rows,
            owners,
            owned,
            leads: by_lead,
            touched,
        }
    }

    fn touched(&self, c: usize) -> bool {
        self.touched.get(c).copied().unwrap_or(false)
    }
}

/// The row now at a write's position, which is not the lead's.
struct Hit<'a> {
    pre: &'a [Vec<String>],
    post: &'a [Vec<String>],
    q: usize,
    cols: Columns,
    index: &'a Index<'a>,
    sheet: &'a str,
}

impl Hit<'_> {
    /// Gives the row back each cell that took `w`'s value and did not hold it before; true if
    /// any did.
    fn take_back(&self, w: &Written, owner: Option<&Written>, out: &mut Misses) -> bool {
        let (pre, post, q) = (self.pre, self.post, self.q);
        // The row it was when the batch was read; none for a row inserted since (blank, or
        // typed by a user since), which then held none of our values before.
        let found = self.before();
        let blank = self.blank_but_written();
        let mut took = false;
        for (c, value) in &w.cells {
            // The row's own write put the same value there.
            if owner.is_some_and(|o| o.cells.iter().any(|own| own.0 == *c && own.1 == *value)) {
                continue;
            }
            let c0 = *c as usize - 1;
            // A row not told apart from the rows read may be one that held this value already;
            // a read row whose id the second read shows in another row is not this one (seed
            // 2086: a status typed in a row inserted since was taken for another row's).
            let held_elsewhere = (1..pre.len()).any(|p| {
                cell_at(pre, p, c0).trim() == value.trim()
                    && cell_at(pre, p, self.cols.id).trim() != w.lead_id
                    && !self.elsewhere(p)
            });
            if found.is_none() && !blank && held_elsewhere {
                continue;
            }
            let was = found.map_or("", |p| cell_at(pre, p, c0));
            if cell_at(post, q, c0).trim() == value.trim() && was.trim() != value.trim() {
                let row = u32::try_from(q + 1).unwrap_or(u32::MAX);
                out.restore.push(ValueRange {
                    range: A1Range::cell(self.sheet, *c, row).to_string(),
                    values: vec![vec![was.to_owned()]],
                });
                out.restored.push((w.index, q, *c));
                // A row typed since the read held a person's value, not "". Its id is the one
                // it shows, unless that is the id this very write put there.
                let id = cell_at(post, q, self.cols.id).trim();
                let ours = (w.cells.iter())
                    .any(|(c, v)| *c as usize - 1 == self.cols.id && v.trim() == id);
                if found.is_none() && !blank {
                    if !id.is_empty() && !ours {
                        out.unknown.push((w.index, id.to_owned(), *c));
                    } else if c0 != self.cols.id {
                        out.blanked.push((w.index, q, *c));
                    }
                } else if found.is_some() && !id.is_empty() && !ours && c0 != self.cols.id {
                    out.stale.push((w.index, id.to_owned(), *c, was.to_owned()));
                }
                took = true;
            }
        }
        took
    }

    /// The row an id was written for, renamed by a user since the batch was read: it holds the
    /// id at the written position and is, by its other cells (two at least, more than any other
    /// row read shares with it), the row read there. Its new name is no sign that another row
    /// took the id.
    fn renamed_in_place(&self, w: &Written) -> bool {
        let gives_id = w.cells.iter().any(|(c, _)| *c as usize - 1 == self.cols.id);
        gives_id
            && self.q > 0
            && self.q < self.post.len()
            && cell_at(self.post, self.q, self.cols.id).trim() == w.lead_id
            && self.q < self.pre.len()
            && self.shared(self.q) >= 2
            && self.before() == Some(self.q)
    }

    /// True when every non-empty cell of the row is in a column the batch wrote.
    fn blank_but_written(&self) -> bool {
        self.post.get(self.q).is_some_and(|row| {
            row.iter()
                .enumerate()
                .all(|(c, v)| v.trim().is_empty() || self.index.touched(c))
        })
    }

    /// Non-empty cells outside the id and the written columns that the row now at `q` shares
    /// with row `p` of the first read.
    fn shared(&self, p: usize) -> usize {
        let (pre, post, q) = (self.pre, self.post, self.q);
        (0..self.index.touched.len())
            .filter(|&c| c != self.cols.id && !self.index.touched(c))
            .filter(|&c| {
                let v = cell_at(post, q, c).trim();
                !v.is_empty() && cell_at(pre, p, c).trim() == v
            })
            .count()
    }

    /// True when row `p` of the first read has an id that the second read shows in a row
    /// other than `q`: that row moved there, and the row now at `q` is another.
    fn elsewhere(&self, p: usize) -> bool {
        let id = cell_at(self.pre, p, self.cols.id).trim();
        !id.is_empty()
            && (self.index.post_rows.get(id)).is_some_and(|rows| rows.iter().any(|&r| r != self.q))
    }

    /// The row (0-based, in `pre`) that the row now at `q` was before the write: the one with
    /// its id, or for a row without one, the one row that agrees with it on every column no
    /// write of the batch touched.
    fn before(&self) -> Option<usize> {
        let (pre, post, q) = (self.pre, self.post, self.q);
        let id = cell_at(post, q, self.cols.id).trim();
        let ours = self.index.leads.contains_key(id);
        if !id.is_empty() && !ours {
            return self
                .index
                .pre_rows
                .get(id)
                .and_then(|rows| rows.first().copied());
        }
        // The one pre row sharing the most non-empty cells outside the written columns (not
        // all: a user may have edited one of its cells since the first read), two at least:
        // one shared status is no proof, and taking a row typed since for a read one would
        // put that row's id into it and make it another lead's (seed 21). A read row whose id
        // the second read shows in another row is that row, not this one.
        let scores: Vec<(usize, usize)> = (1..pre.len())
            .filter(|&p| !self.elsewhere(p))
            .map(|p| (self.shared(p), p))
            .collect();
        let best = scores.iter().map(|(n, _)| *n).max().filter(|n| *n >= 2)?;
        let mut found = scores.iter().filter(|(n, _)| *n == best);
        match (found.next(), found.next()) {
            (Some((_, p)), None) => Some(*p),
            _ => None,
        }
    }
}

/// The rows (0-based, never the header) of a read by the id each shows.
fn rows_by_id(grid: &[Vec<String>], cols: Columns) -> HashMap<&str, Vec<usize>> {
    let mut rows: HashMap<&str, Vec<usize>> = HashMap::new();
    for r in 1..grid.len() {
        rows.entry(cell_at(grid, r, cols.id).trim())
            .or_default()
            .push(r);
    }
    rows
}

/// The write of the batch this row is the target of, if any: the row holds the lead's id, and
/// for a write that gave the row its id, the name it was written for.
fn owner_of<'a>(
    post: &[Vec<String>],
    q: usize,
    cols: Columns,
    by_lead: &HashMap<&str, &'a Written>,
    by_name: &HashMap<&str, &'a Written>,
) -> Option<&'a Written> {
    let id = cell_at(post, q, cols.id).trim();
    let name = cell_at(post, q, cols.name).trim();
    if id.is_empty() {
        // A row whose id is not written yet (its write failed, or is queued behind this one)
        // is told by the name it was written for.
        return by_name.get(name).copied();
    }
    let w = by_lead.get(id)?;
    let gave_id = w.cells.iter().any(|(c, _)| *c as usize - 1 == cols.id);
    match (&w.expect_name, gave_id) {
        (Some(expected), true) if name != expected.trim() => None,
        _ => Some(w),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stale;
#[cfg(test)]
mod tests_typed;
