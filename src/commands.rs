//! What each subcommand does once the configuration is loaded.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminError};
use crate::app::{self, App};
use crate::check;
use crate::cli::WebhooksAction;
use crate::clients::build::trello_client;
use crate::config::Settings;
use crate::store::Db;

pub async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = App::build(settings).await?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        app::stop_signal().await;
        tracing::info!("stop signal received, draining");
        trigger.cancel();
    });
    app.run_until_stopped(shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(settings: Settings) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&settings.database.url)
        .await
        .context("opening the database")?;
    let report = db.migrate().await?;
    for name in &report.applied {
        println!("applied {name}");
    }
    println!(
        "{} migration(s) applied, {} already present, database {}",
        report.applied.len(),
        report.already,
        db.path().display()
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Findings on stdout, one per line, then the summary; logs (if any) stay on stderr.
pub async fn check(settings: Settings, fix: bool) -> anyhow::Result<ExitCode> {
    let findings = check::run(&settings, fix).await;
    for finding in &findings {
        println!("{finding}");
    }
    println!("{}", check::summary(&findings));
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
            println!("healthy: {url}");
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

/// Exit status for bad usage and invalid configuration (CONTRACT §1).
const EXIT_USAGE: u8 = 2;

/// Usage and configuration problems exit 2 with their message; the rest go up (exit 1).
fn admin_failure(err: AdminError) -> anyhow::Result<ExitCode> {
    if err.is_usage() {
        eprintln!("leadsync: {err}");
        Ok(ExitCode::from(EXIT_USAGE))
    } else {
        Err(err.into())
    }
}

/// `leadsync webhooks register|list|delete`: the JSON of `/admin/webhooks` on stdout.
pub async fn webhooks(settings: Settings, action: WebhooksAction) -> anyhow::Result<ExitCode> {
    let trello = match trello_client(&settings) {
        Ok(client) => client,
        Err(err) => return admin_failure(err.into()),
    };
    let result = match action {
        WebhooksAction::List => admin::list_webhooks(&trello).await.map(Some),
        WebhooksAction::Register => {
            let db = open_migrated(&settings).await?;
            let result = admin::register_webhooks(&settings, &db, &trello).await;
            db.close().await;
            result.map(Some)
        }
        WebhooksAction::Delete { id } => {
            let db = open_migrated(&settings).await?;
            let result = admin::delete_webhook(&db, &trello, &id).await;
            db.close().await;
            result.map(|()| {
                println!("deleted {id}");
                None
            })
        }
    };
    match result {
        Ok(Some(hooks)) => {
            let json = serde_json::json!({ "webhooks": hooks });
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => Ok(ExitCode::SUCCESS),
        Err(err) => admin_failure(err),
    }
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
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => admin_failure(err),
    }
}
