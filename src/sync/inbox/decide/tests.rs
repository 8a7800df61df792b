//! Each branch of a lead's decision, proven without a database: facts and events in, store
//! changes out.

use super::*;
use crate::config::OnRowDeleted;
use crate::model::LeadFields;
use crate::store::tombstones::Tombstone;
use crate::sync::mapping::SheetLead;
use crate::sync::merge::{Agreed, DecisionKind, FieldState, LeadState, Observed};
use crate::sync::observe::{CardChange, RowObservation};
use crate::sync::test_support::{airtable_ctx, ctx, t};

/// A row at `row` showing `id` (empty for none), name and status, edited at t(10).
fn row(row: u32, id: &str, name: &str, status: &str) -> RowObservation {
    let mut fields = LeadFields::new();
    fields.set(Field::Name, name);
    fields.set(Field::Status, status);
    let observed = [
        (Field::Name, Observed::user(name, Some(t(10)))),
        (Field::Status, Observed::user(status, Some(t(10)))),
    ];
    RowObservation {
        row,
        lead: SheetLead {
            id: id.into(),
            fields,
            card_url: None,
        },
        fields: observed.into(),
    }
}

fn group(event_ids: &[i64], rows: Vec<RowObservation>, cards: Vec<CardChange>) -> Group {
    Group {
        event_ids: event_ids.to_vec(),
        rows,
        cards,
        records: Vec::new(),
        record_gone: false,
    }
}

/// Lead `L1` linked to card `c1` at row 3, agreed on name "Ada" and status "New".
fn known() -> LeadFacts {
    let agreed = |v: &str| FieldState {
        agreed: Some(Agreed::new(v, t(0), None)),
        ..FieldState::default()
    };
    let state: LeadState = [(Field::Name, agreed("Ada")), (Field::Status, agreed("New"))].into();
    LeadFacts {
        lead_id: "L1".into(),
        link: Some(Link {
            pair: "p".into(),
            lead_id: "L1".into(),
            card_id: Some("c1".into()),
            row_hint: Some(3),
            ..Link::default()
        }),
        state,
        ..LeadFacts::default()
    }
}

fn lead(decided: Decided) -> LeadDecision {
    match decided {
        Decided::Lead(d) => *d,
        other => panic!("expected a lead decision, got {other:?}"),
    }
}

fn card_fields(closed: Option<bool>, fields: LeadObservation) -> CardChange {
    CardChange::Fields {
        card_id: "c1".into(),
        fields,
        closed,
    }
}

