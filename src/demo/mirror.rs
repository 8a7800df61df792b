//! `leadsync demo --mirror`: two Trello boards kept in two-way sync by a board mirror
//! (CONTRACT §8), through a short scenario — a card gets its twin, it moves, a label and a
//! checklist item travel, a rename on both boards is one conflict decided by the policy.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{self, Sources};
use crate::connectors::trello::sandbox::{BoardSetup, UserCardChange};
use crate::demo::world::{World, WorldOptions};
use crate::store::activity;
use crate::sync::mapping::split_description;

const MIRROR: &str = "client-board";
const SETTLE: Duration = Duration::from_secs(60);

struct Boards {
    a: BoardSetup,
    b: BoardSetup,
}

pub async fn run(keep_running: bool) -> anyhow::Result<()> {
    crate::outln!(
        "leadsync demo --mirror: starting the Trello emulator and the daemon on 127.0.0.1 …"
    );
    let (mut world, boards) = start().await?;
    let result = scenario(&world, &boards).await;
    if result.is_ok() && keep_running {
        crate::outln!(
            "\nStill running. Daemon: {}  Trello emulator: {}   (Ctrl-C stops)",
            world.base_url(),
            world.trello.api_base()
        );
        crate::shutdown::stop_signal().await;
    }
    world.stop_app().await?;
    result?;
    crate::outln!("\ndemo finished: every step mirrored.");
    Ok(())
}

