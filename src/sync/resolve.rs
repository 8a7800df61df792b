//! Start-up resolution: for each configured pair, find its lists and custom fields by name, the
//! token's member, and the sheet's header columns; a missing one is a clear error naming it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clients::airtable::AirtableClient;
use crate::clients::http::ClientError;
use crate::clients::sheets::SheetsClient;
use crate::clients::sheets::a1::quote_sheet;
use crate::clients::trello::TrelloClient;
use crate::config::{PairSettings, Settings};
use crate::model::TrackerKind;
use crate::store::{Db, StoreError, pairs};
use crate::sync::context::{BoardLayout, PairContext, Unresolved};
use crate::sync::mapping::{ColumnMap, MissingColumns};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no [[pairs]] configured: add one to the config file (see config/example.toml)")]
    NoPairs,
    #[error("pair {pair}: {source}")]
    Api {
        pair: String,
        #[source]
        source: ClientError,
    },
    #[error("{0}; run `leadsync check --fix` to create what is missing")]
    Board(#[from] Unresolved),
    #[error("pair {pair}: {sheet}: {source}; run `leadsync check --fix` to add what is missing")]
    Columns {
        pair: String,
        sheet: String,
        #[source]
        source: MissingColumns,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves every pair and records them (and the member id) in the database.
pub async fn resolve_pairs(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
    sheets: &SheetsClient,
    airtable: Option<&AirtableClient>,
) -> Result<HashMap<String, Arc<PairContext>>, ResolveError> {
    let out = resolve_contexts(settings, trello, sheets, airtable).await?;
    record_pairs(settings, db, &out).await?;
    Ok(out)
}

/// Upserts the configured pairs and their member id (what `--dry-run` must not do).
pub async fn record_pairs(
    settings: &Settings,
    db: &Db,
    contexts: &HashMap<String, Arc<PairContext>>,
) -> Result<(), StoreError> {
    let records: Vec<pairs::NewPair> = settings.pairs.iter().map(new_pair).collect();
    pairs::upsert_all(db, &records).await?;
    for (name, ctx) in contexts {
        pairs::set_member_id(&db.pool, name, &ctx.member_id).await?;
    }
    Ok(())
}

/// Where a pair's leads live, as errors and logs name it.
fn tracker_place(pair: &PairSettings) -> String {
    match pair.tracker {
        TrackerKind::Sheets => format!("sheet \"{}\"", pair.sheet),
        TrackerKind::Airtable => format!(
            "Airtable table \"{}\" of base {}",
            pair.table.as_deref().unwrap_or_default(),
            pair.base_id.as_deref().unwrap_or_default()
        ),
    }
}

/// The stored record of a configured pair, with its tracker kind's settings.
fn new_pair(pair: &PairSettings) -> pairs::NewPair {
    let (name, board) = (pair.name.as_str(), pair.board_id.as_str());
    match pair.tracker {
        TrackerKind::Sheets => {
            pairs::NewPair::sheets(name, &pair.spreadsheet_id, &pair.sheet, board)
        }
        TrackerKind::Airtable => pairs::NewPair::airtable(
            name,
            pair.base_id.as_deref().unwrap_or_default(),
            pair.table.as_deref().unwrap_or_default(),
            board,
        ),
    }
}

/// The field names of an Airtable pair's table: what a sheet's header row is to a Sheets pair.
async fn airtable_fields(
    pair: &PairSettings,
    airtable: Option<&AirtableClient>,
) -> Result<Vec<String>, ResolveError> {
    let api = |source| ResolveError::Api {
        pair: pair.name.clone(),
        source,
    };
    let client = airtable.ok_or_else(|| {
        api(ClientError::Config(
            "airtable.token: needed by Airtable pairs".into(),
        ))
    })?;
    let (base, table) = (pair.base_id.as_deref(), pair.table.as_deref());
    let (base, table) = (base.unwrap_or_default(), table.unwrap_or_default());
    match client.table(base, table).await.map_err(api)? {
        Some(t) => Ok(t.fields.into_iter().map(|f| f.name).collect()),
        None => Err(api(ClientError::Config(format!(
            "table \"{table}\" is not in base {base}"
        )))),
    }
}

/// Resolves every pair against the APIs without touching the database.
pub async fn resolve_contexts(
    settings: &Settings,
    trello: &TrelloClient,
    sheets: &SheetsClient,
    airtable: Option<&AirtableClient>,
) -> Result<HashMap<String, Arc<PairContext>>, ResolveError> {
    if settings.pairs.is_empty() {
        return Err(ResolveError::NoPairs);
    }
    let api = |pair: &str| {
        let pair = pair.to_owned();
        move |source| ResolveError::Api { pair, source }
    };
    let first = &settings.pairs[0].name;
    let member = trello.me().await.map_err(api(first))?;
    let mut out = HashMap::new();
    for pair in &settings.pairs {
        let lists = trello
            .lists(&pair.board_id)
            .await
            .map_err(api(&pair.name))?;
        let fields = trello
            .custom_fields(&pair.board_id)
            .await
            .map_err(api(&pair.name))?;
        let layout = BoardLayout {
            lists: lists
                .into_iter()
                .filter(|l| !l.closed)
                .map(|l| (l.id, l.name))
                .collect(),
            custom_fields: fields
                .into_iter()
                .map(|f| (f.id, f.name, f.field_type))
                .collect(),
        };
        let ctx = PairContext::new(settings, pair, &layout, &member.id)?;
        let row1 = match pair.tracker {
            TrackerKind::Sheets => {
                let range = format!("{}!1:1", quote_sheet(&pair.sheet));
                let header = (sheets.read_range(&pair.spreadsheet_id, &range).await)
                    .map_err(api(&pair.name))?;
                header.values.into_iter().next().unwrap_or_default()
            }
            TrackerKind::Airtable => airtable_fields(pair, airtable).await?,
        };
        ColumnMap::from_header(&row1, &ctx.columns).map_err(|source| ResolveError::Columns {
            pair: pair.name.clone(),
            sheet: tracker_place(pair),
            source,
        })?;
        tracing::info!(pair = %pair.name, board = %pair.board_id, tracker = %pair.tracker, place = %tracker_place(pair), "pair resolved");
        out.insert(pair.name.clone(), Arc::new(ctx));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::test_support::settings;

    #[test]
    fn a_pair_is_stored_with_its_tracker_kind_and_that_kinds_settings() {
        let mut pair = settings().pairs[0].clone();
        let sheets = new_pair(&pair);
        assert_eq!(sheets.tracker, TrackerKind::Sheets);
        assert_eq!(
            sheets.tracker_settings,
            serde_json::json!({"spreadsheet_id": "s", "sheet": "Leads"})
        );
        pair.tracker = TrackerKind::Airtable;
        (pair.spreadsheet_id, pair.sheet) = (String::new(), String::new());
        (pair.base_id, pair.table) = (Some("appB".into()), Some("tblL".into()));
        let airtable = new_pair(&pair);
        assert_eq!(airtable.tracker, TrackerKind::Airtable);
        assert_eq!(
            airtable.tracker_settings,
            serde_json::json!({"base_id": "appB", "table": "tblL"})
        );
        assert_eq!(airtable.board_id, "b");
    }
}
