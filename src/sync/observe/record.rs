//! A tracker record's change as the merge sees it. Airtable says which cells a change set, so
//! only those are observed; a record no lead is linked to yet is observed whole, since its
//! lead (and card) is made from every field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::inbound::RecordChangeEvent;
use crate::model::Field;
use crate::sync::context::PairContext;
use crate::sync::mapping::read_values;
use crate::sync::merge::{LeadState, Observed};
use crate::sync::observe::{RowObservation, observe_row};

/// What leadsync wrote to a lead's record: the values both sides agree on, and the cells
/// (header, value) of its recent writes. A notice of an older write may arrive after a newer
/// one was decided, showing a value that is no longer the agreed one but is still ours.
#[derive(Debug, Default)]
pub struct OwnWrites {
    pub agreed: LeadState,
    pub cells: Vec<(String, String)>,
}

impl OwnWrites {
    fn wrote(&self, ctx: &PairContext, field: Field, value: &str) -> bool {
        let agreed = (self.agreed.get(&field))
            .and_then(|s| s.agreed.as_ref())
            .is_some_and(|a| a.value == value);
        let header = ctx.header(field).trim().to_lowercase();
        agreed || (self.cells.iter()).any(|(h, v)| h.trim().to_lowercase() == header && v == value)
    }
}

/// The change's observation. `whole` adds the cells the change did not touch. A cell written
/// through the public API that shows a value leadsync wrote (the agreed one, or one of its
/// recent writes) is leadsync's own write coming back (CONTRACT §7: `publicApi` and a value
/// leadsync wrote): an echo.
pub fn observe_record(
    ctx: &PairContext,
    event: &RecordChangeEvent,
    changed_at: DateTime<Utc>,
    whole: bool,
    ours: &OwnWrites,
    warnings: &mut Vec<String>,
) -> RowObservation {
    let mut values: HashMap<String, String> = HashMap::new();
    if whole {
        values.extend(event.unchanged.clone());
    }
    values.extend(event.changed.clone());
    let mut lead = read_values(&values, &ctx.columns);
    // The record id is the lead id, whatever an id field shows.
    lead.id = event.record_id.clone();
    let mut seen = observe_row(ctx, 0, lead, Some(changed_at), warnings);
    for (field, observed) in seen.fields.iter_mut() {
        if event.by_api() && ours.wrote(ctx, *field, &observed.value) {
            *observed = Observed::leadsync(observed.value.clone(), observed.changed_at);
        } else if set_by(ctx, event, *field) {
            *observed = Observed::set_by_user(observed.value.clone(), changed_at);
        }
    }
    seen
}

/// True when the change itself set the field's cell (it is among the cells the change lists,
/// not among those it left alone).
fn set_by(ctx: &PairContext, event: &RecordChangeEvent, field: Field) -> bool {
    let header = ctx.header(field).trim().to_lowercase();
    (event.changed.keys()).any(|h| h.trim().to_lowercase() == header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::RecordChangeKind;
    use crate::model::Field;
    use crate::sync::merge::{Agreed, FieldState};
    use crate::sync::test_support::{ctx, t};

    fn change(source: &str) -> RecordChangeEvent {
        RecordChangeEvent {
            record_id: "recA1".into(),
            kind: RecordChangeKind::Changed,
            source: source.into(),
            timestamp: t(5),
            changed: [("Status".to_owned(), "Lost".to_owned())].into(),
            unchanged: [("Name".to_owned(), "Ada".to_owned())].into(),
        }
    }

    #[test]
    fn a_linked_record_shows_only_the_cells_its_change_set_and_an_unlinked_one_all() {
        let c = ctx();
        let mut w = Vec::new();
        let part = observe_record(
            &c,
            &change("client"),
            t(5),
            false,
            &OwnWrites::default(),
            &mut w,
        );
        assert_eq!(part.lead.id, "recA1");
        assert_eq!(
            part.fields.keys().copied().collect::<Vec<_>>(),
            [Field::Status]
        );
        assert!(!part.fields[&Field::Status].by_leadsync);
        let all = observe_record(
            &c,
            &change("client"),
            t(5),
            true,
            &OwnWrites::default(),
            &mut w,
        );
        assert_eq!(all.fields[&Field::Name].value, "Ada");
        assert!(all.lead.is_lead());
    }

    #[test]
    fn an_api_change_showing_the_agreed_value_is_an_echo_and_any_other_is_not() {
        let c = ctx();
        let mut w = Vec::new();
        let agreed = OwnWrites {
            agreed: [(
                Field::Status,
                FieldState {
                    agreed: Some(Agreed::new("Lost", t(4), None)),
                    ..FieldState::default()
                },
            )]
            .into(),
            cells: Vec::new(),
        };
        let echo = observe_record(&c, &change("publicApi"), t(5), false, &agreed, &mut w);
        assert!(echo.fields[&Field::Status].by_leadsync);
        let user = observe_record(&c, &change("client"), t(5), false, &agreed, &mut w);
        assert!(
            !user.fields[&Field::Status].by_leadsync,
            "a person's change"
        );
        let other = observe_record(
            &c,
            &change("publicApi"),
            t(5),
            false,
            &OwnWrites::default(),
            &mut w,
        );
        assert!(
            !other.fields[&Field::Status].by_leadsync,
            "another integration's change"
        );
    }

    #[test]
    fn a_late_notice_of_an_older_write_of_ours_is_an_echo_not_a_users_change() {
        // leadsync wrote "Lost", then "New" (now agreed); Airtable's notice of "Lost" comes last.
        let c = ctx();
        let mut w = Vec::new();
        let ours = OwnWrites {
            agreed: [(
                Field::Status,
                FieldState {
                    agreed: Some(Agreed::new("New", t(4), None)),
                    ..FieldState::default()
                },
            )]
            .into(),
            cells: vec![
                ("status".to_owned(), "Lost".to_owned()),
                ("Status".to_owned(), "New".to_owned()),
            ],
        };
        let late = observe_record(&c, &change("publicApi"), t(5), false, &ours, &mut w);
        assert!(late.fields[&Field::Status].by_leadsync);
        let user = observe_record(&c, &change("client"), t(5), false, &ours, &mut w);
        assert!(
            !user.fields[&Field::Status].by_leadsync,
            "a person typing it is no echo"
        );
    }
}
