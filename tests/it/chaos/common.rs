//! What the Sheets and the Airtable chaos tests share: drawing actions and words, the fault
//! plans, disturbed Trello deliveries, restarts, the Trello side as its users see and edit it,
//! and the end checks and the runner of many seeds.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use leadsync::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use leadsync::demo::world::{LISTS, World};
use leadsync::sandbox::common::{CallLog, Faults};
use leadsync::sync::mapping::{compose_description, split_description};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use secrecy::ExposeSecret;

use super::oracle::{CardView, Field};

pub const PAIR: &str = "default";
/// How long the end of a history may take to settle.
pub const QUIET: Duration = Duration::from_secs(120);

/// One of `actions`, drawn by weight.
pub fn pick<A: Copy>(rng: &mut StdRng, actions: &[(A, u32)], otherwise: A) -> A {
    let total: u32 = actions.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    actions
        .iter()
        .find(|(_, w)| {
            let hit = pick < *w;
            pick = pick.saturating_sub(*w);
            hit
        })
        .map_or(otherwise, |(a, _)| *a)
}

pub fn word(rng: &mut StdRng) -> String {
    const WORDS: [&str; 8] = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"];
    let w = WORDS[rng.random_range(0..WORDS.len())];
    format!("{w}{}", rng.random_range(0..1000))
}

pub fn status(rng: &mut StdRng) -> String {
    LISTS[rng.random_range(0..LISTS.len())].to_owned()
}

/// A fault rate of 0–40 %.
pub fn rate(rng: &mut StdRng) -> f64 {
    f64::from(rng.random_range(0..=4u8)) / 10.0
}

/// The faults an API injects at `rate`: a third of the errors 429s, some resets and hangs,
/// and with `unknown` the change made before the answer is lost.
pub fn faults(rate: f64, unknown: bool) -> Faults {
    Faults {
        error_rate: rate,
        status_429_share: 0.3,
        reset_rate: rate / 4.0,
        hang_rate: rate / 10.0,
        hang_for: Duration::from_millis(300),
        after_handler: unknown,
        ..Faults::default()
    }
}

/// Held Trello deliveries go out shuffled: some twice, some never (Trello gives up on them).
/// Answers how many were dropped.
pub fn release_trello(rng: &mut StdRng, w: &World) -> usize {
    let held = w.trello.take_held_deliveries();
    release_shuffled(rng, held, |d| w.trello.redeliver(d))
}

/// Held messages go out shuffled through `send`: some twice, some never (their sender gives
/// up on them). Answers how many were dropped.
pub fn release_shuffled<T: Clone>(rng: &mut StdRng, mut held: Vec<T>, send: impl Fn(T)) -> usize {
    held.shuffle(rng);
    let mut dropped = 0;
    for message in held {
        match rng.random_range(0..10) {
            0 | 1 => dropped += 1,
            2 => {
                send(message.clone());
                send(message);
            }
            _ => send(message),
        }
    }
    dropped
}

/// Starts the daemon as a supervisor would: it resolves its pair against the APIs at
/// start-up, which may fail while they inject faults, so it is started again (bounded).
pub async fn start(w: &mut World, log: &mut Vec<String>) -> anyhow::Result<()> {
    let mut last = None;
    for _ in 0..20 {
        match w.start_app().await {
            Ok(()) => return Ok(()),
            Err(e) => {
                log.push(format!("start failed: {e:#}"));
                last = Some(e);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("the daemon did not start")))
}

/// The actions both drivers play alike, on the board and the daemon. Each draws from `rng` as
/// the drivers always have (the fixed seeds' histories depend on it) and notes itself in `log`.
/// Trello deliveries held back (or sent again), half the time.
pub fn hold_trello(rng: &mut StdRng, w: &World, log: &mut Vec<String>) {
    let hold = rng.random_bool(0.5);
    log.push(format!("trello deliveries held: {hold}"));
    w.trello.hold_deliveries(hold);
}

/// The daemon stopped and started again.
pub async fn restart(w: &mut World, log: &mut Vec<String>) -> anyhow::Result<()> {
    log.push("restart the daemon".into());
    w.stop_app().await?;
    start(w, log).await
}

/// A reconciliation asked of the running daemon (none when it is not running).
pub fn reconcile(w: &World, log: &mut Vec<String>) {
    log.push("reconcile".into());
    if let Some(engine) = w.state().and_then(|s| s.engine.as_ref()) {
        engine.request_reconcile(None);
    }
}

/// Nobody does anything for a while.
pub async fn pause(rng: &mut StdRng, log: &mut Vec<String>) {
    let ms = rng.random_range(200..1500);
    log.push(format!("pause {ms} ms"));
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A seed's verdict: `Ok` without violations, else the report (`title` names the run and the
/// seed) with the violations, the history and the command that replays it.
pub fn verdict(
    title: &str,
    started: std::time::Instant,
    outcome: &[String],
    log: &[String],
    replay: &str,
) -> Result<(), String> {
    if outcome.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{title} failed after {:.1} s:\n  {}\nhistory:\n  {}\nreplay: {replay}",
        started.elapsed().as_secs_f64(),
        outcome.join("\n  "),
        log.join("\n  "),
    ))
}

/// A text custom field of a card, as its user sees it.
pub fn card_text(w: &World, card: &SandboxCard, field: &str) -> String {
    let id = w.field_id(PAIR, field);
    card.custom_texts.get(&id).cloned().unwrap_or_default()
}

/// What a card shows for a field, as its user sees it.
pub fn card_value(w: &World, card: &SandboxCard, field: Field) -> String {
    match field {
        Field::Name => card.name.clone(),
        Field::Status => w.list_name(PAIR, &card.id_list),
        Field::Notes => split_description(&card.desc).0,
        Field::Email | Field::Company | Field::Phone => card_text(w, card, field.header()),
    }
}

