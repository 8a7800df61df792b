#![forbid(unsafe_code)]
//! The `leadsync` binary: parse the command line, load the configuration, dispatch.

use std::process::ExitCode;

use clap::Parser;
use leadsync::cli::{Cli, Command, DemoTracker};
use leadsync::config::{self, ProcessEnv, Settings};
use leadsync::report::{self, EXIT_CONFIG};
use leadsync::telemetry::{self, LogSettings, LogTarget};

fn main() -> ExitCode {
    // `.env` first: it may hold LEADSYNC_CONFIG and the logging variables.
    let process = match ProcessEnv::read() {
        Ok(process) => process,
        Err(err) => {
            eprintln!("leadsync: invalid configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let cli = Cli::parse();
    match runtime_for(&cli.command) {
        Ok(runtime) => runtime.block_on(run(process, cli)),
        Err(err) => {
            eprintln!("leadsync: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `serve` and the demo run on a thread per core. `reconcile` (a pass, then one round of
/// sends at a time, its calls concurrent but waiting on I/O) runs on this thread alone: each
/// idle worker thread cost its stack and, under glibc, a malloc arena keeping what it freed
/// (measured on a first sync of 10 000 leads: peak RSS 108 → 90 MiB with its 8 connections).
fn runtime_for(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match command {
        Command::Reconcile { .. } => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

async fn run(process: ProcessEnv, cli: Cli) -> ExitCode {
    let logs = LogSettings {
        filter: process.var("RUST_LOG").map(str::to_owned),
        format: process.var("LEADSYNC_LOG_FORMAT").map(str::to_owned),
    };
    if let Command::Demo {
        keep_running,
        tracker,
        mirror,
    } = cli.command
    {
        let tracker = (!mirror).then_some(tracker);
        return demo(cli.config.is_some(), keep_running, tracker, &logs).await;
    }
    let serve = matches!(cli.command, Command::Serve);
    let target = if serve {
        LogTarget::Stdout
    } else {
        LogTarget::Stderr
    };
    telemetry::init_with(target, &logs, "info");
    let file = process.config_file(cli.config.clone());
    let settings = match config::load(&process.sources(file)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("leadsync: invalid configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match dispatch(cli.command, settings).await {
        Ok(code) => code,
        Err(err) => {
            let text = report::error_text(&err);
            // serve's log is its record (stdout, JSON by default); the plain line is for whoever
            // started it. Every other command has only the plain line: one message per error.
            if serve {
                tracing::error!(error = %text, "leadsync failed");
            }
            eprintln!("leadsync: {text}");
            ExitCode::from(report::exit_code(&err))
        }
    }
}

async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => leadsync::commands::serve(settings).await,
        Command::Migrate => leadsync::commands::migrate(settings).await,
        Command::Check { fix } => leadsync::commands::check(settings, fix).await,
        Command::Reconcile {
            pair,
            dry_run,
            initial_source,
            max_duration,
        } => {
            let max_duration = max_duration.map(std::time::Duration::from_secs);
            leadsync::reconcile_cmd::run(settings, pair, dry_run, initial_source, max_duration)
                .await
        }
        Command::Demo { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Webhooks { action } => leadsync::commands::webhooks(settings, action).await,
        Command::AppsScript { pair } => leadsync::commands::apps_script(settings, pair).await,
        Command::Healthcheck { url } => leadsync::commands::healthcheck(settings, url).await,
    }
}

/// The demo writes its own configuration for its emulators: a `--config` given on the command
/// line would be silently unused, so it is refused; `LEADSYNC_CONFIG` (a deployment's setting,
/// often in `.env`) is ignored.
/// `tracker` `None`: the board mirror's demo.
async fn demo(
    config_flag: bool,
    keep_running: bool,
    tracker: Option<DemoTracker>,
    logs: &LogSettings,
) -> ExitCode {
    if config_flag {
        eprintln!(
            "leadsync demo: --config is not used by the demo, which runs on its own generated \
             configuration against built-in emulators; run it without --config"
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    // The demo's own output is the point: logs only at warn unless RUST_LOG says otherwise.
    telemetry::init_with(LogTarget::Stderr, logs, "warn");
    let outcome = match tracker {
        Some(tracker) => leadsync::demo::run::run(keep_running, tracker.kind()).await,
        None => leadsync::demo::mirror::run(keep_running).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("leadsync demo: {}", report::error_text(&err));
            ExitCode::FAILURE
        }
    }
}
