//! A Notion page read as the record change the worker merges. A read says what the page holds,
//! not what changed, so the change is the difference from the page as last read (its snapshot):
//! a property the read finds as it was is no edit (it may be a value a write of ours has yet to
//! replace). A page never read before, or restored from the trash, is a record seen whole. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::connectors::notion::client::{Page, compact_id};
use crate::connectors::notion::source::page_cells;
use crate::inbound::{RecordChangeEvent, RecordChangeKind};

/// What the worker reads as "may be our write": a page seen whole (never read) whose last editor
/// is leadsync's integration (its bot user) is marked as Airtable's API writes are, so a page no
/// lead holds yet waits for a create of ours in flight (`sync::inbox::records::must_wait`): it
/// may be that create's page, whose answer was lost.
const BY_API: &str = "publicApi";
/// Anyone else: a person, or another integration.
const BY_OTHERS: &str = "person";

/// A page read: the record change to store (none when nothing changed since the last read),
/// and the page's cells to keep as its snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRead {
    pub change: Option<RecordChangeEvent>,
    pub cells: BTreeMap<String, String>,
}

/// The page as a record change. `by_us`: the page's last editor is leadsync's bot. `baselines`: what the page was known to hold (its snapshot as
/// it was before the read and as it is now, or its lead's agreed values); a property that shows
/// the value one of them holds is no edit. None (or `whole`: a page restored from the trash):
/// seen as a new record. `at`: the change's time, no earlier than the page's (minute-rounded)
/// edit time.
pub fn page_read(
    page: &Page,
    by_us: bool,
    baselines: &[&BTreeMap<String, String>],
    whole: bool,
    at: DateTime<Utc>,
) -> PageRead {
    let cells = page_cells(page);
    let source = BY_OTHERS.to_owned();
    let mut event = RecordChangeEvent {
        record_id: compact_id(&page.id),
        kind: RecordChangeKind::Changed,
        source,
        timestamp: at.max(page.last_edited_time),
        changed: BTreeMap::new(),
        unchanged: BTreeMap::new(),
    };
    if page.in_trash {
        event.kind = RecordChangeKind::Destroyed;
        return PageRead {
            change: Some(event),
            cells,
        };
    }
    if whole || baselines.is_empty() {
        event.kind = RecordChangeKind::Created;
        event.changed = cells.clone();
        // Only a page seen whole: `last_edited_by` names one editor for the whole page, and a
        // property that differs from the snapshot (our writes are folded into it) is not ours
        // even when our bot edited another property since. Marked ours, a person's value equal
        // to an earlier write of ours would be taken for its echo and overwritten (the Notion
        // chaos, seed 4: a status set back to the one its create had was set back again).
        if by_us {
            event.source = BY_API.to_owned();
        }
    } else {
        for (name, value) in &cells {
            match baselines.iter().any(|b| b.get(name) == Some(value)) {
                true => event.unchanged.insert(name.clone(), value.clone()),
                false => event.changed.insert(name.clone(), value.clone()),
            };
        }
    }
    let change = (!event.changed.is_empty()).then_some(event);
    PageRead { change, cells }
}

/// The snapshot to keep after a read: what the read shows, except a property whose snapshot
/// changed while the read was on its way (`early` → `late`: a write of ours folded in). The read
/// may have been answered before that write landed; kept, its older value would make the write
/// look like a person's edit when the page is read next.
pub fn kept_cells(
    read: &BTreeMap<String, String>,
    early: Option<&BTreeMap<String, String>>,
    late: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let (Some(early), Some(late)) = (early, late) else {
        return read.clone();
    };
    (read.iter())
        .map(|(name, value)| match late.get(name) {
            Some(folded) if early.get(name) != Some(folded) => (name.clone(), folded.clone()),
            _ => (name.clone(), value.clone()),
        })
        .collect()
}

