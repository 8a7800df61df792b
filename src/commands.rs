//! What each subcommand does once the configuration is loaded.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminError};
use crate::app::App;
use crate::check::{self, offline};
use crate::cli::WebhooksAction;
use crate::config::{ConfigError, Settings};
use crate::connectors::airtable::client::AirtableClient;
use crate::connectors::trello::board_ids::{resolve_board_ids, resolve_mirror_board_ids};
use crate::connectors::trello::client::TrelloClient;
use crate::connectors::trello::client::build::trello_client;
use crate::store::{Db, Dialect, postgres};

pub async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    preflight(&settings)?;
    let app = App::build(settings).await?;
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    app.run_until_stopped(shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a daemon whose webhooks could not be verified (every delivery would get 401 while
/// it looks healthy), and warns when it has nothing to sync.
fn preflight(settings: &Settings) -> Result<(), ConfigError> {
    if let Some(missing) = offline::missing_secrets(settings).into_iter().next() {
        return Err(ConfigError::Invalid {
            key: missing.key,
            problem: missing.why,
        });
    }
    if settings.pairs.is_empty() && settings.mirrors.is_empty() {
        tracing::warn!(
            "no [[pairs]] configured: nothing will be synced. Add a [[pairs]] table (see \
             config/example.toml) to the config file given by --config FILE or LEADSYNC_CONFIG, \
             and run `leadsync check`"
        );
    }
    if let Some(problem) = offline::public_url_problem(settings) {
        tracing::warn!(key = %problem.key, "{}: {}", problem.key, problem.why);
    }
    Ok(())
}

pub async fn migrate(settings: Settings) -> anyhow::Result<ExitCode> {
    let url = &settings.database.url;
    let (report, database) = if Dialect::of(url) == Some(Dialect::Postgres) {
        let report = postgres::migrate(url)
            .await
            .context("migrating the PostgreSQL database")?;
        (report, postgres::redact(url))
    } else {
        let db = Db::connect(url).await.context("opening the database")?;
        let report = db.migrate().await?;
        db.close().await;
        (report, db.path().display().to_string())
    };
    for name in &report.applied {
        crate::outln!("applied {name}");
    }
    crate::outln!(
        "{} migration(s) applied, {} already present, database {database}",
        report.applied.len(),
        report.already,
    );
    Ok(ExitCode::SUCCESS)
}

/// Findings on stdout, one per line, then the summary; logs (if any) stay on stderr.
pub async fn check(settings: Settings, fix: bool) -> anyhow::Result<ExitCode> {
    let findings = check::run(&settings, fix).await;
    for finding in &findings {
        crate::outln!("{finding}");
    }
    crate::outln!("{}", check::summary(&findings));
    Ok(if check::usable(&findings) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn healthcheck(settings: Settings, url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = match url {
        Some(url) => url,
        None => {
            let bind: std::net::SocketAddr = settings.server.bind.parse()?;
            // Readiness, not liveness: a daemon whose database is gone is restarted, not kept.
            format!("http://127.0.0.1:{}/readyz", bind.port())
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    match client.get(&url).send().await {
        Ok(resp) if resp.status().is_success() => {
            crate::outln!("healthy: {url}");
            Ok(ExitCode::SUCCESS)
        }
        Ok(resp) => {
            eprintln!("unhealthy: {url} answered {}", resp.status());
            Ok(ExitCode::FAILURE)
        }
        Err(err) => {
            eprintln!("unhealthy: {url}: {}", err.without_url());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Usage and configuration problems exit 2 with their message; the rest go up (exit 1).
fn admin_failure(err: AdminError) -> anyhow::Result<ExitCode> {
    if err.is_usage() {
        eprintln!("leadsync: {err}");
        Ok(ExitCode::from(crate::report::EXIT_CONFIG))
    } else {
        Err(err.into())
    }
}

/// `leadsync webhooks register|list|delete`: the JSON of `/admin/webhooks` on stdout.
pub async fn webhooks(settings: Settings, action: WebhooksAction) -> anyhow::Result<ExitCode> {
    let result = match action {
        WebhooksAction::List => {
            let (trello, airtable) = match admin_clients(&settings) {
                Ok(clients) => clients,
                Err(err) => return admin_failure(err),
            };
            let db = open_migrated(&settings).await?;
            let result = admin::list_webhooks(&settings, &db, &trello, airtable.as_ref()).await;
            db.close().await;
            result.map(Some)
        }
        WebhooksAction::Register => {
            let (trello, airtable) = match admin_clients(&settings) {
                Ok(clients) => clients,
                Err(err) => return admin_failure(err),
            };
            // Webhooks are registered for, and later matched by, the board's full id.
            let mut settings = settings;
            resolve_board_ids(&mut settings.pairs, &trello).await?;
            (resolve_mirror_board_ids(&mut settings.mirrors, &trello).await)
                .map_err(anyhow::Error::msg)?;
            let db = open_migrated(&settings).await?;
            let result = admin::register_webhooks(&settings, &db, &trello, airtable.as_ref()).await;
            db.close().await;
            result.map(Some)
        }
        WebhooksAction::NotionToken { reset } => {
            let db = open_migrated(&settings).await?;
            let result = notion_token(&settings, &db, reset).await;
            db.close().await;
            result.map(|()| None)
        }
        WebhooksAction::Delete { id } => {
            let db = open_migrated(&settings).await?;
            let result = admin::delete_webhook(&settings, &db, None, &id).await;
            db.close().await;
            result.map(|()| {
                crate::outln!("deleted {id}");
                None
            })
        }
    };
    match result {
        Ok(Some(hooks)) => {
            let json = serde_json::json!({ "webhooks": hooks });
            crate::outln!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => Ok(ExitCode::SUCCESS),
        Err(err) => admin_failure(err),
    }
}

/// Prints the Notion verification token, or forgets the stored one.
async fn notion_token(settings: &Settings, db: &Db, reset: bool) -> Result<(), AdminError> {
    if !reset {
        crate::outln!("{}", admin::notion_token(settings, db).await?.token);
        return Ok(());
    }
    match admin::reset_notion_token(db).await? {
        true => crate::outln!("the stored Notion verification token is forgotten"),
        false => crate::outln!("no Notion verification token was stored"),
    }
    Ok(())
}

/// The Trello client, and the Airtable one when a pair has an Airtable tracker.
fn admin_clients(
    settings: &Settings,
) -> Result<(TrelloClient, Option<AirtableClient>), AdminError> {
    let trello = trello_client(settings)?;
    Ok((trello, admin::airtable_client_if_needed(settings)?))
}

async fn open_migrated(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database.url)
        .await
        .context("opening the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// `leadsync apps-script [--pair NAME]`: the filled-in script on stdout, nothing else.
pub async fn apps_script(settings: Settings, pair: Option<String>) -> anyhow::Result<ExitCode> {
    match admin::apps_script_text(&settings, pair.as_deref()) {
        Ok(text) => {
            // The script embeds the URL: one that cannot be reached makes it fail silently.
            if let Some(problem) = offline::public_url_problem(&settings) {
                eprintln!("leadsync: warning: {}: {}", problem.key, problem.why);
            }
            crate::out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => admin_failure(err),
    }
}
