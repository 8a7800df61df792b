//! The mirrors' share of the inbox: due events of every mirror, grouped by link (a card and its
//! twin are one group), applied once the group has been quiet for `sync.debounce_ms`, then
//! marked done; a failed group is retried with a growing pause and parked after five attempts.

use std::collections::BTreeMap;

use crate::inbound::trello_event;
use crate::model::board::{BoardEvent, CardDetail};
use crate::store::inbox_work::{self, InboxEvent};
use crate::store::mirror_links::{self, MirrorSide};
use crate::store::{StoreError, now_ms};

use super::context::{BY_USER, CHECKLIST, CHECKLISTS, FIELDS, MirrorContext};
use super::reader::Reader;
use super::{Error, Mirrors, Times};

/// Events read per pass.
const BATCH: i64 = 32;
const MAX_ATTEMPTS: i64 = 5;

/// A card's events of one pass.
#[derive(Default)]
struct Group {
    ids: Vec<i64>,
    newest: i64,
    card: Option<(MirrorSide, String)>,
    times: Times,
    ours: bool,
}

impl Mirrors {
    /// One pass; answers how many events were finished.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let events = inbox_work::due_mirror_events(&self.db.pool, now, BATCH).await?;
        let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
        let mut finished = 0;
        for event in events {
            let Some(ctx) = self.mirrors.get(&event.pair) else {
                let why = format!("mirror {} is not configured", event.pair);
                inbox_work::fail(&self.db.pool, event.id, &why).await?;
                continue;
            };
            let Some((side, card_id, board_event)) = self.card_event(ctx, &event).await? else {
                finished += 1;
                continue;
            };
            let key = match mirror_links::by_card(&self.db.pool, &ctx.name, side, &card_id).await? {
                Some(link) => link.link_id,
                None => format!("{}:{card_id}", side.as_str()),
            };
            let group = groups.entry((ctx.name.clone(), key)).or_default();
            let ours = board_event.meta().member_creator_id == ctx.member_id;
            group.ours = if group.ids.is_empty() {
                ours
            } else {
                group.ours && ours
            };
            group.ids.push(event.id);
            group.newest = group.newest.max(event.received_at);
            group.card.get_or_insert((side, card_id));
            note_times(&mut group.times, side, &board_event, !ours);
        }
        let cutoff = now - i64::try_from(self.debounce.as_millis()).unwrap_or(i64::MAX);
        for ((mirror, _), group) in groups {
            if group.newest > cutoff {
                continue;
            }
            let ctx = &self.mirrors[&mirror];
            match self.apply(ctx, &group).await {
                Ok(()) => {
                    for id in &group.ids {
                        inbox_work::finish(&self.db.pool, *id).await?;
                    }
                    finished += group.ids.len();
                }
                Err(err) => {
                    tracing::warn!(mirror = %mirror, error = %err, "mirror events failed; retried later");
                    for id in &group.ids {
                        inbox_work::bump(&self.db.pool, *id, &err.to_string(), MAX_ATTEMPTS)
                            .await?;
                    }
                }
            }
        }
        Ok(finished)
    }

    /// The card an event is about, on which side; `None` (and the event finished, or failed when
    /// unreadable) for events a mirror does not act on.
    async fn card_event(
        &self,
        ctx: &MirrorContext,
        event: &InboxEvent,
    ) -> Result<Option<(MirrorSide, String, BoardEvent)>, StoreError> {
        let parsed = match trello_event::parse(&event.body) {
            Ok(parsed) => parsed,
            Err(err) => {
                inbox_work::fail(&self.db.pool, event.id, &err.to_string()).await?;
                return Ok(None);
            }
        };
        let meta = parsed.meta();
        let board = meta.board_id.as_deref().or(meta.model_id.as_deref());
        let side = board.and_then(|b| ctx.side_of_board(b));
        let relevant = matches!(
            parsed,
            BoardEvent::CreateCard { .. }
                | BoardEvent::UpdateCard { .. }
                | BoardEvent::DeleteCard { .. }
                | BoardEvent::CardDetail { .. }
        );
        match (side, parsed.card_id().map(str::to_owned)) {
            (Some(side), Some(card_id)) if relevant => Ok(Some((side, card_id, parsed))),
            _ => {
                inbox_work::finish(&self.db.pool, event.id).await?;
                Ok(None)
            }
        }
    }

    async fn apply(&self, ctx: &MirrorContext, group: &Group) -> Result<(), Error> {
        let Some((side, card_id)) = &group.card else {
            return Ok(());
        };
        let reader = Reader::live(std::sync::Arc::clone(&self.board));
        self.pass(ctx, *side, card_id, &reader, &group.times, group.ours)
            .await
    }
}

