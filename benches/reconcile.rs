//! Reconcile benchmark (not a test; `cargo bench --bench reconcile`): a full reconciliation of
//! `LEADSYNC_BENCH_LEADS` leads (default 10 000, 200 to 50 000) between the sandbox emulators.
//! This process serves the emulators; each phase runs the real `leadsync reconcile` binary (the
//! bench profile's build) as its own process against them, so its peak RSS is leadsync's alone.
//! Phases: (a) first sync of rows without ids, (b) nothing changed, (c) 50 rows edited in the
//! sheet and 50 cards edited in Trello with no event sent. Per phase it prints the emulators'
//! calls by endpoint, wall time and leadsync's peak RSS, and checks the outcome; any failed check
//! is printed as `FAILED:` and makes the run exit non-zero.
//!
//! The emulators' quotas are the real ones times 1000 and leadsync's budgets are raised to
//! match (env overrides), so the numbers measure leadsync, not Trello's 100 calls per 10 s.

#[path = "reconcile/calls.rs"]
mod calls;
#[path = "reconcile/child.rs"]
mod child;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context as _;
use leadsync::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use leadsync::demo::world::{FIELDS, HEADER, LISTS, SHEET, World, WorldOptions};
use leadsync::store::Db;

use calls::{Calls, Phase, count, memory, mib, report};

const QUOTA_SCALE: u32 = 1000;
const PAIR: &str = "default";
/// Edits per side in phase (c).
const EDITS: usize = 50;
const PHASE_LIMIT: Duration = Duration::from_secs(30 * 60);

struct Bench {
    world: World,
    db: Db,
    leads: usize,
    failures: Vec<String>,
}

fn env_count(name: &str, default: usize, min: usize, max: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(min, max)
}

/// Row `i` (0-based lead number) as typed into the sheet: no id, no card URL.
fn lead_row(i: usize) -> Vec<String> {
    vec![
        String::new(),
        format!("Lead {i:05} Zoë Ångström"),
        format!("lead{i}@example.com"),
        format!("+44 20 7946 {:04}", i % 10_000),
        format!("Company {}", i % 97),
        LISTS[i % LISTS.len()].to_owned(),
        if i.is_multiple_of(3) {
            format!("Met at fair #{i}")
        } else {
            String::new()
        },
        String::new(),
    ]
}

fn col(header: &str) -> usize {
    HEADER.iter().position(|h| *h == header).unwrap_or(0)
}

