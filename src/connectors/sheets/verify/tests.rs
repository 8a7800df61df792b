//! The write check against sorted, inserted and edited rows.

use super::*;

/// A sheet's values from string slices (the header row first).
pub(super) fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

pub(super) const COLS: Columns = Columns { id: 0, name: 1 };

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
fn a_write_that_landed_on_a_row_a_user_inserted_and_typed_is_taken_back_and_resent() {
    // L2's email, planned for row 2, lands on a row a user inserted and typed there.
    let pre = grid(&[&["Lead ID", "Name", "Email"], &["L2", "Bo", ""]]);
    let post = grid(&[
        &["Lead ID", "Name", "Email"],
        &["", "Cy", "b@x.io"],
        &["L2", "Bo", ""],
    ]);
    let w = Written {
        index: 0,
        row: 2,
        lead_id: "L2".into(),
        expect_name: None,
        cells: vec![(3, "b@x.io".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert_eq!(m.commands, [0], "sent again to L2's row");
    let restored: Vec<_> = m
        .restore
        .iter()
        .map(|r| (&r.range[..], &r.values))
        .collect();
    assert_eq!(restored, [("Leads!C2", &vec![vec![String::new()]])]);
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

#[test]
fn an_id_written_into_its_own_row_renamed_meanwhile_is_a_hit() {
    // "Ada" was read at row 2 without an id; a user renames her "Ann" before the read-back.
    // Her phone and company tell the row: the id reached the row it was meant for (seed 1020
    // of the chaos test took it back and dropped the lead, and the row got a second one).
    let header: &[&str] = &["Lead ID", "Name", "Phone", "Company"];
    let pre = grid(&[
        header,
        &["", "Ada", "+1-1", "Acme"],
        &["", "Cy", "+1-2", "Acme"],
    ]);
    let post = grid(&[
        header,
        &["L9", "Ann", "+1-1", "Acme"],
        &["", "Cy", "+1-2", "Acme"],
    ]);
    let w = Written {
        index: 0,
        row: 2,
        lead_id: "L9".into(),
        expect_name: Some("Ada".into()),
        cells: vec![(1, "L9".into())],
    };
    let m = misses(&pre, &post, COLS, std::slice::from_ref(&w), "Leads");
    assert!(m.commands.is_empty() && m.restore.is_empty(), "{m:?}");
    // One cell in common is too little to tell a renamed row from another one: taken back.
    let pre = grid(&[
        header,
        &["", "Ada", "+1-1", "Acme"],
        &["", "Cy", "+1-2", "Bolt"],
    ]);
    let post = grid(&[
        header,
        &["L9", "Ann", "+1-1", "Other"],
        &["", "Cy", "+1-2", "Bolt"],
    ]);
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert_eq!(m.commands, [0], "{m:?}");
}

#[test]
fn a_write_that_hit_a_row_typed_since_names_that_rows_lead_and_cell_as_unknown() {
    // Read: L1 at row 2, a blank row 3. A person types U9's row at row 2 (L1 moves down) and
    // L1's status lands on it: what the person typed in that cell is unknown here.
    let pre = grid(&[
        &["Lead ID", "Name", "Status"],
        &["L1", "Ada", "New"],
        &["", "", ""],
    ]);
    let post = grid(&[
        &["Lead ID", "Name", "Status"],
        &["U9", "Cy", "Lost"],
        &["L1", "Ada", "New"],
    ]);
    let w = Written {
        index: 2,
        row: 2,
        lead_id: "L1".into(),
        expect_name: None,
        cells: vec![(3, "Lost".into())],
    };
    let m = misses(&pre, &post, COLS, std::slice::from_ref(&w), "Leads");
    assert_eq!(m.commands, [2]);
    assert_eq!(m.restore[0].range, "Leads!C2");
    assert_eq!(m.unknown, [(2, "U9".to_owned(), 3)]);

    // A row typed since without an id: no lead to give a value back to; the cell (row 2 of
    // the second read, column 3) is named for the lead its event will make (seed 31).
    let mut no_id = post.clone();
    no_id[1][0] = String::new();
    let m = misses(&pre, &no_id, COLS, std::slice::from_ref(&w), "Leads");
    assert!(m.unknown.is_empty(), "{m:?}");
    assert_eq!(m.blanked, [(2, 1, 3)]);
    assert_eq!(m.restore[0].values, [[""]]);

    // A row that was read (sorted into place): its earlier value is known and put back.
    let pre_with = grid(&[
        &["Lead ID", "Name", "Status"],
        &["L1", "Ada", "New"],
        &["U9", "Cy", "Won"],
    ]);
    let m = misses(&pre_with, &post, COLS, &[w], "Leads");
    assert_eq!(m.restore[0].values, [["Won"]]);
    assert!(m.unknown.is_empty(), "{m:?}");
}

#[test]
fn an_id_that_hit_a_row_typed_since_never_gets_a_read_rows_id_put_back_on_one_shared_cell() {
    // Seed 21: L9's id was planned for "Bob" at row 3; "Ada" (L7) was deleted and a person
    // typed U4's row, which the id landed on. U4's row shares only its status with Ada's read
    // row: putting Ada's id there made U4's row lead L7's, and U4's card an orphan.
    let header: &[&str] = &["Lead ID", "Name", "Phone", "Status"];
    let pre = grid(&[
        header,
        &["L7", "Ada", "+1-2", "Contacted"],
        &["", "Bob", "+1-3", "Qualified"],
    ]);
    let post = grid(&[
        header,
        &["", "Bob", "+1-3", "Qualified"],
        &["L9", "Cy", "+1-4", "Contacted"],
    ]);
    let w = Written {
        index: 0,
        row: 3,
        lead_id: "L9".into(),
        expect_name: Some("Bob".into()),
        cells: vec![(1, "L9".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert_eq!(m.commands, [0], "{m:?}");
    assert_eq!(m.restore[0].range, "Leads!A3");
    assert_eq!(m.restore[0].values, [[""]], "not L7's id");
}

#[test]
fn a_read_row_whose_id_shows_elsewhere_is_not_the_row_a_write_hit() {
    // L7's read row and the row L9's id hit share name and phone (a copy a person pasted),
    // but L7 still shows in its own row: the hit row is not L7's, its id cell goes back empty.
    let header: &[&str] = &["Lead ID", "Name", "Phone", "Status"];
    let pre = grid(&[
        header,
        &["L7", "Ada", "+1-2", "Contacted"],
        &["", "Bob", "+1-3", "Qualified"],
    ]);
    let post = grid(&[
        header,
        &["L7", "Ada", "+1-2", "Contacted"],
        &["L9", "Ada", "+1-2", "Contacted"],
        &["", "Bob", "+1-3", "Qualified"],
    ]);
    let w = Written {
        index: 0,
        row: 3,
        lead_id: "L9".into(),
        expect_name: Some("Bob".into()),
        cells: vec![(1, "L9".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert_eq!(m.restore[0].range, "Leads!A3", "{m:?}");
    assert_eq!(m.restore[0].values, [[""]], "not L7's id");
}

#[test]
fn a_new_id_and_status_that_hit_a_row_typed_since_without_an_id_name_only_the_status() {
    // L5's id and status were planned for "Bob" at row 2; a person typed "Cy" there since.
    // The id is ours (not the row's lead), the status is what the person's event must tell.
    let pre = grid(&[
        &["Lead ID", "Name", "Status", "Phone"],
        &["", "Bob", "New", "+1-2"],
    ]);
    let post = grid(&[
        &["Lead ID", "Name", "Status", "Phone"],
        &["L5", "Cy", "Won", "+1-3"],
        &["", "Bob", "New", "+1-2"],
    ]);
    let w = Written {
        index: 7,
        row: 2,
        lead_id: "L5".into(),
        expect_name: Some("Bob".into()),
        cells: vec![(1, "L5".into()), (3, "Won".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert!(m.unknown.is_empty(), "{m:?}");
    assert_eq!(m.blanked, [(7, 1, 3)]);
    assert_eq!(m.restore.len(), 2, "{m:?}");
}
