//! Notion tracker commands of the dispatcher: each WriteRow an update of its page's properties
//! (the lead id is the page id), each AppendRow a page created under the pair's data source.
//! Notion takes one page per call, so the batch is sent a call at a time under the integration's
//! 3 calls per second. A create whose answer was lost is found again (by the card URL, else the
//! lead id in the id property) before it is tried again: a second POST would make a second page.

use std::collections::BTreeMap;

use crate::clients::http::ClientError;
use crate::connectors::notion::client::{
    DataSource, NotionClient, Page, Properties, PropertyValue, compact_id,
};
use crate::connectors::notion::source::{Sources, cell, is_page_id, page_cells, property};
use crate::store::dispatch_support::note_outcome_unknown;
use crate::store::notion as stored;
use crate::store::{Db, StoreError, links};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::outbox::follow_up;
use crate::sync::plan::commands::Command;

const CREATE_NOTE: &str = "create_page sent; its outcome is unknown until Notion answers";

/// Sends the tracker commands of one Notion pair; one outcome per command, in order.
pub async fn send_batch(
    sources: &Sources,
    ctx: &PairContext,
    batch: &[Claimed],
    db: &Db,
) -> Result<Vec<Outcome>, StoreError> {
    let mut ds = match sources.get(&ctx.settings).await {
        Ok(ds) => ds,
        Err(e) => return Ok(batch.iter().map(|_| Outcome::failed(&e)).collect()),
    };
    let mut out = Vec::with_capacity(batch.len());
    for claimed in batch {
        let cells = match &claimed.cmd {
            Command::WriteRow { cells, .. } | Command::AppendRow { cells, .. } => cells,
            other => {
                let why = format!("a {} command reached the Notion sender", other.kind());
                out.push(Outcome::Invalid(why));
                continue;
            }
        };
        // A property added since the data source was read (`check --fix`, or by hand).
        if missing(ctx, &ds, cells).is_some()
            && let Ok(fresh) = sources.refresh(&ctx.settings).await
        {
            ds = fresh;
        }
        if let Some(header) = missing(ctx, &ds, cells) {
            out.push(Outcome::Invalid(format!(
                "property \"{header}\" is missing from the Notion data source of pair {} (add \
                 it, or run `leadsync check --fix`)",
                ctx.name
            )));
            continue;
        }
        let client = sources.client();
        let outcome = match &claimed.cmd {
            Command::AppendRow { lead_id, .. } => {
                create(client, ctx, db, &ds, claimed, lead_id, cells).await?
            }
            _ => update(client, ctx, db, &ds, claimed, cells).await?,
        };
        out.push(outcome);
    }
    Ok(out)
}

/// The first header the data source has no property for (the id column is optional).
fn missing<'a>(
    ctx: &PairContext,
    ds: &DataSource,
    cells: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    (cells.keys())
        .filter(|h| !same(h, &ctx.columns.id))
        .find(|h| property(ds, h).is_none())
        .map(String::as_str)
}

/// The cells as the page's properties, typed by the data source. An empty value clears its
/// property, or is left out of a create.
fn properties(ds: &DataSource, cells: &BTreeMap<String, String>, create: bool) -> Properties {
    let mut out = Properties::new();
    for (header, value) in cells {
        let Some(p) = property(ds, header) else {
            continue;
        };
        if create && value.trim().is_empty() {
            continue;
        }
        out.insert(p.name.clone(), PropertyValue::new(p.kind.clone(), value));
    }
    out
}

async fn update(
    client: &NotionClient,
    ctx: &PairContext,
    db: &Db,
    ds: &DataSource,
    claimed: &Claimed,
    cells: &BTreeMap<String, String>,
) -> Result<Outcome, StoreError> {
    let lead_id = claimed.cmd.lead_id();
    // A lead's id is its page's once the page exists; before, there is nothing to write.
    if !is_page_id(lead_id) {
        return Ok(Outcome::skipped(format!(
            "lead {lead_id} has no Notion page (its create has not landed); nothing written"
        )));
    }
    let mut props = properties(ds, cells, false);
    if props.is_empty() {
        return Ok(Outcome::skipped(
            "the write names no property of the data source",
        ));
    }
    // CONTRACT §7: when the id property exists, leadsync writes the lead id there too.
    if let Some(p) = property(ds, &ctx.columns.id) {
        props
            .entry(p.name.clone())
            .or_insert_with(|| PropertyValue::new(p.kind.clone(), lead_id));
    }
    Ok(match client.update_page(lead_id, &props).await {
        Ok(page) => {
            // What we set is no one's edit when the page is read next (`merge_page_snapshot`).
            let written: BTreeMap<String, String> = (page_cells(&page).into_iter())
                .filter(|(name, _)| props.contains_key(name))
                .collect();
            let page_id = compact_id(lead_id);
            stored::merge_page_snapshot(&db.pool, &ctx.name, &page_id, &written).await?;
            Outcome::sent(FollowUp::default())
        }
        Err(e) if page_gone(&e) => {
            let id_write = matches!(
                &claimed.cmd,
                Command::WriteRow {
                    expect_name: Some(_),
                    ..
                }
            );
            Outcome::Done {
                follow: FollowUp {
                    abandon: id_write,
                    ..FollowUp::default()
                },
                skipped: Some(format!(
                    "the page of lead {lead_id} is gone from Notion (deleted or in the trash); \
                     nothing written"
                )),
            }
        }
        Err(e) => Outcome::failed(&e),
    })
}

