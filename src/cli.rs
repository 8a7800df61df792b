//! Command-line interface: subcommands and the global `--config` flag.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// leadsync keeps a Google Sheet of leads and a Trello board in two-way sync.
#[derive(Debug, Parser)]
#[command(name = "leadsync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// TOML config file layered over the built-in defaults (then .env, then LEADSYNC__* variables).
    /// Default: $LEADSYNC_CONFIG, from the environment or ./.env. Not used by `demo`.
    // Not clap's `env`: clap would see only the process environment, not `.env` (see main.rs).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: apply migrations, start the HTTP server and workers; stop on SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check every pair online: credentials, board, lists, custom fields, sheet and header row.
    ///
    /// Prints one line per finding (`[pair] ok|missing|fixed|error: …`) and a summary; exits 0
    /// only when everything is usable, 1 otherwise. Secrets are never printed.
    Check {
        /// Create what is missing: Trello lists of `status_lists`, text custom fields named like
        /// the email/phone/company headers, and header cells (appended after the last used one).
        /// A missing sheet, an unreachable board or a custom field of another type is not fixed.
        #[arg(long)]
        fix: bool,
    },
    /// Run one full reconciliation of every pair (or one), send what it planned, then exit.
    ///
    /// Progress goes to stderr (a bar on a terminal, a log line every 10 s otherwise); stdout
    /// gets one JSON line: `pairs`, `commands_sent`, `commands_left`, `dead_letters`, `ok`.
    /// Exits 0 only when everything planned was sent; 1 when commands are left (past
    /// `--max-duration`), were dead-lettered, or a pair could not be reconciled.
    Reconcile {
        /// Only this pair (its `name` in the config).
        #[arg(long, value_name = "NAME")]
        pair: Option<String>,
        /// Print the plan (one JSON object per planned change) and change nothing anywhere.
        #[arg(long)]
        dry_run: bool,
        /// Whose value wins where the sheet and the card differ the first time a lead is
        /// linked (nothing agreed yet); overrides `sync.initial_source` for this run. Use
        /// `trello` when the board already holds the truth.
        #[arg(long, value_enum, value_name = "SIDE")]
        initial_source: Option<InitialSource>,
        /// Stop sending after this many seconds (from the start of the run), say how many
        /// commands are left and exit 1; the rest goes out with the next run or the daemon.
        /// Without it the run sends everything it planned.
        #[arg(long, value_name = "SECS", conflicts_with = "dry_run",
              value_parser = clap::value_parser!(u64).range(1..))]
        max_duration: Option<u64>,
    },
    /// Run the daemon against built-in Trello and Google Sheets (or Airtable) emulators on
    /// 127.0.0.1 and play a short scenario (create, move, edit, conflict). Needs no account and
    /// no config.
    Demo {
        /// Keep the daemon and the emulators running after the scenario (until Ctrl-C).
        #[arg(long)]
        keep_running: bool,
        /// Where the demo's leads are kept: a Google Sheet or an Airtable table (Notion comes in a
        /// later release).
        #[arg(long, value_enum, value_name = "TRACKER", default_value_t = DemoTracker::Sheets)]
        tracker: DemoTracker,
        /// Play a board mirror instead: two Trello boards kept in two-way sync (a twin, a move,
        /// a label, a checklist item, a conflict).
        #[arg(long, conflicts_with = "tracker")]
        mirror: bool,
    },
    /// Register, list or delete the Trello and Airtable webhooks that deliver changes to leadsync.
    Webhooks {
        #[command(subcommand)]
        action: WebhooksAction,
    },
    /// Print the Google Apps Script for a pair, with the URL, secret, spreadsheet and sheet
    /// filled in, ready to paste into Extensions → Apps Script.
    AppsScript {
        /// The pair's `name`; may be left out when exactly one pair is configured.
        #[arg(long, value_name = "NAME")]
        pair: Option<String>,
    },
    /// GET the local /readyz (for a container HEALTHCHECK); exit 0 when ready, 1 otherwise.
    Healthcheck {
        /// URL to check instead of http://127.0.0.1:<port of server.bind>/readyz.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// A side as `--initial-source` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitialSource {
    Sheet,
    Trello,
}

impl From<InitialSource> for crate::model::Side {
    fn from(side: InitialSource) -> Self {
        match side {
            InitialSource::Sheet => Self::Sheet,
            InitialSource::Trello => Self::Trello,
        }
    }
}

/// A lead tracker as `demo --tracker` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoTracker {
    Sheets,
    Airtable,
    Notion,
}