/// The fields an event shows changed, at the event's own time. A checklist change names its
/// checklists (each its own field); one that does not, or a card's creation, is noted for every
/// checklist (`CHECKLISTS`).
fn note_times(times: &mut Times, side: MirrorSide, event: &BoardEvent, user: bool) {
    let at = event.meta().date.timestamp_millis();
    let changed: Vec<String> = match event {
        BoardEvent::UpdateCard {
            old,
            list_before_id,
            ..
        } => {
            let fields = [
                ("name", old.name.is_some()),
                ("desc", old.desc.is_some()),
                ("list", old.list_id.is_some() || list_before_id.is_some()),
                ("closed", old.closed.is_some()),
                ("due", old.due.is_some() || old.due_complete.is_some()),
            ];
            (fields.iter())
                .filter(|(_, changed)| *changed)
                .map(|(field, _)| (*field).to_owned())
                .collect()
        }
        BoardEvent::CardDetail {
            detail: CardDetail::Labels,
            ..
        } => vec!["labels".to_owned()],
        BoardEvent::CardDetail {
            detail: CardDetail::Checklists,
            checklists,
            ..
        } if !checklists.is_empty() => (checklists.iter())
            .map(|name| format!("{CHECKLIST}{name}"))
            .collect(),
        BoardEvent::CardDetail {
            detail: CardDetail::Checklists,
            ..
        } => vec![CHECKLISTS.to_owned()],
        BoardEvent::DeleteCard { .. } => vec!["closed".to_owned()],
        _ => (FIELDS.iter().chain([&CHECKLISTS]))
            .map(|f| (*f).to_owned())
            .collect(),
    };
    let users = (changed.iter().filter(|_| user))
        .map(|f| format!("{BY_USER}{f}"))
        .collect::<Vec<_>>();
    for field in changed.into_iter().chain(users) {
        let slot = times.entry((side, field)).or_insert(at);
        *slot = (*slot).max(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::board::ActionMeta;

    fn checklist_event(at_ms: i64, checklists: &[&str]) -> BoardEvent {
        BoardEvent::CardDetail {
            meta: ActionMeta {
                action_id: format!("act-{at_ms}"),
                date: chrono::DateTime::from_timestamp_millis(at_ms).expect("a time"),
                member_creator_id: "m".into(),
                board_id: Some("b".into()),
                model_id: None,
            },
            card_id: "c".into(),
            detail: CardDetail::Checklists,
            checklists: checklists.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    #[test]
    fn a_checklist_change_is_noted_for_its_own_checklist_only() {
        let mut times = Times::new();
        note_times(
            &mut times,
            MirrorSide::A,
            &checklist_event(5, &["QA"]),
            false,
        );
        note_times(
            &mut times,
            MirrorSide::A,
            &checklist_event(9, &["Launch"]),
            false,
        );
        note_times(
            &mut times,
            MirrorSide::A,
            &checklist_event(7, &["QA"]),
            true,
        );
        let at = |times: &Times, f: &str| times.get(&(MirrorSide::A, f.to_owned())).copied();
        let lists = (at(&times, "checklist:QA"), at(&times, "checklist:Launch"));
        assert_eq!(lists, (Some(7), Some(9)));
        assert_eq!(at(&times, CHECKLISTS), None, "no change without a name");
        note_times(&mut times, MirrorSide::A, &checklist_event(3, &[]), false);
        assert_eq!(at(&times, CHECKLISTS), Some(3));
        // Only a user's change is noted as one.
        let by_user = (
            at(&times, "by-user:checklist:QA"),
            at(&times, "by-user:checklist:Launch"),
        );
        assert_eq!(by_user, (Some(7), None));
    }
}
