//! Quota benchmark (not a test; `cargo bench --bench quota`): a queue of writes drained through
//! each real client (built from settings as `serve` builds them, with the default budgets: the
//! published limits) against its in-process emulator enforcing the real quotas — Trello 100 per
//! 10 s per token and 300 per key, Sheets 60 writes per minute per user, Airtable 5 per second
//! per base (30 s lock-out past it). The three run at the same time, on loopback only. Per system
//! it prints the achieved rate against the allowed one and the emulator's 429 count.
//!
//! Bounded: each queue holds what the client's paced rate sends in `LEADSYNC_BENCH_QUOTA_SECS`
//! (default 40, 5 to 600) seconds, and a system that has not drained it 20 s later is cut off.
//! A 429, a failed call or a cut-off prints `FAILED:` and makes the run exit non-zero.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use leadsync::clients::http::LimiterStats;
use leadsync::config::{self, Settings, Sources};
use leadsync::connectors::airtable::client::build::airtable_client;
use leadsync::connectors::airtable::client::{self as airtable, Cell, Fields};
use leadsync::connectors::airtable::sandbox::{AirtableSandbox, FieldSpec};
use leadsync::connectors::sheets::client as sheets;
use leadsync::connectors::sheets::client::build::sheets_client;
use leadsync::connectors::sheets::sandbox::GoogleSandbox;
use leadsync::connectors::trello::client as trello;
use leadsync::connectors::trello::client::build::trello_client;
use leadsync::connectors::trello::sandbox::TrelloSandbox;
use leadsync::sandbox::common::CallRecord;

/// Calls in flight at once per system, like a dispatcher with a backlog.
const WORKERS: usize = 8;
const SHEET: &str = "bench-book";

/// One system's run: what the server allows and what the emulator saw.
struct Run {
    system: &'static str,
    /// The server's quota: `budget` calls per `window`.
    budget: u32,
    window: Duration,
    queued: usize,
    failed: usize,
    elapsed: Duration,
    /// The emulator's log of this system's API calls (setup and token calls excluded).
    calls: Vec<CallRecord>,
    limiter: Option<LimiterStats>,
}

fn settings(env: &[(&str, String)]) -> anyhow::Result<Settings> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Ok(config::load(&Sources {
        file: None,
        dotenv: HashMap::new(),
        env,
    })?)
}