impl Bench {
    async fn start(leads: usize) -> anyhow::Result<Self> {
        let world = World::start(WorldOptions {
            quota_scale: QUOTA_SCALE,
            start_app: false,
            ..WorldOptions::default()
        })
        .await?;
        let rows: Vec<Vec<String>> = (0..leads).map(lead_row).collect();
        let ss = &world.pair(PAIR).spreadsheet_id;
        world
            .google
            .set_rows(ss, SHEET, 2, &rows)
            .map_err(|e| anyhow::anyhow!("filling the sheet: {e}"))?;
        let db = Db::connect(&world.settings.database.url).await?;
        db.migrate().await?;
        Ok(Self {
            world,
            db,
            leads,
            failures: Vec::new(),
        })
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            let what = what();
            println!("  FAILED: {what}");
            self.failures.push(what);
        }
    }

    /// One `leadsync reconcile` (a reconciliation, then sending all it planned) as its own
    /// process.
    async fn phase(&self) -> anyhow::Result<Phase> {
        let (tg, gg) = (self.world.trello.gate(), self.world.google.gate());
        tg.calls().clear();
        gg.calls().clear();
        let first: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM outbox")
            .fetch_one(&self.db.pool)
            .await?;
        let (config, dir) = (self.world.config_path(), self.world.dir().to_path_buf());
        let run = tokio::task::spawn_blocking(move || child::reconcile(&config, &dir, PHASE_LIMIT))
            .await??;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT kind, status, count(*) FROM outbox WHERE id > $1 GROUP BY kind, status",
        )
        .bind(first)
        .fetch_all(&self.db.pool)
        .await?;
        Ok(Phase {
            planned: rows.iter().map(|(_, _, n)| *n as usize).sum(),
            run,
            trello: Calls::from_records(&tg.calls().records()),
            sheets: Calls::from_records(&gg.calls().records()),
            commands: rows.into_iter().map(|(k, s, n)| ((k, s), n)).collect(),
        })
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.world.rows(PAIR)
    }

    fn cards_by_url(&self) -> HashMap<String, SandboxCard> {
        self.world
            .cards(PAIR)
            .into_iter()
            .map(|c| (format!("https://trello.com/c/{}", c.short_link), c))
            .collect()
    }

    /// Both sides equal: exactly one open card per lead, every row with an id and its card's
    /// URL, and name, list and custom fields of each card as its row says.
    fn check_equal(&mut self) {
        let rows = self.rows();
        let cards = self.world.cards(PAIR);
        let by_url = self.cards_by_url();
        let n = self.leads;
        self.check(rows.len() == n, || {
            format!("{} rows, expected {n}", rows.len())
        });
        self.check(cards.len() == n, || {
            format!("{} cards, expected exactly {n}", cards.len())
        });
        let open = cards.iter().filter(|c| !c.closed).count();
        self.check(open == n, || format!("{open} open cards, expected {n}"));
        let fields: Vec<(usize, String)> = FIELDS
            .iter()
            .map(|f| (col(f), self.world.field_id(PAIR, f)))
            .collect();
        let lists: HashMap<String, String> = LISTS
            .iter()
            .map(|l| (self.world.list_id(PAIR, l), (*l).to_owned()))
            .collect();
        let mut ids = HashSet::new();
        let mut bad: Vec<String> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let r = i + 2;
            let id = &row[col("Lead ID")];
            if id.is_empty() || !ids.insert(id.clone()) {
                bad.push(format!("row {r}: missing or duplicate id {id:?}"));
                continue;
            }
            let Some(card) = by_url.get(&row[col("Trello Card")]) else {
                bad.push(format!("row {r}: card URL {:?} names no card", row[7]));
                continue;
            };
            let list = lists.get(&card.id_list).map_or("?", String::as_str);
            let mut diffs = Vec::new();
            if card.name != row[col("Name")] {
                diffs.push(format!("name {:?} vs {:?}", card.name, row[col("Name")]));
            }
            if list != row[col("Status")] {
                diffs.push(format!("list {list} vs status {}", row[col("Status")]));
            }
            for (c, field) in &fields {
                let text = card.custom_texts.get(field).map_or("", String::as_str);
                if text != row[*c] {
                    diffs.push(format!("{} {text:?} vs {:?}", HEADER[*c], row[*c]));
                }
            }
            if !card.desc.contains(id.as_str()) {
                diffs.push("description lacks the lead's marker".into());
            }
            if !diffs.is_empty() {
                bad.push(format!("row {r}: {}", diffs.join(", ")));
            }
        }
        let count = bad.len();
        bad.truncate(5);
        self.check(count == 0, || {
            format!("{count} rows differ from their card: {}", bad.join("; "))
        });
    }
}

/// Phase (c)'s edits, made behind leadsync's back: 25 emails and 25 statuses in the sheet,
/// 25 names and 25 lists in Trello, on 100 different leads.
fn edit_both_sides(b: &Bench) -> anyhow::Result<()> {
    let world = &b.world;
    world.trello.drop_deliveries(true);
    let ss = &world.pair(PAIR).spreadsheet_id;
    let stride = b.leads / EDITS;
    let rows = b.rows();
    let by_url = b.cards_by_url();
    let next = |status: &str| {
        let i = LISTS.iter().position(|l| *l == status).unwrap_or(0);
        LISTS[(i + 1) % LISTS.len()]
    };
    for k in 0..EDITS {
        let i = k * stride;
        let (value, c) = if k.is_multiple_of(2) {
            (format!("changed{i}@example.com"), col("Email"))
        } else {
            (next(&rows[i][col("Status")]).to_owned(), col("Status"))
        };
        world
            .google
            .set_cell(ss, SHEET, (i + 2) as u32, (c + 1) as u32, &value)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let j = i + stride / 2;
        let card = by_url
            .get(&rows[j][col("Trello Card")])
            .context("a lead without its card before phase (c)")?;
        if k.is_multiple_of(2) {
            let change = UserCardChange {
                name: Some(format!("{} (renamed)", card.name)),
                ..UserCardChange::default()
            };
            world.user_updates_card(&card.id, change)?;
        } else {
            world.user_moves_card(PAIR, &card.id, next(&rows[j][col("Status")]))?;
        }
    }
    Ok(())
}

