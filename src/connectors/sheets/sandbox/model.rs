//! The emulator's spreadsheets: grids of strings with Google's grid limits, trimming and append rules.

use std::collections::BTreeSet;

use super::range::{self, RangeRef};

pub const DEFAULT_ROWS: u32 = 1000;
pub const DEFAULT_COLS: u32 = 26;

/// An API error as Google phrases it: HTTP status, message and status name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
}

impl ApiError {
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sheet {
    pub sheet_id: i64,
    pub title: String,
    pub row_count: u32,
    pub column_count: u32,
    /// Row-major cells; rows and cells past the stored ones are empty.
    pub cells: Vec<Vec<String>>,
}

/// A resolved rectangle, 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub first_col: u32,
    pub first_row: u32,
    pub last_col: u32,
    pub last_row: u32,
}

impl Sheet {
    pub fn new(sheet_id: i64, title: &str) -> Self {
        Self {
            sheet_id,
            title: title.to_owned(),
            row_count: DEFAULT_ROWS,
            column_count: DEFAULT_COLS,
            cells: Vec::new(),
        }
    }

    pub fn get(&self, row: u32, col: u32) -> &str {
        self.cells
            .get(row as usize - 1)
            .and_then(|r| r.get(col as usize - 1))
            .map_or("", String::as_str)
    }

    /// Sets one cell, growing the grid like a user adding rows or columns in the UI.
    pub fn set(&mut self, row: u32, col: u32, value: &str) {
        self.row_count = self.row_count.max(row);
        self.column_count = self.column_count.max(col);
        let (r, c) = (row as usize - 1, col as usize - 1);
        if self.cells.len() <= r {
            self.cells.resize(r + 1, Vec::new());
        }
        let cells = &mut self.cells[r];
        if cells.len() <= c {
            cells.resize(c + 1, String::new());
        }
        cells[c] = value.to_owned();
    }

    pub fn resolve(&self, r: &RangeRef, text: &str) -> Result<Rect, ApiError> {
        let rect = Rect {
            first_col: r.cols.0.unwrap_or(1),
            first_row: r.rows.0.unwrap_or(1),
            last_col: r.cols.1.unwrap_or(self.column_count),
            last_row: r.rows.1.unwrap_or(self.row_count),
        };
        if rect.first_col > rect.last_col || rect.first_row > rect.last_row {
            return Err(ApiError::bad(format!("Unable to parse range: {text}")));
        }
        self.check_limits(rect, text)?;
        Ok(rect)
    }

    fn check_limits(&self, rect: Rect, text: &str) -> Result<(), ApiError> {
        if rect.last_row > self.row_count || rect.last_col > self.column_count {
            return Err(ApiError::bad(format!(
                "Range ({text}) exceeds grid limits. Max rows: {}, max columns: {}",
                self.row_count, self.column_count
            )));
        }
        Ok(())
    }

    pub fn a1(&self, rect: Rect) -> String {
        range::format(
            &self.title,
            rect.first_col,
            rect.first_row,
            rect.last_col,
            rect.last_row,
        )
    }