#[test]
fn a_new_row_lead_is_linked_noted_given_its_id_first_and_gets_a_card() {
    let ctx = ctx();
    let facts = LeadFacts {
        lead_id: "Lnew".into(),
        id_for_row: true,
        ..LeadFacts::default()
    };
    let g = group(&[9, 7], vec![row(5, "", "Grace", "New")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    let link = d.new_link.as_ref().expect("a link to insert");
    assert_eq!((link.pair.as_str(), link.lead_id.as_str()), ("p", "Lnew"));
    assert_eq!(link.row_hint, Some(5));
    assert!(link.id_assigned, "the id is on its way to the row");
    assert_eq!(d.key_prefix, "ev7", "keyed by the group's first event");
    assert_eq!(d.row_hint, None, "a new link already holds the row");
    let Some(Command::WriteRow {
        lead_id,
        row_hint,
        expect_name,
        cells,
    }) = d.plan.commands.first()
    else {
        panic!("the id write goes first: {:?}", d.plan.commands);
    };
    assert_eq!(lead_id, "Lnew");
    assert_eq!(*row_hint, Some(5));
    assert_eq!(expect_name.as_deref(), Some("Grace"));
    assert_eq!(cells, &BTreeMap::from([("Lead ID".into(), "Lnew".into())]));
    assert!(matches!(d.plan.commands[1], Command::CreateCard { .. }));
    assert!(d.clear_card_deleted, "a new card lifts any tombstone");
    assert_eq!((d.card_id, d.card_deleted, d.closed), (None, None, None));
    assert!(d.extra.is_empty() && !d.forget);
}

#[test]
fn a_row_without_an_id_found_to_be_a_known_lead_only_gets_its_id_written() {
    let ctx = ctx();
    let facts = LeadFacts {
        id_for_row: true,
        ..known()
    };
    let g = group(&[4], vec![row(3, "", "Ada", "New")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(d.new_link.is_none(), "the lead is linked already");
    assert_eq!(d.plan.commands.len(), 1, "{:?}", d.plan.commands);
    assert!(matches!(
        &d.plan.commands[0],
        Command::WriteRow { cells, .. } if cells.get("Lead ID").map(String::as_str) == Some("L1")
    ));
    assert!(!d.clear_card_deleted);
}

#[test]
fn a_known_leads_edit_moves_its_row_hint_and_updates_its_card() {
    let ctx = ctx();
    let g = group(&[4], vec![row(7, "L1", "Ada Lovelace", "New")], vec![]);
    let d = lead(decide(&known(), &g, &ctx, t(20)));
    assert_eq!(d.row_hint, Some(7), "the link follows the row");
    assert!(d.new_link.is_none());
    assert_eq!(d.card_id.as_deref(), Some("c1"));
    let names: Vec<_> = d.plan.decisions.iter().map(|x| (x.field, x.kind)).collect();
    assert!(
        names.contains(&(Field::Name, DecisionKind::CopyToTrello)),
        "{names:?}"
    );
    assert!(matches!(
        &d.plan.commands[..],
        [Command::UpdateCard { name: Some(n), .. }] if n == "Ada Lovelace"
    ));
    assert!(d.extra.is_empty() && !d.clear_card_deleted && !d.forget);
}

#[test]
fn a_cell_our_write_sets_after_the_edit_is_not_read_as_the_users() {
    let ctx = ctx();
    let facts = LeadFacts {
        cells_written: ["name".to_owned()].into(),
        ..known()
    };
    let g = group(&[4], vec![row(3, "L1", "Ada Lovelace", "New")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(d.plan.decisions.iter().all(|x| x.field != Field::Name));
    assert!(d.plan.commands.is_empty(), "{:?}", d.plan.commands);
}

#[test]
fn a_card_with_no_link_or_a_bad_id_decides_nothing() {
    let ctx = ctx();
    let facts = LeadFacts {
        link: None,
        ..known()
    };
    let cards = vec![card_fields(None, LeadObservation::new())];
    let g = group(&[1], vec![], cards);
    assert!(matches!(decide(&facts, &g, &ctx, t(20)), Decided::Nothing));
    let bad = LeadFacts {
        lead_id: "not an id!".into(),
        ..known()
    };
    let g = group(&[1], vec![row(3, "not an id!", "Ada", "New")], vec![]);
    assert!(matches!(decide(&bad, &g, &ctx, t(20)), Decided::BadLeadId));
}

#[test]
fn a_deleted_card_is_marked_and_its_cell_cleared_after_the_plan() {
    let ctx = ctx();
    let deleted = CardChange::Deleted {
        card_id: "c1".into(),
    };
    let d = lead(decide(
        &known(),
        &group(&[2], vec![], vec![deleted]),
        &ctx,
        t(20),
    ));
    assert_eq!(d.card_deleted.as_deref(), Some("c1"));
    assert_eq!(d.card_id, None, "the plan names no card any more");
    assert_eq!(
        d.extra,
        vec![Command::WriteRow {
            lead_id: "L1".into(),
            row_hint: Some(3),
            expect_name: None,
            cells: BTreeMap::from([("Trello Card".into(), String::new())]),
        }]
    );
    assert!(d.plan.commands.is_empty(), "no new card on its own");
    assert!(!d.clear_card_deleted);
}

#[test]
fn a_sheet_status_change_after_a_card_deletion_makes_a_new_card() {
    let ctx = ctx();
    let facts = LeadFacts {
        card_deleted: true,
        link: known().link.map(|l| Link { card_id: None, ..l }),
        ..known()
    };
    let g = group(&[2], vec![row(3, "L1", "Ada", "Lost")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(matches!(&d.plan.commands[..], [Command::CreateCard { .. }]));
    assert!(d.clear_card_deleted, "the new card lifts the tombstone");
}

#[test]
fn an_archive_seen_is_stored_once_and_planned_with() {
    let ctx = ctx();
    let archived = card_fields(Some(true), LeadObservation::new());
    let d = lead(decide(
        &known(),
        &group(&[2], vec![], vec![archived]),
        &ctx,
        t(20),
    ));
    assert_eq!(d.closed, Some(true));
    let facts = LeadFacts {
        link: known().link.map(|l| Link {
            card_closed: true,
            ..l
        }),
        ..known()
    };
    let again = card_fields(Some(true), LeadObservation::new());
    let d = lead(decide(
        &facts,
        &group(&[3], vec![], vec![again]),
        &ctx,
        t(20),
    ));
    assert_eq!(d.closed, None, "already stored as archived");
    // Archived while the agreed status is not the archived one ("Lost"): the plan, made
    // with the archive just seen, brings the card back to its status's list.
    let archived = card_fields(Some(true), LeadObservation::new());
    let g = group(&[2], vec![row(3, "L1", "Ada", "New")], vec![archived]);
    let d = lead(decide(&known(), &g, &ctx, t(20)));
    assert_eq!(d.closed, Some(true));
    assert!(
        matches!(
            &d.plan.commands[..],
            [Command::UpdateCard { closed: Some(false), id_list: Some(l), .. }] if l == "l-new"
        ),
        "{:?}",
        d.plan.commands
    );
}

#[test]
fn a_deleted_airtable_record_archives_its_card_and_is_forgotten() {
    let ctx = airtable_ctx();
    let mut facts = known();
    facts.lead_id = "recA".into();
    facts.link = facts.link.map(|l| Link {
        lead_id: "recA".into(),
        ..l
    });
    let mut g = group(&[5], vec![row(0, "recA", "Ada", "New")], vec![]);
    g.record_gone = true;
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(d.forget);
    assert_eq!(d.card_id.as_deref(), Some("c1"));
    assert!(d.plan.decisions.is_empty(), "its row changes are moot");
    assert_eq!(
        d.plan.commands,
        vec![Command::UpdateCard {
            lead_id: "recA".into(),
            card_id: Some("c1".into()),
            name: None,
            desc: None,
            id_list: None,
            closed: Some(true),
        }]
    );
    assert!(d.new_link.is_none() && d.row_hint.is_none() && d.extra.is_empty());
    let mut ignoring = airtable_ctx();
    ignoring.on_row_deleted = OnRowDeleted::Ignore;
    let d = lead(decide(&facts, &g, &ignoring, t(20)));
    assert!(d.forget && d.plan.commands.is_empty());
    facts.link = None;
    assert!(matches!(decide(&facts, &g, &ctx, t(20)), Decided::Nothing));
}

#[test]
fn a_deleted_record_back_revives_its_link_and_unarchives_its_card_with_no_second_card() {
    let ctx = airtable_ctx();
    let mut facts = known();
    let mut kept = facts.link.take().expect("a link");
    kept.card_closed = true;
    facts.tombstone = Some(Tombstone {
        link: kept,
        archived: true,
    });
    // The record shows its agreed name and a new status: merged three-way, as any edit.
    let g = group(&[6], vec![row(0, "L1", "Ada", "Lost")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(
        d.revived && d.new_link.is_some(),
        "the tombstoned link revived"
    );
    assert_eq!(d.card_id.as_deref(), Some("c1"));
    assert!(
        !(d.plan.commands.iter()).any(|c| matches!(c, Command::CreateCard { .. })),
        "no second card: {:?}",
        d.plan.commands
    );
    assert!(matches!(
        &d.plan.commands[0],
        Command::UpdateCard { card_id: Some(c), closed: Some(false), name: None, .. } if c == "c1"
    ));
    let moved = d
        .plan
        .commands
        .iter()
        .any(|c| matches!(c, Command::UpdateCard { id_list: Some(l), .. } if l == "l-lost"));
    assert!(
        moved,
        "the status edit reaches the card: {:?}",
        d.plan.commands
    );
    let name_copied = (d.plan.decisions.iter())
        .any(|x| x.field == Field::Name && x.kind == DecisionKind::CopyToTrello);
    assert!(
        !name_copied,
        "the name the card agreed on is not copied again"
    );
    // A deletion that archived nothing (a card archived before) leaves the card archived.
    if let Some(t) = facts.tombstone.as_mut() {
        t.archived = false;
    }
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    assert!(d.revived);
    assert!(
        !(d.plan.commands.iter()).any(|c| matches!(
            c,
            Command::UpdateCard {
                closed: Some(false),
                id_list: None,
                ..
            }
        )),
        "{:?}",
        d.plan.commands
    );
}

/// A record back from its deletion has its id cell written again: the write of its id may have
/// been dropped while it was gone (Notion chaos, seed 9: a page trashed right after its create
/// came back still holding the id the create carried).
#[test]
fn a_deleted_record_back_has_its_id_cell_written_again() {
    let ctx = airtable_ctx();
    let mut facts = known();
    let kept = facts.link.take().expect("a link");
    facts.tombstone = Some(Tombstone {
        link: kept,
        archived: true,
    });
    let g = group(&[6], vec![row(0, "L1", "Ada", "New")], vec![]);
    let d = lead(decide(&facts, &g, &ctx, t(20)));
    let id = &ctx.settings.columns.id;
    let written = (d.plan.commands.iter()).any(|c| matches!(c,
        Command::WriteRow { cells, expect_name: None, .. } if cells.get(id).map(String::as_str) == Some("L1")
    ));
    assert!(written, "{:?}", d.plan.commands);
    // A record seen again while linked is no revival: nothing to write.
    let mut linked = known();
    linked.tombstone = None;
    let d = lead(decide(&linked, &g, &ctx, t(20)));
    let written = (d.plan.commands.iter())
        .any(|c| matches!(c, Command::WriteRow { cells, .. } if cells.contains_key(id)));
    assert!(!written, "{:?}", d.plan.commands);
}
