//! `leadsync demo`: the daemon against built-in emulators, through a short scenario a newcomer
//! can follow — a lead added in the sheet, a card moved, a note edited, a conflict decided.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;

use crate::demo::world::{World, WorldOptions};
use crate::sandbox::trello::UserCardChange;
use crate::store::activity;
use crate::sync::mapping::split_description;

const PAIR: &str = "demo";
const SETTLE: Duration = Duration::from_secs(60);

pub async fn run(keep_running: bool) -> anyhow::Result<()> {
    let world = start().await?;
    let card_id = first_steps(&world).await?;
    both_sides_rename(&world, &card_id).await?;
    show_activity(&world).await?;
    if keep_running {
        keep_open(&world).await;
    }
    let mut world = world;
    world.stop_app().await?;
    crate::outln!("\ndemo finished: every step synced.");
    Ok(())
}

/// The emulators and the daemon, with one pair whose sheet has the header row only.
async fn start() -> anyhow::Result<World> {
    crate::outln!(
        "leadsync demo: starting Trello and Google Sheets emulators and the daemon on 127.0.0.1 …"
    );
    let world = World::start(WorldOptions {
        pairs: vec![PAIR.into()],
        debounce_ms: 400,
        ..WorldOptions::default()
    })
    .await
    .context("starting the demo world")?;
    crate::outln!(
        "daemon: {}   (config: {})",
        world.base_url(),
        world.config_path().display()
    );
    crate::outln!("Trello webhook registered for the board; the sheet has the header row only.\n");
    Ok(world)
}

/// Steps 1 to 3: a lead added in the sheet, its card moved, its note edited. Answers the card.
async fn first_steps(world: &World) -> anyhow::Result<String> {
    step(
        1,
        "A lead is added in the sheet (row 2); the Apps Script sends the edit.",
    );
    world
        .user_edits_rows(
            PAIR,
            2,
            &[&[
                "",
                "Ada Lovelace",
                "ada@example.com",
                "+44 20 7946 0000",
                "Analytical Ltd",
                "New",
                "Met at the expo",
            ]],
        )
        .await?;
    world.settle(SETTLE).await?;
    show(world);

    step(2, "In Trello, the card is moved to \"Contacted\".");
    let card = world
        .card_named(PAIR, "Ada Lovelace")
        .context("the card was not created")?;
    world.user_moves_card(PAIR, &card.id, "Contacted")?;
    world.settle(SETTLE).await?;
    show(world);

    step(3, "In the sheet, the note is edited.");
    world
        .user_edits_cell(PAIR, 2, "Notes", "Wants a demo next Tuesday")
        .await?;
    world.settle(SETTLE).await?;
    show(world);
    Ok(card.id)
}

/// Step 4: a conflict, decided by the pair's policy.
async fn both_sides_rename(world: &World, card_id: &str) -> anyhow::Result<()> {
    step(
        4,
        "Both sides rename the lead at the same moment: the sheet first, Trello a moment later.",
    );
    world
        .user_edits_cell(PAIR, 2, "Name", "Ada L. (sheet)")
        .await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    world.user_updates_card(
        card_id,
        UserCardChange {
            name: Some("Ada King (trello)".into()),
            ..UserCardChange::default()
        },
    )?;
    world.settle(SETTLE).await?;
    show(world);
    Ok(())
}

/// The conflict's decision and the activity log, as `GET /admin/activity` shows it.
async fn show_activity(world: &World) -> anyhow::Result<()> {
    let state = world.state().context("daemon stopped")?;
    let entries = activity::recent(&state.db.pool, None, 50).await?;
    if let Some(conflict) = entries.iter().find(|e| e.decision == "conflict") {
        crate::outln!(
            "conflict on {} decided: winner {} by policy {} (sheet changed {}, trello changed {})\n",
            conflict.field.as_deref().unwrap_or("?"),
            conflict.detail["winner"].as_str().unwrap_or("?"),
            conflict.detail["policy"].as_str().unwrap_or("?"),
            conflict.detail["sheet_changed_at"].as_str().unwrap_or("?"),
            conflict.detail["trello_changed_at"].as_str().unwrap_or("?"),
        );
    }
    crate::outln!("Activity log (newest first, as GET /admin/activity shows it):");
    for e in entries.iter().filter(|e| e.decision != "echo").take(12) {
        crate::outln!(
            "  {}  {:<8} {:<15} {}",
            e.at,
            e.field.as_deref().unwrap_or("-"),
            e.decision,
            e.lead_id.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `--keep-running`: the addresses and the admin token, then wait for Ctrl-C.
async fn keep_open(world: &World) {
    crate::outln!(
        "\nStill running. Daemon: {}  Trello emulator: {}  Sheets emulator: {}",
        world.base_url(),
        world.trello.api_base(),
        world.google.sheets_api_base()
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

fn show(world: &World) {
    let mut out = String::new();
    let _ = writeln!(out, "  sheet \"Leads\":");
    let _ = writeln!(
        out,
        "    {:<14} {:<22} {:<10} {:<28} Trello Card",
        "Lead ID", "Name", "Status", "Notes"
    );
    for r in world.rows(PAIR) {
        let _ = writeln!(
            out,
            "    {:<14} {:<22} {:<10} {:<28} {}",
            r[0], r[1], r[5], r[6], r[7]
        );
    }
    let _ = writeln!(out, "  Trello board:");
    let _ = writeln!(
        out,
        "    {:<22} {:<10} {:<18} Description",
        "Card", "List", "Email"
    );
    for c in world.cards(PAIR) {
        let email = c
            .custom_texts
            .get(&world.field_id(PAIR, "Email"))
            .cloned()
            .unwrap_or_default();
        let (notes, marker) = split_description(&c.desc);
        let desc = format!(
            "{notes} [leadsync:{}]",
            marker.map(|m| m.to_string()).unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "    {:<22} {:<10} {:<18} {}",
            c.name,
            world.list_name(PAIR, &c.id_list),
            email,
            desc.replace('\n', " ")
        );
    }
    crate::outln!("{out}");
}
