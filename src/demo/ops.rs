//! What a user does in the world (edit the sheet and let the Apps Script send its event; move,
//! rename, edit, archive, delete and create cards in the browser) and how tests wait for the
//! daemon to finish reacting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde_json::json;

use crate::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use crate::demo::world::{HEADER, SHEET, World, apps_script_secret};
use crate::inbound::signature::StandardWebhooksKey;

/// One Apps Script event: its `webhook-id` (kept across resends) and body.
#[derive(Clone, Debug)]
pub struct SheetEventDelivery {
    pub id: String,
    pub body: String,
}

impl World {
    /// Types whole rows into the sheet from `first_row` (1-based) and sends the Apps Script
    /// event for them, as the installed on-edit trigger would.
    pub async fn user_edits_rows(
        &self,
        pair: &str,
        first_row: u32,
        rows: &[&[&str]],
    ) -> anyhow::Result<()> {
        let p = self.pair(pair);
        self.google
            .set_rows(&p.spreadsheet_id, SHEET, first_row, rows)
            .map_err(|e| anyhow!("{e}"))?;
        let rows: Vec<u32> = (first_row..first_row + rows.len() as u32).collect();
        self.send_sheet_event(pair, "edit", &rows).await
    }

    /// Types one cell (by header) of a row and sends the event.
    pub async fn user_edits_cell(
        &self,
        pair: &str,
        row: u32,
        header: &str,
        value: &str,
    ) -> anyhow::Result<()> {
        let p = self.pair(pair);
        let col = HEADER
            .iter()
            .position(|h| *h == header)
            .context("no such header")? as u32
            + 1;
        self.google
            .set_cell(&p.spreadsheet_id, SHEET, row, col, value)
            .map_err(|e| anyhow!("{e}"))?;
        // The script names the one cell typed (`edited`), as `Code.gs` does.
        let event = self.sheet_edit_event(pair, "edit", &[row], &[col as usize - 1]);
        let status = self.post_sheet_event(&event).await?;
        anyhow::ensure!(status.is_success(), "sheet event answered {status}");
        Ok(())
    }

    /// Posts a signed Apps Script event with the rows' displayed values, as `Code.gs` does.
    pub async fn send_sheet_event(
        &self,
        pair: &str,
        kind: &str,
        rows: &[u32],
    ) -> anyhow::Result<()> {
        let event = self.sheet_event(pair, kind, rows);
        let status = self.post_sheet_event(&event).await?;
        anyhow::ensure!(status.is_success(), "sheet event answered {status}");
        Ok(())
    }

    /// The event the Apps Script would send now for `rows` (values and `edited_at` as of now);
    /// post it with [`World::post_sheet_event`], late or more than once, as a test needs.
    pub fn sheet_event(&self, pair: &str, kind: &str, rows: &[u32]) -> SheetEventDelivery {
        self.sheet_edit_event(pair, kind, rows, &[])
    }

