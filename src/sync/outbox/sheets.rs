//! Sheet commands of the dispatcher, batched per pair: one read of the whole sheet locates every
//! row, one `batchUpdate` writes every cell, one `append` adds every new row. Sheets allow about
//! one call per second, so never one call per command.

use std::collections::{BTreeMap, HashMap};

use crate::clients::http::ClientError;
use crate::clients::sheets::ValueRange;
use crate::clients::sheets::a1::{A1Range, cell_at};
use crate::sync::context::PairContext;
use crate::sync::outbox::Dispatcher;
use crate::sync::outbox::types::{Claimed, FollowUp, Outcome};
use crate::sync::outbox::verify::{Columns, Written, misses};
use crate::sync::plan::commands::Command;

/// Row 1 of the sheet, for finding columns by header text.
struct Header<'a> {
    cells: &'a [String],
    sheet: &'a str,
}

impl Header<'_> {
    /// 1-based column of `name` (trimmed, case-insensitive), or an error naming it.
    fn column(&self, name: &str) -> Result<u32, String> {
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
struct Grid<'a> {
    rows: &'a [Vec<String>],
    id_col: usize,
    /// Lead id -> 0-based row of its first occurrence, indexed once per batch: a batch of
    /// commands against a sheet of n rows would otherwise cost batch x n comparisons.
    by_id: HashMap<&'a str, usize>,
}

