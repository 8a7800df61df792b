//! A page read (or a deletion) stored: compared with what the page was known to hold inside the
//! transaction that keeps its snapshot, so no write of ours can be folded in between the
//! comparison and the keeping.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::connectors::notion::client::{Page, compact_id};
use crate::connectors::notion::feed::FeedError;
use crate::connectors::notion::feed::convert::{dedupe_key, deleted, kept_cells, page_read};
use crate::connectors::notion::feed::dating::{Window, earliest};
use crate::connectors::notion::source::page_cells;
use crate::inbound::{RecordChangeEvent, Source};
use crate::model::Field;
use crate::store::notion as stored;
use crate::store::{StoreError, Tx, inbox, lead_state, links};
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

type Cells = BTreeMap<String, String>;

/// What one page read (or a deletion) means for a pair.
pub(super) struct PageChange {
    pub pair: String,
    /// The page id, compact (the lead id).
    pub page_id: String,
    pub what: What,
    /// The inbox's dedupe key, when not the page's state ([`dedupe_key`]).
    pub key: Option<String>,
}

pub(super) enum What {
    /// A page Notion says is deleted, unread: the change to store.
    Gone(RecordChangeEvent),
    /// A page read. `by_us`: leadsync's bot edited it last; `early`: its snapshot as it was
    /// before the read (`None`: none, or not taken); `whole`: seen as a new record (restored
    /// from the trash); `when`: the change's time.
    Read {
        page: Box<Page>,
        by_us: bool,
        early: Option<Cells>,
        whole: bool,
        when: When,
    },
}

/// When a read's change was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// Known: the time of the events that named the page.
    At(DateTime<Utc>),
    /// Found by a poll: somewhere in the window, dated by `dating.rs`.
    Polled(Window),
}

impl PageChange {
    /// A page Notion says is deleted: no read, the snapshot forgotten.
    pub fn gone(pair: String, page_id: &str, at: DateTime<Utc>) -> Self {
        Self {
            pair,
            page_id: compact_id(page_id),
            what: What::Gone(deleted(page_id, at)),
            key: None,
        }
    }

    /// A page read; `bot`: the integration's bot user id (compact).
    pub fn read(
        pair: &str,
        page: &Page,
        bot: &str,
        early: Option<Cells>,
        whole: bool,
        when: When,
    ) -> Self {
        Self {
            pair: pair.to_owned(),
            page_id: compact_id(&page.id),
            what: What::Read {
                page: Box::new(page.clone()),
                by_us: compact_id(&page.last_edited_by.id) == bot,
                early,
                whole,
                when,
            },
            key: None,
        }
    }
}

/// The change in the inbox (if the read shows one) and the page's snapshot kept (forgotten for
/// a page gone, so a page restored later is read whole); answers whether an event was stored.
pub(super) async fn store_change(
    tx: &mut Tx,
    ctx: Option<&PairContext>,
    c: &PageChange,
) -> Result<usize, FeedError> {
    let (change, key) = match &c.what {
        What::Gone(event) => {
            stored::forget_page(&mut **tx, &c.pair, &c.page_id).await?;
            let at = event.timestamp.timestamp_millis();
            let key = (c.key.clone()).unwrap_or_else(|| format!("{}:deleted:{at}", c.page_id));
            (event.clone(), key)
        }
        What::Read {
            page,
            by_us,
            early,
            whole,
            when,
        } => {
            let late = stored::page_snapshot(&mut **tx, &c.pair, &c.page_id).await?;
            let mut baselines: Vec<&Cells> = early.iter().chain(late.iter()).collect();
            let linked = match (baselines.is_empty() && !whole, ctx) {
                (true, Some(ctx)) => linked_baselines(tx, ctx, &c.page_id, page).await?,
                _ => Vec::new(),
            };
            baselines.extend(linked.iter());
            let meanwhile = folded_meanwhile(page, early.as_ref(), late.as_ref());
            if !meanwhile.is_empty() {
                baselines.push(&meanwhile);
            }
            let at = match when {
                When::At(at) => *at,
                When::Polled(window) => window.after,
            };
            let mut read = page_read(page, *by_us, &baselines, *whole, at);
            if let (When::Polled(window), Some(change)) = (when, read.change.as_mut()) {
                let at = earliest(tx, ctx, page, &c.page_id, &change.changed, *window).await?;
                change.timestamp = at.max(page.last_edited_time);
            }
            if page.in_trash {
                stored::forget_page(&mut **tx, &c.pair, &c.page_id).await?;
            } else {
                let keep = kept_cells(&read.cells, early.as_ref(), late.as_ref());
                let edited = page.last_edited_time.timestamp_millis();
                stored::set_page_snapshot(&mut **tx, &c.pair, &c.page_id, edited, &keep).await?;
            }
            let Some(change) = read.change else {
                return Ok(0);
            };
            let key = c
                .key
                .clone()
                .unwrap_or_else(|| dedupe_key(page, &read.cells));
            (change, key)
        }
    };
    let body =
        serde_json::to_vec(&change).map_err(|e| StoreError::from(sqlx::Error::Encode(e.into())))?;
    let new = inbox::insert_fetched(&mut **tx, Source::Notion, &key, &c.pair, &body).await?;
    Ok(usize::from(new.is_some()))
}

