//! What each subcommand does once the configuration is loaded.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::app::{self, App};
use crate::check;
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
            format!("http://127.0.0.1:{}/healthz", bind.port())
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