    /// As [`World::sheet_event`], naming the columns (0-based) the edit set in each row, as the
    /// shipped script does (`edited`); none named is an older script's event.
    pub fn sheet_edit_event(
        &self,
        pair: &str,
        kind: &str,
        rows: &[u32],
        edited_cols: &[usize],
    ) -> SheetEventDelivery {
        let p = self.pair(pair);
        let grid = self.sheet(pair);
        let header = grid.first().cloned().unwrap_or_default();
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let cells = grid.get(*r as usize - 1).cloned().unwrap_or_default();
                let values: BTreeMap<String, String> = header
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.clone(), cells.get(i).cloned().unwrap_or_default()))
                    .collect();
                let mut row = json!({"row": r, "values": values});
                if !edited_cols.is_empty() {
                    let edited: Vec<&String> =
                        edited_cols.iter().filter_map(|c| header.get(*c)).collect();
                    row["edited"] = json!(edited);
                }
                row
            })
            .collect();
        let body = json!({
            "spreadsheet_id": p.spreadsheet_id,
            "sheet": SHEET,
            "kind": kind,
            "edited_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "rows": if kind == "edit" { rows } else { Vec::new() },
        })
        .to_string();
        SheetEventDelivery {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            body,
        }
    }

    /// Signs (with the current time, as a resend does) and posts an event; the answer's status.
    pub async fn post_sheet_event(
        &self,
        event: &SheetEventDelivery,
    ) -> anyhow::Result<reqwest::StatusCode> {
        self.post_sheet_event_to(&self.base_url(), event).await
    }

    /// As [`World::post_sheet_event`], to the daemon at `base` (one of several replicas, as a
    /// load balancer would pick).
    pub async fn post_sheet_event_to(
        &self,
        base: &str,
        event: &SheetEventDelivery,
    ) -> anyhow::Result<reqwest::StatusCode> {
        let key = StandardWebhooksKey::from_secret(&apps_script_secret(&self.settings))
            .map_err(|e| anyhow!("apps_script.secret: {e:?}"))?;
        let ts = chrono::Utc::now().timestamp();
        let response = reqwest::Client::new()
            .post(format!("{base}/webhooks/sheets"))
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", ts.to_string())
            .header(
                "webhook-signature",
                key.sign(&event.id, ts, event.body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(event.body.clone())
            .send()
            .await?;
        Ok(response.status())
    }

    /// The sheet as the API reads it (header first).
    pub fn sheet(&self, pair: &str) -> Vec<Vec<String>> {
        self.google
            .grid(&self.pair(pair).spreadsheet_id, SHEET)
            .unwrap_or_default()
    }

    /// The lead rows (header excluded), each padded to the header's width.
    pub fn rows(&self, pair: &str) -> Vec<Vec<String>> {
        self.sheet(pair)
            .into_iter()
            .skip(1)
            .map(|mut r| {
                r.resize(HEADER.len(), String::new());
                r
            })
            .collect()
    }

    pub fn cards(&self, pair: &str) -> Vec<SandboxCard> {
        self.trello.cards(&self.pair(pair).board.board_id)
    }

    pub fn card_named(&self, pair: &str, name: &str) -> Option<SandboxCard> {
        self.cards(pair).into_iter().find(|c| c.name == name)
    }

    pub fn list_id(&self, pair: &str, list: &str) -> String {
        self.pair(pair)
            .board
            .lists
            .get(list)
            .cloned()
            .unwrap_or_default()
    }

    pub fn list_name(&self, pair: &str, list_id: &str) -> String {
        let lists = &self.pair(pair).board.lists;
        lists
            .iter()
            .find(|(_, id)| *id == list_id)
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    }

    pub fn field_id(&self, pair: &str, field: &str) -> String {
        self.pair(pair)
            .board
            .fields
            .get(field)
            .cloned()
            .unwrap_or_default()
    }

    pub fn user_moves_card(&self, pair: &str, card_id: &str, list: &str) -> anyhow::Result<()> {
        let change = UserCardChange {
            id_list: Some(self.list_id(pair, list)),
            ..UserCardChange::default()
        };
        self.trello
            .user_update_card(card_id, &change)
            .map_err(|e| anyhow!("{e:?}"))
    }

    pub fn user_updates_card(&self, card_id: &str, change: UserCardChange) -> anyhow::Result<()> {
        self.trello
            .user_update_card(card_id, &change)
            .map_err(|e| anyhow!("{e:?}"))
    }

    pub fn user_sets_field(
        &self,
        pair: &str,
        card_id: &str,
        field: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        self.trello
            .user_set_custom_field(card_id, &self.field_id(pair, field), text)
            .map_err(|e| anyhow!("{e:?}"))
    }

    /// Waits until the daemon has nothing left to do: Trello deliveries sent, no event waiting
    /// in the inbox and no command in the outbox (dead letters aside), twice in a row.
    pub async fn settle(&self, limit: Duration) -> anyhow::Result<()> {
        let state = self
            .state()
            .context("the daemon is not running in this process")?;
        let deadline = Instant::now() + limit;
        let mut quiet = 0;
        while Instant::now() < deadline {
            let mut delivered = self.trello.wait_deliveries(Duration::from_millis(50)).await;
            if let Some(airtable) = &self.airtable {
                delivered &= airtable.wait_notifications(Duration::from_millis(50)).await;
            }
            if let Some(notion) = &self.notion {
                delivered &= notion.deliveries_drained(Duration::from_millis(50)).await;
            }
            // Notified change feeds not read yet count as events still to come.
            let (inbox, outbox): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing'))
                      + (SELECT count(*) FROM tracker_webhooks WHERE pinged > fetched)
                      + (SELECT count(*) FROM notion_events WHERE done = 0),
                        (SELECT count(*) FROM outbox WHERE status IN ('pending', 'in_flight'))",
            )
            .fetch_one(&state.db.pool)
            .await?;
            quiet = if delivered && inbox == 0 && outbox == 0 {
                quiet + 1
            } else {
                0
            };
            if quiet >= 3 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stuck: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT 'inbox', status, attempts, last_error FROM inbox WHERE status IN ('pending', 'processing', 'failed')
             UNION ALL
             SELECT kind, status, attempts, last_error FROM outbox WHERE status IN ('pending', 'in_flight', 'dead')",
        )
        .fetch_all(&state.db.pool)
        .await?;
        anyhow::bail!("the daemon did not settle within {limit:?}; waiting: {stuck:?}")
    }

    /// Asks the engine for a reconciliation of every pair and waits until it has run and its
    /// commands are sent.
    pub async fn reconcile(&self, limit: Duration) -> anyhow::Result<()> {
        let state = self
            .state()
            .context("the daemon is not running in this process")?;
        let before: Option<i64> =
            sqlx::query_scalar("SELECT min(coalesce(last_reconcile_at, 0)) FROM pairs")
                .fetch_one(&state.db.pool)
                .await?;
        let engine = state.engine.as_ref().context("no engine")?;
        anyhow::ensure!(engine.request_reconcile(None), "the engine stopped");
        let deadline = Instant::now() + limit;
        loop {
            let now: Option<i64> =
                sqlx::query_scalar("SELECT min(coalesce(last_reconcile_at, 0)) FROM pairs")
                    .fetch_one(&state.db.pool)
                    .await?;
            if now > before {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no reconciliation within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.settle(deadline.saturating_duration_since(Instant::now()))
            .await
    }
}
