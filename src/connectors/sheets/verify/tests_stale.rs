//! A cell put back in a row with an id names its lead and the value put back (seed 298).

use super::tests::grid;
use super::*;

#[test]
fn a_name_put_back_in_a_row_with_an_id_names_its_lead_and_the_older_name() {
    // Read: L1 at row 2, L2 (Bob) at row 3. A sort puts Bob first; the person renames Bob to
    // Robert; L1's rename lands on Bob's row by position, over Robert.
    let pre = grid(&[
        &["Lead ID", "Name", "Phone"],
        &["L1", "Ada", "+1-1"],
        &["L2", "Bob", "+1-2"],
    ]);
    let post = grid(&[
        &["Lead ID", "Name", "Phone"],
        &["L2", "Ada Byron", "+1-2"],
        &["L1", "Ada", "+1-1"],
    ]);
    let w = Written {
        index: 3,
        row: 2,
        lead_id: "L1".into(),
        expect_name: None,
        cells: vec![(2, "Ada Byron".into())],
    };
    let m = misses(&pre, &post, Columns { id: 0, name: 1 }, &[w], "Leads");
    assert_eq!(m.commands, [3]);
    assert_eq!(m.restore[0].range, "Leads!B2");
    assert_eq!(m.restore[0].values, [["Bob"]]);
    // Bob is only what the first read showed: Robert, typed since, is known to L2's event.
    assert_eq!(m.stale, [(3, "L2".to_owned(), 2, "Bob".to_owned())]);
    assert!(m.unknown.is_empty() && m.blanked.is_empty(), "{m:?}");
}
