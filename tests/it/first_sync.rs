//! First sync onto existing data: rows carrying lead ids and cards carrying their markers, but
//! no database yet, and the two sides disagree. `sync.initial_source` (or
//! `reconcile --initial-source`) says whose values stand.

use std::process::{Command, Output};

use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::model::{LeadId, Side};
use leadsync::sync::mapping::compose_description;

use crate::e2e::{NAME, P, SETTLE, STATUS};

/// What a card holds that the sheet row does not.
struct Truth {
    lead: LeadId,
    card_id: String,
    list_id: String,
}

/// One row "Ada"/New in the sheet; its card, linked by marker, says "Ada Lovelace"/Qualified.
async fn world_with_a_disagreeing_board() -> (World, Truth) {
    let w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let lead = LeadId::generate();
    w.google
        .set_rows(
            &w.pairs[0].spreadsheet_id,
            SHEET,
            2,
            &[[lead.as_str(), "Ada", "", "", "", "New", ""]],
        )
        .expect("row");
    let list_id = w.list_id(P, "Qualified");
    let card_id = w
        .trello
        .user_create_card(&list_id, "Ada Lovelace", &compose_description("", &lead))
        .expect("card");
    let truth = Truth {
        lead,
        card_id,
        list_id,
    };
    (w, truth)
}

async fn reconcile(w: &World, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leadsync"));
    cmd.arg("--config")
        .arg(w.config_path())
        .arg("reconcile")
        .args(args)
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn assert_board_stands(w: &World, truth: &Truth) {
    let card = w.trello.card(&truth.card_id).expect("card");
    assert_eq!(
        (card.name.as_str(), card.id_list.as_str()),
        ("Ada Lovelace", truth.list_id.as_str()),
        "the card is neither renamed nor moved"
    );
    let row = &w.rows(P)[0];
    assert_eq!(
        (row[NAME].as_str(), row[STATUS].as_str()),
        ("Ada Lovelace", "Qualified")
    );
    assert_eq!(w.cards(P).len(), 1, "no second card");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trello_as_initial_source_the_sheet_takes_the_boards_values() {
    let (w, truth) = world_with_a_disagreeing_board().await;
    reconcile(&w, &["--initial-source", "trello"], &[]).await;
    assert_board_stands(&w, &truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_key_says_the_same_and_the_default_keeps_the_sheet_winning() {
    let (w, truth) = world_with_a_disagreeing_board().await;
    reconcile(&w, &[], &[("LEADSYNC__SYNC__INITIAL_SOURCE", "trello")]).await;
    assert_board_stands(&w, &truth);

    let (w, truth) = world_with_a_disagreeing_board().await;
    reconcile(&w, &[], &[]).await;
    let card = w.trello.card(&truth.card_id).expect("card");
    assert_eq!(card.name, "Ada", "the sheet wins by default");
    assert_eq!(w.list_name(P, &card.id_list), "New");
    assert_eq!(w.rows(P)[0][NAME], "Ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_names_the_source_of_each_change_and_the_rule_that_chose_it() {
    let (w, truth) = world_with_a_disagreeing_board().await;
    let out = reconcile(&w, &["--dry-run", "--initial-source", "trello"], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lead = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|l| l["action"] == "lead" && l["lead_id"] == truth.lead.as_str())
        .unwrap_or_else(|| panic!("a line for the lead: {stdout}"));
    let decisions = lead["decisions"].as_array().expect("decisions");
    for field in ["name", "status"] {
        let d = decisions
            .iter()
            .find(|d| d["field"] == field)
            .unwrap_or_else(|| panic!("{field} decided: {lead}"));
        assert_eq!(d["decision"], "conflict", "{d}");
        assert_eq!(d["source"], "trello", "{d}");
        assert_eq!(d["decided_by"], "initial_source", "{d}");
    }
    let card = w.trello.card(&truth.card_id).expect("card");
    assert_eq!(card.name, "Ada Lovelace", "a dry run changes nothing");
    assert_eq!(w.rows(P)[0][NAME], "Ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_reconciler_follows_the_config_key() {
    let (mut w, truth) = world_with_a_disagreeing_board().await;
    w.settings.sync.initial_source = Side::Trello;
    w.start_app().await.expect("serves");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_board_stands(&w, &truth);
}
