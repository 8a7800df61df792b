//! A sheet write whose answer is lost is settled by reading the sheet, never sent again blindly.

use crate::connectors::bench::{Bench, SS, late_answers};
use crate::sandbox::common::Faults;
use crate::sync::plan::commands::Command;

fn notes(lead: &str, value: &str) -> Command {
    Command::WriteRow {
        lead_id: lead.into(),
        row_hint: None,
        expect_name: None,
        cells: [("Notes".to_owned(), value.to_owned())].into(),
    }
}

fn batch_updates(b: &Bench) -> usize {
    let path = format!("/v4/spreadsheets/{SS}/values:batchUpdate");
    b.google.gate().calls().count("POST", &path)
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_after_it_landed_is_settled_by_a_read_not_sent_again() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada", "", "", "", "New", "old"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&notes("L1", "for ada")).await;
    // The read passes; the write is made and its connection reset before the answer.
    b.google.gate().set_faults(Faults {
        fail_next: vec![200, 0],
        after_handler: true,
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(
        batch_updates(&b),
        1,
        "repeating the write could undo what a user typed after it landed"
    );
    assert_eq!(b.cell(2, 7), "for ada");
    let path = format!("/v4/spreadsheets/{SS}/values/");
    assert_eq!(
        b.google.gate().calls().count("GET", &path),
        2,
        "the read that settled the answer is the read-back check too"
    );
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_before_it_landed_is_sent_again_in_the_next_round() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada", "", "", "", "New", "old"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&notes("L1", "for ada")).await;
    // The read passes; the write's connection is reset before the sheet acted on it.
    b.google.gate().set_faults(Faults {
        fail_next: vec![200, 0],
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.retried), (0, 1), "{report:?}");
    assert_eq!((batch_updates(&b), b.cell(2, 7)), (1, "old".to_owned()));
    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(b.cell(2, 7), "for ada");
}

#[tokio::test]
async fn an_append_whose_answer_is_lost_is_settled_by_a_read_in_the_same_round() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"]]);
    b.link("L9", Some("c9"), None).await;
    let cells = [
        ("Name".to_owned(), "Zoë".to_owned()),
        ("Status".to_owned(), "New".to_owned()),
    ];
    b.enqueue(&Command::AppendRow {
        lead_id: "L9".into(),
        cells: cells.into(),
    })
    .await;
    // The read passes; the row is added and the answer lost. Left to the next round, the
    // row could be deleted by a user first, and the retry would bring it back.
    b.google.gate().set_faults(Faults {
        fail_next: vec![200, 0],
        after_handler: true,
        ..Faults::default()
    });
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.retried), (1, 0), "{report:?}");
    assert_eq!(b.get_link("L9").await.row_hint, Some(3));
    let path = format!("/v4/spreadsheets/{SS}/values/");
    let appends = b.google.gate().calls().records();
    let appends = appends
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(&path) && r.path.ends_with(":append"));
    assert_eq!(appends.count(), 1);
}

#[tokio::test]
async fn a_write_lost_after_it_landed_on_a_row_sorted_into_its_place_is_put_back_there() {
    // Seed 12: the write landed on the row sorted into its place and its answer was lost; the
    // lead's row does not show it, but the batch did land, and the other row gets its cell back.
    let b = Bench::start().await;
    b.rows(
        2,
        &[
            &["L1", "Ada", "", "", "", "New"],
            &["L2", "Bob", "", "", "", "New"],
        ],
    );
    b.link("L1", None, Some(2)).await;
    b.link("L2", None, Some(3)).await;
    b.enqueue(&notes("L1", "for ada")).await;
    // The dispatcher's read is answered late: meanwhile a user sorts Bob above Ada.
    let round = b.round_with_a_sort_during_its_read().await;
    // The write is made and its connection reset before the answer.
    b.google.gate().set_faults(late_answers(vec![0], 0));
    round.await.expect("round").expect("run");
    assert_eq!(
        (b.cell(2, 1), b.cell(2, 7)),
        ("L2".into(), String::new()),
        "Bob's row is put back"
    );
    b.make_retries_due().await;
    b.dispatcher.run_once().await.expect("run");
    assert_eq!((b.cell(2, 1), b.cell(2, 7)), ("L2".into(), String::new()));
    assert_eq!(
        (b.cell(3, 1), b.cell(3, 7)),
        ("L1".into(), "for ada".into())
    );
}
