//! Setting up spreadsheets and acting as a person in the browser: edits that notify nobody.

use std::collections::BTreeSet;

use super::model::{Sheet, Spreadsheet};
use super::{GoogleSandbox, SERVICE_ACCOUNT_EMAIL, lock};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("no spreadsheet {0:?}")]
    UnknownSpreadsheet(String),
    #[error("no sheet {sheet:?} in spreadsheet {spreadsheet:?}")]
    UnknownSheet { spreadsheet: String, sheet: String },
    #[error("a sheet named {0:?} already exists")]
    DuplicateSheet(String),
    #[error("rows and columns start at 1")]
    ZeroIndex,
}

impl GoogleSandbox {
    /// Creates an empty spreadsheet (no sheets yet), shared with the sandbox service account.
    pub fn create_spreadsheet(&self, spreadsheet_id: &str) {
        let book = Spreadsheet {
            sheets: Vec::new(),
            editors: BTreeSet::from([SERVICE_ACCOUNT_EMAIL.to_owned()]),
        };
        lock(&self.shared.spreadsheets).insert(spreadsheet_id.to_owned(), book);
    }

    /// Adds a 1000 × 26 sheet; returns its sheet id.
    pub fn add_sheet(&self, spreadsheet_id: &str, title: &str) -> Result<i64, SandboxError> {
        let mut books = lock(&self.shared.spreadsheets);
        let book = books
            .get_mut(spreadsheet_id)
            .ok_or_else(|| SandboxError::UnknownSpreadsheet(spreadsheet_id.to_owned()))?;
        if book.sheet_mut(title).is_some() {
            return Err(SandboxError::DuplicateSheet(title.to_owned()));
        }
        let sheet_id = book
            .sheets
            .iter()
            .map(|s| s.sheet_id + 1)
            .max()
            .unwrap_or(0);
        book.sheets.push(Sheet::new(sheet_id, title));
        Ok(sheet_id)
    }

    /// Stops sharing the spreadsheet with `email`: its calls then answer 403.
    pub fn revoke_access(&self, spreadsheet_id: &str, email: &str) -> Result<(), SandboxError> {
        let mut books = lock(&self.shared.spreadsheets);
        let book = books
            .get_mut(spreadsheet_id)
            .ok_or_else(|| SandboxError::UnknownSpreadsheet(spreadsheet_id.to_owned()))?;
        book.editors.remove(email);
        Ok(())
    }

    fn edit<T>(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        f: impl FnOnce(&mut Sheet) -> T,
    ) -> Result<T, SandboxError> {
        let mut books = lock(&self.shared.spreadsheets);
        let book = books
            .get_mut(spreadsheet_id)
            .ok_or_else(|| SandboxError::UnknownSpreadsheet(spreadsheet_id.to_owned()))?;
        let found = book
            .sheet_mut(sheet)
            .ok_or_else(|| SandboxError::UnknownSheet {
                spreadsheet: spreadsheet_id.to_owned(),
                sheet: sheet.to_owned(),
            })?;
        Ok(f(found))
    }

    /// Types `value` into one cell (1-based row and column); the grid grows as needed.
    pub fn set_cell(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        row: u32,
        col: u32,
        value: &str,
    ) -> Result<(), SandboxError> {
        if row == 0 || col == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        tracing::debug!(target: "sandbox::sheets", row, col, value, "user typed");
        self.edit(spreadsheet_id, sheet, |s| s.set(row, col, value))
    }

    /// Types `value` into column `col` of the row whose column `key_col` holds `key`, found and
    /// changed at once, as a user edits the row they see while other writers move rows; the
    /// row it was, if any.
    pub fn set_cell_by_key(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        (key_col, key): (u32, &str),
        col: u32,
        value: &str,
    ) -> Result<Option<u32>, SandboxError> {
        if key_col == 0 || col == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        self.edit(spreadsheet_id, sheet, |s| {
            let index = s
                .cells
                .iter()
                .position(|r| r.get(key_col as usize - 1).is_some_and(|c| c == key))?;
            let row = u32::try_from(index + 1).ok()?;
            tracing::debug!(target: "sandbox::sheets", row, col, value, "user typed in a keyed row");
            s.set(row, col, value);
            Some(row)
        })
    }

