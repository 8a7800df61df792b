//! Sheet commands through the dispatcher: batching, row location, appends, dead columns.

use std::collections::BTreeMap;

use crate::connectors::bench::{Bench, CARD_COL, SS, late_answers};
use crate::sync::outbox::DispatchReport;
use crate::sync::plan::commands::Command;

fn write(
    lead: &str,
    row_hint: Option<u32>,
    expect_name: Option<&str>,
    cells: &[(&str, &str)],
) -> Command {
    Command::WriteRow {
        lead_id: lead.into(),
        row_hint,
        expect_name: expect_name.map(Into::into),
        cells: cells
            .iter()
            .map(|(h, v)| ((*h).into(), (*v).into()))
            .collect(),
    }
}

fn calls(b: &Bench, method: &str, suffix: &str) -> usize {
    b.google
        .gate()
        .calls()
        .records()
        .iter()
        .filter(|r| {
            r.method == method
                && r.path.starts_with(&format!("/v4/spreadsheets/{SS}/values"))
                && r.path.ends_with(suffix)
        })
        .count()
}

#[tokio::test]
async fn five_row_writes_of_one_pair_cost_one_read_one_batch_update_and_one_read_back() {
    let b = Bench::start().await;
    let leads = ["L1", "L2", "L3", "L4", "L5"];
    for (i, lead) in leads.iter().enumerate() {
        b.rows(
            2 + i as u32,
            &[&[lead, &format!("Name {i}"), "", "", "", "New"]],
        );
        b.link(lead, None, None).await;
    }
    for lead in leads {
        b.enqueue(&write(
            lead,
            None,
            None,
            &[("status", "Won"), (" Notes ", &format!("note {lead}"))],
        ))
        .await;
    }
    b.google.gate().calls().clear();
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.claimed, report.sent), (5, 5));
    assert_eq!(
        calls(&b, "GET", ""),
        2,
        "one read of the whole sheet, and one to check no row moved under the write"
    );
    assert_eq!(
        calls(&b, "POST", ":batchUpdate"),
        1,
        "one write for every cell"
    );
    assert_eq!(b.google.gate().calls().records().len(), 3);
    for (i, lead) in leads.iter().enumerate() {
        let row = 2 + i as u32;
        assert_eq!(
            (b.cell(row, 6), b.cell(row, 7)),
            ("Won".to_owned(), format!("note {lead}"))
        );
        assert_eq!(b.get_link(lead).await.row_hint, Some(i64::from(row)));
    }
}

#[tokio::test]
async fn a_row_is_found_by_its_id_wherever_it_moved_and_by_its_hint_only_while_its_name_matches() {
    let b = Bench::start().await;
    b.rows(2, &[&["", "Cy"], &["L1", "Ada"], &["", "Bob"]]);
    b.link("L1", None, Some(2)).await;
    b.link("L2", None, Some(4)).await;
    b.link("L3", None, Some(2)).await;
    b.enqueue(&write("L1", Some(2), None, &[("Email", "ada@x")]))
        .await;
    b.enqueue(&write("L2", Some(4), Some("Bob"), &[("Lead ID", "L2")]))
        .await;
    b.enqueue(&write("L3", Some(2), Some("Dora"), &[("Lead ID", "L3")]))
        .await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.skipped), (2, 1));
    assert_eq!(b.cell(3, 3), "ada@x", "by id, not by the stale hint");
    assert_eq!(b.cell(2, 3), "");
    assert_eq!(
        b.cell(4, 1),
        "L2",
        "by hint: empty id and the expected name"
    );
    assert_eq!(
        b.cell(2, 1),
        "",
        "the hinted row holds another name: the row is gone"
    );
    assert_eq!(b.get_link("L1").await.row_hint, Some(3));
}

