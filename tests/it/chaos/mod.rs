//! The seeded chaos test: from each seed, a random history of user edits on both sides, API
//! faults (errors, 429s, resets, lost answers), held, dropped, duplicated and reordered
//! webhook deliveries, restarts and reconciliations; then the faults stop, the daemon is
//! left to settle, and the end state must meet every invariant (see `oracle`).
//!
//! `.ci/run` plays [`SEEDS`] and [`REGRESSIONS`] and gates on them. A seed replays its choices,
//! not the daemon's timing, so a seed that fails is played once more: the gate fails on a seed
//! that fails twice running, and a seed that failed once is reported in full, as
//! timing-dependent (the long runs count every failure). A failing seed prints the command that
//! replays it:
//! `LEADSYNC_CHAOS_SEED=<seed> cargo test --locked --test it chaos::replay -- --ignored --nocapture`.
//! A longer run, outside `cargo test`'s default set:
//! `LEADSYNC_CHAOS_SEEDS=1000..1300 cargo test --release --locked --test it chaos::many -- --ignored --nocapture`.

mod airtable;
mod common;
mod driver;
mod edits;
mod mirror;
mod notion;
mod oracle;
mod removals;
mod replicas;
mod runner;

use std::collections::HashMap;
use std::time::Instant;

use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::Faults;

use common::{QUIET, Second, admin_reconcile, card_view, writes};
use driver::{Driver, PAIR, col};
use oracle::{CardView, Field, RowView};

/// Seeds every CI run plays.
const SEEDS: std::ops::Range<u64> = 1..51;
/// Seeds that once found a bug; they stay (24, 35 and 40 did too, and are among `SEEDS`). A
/// history is drawn from its seed, but what the daemon does in it depends on timing: a seed
/// replays the kind of trouble that found the bug, not always the same interleaving.
const REGRESSIONS: &[u64] = &[12, 53, 57, 95, 141, 153, 194, 229, 273, 298, 335, 859, 2086];
/// Actions per history.
const STEPS: usize = 30;
/// Histories played at once (each has its own emulators and daemon), in a pool. A history
/// mostly waits (debounces, reconciliation intervals, settling), so two share the machine's
/// two cores; a seed replays its choices whatever runs beside it, only the timing differs,
/// which the second chance is for.
const AT_ONCE: usize = 4;

/// Plays one seed; `Err` holds the violations, the history and the replay command.
pub async fn run_seed(seed: u64) -> Result<(), String> {
    let started = Instant::now();
    let world = World::start(WorldOptions {
        debounce_ms: 100,
        ..WorldOptions::default()
    })
    .await
    .map_err(|e| format!("seed {seed}: the world did not start: {e:#}"))?;
    let mut d = Driver::new(world, seed);
    let outcome = play_and_check(&mut d).await;
    let _ = d.w.stop_app().await;
    let replay = format!(
        "LEADSYNC_CHAOS_SEED={seed} cargo test --locked --test it chaos::replay -- --ignored --nocapture"
    );
    let title = format!("chaos seed {seed}");
    common::verdict(&title, started, &outcome, &d.log, &replay)
}

/// Plays a history, lets it settle and checks the end state; the violations found.
async fn play_and_check(d: &mut Driver) -> Vec<String> {
    match d.play(STEPS).await {
        Ok(()) => match quiesce(d).await {
            Ok(()) => violations(d).await,
            Err(e) => vec![format!("the daemon did not settle: {e:#}")],
        },
        Err(e) => vec![format!("the history could not be played: {e:#}")],
    }
}

/// Faults off, every held delivery and event sent, dead letters requeued (as an operator's
/// `POST /admin/reconcile` does), then two reconciliations; the second must write nothing.
async fn quiesce(d: &mut Driver) -> anyhow::Result<()> {
    d.w.trello.gate().set_faults(Faults::default());
    d.w.google.gate().set_faults(Faults::default());
    d.w.trello.hold_deliveries(false);
    for held in d.w.trello.take_held_deliveries() {
        d.w.trello.redeliver(held);
    }
    for _ in 0..20 {
        let events = std::mem::take(&mut d.unsent);
        if events.is_empty() {
            break;
        }
        for e in events {
            d.deliver_sheet_event(e).await;
        }
    }
    anyhow::ensure!(d.unsent.is_empty(), "sheet events still refused");
    d.w.settle(QUIET).await?;
    let target = d.target();
    admin_reconcile(&d.w, &target).await?;
    d.w.reconcile(QUIET).await?;
    let writes = || writes(&d.w);
    let before = writes();
    d.w.reconcile(QUIET).await?;
    anyhow::ensure!(
        writes() == before,
        "a reconciliation of settled sides still wrote {} time(s)",
        writes() - before
    );
    Ok(())
}

