//! What a reconciliation reads, as the planner takes it: the stored state of a pair, and each
//! card of the board as an observation of the merge.

use crate::store::sheet_blanks::SheetBlank;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::model::board::Card;
use crate::model::{Field, LeadId};
use crate::store::links::Link;
use crate::sync::context::PairContext;
use crate::sync::mapping::{CardInput, card_fields};
use crate::sync::merge::{LeadObservation, LeadState, Observed};
use crate::sync::observe::resemblance;

/// A row must be missing from reads at least this far apart before it counts as deleted.
pub const ROW_GONE_AFTER_MS: i64 = 60_000;

/// What the database knows of a pair, loaded before planning.
#[derive(Debug, Default)]
pub struct Known {
    pub links: HashMap<String, Link>,
    /// Agreed states by lead. The reconciler loads those of the leads its sheet read does not
    /// show (a row without an id may be one of them, see `lead_showing`) and hands the planner
    /// each chunk's own with the chunk, so that 10 000 leads' states are never held at once.
    pub states: HashMap<String, LeadState>,
    /// Leads with commands still on their way: their other side may be stale, so skip them.
    pub unsent: HashSet<String>,
    /// Of `unsent`, the leads with commands pending or in flight, not only dead-lettered: a
    /// dead letter is sent again only once requeued, so it holds back no row without an id.
    pub sending: HashSet<String>,
    /// An id leadsync gave a row has not been seen in its row yet and its write is still to
    /// be sent (again): the read may show it in a row it landed on by mistake (rows moved
    /// under the write), which is no proof that the lead's own row has it.
    pub ids_unlanded: bool,
    /// Leads whose id leadsync gave a row lately and never saw land, and whose id writes are
    /// all done: their row was not found where the id was sent (it was renamed, say, while
    /// the write was on its way). A row without an id that is theirs but for one cell gets
    /// their id back, not a second lead and card.
    pub unplaced: HashSet<String>,
    pub deleted_cards: HashSet<String>,
    /// Leads whose record its tracker deleted (their links tombstoned) and whose card that
    /// deletion archived: a read showing the record again revives the lead and unarchives it.
    pub archived_by_deletion: HashSet<String>,
    /// Lead -> first time a full read missed its row (unix ms).
    pub absences: HashMap<String, i64>,
    /// Card id -> when Trello says it was archived, for cards found closed whose link says
    /// open (an archive whose webhook never came): the archive's own time, not the read's.
    pub archived_at: HashMap<String, DateTime<Utc>>,
    /// Cells the write check emptied in rows typed without an id whose events the worker set
    /// aside for a reconciliation, with what those events showed there (`typed`): a new lead
    /// made from such a row takes that value and writes it back.
    pub blanks: Vec<SheetBlank>,
}

impl Known {
    /// The one lead, not shown by this read, whose agreed name a row without an id shows and
    /// with which it agrees on every field filled on both; or, for a lead whose id never
    /// reached its row (`unplaced`), that differs in at most one field filled on both (one
    /// edit changes one cell) and agrees on at least two.
    pub fn lead_showing(
        &self,
        shown: &LeadObservation,
        ids_in_sheet: &HashSet<String>,
    ) -> Option<String> {
        let agree = |lead: &String, state: &LeadState| {
            let r = resemblance(state, shown);
            (r.same_name && r.differing == 0)
                || (self.unplaced.contains(lead) && r.differing <= 1 && r.agreeing >= 2)
        };
        let mut found = self
            .links
            .keys()
            .filter(|l| !ids_in_sheet.contains(*l))
            .filter(|l| self.states.get(*l).is_some_and(|s| agree(l, s)));
        match (found.next(), found.next()) {
            (Some(lead), None) => Some(lead.clone()),
            _ => None,
        }
    }
}

