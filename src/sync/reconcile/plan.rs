//! Reconciliation as a pure function: from a full read of the sheet and the board plus the
//! stored links, the list of actions that makes both sides equal, planned a chunk of rows at a
//! time. `--dry-run` prints them; otherwise each chunk is applied in its own transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::config::OnRowDeleted;
use crate::model::board::Card;
use crate::sync::context::PairContext;
use crate::sync::mapping::{ColumnMap, MissingColumns};
use crate::sync::merge::LeadState;
use crate::sync::observe::observe_row;
pub use crate::sync::reconcile::action::{Action, PlannedDecision};
use crate::sync::reconcile::pass::Pass;

pub use crate::sync::reconcile::read::{Known, ROW_GONE_AFTER_MS, card_observation};

/// The lead ids a read of the sheet shows (row 1 = headers).
pub fn sheet_ids(columns: &ColumnMap, grid: &[Vec<String>]) -> HashSet<String> {
    grid.iter()
        .skip(1)
        .map(|c| columns.read_row(c).id)
        .filter(|id| !id.is_empty())
        .collect()
}

/// Plans a full reconciliation of one pair at once (the dry run): every chunk a [`Planner`]
/// plans, in order. `grid` is the whole sheet (row 1 = headers).
pub fn plan_reconcile(
    ctx: &PairContext,
    on_row_deleted: OnRowDeleted,
    grid: &[Vec<String>],
    cards: &[Card],
    known: &Known,
    now: DateTime<Utc>,
) -> Result<Vec<Action>, MissingColumns> {
    let header = grid.first().map(Vec::as_slice).unwrap_or_default();
    let shown = sheet_ids(&ColumnMap::from_header(header, &ctx.columns)?, grid);
    let mut planner = Planner::new(ctx, on_row_deleted, grid, cards, known, now, shown)?;
    Ok(planner.finish())
}

/// A reconciliation planned a chunk of rows at a time, so that only one chunk's plans (a few
/// kilobytes per lead: decisions, next states, commands) and agreed states are held at once:
/// `rows` plans the next rows of the sheet with their leads' states (`next_ids` names them),
/// `finish` what follows from all of them (rows gone, cards without a row). Concatenated, the
/// chunks are the one plan [`plan_reconcile`] makes.
pub struct Planner<'a> {
    pass: Pass<'a>,
    on_row_deleted: OnRowDeleted,
    grid: &'a [Vec<String>],
    columns: ColumnMap,
    /// The grid index of the next row to plan (0 = headers).
    next: usize,
    ids_in_sheet: HashSet<String>,
    ids_on_their_way: bool,
    rows_waiting: usize,
}

impl<'a> Planner<'a> {
    /// `shown`: the lead ids of the grid ([`sheet_ids`]).
    pub fn new(
        ctx: &'a PairContext,
        on_row_deleted: OnRowDeleted,
        grid: &'a [Vec<String>],
        cards: &'a [Card],
        known: &'a Known,
        now: DateTime<Utc>,
        ids_in_sheet: HashSet<String>,
    ) -> Result<Self, MissingColumns> {
        let header = grid.first().map(Vec::as_slice).unwrap_or_default();
        let columns = ColumnMap::from_header(header, &ctx.columns)?;
        // An id leadsync gave a row may still be on its way there, and rows move (sorts,
        // insertions), so no row without an id can be told apart from that one: while any
        // lead this read does not show has commands on their way, rows without an id wait for
        // a later pass instead of getting a second id (and a second card).
        // An id shown somewhere is not enough: a write that landed on a row that moved under
        // it shows the id in another lead's row until the read-back check puts it where it
        // belongs.
        let ids_on_their_way = known.ids_unlanded
            || (known.links.values())
                .any(|l| known.sending.contains(&l.lead_id) && !ids_in_sheet.contains(&l.lead_id));
        Ok(Self {
            pass: Pass::new(ctx, cards, known, now),
            on_row_deleted,
            grid,
            columns,
            next: 1,
            ids_in_sheet,
            ids_on_their_way,
            rows_waiting: 0,
        })
    }

