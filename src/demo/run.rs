//! `leadsync demo`: the daemon against built-in emulators, through a short scenario a newcomer
//! can follow — a lead added in the tracker (a Google Sheet or an Airtable table), its card
//! moved, its note edited, a conflict decided. The story is told once; the world's tracker ops
//! do the Sheets or the Airtable thing.

use std::time::Duration;

use anyhow::Context as _;

use crate::connectors::trello::sandbox::UserCardChange;
use crate::demo::show;
use crate::demo::world::{World, WorldOptions};
use crate::model::TrackerKind;

const PAIR: &str = "demo";
const SETTLE: Duration = Duration::from_secs(60);

/// What the scenario says about the tracker, in that tracker's words.
struct Story {
    tracker: TrackerKind,
    emulators: &'static str,
    ready: &'static str,
    added: &'static str,
    note: &'static str,
    rename: &'static str,
}

impl Story {
    fn of(tracker: TrackerKind) -> Self {
        match tracker {
            TrackerKind::Sheets => Self {
                tracker,
                emulators: "Trello and Google Sheets emulators",
                ready: "Trello webhook registered for the board; the sheet has the header row only.",
                added: "A lead is added in the sheet (row 2); the Apps Script sends the edit.",
                note: "In the sheet, the note is edited.",
                rename: "Both sides rename the lead at the same moment: the sheet first, Trello a \
                         moment later.",
            },
            TrackerKind::Airtable => Self {
                tracker,
                emulators: "Trello and Airtable emulators",
                ready: "Webhooks registered for the board and the Airtable base; the table \
                        \"Leads\" has its fields and no records.",
                added: "A record is typed into the Airtable table in the browser; Airtable \
                        notifies the daemon, which fetches the change.",
                note: "In Airtable, the note is edited.",
                rename: "Both sides rename the lead at the same moment: Airtable first, Trello a \
                         moment later.",
            },
            TrackerKind::Notion => Self {
                tracker,
                emulators: "Trello and Notion emulators",
                ready: "Trello webhook registered for the board; the Notion subscription is \
                        verified; the database \"Leads\" has its properties and no pages.",
                added: "A page is typed into the Notion database in the browser; Notion sends \
                        an event naming it, and the daemon reads the page.",
                note: "In Notion, the note is edited.",
                rename: "Both sides rename the lead at the same moment: Notion first, Trello a \
                         moment later.",
            },
        }
    }
}

pub async fn run(keep_running: bool, tracker: TrackerKind) -> anyhow::Result<()> {
    let story = Story::of(tracker);
    let world = start(&story).await?;
    let (lead, card_id) = first_steps(&world, &story).await?;
    both_sides_rename(&world, &story, &lead, &card_id).await?;
    show::activity(&world).await?;
    all_sent(&world).await?;
    if keep_running {
        keep_open(&world).await;
    }
    let mut world = world;
    world.stop_app().await?;
    crate::outln!("\ndemo finished: every step synced.");
    Ok(())
}

/// The emulators and the daemon, with one pair whose tracker holds no lead yet.
async fn start(story: &Story) -> anyhow::Result<World> {
    crate::outln!(
        "leadsync demo: starting {} and the daemon on 127.0.0.1 …",
        story.emulators
    );
    let world = World::start(WorldOptions {
        pairs: vec![PAIR.into()],
        debounce_ms: 400,
        tracker: story.tracker,
        ..WorldOptions::default()
    })
    .await
    .context("starting the demo world")?;
    crate::outln!(
        "daemon: {}   (config: {})",
        world.base_url(),
        world.config_path().display()
    );
    crate::outln!("{}\n", story.ready);
    Ok(world)
}

/// Steps 1 to 3: a lead added in the tracker, its card moved, its note edited. Answers the lead's
/// key in the tracker (row or record id) and its card.
async fn first_steps(world: &World, story: &Story) -> anyhow::Result<(String, String)> {
    step(1, story.added);
    let lead = world
        .tracker_adds_lead(
            PAIR,
            &[
                ("Name", "Ada Lovelace"),
                ("Email", "ada@example.com"),
                ("Phone", "+44 20 7946 0000"),
                ("Company", "Analytical Ltd"),
                ("Status", "New"),
                ("Notes", "Met at the expo"),
            ],
        )
        .await?;
    world.settle(SETTLE).await?;
    show::world(world, PAIR);

    step(2, "In Trello, the card is moved to \"Contacted\".");
    let card = world
        .card_named(PAIR, "Ada Lovelace")
        .context("the card was not created")?;
    world.user_moves_card(PAIR, &card.id, "Contacted")?;
    world.settle(SETTLE).await?;
    show::world(world, PAIR);

    step(3, story.note);
    world
        .tracker_edits(PAIR, &lead, "Notes", "Wants a demo next Tuesday")
        .await?;
    world.settle(SETTLE).await?;
    show::world(world, PAIR);
    Ok((lead, card.id))
}

/// Step 4: a conflict, decided by the pair's policy.
async fn both_sides_rename(
    world: &World,
    story: &Story,
    lead: &str,
    card_id: &str,
) -> anyhow::Result<()> {
    step(4, story.rename);
    let name = format!("Ada L. ({})", story.tracker.side_name());
    world.tracker_edits(PAIR, lead, "Name", &name).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    world.user_updates_card(
        card_id,
        UserCardChange {
            name: Some("Ada King (trello)".into()),
            ..UserCardChange::default()
        },
    )?;
    world.settle(SETTLE).await?;
    show::world(world, PAIR);
    Ok(())
}

/// "every step synced" only when it is so: a write that was given up (a dead letter) or an event
/// that could not be handled fails the demo, naming what and why.
async fn all_sent(world: &World) -> anyhow::Result<()> {
    let state = world.state().context("daemon stopped")?;
    let stuck: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT 'write ' || kind || ' to ' || target, last_error FROM outbox WHERE status = 'dead'
         UNION ALL
         SELECT 'event from ' || source, last_error FROM inbox WHERE status = 'failed'",
    )
    .fetch_all(&state.db.pool)
    .await?;
    if let Some((what, error)) = stuck.first() {
        anyhow::bail!(
            "{} change(s) did not sync; the first: {what} failed: {}",
            stuck.len(),
            error.as_deref().unwrap_or("no error recorded")
        );
    }
    Ok(())
}

/// `--keep-running`: the addresses, the console and the admin token, then wait for Ctrl-C.
async fn keep_open(world: &World) {
    let tracker = match (&world.airtable, &world.notion) {
        (Some(airtable), _) => format!("Airtable emulator: {}", airtable.api_base()),
        (None, Some(notion)) => format!("Notion emulator: {}", notion.api_base()),
        (None, None) => format!("Sheets emulator: {}", world.google.sheets_api_base()),
    };
    crate::outln!(
        "\nStill running. Daemon: {}  Trello emulator: {}  {tracker}",
        world.base_url(),
        world.trello.api_base(),
    );
    crate::outln!(
        "Console: {}/admin/ui   (log in with the admin token)",
        world.base_url()
    );
    crate::outln!(
        "Admin token: {}   (Ctrl-C stops)",
        secrecy::ExposeSecret::expose_secret(&world.settings.server.admin_token)
    );
    crate::shutdown::stop_signal().await;
}

fn step(n: u32, text: &str) {
    crate::outln!("── step {n}: {text}");
}
