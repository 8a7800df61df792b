//! The Google half of a pair's check: the spreadsheet, the sheet, and the header row. Three Sheets
//! calls at most (metadata, row 1, one batchUpdate for fixes): the per-user quota is small.

use crate::clients::http::ClientError;
use crate::config::{PairSettings, Settings};
use crate::connectors::check::{Account, Finding, Outcome, same_name};
use crate::connectors::sheets::client::a1::{A1Range, column_letters, quote_sheet};
use crate::connectors::sheets::client::build::sheets_client;
use crate::connectors::sheets::client::{SheetInfo, SheetsClient, ValueRange};

/// The service account: its key read and a token obtained, once for every Sheets pair.
pub async fn account(settings: &Settings) -> Account<SheetsClient> {
    let client = match sheets_client(settings) {
        Ok(c) => c,
        Err(e) => return Account::Broken(format!("google: {e}")),
    };
    match client.authenticate().await {
        Ok(()) => {
            let who = format!(
                "google: token obtained for service account {}",
                client.service_account()
            );
            Account::Usable(client, who)
        }
        Err(e) => Account::Broken(format!(
            "google: no token for service account {} ({e})",
            client.service_account()
        )),
    }
}

pub async fn check_pair(
    client: &SheetsClient,
    pair: &PairSettings,
    fix: bool,
    out: &mut Vec<Finding>,
) {
    let name = pair.name.as_str();
    let mut push = |outcome, what: String| out.push(Finding::new(name, outcome, what));
    let Some(sheet) = sheet(client, pair, &mut push).await else {
        return;
    };
    let id = pair.spreadsheet_id.as_str();
    let row1 = format!("{}!1:1", quote_sheet(&sheet.title));
    let header = match client.read_range(id, &row1).await {
        Ok(range) => range.values.into_iter().next().unwrap_or_default(),
        Err(e) => {
            push(
                Outcome::Error,
                format!("header row of sheet \"{}\": {e}", sheet.title),
            );
            return;
        }
    };
    let missing: Vec<(&str, &str)> = pair
        .columns
        .entries()
        .into_iter()
        .filter(|(_, wanted)| !header.iter().any(|h| same_name(h, wanted)))
        .collect();
    if missing.is_empty() {
        push(
            Outcome::Ok,
            format!(
                "header row of sheet \"{}\" has every configured column ({})",
                sheet.title,
                pair.columns.entries().len()
            ),
        );
        return;
    }
    if !fix {
        for (key, wanted) in &missing {
            push(Outcome::Missing, what(key, wanted));
        }
        return;
    }
    add_columns(client, id, &sheet, header.len(), &missing, &mut push).await;
}

/// `--fix`: the missing columns are added after the last used cell of the header row, in one
/// call, when the sheet has room for them.
async fn add_columns(
    client: &SheetsClient,
    id: &str,
    sheet: &SheetInfo,
    used: usize,
    missing: &[(&str, &str)],
    push: &mut impl FnMut(Outcome, String),
) {
    // Reads come back without trailing empty cells, so the row's length is the last used cell.
    let first = used as u32 + 1;
    let last = first + missing.len() as u32 - 1;
    if last > sheet.column_count {
        for (key, wanted) in missing {
            push(
                Outcome::Error,
                format!(
                    "{}: no room after column {} (the sheet has {} columns; add columns in Google Sheets)",
                    what(key, wanted),
                    column_letters(first - 1),
                    sheet.column_count
                ),
            );
        }
        return;
    }
    let cells = ValueRange {
        range: A1Range::rect(&sheet.title, first, 1, last, Some(1)).to_string(),
        values: vec![missing.iter().map(|(_, h)| h.trim().to_owned()).collect()],
    };
    match client.batch_update(id, &[cells]).await {
        Ok(_) => {
            for (i, (key, wanted)) in missing.iter().enumerate() {
                let at = column_letters(first + i as u32);
                push(
                    Outcome::Fixed,
                    format!("{} added to the header row at {at}1", column(key, wanted)),
                );
            }
        }
        Err(e) => {
            for (key, wanted) in missing {
                push(
                    Outcome::Error,
                    format!("{} could not be added: {e}", what(key, wanted)),
                );
            }
        }
    }
}

/// A configured column, named by its header and its config key.
fn column(key: &str, header: &str) -> String {
    format!("column \"{header}\" (columns.{key})")
}

/// A configured column as a finding about the header row.
fn what(key: &str, header: &str) -> String {
    format!("{} in the header row", column(key, header))
}

async fn sheet(
    client: &SheetsClient,
    pair: &PairSettings,
    push: &mut impl FnMut(Outcome, String),
) -> Option<SheetInfo> {
    let id = &pair.spreadsheet_id;
    let info = match client.spreadsheet(id).await {
        Ok(info) => info,
        Err(e) => {
            let why = match e {
                ClientError::NotFound { .. } => "not found (spreadsheet_id)".to_owned(),
                ClientError::Auth { status: 403, .. } => format!(
                    "not shared with {} (share it with that address as an editor)",
                    client.service_account()
                ),
                other => other.to_string(),
            };
            push(Outcome::Error, format!("spreadsheet {id}: {why}"));
            return None;
        }
    };
    let Some(sheet) = info.sheet(&pair.sheet) else {
        let titles: Vec<String> = info
            .sheets
            .iter()
            .map(|s| format!("\"{}\"", s.title))
            .collect();
        // Not fixed: a missing tab more likely means a typo in `sheet` than a sheet to create.
        push(
            Outcome::Error,
            format!(
                "sheet \"{}\" not found in spreadsheet {id} (it has {})",
                pair.sheet,
                if titles.is_empty() {
                    "no sheets".to_owned()
                } else {
                    titles.join(", ")
                }
            ),
        );
        return None;
    };
    push(
        Outcome::Ok,
        format!("spreadsheet {id}, sheet \"{}\" reachable", sheet.title),
    );
    Some(sheet.clone())
}
