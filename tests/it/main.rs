//! Integration tests: one binary that starts the real app on 127.0.0.1:0 with a temp database.

mod admin;
mod admin_cli;
mod admin_state;
mod admin_support;
mod apps_script;
mod board_ref;
mod check;
mod cli;
mod cli_config;
mod crash;
mod demo;
mod e2e;
mod e2e_conflict;
mod e2e_convergence;
mod e2e_faults;
mod e2e_recovery;
mod e2e_sheet;
mod e2e_trello;
mod first_sync;
mod health;
mod helpers;
mod ingress_support;
mod reconcile_cli;
mod shutdown;
mod webhooks;
mod webhooks_faults;
