//! A1 notation: column letters, sheet-name quoting, range building and parsing, and padding of the
//! trimmed grids the Sheets API returns.

use std::fmt;

/// 1 → "A", 26 → "Z", 27 → "AA", 702 → "ZZ", 703 → "AAA". Column 0 does not exist: "".
pub fn column_letters(mut column: u32) -> String {
    let mut out = Vec::new();
    while column > 0 {
        let rem = (column - 1) % 26;
        out.push(b'A' + rem as u8);
        column = (column - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// "A" → 1, "aa" → 27; `None` for anything but 1..=3 ASCII letters (Sheets stops at ZZZ).
pub fn column_number(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    Some(letters.bytes().fold(0, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
    }))
}

/// A sheet name as it must appear before `!`: quoted (apostrophes doubled) unless it is plain
/// alphanumeric/underscore and cannot be mistaken for a cell reference.
pub fn quote_sheet(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !looks_like_cell(name);
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

fn looks_like_cell(name: &str) -> bool {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (letters, digits) = name.split_at(split);
    let a1 = column_number(letters).is_some() && digits.bytes().all(|b| b.is_ascii_digit());
    // R1C1 references (R, R1, R1C, RC2 …) are ambiguous too.
    let r1c1 = name
        .strip_prefix(['R', 'r'])
        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
        .and_then(|rest| {
            rest.strip_prefix(['C', 'c'])
                .or(rest.is_empty().then_some(""))
        })
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()));
    a1 || r1c1
}

/// A parsed or built A1 range. Missing row bounds mean "whole column(s)", missing columns mean
/// "whole row(s)"; all `None` with a sheet means the whole sheet.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct A1Range {
    pub sheet: Option<String>,
    pub first_col: Option<u32>,
    pub first_row: Option<u32>,
    pub last_col: Option<u32>,
    pub last_row: Option<u32>,
}

impl A1Range {
    /// The whole sheet: `'Lead''s sheet'`.
    pub fn sheet(sheet: &str) -> Self {
        Self {
            sheet: Some(sheet.to_owned()),
            ..Self::default()
        }
    }

    /// One cell: `'Leads'!C7` (1-based column and row).
    pub fn cell(sheet: &str, col: u32, row: u32) -> Self {
        Self::rect(sheet, col, row, col, Some(row))
    }

    /// `first_col first_row : last_col [last_row]`; `last_row: None` runs to the sheet's end.
    pub fn rect(
        sheet: &str,
        first_col: u32,
        first_row: u32,
        last_col: u32,
        last_row: Option<u32>,
    ) -> Self {
        Self {
            sheet: Some(sheet.to_owned()),
            first_col: Some(first_col),
            first_row: Some(first_row),
            last_col: Some(last_col),
            last_row,
        }
    }

    /// Rows `first..=last`, columns 1..=`width`.
    pub fn rows(sheet: &str, first: u32, last: u32, width: u32) -> Self {
        Self::rect(sheet, 1, first, width.max(1), Some(last))
    }

    /// Number of rows covered, when bounded.
    pub fn row_count(&self) -> Option<u32> {
        Some(self.last_row? - self.first_row? + 1)
    }

    /// Parses `Sheet1!A1:B2`, `'Lead''s'!A7:H7`, `Leads!A:C`, `Leads!2:5`, `Leads`, `A1:B2`.
    pub fn parse(text: &str) -> Result<Self, A1Error> {
        let bad = || A1Error(text.to_owned());
        let (sheet, cells) = split_sheet(text).ok_or_else(bad)?;
        let mut range = Self {
            sheet,
            ..Self::default()
        };
        let Some(cells) = cells else {
            return range.sheet.is_some().then_some(range).ok_or_else(bad);
        };
        let (start, end) = match cells.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (cells, None),
        };
        let (c1, r1) = parse_ref(start).ok_or_else(bad)?;
        let (c2, r2) = match end {
            Some(e) => parse_ref(e).ok_or_else(bad)?,
            None => (c1, r1),
        };
        // Both ends must be the same kind unless a cell is followed by a column (A2:H).
        if (c1.is_none() != c2.is_none()) || (r1.is_none() && r2.is_some()) {
            return Err(bad());
        }
        (
            range.first_col,
            range.first_row,
            range.last_col,
            range.last_row,
        ) = (c1, r1, c2, r2);
        Ok(range)
    }
}

fn split_sheet(text: &str) -> Option<(Option<String>, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('\'') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                name.push(c);
                continue;
            }
            if rest[i + 1..].starts_with('\'') {
                name.push('\'');
                chars.next();
                continue;
            }
            let after = &rest[i + 1..];
            return match after.strip_prefix('!') {
                Some(cells) => Some((Some(name), Some(cells))),
                None if after.is_empty() => Some((Some(name), None)),
                None => None,
            };
        }
        return None;
    }
    match text.rsplit_once('!') {
        Some((sheet, cells)) => Some((Some(sheet.to_owned()), Some(cells))),
        None if parse_ref(text.split(':').next().unwrap_or("")).is_some() => {
            Some((None, Some(text)))
        }
        None => Some((Some(text.to_owned()), None)),
    }
}

/// `C7` → (3, 7), `C` → (3, None), `7` → (None, 7); `$` anchors are ignored.
fn parse_ref(text: &str) -> Option<(Option<u32>, Option<u32>)> {
    let text = text.replace('$', "");
    let split = text
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(text.len());
    let (letters, digits) = text.split_at(split);
    let col = if letters.is_empty() {
        None
    } else {
        Some(column_number(letters)?)
    };
    let row = if digits.is_empty() {
        None
    } else {
        Some(digits.parse::<u32>().ok().filter(|r| *r > 0)?)
    };
    (col.is_some() || row.is_some()).then_some((col, row))
}

impl fmt::Display for A1Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |c: Option<u32>, r: Option<u32>| {
            format!(
                "{}{}",
                c.map(column_letters).unwrap_or_default(),
                r.map(|r| r.to_string()).unwrap_or_default()
            )
        };
        let start = end(self.first_col, self.first_row);
        let stop = end(self.last_col, self.last_row);
        let cells = match (start.is_empty(), start == stop) {
            (true, _) => String::new(),
            (false, true) => start,
            (false, false) => format!("{start}:{stop}"),
        };
        match (&self.sheet, cells.is_empty()) {
            (Some(s), true) => f.write_str(&quote_sheet(s)),
            (Some(s), false) => write!(f, "{}!{cells}", quote_sheet(s)),
            (None, _) => f.write_str(&cells),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an A1 range: {0:?}")]
pub struct A1Error(pub String);

/// Pads every row to `width` cells (trailing empty cells are omitted by the API).
pub fn pad_rows(mut rows: Vec<Vec<String>>, width: usize) -> Vec<Vec<String>> {
    for row in &mut rows {
        if row.len() < width {
            row.resize(width, String::new());
        }
    }
    rows
}

/// Pads a grid to at least `height` rows of at least `width` cells (trailing empty rows are
/// omitted by the API too).
pub fn pad_grid(mut rows: Vec<Vec<String>>, height: usize, width: usize) -> Vec<Vec<String>> {
    if rows.len() < height {
        rows.resize(height, Vec::new());
    }
    pad_rows(rows, width)
}

/// The cell at 0-based (`row`, `col`) of a trimmed grid; missing cells read as "".
pub fn cell_at(rows: &[Vec<String>], row: usize, col: usize) -> &str {
    rows.get(row)
        .and_then(|r| r.get(col))
        .map_or("", String::as_str)
}

#[cfg(test)]
#[path = "a1_tests.rs"]
mod tests;
