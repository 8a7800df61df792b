//! Tests of A1 notation: letters, quoting, building, parsing and grid padding.

use super::*;

#[test]
fn column_letters_roll_over_past_z_and_zz() {
    let cases = [
        (1, "A"),
        (26, "Z"),
        (27, "AA"),
        (52, "AZ"),
        (53, "BA"),
        (702, "ZZ"),
        (703, "AAA"),
        (18278, "ZZZ"),
    ];
    for (n, letters) in cases {
        assert_eq!(column_letters(n), letters);
        assert_eq!(column_number(letters), Some(n));
    }
    assert_eq!(column_letters(0), "");
    assert_eq!(column_number("aa"), Some(27));
    assert_eq!(column_number(""), None);
    assert_eq!(column_number("A1"), None);
    assert_eq!(column_number("AAAA"), None);
}

#[test]
fn column_letters_round_trip_for_every_column_sheets_allows() {
    for n in 1..=18278 {
        assert_eq!(column_number(&column_letters(n)), Some(n));
    }
}

#[test]
fn sheet_names_are_quoted_unless_plain() {
    assert_eq!(quote_sheet("Leads"), "Leads");
    assert_eq!(quote_sheet("Leads_2026"), "Leads_2026");
    assert_eq!(quote_sheet("Lead's sheet"), "'Lead''s sheet'");
    assert_eq!(quote_sheet("My Leads"), "'My Leads'");
    assert_eq!(quote_sheet("Leads-2"), "'Leads-2'");
    assert_eq!(quote_sheet("Café"), "'Café'");
    assert_eq!(quote_sheet("2026"), "'2026'");
    assert_eq!(quote_sheet("AB12"), "'AB12'");
    assert_eq!(quote_sheet("R1C1"), "'R1C1'");
    assert_eq!(quote_sheet("Results"), "Results");
    assert_eq!(quote_sheet(""), "''");
}

#[test]
fn builders_write_canonical_a1() {
    assert_eq!(
        A1Range::rect("Lead's sheet", 1, 2, 8, None).to_string(),
        "'Lead''s sheet'!A2:H"
    );
    assert_eq!(A1Range::cell("Leads", 28, 7).to_string(), "Leads!AB7");
    assert_eq!(A1Range::rows("Leads", 3, 5, 4).to_string(), "Leads!A3:D5");
    assert_eq!(A1Range::sheet("My Leads").to_string(), "'My Leads'");
}

#[test]
fn parses_the_ranges_google_answers_with() {
    let r = A1Range::parse("'Leads'!A7:H7").unwrap();
    assert_eq!(r, A1Range::rect("Leads", 1, 7, 8, Some(7)));
    assert_eq!(r.row_count(), Some(1));
    let r = A1Range::parse("'Lead''s sheet'!A2:H").unwrap();
    assert_eq!(r.sheet.as_deref(), Some("Lead's sheet"));
    assert_eq!(
        (r.first_row, r.last_row, r.last_col),
        (Some(2), None, Some(8))
    );
    let r = A1Range::parse("Sheet1!A1:Z1000").unwrap();
    assert_eq!(r.row_count(), Some(1000));
    assert_eq!(A1Range::parse("Leads").unwrap(), A1Range::sheet("Leads"));
    assert_eq!(
        A1Range::parse("'My Leads'").unwrap(),
        A1Range::sheet("My Leads")
    );
    let r = A1Range::parse("Leads!$B$3").unwrap();
    assert_eq!(r, A1Range::cell("Leads", 2, 3));
    let r = A1Range::parse("Leads!B:D").unwrap();
    assert_eq!(
        (r.first_col, r.last_col, r.first_row),
        (Some(2), Some(4), None)
    );
    let r = A1Range::parse("Leads!2:5").unwrap();
    assert_eq!(
        (r.first_col, r.first_row, r.last_row),
        (None, Some(2), Some(5))
    );
    let r = A1Range::parse("A1:B2").unwrap();
    assert_eq!(r.sheet, None);
}

#[test]
fn rejects_malformed_ranges() {
    for bad in [
        "'Leads!A1",
        "'Leads'A1",
        "Leads!A0",
        "Leads!",
        "Leads!A1:5",
        "Leads!1:B",
        "Leads!AAAA1",
    ] {
        assert!(A1Range::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn built_ranges_parse_back_to_themselves() {
    for sheet in ["Leads", "Lead's sheet", "a b 'c' d", "R2D2", "x!y"] {
        for range in [
            A1Range::rect(sheet, 1, 2, 703, None),
            A1Range::cell(sheet, 27, 9),
            A1Range::sheet(sheet),
        ] {
            assert_eq!(A1Range::parse(&range.to_string()).unwrap(), range);
        }
    }
}

#[test]
fn padding_restores_trimmed_cells_and_rows() {
    let trimmed = vec![
        vec!["Name".to_owned(), "Email".to_owned()],
        vec!["Ada".to_owned()],
    ];
    let grid = pad_grid(trimmed.clone(), 3, 3);
    assert_eq!(grid.len(), 3);
    assert!(grid.iter().all(|r| r.len() == 3));
    assert_eq!(grid[1], ["Ada", "", ""]);
    assert_eq!(grid[2], ["", "", ""]);
    assert_eq!(pad_rows(trimmed.clone(), 1)[0].len(), 2);
    assert_eq!(cell_at(&trimmed, 1, 1), "");
    assert_eq!(cell_at(&trimmed, 0, 1), "Email");
    assert_eq!(cell_at(&trimmed, 9, 0), "");
}
