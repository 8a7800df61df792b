//! A pair's `board_id` given as the board's URL or short link (what a user copies from the
//! browser) is resolved to the full id, so Trello's webhook deliveries are routed to the pair.

use std::time::Duration;

use leadsync::demo::world::WorldOptions;
use serde_json::Value;

use crate::admin_support::{Options, config_toml};
use crate::e2e::{P, SETTLE, STATUS, add_lead, world_with};
use crate::helpers::eventually;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_url_as_board_id_routes_webhook_deliveries_to_the_pair() {
    // No periodic reconciliation: only a routed webhook can bring the move to the sheet.
    let mut w = world_with(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await;
    let board = w.pair(P).board.clone();
    w.settings.pairs[0].board_id =
        format!("https://trello.com/b/{}/leads-default", board.short_link);
    w.start_app().await.expect("starts");
    w.register_webhooks().await.expect("registers");

    let state = w.state().expect("running");
    assert_eq!(state.settings.pairs[0].board_id, board.board_id);
    let hooks = w.trello.webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].id_model, board.board_id,
        "registered on the full id"
    );

    let (_, card) = add_lead(&w, P, 2, "Grace Hopper", "New").await;
    w.user_moves_card(P, &card.id, "Qualified").expect("move");
    eventually("the move reaches the sheet", SETTLE, || async {
        (w.rows(P)[0][STATUS] == "Qualified").then_some(())
    })
    .await;
}

/// `leadsync webhooks register` with the short link registers on (and prints) the full id, and
/// `leadsync check` says what the short link resolved to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resolves_a_short_link_before_registering_and_check_shows_it() {
    let env = crate::admin_support::admin_env(Options::default()).await;
    let dir = env.config.parent().expect("folder").to_path_buf();
    let config = dir.join("short.toml");
    let toml = config_toml(
        &crate::helpers::database_url(&dir),
        &env.public_url,
        &env.trello,
        &env.board.short_link,
        Options::default(),
    );
    std::fs::write(&config, toml).expect("write");
    let out = tokio::process::Command::new(BIN)
        .current_dir(&dir)
        .env_remove("LEADSYNC_CONFIG")
        .args(["webhooks", "register", "--config"])
        .arg(&config)
        .output()
        .await
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        printed["webhooks"][0]["board_id"],
        env.board.board_id.as_str()
    );
    assert_eq!(env.trello.webhooks()[0].id_model, env.board.board_id);

    let check = tokio::process::Command::new(BIN)
        .current_dir(&dir)
        .env_remove("LEADSYNC_CONFIG")
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    let line = format!(
        "board_id \"{}\" resolves to the board's id {}",
        env.board.short_link, env.board.board_id
    );
    assert!(stdout.contains(&line), "{stdout}");
}

/// A URL that cannot be a board's is an invalid configuration (exit 2, naming the key).
#[tokio::test]
async fn a_card_url_as_board_id_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[[pairs]]\nname = \"p\"\nspreadsheet_id = \"s\"\nsheet = \"Leads\"\n\
         board_id = \"https://trello.com/c/AbCd1234/7-ada\"\n[pairs.status_lists]\nNew = \"New\"\n",
    )
    .expect("write");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("LEADSYNC_CONFIG")
            .args(["migrate", "--config"])
            .arg(&config)
            .output(),
    )
    .await
    .expect("in time")
    .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pairs[0].board_id") && stderr.contains("card's URL"),
        "{stderr}"
    );
}
