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
/// it: the lead made at that position within the window whose id had not landed when the row
/// was edited (`times` = (made since, edited at), unix ms), if the row still shows what that
/// lead holds. Rows are deleted and typed anew at the same position, so a position alone is no
/// identity: one edit changes one cell, and a row that differs from the lead in two or more
/// fields filled on both is another row typed there.
pub(crate) async fn lead_of_new_row(
    conn: &mut SqliteConnection,
    pair: &str,
    row: i64,
    (since, edited): (i64, i64),
    shown: Option<&LeadObservation>,
) -> Result<Option<String>, StoreError> {
    let Some(lead) = lead_state::lead_at_new_row(&mut *conn, pair, row, since, edited).await?
    else {
        return Ok(None);
    };
    let Some(shown) = shown else {
        return Ok(Some(lead));
    };
    let stored = lead_state::load_lead(&mut *conn, pair, &lead).await?;
    let differing = stored
        .iter()
        .filter(|s| {
            let field = Field::ALL.into_iter().find(|f| f.as_str() == s.field);
            let now = field.and_then(|f| shown.get(&f)).map(|o| o.value.trim());
            let was = s.agreed_value.trim();
            now.is_some_and(|now| !now.is_empty() && !was.is_empty() && now != was)
        })
        .count();
    Ok((differing < 2).then_some(lead))
}
