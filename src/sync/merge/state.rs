//! Conversions between the merge's field state and its stored rows.

use chrono::{DateTime, TimeZone, Utc};

use crate::model::{Field, Side, ValueHash};
use crate::store::lead_state::StoredField;
use crate::sync::merge::{Agreed, FieldState, LeadState, SideMemory};

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn field_named(name: &str) -> Option<Field> {
    Field::ALL.into_iter().find(|f| f.as_str() == name)
}

fn side_named(name: Option<&str>) -> Option<Side> {
    match name {
        Some("sheet") => Some(Side::Sheet),
        Some("trello") => Some(Side::Trello),
        _ => None,
    }
}

/// Rebuilds a lead's merge state; rows of unknown fields (from a newer version) are skipped.
pub fn lead_state(rows: &[StoredField]) -> LeadState {
    rows.iter()
        .filter_map(|r| {
            let field = field_named(&r.field)?;
            let agreed = Agreed {
                hash: ValueHash::from_hex(r.agreed_hash.clone()),
                value: r.agreed_value.clone(),
                agreed_at: time(r.agreed_at),
                writer: side_named(r.last_writer.as_deref()),
            };
            let state = FieldState {
                agreed: Some(agreed),
                sheet: SideMemory {
                    seen_at: r.sheet_seen_at.map(time),
                    written_at: r.sheet_written_at.map(time),
                },
                trello: SideMemory {
                    seen_at: r.trello_seen_at.map(time),
                    written_at: r.trello_written_at.map(time),
                },
            };
            Some((field, state))
        })
        .collect()
}

/// The row to store for a field's new state; `None` while nothing has been agreed yet.
pub fn stored(lead_id: &str, field: Field, state: &FieldState) -> Option<StoredField> {
    let agreed = state.agreed.as_ref()?;
    let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
    Some(StoredField {
        lead_id: lead_id.to_owned(),
        field: field.as_str().to_owned(),
        agreed_hash: agreed.hash.as_str().to_owned(),
        agreed_value: agreed.value.clone(),
        agreed_at: agreed.agreed_at.timestamp_millis(),
        last_writer: agreed.writer.map(|s| s.as_str().to_owned()),
        sheet_seen_at: ms(state.sheet.seen_at),
        sheet_written_at: ms(state.sheet.written_at),
        trello_seen_at: ms(state.trello.seen_at),
        trello_written_at: ms(state.trello.written_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_state_survives_a_round_trip_through_its_row() {
        let at = time(1_700_000_000_123);
        let state = FieldState {
            agreed: Some(Agreed::new("Zoë", at, Some(Side::Trello))),
            sheet: SideMemory {
                seen_at: Some(at),
                written_at: None,
            },
            trello: SideMemory {
                seen_at: None,
                written_at: Some(at),
            },
        };
        let row = stored("L1", Field::Name, &state).expect("agreed");
        let back = lead_state(&[row]);
        assert_eq!(back.get(&Field::Name), Some(&state));
    }
}