impl DemoTracker {
    /// The tracker the demo world is built with.
    pub fn kind(self) -> crate::model::TrackerKind {
        match self {
            Self::Sheets => crate::model::TrackerKind::Sheets,
            Self::Airtable => crate::model::TrackerKind::Airtable,
            Self::Notion => crate::model::TrackerKind::Notion,
        }
    }
}

/// `leadsync webhooks …`: the operations of `/admin/webhooks`.
#[derive(Debug, Subcommand)]
pub enum WebhooksAction {
    /// Create a webhook for each pair's board, and one for each Airtable pair's table, unless it
    /// exists already (safe to repeat).
    ///
    /// The callback is {server.public_url}/webhooks/trello; Trello checks it with a HEAD request,
    /// so the daemon must be reachable there. Airtable notifies
    /// {server.public_url}/webhooks/airtable. Prints {"webhooks": […]}, one per board and table.
    Register,
    /// Print the token's webhooks as Trello lists them, then the Airtable pairs' bases' webhooks:
    /// {"webhooks": […]}, each with "system" ("trello" or "airtable").
    List,
    /// Delete one webhook in Trello, or in Airtable when it is one leadsync registered there (and
    /// forget it locally); exit 1 if the API does not know it.
    Delete {
        /// The webhook id, as `leadsync webhooks list` shows it.
        id: String,
    },
    /// Print the verification token Notion sent when its subscription was created, for pasting
    /// into the integration's settings (`notion.webhook_verification_token`, when set, instead).
    NotionToken {
        /// Forget the stored token, for a new subscription.
        #[arg(long)]
        reset: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_is_accepted_before_or_after_the_subcommand() {
        let before =
            Cli::try_parse_from(["leadsync", "--config", "a.toml", "serve"]).expect("parses");
        let after =
            Cli::try_parse_from(["leadsync", "serve", "--config", "a.toml"]).expect("parses");
        assert_eq!(before.config, Some(PathBuf::from("a.toml")));
        assert_eq!(after.config, before.config);
    }

    #[test]
    fn check_takes_an_optional_fix_flag() {
        let plain = Cli::try_parse_from(["leadsync", "check"]).expect("parses");
        assert!(matches!(plain.command, Command::Check { fix: false }));
        let fix = Cli::try_parse_from(["leadsync", "check", "--fix"]).expect("parses");
        assert!(matches!(fix.command, Command::Check { fix: true }));
    }

    #[test]
    fn webhooks_takes_an_action_and_delete_an_id() {
        let list = Cli::try_parse_from(["leadsync", "webhooks", "list"]).expect("parses");
        assert!(matches!(
            list.command,
            Command::Webhooks {
                action: WebhooksAction::List
            }
        ));
        let delete =
            Cli::try_parse_from(["leadsync", "webhooks", "delete", "abc"]).expect("parses");
        assert!(matches!(
            delete.command,
            Command::Webhooks { action: WebhooksAction::Delete { ref id } } if id == "abc"
        ));
        assert!(Cli::try_parse_from(["leadsync", "webhooks", "delete"]).is_err());
        assert!(Cli::try_parse_from(["leadsync", "webhooks"]).is_err());
    }

    #[test]
    fn demo_tracker_defaults_to_sheets_and_names_each_tracker() {
        let tracker = |args: &[&str]| match Cli::try_parse_from(args).expect("parses").command {
            Command::Demo { tracker, .. } => tracker,
            other => panic!("not demo: {other:?}"),
        };
        use crate::model::TrackerKind;
        assert_eq!(tracker(&["leadsync", "demo"]).kind(), TrackerKind::Sheets);
        let airtable = tracker(&["leadsync", "demo", "--tracker", "airtable"]);
        assert_eq!(airtable.kind(), TrackerKind::Airtable);
        let notion = tracker(&["leadsync", "demo", "--tracker", "notion"]);
        assert_eq!(notion.kind(), TrackerKind::Notion);
        assert!(Cli::try_parse_from(["leadsync", "demo", "--tracker", "excel"]).is_err());
    }

    #[test]
    fn apps_script_takes_an_optional_pair() {
        let plain = Cli::try_parse_from(["leadsync", "apps-script"]).expect("parses");
        assert!(matches!(plain.command, Command::AppsScript { pair: None }));
        let named =
            Cli::try_parse_from(["leadsync", "apps-script", "--pair", "sales"]).expect("parses");
        assert!(matches!(named.command, Command::AppsScript { pair: Some(ref p) } if p == "sales"));
    }
}
