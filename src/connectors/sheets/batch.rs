//! A batch of sheet commands sorted before anything is sent, from one read of the sheet: each
//! write located to its row and turned into cell ranges, each append into a row of values, and
//! the outcome of every command that needs no call. Pure: the sender (`send`) does the I/O.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::clients::http::ClientError;
use crate::connectors::sheets::client::ValueRange;
use crate::connectors::sheets::client::a1::{A1Range, cell_at};
use crate::connectors::sheets::verify::Written;
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

/// Row 1 of the sheet, for finding columns by header text.
pub(super) struct Header<'a> {
    pub cells: &'a [String],
    pub sheet: &'a str,
}

impl Header<'_> {
    /// 1-based column of `name` (trimmed, case-insensitive), or an error naming it.
    pub(super) fn column(&self, name: &str) -> Result<u32, String> {
        let wanted = name.trim().to_lowercase();
        self.cells
            .iter()
            .position(|h| h.trim().to_lowercase() == wanted)
            .and_then(|i| u32::try_from(i + 1).ok())
            .ok_or_else(|| {
                format!(
                    "column \"{name}\" is missing from the header row of sheet \"{}\"",
                    self.sheet
                )
            })
    }
}

/// The sheet as read, 0-based rows (row 1 is the header).
pub(super) struct Grid<'a> {
    rows: &'a [Vec<String>],
    pub id_col: usize,
    /// Lead id -> 0-based row of its first occurrence, indexed once per batch: a batch of
    /// commands against a sheet of n rows would otherwise cost batch x n comparisons.
    by_id: HashMap<&'a str, usize>,
}

impl<'a> Grid<'a> {
    pub(super) fn new(rows: &'a [Vec<String>], id_col: usize) -> Self {
        let mut by_id = HashMap::new();
        for i in 1..rows.len() {
            by_id.entry(cell_at(rows, i, id_col).trim()).or_insert(i);
        }
        Self {
            rows,
            id_col,
            by_id,
        }
    }

    fn row_of(&self, lead_id: &str) -> Option<u32> {
        let i = *self.by_id.get(lead_id)?;
        u32::try_from(i + 1).ok()
    }

    /// Whether a row holds this lead id.
    pub(super) fn has_id(&self, lead_id: &str) -> bool {
        self.by_id.contains_key(lead_id)
    }

    /// The names (trimmed) the rows without an id show in the (1-based) name column: one pass,
    /// so a first sync's thousands of id writes do not each scan the sheet.
    pub(super) fn names_without_id(&self, name_col: u32) -> HashSet<&'a str> {
        let rows = self.rows;
        (1..rows.len())
            .filter(|&i| cell_at(rows, i, self.id_col).trim().is_empty())
            .map(|i| cell_at(rows, i, name_col as usize - 1).trim())
            .collect()
    }

    fn cell(&self, row: u32, col: u32) -> &str {
        cell_at(self.rows, row as usize - 1, col as usize - 1)
    }

    /// Among `open` rows, the one its lead's agreed `values` (by header, without the name; the
    /// id column is left out) point to: it shares the most non-empty cells with them, two at
    /// least (one shared status is no proof), more than it has differing (a person may have
    /// edited a cell or two since), and no other row shares as many.
    pub(super) fn by_cells(
        &self,
        header: &Header<'_>,
        values: &BTreeMap<String, String>,
        open: impl Iterator<Item = u32>,
    ) -> Option<u32> {
        let cols: Vec<(u32, &str)> = (values.iter())
            .filter(|(_, v)| !v.trim().is_empty())
            .filter_map(|(h, v)| Some((header.column(h).ok()?, v.trim())))
            .filter(|(c, _)| *c as usize - 1 != self.id_col)
            .collect();
        let score = |row: u32| {
            let (mut same, mut other) = (0, 0);
            for (c, v) in &cols {
                match self.cell(row, *c).trim() {
                    "" => {}
                    shown if shown == *v => same += 1,
                    _ => other += 1,
                }
            }
            (same >= 2 && same > other).then_some(same)
        };
        let scored: Vec<(usize, u32)> = open.filter_map(|r| Some((score(r)?, r))).collect();
        let best = scored.iter().map(|(n, _)| *n).max()?;
        let mut found = scored.iter().filter(|(n, _)| *n == best);
        match (found.next(), found.next()) {
            (Some((_, row)), None) => Some(*row),
            _ => None,
        }
    }

    fn row_is_empty(&self, row: u32) -> bool {
        self.rows
            .get(row as usize - 1)
            .is_none_or(|r| r.iter().all(|c| c.trim().is_empty()))
    }
}