impl<'a> Grid<'a> {
    fn new(rows: &'a [Vec<String>], id_col: usize) -> Self {
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

    fn cell(&self, row: u32, col: u32) -> &str {
        cell_at(self.rows, row as usize - 1, col as usize - 1)
    }

    fn row_is_empty(&self, row: u32) -> bool {
        self.rows
            .get(row as usize - 1)
            .is_none_or(|r| r.iter().all(|c| c.trim().is_empty()))
    }
}

impl Dispatcher {
    /// Sends the sheet commands of one pair; answers one outcome per command, in order.
    pub(crate) async fn send_sheets(&self, batch: &[Claimed]) -> Vec<Outcome> {
        let Some(ctx) = batch.first().and_then(|c| self.pair(&c.row.pair)).cloned() else {
            return batch
                .iter()
                .map(|c| Outcome::Invalid(format!("pair {} is not configured", c.row.pair)))
                .collect();
        };
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let read = match self.sheets.read_sheet(ss, sheet).await {
            Ok(read) => read,
            Err(e) => return batch.iter().map(|_| Outcome::failed(&e)).collect(),
        };
        let header = Header {
            cells: read.values.first().map_or(&[][..], Vec::as_slice),
            sheet,
        };
        let id_col = match header.column(&ctx.columns.id) {
            Ok(c) => c as usize - 1,
            Err(e) => return batch.iter().map(|_| Outcome::Invalid(e.clone())).collect(),
        };
        let grid = Grid::new(&read.values, id_col);
        let mut outcomes: Vec<Option<Outcome>> = batch.iter().map(|_| None).collect();
        let mut writes: Vec<Written> = Vec::new();
        let mut data: Vec<ValueRange> = Vec::new();
        let mut appends: Vec<usize> = Vec::new();
        let mut new_rows: Vec<Vec<String>> = Vec::new();
        for (i, claimed) in batch.iter().enumerate() {
            match &claimed.cmd {
                Command::WriteRow {
                    lead_id,
                    row_hint,
                    expect_name,
                    cells,
                } => {
                    let taken: Vec<u32> = writes.iter().map(|w| w.row).collect();
                    let located = locate(
                        &ctx,
                        &header,
                        &grid,
                        lead_id,
                        *row_hint,
                        expect_name,
                        &taken,
                    );
                    let row = match located {
                        Ok(Some(row)) => row,
                        Ok(None) => {
                            outcomes[i] = Some(row_gone(lead_id, expect_name.is_some()));
                            continue;
                        }
                        Err(e) => {
                            outcomes[i] = Some(Outcome::Invalid(e));
                            continue;
                        }
                    };
                    match cell_ranges(&header, sheet, row, cells) {
                        Ok((ranges, cols)) => {
                            data.extend(ranges);
                            writes.push(Written {
                                index: i,
                                row,
                                lead_id: lead_id.clone(),
                                expect_name: expect_name.clone(),
                                cells: cols,
                            });
                        }
                        Err(e) => outcomes[i] = Some(Outcome::Invalid(e)),
                    }
                }
                Command::AppendRow { lead_id, cells } => {
                    // A retried append whose first try landed finds its row already there.
                    if let Some(row) = grid.row_of(lead_id) {
                        outcomes[i] = Some(Outcome::sent(hint(row)));
                        continue;
                    }
                    match new_row(&header, id_col, lead_id, cells) {
                        Ok(values) => {
                            new_rows.push(values);
                            appends.push(i);
                        }
                        Err(e) => outcomes[i] = Some(Outcome::Invalid(e)),
                    }
                }
                other => {
                    outcomes[i] = Some(Outcome::Invalid(format!(
                        "a {} command reached the sheet sender",
                        other.kind()
                    )));
                }
            }
        }
        let result = match data.is_empty() {
            true => Ok(Vec::new()),
            false => match self.sheets.batch_update(ss, &data).await {
                Ok(_) => Ok(self.missed_rows(&ctx, &read.values, id_col, &writes).await),
                Err(e) => Err(e),
            },
        };
        let id_column = header.column(&ctx.columns.id).unwrap_or(0);
        for w in &writes {
            outcomes[w.index] = Some(match &result {
                Ok(missed) if missed.contains(&w.index) => Outcome::Failed {
                    retryable: true,
                    error: "the sheet's rows moved while this write was sent; it is sent again \
                            to the row that holds the lead"
                        .into(),
                },
                Ok(_) => Outcome::sent(FollowUp {
                    id_landed: w.cells.iter().any(|(c, _)| *c == id_column),
                    ..hint(w.row)
                }),
                Err(e) => Outcome::failed(e),
            });
        }
        if !new_rows.is_empty() {
            let width = new_rows.iter().map(Vec::len).max().unwrap_or(1);
            let width = u32::try_from(width).unwrap_or(u32::MAX);
            let table = A1Range::rect(sheet, 1, 1, width, None).to_string();
            let result = self.sheets.append(ss, &table, &new_rows).await;
            for (n, &i) in appends.iter().enumerate() {
                outcomes[i] = Some(appended(&result, n));
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Invalid("no outcome was decided".into())))
            .collect()
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

/// The row a WriteRow targets: the one holding the lead's id; else, for a row whose id is not
/// written yet, the hinted row if its id cell is empty, it is not blank, and its name is the
/// expected one; else (the rows moved) the one row without an id that has the expected name
/// and no other write of this batch. `None` when the row is gone.
fn locate(
    ctx: &PairContext,
    header: &Header<'_>,
    grid: &Grid<'_>,
    lead_id: &str,
    row_hint: Option<u32>,
    expect_name: &Option<String>,
    taken: &[u32],
) -> Result<Option<u32>, String> {
    if let Some(row) = grid.row_of(lead_id) {
        return Ok(Some(row));
    }
    let id_col = u32::try_from(grid.id_col + 1).unwrap_or(u32::MAX);
    let name_col = header.column(&ctx.columns.name)?;
    let open = |row: u32| {
        row >= 2
            && !taken.contains(&row)
            && grid.cell(row, id_col).trim().is_empty()
            && !grid.row_is_empty(row)
    };
    let named = |row: u32| match expect_name {
        Some(expected) => grid.cell(row, name_col).trim() == expected.trim(),
        None => true,
    };
    if let Some(row) = row_hint.filter(|&r| open(r) && named(r)) {
        return Ok(Some(row));
    }
    if expect_name.is_none() {
        return Ok(None);
    }
    let last = u32::try_from(grid.rows.len()).unwrap_or(u32::MAX);
    let mut candidates = (2..=last).filter(|&r| open(r) && named(r));
    Ok(match (candidates.next(), candidates.next()) {
        (Some(row), None) => Some(row),
        _ => None,
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

impl Dispatcher {
    /// Reads the sheet again after a batch was written and returns the batch indexes of writes
    /// that landed on a row that moved in between; what they overwrote there is put back.
    async fn missed_rows(
        &self,
        ctx: &PairContext,
        pre: &[Vec<String>],
        id_col: usize,
        writes: &[Written],
    ) -> Vec<usize> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let header = Header {
            cells: pre.first().map_or(&[][..], Vec::as_slice),
            sheet,
        };
        let Ok(name) = header.column(&ctx.columns.name) else {
            return Vec::new();
        };
        let post = match self.sheets.read_sheet(ss, sheet).await {
            Ok(read) => read.values,
            // Unverified is what every write was before: leave it to the next reconciliation.
            Err(e) => {
                tracing::warn!(pair = %ctx.name, error = %e, "could not read the sheet back after writing");
                return Vec::new();
            }
        };
        let cols = Columns {
            id: id_col,
            name: name as usize - 1,
        };
        let found = misses(pre, &post, cols, writes, sheet);
        if !found.restore.is_empty() {
            tracing::warn!(pair = %ctx.name, writes = found.commands.len(), "rows moved while the sheet was written; putting back what landed on other rows");
            if let Err(e) = self.sheets.batch_update(ss, &found.restore).await {
                tracing::error!(pair = %ctx.name, error = %e, "could not put back cells written to rows that moved");
            }
        }
        found.commands
    }
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

fn hint(row: u32) -> FollowUp {
    FollowUp {
        row_hint: Some(i64::from(row)),
        ..FollowUp::default()
    }
}

fn appended(
    result: &Result<crate::clients::sheets::AppendResult, ClientError>,
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

#[cfg(test)]
mod tests;