#[tokio::test]
async fn a_write_without_an_expected_name_never_lands_on_a_row_without_an_id_at_its_hint() {
    // L1's row (id landed) was deleted and a person's new row, without an id yet, moved into
    // its place: L1's later name write must not land there (seed 141), it has no row.
    let b = Bench::start().await;
    b.rows(2, &[&["", "Cy"]]);
    b.link("L1", None, Some(2)).await;
    b.enqueue(&write("L1", Some(2), None, &[("Name", "Ada")]))
        .await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    assert_eq!(b.cell(2, 2), "Cy", "the new row keeps its name");
    assert_eq!(b.cell(2, 1), "");
}

#[tokio::test]
async fn append_row_adds_the_row_in_header_order_sets_the_hint_and_is_not_repeated() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"], &["L2", "Bob"]]);
    b.link("L9", Some("c9"), None).await;
    let cells = BTreeMap::from([
        ("Name".to_owned(), "Zoë".to_owned()),
        ("Status".to_owned(), "New".to_owned()),
        (
            "Trello Card".to_owned(),
            "https://trello.com/c/c9".to_owned(),
        ),
    ]);
    let append = Command::AppendRow {
        lead_id: "L9".into(),
        cells,
    };
    b.enqueue(&append).await;
    b.google.gate().calls().clear();
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(calls(&b, "POST", ":append"), 1);
    let grid = b.google.grid(SS, "Leads").expect("grid");
    assert_eq!(grid.len(), 4);
    assert_eq!(
        grid[3],
        [
            "L9",
            "Zoë",
            "",
            "",
            "",
            "New",
            "",
            "https://trello.com/c/c9"
        ]
    );
    assert_eq!(b.get_link("L9").await.row_hint, Some(4));

    // Appending again (a retry whose first try landed) finds the row and adds nothing.
    b.enqueue(&append).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(b.google.grid(SS, "Leads").expect("grid").len(), 4);
    assert_eq!(b.cell(4, CARD_COL), "https://trello.com/c/c9");
}

#[tokio::test]
async fn a_missing_column_dead_letters_only_its_command_and_other_leads_go_on() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"], &["L2", "Bob"]]);
    b.link("L1", None, None).await;
    b.link("L2", None, None).await;
    let dead = b
        .enqueue(&write("L1", None, None, &[("Budget", "9")]))
        .await;
    let later = b
        .enqueue(&write("L1", None, None, &[("Email", "ada@x")]))
        .await;
    b.enqueue(&write("L2", None, None, &[("Email", "bob@x")]))
        .await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!(
        report,
        DispatchReport {
            claimed: 2,
            sent: 1,
            dead: 1,
            ..DispatchReport::default()
        }
    );
    let stored = b.stored(dead).await;
    assert_eq!(stored.status, "dead");
    assert!(stored.last_error.expect("error").contains("\"Budget\""));
    assert_eq!(b.cell(3, 3), "bob@x");
    // The dead letter no longer holds its own lead back either.
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(b.stored(later).await.status, "done");
    assert_eq!(b.cell(2, 3), "ada@x");
}

#[tokio::test]
async fn a_failed_read_retries_every_command_of_the_batch_and_writes_nothing() {
    let b = Bench::start().await;
    b.rows(2, &[&["L1", "Ada"], &["L2", "Bob"]]);
    b.link("L1", None, None).await;
    b.link("L2", None, None).await;
    b.enqueue(&write("L1", None, None, &[("Email", "ada@x")]))
        .await;
    b.enqueue(&write("L2", None, None, &[("Email", "bob@x")]))
        .await;
    b.google.gate().set_faults(crate::sandbox::common::Faults {
        fail_next: vec![503],
        ..Default::default()
    });
    assert_eq!(b.dispatcher.run_once().await.expect("run").retried, 2);
    assert_eq!(b.cell(2, 3), "");
    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 2);
    assert_eq!(
        (b.cell(2, 3), b.cell(3, 3)),
        ("ada@x".to_owned(), "bob@x".to_owned())
    );
}