/// The sheet as one read showed it, with the pair it belongs to.
pub(super) struct Shown<'a> {
    pub ctx: &'a PairContext,
    pub header: Header<'a>,
    pub grid: Grid<'a>,
    /// Per id write whose row shows neither the id nor the expected name (renamed since the
    /// write was planned): its lead's agreed values by header, to find the row by its other
    /// cells (`Grid::by_cells`).
    pub known: HashMap<String, BTreeMap<String, String>>,
}

/// A batch's commands sorted into one cell update and one append, with the outcomes decided
/// before anything is sent (one slot per command, in order).
#[derive(Default)]
pub(super) struct SheetBatch {
    pub outcomes: Vec<Option<Outcome>>,
    pub writes: Vec<Written>,
    pub data: Vec<ValueRange>,
    pub appends: Vec<usize>,
    pub new_rows: Vec<Vec<String>>,
}

impl SheetBatch {
    pub(super) fn sort(shown: &Shown<'_>, batch: &[Claimed]) -> Self {
        let mut b = SheetBatch {
            outcomes: batch.iter().map(|_| None).collect(),
            ..SheetBatch::default()
        };
        for (i, claimed) in batch.iter().enumerate() {
            match &claimed.cmd {
                Command::WriteRow {
                    lead_id,
                    row_hint,
                    expect_name,
                    cells,
                } => b.write(shown, i, lead_id, *row_hint, expect_name, cells),
                Command::AppendRow { lead_id, cells } => b.append(shown, i, lead_id, cells),
                other => {
                    b.outcomes[i] = Some(Outcome::Invalid(format!(
                        "a {} command reached the sheet sender",
                        other.kind()
                    )));
                }
            }
        }
        b
    }

    /// A write located to its row (none of this batch's other writes') and turned into ranges.
    fn write(
        &mut self,
        shown: &Shown<'_>,
        i: usize,
        lead_id: &str,
        row_hint: Option<u32>,
        expect_name: &Option<String>,
        cells: &BTreeMap<String, String>,
    ) {
        let header = &shown.header;
        let taken: Vec<u32> = self.writes.iter().map(|w| w.row).collect();
        let located = locate(shown, lead_id, row_hint, expect_name, &taken);
        let row = match located {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.outcomes[i] = Some(row_gone(lead_id, expect_name.is_some()));
                return;
            }
            Err(e) => {
                self.outcomes[i] = Some(Outcome::Invalid(e));
                return;
            }
        };
        match cell_ranges(header, header.sheet, row, cells) {
            Ok((ranges, cols)) => {
                self.data.extend(ranges);
                self.writes.push(Written {
                    index: i,
                    row,
                    lead_id: lead_id.to_owned(),
                    expect_name: expect_name.clone(),
                    cells: cols,
                });
            }
            Err(e) => self.outcomes[i] = Some(Outcome::Invalid(e)),
        }
    }

    fn append(
        &mut self,
        shown: &Shown<'_>,
        i: usize,
        lead_id: &str,
        cells: &BTreeMap<String, String>,
    ) {
        // A retried append whose first try landed finds its row already there.
        if let Some(row) = shown.grid.row_of(lead_id) {
            self.outcomes[i] = Some(Outcome::sent(hint(row)));
            return;
        }
        match new_row(&shown.header, shown.grid.id_col, lead_id, cells) {
            Ok(values) => {
                self.new_rows.push(values);
                self.appends.push(i);
            }
            Err(e) => self.outcomes[i] = Some(Outcome::Invalid(e)),
        }
    }
}

/// A write whose row is not there: an id write (it expects a name) gives up its new lead, so
/// no card is made for a row that is gone; other writes just have nothing to do.
fn row_gone(lead_id: &str, id_write: bool) -> Outcome {
    Outcome::Done {
        follow: FollowUp {
            abandon: id_write,
            ..FollowUp::default()
        },
        skipped: Some(format!(
            "the row of lead {lead_id} is gone from the sheet; nothing written"
        )),
    }
}

