//! The Sheets pair chaos with the daemon as two replicas on one fresh PostgreSQL database
//! (CONTRACT §9): Apps Script events, Trello deliveries (through a balancer in front of the
//! callback URL), restarts and `POST /admin/reconcile` reach either replica, drawn from the seed,
//! so leadership hands over mid-history. Same driver, same quiescence, same oracle as the
//! one-daemon chaos (`chaos::run_seed`); this module is only the driver's seam: which replica
//! gets a request, and restarting replica i. Needs `LEADSYNC_TEST_PG_URL` (skipped loudly).
//!
//! `LEADSYNC_CHAOS_SEED=<seed> cargo test --locked --test it chaos::replicas::replay -- --ignored --nocapture`;
//! `LEADSYNC_CHAOS_REPLICAS_SEEDS=1..11 cargo test --locked --test it chaos::replicas::seeded -- --ignored --nocapture`;
//! `LEADSYNC_CHAOS_SHOW=1` prints every history (its requests per replica, who leads), passing too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadsync::demo::world::replica::Replica;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::http::AppState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::common::{self, Second};
use super::driver::Driver;

/// How many daemons share the database.
const REPLICAS: usize = 2;
/// Seeds the gate plays when `LEADSYNC_CHAOS_REPLICAS_SEEDS` does not say.
const SEEDS: std::ops::Range<u64> = 1..11;
/// Histories played at once: each has two daemons, so fewer than the one-daemon chaos.
const AT_ONCE: usize = 3;

/// The replicas of one history: replica 0 is the world's own daemon (at the public URL the
/// webhooks are registered and signed for), the others serve on ports of their own.
pub struct Cluster {
    /// Replicas 1.., each `None` while it restarts.
    others: Vec<Option<Replica>>,
    /// The base URL of each replica that is up now, by index: what the balancer picks from.
    live: Arc<Mutex<Vec<Option<String>>>>,
    /// Requests (Apps Script events, Trello delivery attempts, admin reconciles) each got.
    hits: Arc<Vec<AtomicUsize>>,
}

impl Cluster {
    /// The world's daemon and `REPLICAS - 1` more; Trello's deliveries balanced across those
    /// that are up, at random from `seed` (each attempt, a retry too, picks again).
    async fn start(w: &World, seed: u64, log: &mut Vec<String>) -> anyhow::Result<Self> {
        let mut others = Vec::new();
        let mut live = vec![Some(w.base_url())];
        for _ in 1..REPLICAS {
            let replica = start_replica(w, log).await?;
            live.push(Some(replica.base_url.clone()));
            others.push(Some(replica));
        }
        let live = Arc::new(Mutex::new(live));
        let hits: Arc<Vec<AtomicUsize>> =
            Arc::new((0..REPLICAS).map(|_| AtomicUsize::new(0)).collect());
        let (public, up, count) = (w.base_url(), Arc::clone(&live), Arc::clone(&hits));
        let rng = Mutex::new(StdRng::seed_from_u64(seed ^ 0xba1a));
        w.trello.route_deliveries(Some(Arc::new(move |url: &str| {
            let up: Vec<(usize, String)> = (lock(&up).iter().enumerate())
                .filter_map(|(i, b)| Some((i, b.clone()?)))
                .collect();
            if up.is_empty() {
                return url.to_owned();
            }
            let (i, base) = &up[lock(&rng).random_range(0..up.len())];
            count[*i].fetch_add(1, Ordering::Relaxed);
            url.replacen(&public, base, 1)
        })));
        Ok(Self { others, live, hits })
    }

    /// How many requests each replica got, and which leads now: a line of the history.
    pub fn summary(&self, w: &World) -> String {
        let hits: Vec<usize> = self
            .hits
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect();
        let leads: Vec<bool> = (0..self.len()).map(|i| self.leads(w, i)).collect();
        format!("requests per replica {hits:?}; leading now {leads:?}")
    }

    fn state<'a>(&'a self, w: &'a World, i: usize) -> Option<&'a AppState> {
        match i {
            0 => w.state(),
            _ => self.others[i - 1].as_ref().map(|r| &r.state),
        }
    }

    fn leads(&self, w: &World, i: usize) -> bool {
        (self.state(w, i).and_then(|s| s.engine.as_ref())).is_some_and(|e| e.is_leader())
    }

    pub fn len(&self) -> usize {
        self.others.len() + 1
    }

    /// The base URL of replica `i` (the world's public URL for 0).
    pub fn base_url(&self, w: &World, i: usize) -> String {
        self.hits[i].fetch_add(1, Ordering::Relaxed);
        lock(&self.live)[i].clone().unwrap_or_else(|| w.base_url())
    }

