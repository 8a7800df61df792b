//! The record tracker a chaos history plays on: Airtable's table or Notion's data source. The
//! users' record operations, the record reads of the end state, and the disturbances of the
//! tracker's notifications, as the driver, edits, removals and checks need them, so one driver
//! and one oracle serve both. A Notion "record" is a page (its compact id is the lead id), its
//! deletion the trash, from which a page can come back.

use leadsync::connectors::airtable::sandbox::AirtableSandbox;
use leadsync::connectors::notion::client::compact_id;
use leadsync::connectors::notion::sandbox::NotionSandbox;
use leadsync::demo::world::World;
use leadsync::demo::world::airtable::TABLE;
use leadsync::model::TrackerKind;
use leadsync::sandbox::common::Gate;
use rand::rngs::StdRng;

use super::super::common::{self, PAIR};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracker {
    Airtable,
    Notion,
}

fn err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

impl Tracker {
    pub fn kind(self) -> TrackerKind {
        match self {
            Tracker::Airtable => TrackerKind::Airtable,
            Tracker::Notion => TrackerKind::Notion,
        }
    }

    /// The name in the log, the inbox's `source` and the replay's variables.
    pub fn name(self) -> &'static str {
        self.kind().as_str()
    }

    /// A word of a violation line that is one of this tracker's record ids.
    pub fn is_record_id(self, word: &str) -> bool {
        match self {
            Tracker::Airtable => word.len() == 17 && word.starts_with("rec"),
            Tracker::Notion => word.len() == 32 && word.bytes().all(|b| b.is_ascii_hexdigit()),
        }
    }

    fn at(w: &World) -> &AirtableSandbox {
        w.airtable.as_ref().expect("an Airtable world")
    }

    fn nt(w: &World) -> &NotionSandbox {
        w.notion.as_ref().expect("a Notion world")
    }

    fn base(w: &World) -> String {
        let table = w.pair(PAIR).table.as_ref();
        table.map(|t| t.base_id.clone()).unwrap_or_default()
    }

    fn data_source(w: &World) -> String {
        let db = w.pair(PAIR).database.as_ref();
        db.map(|d| d.data_source_id.clone()).unwrap_or_default()
    }

    /// A record made by a person; answers its id (the lead id).
    pub fn create(self, w: &World, values: &[(&str, &str)]) -> anyhow::Result<String> {
        match self {
            Tracker::Airtable => {
                (Self::at(w).user_create_record(&Self::base(w), TABLE, values)).map_err(err)
            }
            Tracker::Notion => (Self::nt(w).user_create_page(&Self::data_source(w), values))
                .map(|id| compact_id(&id))
                .map_err(err),
        }
    }

    pub fn update(self, w: &World, id: &str, header: &str, value: &str) -> anyhow::Result<()> {
        let values = [(header, value)];
        match self {
            Tracker::Airtable => {
                (Self::at(w).user_update_record(&Self::base(w), TABLE, id, &values)).map_err(err)
            }
            Tracker::Notion => Self::nt(w).user_update_page(id, &values).map_err(err),
        }
    }

    /// Airtable: the record deleted; Notion: the page moved to the trash.
    pub fn delete(self, w: &World, id: &str) -> anyhow::Result<()> {
        match self {
            Tracker::Airtable => {
                (Self::at(w).user_delete_record(&Self::base(w), TABLE, id)).map_err(err)
            }
            Tracker::Notion => Self::nt(w).user_trash_page(id, true).map_err(err),
        }
    }

    /// A deleted record back: Notion's restore from the trash (Airtable has none).
    pub fn restore(self, w: &World, id: &str) -> anyhow::Result<()> {
        match self {
            Tracker::Airtable => anyhow::bail!("an Airtable record never comes back"),
            Tracker::Notion => Self::nt(w).user_trash_page(id, false).map_err(err),
        }
    }

    /// The live records' ids (Notion: the pages not in the trash), in creation order.
    pub fn ids(self, w: &World) -> Vec<String> {
        match self {
            Tracker::Airtable => (Self::at(w).records(&Self::base(w), TABLE).into_iter())
                .map(|r| r.id)
                .collect(),
            Tracker::Notion => (Self::nt(w).pages(&Self::data_source(w)).into_iter())
                .filter(|p| !p["in_trash"].as_bool().unwrap_or(false))
                .filter_map(|p| p["id"].as_str().map(compact_id))
                .collect(),
        }
    }

    /// A record's field as plain text ("" when empty or absent).
    pub fn text(self, w: &World, id: &str, header: &str) -> String {
        match self {
            Tracker::Airtable => {
                let fields = Self::at(w).record_fields(&Self::base(w), TABLE, id);
                let value = fields.as_ref().and_then(|f| f.get(header));
                value
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            }
            Tracker::Notion => crate::e2e_notion::prop(w, id, header),
        }
    }

    pub fn gate(self, w: &World) -> &Gate {
        match self {
            Tracker::Airtable => Self::at(w).gate(),
            Tracker::Notion => Self::nt(w).gate(),
        }
    }

    /// Holds the tracker's notifications (Airtable's pings, Notion's events) from now on.
    pub fn hold(self, w: &World, hold: bool) {
        match self {
            Tracker::Airtable => Self::at(w).hold_notifications(hold),
            Tracker::Notion => Self::nt(w).hold_deliveries(hold),
        }
    }

    /// Drops the tracker's notifications from now on.
    pub fn drop_notes(self, w: &World, drop: bool) {
        match self {
            Tracker::Airtable => Self::at(w).drop_notifications(drop),
            Tracker::Notion => Self::nt(w).drop_deliveries(drop),
        }
    }

    /// The held notifications sent shuffled, some twice, some never: (held, never sent).
    pub fn release(self, w: &World, rng: &mut StdRng) -> (usize, usize) {
        match self {
            Tracker::Airtable => {
                let at = Self::at(w);
                let held = at.take_held_notifications();
                let n = held.len();
                (n, common::release_shuffled(rng, held, |h| at.renotify(h)))
            }
            Tracker::Notion => {
                let nt = Self::nt(w);
                let held = nt.take_held();
                let n = held.len();
                (n, common::release_shuffled(rng, held, |h| nt.redeliver(h)))
            }
        }
    }

    /// The end of the disturbances: nothing held or dropped, every held notification sent.
    pub fn release_all(self, w: &World) {
        self.hold(w, false);
        self.drop_notes(w, false);
        match self {
            Tracker::Airtable => {
                let at = Self::at(w);
                at.take_held_notifications()
                    .into_iter()
                    .for_each(|h| at.renotify(h));
            }
            Tracker::Notion => {
                let nt = Self::nt(w);
                nt.take_held().into_iter().for_each(|h| nt.redeliver(h));
            }
        }
    }
}
