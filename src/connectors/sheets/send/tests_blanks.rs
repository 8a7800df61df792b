//! A write that lands on a row a person typed without an id while the batch was on its way
//! (seed 31's class): the cell is emptied, and kept for the lead that row's event will make.

use std::collections::BTreeMap;

use crate::connectors::bench::{Bench, SHEET, SS};
use crate::store::sheet_blanks;
use crate::sync::plan::commands::Command;

#[tokio::test]
async fn a_status_that_lands_on_a_row_typed_without_an_id_is_emptied_and_kept_for_its_event() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada", "", "+1-1", "", "New"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&Command::WriteRow {
        lead_id: "L1".into(),
        row_hint: Some(2),
        expect_name: None,
        cells: BTreeMap::from([("Status".to_owned(), "Lost".to_owned())]),
    })
    .await;
    // The dispatcher's read is answered late; meanwhile a person inserts a row above Ada's and
    // types Cy's lead there, without an id: the write planned for row 2 lands on it.
    b.google.gate().set_faults(crate::sandbox::common::Faults {
        hang_next: 1,
        hang_for: std::time::Duration::from_millis(1500),
        after_handler: true,
        ..Default::default()
    });
    let round = tokio::spawn({
        let dispatcher = b.dispatcher.clone();
        async move { dispatcher.run_once().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    b.google.insert_row(SS, SHEET, 2).expect("insert");
    b.rows(2, &[&["", "Cy", "", "+1-9", "", "Won"]]);
    let report = round.await.expect("round").expect("run");
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!((b.cell(2, 2), b.cell(2, 6)), ("Cy".into(), String::new()));
    // What Cy's row held there is known only to its event: the cell waits for it.
    let kept = sheet_blanks::of_pair(&b.db.pool, "a")
        .await
        .expect("blanks");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        (kept[0].header.as_str(), kept[0].written.as_str()),
        ("Status", "Lost")
    );
    assert_eq!(kept[0].row.get("Phone").map(String::as_str), Some("+1-9"));
    assert_eq!(kept[0].row.get("Name").map(String::as_str), Some("Cy"));
}