    /// The lead ids the sheet's read shows.
    pub fn shown(&self) -> &HashSet<String> {
        &self.ids_in_sheet
    }

    /// Whether rows are left to plan.
    pub fn rows_left(&self) -> bool {
        self.next < self.grid.len()
    }

    /// The lead ids the next `count` rows show.
    pub fn next_ids(&self, count: usize) -> Vec<String> {
        let end = self.next.saturating_add(count).min(self.grid.len());
        (self.grid[self.next..end].iter())
            .map(|cells| self.columns.read_row(cells).id)
            .filter(|id| !id.is_empty())
            .collect()
    }

    /// The actions of the next `count` rows of the sheet (fewer at its end), planned with
    /// `states`, the agreed states of their leads (those of [`Known::states`] stand in for a
    /// lead not in it).
    pub fn rows(&mut self, count: usize, states: HashMap<String, LeadState>) -> Vec<Action> {
        self.pass.chunk_states = states;
        let end = self.next.saturating_add(count).min(self.grid.len());
        for index in self.next..end {
            self.row(index);
        }
        self.next = end;
        self.pass.chunk_states = HashMap::new();
        std::mem::take(&mut self.pass.actions)
    }

    fn row(&mut self, index: usize) {
        let now = self.pass.now;
        let pass = &mut self.pass;
        let ctx = pass.ctx;
        let row = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let mut lead = self.columns.read_row(&self.grid[index]);
        if !lead.is_lead() {
            return;
        }
        // What a person typed in cells a misplaced write emptied, told by the row's event.
        let typed = match lead.id.is_empty() && !self.ids_on_their_way {
            true => pass.typed_blanks(&mut lead),
            false => Vec::new(),
        };
        let mut warnings = Vec::new();
        let sheet_url = lead.card_url.clone();
        let observed = observe_row(ctx, row, lead, Some(now), &mut warnings);
        pass.actions.extend(
            warnings
                .into_iter()
                .map(|message| Action::Warning { message }),
        );
        // A record the tracker made for a lead whose create is still on its way has an id
        // no lead holds yet: it waits for its lead, like a row whose id is on its way.
        let unheld = ctx.tracker.assigns_ids() && !pass.known.links.contains_key(&observed.lead.id);
        if (observed.lead.id.is_empty() || unheld) && self.ids_on_their_way {
            self.rows_waiting += 1;
        } else if observed.lead.id.is_empty()
            && let Some(lead) = pass
                .known
                .lead_showing(&observed.fields, &self.ids_in_sheet)
        {
            pass.known_lead_row(row, &observed, lead);
        } else if observed.lead.id.is_empty() {
            pass.new_row(row, &observed, &typed);
        } else {
            pass.lead_row(row, &observed, sheet_url.as_deref());
        }
    }

    /// The rest of the plan, called once, after the last chunk of rows (rows not planned yet
    /// are planned first): rows that wait, rows gone from the sheet, cards without a row.
    pub fn finish(&mut self) -> Vec<Action> {
        let mut actions = self.rows(self.grid.len(), HashMap::new());
        if self.rows_waiting > 0 {
            actions.push(Action::Warning {
                message: format!(
                    "{} row(s) without an id wait for the next reconciliation: an id \
                     leadsync gave a row is still on its way to the sheet",
                    self.rows_waiting
                ),
            });
        }
        let (p, deleted) = (&self.pass, self.on_row_deleted);
        let (ctx, now) = (p.ctx, p.now);
        super::rows::missing_rows(ctx, deleted, p.known, &p.seen, &p.by_id, now, &mut actions);
        super::rows::new_cards(ctx, p.cards, &p.linked_cards, now, &mut actions);
        actions
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_archive;
#[cfg(test)]
mod tests_chunks;
#[cfg(test)]
mod tests_reads;
