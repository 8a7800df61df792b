//! The seeded chaos test on an Airtable pair: from each seed, a random history of user edits
//! on a record table and a board (records made nameless and named later, every field edited
//! on both sides, cards made in Trello, archives and deletions), API faults on both emulators
//! (errors, 429s, resets, hangs, changes whose answer is lost), dropped, held, duplicated and
//! reordered Airtable notifications and Trello deliveries, a restart and reconciliations; then
//! the faults stop, the daemon settles, and the end state must meet every invariant (`oracle`).
//!
//! A failing seed prints the command that replays it:
//! `LEADSYNC_CHAOS_AIRTABLE_SEED=<seed> cargo test --locked --test it chaos::airtable::replay -- --ignored --nocapture`.
//! `.ci/run` gates on `seeded`: the regression seeds and seeds 1..21, a failing seed played once
//! more (see `chaos`). A run of many, every failure counted, outside `cargo test`'s default set
//! (`LEADSYNC_CHAOS_AIRTABLE_STEPS=n` for longer histories):
//! `LEADSYNC_CHAOS_AIRTABLE_SEEDS=1..51 cargo test --release --locked --test it chaos::airtable::many -- --ignored --nocapture`.

mod driver;
mod edits;
mod oracle;
mod removals;
pub mod tracker;

use std::time::Instant;

use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::Faults;

use super::common::{self, PAIR, QUIET, Second};
use driver::Driver;
use edits::FIELDS;
use oracle::{Card, End, RecordView};
use tracker::Tracker;

/// Actions per history, unless `LEADSYNC_CHAOS_AIRTABLE_STEPS` says otherwise.
const STEPS: usize = 40;

fn steps() -> usize {
    let set = std::env::var("LEADSYNC_CHAOS_AIRTABLE_STEPS").ok();
    set.and_then(|s| s.parse().ok()).unwrap_or(STEPS)
}
/// Seeds that once found a bug, with their steps; `many` plays them first. (81, 80): a
/// reconciliation re-planned a record's lead the worker had just linked, and the card's older
/// name was copied over the user's renames (fixed); played again, it also ended with a phone
/// back at an older value leadsync itself had written (not seen in the 10 replays since).
/// (16, 40): a person set a record's Status to the value the card had just been moved to,
/// while leadsync's writes of the card's two moves were queued; the change was dropped as a
/// cell a queued write replaces, and the card's earlier move back reverted it (fixed: a cell a
/// change sets is weighed by the merge, and setting the agreed value again makes it the latest).
/// (83, 40) and 81 again: a person set a record's Status while leadsync's copy of a card move
/// waited out Airtable's 30 s back-off; the copy landed over it, a reconciliation read the
/// record then, and the person's change, fetched after, was taken for old news (fixed: a set
/// cell our later write landed on is weighed, whatever a read showed since). (64, 40): a
/// record deleted while notifications were lost stayed unread, and its card open (fixed: each
/// reconciliation has the pair's change feeds read).
const REGRESSIONS: &[(u64, usize)] = &[(81, 80), (16, 40), (83, 40), (64, 40)];
/// Histories played at once (each has its own emulators and daemon).
const AT_ONCE: usize = 4;

/// Plays one seed of `steps` actions; `Err` holds the violations, the history and the replay
/// command.
pub async fn run_seed(seed: u64, steps: usize) -> Result<(), String> {
    run_seed_on(Tracker::Airtable, seed, steps).await
}

/// One seed on `tracker`'s pair (Notion's chaos plays its seeds with this too).
pub async fn run_seed_on(tracker: Tracker, seed: u64, steps: usize) -> Result<(), String> {
    let started = Instant::now();
    let world = World::start(WorldOptions {
        debounce_ms: 100,
        // Reconciliations of their own every 2 s race the worker and the dispatcher, as the
        // users' edits and the faults go on.
        reconcile_interval_secs: 2,
        tracker: tracker.kind(),
        // Notion: dropped events are found by polling too (Airtable's pair ignores it).
        notion_poll_secs: 2,
        ..WorldOptions::default()
    })
    .await
    .map_err(|e| format!("seed {seed}: the world did not start: {e:#}"))?;
    let mut d = Driver::new(world, seed, tracker);
    let outcome = match d.play(steps).await {
        Ok(()) => match quiesce(&mut d).await {
            Ok(()) => violations(&mut d).await,
            Err(e) => vec![format!("the daemon did not settle: {e:#}")],
        },
        Err(e) => vec![format!("the history could not be played: {e:#}")],
    };
    let _ = d.w.stop_app().await;
    let (name, var) = (tracker.name(), tracker.name().to_uppercase());
    let replay = format!(
        "LEADSYNC_CHAOS_{var}_SEED={seed} LEADSYNC_CHAOS_{var}_STEPS={steps} cargo test --locked --test it chaos::{name}::replay -- --ignored --nocapture"
    );
    let title = format!("chaos ({name}) seed {seed}");
    common::verdict(&title, started, &outcome, &d.log, &replay)
}

/// Faults off, every held delivery and notification sent, dead letters requeued (as an
/// operator's `POST /admin/reconcile` does), then two reconciliations; the second must write
/// nothing.
async fn quiesce(d: &mut Driver) -> anyhow::Result<()> {
    d.w.trello.gate().set_faults(Faults::default());
    d.tracker.gate(&d.w).set_faults(Faults::default());
    d.w.trello.hold_deliveries(false);
    for held in d.w.trello.take_held_deliveries() {
        d.w.trello.redeliver(held);
    }
    d.tracker.release_all(&d.w);
    d.w.settle(QUIET).await?;
    common::admin_reconcile(&d.w, &d.w.base_url()).await?;
    d.w.reconcile(QUIET).await?;
    let before = common::writes(&d.w);
    d.w.reconcile(QUIET).await?;
    let after = common::writes(&d.w);
    anyhow::ensure!(
        after == before,
        "a reconciliation of settled sides still wrote {} time(s)",
        after - before
    );
    Ok(())
}

