//! The config file a sandbox world's daemon runs with: the emulators' addresses and
//! credentials, the sync options of the world, and one `[[pairs]]` table per pair.

use std::path::Path;

use super::{LISTS, SHEET, WorldOptions, WorldPair, airtable, notion};
use crate::connectors::sheets::sandbox::GoogleSandbox;
use crate::connectors::trello::sandbox::TrelloSandbox;

pub(super) fn config_text(
    o: &WorldOptions,
    trello: &TrelloSandbox,
    google: &GoogleSandbox,
    pairs: &[WorldPair],
    dir: &Path,
    port: u16,
    secret: &str,
) -> String {
    let mut text = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\nadmin_token = \"{admin}\"\n\n\
         [database]\nurl = \"{db}\"\n\n\
         [trello]\napi_base = \"{tb}\"\napi_key = \"{tk}\"\napi_token = \"{tt}\"\napi_secret = \"{ts}\"\n\n\
         [google]\nsheets_api_base = \"{gb}\"\ncredentials_file = \"{cf}\"\n\n\
         [apps_script]\nsecret = \"{secret}\"\n\n\
         [sync]\nreconcile_interval_secs = {ri}\ndebounce_ms = {db_ms}\nconflict_policy = \"{policy}\"\n",
        admin = uuid::Uuid::new_v4().simple(),
        db = (o.database_url.clone()).unwrap_or_else(|| super::database::sqlite_url(dir)),
        tb = trello.api_base(),
        tk = trello.api_key(),
        tt = trello.api_token(),
        ts = trello.api_secret(),
        gb = google.sheets_api_base(),
        cf = dir.join("service_account.json").display(),
        ri = o.reconcile_interval_secs,
        db_ms = o.debounce_ms,
        policy = o.conflict_policy,
    );
    for pair in pairs {
        let tracker = match (&pair.table, &pair.database) {
            (Some(table), _) => airtable::pair_keys(table),
            (None, Some(db)) => notion::pair_keys(db),
            (None, None) => format!(
                "spreadsheet_id = \"{}\"\nsheet = \"{SHEET}\"\n",
                pair.spreadsheet_id
            ),
        };
        text.push_str(&format!(
            "\n[[pairs]]\nname = \"{}\"\n{tracker}board_id = \"{}\"\n\n[pairs.status_lists]\n",
            pair.name, pair.board.board_id
        ));
        for list in LISTS {
            text.push_str(&format!("{list} = \"{list}\"\n"));
        }
    }
    text
}
