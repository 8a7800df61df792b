//! The seed runner every chaos test shares: seeds played in a pool, a failing seed played once
//! more before it counts (the gates), every failure counted (the long runs).

use std::collections::{HashMap, VecDeque};

/// Whether a failing seed is played once more before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Second {
    /// Every failure counts (the long runs, which measure the rate).
    None,
    /// A seed replays its choices, not the daemon's timing: the gate counts a seed that fails
    /// twice running, and reports one that failed once, in full, as timing-dependent.
    Chance,
}

/// Plays `seeds`, `at_once` at a time (a pool: a seed starts as soon as one ends, so one slow
/// history does not hold the others back); fails with every failing seed's report.
pub async fn run_many<F, Fut>(seeds: Vec<u64>, at_once: usize, second: Second, run: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    crate::helpers::test_log();
    let total = seeds.len();
    let mut tally = Tally::default();
    // (seed, whether this is its second play)
    let mut queue: VecDeque<(u64, bool)> = seeds.into_iter().map(|s| (s, false)).collect();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < at_once.max(1) {
            let Some((seed, again)) = queue.pop_front() else {
                break;
            };
            // Spawned inside, so a panicking history is a failure of its seed, not of the pool.
            let played = tokio::spawn(run(seed));
            running.spawn(async move { (seed, again, failure(played.await)) });
        }
        let Some(ended) = running.join_next().await else {
            break;
        };
        let (seed, again, report) = ended.expect("the pool's own task does not panic");
        if let Some(replay) = tally.record(seed, again, report, second) {
            // The second play goes first, while its first report is fresh in the log.
            queue.push_front((replay, true));
        }
    }
    tally.finish(total);
}

/// What a run of seeds found so far.
#[derive(Default)]
struct Tally {
    failures: Vec<String>,
    once: Vec<u64>,
    first: HashMap<u64, String>,
}

impl Tally {
    /// Records one play; the seed to play once more, if its failure gets a second chance.
    fn record(
        &mut self,
        seed: u64,
        again: bool,
        report: Option<String>,
        second: Second,
    ) -> Option<u64> {
        let Some(report) = report else {
            if again {
                self.once.push(seed);
            }
            return None;
        };
        if again {
            eprintln!("seed {seed} failed again:\n{report}\n");
            let first = self.first.remove(&seed).unwrap_or_default();
            self.failures.push(first);
            return None;
        }
        // Printed at once too: a long run's first failure can be read while it goes on.
        eprintln!("{report}\n");
        if second == Second::None {
            self.failures.push(report);
            return None;
        }
        self.first.insert(seed, report);
        Some(seed)
    }

    fn finish(mut self, total: usize) {
        if !self.once.is_empty() {
            self.once.sort_unstable();
            eprintln!(
                "{} of {} seeds failed once and passed when played again (timing-dependent; \
                 their reports are above): {:?}",
                self.once.len(),
                total,
                self.once
            );
        }
        assert!(
            self.failures.is_empty(),
            "{} of {} seeds failed:\n\n{}",
            self.failures.len(),
            total,
            self.failures.join("\n\n")
        );
    }
}

/// The report of a seed that failed (or panicked); `None` when it met every invariant.
fn failure(played: Result<Result<(), String>, tokio::task::JoinError>) -> Option<String> {
    match played {
        Ok(Ok(())) => None,
        Ok(Err(report)) => Some(report),
        Err(panic) => Some(format!("a seed panicked: {panic}")),
    }
}

/// Seeds `a..b` from the variable `var`.
pub fn seeds_from_env(var: &str) -> Option<Vec<u64>> {
    let text = std::env::var(var).ok()?;
    let (a, b) = text.split_once("..")?;
    Some((a.trim().parse().ok()?..b.trim().parse().ok()?).collect())
}

#[cfg(test)]
mod second_chance {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{Second, run_many};

    /// A run where seed 2 fails its first `fails` plays, every other seed passes.
    fn flaky(fails: usize) -> impl Fn(u64) -> std::future::Ready<Result<(), String>> {
        let plays = Arc::new(AtomicUsize::new(0));
        move |seed| {
            let failed = seed == 2 && plays.fetch_add(1, Ordering::SeqCst) < fails;
            std::future::ready(if failed {
                Err("seed 2 broke".into())
            } else {
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_seed_that_fails_once_and_passes_when_played_again_does_not_fail_the_gate() {
        run_many(vec![1, 2, 3], 1, Second::Chance, flaky(1)).await;
    }

    #[tokio::test]
    #[should_panic(expected = "1 of 3 seeds failed")]
    async fn a_seed_that_fails_twice_running_fails_the_gate() {
        run_many(vec![1, 2, 3], 1, Second::Chance, flaky(2)).await;
    }

    /// Seed 1 ends only once seed 3 has started: played in fixed chunks of two ([1, 2], then
    /// [3]) it never would; in a pool, seed 3 takes seed 2's place when it ends.
    #[tokio::test]
    async fn a_slow_seed_does_not_hold_back_the_seeds_after_it() {
        let started = Arc::new(tokio::sync::Notify::new());
        let run = move |seed: u64| {
            let started = started.clone();
            Box::pin(async move {
                match seed {
                    1 => started.notified().await,
                    3 => started.notify_one(),
                    _ => {}
                }
                Ok(())
            }) as std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        };
        let pool = run_many(vec![1, 2, 3], 2, Second::Chance, run);
        tokio::time::timeout(std::time::Duration::from_secs(30), pool)
            .await
            .expect("seed 3 started while seed 1 was still running");
    }

    #[tokio::test]
    #[should_panic(expected = "1 of 3 seeds failed")]
    async fn a_long_run_counts_every_failure() {
        run_many(vec![1, 2, 3], 1, Second::None, flaky(1)).await;
    }
}