#[tokio::test]
async fn a_write_that_lands_on_a_row_sorted_into_its_place_is_put_back_and_sent_again() {
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
    b.enqueue(&write("L1", Some(2), None, &[("Notes", "for ada")]))
        .await;
    // The dispatcher's read is answered late; meanwhile a user sorts Bob above Ada, so the
    // write planned for row 2 lands on Bob's row.
    let round = b.round_with_a_sort_during_its_read().await;
    let report = round.await.expect("round").expect("run");
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(
        (b.cell(2, 1), b.cell(2, 7)),
        ("L2".into(), String::new()),
        "Bob's row is put back"
    );
    b.make_retries_due().await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    assert_eq!(
        (b.cell(3, 1), b.cell(3, 7)),
        ("L1".into(), "for ada".into())
    );
}

/// The lead's agreed value of a field, as the engine keeps it once it planned the lead.
async fn agree(b: &Bench, lead: &str, values: &[(&str, &str)]) {
    for (field, value) in values {
        let agreed = crate::store::lead_state::StoredField {
            lead_id: lead.into(),
            field: (*field).into(),
            agreed_hash: "h".into(),
            agreed_value: (*value).into(),
            agreed_at: 1,
            last_writer: None,
            sheet_seen_at: None,
            sheet_written_at: None,
            trello_seen_at: None,
            trello_written_at: None,
        };
        (crate::store::lead_state::save(&b.db.pool, "a", &agreed).await).expect("state");
    }
}

#[tokio::test]
async fn an_id_write_whose_row_was_renamed_and_moved_finds_it_by_its_other_cells() {
    // L2 was made of the row "Dora" at row 2; before its id write went, a person inserted a
    // row above it, renamed it "Cy" and edited its notes (seeds 53, 273). Skipped as gone,
    // the row would become a second lead. L3's row shares only a status with any row: gone.
    let b = Bench::start().await;
    b.rows(
        2,
        &[
            &["", "Bob", "bob@x", "+1-3", "", "New", ""],
            &["", "Cy", "cy@x", "+1-2", "Acme", "New", "edited"],
        ],
    );
    b.link("L2", None, Some(2)).await;
    b.link("L3", None, Some(2)).await;
    let l2 = [
        ("name", "Dora"),
        ("email", "cy@x"),
        ("phone", "+1-2"),
        ("company", "Acme"),
        ("status", "New"),
        ("notes", "first"),
    ];
    agree(&b, "L2", &l2).await;
    agree(&b, "L3", &[("name", "Eve"), ("status", "New")]).await;
    b.enqueue(&write("L2", Some(2), Some("Dora"), &[("Lead ID", "L2")]))
        .await;
    b.enqueue(&write("L3", Some(2), Some("Eve"), &[("Lead ID", "L3")]))
        .await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.skipped), (1, 1), "{report:?}");
    assert_eq!(b.cell(3, 1), "L2", "the renamed row gets its lead's id");
    assert_eq!(
        b.cell(2, 1),
        "",
        "a row sharing one status with a lead is not its row"
    );
    assert_eq!(b.get_link("L2").await.row_hint, Some(3));
}

#[tokio::test]
async fn a_put_back_that_fails_has_the_other_row_s_lead_write_its_value_again() {
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
    agree(&b, "L2", &[("notes", "")]).await;
    b.enqueue(&write("L1", Some(2), None, &[("Notes", "for ada")]))
        .await;
    // The dispatcher's read is answered late; meanwhile a user sorts Bob above Ada, so the
    // write planned for row 2 lands on Bob's row, and the put-back there fails.
    let round = b.round_with_a_sort_during_its_read().await;
    // The write and the check's read go through; the put-back fails, and so does the read
    // again before it would be tried again (`put_back_owed`).
    b.google
        .gate()
        .set_faults(late_answers(vec![200, 200, 500, 500], 0));
    let report = round.await.expect("round").expect("run");
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(
        (b.cell(2, 1), b.cell(2, 7)),
        ("L2".into(), "for ada".into())
    );
    b.make_retries_due().await;
    b.dispatcher.run_once().await.expect("run");
    assert_eq!(
        (b.cell(2, 1), b.cell(2, 7)),
        ("L2".into(), String::new()),
        "Bob's agreed notes are written to his row again"
    );
    assert_eq!(
        (b.cell(3, 1), b.cell(3, 7)),
        ("L1".into(), "for ada".into())
    );
}
