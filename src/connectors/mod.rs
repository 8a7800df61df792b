//! One folder per outside system, each readable alone: its client (on the shared HTTP policy,
//! `crate::clients::http`) and its emulator at the bottom, its `check` and webhook admin at the
//! top. The lead trackers (`sheets`, `airtable`, `notion`) implement
//! [`TrackerConnector`](crate::sync::connector::TrackerConnector) above the engine, and `trello`
//! implements [`BoardConnector`] ([`board`] builds it). `check` and `webhooks` hold what every system's check and webhook
//! admin report. [`trackers`] is the one list of the trackers the composition root (`app`,
//! `reconcile_cmd`) builds a run's [`Trackers`] from.

pub mod airtable;
#[cfg(test)]
mod bench;
pub mod check;
pub mod notion;
pub mod sheets;
#[cfg(test)]
mod tests_dispatch;
#[cfg(test)]
mod tests_dispatch_fields;
#[cfg(test)]
mod tests_dispatch_mark;
#[cfg(test)]
mod tests_dispatch_restore;
#[cfg(test)]
mod tests_shutdown;
pub mod trello;
pub mod webhooks;

use std::sync::Arc;

use crate::clients::http::ClientError;
use crate::config::Settings;
use crate::connectors::airtable::client::AirtableClient;
use crate::connectors::notion::client::NotionClient;
use crate::connectors::sheets::client::SheetsClient;
use crate::model::TrackerKind;
use crate::sync::board::BoardConnector;
use crate::sync::connector::Trackers;
use sheets::client::build::sheets_client;
use trello::TrelloBoard;
use trello::client::TrelloClient;

use airtable::AirtableTracker;
use notion::NotionTracker;
use sheets::SheetsTracker;

/// The connectors of the settings, their clients built from the settings (fails naming the
/// missing credential); Airtable's only when a pair keeps its leads there.
pub fn trackers(settings: &Settings) -> Result<Trackers, ClientError> {
    let trackers = trackers_with(sheets_client(settings)?, airtable_client(settings)?);
    Ok(with_notion(trackers, notion_client(settings)?, settings))
}

/// The trackers with Notion's connector over `client` (when Notion pairs need one), polling as
/// `notion.poll_interval_secs` says.
pub fn with_notion(trackers: Trackers, client: Option<NotionClient>, s: &Settings) -> Trackers {
    match client {
        Some(client) => {
            let poll = notion::poll_interval(s.notion.poll_interval_secs);
            trackers.with(Arc::new(NotionTracker::new(client, poll)))
        }
        None => trackers,
    }
}

/// The Notion client of the settings; `None` without Notion pairs.
pub fn notion_client(settings: &Settings) -> Result<Option<NotionClient>, ClientError> {
    let used = (settings.pairs.iter()).any(|p| p.tracker == TrackerKind::Notion);
    match used {
        true => notion::client::build::notion_client(settings).map(Some),
        false => Ok(None),
    }
}

/// The connectors over clients made by the caller (the demo and tests set their own limits).
pub fn trackers_with(sheets: SheetsClient, airtable: Option<AirtableClient>) -> Trackers {
    let trackers = Trackers::default().with(Arc::new(SheetsTracker::new(sheets)));
    match airtable {
        Some(client) => trackers.with(Arc::new(AirtableTracker::new(client))),
        None => trackers,
    }
}

/// The engine's board over a Trello client made by the caller (from the settings, or the demo's
/// and tests' own limits).
pub fn board(trello: TrelloClient) -> Arc<dyn BoardConnector> {
    Arc::new(TrelloBoard::new(trello))
}

/// The Airtable client of the settings; `None` without Airtable pairs.
pub fn airtable_client(settings: &Settings) -> Result<Option<AirtableClient>, ClientError> {
    let used = (settings.pairs.iter()).any(|p| p.tracker == TrackerKind::Airtable);
    match used {
        true => airtable::client::build::airtable_client(settings).map(Some),
        false => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::test_support::settings;

    #[test]
    fn a_pair_is_stored_with_its_tracker_kind_and_that_kinds_settings() {
        let mut pair = settings().pairs[0].clone();
        let sheets = SheetsTracker::stored_of(&pair);
        assert_eq!(sheets.tracker, TrackerKind::Sheets);
        assert_eq!(
            sheets.tracker_settings,
            serde_json::json!({"spreadsheet_id": "s", "sheet": "Leads"})
        );
        pair.tracker = TrackerKind::Airtable;
        (pair.spreadsheet_id, pair.sheet) = (String::new(), String::new());
        (pair.base_id, pair.table) = (Some("appB".into()), Some("tblL".into()));
        let airtable = AirtableTracker::stored_of(&pair);
        assert_eq!(airtable.tracker, TrackerKind::Airtable);
        assert_eq!(
            airtable.tracker_settings,
            serde_json::json!({"base_id": "appB", "table": "tblL"})
        );
        assert_eq!(airtable.board_id, "b");
    }
}