/// The inbox's dedupe key of a page read: the page, its edit time and what it holds. The same
/// state read twice (an event's read and a poll's, or a read again after a crash) is stored once.
pub fn dedupe_key(page: &Page, cells: &BTreeMap<String, String>) -> String {
    let text = serde_json::to_string(cells).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let state = if page.in_trash { "trash" } else { "live" };
    format!(
        "{}:{}:{state}:{hash}",
        compact_id(&page.id),
        page.last_edited_time.timestamp_millis()
    )
}

/// A page the tracker says is deleted, with no read (the event says so explicitly).
pub fn deleted(page_id: &str, at: DateTime<Utc>) -> RecordChangeEvent {
    RecordChangeEvent {
        record_id: compact_id(page_id),
        kind: RecordChangeKind::Destroyed,
        source: "notion".to_owned(),
        timestamp: at,
        changed: BTreeMap::new(),
        unchanged: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(author: &str, name: &str, status: &str, in_trash: bool) -> Page {
        serde_json::from_value(json!({
            "id": "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809", "created_time": "2026-01-05T10:05:00Z",
            "last_edited_time": "2026-01-05T10:06:00Z",
            "last_edited_by": {"id": "u1", "type": author}, "in_trash": in_trash,
            "properties": {
                "Name": {"type": "title", "title": [{"plain_text": name}]},
                "Status": {"type": "select", "select": {"name": status}}
            }
        }))
        .expect("a page")
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_page_never_read_is_a_created_record_seen_whole() {
        let read = page_read(
            &page("person", "Ada", "New", false),
            false,
            &[],
            false,
            t("2026-01-05T10:06:31Z"),
        );
        let change = read.change.expect("a change");
        assert_eq!(change.kind, RecordChangeKind::Created);
        assert_eq!(change.record_id, "1a2b3c4d5e6f708192a3b4c5d6e7f809");
        assert_eq!(change.changed.len(), 2);
        assert_eq!(change.source, "person");
        assert_eq!(
            change.timestamp,
            t("2026-01-05T10:06:31Z"),
            "the event's time, not the rounded one"
        );
    }

    #[test]
    fn a_read_page_changes_only_by_what_differs_from_its_snapshot() {
        let old = page_cells(&page("person", "Ada", "New", false));
        let p = page("bot", "Ada", "Won", false);
        let read = page_read(&p, true, &[&old], false, t("2026-01-05T10:00:00Z"));
        let change = read.change.expect("a change");
        assert_eq!(change.kind, RecordChangeKind::Changed);
        assert_eq!(
            change.changed,
            BTreeMap::from([("Status".into(), "Won".into())])
        );
        assert_eq!(
            change.unchanged,
            BTreeMap::from([("Name".into(), "Ada".into())])
        );
        assert!(
            !change.by_api(),
            "our bot edited the page last, yet what differs from the snapshot is not ours"
        );
        assert_eq!(
            change.timestamp, p.last_edited_time,
            "never before the page's edit time"
        );
        let same = page_read(&p, true, &[&read.cells], false, t("2026-01-05T10:07:00Z"));
        assert_eq!(same.change, None, "nothing changed since the last read");
        let restored = page_read(&p, true, &[&read.cells], true, t("2026-01-05T10:07:00Z"));
        let restored = restored.change.expect("whole");
        assert_eq!(restored.kind, RecordChangeKind::Created);
        assert!(
            restored.by_api(),
            "a page our bot made may be a create of ours"
        );
    }

    #[test]
    fn a_trashed_page_is_a_destroyed_record_and_keys_tell_states_apart() {
        let trashed = page("person", "Ada", "New", true);
        let read = page_read(&trashed, false, &[], false, t("2026-01-05T10:00:00Z"));
        assert_eq!(read.change.expect("gone").kind, RecordChangeKind::Destroyed);
        let live = page("person", "Ada", "New", false);
        let cells = page_cells(&live);
        assert_ne!(dedupe_key(&live, &cells), dedupe_key(&trashed, &cells));
        let other = page_cells(&page("person", "Ada", "Won", false));
        assert_ne!(dedupe_key(&live, &cells), dedupe_key(&live, &other));
        assert_eq!(dedupe_key(&live, &cells), dedupe_key(&live, &cells.clone()));
    }
}
