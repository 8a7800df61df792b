//! Reconciliation as a pure function: from a full read of the sheet and the board plus the
//! stored links, the list of actions that makes both sides equal, planned a chunk of rows at a
//! time. `--dry-run` prints them; otherwise each chunk is applied in its own transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::config::OnRowDeleted;
use crate::connectors::trello::client::Card;
use crate::model::{Field, LeadId};
use crate::sync::context::PairContext;
use crate::sync::mapping::{ColumnMap, MissingColumns, split_description};
use crate::sync::merge::{LeadObservation, LeadState};
use crate::sync::observe::{RowObservation, observe_row};
use crate::sync::plan::commands::Command;
use crate::sync::plan::{LeadPlan, LinkView, plan_lead};
pub(crate) use crate::sync::reconcile::action::lead_action;
pub use crate::sync::reconcile::action::{Action, PlannedDecision};

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
    let mut planner = Planner::new(ctx, on_row_deleted, grid, cards, known, now)?;
    Ok(planner.finish())
}

/// A reconciliation planned a chunk of rows at a time, so that only one chunk's plans (a few
/// kilobytes per lead: decisions, next states, commands) are held at once: `rows` plans the
/// next rows of the sheet, `finish` what follows from all of them (rows gone, cards without a
/// row). Concatenated, the chunks are the one plan [`plan_reconcile`] makes.
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
    pub fn new(
        ctx: &'a PairContext,
        on_row_deleted: OnRowDeleted,
        grid: &'a [Vec<String>],
        cards: &'a [Card],
        known: &'a Known,
        now: DateTime<Utc>,
    ) -> Result<Self, MissingColumns> {
        let header = grid.first().map(Vec::as_slice).unwrap_or_default();
        let columns = ColumnMap::from_header(header, &ctx.columns)?;
        // An id leadsync gave a row may still be on its way there, and rows move (sorts,
        // insertions), so no row without an id can be told apart from that one: while any
        // lead this read does not show has commands on their way, rows without an id wait for
        // a later pass instead of getting a second id (and a second card).
        let ids_in_sheet = sheet_ids(&columns, grid);
        // An id shown somewhere is not enough: a write that landed on a row that moved under
        // it shows the id in another lead's row until the read-back check puts it where it
        // belongs.
        let ids_on_their_way = known.ids_unlanded
            || (known.links.values())
                .any(|l| known.unsent.contains(&l.lead_id) && !ids_in_sheet.contains(&l.lead_id));
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

    /// The actions of the next `count` rows of the sheet (fewer at its end).
    pub fn rows(&mut self, count: usize) -> Vec<Action> {
        let end = self.next.saturating_add(count).min(self.grid.len());
        for index in self.next..end {
            self.row(index);
        }
        self.next = end;
        std::mem::take(&mut self.pass.actions)
    }

    fn row(&mut self, index: usize) {
        let now = self.pass.now;
        let pass = &mut self.pass;
        let ctx = pass.ctx;
        let row = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let lead = self.columns.read_row(&self.grid[index]);
        if !lead.is_lead() {
            return;
        }
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
            pass.new_row(row, &observed);
        } else {
            pass.lead_row(row, &observed, sheet_url.as_deref());
        }
    }

    /// The rest of the plan, called once, after the last chunk of rows (rows not planned yet
    /// are planned first): rows that wait, rows gone from the sheet, cards without a row.
    pub fn finish(&mut self) -> Vec<Action> {
        let mut actions = self.rows(self.grid.len());
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

/// One pass over the sheet's rows: what it reads (the pair, the stored state and the board's
/// cards indexed by id and by marker) and the actions planned so far.
struct Pass<'a> {
    ctx: &'a PairContext,
    known: &'a Known,
    now: DateTime<Utc>,
    cards: &'a [Card],
    by_id: HashMap<&'a str, &'a Card>,
    by_marker: HashMap<String, &'a Card>,
    linked_cards: HashSet<&'a str>,
    /// Lead ids already planned, so a second row with one of them is left alone.
    seen: HashSet<String>,
    empty: LeadState,
    actions: Vec<Action>,
}