/// The world, two boards and a mirror of them in its config, then the daemon and the webhooks.
async fn start() -> anyhow::Result<(World, Boards)> {
    let mut world = World::start(WorldOptions {
        debounce_ms: 400,
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .context("starting the demo world")?;
    let t = &world.trello;
    let a = t.setup_board("Internal", &["To Do", "Doing", "Done"], &[]);
    let b = t.setup_board("Client", &["Backlog", "In Progress", "Done"], &[]);
    let mut text = std::fs::read_to_string(world.config_path())?;
    let _ = write!(
        text,
        "\n[[mirrors]]\nname = \"{MIRROR}\"\nboard_a = \"{}\"\nboard_b = \"{}\"\n\
         conflict_policy = \"last_writer_wins\"\n[mirrors.lists]\n\"To Do\" = \"Backlog\"\n\
         \"Doing\" = \"In Progress\"\n\"Done\" = \"Done\"\n",
        a.board_id, b.board_id
    );
    std::fs::write(world.config_path(), text)?;
    world.settings = config::load(&Sources {
        file: Some(world.config_path()),
        ..Sources::default()
    })
    .context("the demo's mirror config")?;
    world.start_app().await?;
    world.register_webhooks().await?;
    crate::outln!("daemon: {}", world.base_url());
    crate::outln!(
        "Mirror \"{MIRROR}\": board \"Internal\" (a) ↔ board \"Client\" (b), lists To Do → Backlog, \
         Doing → In Progress, Done → Done.\n"
    );
    Ok((world, Boards { a, b }))
}

async fn scenario(world: &World, boards: &Boards) -> anyhow::Result<()> {
    let t = &world.trello;
    step(
        1,
        "On the Internal board, a card \"Homepage copy\" is added to \"To Do\".",
    );
    let card = t.user_create_card(&boards.a.lists["To Do"], "Homepage copy", "Draft v1")?;
    settle_and_show(world, boards).await?;
    let twin = twin_of(world, boards, &card)?;

    step(2, "On the Internal board, the card is moved to \"Doing\".");
    let to_doing = UserCardChange {
        id_list: Some(boards.a.lists["Doing"].clone()),
        ..UserCardChange::default()
    };
    t.user_update_card(&card, &to_doing)?;
    settle_and_show(world, boards).await?;

    step(
        3,
        "On the Client board, the client puts a new red label \"Urgent\" on the twin.",
    );
    let urgent = t.user_create_label(&boards.b.board_id, "Urgent", Some("red"))?;
    t.user_card_label(&twin, &urgent, true)?;
    settle_and_show(world, boards).await?;

    step(
        4,
        "Internal adds a checklist \"Launch\" with \"Proofread\"; the client checks it off.",
    );
    let list = t.user_add_checklist(&card, "Launch")?;
    t.user_add_item(&list, "Proofread")?;
    world.settle(SETTLE).await?;
    let item = (t.checklists(&twin).first())
        .and_then(|l| l.items.first().map(|i| i.id.clone()))
        .context("the checklist did not reach the client board")?;
    t.user_update_item(&twin, &item, None, Some(true))?;
    settle_and_show(world, boards).await?;

    step(
        5,
        "Both boards rename the card at the same moment: Internal first, the client a moment later.",
    );
    t.user_update_card(&card, &renamed("Homepage copy (internal)"))?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    t.user_update_card(&twin, &renamed("Homepage copy (client)"))?;
    settle_and_show(world, boards).await?;
    decisions(world).await
}

fn renamed(name: &str) -> UserCardChange {
    UserCardChange {
        name: Some(name.into()),
        ..UserCardChange::default()
    }
}

fn step(n: u32, text: &str) {
    crate::outln!("── step {n}: {text}");
}

/// The card on board b carrying the marker of `card` on board a.
fn twin_of(world: &World, boards: &Boards, card: &str) -> anyhow::Result<String> {
    let marker = (world.trello.card(card))
        .and_then(|c| split_description(&c.desc).1)
        .context("the card has no marker: no twin was made")?;
    (world.trello.cards(&boards.b.board_id).into_iter())
        .find(|c| split_description(&c.desc).1.as_ref() == Some(&marker))
        .map(|c| c.id)
        .context("no twin on the client board")
}

async fn settle_and_show(world: &World, boards: &Boards) -> anyhow::Result<()> {
    world.settle(SETTLE).await?;
    let mut out = String::new();
    for (title, board) in [("Internal (a)", &boards.a), ("Client (b)", &boards.b)] {
        let _ = writeln!(out, "  board {title}:");
        for c in world.trello.cards(&board.board_id) {
            let list = (board.lists.iter())
                .find(|(_, id)| **id == c.id_list)
                .map_or("?", |(name, _)| name.as_str());
            let labels = world.trello.card_label_names(&c.id).join(", ");
            let items: Vec<String> = (world.trello.checklists(&c.id).iter())
                .flat_map(|l| {
                    let mut items = l.items.clone();
                    items.sort_by(|x, y| x.pos.total_cmp(&y.pos));
                    let mark = |done| if done { "x" } else { " " };
                    (items.into_iter())
                        .map(move |i| format!("{}: [{}] {}", l.name, mark(i.complete), i.name))
                })
                .collect();
            let _ = writeln!(
                out,
                "    {:<26} {:<12} labels [{labels}]  checklist {}",
                c.name,
                list,
                if items.is_empty() {
                    "-".to_owned()
                } else {
                    items.join("; ")
                }
            );
        }
    }
    crate::outln!("{out}");
    Ok(())
}

/// The conflict's decision and the mirror's activity (decisions other than echoes).
async fn decisions(world: &World) -> anyhow::Result<()> {
    let state = world.state().context("daemon stopped")?;
    // "every step mirrored" only when it is so: an event the mirror could not handle fails it.
    let failed: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT last_error FROM inbox WHERE status = 'failed'")
            .fetch_all(&state.db.pool)
            .await?;
    if let Some((error,)) = failed.first() {
        anyhow::bail!(
            "{} event(s) did not mirror; the first failed: {}",
            failed.len(),
            error.as_deref().unwrap_or("no error recorded")
        );
    }
    let entries = activity::recent(&state.db.pool, None, 50).await?;
    let conflict = (entries.iter())
        .find(|e| e.decision == "conflict")
        .context("the rename on both boards was not decided as a conflict")?;
    crate::outln!(
        "conflict on {} decided: winner {} by policy {}\n",
        conflict.field.as_deref().unwrap_or("?"),
        conflict.detail["winner"].as_str().unwrap_or("?"),
        conflict.detail["policy"].as_str().unwrap_or("?"),
    );
    crate::outln!("Activity log of the mirror (newest first, as GET /admin/activity shows it):");
    for e in (entries.iter()).filter(|e| e.pair == MIRROR && e.decision != "echo") {
        crate::outln!(
            "  {}  {:<10} {:<10} link {}",
            e.at,
            e.field.as_deref().unwrap_or("-"),
            e.decision,
            e.lead_id.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