/// A user edits one field of a card in the browser (the marker line of its description kept).
pub fn edit_card(w: &World, card: &SandboxCard, field: Field, value: &str) -> anyhow::Result<()> {
    let err = |e| anyhow::anyhow!("{e:?}");
    let mut change = UserCardChange::default();
    match field {
        Field::Name => change.name = Some(value.to_owned()),
        Field::Status => change.id_list = Some(w.list_id(PAIR, value)),
        Field::Notes => {
            change.desc = Some(match split_description(&card.desc).1 {
                Some(id) => compose_description(value, &id),
                None => value.to_owned(),
            })
        }
        Field::Email | Field::Company | Field::Phone => {
            let fid = w.field_id(PAIR, field.header());
            return w
                .trello
                .user_set_custom_field(&card.id, &fid, value)
                .map_err(err);
        }
    }
    w.trello.user_update_card(&card.id, &change).map_err(err)
}

pub fn card_view(w: &World, c: &SandboxCard) -> CardView {
    let (_, marker) = split_description(&c.desc);
    let values: HashMap<Field, String> = (Field::ALL.iter().chain([&Field::Phone]))
        .map(|f| (*f, card_value(w, c, *f)))
        .collect();
    CardView {
        id: c.id.clone(),
        marker: marker.map(|m| m.to_string()),
        closed: c.closed,
        values,
        phone: card_text(w, c, "Phone"),
    }
}

/// Changes leadsync asked of the APIs so far (reads and token exchanges aside).
pub fn writes(w: &World) -> usize {
    let count = |log: CallLog| {
        log.records()
            .iter()
            .filter(|r| r.method != "GET" && r.method != "HEAD" && !r.path.ends_with("/token"))
            .count()
    };
    let airtable = w.airtable.as_ref().map_or(0, |a| count(a.gate().calls()));
    count(w.trello.gate().calls()) + count(w.google.gate().calls()) + airtable
}

/// `POST /admin/reconcile` to the daemon at `base` (one of the replicas): requeues dead
/// letters and reconciles; waits for it to finish.
pub async fn admin_reconcile(w: &World, base: &str) -> anyhow::Result<()> {
    let token = w.settings.server.admin_token.expose_secret().to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{base}/admin/reconcile"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().as_u16() == 202,
        "admin reconcile: {}",
        resp.status()
    );
    w.settle(QUIET).await
}

/// What the daemon recorded of each lead (activity and outbox, in order), so that a failure
/// that needs its timing to recur can be read from its report.
pub async fn traces(w: &World, leads: Vec<String>) -> Vec<String> {
    let Some(state) = w.state() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for lead in leads {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT at, decision, field, detail FROM activity WHERE lead_id = $1
             UNION ALL
             SELECT created_at, 'outbox ' || kind || ' ' || status || ' (ended '
                    || (updated_at - created_at) || ' ms later)', last_error, payload
               FROM outbox WHERE lead_id = $1
             ORDER BY 1",
        )
        .bind(&lead)
        .fetch_all(&state.db.pool)
        .await
        .unwrap_or_default();
        out.push(format!("trace of {lead}:"));
        out.extend(rows.into_iter().map(|(at, what, field, detail)| {
            let detail: String = detail.unwrap_or_default().chars().take(400).collect();
            format!("  {at} {what} {} {detail}", field.unwrap_or_default())
        }));
        let card: Option<String> =
            sqlx::query_scalar("SELECT card_id FROM links WHERE lead_id = $1")
                .bind(&lead)
                .fetch_optional(&state.db.pool)
                .await
                .ok()
                .flatten()
                .flatten();
        if let Some(card) = card {
            out.push(format!("  actions of card {card}:"));
            out.extend(card_actions(w, &card));
        }
    }
    out
}

/// A card's actions in Trello, oldest first: when, who (leadsync or a user), what changed.
pub fn card_actions(w: &World, card: &str) -> Vec<String> {
    let leadsync = w.trello.api_member_id().to_owned();
    w.trello
        .card_actions(card)
        .iter()
        .map(|a| {
            let who = if a["idMemberCreator"] == leadsync.as_str() {
                "leadsync"
            } else {
                "user"
            };
            let mut data = a["data"].clone();
            for k in ["board", "list", "listBefore", "listAfter"] {
                if let Some(name) = data[k]["name"].as_str() {
                    data[k] = name.into();
                }
            }
            if let Some(card) = data.get_mut("card").and_then(|c| c.as_object_mut()) {
                card.retain(|k, _| k != "shortLink" && k != "idShort");
            }
            format!("    {} {who} {} {}", a["date"], a["type"], data)
        })
        .collect()
}

/// Every Trello delivery answered 2xx, and every event in `acked`, is in the inbox and done.
pub async fn lost_events(w: &World, acked: &[String]) -> Vec<String> {
    let Some(state) = w.state() else {
        return vec!["the daemon is not running".into()];
    };
    let done: Vec<(String, String)> = sqlx::query_as("SELECT dedupe_key, status FROM inbox")
        .fetch_all(&state.db.pool)
        .await
        .unwrap_or_default();
    let done: HashMap<String, String> = done.into_iter().collect();
    let acked_trello: HashSet<String> = (w.trello.deliveries().into_iter())
        .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
        .map(|r| r.action_id)
        .collect();
    let mut bad = Vec::new();
    for id in acked_trello.iter().chain(acked) {
        match done.get(id).map(String::as_str) {
            Some("done") => {}
            other => bad.push(format!("acknowledged event {id} is {other:?} in the inbox")),
        }
    }
    bad
}

pub use super::runner::{Second, run_many, seeds_from_env};
