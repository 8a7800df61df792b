//! A row without an id that is edited again before the id leadsync gave it has reached it:
//! which lead it is, so a second edit does not make a second lead.

use sqlx::SqliteConnection;

use crate::model::Field;
use crate::store::{StoreError, lead_state};
use crate::sync::merge::LeadObservation;

/// A row without an id that leadsync gave an id within this window is the same lead when it is
/// edited again (our id write may not have reached the sheet yet).
pub(crate) const NEW_ROW_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The lead leadsync made for a row without an id that is edited again before its id reached
/// it (`times` = (made since, edited at), unix ms): a row is no new lead while it may be one
/// leadsync has given an id that it did not show yet. Rows move and are deleted and typed anew,
/// so neither position nor content alone is an identity: the lead made at that position
/// qualifies if the row still shows what it holds (one edit changes one cell: a row differing
/// in two filled fields is another row typed there); a lead made at another position (the rows
/// moved before the event was read) qualifies if it is the only one with the row's name and
/// agrees on every other filled field.
pub(crate) async fn lead_of_new_row(
    conn: &mut SqliteConnection,
    pair: &str,
    row: i64,
    (since, edited): (i64, i64),
    shown: Option<&LeadObservation>,
) -> Result<Option<String>, StoreError> {
    let candidates = lead_state::unlanded_new_leads(&mut *conn, pair, since, edited).await?;
    let Some(shown) = shown else {
        return Ok(candidates
            .into_iter()
            .find(|(_, hint)| *hint == Some(row))
            .map(|(lead, _)| lead));
    };
    let mut elsewhere = Vec::new();
    for (lead, hint) in candidates {
        let stored = lead_state::load_lead(&mut *conn, pair, &lead).await?;
        let (same_name, differing) = compare(&stored, shown);
        if hint == Some(row) && differing < 2 {
            return Ok(Some(lead));
        }
        if same_name && differing == 0 {
            elsewhere.push(lead);
        }
    }
    Ok((elsewhere.len() == 1).then(|| elsewhere.remove(0)))
}

/// Whether a row shows a lead's agreed name, and in how many fields filled on both it differs.
fn compare(stored: &[lead_state::StoredField], shown: &LeadObservation) -> (bool, usize) {
    let mut same_name = false;
    let mut differing = 0;
    for s in stored {
        let field = Field::ALL.into_iter().find(|f| f.as_str() == s.field);
        let Some(now) = field.and_then(|f| shown.get(&f)).map(|o| o.value.trim()) else {
            continue;
        };
        let was = s.agreed_value.trim();
        if field == Some(Field::Name) && !now.is_empty() && now == was {
            same_name = true;
        }
        if !now.is_empty() && !was.is_empty() && now != was {
            differing += 1;
        }
    }
    (same_name, differing)
}
