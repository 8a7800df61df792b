//! A tracker record's change as the merge sees it. Airtable says which cells a change set, so
//! only those are observed; a record no lead is linked to yet is observed whole, since its
//! lead (and card) is made from every field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::inbound::RecordChangeEvent;
use crate::sync::context::PairContext;
use crate::sync::mapping::read_values;
use crate::sync::merge::{LeadState, Observed};
use crate::sync::observe::{RowObservation, observe_row};

/// The change's observation. `whole` adds the cells the change did not touch. A cell written
/// through the public API that shows the value both sides agree on is leadsync's own write
/// coming back (CONTRACT §7: `publicApi` and a value leadsync wrote): an echo.
pub fn observe_record(
    ctx: &PairContext,
    event: &RecordChangeEvent,
    changed_at: DateTime<Utc>,
    whole: bool,
    agreed: &LeadState,
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
    if event.by_api() {
        for (field, observed) in seen.fields.iter_mut() {
            let ours = agreed
                .get(field)
                .and_then(|s| s.agreed.as_ref())
                .is_some_and(|a| a.value == observed.value);
            if ours {
                *observed = Observed::leadsync(observed.value.clone(), observed.changed_at);
            }
        }
    }
    seen
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
            &LeadState::new(),
            &mut w,
        );
        assert_eq!(part.lead.id, "recA1");
        assert_eq!(
            part.fields.keys().copied().collect::<Vec<_>>(),
            [Field::Status]
        );
        assert!(!part.fields[&Field::Status].by_leadsync);
        let all = observe_record(&c, &change("client"), t(5), true, &LeadState::new(), &mut w);
        assert_eq!(all.fields[&Field::Name].value, "Ada");
        assert!(all.lead.is_lead());
    }

    #[test]
    fn an_api_change_showing_the_agreed_value_is_an_echo_and_any_other_is_not() {
        let c = ctx();
        let mut w = Vec::new();
        let agreed: LeadState = [(
            Field::Status,
            FieldState {
                agreed: Some(Agreed::new("Lost", t(4), None)),
                ..FieldState::default()
            },
        )]
        .into();
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
            &LeadState::new(),
            &mut w,
        );
        assert!(
            !other.fields[&Field::Status].by_leadsync,
            "another integration's change"
        );
    }
}