    /// The cells of `rect` as `values.get` answers: trailing empty cells and rows omitted.
    pub fn read(&self, rect: Rect) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = (rect.first_row..=rect.last_row)
            .map(|r| {
                let mut row: Vec<String> = (rect.first_col..=rect.last_col)
                    .map(|c| self.get(r, c).to_owned())
                    .collect();
                while row.last().is_some_and(String::is_empty) {
                    row.pop();
                }
                row
            })
            .collect();
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        rows
    }

    /// Writes `values` from the top-left of `rect`; RAW: strings stored as given.
    pub fn write(
        &mut self,
        rect: Rect,
        values: &[Vec<String>],
        text: &str,
    ) -> Result<Rect, ApiError> {
        let height = values.len() as u32;
        let width = values.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let written = Rect {
            first_col: rect.first_col,
            first_row: rect.first_row,
            last_col: rect.first_col + width.max(1) - 1,
            last_row: rect.first_row + height.max(1) - 1,
        };
        if written.last_row > rect.last_row {
            return Err(ApiError::bad(format!(
                "Requested writing within range [{text}], but tried writing to row [{}]",
                written.last_row
            )));
        }
        if written.last_col > rect.last_col {
            return Err(ApiError::bad(format!(
                "Requested writing within range [{text}], but tried writing to column [{}]",
                range::column_name(written.last_col)
            )));
        }
        self.check_limits(written, text)?;
        for (dr, row) in values.iter().enumerate() {
            for (dc, value) in row.iter().enumerate() {
                self.set(
                    rect.first_row + dr as u32,
                    rect.first_col + dc as u32,
                    value,
                );
            }
        }
        Ok(written)
    }

    /// `values.append`: the table is the rows from the range's first row to the
    /// last row holding data in the range's columns; new rows are inserted right after it.
    /// With `insert` false (OVERWRITE) the rows after the table are written over instead.
    pub fn append(
        &mut self,
        rect: Rect,
        values: &[Vec<String>],
        insert: bool,
    ) -> (Option<Rect>, Rect) {
        let cols = rect.first_col..=rect.last_col;
        let last_data = (rect.first_row..=rect.last_row.min(self.cells.len() as u32))
            .rev()
            .find(|&r| cols.clone().any(|c| !self.get(r, c).is_empty()));
        let table = last_data.map(|last_row| Rect { last_row, ..rect });
        let at = last_data.map_or(rect.first_row, |r| r + 1);
        let height = values.len().max(1) as u32;
        if insert {
            self.insert_rows(at, height);
        }
        let width = values.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
        self.column_count = self.column_count.max(rect.first_col + width - 1);
        for (dr, row) in values.iter().enumerate() {
            for (dc, value) in row.iter().enumerate() {
                self.set(at + dr as u32, rect.first_col + dc as u32, value);
            }
        }
        let written = Rect {
            first_col: rect.first_col,
            first_row: at,
            last_col: rect.first_col + width - 1,
            last_row: at + height - 1,
        };
        (table, written)
    }

    /// Inserts `count` empty rows before row `at`, shifting the rows below down.
    pub fn insert_rows(&mut self, at: u32, count: u32) {
        let idx = (at as usize - 1).min(self.cells.len());
        for _ in 0..count {
            self.cells.insert(idx, Vec::new());
        }
        self.row_count = self.row_count.max(at - 1) + count;
    }

    pub fn delete_row(&mut self, row: u32) {
        if (row as usize) <= self.cells.len() {
            self.cells.remove(row as usize - 1);
        }
        self.row_count = self.row_count.saturating_sub(1).max(1);
    }

    /// Sorts rows `first_row..` by one column as Sheets' "sort range" does: numbers before text,
    /// text case-insensitively, empty cells last whatever the direction; ties keep their order.
    pub fn sort_rows(&mut self, first_row: u32, col: u32, ascending: bool) {
        let start = (first_row as usize - 1).min(self.cells.len());
        let key = |row: &Vec<String>| row.get(col as usize - 1).cloned().unwrap_or_default();
        self.cells[start..].sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            match (ka.is_empty(), kb.is_empty()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => {
                    let ord = compare_cells(&ka, &kb);
                    if ascending { ord } else { ord.reverse() }
                }
            }
        });
    }
}

fn compare_cells(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

#[derive(Debug, Clone)]
pub struct Spreadsheet {
    pub sheets: Vec<Sheet>,
    /// Service accounts the spreadsheet is shared with.
    pub editors: BTreeSet<String>,
}

impl Spreadsheet {
    /// Sheet titles are matched case-insensitively, as Google does.
    pub fn sheet_mut(&mut self, title: &str) -> Option<&mut Sheet> {
        self.sheets
            .iter_mut()
            .find(|s| s.title.eq_ignore_ascii_case(title))
    }

    /// The sheet and rectangle a range names; no sheet means the first one.
    pub fn locate(&mut self, text: &str) -> Result<(&mut Sheet, Rect), ApiError> {
        let unparsable = || ApiError::bad(format!("Unable to parse range: {text}"));
        let parsed = range::parse(text).ok_or_else(unparsable)?;
        let sheet = match &parsed.sheet {
            Some(title) => self
                .sheets
                .iter_mut()
                .find(|s| s.title.eq_ignore_ascii_case(title)),
            None => self.sheets.first_mut(),
        }
        .ok_or_else(unparsable)?;
        let rect = sheet.resolve(&parsed, text)?;
        Ok((sheet, rect))
    }
}
