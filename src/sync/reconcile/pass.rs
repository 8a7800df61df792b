//! One pass over the sheet's rows, row by row: a row's lead found (by id, by marker, or as a
//! known lead whose id never reached it) and planned through the merge, as webhooks are.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::model::board::Card;
use crate::model::{Field, LeadId};
use crate::sync::context::PairContext;
use crate::sync::mapping::{SheetLead, split_description};
use crate::sync::merge::{LeadObservation, LeadState};
use crate::sync::observe::RowObservation;
use crate::sync::plan::commands::Command;
use crate::sync::plan::{LeadPlan, LinkView, plan_lead};
use crate::sync::reconcile::action::{Action, lead_action};
use crate::sync::reconcile::read::{Known, card_observation};

/// One pass over the sheet's rows: what it reads (the pair, the stored state and the board's
/// cards indexed by id and by marker) and the actions planned so far.
pub(super) struct Pass<'a> {
    pub(super) ctx: &'a PairContext,
    pub(super) known: &'a Known,
    pub(super) now: DateTime<Utc>,
    pub(super) cards: &'a [Card],
    pub(super) by_id: HashMap<&'a str, &'a Card>,
    pub(super) by_marker: HashMap<String, &'a Card>,
    pub(super) linked_cards: HashSet<&'a str>,
    /// Lead ids already planned, so a second row with one of them is left alone.
    pub(super) seen: HashSet<String>,
    /// The agreed states of the leads of the chunk being planned.
    pub(super) chunk_states: HashMap<String, LeadState>,
    pub(super) empty: LeadState,
    pub(super) actions: Vec<Action>,
}

impl<'a> Pass<'a> {
    pub(super) fn new(
        ctx: &'a PairContext,
        cards: &'a [Card],
        known: &'a Known,
        now: DateTime<Utc>,
    ) -> Self {
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
            chunk_states: HashMap::new(),
            empty: LeadState::new(),
            actions: Vec::new(),
        }
    }

    /// A row without an id: it gets a new one, written first, and the plan of a new lead.
    /// `typed`: cells the write check emptied in this row, given back the values its event
    /// showed ([`Self::typed_blanks`]), written back after the id.
    pub(super) fn new_row(
        &mut self,
        row: u32,
        observed: &RowObservation,
        typed: &[(String, String, String)],
    ) {
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
        if !typed.is_empty() {
            // After the id: a write naming no expected name lands only on the row holding it.
            plan.commands.insert(
                1,
                Command::WriteRow {
                    lead_id: id.to_string(),
                    row_hint: Some(row),
                    expect_name: None,
                    cells: (typed.iter())
                        .map(|(_, h, v)| (h.clone(), v.clone()))
                        .collect(),
                },
            );
        }
        self.actions
            .push(lead_action(self.ctx, id.as_str(), None, plan));
        (self.actions).extend(
            typed
                .iter()
                .map(|(key, ..)| Action::BlankWrittenBack { key: key.clone() }),
        );
    }

    /// The cells of a row without an id that the write check emptied and whose event (set
    /// aside by the worker) showed what was typed there: set in `lead`, and returned as (blank's
    /// key, header, value). A blank whose cell already shows what was typed is only forgotten.
    pub(super) fn typed_blanks(&mut self, lead: &mut SheetLead) -> Vec<(String, String, String)> {
        let ctx = self.ctx;
        let values: HashMap<String, String> = (lead.fields.iter())
            .map(|(f, v)| (ctx.header(f).to_owned(), v.to_owned()))
            .collect();
        let mut out = Vec::new();
        for blank in self.known.blanks.iter().filter(|b| b.is_row(&values)) {
            let typed = blank.typed.clone().unwrap_or_default();
            let field = ctx.field_of_header(&blank.header);
            // The cell as read: empty (the check emptied it), or still what the misplaced write
            // put there (the check's put-back failed): either way not the person's, so what the
            // event showed goes there, an empty value too. Anything else was typed since.
            let shown = |f: Field| lead.fields.get(f).map_or("", str::trim).to_owned();
            let ours = |f: Field| shown(f).is_empty() || shown(f) == blank.written.trim();
            match field {
                Some(f) if blank.typed.is_some() && ours(f) && shown(f) != typed.trim() => {
                    lead.fields.set(f, typed.trim());
                    out.push((
                        blank.key.clone(),
                        blank.header.clone(),
                        typed.trim().to_owned(),
                    ));
                }
                _ => self.actions.push(Action::BlankWrittenBack {
                    key: blank.key.clone(),
                }),
            }
        }
        out
    }

    /// The row of a lead this read shows nowhere, read before the lead's id reached it (or
    /// typed again after it was deleted): it gets that lead's id, not a new lead.
    pub(super) fn known_lead_row(&mut self, row: u32, observed: &RowObservation, lead: String) {
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
    pub(super) fn lead_row(
        &mut self,
        row: u32,
        observed: &RowObservation,
        sheet_url: Option<&str>,
    ) {
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
        // A record its tracker deleted is back (a page restored from the trash): the card the
        // deletion archived is read as open, and opened.
        let reopened = card
            .filter(|c| c.closed && !known.links.contains_key(id.as_str()))
            .filter(|_| known.archived_by_deletion.contains(id.as_str()))
            .map(|c| Card {
                closed: false,
                ..c.clone()
            });
        let card = reopened.as_ref().or(card);
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
        let state = (self.chunk_states.get(id.as_str()))
            .or_else(|| known.states.get(id.as_str()))
            .unwrap_or(&self.empty);
        let mut plan = plan_lead(self.ctx, &view, state, &observed.fields, &trello, self.now);
        if let Some(open) = &reopened {
            plan.commands
                .insert(0, Command::unarchive(id.as_str(), &open.id));
            if self.ctx.tracker.assigns_ids() {
                let header = &self.ctx.settings.columns.id;
                plan.commands.push(Command::revived_id(header, id.as_str()));
            }
        }
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
