//! The running-`serve` part: the real `leadsync serve` binary (this build's) with its sync engine
//! on, against the sandbox emulators in this process, with a few leads already synced; signed
//! Apps Script edit events for those leads are posted at each level while `/healthz` is probed.
//! Afterwards the daemon is killed (SIGKILL) and its inbox counted: every acknowledged event
//! must be there.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::inbound::signature::StandardWebhooksKey;

use crate::load::{self, Delivery, drive, drive_probed};

const PAIR: &str = "default";
/// Leads in the sheet, synced before the load; the events edit them in turn.
const LEADS: u32 = 20;
const WARMUP: usize = 64;
/// Bound on the daemon's start and its first sync of [`LEADS`].
const SETTLE: Duration = Duration::from_secs(90);

/// The daemon process, killed however the benchmark ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn part(events: usize, levels: &[usize], bare_url: &str) -> anyhow::Result<()> {
    let w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await?;
    let spreadsheet = w.pair(PAIR).spreadsheet_id.clone();
    let rows: Vec<Vec<String>> = (0..LEADS)
        .map(|i| {
            let name = format!("Lead {i}");
            let email = format!("lead{i}@example.com");
            vec![
                String::new(),
                name,
                email,
                String::new(),
                "Acme".into(),
                "New".into(),
            ]
        })
        .collect();
    w.google
        .set_rows(&spreadsheet, SHEET, 2, &rows)
        .map_err(|e| anyhow::anyhow!("typing the leads: {e}"))?;
    let log = w.dir().join("serve.log");
    let daemon = spawn(&w, &log)?;
    let ready = settle(&w, LEADS).await;
    if let Err(err) = ready {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        anyhow::bail!("{err}; the daemon's last log lines:\n{}", tail.join("\n"));
    }
    println!(
        "ingest, running `leadsync serve` (engine on, {LEADS} synced leads): {events} signed Apps \
         Script edit events per target and level, loopback"
    );
    println!(
        "  the daemon's resident set, idle with one pair after its first sync: {}",
        resident(daemon.0.id())
    );
    let target = Target {
        base: w.base_url(),
        pid: daemon.0.id().to_string(),
    };
    let mut accepted = 0;
    for (round, &concurrency) in levels.iter().enumerate() {
        accepted += level(&w, &target, bare_url, events, concurrency, round).await?;
    }
    drop(daemon); // SIGKILL: what was acknowledged must be in the inbox all the same
    let db = leadsync::store::Db::connect(&w.settings.database.url).await?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE source = 'sheets'")
        .fetch_one(&db.pool)
        .await?;
    db.close().await;
    println!(
        "inbox rows from Apps Script after SIGKILL: {stored} (acknowledged: {accepted} + warm-ups)"
    );
    anyhow::ensure!(
        stored as usize >= accepted,
        "acknowledged events are missing from the inbox"
    );
    Ok(())
}

/// `VmRSS` (now), `VmHWM` (peak so far) and the resident set's anonymous and file-backed parts
/// (heap and stacks; the binary's pages) of process `pid`, from `/proc/<pid>/status`.
fn resident(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |key: &str| {
        (status.lines().find_map(|l| l.strip_prefix(key)))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or("unknown".to_owned(), |kb| format!("{:.1} MiB", kb / 1024.0))
    };
    format!(
        "{} (peak so far {}; anonymous {}, file-backed {})",
        mib("VmRSS:"),
        mib("VmHWM:"),
        mib("RssAnon:"),
        mib("RssFile:")
    )
}

fn spawn(w: &World, log: &std::path::Path) -> anyhow::Result<Daemon> {
    let log = std::fs::File::create(log)?;
    let log_out = log.try_clone()?;
    let child = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["serve", "--config"])
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(log_out)
        .stderr(log)
        .spawn()
        .context("starting leadsync serve")?;
    Ok(Daemon(child))
}

/// Waits (bounded) until the daemon is ready, sends the edit event the sheet's trigger would
/// have sent for the typed leads, and waits until every lead row has its card.
async fn settle(w: &World, leads: u32) -> anyhow::Result<()> {
    let deadline = Instant::now() + SETTLE;
    let ready = format!("{}/readyz", w.base_url());
    let typed = w.sheet_event(PAIR, "edit", &(2..2 + leads).collect::<Vec<_>>());
    let mut sent = false;
    loop {
        let up = reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success());
        if up && !sent {
            sent = w.post_sheet_event(&typed).await?.is_success();
        }
        let rows = w.rows(PAIR);
        let synced = rows.len() == LEADS as usize && rows.iter().all(|r| !r[7].is_empty());
        if up && synced {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the daemon was not ready with {leads} synced leads within {SETTLE:?} (ready: {up}, \
             edit event accepted: {sent})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Edit events for the synced leads in turn, signed now, as the installed trigger sends them.
fn deliveries(w: &World, count: usize) -> anyhow::Result<Vec<Delivery>> {
    let key = StandardWebhooksKey::from_secret(&w.settings.apps_script.secret)
        .map_err(|e| anyhow::anyhow!("apps_script.secret: {e}"))?;
    let ts = chrono::Utc::now().timestamp();
    Ok((0..count)
        .map(|n| {
            let event = w.sheet_event(PAIR, "edit", &[2 + n as u32 % LEADS]);
            let signature = key.sign(&event.id, ts, event.body.as_bytes());
            Delivery {
                body: Bytes::from(event.body),
                headers: vec![
                    ("webhook-id", event.id),
                    ("webhook-timestamp", ts.to_string()),
                    ("webhook-signature", signature),
                ],
            }
        })
        .collect())
}

/// The running daemon: where it listens, and its process id (for its CPU time).
struct Target {
    base: String,
    pid: String,
}

async fn level(
    w: &World,
    target: &Target,
    bare_url: &str,
    events: usize,
    concurrency: usize,
    round: usize,
) -> anyhow::Result<usize> {
    let client = load::client(concurrency)?;
    let base = &target.base;
    let url = format!("{base}/webhooks/sheets");
    for (name, url) in [("bare", bare_url), ("leadsync serve", url.as_str())] {
        let warm = drive(&client, url, deliveries(w, WARMUP)?, concurrency).await;
        anyhow::ensure!(
            warm.accepted == WARMUP,
            "{name}: warm-up requests failed (round {round})"
        );
    }
    let bare = drive(&client, bare_url, deliveries(w, events)?, concurrency).await;
    let health = format!("{base}/healthz");
    let daemon_before = load::cpu_time(&target.pid);
    let (app, probes) =
        drive_probed(&client, &url, &health, deliveries(w, events)?, concurrency).await?;
    let daemon_cpu = load::cpu_time(&target.pid)
        .zip(daemon_before)
        .map(|(after, before)| after - before);
    println!("-- serve, concurrency {concurrency}");
    bare.print("bare axum 200");
    app.print("leadsync serve");
    if let Some(cpu) = daemon_cpu {
        println!(
            "{:<17} CPU of the daemon (ingest and its engine): {:.0} us/event",
            "",
            load::per_event_us(cpu, app.sent)
        );
    }
    probes.print("that load");
    crate::print_ratio("leadsync serve/bare", concurrency, &app, &bare);
    Ok(app.accepted)
}