/// The properties a write of ours was folded into while the read was on its way (the snapshot
/// changed between `early` and `late`), as the read shows them: no edit. The read may have been
/// answered between two writes of ours to one property, showing the first, which neither
/// snapshot holds (the Notion chaos, seed 5 of a CI run: a poll read our older notes between
/// our two writes and copied them over the card's newer notes). The next read is compared with
/// what was folded (`kept_cells` keeps it), so a person's edit made meanwhile is found then.
fn folded_meanwhile(page: &Page, early: Option<&Cells>, late: Option<&Cells>) -> Cells {
    let (Some(early), Some(late)) = (early, late) else {
        return Cells::new();
    };
    (page_cells(page).into_iter())
        .filter(|(name, _)| early.get(name) != late.get(name))
        .collect()
}

/// What a page never read before is compared with when a lead is linked to it: the lead's
/// agreed values under the page's property names, and, for each property a write of ours still
/// on its way sets, what the page shows. Its lead was linked without the feed (by a
/// reconciliation's read), so its properties are known; taken whole, every one would be a
/// person's edit at the read's time, and old values would be copied over card edits made since
/// (the Notion chaos, seed 7: a page a reconciliation linked, first read for our write of its
/// card URL, had its old name copied over the card's rename). The agreed values already hold a
/// write not landed yet, whose property the page still shows as it was: no edit either (the
/// Notion chaos, seed 27: a Company typed on the card, read back at its old value before our
/// write of it landed, had the old value copied over it). Empty for a page no lead holds: it
/// is new.
async fn linked_baselines(
    tx: &mut Tx,
    ctx: &PairContext,
    page_id: &str,
    page: &Page,
) -> Result<Vec<Cells>, StoreError> {
    if links::get_by_lead(&mut **tx, &ctx.name, page_id)
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    let property = |header: &str| page.property_named(header);
    let states = lead_state::load_lead(&mut **tx, &ctx.name, page_id).await?;
    let mut agreed = Cells::new();
    for field in Field::ALL {
        let Some(state) = states.iter().find(|s| s.field == field.as_str()) else {
            continue;
        };
        if let Some(name) = property(ctx.header(field)) {
            agreed.insert(name.clone(), state.agreed_value.clone());
        }
    }
    let mut on_the_way = Cells::new();
    for payload in stored::unfinished_page_writes(&mut **tx, &ctx.name, page_id).await? {
        let Ok(Command::WriteRow { cells, .. }) = serde_json::from_str::<Command>(&payload) else {
            continue;
        };
        for header in cells.keys() {
            if let Some(name) = property(header) {
                on_the_way.insert(name.clone(), page.text(name).to_owned());
            }
        }
    }
    Ok(vec![agreed, on_the_way])
}