/// Every invariant of the end state, plus: no acknowledged event was lost or left undone.
async fn violations(d: &Driver) -> Vec<String> {
    let rows: Vec<RowView> =
        d.w.rows(PAIR)
            .into_iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
            .map(|(i, r)| RowView {
                row: i + 2,
                id: r[0].clone(),
                phone: r[3].clone(),
                values: Field::ALL
                    .iter()
                    .map(|f| (*f, r[col(*f)].clone()))
                    .collect(),
            })
            .collect();
    let cards: Vec<CardView> = d.w.cards(PAIR).iter().map(|c| card_view(&d.w, c)).collect();
    let mut bad = oracle::check(&d.history, &d.removed, &rows, &cards);
    let by_key: HashMap<String, Vec<String>> =
        d.w.rows(PAIR)
            .into_iter()
            .filter(|r| !r[driver::PHONE].is_empty())
            .map(|r| (r[driver::PHONE].clone(), r))
            .collect();
    let mut cards_by_key: HashMap<String, (usize, usize)> = HashMap::new();
    for c in &cards {
        let n = cards_by_key.entry(c.phone.clone()).or_default();
        if c.closed { n.1 += 1 } else { n.0 += 1 }
    }
    bad.extend(removals::check(&d.removed, &by_key, &cards_by_key));
    if !bad.is_empty() {
        bad.extend(lead_traces(d, &bad).await);
    }
    bad.extend(common::lost_events(&d.w, &d.acked).await);
    bad
}

/// What the daemon recorded of each lead a violation names, by its id or by the key (phone)
/// of its row or card.
async fn lead_traces(d: &Driver, bad: &[String]) -> Vec<String> {
    let words: Vec<&str> = bad
        .iter()
        .flat_map(|line| line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-')))
        .collect();
    let rows = d.w.rows(PAIR);
    let cards = d.w.cards(PAIR);
    let mut leads: Vec<String> = Vec::new();
    for w in &words {
        if w.len() == 13 && w.starts_with('L') || w.starts_with('U') && w.contains('n') {
            leads.push((*w).to_owned());
        } else if w.starts_with("+1-") {
            let ids = rows
                .iter()
                .filter(|r| r[driver::PHONE] == *w)
                .map(|r| r[0].clone());
            let markers = cards
                .iter()
                .map(|c| card_view(&d.w, c))
                .filter(|c| c.phone == *w)
                .filter_map(|c| c.marker);
            leads.extend(ids.chain(markers).filter(|id| !id.is_empty()));
        }
    }
    leads.sort();
    leads.dedup();
    common::traces(&d.w, leads).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: .ci/run plays it as a step of its own, and gates on it"]
async fn seeded_histories_end_with_no_duplicate_no_reverted_edit_and_nothing_lost() {
    let seeds: Vec<u64> = REGRESSIONS.iter().copied().chain(SEEDS).collect();
    common::run_many(seeds, AT_ONCE, Second::Chance, run_seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long run: LEADSYNC_CHAOS_SEEDS=a..b"]
async fn many() {
    let seeds = common::seeds_from_env("LEADSYNC_CHAOS_SEEDS");
    common::run_many(
        seeds.unwrap_or_else(|| (1000..1300).collect()),
        AT_ONCE,
        Second::None,
        run_seed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "replays LEADSYNC_CHAOS_SEED"]
async fn replay() {
    let seed: u64 = std::env::var("LEADSYNC_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("LEADSYNC_CHAOS_SEED=<seed>");
    crate::helpers::test_log();
    if let Err(report) = run_seed(seed).await {
        panic!("{report}");
    }
}