/// Reads a card as the merge sees it, observed `now` (reconciliation has no change times),
/// except an archive whose time Trello told (`archived_at`): the merge orders that one against
/// the agreed status, so an archive older than a later status set in the sheet loses to it.
pub fn card_observation(
    ctx: &PairContext,
    card: &Card,
    archived_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (LeadObservation, Option<LeadId>, Option<String>) {
    let custom: Vec<(String, String)> = card
        .custom_texts
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let read = card_fields(
        CardInput {
            name: &card.name,
            desc: &card.desc,
            list_id: &card.list_id,
            custom_fields: &custom,
        },
        &ctx.board,
        &ctx.statuses,
    );
    let mut fields: LeadObservation = read
        .fields
        .iter()
        .map(|(f, v)| (f, Observed::user(v, Some(now))))
        .collect();
    if card.closed
        && let Some(status) = &ctx.archived_status
    {
        let at = archived_at.unwrap_or(now);
        fields.insert(Field::Status, Observed::user(status.clone(), Some(at)));
    }
    (fields, read.lead_id, read.unmapped_list)
}

/// When Trello archived each card this read finds closed while its link says open: an archive
/// leadsync never heard of, whose time the merge needs (see `card_observation`). One `fetch`
/// per such card, so only a handful; a failed one leaves that archive timed by the read, as
/// before, rather than failing the reconciliation.
pub async fn archive_times<F, Fut, E>(
    cards: &[Card],
    known: &Known,
    fetch: F,
) -> HashMap<String, DateTime<Utc>>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<DateTime<Utc>>, E>>,
    E: std::fmt::Display,
{
    let closed = |id: &str| cards.iter().any(|c| c.id == id && c.closed);
    let missed: Vec<String> = known
        .links
        .values()
        .filter(|l| !l.card_closed && !known.unsent.contains(&l.lead_id))
        .filter_map(|l| l.card_id.clone())
        .filter(|id| closed(id))
        .collect();
    let mut times = HashMap::new();
    for card_id in missed {
        match fetch(card_id.clone()).await {
            Ok(Some(at)) => {
                times.insert(card_id, at);
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(card = %card_id, error = %err,
                "reading when a card was archived failed; the read's time stands in"),
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::merge::{Agreed, FieldState};
    use crate::sync::test_support::t;

    fn known(leads: &[(&str, &[(Field, &str)])]) -> Known {
        let mut k = Known::default();
        for (lead, fields) in leads {
            let link = Link {
                lead_id: (*lead).to_owned(),
                ..Link::default()
            };
            k.links.insert((*lead).to_owned(), link);
            let state = fields
                .iter()
                .map(|(f, v)| {
                    let agreed = Some(Agreed::new(*v, t(0), None));
                    (
                        *f,
                        FieldState {
                            agreed,
                            ..FieldState::default()
                        },
                    )
                })
                .collect();
            k.states.insert((*lead).to_owned(), state);
        }
        k
    }

    fn row(fields: &[(Field, &str)]) -> LeadObservation {
        fields
            .iter()
            .map(|(f, v)| (*f, Observed::user(*v, Some(t(5)))))
            .collect()
    }

    #[test]
    fn a_row_without_an_id_is_the_one_unseen_lead_it_shows() {
        let k = known(&[
            ("L1", &[(Field::Name, "Ada"), (Field::Email, "a@x.io")]),
            ("L2", &[(Field::Name, "Bo")]),
        ]);
        let none = HashSet::new();
        let ada = row(&[
            (Field::Name, "Ada"),
            (Field::Email, "a@x.io"),
            (Field::Notes, "new"),
        ]);
        assert_eq!(k.lead_showing(&ada, &none).as_deref(), Some("L1"));
        // Shown elsewhere in the read: this row is another one with the same content.
        let shown = HashSet::from(["L1".to_owned()]);
        assert_eq!(k.lead_showing(&ada, &shown), None);
        // A filled field that differs: another lead of the same name.
        let other = row(&[(Field::Name, "Ada"), (Field::Email, "b@x.io")]);
        assert_eq!(k.lead_showing(&other, &none), None);
        // Two unseen leads it could be: neither.
        let twins = known(&[
            ("L1", &[(Field::Name, "Bo")]),
            ("L2", &[(Field::Name, "Bo")]),
        ]);
        assert_eq!(
            twins.lead_showing(&row(&[(Field::Name, "Bo")]), &none),
            None
        );
    }

    #[test]
    fn a_renamed_row_is_the_lead_whose_id_never_reached_it_if_all_else_agrees() {
        let fields: &[(Field, &str)] = &[
            (Field::Name, "Eve"),
            (Field::Phone, "+1-7"),
            (Field::Company, "Acme"),
            (Field::Status, "New"),
        ];
        let mut k = known(&[("L1", fields)]);
        let none = HashSet::new();
        let renamed = row(&[
            (Field::Name, "Fay"),
            (Field::Phone, "+1-7"),
            (Field::Company, "Acme"),
            (Field::Status, "New"),
        ]);
        // Any lead: a row with another name is another lead.
        assert_eq!(k.lead_showing(&renamed, &none), None);
        // A lead whose id never reached its row (it was renamed while the id was on its way).
        k.unplaced.insert("L1".into());
        assert_eq!(k.lead_showing(&renamed, &none).as_deref(), Some("L1"));
        // Two cells changed, or too little in common: not that row.
        let retyped = row(&[
            (Field::Name, "Fay"),
            (Field::Phone, "+1-8"),
            (Field::Company, "Acme"),
        ]);
        assert_eq!(k.lead_showing(&retyped, &none), None);
        let thin = row(&[(Field::Name, "Fay"), (Field::Status, "New")]);
        assert_eq!(k.lead_showing(&thin, &none), None);
    }

    #[tokio::test]
    async fn archive_times_are_asked_only_for_missed_archives_and_a_failure_is_left_out() {
        let mut k = Known::default();
        let mut cards = Vec::new();
        // (lead, card, card closed on the board, link says closed)
        for (lead, card, closed, link_closed) in [
            ("L1", "c1", true, false),
            ("L2", "c2", true, true),
            ("L3", "c3", true, false),
            ("L4", "c4", false, false),
            ("L5", "c5", true, false),
        ] {
            let link = Link {
                lead_id: lead.to_owned(),
                card_id: Some(card.to_owned()),
                card_closed: link_closed,
                ..Link::default()
            };
            k.links.insert(lead.to_owned(), link);
            let mut c = crate::sync::test_support::card(card, lead, "", "l-new");
            c.closed = closed;
            cards.push(c);
        }
        k.unsent.insert("L5".to_owned());
        let asked = std::sync::Mutex::new(Vec::new());
        let times = archive_times(&cards, &k, |card: String| {
            asked.lock().expect("lock").push(card.clone());
            async move {
                match card.as_str() {
                    "c3" => Err("HTTP 500"),
                    _ => Ok(Some(t(3))),
                }
            }
        })
        .await;
        let mut asked = asked.into_inner().expect("lock");
        asked.sort();
        assert_eq!(
            asked,
            ["c1", "c3"],
            "only closed cards whose link says open"
        );
        assert_eq!(times, HashMap::from([("c1".to_owned(), t(3))]));
    }
}