    /// Replica `i` stopped gracefully and started again (on a new port, for i > 0); the
    /// balancer sends nothing its way meanwhile.
    pub async fn restart(
        &mut self,
        w: &mut World,
        i: usize,
        log: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let led = self.leads(w, i);
        log.push(format!("restart replica {i} (leading: {led})"));
        lock(&self.live)[i] = None;
        if i == 0 {
            w.stop_app().await?;
            common::start(w, log).await?;
            lock(&self.live)[0] = Some(w.base_url());
            return Ok(());
        }
        if let Some(replica) = self.others[i - 1].take() {
            replica.stop().await?;
        }
        let replica = start_replica(w, log).await?;
        lock(&self.live)[i] = Some(replica.base_url.clone());
        self.others[i - 1] = Some(replica);
        Ok(())
    }

    /// A reconciliation asked of replica `i`'s engine (a standby hands it to the leader).
    pub fn reconcile(&self, w: &World, i: usize, log: &mut Vec<String>) {
        log.push(format!(
            "reconcile on replica {i} (leading: {})",
            self.leads(w, i)
        ));
        if let Some(engine) = self.state(w, i).and_then(|s| s.engine.as_ref()) {
            engine.request_reconcile(None);
        }
    }

    async fn stop(self) {
        for replica in self.others.into_iter().flatten() {
            let _ = replica.stop().await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One more replica, started again (bounded) while the APIs' faults fail its start-up.
async fn start_replica(w: &World, log: &mut Vec<String>) -> anyhow::Result<Replica> {
    let mut last = None;
    for _ in 0..20 {
        match w.start_replica().await {
            Ok(replica) => return Ok(replica),
            Err(e) => {
                log.push(format!("replica start failed: {e:#}"));
                last = Some(e);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("the replica did not start")))
}

/// Plays one seed with two replicas on a fresh database; `Err` holds the report.
async fn run_seed(seed: u64) -> Result<(), String> {
    let started = Instant::now();
    let url = crate::postgres::fresh_database("chaos::replicas")
        .await
        .ok_or_else(|| "LEADSYNC_TEST_PG_URL is not set".to_owned())?;
    let world = World::start(WorldOptions {
        debounce_ms: 100,
        database_url: Some(url),
        ..WorldOptions::default()
    })
    .await
    .map_err(|e| format!("seed {seed}: the world did not start: {e:#}"))?;
    let mut log = Vec::new();
    let cluster = Cluster::start(&world, seed, &mut log)
        .await
        .map_err(|e| format!("seed {seed}: the second replica did not start: {e:#}"))?;
    let mut d = Driver::new(world, seed).with_cluster(cluster);
    d.log = log;
    let outcome = super::play_and_check(&mut d).await;
    if let Some(summary) = d.cluster.as_ref().map(|c| c.summary(&d.w)) {
        d.log.push(summary);
    }
    if std::env::var_os("LEADSYNC_CHAOS_SHOW").is_some() {
        eprintln!("seed {seed}:\n  {}", d.log.join("\n  "));
    }
    if let Some(cluster) = d.cluster.take() {
        cluster.stop().await;
    }
    let _ = d.w.stop_app().await;
    let replay = format!(
        "LEADSYNC_CHAOS_SEED={seed} cargo test --locked --test it chaos::replicas::replay -- --ignored --nocapture"
    );
    common::verdict(
        &format!("chaos (replicas) seed {seed}"),
        started,
        &outcome,
        &d.log,
        &replay,
    )
}

/// Whether the PostgreSQL cluster is there; says loudly that `test` is skipped when not.
fn have_postgres(test: &str) -> bool {
    if std::env::var("LEADSYNC_TEST_PG_URL").is_ok() {
        return true;
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED chaos::replicas::{test}: LEADSYNC_TEST_PG_URL is not set (url=$(.ci/pg-cluster start) gives one)"
    );
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: .ci/run plays it as a step of its own, and gates on it"]
async fn seeded() {
    if !have_postgres("seeded") {
        return;
    }
    let seeds = common::seeds_from_env("LEADSYNC_CHAOS_REPLICAS_SEEDS");
    let seeds = seeds.unwrap_or_else(|| SEEDS.collect());
    common::run_many(seeds, AT_ONCE, Second::Chance, run_seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long run: LEADSYNC_CHAOS_REPLICAS_SEEDS=a..b"]
async fn many() {
    if !have_postgres("many") {
        return;
    }
    let seeds = common::seeds_from_env("LEADSYNC_CHAOS_REPLICAS_SEEDS");
    let seeds = seeds.unwrap_or_else(|| (1000..1100).collect());
    common::run_many(seeds, AT_ONCE, Second::None, run_seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "replays LEADSYNC_CHAOS_SEED"]
async fn replay() {
    if !have_postgres("replay") {
        return;
    }
    let seed: u64 = std::env::var("LEADSYNC_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("LEADSYNC_CHAOS_SEED=<seed>");
    crate::helpers::test_log();
    if let Err(report) = run_seed(seed).await {
        panic!("{report}");
    }
}
