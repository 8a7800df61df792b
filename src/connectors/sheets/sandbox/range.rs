//! The emulator's own reading and writing of A1 ranges, kept apart from the client's `a1` module so
//! that a bug in one cannot hide behind the same bug in the other.

/// A range as a request names it; `None` bounds are open (whole rows or columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRef {
    pub sheet: Option<String>,
    pub cols: (Option<u32>, Option<u32>),
    pub rows: (Option<u32>, Option<u32>),
}

/// Parses `Sheet!A1:B2`, `'It''s'!A2:H`, `Sheet!A:C`, `Sheet!2:5`, `Sheet`, `A1:B2`.
pub fn parse(text: &str) -> Option<RangeRef> {
    let (sheet, cells) = if let Some(rest) = text.strip_prefix('\'') {
        let end = closing_quote(rest)?;
        let name = rest[..end].replace("''", "'");
        match &rest[end + 1..] {
            "" => (Some(name), None),
            after => (Some(name), Some(after.strip_prefix('!')?)),
        }
    } else if let Some((sheet, cells)) = text.rsplit_once('!') {
        (Some(sheet.to_owned()), Some(cells))
    } else if cell_pair(text).is_some() {
        (None, Some(text))
    } else {
        (Some(text.to_owned()), None)
    };
    if sheet.as_deref().is_some_and(str::is_empty) {
        return None;
    }
    let Some(cells) = cells else {
        return Some(RangeRef {
            sheet,
            cols: (None, None),
            rows: (None, None),
        });
    };
    let ((c1, r1), (c2, r2)) = cell_pair(cells)?;
    Some(RangeRef {
        sheet,
        cols: (c1, c2),
        rows: (r1, r2),
    })
}

fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

type Cell = (Option<u32>, Option<u32>);

fn cell_pair(text: &str) -> Option<(Cell, Cell)> {
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    let (start, end) = (cell(a)?, cell(b)?);
    // A column bound on one end needs one on the other; `A2:H` (open rows at the end) is allowed.
    let consistent =
        start.0.is_some() == end.0.is_some() && !(start.1.is_none() && end.1.is_some());
    consistent.then_some((start, end))
}

fn cell(text: &str) -> Option<Cell> {
    let text = text.replace('$', "");
    let split = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (letters, digits) = text.split_at(split);
    if letters.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let col = (!letters.is_empty()).then(|| {
        letters.bytes().fold(0u32, |n, b| {
            n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
        })
    });
    let row = match digits {
        "" => None,
        d => Some(d.parse::<u32>().ok().filter(|r| *r > 0)?),
    };
    (col.is_some() || row.is_some()).then_some((col, row))
}

pub fn column_name(mut col: u32) -> String {
    let mut out = String::new();
    while col > 0 {
        out.insert(0, char::from(b'A' + ((col - 1) % 26) as u8));
        col = (col - 1) / 26;
    }
    out
}

/// The sheet name as Google prints it in answers: quoted unless a plain identifier.
pub fn sheet_prefix(name: &str) -> String {
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && cell(name).is_none();
    if plain {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// `Sheet!A1:C3` for a resolved rectangle (1-based, inclusive).
pub fn format(sheet: &str, first_col: u32, first_row: u32, last_col: u32, last_row: u32) -> String {
    format!(
        "{}!{}{first_row}:{}{last_row}",
        sheet_prefix(sheet),
        column_name(first_col),
        column_name(last_col)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_open_and_partial_ranges() {
        let r = parse("'Lead''s sheet'!A2:H").unwrap();
        assert_eq!(r.sheet.as_deref(), Some("Lead's sheet"));
        assert_eq!((r.cols, r.rows), ((Some(1), Some(8)), (Some(2), None)));
        let r = parse("Leads!AA:AB").unwrap();
        assert_eq!((r.cols, r.rows), ((Some(27), Some(28)), (None, None)));
        assert_eq!(parse("Leads").unwrap().cols, (None, None));
        assert_eq!(parse("B3").unwrap().sheet, None);
        for bad in [
            "'Leads",
            "Leads!A0",
            "Leads!",
            "!A1",
            "Leads!A1:5",
            "Leads!ABCD1",
            "''!A1",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn formats_like_google_answers() {
        assert_eq!(format("Leads", 1, 7, 8, 7), "Leads!A7:H7");
        assert_eq!(format("My Leads", 27, 1, 702, 2), "'My Leads'!AA1:ZZ2");
        assert_eq!(sheet_prefix("A1"), "'A1'");
    }
}
