//! The write check against a row a person inserted and typed between the batch's read and its
//! write, whose cell took a value another read row also holds.

use super::tests::{COLS, grid};
use super::*;

#[test]
fn a_status_that_hit_a_typed_row_is_taken_back_though_a_row_seen_elsewhere_holds_it_too() {
    // Seed 2086: read with U1 (Lost) at row 2 and L2 at row 3; a person inserted Cy's row at
    // row 3 (no id yet, typed Qualified), and L2's Lost, planned for row 3, landed on it. U1
    // holds Lost too, but its id shows at row 2 still: it is not the row that took the write.
    let pre = grid(&[
        &["Lead ID", "Name", "Phone", "Status"],
        &["U1", "Hal", "+1", "Lost"],
        &["L2", "Ada", "+2", "Qualified"],
    ]);
    let post = grid(&[
        &["Lead ID", "Name", "Phone", "Status"],
        &["U1", "Hal", "+1", "Lost"],
        &["", "Cy", "+3", "Lost"],
        &["L2", "Ada", "+2", "Qualified"],
    ]);
    let w = Written {
        index: 5,
        row: 3,
        lead_id: "L2".into(),
        expect_name: None,
        cells: vec![(4, "Lost".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert_eq!(m.commands, [5], "sent again to L2's row: {m:?}");
    assert_eq!(m.restore.len(), 1, "{m:?}");
    assert_eq!(m.restore[0].range, "Leads!D3");
    assert_eq!(
        m.blanked,
        [(5, 2, 4)],
        "the typed cell waits for its row's lead"
    );
}

#[test]
fn a_value_a_read_row_without_a_place_in_the_second_read_held_is_still_left_alone() {
    // The row now at row 3 cannot be told from the read rows (its other cells changed), and a
    // read row no longer seen anywhere held the same status: it may be that row, whose status
    // a person did not change, so nothing is taken back.
    let pre = grid(&[
        &["Lead ID", "Name", "Phone", "Status"],
        &["", "Hal", "+1", "Lost"],
        &["L2", "Ada", "+2", "Qualified"],
    ]);
    let post = grid(&[
        &["Lead ID", "Name", "Phone", "Status"],
        &["L2", "Ada", "+2", "Qualified"],
        &["", "Hal B", "+9", "Lost"],
    ]);
    let w = Written {
        index: 1,
        row: 3,
        lead_id: "L2".into(),
        expect_name: None,
        cells: vec![(4, "Lost".into())],
    };
    let m = misses(&pre, &post, COLS, &[w], "Leads");
    assert!(m.restore.is_empty() && m.blanked.is_empty(), "{m:?}");
}