async fn bench() -> anyhow::Result<()> {
    let leads = env_count("LEADSYNC_BENCH_LEADS", 10_000, 200, 50_000);
    println!(
        "reconcile: {leads} leads, one pair; the Trello and Sheets emulators in this process, each phase \
         one `leadsync reconcile` process against them (loopback, SQLite synchronous=FULL, default \
         dispatcher: 64 Trello commands a round, 8 at once; a pair's sheet commands up to 10 000 a batch)"
    );
    println!(
        "quotas: the emulators' are the real ones x{QUOTA_SCALE}, leadsync's budgets raised to match \
         ({}), so these numbers measure leadsync, not Trello's or Google's quotas",
        child::BUDGETS.map(|(k, v)| format!("{k}={v}")).join(" ")
    );
    let mut b = Bench::start(leads).await?;
    let baseline = memory();
    println!(
        "this process (the emulators, {leads} rows in the sheet) after setting up: {}",
        mib(baseline)
    );

    let a = b.phase().await?;
    report("(a) first sync", &a, memory());
    b.check(a.trello.get("POST /1/cards") == leads, || {
        format!(
            "{} cards created, expected {leads}",
            a.trello.get("POST /1/cards")
        )
    });
    // Every lead has custom fields: its card's create and one write of all of them (issue 12).
    let (t_writes, batches) = (
        a.trello.writes(),
        a.trello.get("PUT /1/cards/{id}/customFields"),
    );
    b.check(t_writes == 2 * leads && batches == leads, || {
        format!(
            "{t_writes} Trello writes ({batches} custom-field batches), expected {} ({leads})",
            2 * leads
        )
    });
    // Issue 12: the sheet read once per batch, ids and card URLs in a few `batchUpdate`s.
    let s_calls = a.sheets.total();
    b.check(s_calls <= 30, || {
        format!("{s_calls} Sheets calls for the first sync, expected at most 30")
    });
    b.check(
        a.run.ok && a.run.dead == 0 && a.trello.failed + a.sheets.failed == 0,
        || {
            format!(
                "leadsync reconcile ok={} ({} dead letters), {} failed calls: {}",
                a.run.ok,
                a.run.dead,
                a.trello.failed + a.sheets.failed,
                a.run.stderr_tail
            )
        },
    );
    b.check_equal();

    let nothing = b.phase().await?;
    report("(b) nothing changed", &nothing, memory());
    let writes = nothing.trello.writes() + nothing.sheets.writes();
    b.check(writes == 0 && nothing.planned == 0, || {
        format!(
            "{writes} write calls and {} commands, expected none",
            nothing.planned
        )
    });
    b.check_equal();

    edit_both_sides(&b)?;
    let c = b.phase().await?;
    report("(c) 100 changed", &c, memory());
    let half = (EDITS / 2) as i64;
    let expected = [
        ("set_custom_fields", half),
        ("update_card", half),
        ("write_row", EDITS as i64),
    ];
    for (kind, n) in expected {
        b.check(count(&c, kind) == n, || {
            format!("{} {kind} commands, expected {n}", count(&c, kind))
        });
    }
    let (t_writes, field_puts) = (
        c.trello.writes(),
        c.trello.get("PUT /1/cards/{id}/customFields"),
    );
    b.check(t_writes == EDITS && field_puts == EDITS / 2, || {
        format!(
            "{t_writes} Trello writes ({field_puts} custom field), expected {EDITS} ({})",
            EDITS / 2
        )
    });
    let s_writes = c.sheets.writes();
    let s_batches = c
        .sheets
        .get("POST /v4/spreadsheets/{id}/values:batchUpdate");
    b.check(s_writes == s_batches && s_batches >= 1, || {
        format!("{s_writes} sheet writes, expected only batchUpdate calls")
    });
    b.check_equal();

    println!("\n{}", "-".repeat(60));
    if b.failures.is_empty() {
        println!("all checks passed");
        Ok(())
    } else {
        anyhow::bail!("{} checks FAILED: {:?}", b.failures.len(), b.failures)
    }
}

fn main() -> anyhow::Result<()> {
    // cargo bench passes `--bench`; any argument is accepted and ignored.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}