impl<'a> Pass<'a> {
    fn new(ctx: &'a PairContext, cards: &'a [Card], known: &'a Known, now: DateTime<Utc>) -> Self {
        let by_id: HashMap<&str, &Card> = cards.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut by_marker: HashMap<String, &Card> = HashMap::new();
        for card in cards {
            if let Some(lead) = split_description(&card.desc).1 {
                // Two cards with one marker: keep the open one, then the older (smaller id).
                let keep = match by_marker.get(lead.as_str()) {
                    Some(prev) => (card.closed, &card.id) < (prev.closed, &prev.id),
                    None => true,
                };
                if keep {
                    by_marker.insert(lead.to_string(), card);
                }
            }
        }
        let linked_cards: HashSet<&str> = known
            .links
            .values()
            .filter_map(|l| l.card_id.as_deref())
            .collect();
        Self {
            ctx,
            known,
            now,
            cards,
            by_id,
            by_marker,
            linked_cards,
            seen: HashSet::new(),
            empty: LeadState::new(),
            actions: Vec::new(),
        }
    }

    /// A row without an id: it gets a new one, written first, and the plan of a new lead.
    fn new_row(&mut self, row: u32, observed: &RowObservation) {
        let ctx = self.ctx;
        let id = LeadId::generate();
        self.actions.push(Action::LinkLead {
            lead_id: id.to_string(),
            card_id: None,
            card_short_url: None,
            row: Some(row),
            new_id_for_row: true,
        });
        let view = LinkView {
            lead_id: id.clone(),
            has_card: false,
            create_pending: false,
            card_closed: false,
            card_deleted: false,
            row_hint: Some(row),
            in_flight: Vec::new(),
        };
        let mut plan = plan_lead(
            ctx,
            &view,
            &self.empty,
            &observed.fields,
            &LeadObservation::new(),
            self.now,
        );
        // The id first: a row gone by the time it is written gets no card.
        plan.commands.insert(
            0,
            Command::WriteRow {
                lead_id: id.to_string(),
                row_hint: Some(row),
                expect_name: observed.lead.fields.get(Field::Name).map(str::to_owned),
                cells: BTreeMap::from([(ctx.settings.columns.id.clone(), id.to_string())]),
            },
        );
        self.actions
            .push(lead_action(self.ctx, id.as_str(), None, plan));
    }

    /// The row of a lead this read shows nowhere, read before the lead's id reached it (or
    /// typed again after it was deleted): it gets that lead's id, not a new lead.
    fn known_lead_row(&mut self, row: u32, observed: &RowObservation, lead: String) {
        let plan = LeadPlan {
            commands: vec![Command::WriteRow {
                lead_id: lead.clone(),
                row_hint: Some(row),
                expect_name: observed.lead.fields.get(Field::Name).map(str::to_owned),
                cells: BTreeMap::from([(self.ctx.settings.columns.id.clone(), lead.clone())]),
            }],
            ..LeadPlan::default()
        };
        self.actions.push(lead_action(self.ctx, &lead, None, plan));
    }

    /// A row with an id: the lead's card is found (by link, else by marker) and both sides are
    /// planned through the merge, as webhooks are.
    fn lead_row(&mut self, row: u32, observed: &RowObservation, sheet_url: Option<&str>) {
        let Some(id) = self.checked_id(row, &observed.lead.id) else {
            return;
        };
        let known = self.known;
        if known.absences.contains_key(id.as_str()) {
            self.actions.push(Action::RowSeen {
                lead_id: id.to_string(),
            });
        }
        if known.unsent.contains(id.as_str()) {
            return;
        }
        let (card, card_deleted) = self.card_of(&id, row);
        if let (Some(card), Some(link)) = (card, known.links.get(id.as_str()))
            && card.closed != link.card_closed
        {
            self.actions.push(Action::CardClosed {
                lead_id: id.to_string(),
                closed: card.closed,
            });
        }
        let trello = self.card_fields(card);
        let view = LinkView {
            lead_id: id.clone(),
            has_card: card.is_some(),
            create_pending: false,
            card_closed: card.is_some_and(|c| c.closed),
            card_deleted,
            row_hint: Some(row),
            in_flight: Vec::new(),
        };
        let state = known.states.get(id.as_str()).unwrap_or(&self.empty);
        let mut plan = plan_lead(self.ctx, &view, state, &observed.fields, &trello, self.now);
        if let (Some(card), Some(header)) = (card, &self.ctx.settings.columns.card)
            && sheet_url != Some(card.short_url.as_str())
        {
            plan.commands.push(Command::WriteRow {
                lead_id: id.to_string(),
                row_hint: Some(row),
                expect_name: None,
                cells: BTreeMap::from([(header.clone(), card.short_url.clone())]),
            });
        }
        let action = lead_action(self.ctx, id.as_str(), card.map(|c| c.id.as_str()), plan);
        self.actions.push(action);
    }