/// Runs `n` calls of `call(i)` on `WORKERS` tasks; answers how many failed and the wall time.
async fn drain<F, Fut>(n: usize, call: F) -> (usize, Duration)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (next, failed, call) = (next.clone(), failed.clone(), call.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                if !call(i).await {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    workers.join_all().await;
    (failed.load(Ordering::Relaxed), started.elapsed())
}

/// Calls the client's paced rate sends in `secs`: `budget / window` at `fraction`.
fn queue_for(secs: u64, budget: u32, window: Duration, fraction: f64) -> usize {
    (secs as f64 * f64::from(budget) * fraction / window.as_secs_f64()).ceil() as usize
}

async fn trello_run(secs: u64) -> anyhow::Result<Run> {
    let sb = TrelloSandbox::start().await?;
    let board = sb.setup_board("Bench", &["New"], &[]);
    let s = settings(&[
        ("LEADSYNC__TRELLO__API_BASE", sb.api_base()),
        ("LEADSYNC__TRELLO__API_KEY", sb.api_key().to_owned()),
        ("LEADSYNC__TRELLO__API_TOKEN", sb.api_token().to_owned()),
    ])?;
    let client = trello_client(&s)?;
    let (budget, window) = (s.trello.token_requests_per_10s, Duration::from_secs(10));
    let queued = queue_for(secs, budget, window, trello::BUDGET_FRACTION);
    let list = board.lists["New"].clone();
    let c = client.clone();
    let (failed, elapsed) = drain(queued, move |i| {
        let (c, list) = (c.clone(), list.clone());
        async move {
            let card = trello::NewCard {
                id_list: list,
                name: format!("Lead {i}"),
                desc: String::new(),
                pos: None,
            };
            c.create_card(&card).await.is_ok()
        }
    })
    .await;
    Ok(Run {
        system: "trello (per token)",
        budget,
        window,
        queued,
        failed,
        elapsed,
        calls: api_calls(sb.gate().calls().records(), "/1/"),
        limiter: client.limiter_stats().into_iter().next(),
    })
}

async fn sheets_run(secs: u64) -> anyhow::Result<Run> {
    let g = GoogleSandbox::start().await?;
    g.create_spreadsheet(SHEET);
    g.add_sheet(SHEET, "Leads")?;
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("sa.json");
    std::fs::write(&key, g.service_account_key_json())?;
    let s = settings(&[
        ("LEADSYNC__GOOGLE__SHEETS_API_BASE", g.sheets_api_base()),
        (
            "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
            key.display().to_string(),
        ),
    ])?;
    let client = sheets_client(&s)?;
    let (budget, window) = (s.google.requests_per_minute, Duration::from_secs(60));
    let queued = queue_for(secs, budget, window, sheets::BUDGET_FRACTION);
    let c = client.clone();
    let (failed, elapsed) = drain(queued, move |i| {
        let c = c.clone();
        async move {
            let row = vec![format!("L{i}"), format!("Lead {i}")];
            c.append(SHEET, "Leads!A1", &[row]).await.is_ok()
        }
    })
    .await;
    Ok(Run {
        system: "sheets (writes per user)",
        budget,
        window,
        queued,
        failed,
        elapsed,
        calls: api_calls(g.gate().calls().records(), "/v4/"),
        limiter: client.limiter_stats().into_iter().next(),
    })
}

async fn airtable_run(secs: u64) -> anyhow::Result<Run> {
    let sb = AirtableSandbox::start().await?;
    let base = sb.create_base("Bench");
    let fields = [FieldSpec::new("Name", "singleLineText")];
    sb.create_table(&base, "Leads", &fields)
        .map_err(|e| anyhow::anyhow!("airtable table: {e:?}"))?;
    let s = settings(&[
        ("LEADSYNC__AIRTABLE__API_BASE", sb.api_base()),
        ("LEADSYNC__AIRTABLE__TOKEN", sb.token().to_owned()),
    ])?;
    let client = airtable_client(&s)?;
    let (budget, window) = (s.airtable.base_requests_per_second, Duration::from_secs(1));
    let queued = queue_for(secs, budget, window, airtable::BUDGET_FRACTION);
    let (c, b) = (client.clone(), base.clone());
    let (failed, elapsed) = drain(queued, move |i| {
        let (c, b) = (c.clone(), b.clone());
        async move {
            let fields =
                Fields::from([("Name".to_owned(), Cell::from(format!("Lead {i}").as_str()))]);
            c.create_records(&b, "Leads", &[fields])
                .await
                .iter()
                .all(Result::is_ok)
        }
    })
    .await;
    Ok(Run {
        system: "airtable (per base)",
        budget,
        window,
        queued,
        failed,
        elapsed,
        calls: api_calls(sb.gate().calls().records(), "/v0/"),
        limiter: client.limiter_stats(&base)?.into_iter().nth(1),
    })
}

fn api_calls(records: Vec<CallRecord>, prefix: &str) -> Vec<CallRecord> {
    records
        .into_iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect()
}

/// Rates from the emulator's log of calls answered 2xx: over the whole run, and steady (after the
/// limiter's first burst of `budget / 20` calls, which a run shorter than the server's window
/// would otherwise count as speed); plus the most calls the server saw in one of its windows.
struct Rates {
    run: f64,
    steady: f64,
    peak: usize,
}

fn rates(run: &Run) -> Rates {
    let ok: Vec<_> = (run.calls.iter())
        .filter(|r| (200..300).contains(&r.status))
        .collect();
    let rate = |from: usize| {
        let (Some(first), Some(last)) = (ok.get(from), ok.last()) else {
            return 0.0;
        };
        let span = (last.at - first.at).to_std().unwrap_or_default();
        let calls = ok.len() - from - 1;
        if span.is_zero() {
            0.0
        } else {
            calls as f64 / span.as_secs_f64()
        }
    };
    let burst = (run.budget / 20).max(1) as usize;
    let window = chrono::Duration::from_std(run.window).unwrap_or_default();
    let peak = (0..ok.len())
        .map(|i| {
            ok[i..]
                .iter()
                .take_while(|r| r.at - ok[i].at < window)
                .count()
        })
        .max()
        .unwrap_or(0);
    Rates {
        run: rate(0),
        steady: rate(burst - 1),
        peak,
    }
}

/// Prints the run's row; answers its failures.
fn report(run: &Run) -> Vec<String> {
    let allowed = f64::from(run.budget) / run.window.as_secs_f64();
    let r = rates(run);
    let refused = run.calls.iter().filter(|r| r.status == 429).count();
    let delayed = run.limiter.as_ref().map_or(0, |l| l.delayed);
    println!(
        "| {} | {} per {} s | {} | {:.1} s | {:.3}/s | {:.3} | {:.3}/s | **{:.3}** | {} of {} | {} | **{}** |",
        run.system,
        run.budget,
        run.window.as_secs(),
        run.queued,
        run.elapsed.as_secs_f64(),
        allowed,
        r.run / allowed,
        r.steady,
        r.steady / allowed,
        r.peak,
        run.budget,
        delayed,
        refused
    );
    let mut failures = Vec::new();
    if refused > 0 {
        failures.push(format!("{}: {refused} calls answered 429", run.system));
    }
    if run.failed > 0 {
        failures.push(format!("{}: {} calls failed", run.system, run.failed));
    }
    failures
}

fn bench_secs() -> u64 {
    std::env::var("LEADSYNC_BENCH_QUOTA_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(40)
        .clamp(5, 600)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = bench_secs();
    let limit = Duration::from_secs(secs + 20);
    println!(
        "quota benchmark: {secs} s of queued writes per system, the three at once, {WORKERS} workers each\n"
    );
    let (t, s, a) = tokio::join!(
        tokio::time::timeout(limit, trello_run(secs)),
        tokio::time::timeout(limit, sheets_run(secs)),
        tokio::time::timeout(limit, airtable_run(secs)),
    );
    println!(
        "| system | server quota | queued | wall | allowed | achieved/allowed (run) | achieved (steady) | achieved/allowed (steady) | peak in one window | waited for the limiter | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (name, run) in [("trello", t), ("sheets", s), ("airtable", a)] {
        match run.with_context(|| format!("{name}: not drained within {limit:?}")) {
            Ok(Ok(run)) => failures.extend(report(&run)),
            Ok(Err(e)) | Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }
    for f in &failures {
        println!("FAILED: {f}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
