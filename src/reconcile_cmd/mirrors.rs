//! `leadsync reconcile --pair NAME` where NAME is a mirror's: both boards read whole, every card
//! paired with its twin and merged, missing twins created; the mirror engine writes the cards
//! itself, so there is nothing left to send afterwards.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use crate::config::Settings;
use crate::connectors;
use crate::connectors::trello::board_ids::resolve_mirror_board_ids;
use crate::connectors::trello::client::build::trello_client;
use crate::mirror::Mirrors;

pub async fn run(mut settings: Settings, name: &str, dry_run: bool) -> anyhow::Result<ExitCode> {
    if dry_run {
        eprintln!(
            "leadsync: --dry-run: mirror \"{name}\" cannot be planned without writing yet; run it \
             without --dry-run"
        );
        return Ok(ExitCode::from(2));
    }
    settings.mirrors.retain(|m| m.name == name);
    let trello = trello_client(&settings)?;
    (resolve_mirror_board_ids(&mut settings.mirrors, &trello).await).map_err(anyhow::Error::msg)?;
    let (db, _) = super::open_db(&settings, false).await?;
    let board = connectors::board(trello);
    let Some(mirrors) = Mirrors::build(&settings, db.clone(), Arc::clone(&board)).await? else {
        return Ok(ExitCode::from(2));
    };
    let ok = mirrors.reconcile_all().await;
    crate::outln!("{}", json!({"mirrors": [name], "ok": ok}));
    db.close().await;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