    /// The row's lead id, unless it is not one or an earlier row holds it (both warned about).
    fn checked_id(&mut self, row: u32, text: &str) -> Option<LeadId> {
        let Ok(id) = LeadId::parse(text) else {
            self.actions.push(Action::Warning {
                message: format!("row {row}: \"{text}\" is not a valid lead id; row left alone"),
            });
            return None;
        };
        if !self.seen.insert(id.to_string()) {
            self.actions.push(Action::Warning {
                message: format!(
                    "row {row}: lead id {id} appears twice; the later row is left alone"
                ),
            });
            return None;
        }
        Some(id)
    }

    /// The lead's card on the board, and whether its card is known to be deleted. Links a lead
    /// seen for the first time, notes a moved row, a deleted card and an adopted one.
    fn card_of(&mut self, id: &LeadId, row: u32) -> (Option<&'a Card>, bool) {
        let link = self.known.links.get(id.as_str());
        let mut card_deleted = self.known.deleted_cards.contains(id.as_str());
        let card: Option<&Card> = match link {
            None => {
                let card = self.by_marker.get(id.as_str()).copied();
                self.actions.push(Action::LinkLead {
                    lead_id: id.to_string(),
                    card_id: card.map(|c| c.id.clone()),
                    card_short_url: card.map(|c| c.short_url.clone()),
                    row: Some(row),
                    new_id_for_row: false,
                });
                card
            }
            Some(link) => {
                if link.row_hint != Some(i64::from(row)) {
                    self.actions.push(Action::RowHint {
                        lead_id: id.to_string(),
                        row,
                    });
                }
                match link.card_id.as_deref() {
                    Some(card_id) => match self.by_id.get(card_id) {
                        Some(card) => Some(*card),
                        None => {
                            self.actions.push(Action::CardDeleted {
                                lead_id: id.to_string(),
                                card_id: card_id.to_owned(),
                            });
                            card_deleted = true;
                            None
                        }
                    },
                    None if !card_deleted => self.adopted(id),
                    None => None,
                }
            }
        };
        (card, card_deleted)
    }

    /// A create whose answer was lost: the card carries our marker and no link names it.
    fn adopted(&mut self, id: &LeadId) -> Option<&'a Card> {
        let adopted = self
            .by_marker
            .get(id.as_str())
            .copied()
            .filter(|c| !self.linked_cards.contains(c.id.as_str()));
        if let Some(card) = adopted {
            self.actions.push(Action::AdoptCard {
                lead_id: id.to_string(),
                card_id: card.id.clone(),
                card_short_url: card.short_url.clone(),
            });
        }
        adopted
    }

    /// What the card shows, as the merge's observation of the Trello side.
    fn card_fields(&mut self, card: Option<&Card>) -> LeadObservation {
        match card {
            Some(card) => {
                let archived_at = self.known.archived_at.get(&card.id).copied();
                let (fields, _, unmapped) = card_observation(self.ctx, card, archived_at, self.now);
                if let Some(list) = unmapped.filter(|_| !card.closed) {
                    self.actions.push(Action::Warning { message: format!("card {} is in list \"{list}\" which has no status; its status is left alone", card.id) });
                }
                fields
            }
            None => LeadObservation::new(),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_archive;
#[cfg(test)]
mod tests_reads;