    /// Types `cells` into the first row below the last non-empty one, found and written at
    /// once; the row it was.
    pub fn append_typed_row(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        cells: &[&str],
    ) -> Result<u32, SandboxError> {
        self.edit(spreadsheet_id, sheet, |s| {
            let used = s
                .cells
                .iter()
                .rposition(|r| r.iter().any(|c| !c.is_empty()))
                .map_or(0, |i| i + 1);
            let row = u32::try_from(used + 1).unwrap_or(u32::MAX);
            tracing::debug!(target: "sandbox::sheets", row, ?cells, "user typed a new row");
            for (i, value) in cells.iter().enumerate() {
                s.set(row, i as u32 + 1, value);
            }
            row
        })
    }

    /// Replaces whole rows from `first_row` on with `rows` (cells past each row's end are cleared).
    pub fn set_rows<R, S>(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        first_row: u32,
        rows: &[R],
    ) -> Result<(), SandboxError>
    where
        R: AsRef<[S]>,
        S: AsRef<str>,
    {
        if first_row == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        tracing::debug!(target: "sandbox::sheets", first_row, rows = rows.len(), "user typed whole rows");
        self.edit(spreadsheet_id, sheet, |s| {
            for (i, row) in rows.iter().enumerate() {
                let r = first_row + i as u32;
                let width = s.cells.get(r as usize - 1).map_or(0, Vec::len) as u32;
                let cells = row.as_ref();
                for c in 1..=width.max(cells.len() as u32) {
                    let value = cells.get(c as usize - 1).map_or("", AsRef::as_ref);
                    s.set(r, c, value);
                }
            }
        })
    }

    /// Inserts an empty row before `row`; the rows below move down by one.
    pub fn insert_row(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        row: u32,
    ) -> Result<(), SandboxError> {
        if row == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        tracing::debug!(target: "sandbox::sheets", row, "user inserted a row");
        self.edit(spreadsheet_id, sheet, |s| s.insert_rows(row, 1))
    }

    /// Deletes `row`; the rows below move up by one.
    pub fn delete_row(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        row: u32,
    ) -> Result<(), SandboxError> {
        if row == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        tracing::debug!(target: "sandbox::sheets", row, "user deleted a row");
        self.edit(spreadsheet_id, sheet, |s| s.delete_row(row))
    }

    /// Sorts the rows from `first_row` down by column `col`, as "Sort range" in the browser does.
    pub fn sort_rows(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        first_row: u32,
        col: u32,
        ascending: bool,
    ) -> Result<(), SandboxError> {
        if first_row == 0 || col == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        tracing::debug!(target: "sandbox::sheets", first_row, col, ascending, "user sorted");
        self.edit(spreadsheet_id, sheet, |s| {
            s.sort_rows(first_row, col, ascending)
        })
    }

    /// The whole sheet as the API would read it: trailing empty cells and rows trimmed.
    pub fn grid(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
    ) -> Result<Vec<Vec<String>>, SandboxError> {
        self.edit(spreadsheet_id, sheet, |s| {
            let width = s.cells.iter().map(Vec::len).max().unwrap_or(0) as u32;
            let height = s.cells.len() as u32;
            if width == 0 || height == 0 {
                return Vec::new();
            }
            s.read(super::model::Rect {
                first_col: 1,
                first_row: 1,
                last_col: width,
                last_row: height,
            })
        })
    }

    /// One cell's text (1-based); "" when empty.
    pub fn cell(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
        row: u32,
        col: u32,
    ) -> Result<String, SandboxError> {
        if row == 0 || col == 0 {
            return Err(SandboxError::ZeroIndex);
        }
        self.edit(spreadsheet_id, sheet, |s| s.get(row, col).to_owned())
    }

    /// (rows, columns) of the sheet's grid.
    pub fn grid_size(&self, spreadsheet_id: &str, sheet: &str) -> Result<(u32, u32), SandboxError> {
        self.edit(spreadsheet_id, sheet, |s| (s.row_count, s.column_count))
    }
}