/// The row a WriteRow targets: the one holding the lead's id; else, for a write that gives a
/// row its id (it names the row's expected name), the hinted row if its id cell is empty, it
/// is not blank, and its name is the expected one; else (the rows moved) the one row without
/// an id that has the expected name and no other write of this batch; else (the row was
/// renamed since: seeds 53 and 273, where skipping it made a second lead of the row) the one
/// such row its lead's other values point to (`Grid::by_cells`). `None` when the row is
/// gone: a write without an expected name follows its lead's id write (a lead's writes go in
/// order), so no row holding the id means the row was deleted, and a row without an id at the
/// hint is another one (a person's new row, seed 141), never a guess to write on.
fn locate(
    shown: &Shown<'_>,
    lead_id: &str,
    row_hint: Option<u32>,
    expect_name: &Option<String>,
    taken: &[u32],
) -> Result<Option<u32>, String> {
    let (ctx, header, grid) = (shown.ctx, &shown.header, &shown.grid);
    if let Some(row) = grid.row_of(lead_id) {
        return Ok(Some(row));
    }
    let Some(expected) = expect_name else {
        return Ok(None);
    };
    let id_col = u32::try_from(grid.id_col + 1).unwrap_or(u32::MAX);
    let name_col = header.column(&ctx.columns.name)?;
    let open = |row: u32| {
        row >= 2
            && !taken.contains(&row)
            && grid.cell(row, id_col).trim().is_empty()
            && !grid.row_is_empty(row)
    };
    let named = |row: u32| grid.cell(row, name_col).trim() == expected.trim();
    if let Some(row) = row_hint.filter(|&r| open(r) && named(r)) {
        return Ok(Some(row));
    }
    let last = u32::try_from(grid.rows.len()).unwrap_or(u32::MAX);
    let mut candidates = (2..=last).filter(|&r| open(r) && named(r));
    Ok(match (candidates.next(), candidates.next()) {
        (Some(row), None) => Some(row),
        (Some(_), Some(_)) => None,
        (None, _) => (shown.known.get(lead_id))
            .and_then(|values| grid.by_cells(header, values, (2..=last).filter(|&r| open(r)))),
    })
}

/// One cell to write: 1-based column, value.
type Cell = (u32, String);

/// The ranges that write `cells` into `row`, and the cells as (1-based column, value).
fn cell_ranges(
    header: &Header<'_>,
    sheet: &str,
    row: u32,
    cells: &BTreeMap<String, String>,
) -> Result<(Vec<ValueRange>, Vec<Cell>), String> {
    let cols = cells
        .iter()
        .map(|(name, value)| Ok((header.column(name)?, value.clone())))
        .collect::<Result<Vec<_>, String>>()?;
    let ranges = cols
        .iter()
        .map(|(col, value)| ValueRange {
            range: A1Range::cell(sheet, *col, row).to_string(),
            values: vec![vec![value.clone()]],
        })
        .collect();
    Ok((ranges, cols))
}

/// The values of an appended row in header order; the id column always carries the lead's id,
/// so the row is found by it (and not appended twice) later.
fn new_row(
    header: &Header<'_>,
    id_col: usize,
    lead_id: &str,
    cells: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    let mut values = vec![String::new(); header.cells.len().max(id_col + 1)];
    for (name, value) in cells {
        values[header.column(name)? as usize - 1] = value.clone();
    }
    values[id_col] = lead_id.to_owned();
    Ok(values)
}

pub(super) fn hint(row: u32) -> FollowUp {
    FollowUp {
        row_hint: Some(i64::from(row)),
        ..FollowUp::default()
    }
}

pub(super) fn appended(
    result: &Result<crate::connectors::sheets::client::AppendResult, ClientError>,
    n: usize,
) -> Outcome {
    match result {
        Ok(done) => match done.range.first_row {
            Some(first) => Outcome::sent(hint(first + u32::try_from(n).unwrap_or(0))),
            // Written, but where is unknown: the next read of the sheet finds the row by its id.
            None => Outcome::sent(FollowUp::default()),
        },
        Err(e) => Outcome::failed(e),
    }
}
