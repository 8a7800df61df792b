//! Reconciliation planning of an archive leadsync missed (its webhook dropped): ordered by the
//! archive's own time against the agreed status, not by the time of the read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::tests::{agreed_lead, commands, link};
use super::*;
use crate::model::Side;
use crate::sync::plan::commands::Command;
use crate::sync::test_support::{card, ctx, grid, t};

/// Lead L1 agreed on "New" (set in the sheet at t(-10)), its card c1 archived at `archived_at`
/// and found closed by a read at t(0) while its link still says open.
fn plan_missed_archive(archived_at: DateTime<Utc>) -> Vec<Action> {
    let g = grid(&[[
        "L1",
        "Ada",
        "",
        "",
        "",
        "New",
        "",
        "https://trello.com/c/sc1",
    ]]);
    let mut c = card("c1", "Ada", "leadsync:L1", "l-new");
    c.closed = true;
    let known = Known {
        links: HashMap::from([("L1".to_owned(), link("L1", Some("c1"), 2))]),
        states: HashMap::from([(
            "L1".to_owned(),
            agreed_lead("Ada", "New", Some(Side::Sheet)),
        )]),
        archived_at: HashMap::from([("c1".to_owned(), archived_at)]),
        ..Known::default()
    };
    plan_reconcile(&ctx(), OnRowDeleted::ArchiveCard, &g, &[c], &known, t(0)).expect("plan")
}

fn writes_lost_to_the_row(actions: &[Action]) -> bool {
    commands(actions).iter().any(|c| {
        matches!(c, Command::WriteRow { cells, .. } if cells.get("Status").map(String::as_str) == Some("Lost"))
    })
}

#[test]
fn an_archive_older_than_the_agreed_status_loses_and_the_card_comes_back() {
    let actions = plan_missed_archive(t(-20));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CardClosed { closed: true, .. })),
        "{actions:?}"
    );
    assert!(!writes_lost_to_the_row(&actions), "{actions:?}");
    let reopened = commands(&actions).into_iter().any(|c| {
        matches!(c, Command::UpdateCard { closed: Some(false), id_list: Some(l), .. } if l == "l-new")
    });
    assert!(reopened, "the card comes back into New: {actions:?}");
}

#[test]
fn an_archive_newer_than_the_agreed_status_wins_and_the_row_gets_lost() {
    let actions = plan_missed_archive(t(-5));
    assert!(writes_lost_to_the_row(&actions), "{actions:?}");
    let reopened = commands(&actions).into_iter().any(|c| {
        matches!(
            c,
            Command::UpdateCard {
                closed: Some(false),
                ..
            }
        )
    });
    assert!(!reopened, "the card stays archived: {actions:?}");
}

/// A record its tracker deleted, read again (a Notion page restored from the trash): its card is
/// opened again and its id cell written again (the write of its id may have met it while it was
/// gone: Notion chaos, seed 9).
#[test]
fn a_deleted_record_read_again_gets_its_card_opened_and_its_id_cell_written_again() {
    let g = grid(&[["L1", "Ada", "", "", "", "New", "", ""]]);
    let mut c = card("c1", "Ada", "leadsync:L1", "l-new");
    c.closed = true;
    let known = Known {
        states: HashMap::from([(
            "L1".to_owned(),
            agreed_lead("Ada", "New", Some(Side::Sheet)),
        )]),
        archived_by_deletion: ["L1".to_owned()].into(),
        ..Known::default()
    };
    let ctx = crate::sync::test_support::airtable_ctx();
    let actions =
        plan_reconcile(&ctx, OnRowDeleted::ArchiveCard, &g, &[c], &known, t(0)).expect("plan");
    let cmds = commands(&actions);
    let opened = (cmds.iter()).any(|c| {
        matches!(
            c,
            Command::UpdateCard {
                closed: Some(false),
                ..
            }
        )
    });
    assert!(opened, "{actions:?}");
    let id = &ctx.settings.columns.id;
    let written = (cmds.iter()).any(|c| {
        matches!(c,
            Command::WriteRow { cells, .. } if cells.get(id).map(String::as_str) == Some("L1")
        )
    });
    assert!(written, "{actions:?}");
}