/// The answer says the page is not there or is in the trash.
pub fn page_gone(e: &ClientError) -> bool {
    match e {
        ClientError::NotFound { .. } => true,
        ClientError::BadRequest { message, .. } => message.contains("archived"),
        _ => false,
    }
}

async fn create(
    client: &NotionClient,
    ctx: &PairContext,
    db: &Db,
    ds: &DataSource,
    claimed: &Claimed,
    lead_id: &str,
    cells: &BTreeMap<String, String>,
) -> Result<Outcome, StoreError> {
    let mut props = properties(ds, cells, true);
    let id_prop = property(ds, &ctx.columns.id);
    if let Some(p) = id_prop {
        // The lead's id stays findable in the page until the page's own id replaces it.
        props.insert(p.name.clone(), PropertyValue::new(p.kind.clone(), lead_id));
    }
    let card = (ctx.columns.card.as_deref()).and_then(|h| {
        let p = property(ds, h)?;
        let url = cells.iter().find(|(k, _)| same(k, h))?.1;
        (!url.trim().is_empty()).then(|| (p.name.clone(), url.clone()))
    });
    let probe = card.or_else(|| id_prop.map(|p| (p.name.clone(), lead_id.to_owned())));
    let row = &claimed.row;
    if row.attempts > 0 || row.last_error.is_some() {
        match made_before(client, ctx, ds, lead_id, probe.as_ref()).await {
            Ok(Some(page)) => {
                tracing::info!(pair = %ctx.name, lead_id, page_id = %page.id,
                    "adopting the page an earlier create made");
                return created(ctx, db, claimed, id_prop.is_some(), &page).await;
            }
            Ok(None) => {}
            Err(e) => return Ok(Outcome::failed(&e)),
        }
    }
    note_outcome_unknown(&db.pool, row.id, CREATE_NOTE).await?;
    match client.create_page(&ds.id, &props).await {
        Ok(page) => created(ctx, db, claimed, id_prop.is_some(), &page).await,
        Err(e) => Ok(Outcome::failed(&e)),
    }
}

/// The page an earlier try of this create made, found by its probe (property, value) among the
/// data source's pages. Without a probe the page cannot be told from others: it is created again
/// (said in the log).
async fn made_before(
    client: &NotionClient,
    ctx: &PairContext,
    ds: &DataSource,
    lead_id: &str,
    probe: Option<&(String, String)>,
) -> Result<Option<Page>, ClientError> {
    let Some((name, value)) = probe else {
        tracing::warn!(pair = %ctx.name, lead_id,
            "creating a page again after an unknown outcome: the pair maps neither a card \
             property nor an id property to find the first one by, so it may now exist twice");
        return Ok(None);
    };
    let pages = client.query_data_source(&ds.id, None).await?;
    Ok(pages
        .into_iter()
        .find(|p| !p.in_trash && cell(p, name).trim() == value.trim()))
}

/// A page made for the lead: the lead takes the page's id (when the create is recorded), its
/// card is marked with that id, and the id property (if the data source has one) gets it too.
async fn created(
    ctx: &PairContext,
    db: &Db,
    claimed: &Claimed,
    writes_id: bool,
    page: &Page,
) -> Result<Outcome, StoreError> {
    let page_id = compact_id(&page.id);
    // What the create set is leadsync's, not the edit of whoever edits the page next: without a
    // snapshot, the page's first read would take every property for a person's edit at the
    // read's time, and copy the create's values over card edits made since (the Notion chaos,
    // seed 4: a user's card renamed right after its page was made got its old name back).
    let edited = page.last_edited_time.timestamp_millis();
    stored::keep_created_page(&db.pool, &ctx.name, &page_id, edited, &page_cells(page)).await?;
    let link = links::get_by_lead(&db.pool, &ctx.name, claimed.cmd.lead_id()).await?;
    let mut commands = Vec::new();
    if let Some(card_id) = link.and_then(|l| l.card_id) {
        let mark = Command::MarkCard {
            lead_id: page_id.clone(),
            card_id,
        };
        commands.push(("mark-page", mark));
    }
    if writes_id {
        let id = Command::WriteRow {
            lead_id: page_id.clone(),
            row_hint: None,
            expect_name: None,
            cells: [(ctx.columns.id.clone(), page_id.clone())].into(),
        };
        commands.push(("page-id", id));
    }
    let mut follow = FollowUp {
        renamed: Some(page_id),
        ..FollowUp::default()
    };
    for (purpose, cmd) in commands {
        match follow_up(&claimed.row, purpose, &cmd, ctx.tracker) {
            Ok(cmd) => follow.enqueue.push(cmd),
            Err(e) => return Ok(Outcome::Invalid(e)),
        }
    }
    Ok(Outcome::sent(follow))
}

fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}
