#![forbid(unsafe_code)]
//! The `leadsync` binary: parse the command line, load the configuration, dispatch.

use std::process::ExitCode;

use clap::Parser;
use leadsync::cli::{Cli, Command};
use leadsync::config::{self, Sources};
use leadsync::telemetry::{self, LogTarget};

/// Exit status for bad usage and invalid configuration (clap uses it for usage errors too).
const EXIT_CONFIG: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let target = match cli.command {
        Command::Serve => LogTarget::Stdout,
        _ => LogTarget::Stderr,
    };
    if let Command::Demo { keep_running } = cli.command {
        // The demo's own output is the point: logs only at warn unless RUST_LOG says otherwise.
        if std::env::var_os("RUST_LOG").is_none() {
            telemetry::init_with_default(target, "warn");
        } else {
            telemetry::init(target);
        }
        return match leadsync::demo::run::run(keep_running).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("leadsync demo: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    telemetry::init(target);
    let settings = match Sources::from_process(cli.config.clone()).and_then(|s| config::load(&s)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("leadsync: invalid configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match cli.command {
        Command::Serve => leadsync::commands::serve(settings).await,
        Command::Migrate => leadsync::commands::migrate(settings).await,
        Command::Check { fix } => leadsync::commands::check(settings, fix).await,
        Command::Reconcile {
            pair,
            dry_run,
            initial_source,
        } => leadsync::reconcile_cmd::run(settings, pair, dry_run, initial_source).await,
        Command::Demo { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Webhooks { action } => leadsync::commands::webhooks(settings, action).await,
        Command::AppsScript { pair } => leadsync::commands::apps_script(settings, pair).await,
        Command::Healthcheck { url } => leadsync::commands::healthcheck(settings, url).await,
    };
    result.unwrap_or_else(|err| {
        tracing::error!(error = format!("{err:#}"), "leadsync failed");
        eprintln!("leadsync: {err:#}");
        ExitCode::FAILURE
    })
}
