//! A new row's lead writes back what its event shows in cells the write check emptied.

use super::*;
use crate::model::LeadFields;
use crate::sync::mapping::SheetLead;
use crate::sync::merge::Observed;
use crate::sync::observe::RowObservation;
use crate::sync::test_support::{ctx, t};

#[test]
fn a_new_row_s_lead_writes_back_the_cells_the_check_emptied_after_its_id() {
    let mut fields = LeadFields::new();
    fields.set(Field::Name, "Cy");
    fields.set(Field::Status, "Lost");
    let row = RowObservation {
        row: 4,
        lead: SheetLead {
            id: String::new(),
            fields,
            card_url: None,
        },
        fields: [
            (Field::Name, Observed::user("Cy", Some(t(10)))),
            (Field::Status, Observed::user("Lost", Some(t(10)))),
        ]
        .into(),
    };
    let g = Group {
        event_ids: vec![3],
        rows: vec![row],
        cards: Vec::new(),
        records: Vec::new(),
        record_gone: false,
    };
    let facts = LeadFacts {
        lead_id: "Lnew".into(),
        id_for_row: true,
        blanked: vec![
            ("k1".into(), "Status".into(), "Lost".into()),
            // Typed empty: written back too, as the put-back of the check may have failed.
            ("k2".into(), "Notes".into(), String::new()),
        ],
        ..LeadFacts::default()
    };
    let Decided::Lead(d) = decide(&facts, &g, &ctx(), t(20)) else {
        panic!("a lead decision");
    };
    assert!(
        matches!(&d.plan.commands[0], Command::WriteRow { cells, .. } if cells.contains_key("Lead ID"))
    );
    assert_eq!(
        d.extra,
        [Command::WriteRow {
            lead_id: "Lnew".into(),
            row_hint: Some(4),
            expect_name: None,
            cells: BTreeMap::from([
                ("Notes".to_owned(), String::new()),
                ("Status".to_owned(), "Lost".to_owned())
            ]),
        }]
    );
    assert_eq!(d.blanks_used, ["k1", "k2"]);
}