/// Every invariant of the end state, plus: no acknowledged event was lost or left undone.
async fn violations(d: &mut Driver) -> Vec<String> {
    d.resolve();
    let records: Vec<RecordView> = (d.tracker.ids(&d.w).into_iter())
        .map(|id| RecordView {
            values: FIELDS
                .iter()
                .map(|f| (*f, d.record_text(&id, f.header())))
                .collect(),
            card_url: d.record_text(&id, "Trello Card"),
            lead_id: d.record_text(&id, "Lead ID"),
            id,
        })
        .collect();
    let cards: Vec<Card> = (d.w.cards(PAIR).iter())
        .map(|c| Card {
            view: common::card_view(&d.w, c),
            url: format!("https://trello.com/c/{}", c.short_link),
        })
        .collect();
    let mut bad = oracle::check(&End {
        history: &d.history,
        removed: &d.removed,
        leads: &d.leads,
        records: &records,
        cards: &cards,
    });
    if !bad.is_empty() {
        let mut leads: Vec<String> = (bad.iter())
            .flat_map(|line| line.split(|c: char| !c.is_ascii_alphanumeric()))
            .filter(|w| d.tracker.is_record_id(w))
            .map(str::to_owned)
            .collect();
        leads.sort();
        leads.dedup();
        bad.extend(common::traces(&d.w, leads).await);
    }
    bad.extend(common::lost_events(&d.w, &[]).await);
    bad.extend(unread_feeds(&d.w, d.tracker).await);
    bad
}

/// Every change of the tracker stored is done, every Airtable notification counted was read,
/// and every Notion event stored was read.
async fn unread_feeds(w: &World, tracker: Tracker) -> Vec<String> {
    let Some(state) = w.state() else {
        return vec!["the daemon is not running".into()];
    };
    let waiting: Vec<(String, String)> = sqlx::query_as(
        "SELECT dedupe_key, status FROM inbox WHERE source = $1 AND status <> 'done'",
    )
    .bind(tracker.name())
    .fetch_all(&state.db.pool)
    .await
    .unwrap_or_default();
    let feeds: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT id, pinged, fetched FROM tracker_webhooks WHERE pinged > fetched")
            .fetch_all(&state.db.pool)
            .await
            .unwrap_or_default();
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT id, kind FROM notion_events WHERE done = 0")
            .fetch_all(&state.db.pool)
            .await
            .unwrap_or_default();
    let name = tracker.name();
    let mut bad: Vec<String> = (waiting.into_iter())
        .map(|(key, status)| format!("{name} change {key} is {status} in the inbox"))
        .collect();
    bad.extend(
        (events.into_iter()).map(|(id, kind)| format!("notion event {id} ({kind}) is unread")),
    );
    bad.extend(feeds.into_iter().map(|(id, pinged, fetched)| {
        format!("webhook {id} was pinged {pinged} times, its feed read up to {fetched}")
    }));
    bad
}

pub(super) fn seeds_played(var: &str) -> Vec<u64> {
    common::seeds_from_env(var).unwrap_or_else(|| (1..21).collect())
}

/// The regression seeds, then `LEADSYNC_CHAOS_AIRTABLE_SEEDS` (1..21 by default), each once.
async fn play(second: Second) {
    let mut seeds: Vec<u64> = REGRESSIONS.iter().map(|(s, _)| *s).collect();
    seeds.extend(seeds_played("LEADSYNC_CHAOS_AIRTABLE_SEEDS"));
    let mut seen = std::collections::HashSet::new();
    seeds.retain(|s| seen.insert(*s));
    let steps = steps();
    let steps_of = move |seed: u64| {
        let found = REGRESSIONS.iter().find(|(s, _)| *s == seed);
        found.map_or(steps, |(_, n)| *n)
    };
    common::run_many(seeds, AT_ONCE, second, move |s| run_seed(s, steps_of(s))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: .ci/run plays it as a step of its own, and gates on it"]
async fn seeded() {
    play(Second::Chance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long run, every failure counted: LEADSYNC_CHAOS_AIRTABLE_SEEDS=a..b"]
async fn many() {
    play(Second::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "replays LEADSYNC_CHAOS_AIRTABLE_SEED"]
async fn replay() {
    crate::helpers::test_log();
    let seed: u64 = std::env::var("LEADSYNC_CHAOS_AIRTABLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("LEADSYNC_CHAOS_AIRTABLE_SEED=<seed>");
    if let Err(report) = run_seed(seed, steps()).await {
        panic!("{report}");
    }
}

/// One short history in the normal suite: records, cards and faults enough that a duplicate
/// card or record, or a lost edit, shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_seeded_airtable_history_ends_with_no_duplicate_and_no_reverted_edit() {
    crate::helpers::test_log();
    if let Err(report) = run_seed(SHORT_SEED, 12).await {
        panic!("{report}");
    }
}

/// A seed whose 12 steps make records and three cards in Trello (each to become one record),
/// edit both sides and inject Trello faults (no Airtable 429s: each costs the client 30 s).
const SHORT_SEED: u64 = 5;
