//! When an edit a poll found was made. Its events lost, only Notion's minute-rounded edit time
//! and what leadsync knew the page to hold tell: the edit came after the previous poll began
//! (that poll would have shown it), after every read that showed the field as it was (the
//! field's tracker-side `seen_at`), and after a write of ours to the field that has landed (the
//! read shows another value); and no later than the read or the end of its minute. Within that
//! window its order against a card edit of the same field is unknowable, so it is dated at the
//! window's earliest moment: a card edit made inside the window is taken for the later one and
//! wins under last-writer-wins. Dated at the read instead, the Notion edit beat a card move made
//! after it (the Notion chaos, seed 27: a status typed in Notion, found by a poll two seconds
//! later, overwrote the card's later move back). A card edit made before the window (before the
//! previous poll, or before our write of it landed in Notion) is older than the Notion edit in
//! fact, and loses to it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::connectors::notion::client::Page;
use crate::model::Field;
use crate::store::notion as stored;
use crate::store::{StoreError, Tx, lead_state};
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

/// The window a poll's edit was made in: not before `after` (the page's minute-rounded edit
/// time, the previous poll's start), not after `before` (the end of that minute, the read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub after: DateTime<Utc>,
    pub before: DateTime<Utc>,
}

/// The earliest moment the edit of the `changed` properties of `page` can have been made,
/// narrowed by what the lead's field states say leadsync saw and wrote of them.
pub(super) async fn earliest(
    tx: &mut Tx,
    ctx: Option<&PairContext>,
    page: &Page,
    lead_id: &str,
    changed: &BTreeMap<String, String>,
    window: Window,
) -> Result<DateTime<Utc>, StoreError> {
    let Some(ctx) = ctx else {
        return Ok(earliest_in(window, []));
    };
    let states = lead_state::load_lead(&mut **tx, &ctx.name, lead_id).await?;
    if states.is_empty() {
        return Ok(earliest_in(window, []));
    }
    // A write still on its way may land after the edit (and overwrite it): no bound from it.
    let mut on_the_way: Vec<String> = Vec::new();
    for payload in stored::unfinished_page_writes(&mut **tx, &ctx.name, lead_id).await? {
        if let Ok(Command::WriteRow { cells, .. }) = serde_json::from_str::<Command>(&payload) {
            on_the_way.extend(cells.keys().map(|h| h.trim().to_lowercase()));
        }
    }
    let mut known = Vec::new();
    for field in Field::ALL {
        let header = ctx.header(field);
        let Some(name) = page.property_named(header) else {
            continue;
        };
        let Some(state) = states.iter().find(|s| s.field == field.as_str()) else {
            continue;
        };
        if !changed.contains_key(name) {
            continue;
        }
        // The tracker is the engine's sheet side.
        known.extend(state.sheet_seen_at);
        if !on_the_way.contains(&header.trim().to_lowercase()) {
            known.extend(state.sheet_written_at);
        }
    }
    Ok(earliest_in(window, known))
}

/// Just after the latest of `known` (unix ms: moments the page was known to show the field as
/// it was) and the window's start, never after its end: an edit later than the window's end
/// cannot be (a field seen since then was seen with the edit in it, and is old news).
fn earliest_in(window: Window, known: impl IntoIterator<Item = i64>) -> DateTime<Utc> {
    let after_known = (known.into_iter().max())
        .and_then(|ms| Utc.timestamp_millis_opt(ms + 1).single())
        .unwrap_or(window.after);
    after_known.max(window.after).min(window.before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_edit_is_dated_at_the_earliest_moment_its_window_allows() {
        let window = Window {
            after: t("2026-01-05T10:06:00Z"),
            before: t("2026-01-05T10:06:20Z"),
        };
        assert_eq!(earliest_in(window, []), window.after, "nothing else known");
        let seen = t("2026-01-05T10:06:05Z").timestamp_millis();
        assert_eq!(
            earliest_in(window, [seen - 9000, seen]),
            t("2026-01-05T10:06:05.001Z"),
            "after the field was last seen as it was"
        );
        assert_eq!(
            earliest_in(window, [t("2026-01-05T10:05:30Z").timestamp_millis()]),
            window.after,
            "a moment before the window adds nothing"
        );
        assert_eq!(
            earliest_in(window, [t("2026-01-05T10:07:00Z").timestamp_millis()]),
            window.before,
            "never after the read"
        );
    }
}
