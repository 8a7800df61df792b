//! `leadsync check [--fix]`: verifies, online, that every configured pair is usable — credentials,
//! board, lists, custom fields, and the pair's tracker (spreadsheet, sheet and header row; or
//! Airtable base, table and fields) — and every mirror (both boards and each mapped list on its
//! side) — and with `fix` creates what is missing on the Trello boards, in the header row or in the
//! Airtable table. Produces [`Finding`]s; printing is the caller's, so
//! tests assert on findings rather than on text.

pub mod offline;

use crate::config::Settings;
use crate::connectors::airtable::check as airtable;
use crate::connectors::check::{Account, Finding, Outcome};
use crate::connectors::notion::check as notion;
use crate::connectors::sheets::check as sheets;
use crate::connectors::trello::check as trello;
use crate::model::TrackerKind;

/// Pair name used for findings that belong to no pair.
pub const NO_PAIR: &str = "config";

/// Exit status 0 is earned only when every finding is usable (and there is at least one).
pub fn usable(findings: &[Finding]) -> bool {
    !findings.is_empty() && findings.iter().all(|f| f.outcome.is_usable())
}

/// The last line of the report: counts per outcome and the verdict.
pub fn summary(findings: &[Finding]) -> String {
    let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
    let (missing, errors) = (count(Outcome::Missing), count(Outcome::Error));
    let verdict = if usable(findings) {
        "usable".to_owned()
    } else if errors == 0 {
        "not usable: run `leadsync check --fix` to create what is missing".to_owned()
    } else {
        "not usable".to_owned()
    };
    // Warnings are counted only when there are some: most reports have none.
    let warnings = match count(Outcome::Warning) {
        0 => String::new(),
        n => format!(" {n} warning(s),"),
    };
    format!(
        "check: {} ok, {} fixed,{warnings} {missing} missing, {errors} error(s): {verdict}",
        count(Outcome::Ok),
        count(Outcome::Fixed),
    )
}

/// Runs every check for every pair. Never fails as a whole: each problem is a finding.
pub async fn run(settings: &Settings, fix: bool) -> Vec<Finding> {
    let mut out = offline::findings(settings);
    if settings.pairs.is_empty() && settings.mirrors.is_empty() {
        out.push(Finding::new(
            NO_PAIR,
            Outcome::Error,
            offline::NO_PAIRS_HELP,
        ));
        return out;
    }
    let trello = trello::account(settings).await;
    // Each tracker's account is checked once, and only when a pair uses it: an Airtable-only
    // deployment has no service-account key to read.
    let uses = |kind| settings.pairs.iter().any(|p| p.tracker == kind);
    let sheets = match uses(TrackerKind::Sheets) {
        true => Some(sheets::account(settings).await),
        false => None,
    };
    let airtable = match uses(TrackerKind::Airtable) {
        true => Some(airtable::account(settings).await),
        false => None,
    };
    let notion = uses(TrackerKind::Notion).then(|| notion::account(settings));
    for pair in &settings.pairs {
        let name = pair.name.as_str();
        out.push(Finding::new(name, Outcome::Ok, "config valid"));
        if let Some(client) = usable_account(&trello, name, &mut out) {
            trello::check_pair(client, pair, fix, &mut out).await;
        }
        match pair.tracker {
            TrackerKind::Sheets => {
                if let Some(client) = sheets
                    .as_ref()
                    .and_then(|a| usable_account(a, name, &mut out))
                {
                    sheets::check_pair(client, pair, fix, &mut out).await;
                }
            }
            TrackerKind::Airtable => {
                if let Some(at) = airtable
                    .as_ref()
                    .and_then(|a| usable_account(a, name, &mut out))
                {
                    airtable::check_pair(at, pair, fix, &mut out).await;
                }
            }
            TrackerKind::Notion => {
                if let Some(n) = notion
                    .as_ref()
                    .and_then(|a| usable_account(a, name, &mut out))
                {
                    notion::check_pair(n, pair, fix, &mut out).await;
                }
            }
        }
    }
    for mirror in &settings.mirrors {
        let name = mirror.name.as_str();
        out.push(Finding::new(name, Outcome::Ok, "config valid"));
        if let Some(client) = usable_account(&trello, name, &mut out) {
            trello::check_mirror(client, mirror, fix, &mut out).await;
        }
    }
    out
}

/// Reports the account's finding for this pair; the client when it is usable.
fn usable_account<'a, C>(
    account: &'a Account<C>,
    pair: &str,
    out: &mut Vec<Finding>,
) -> Option<&'a C> {
    match account {
        Account::Usable(client, who) => {
            out.push(Finding::new(pair, Outcome::Ok, who.as_str()));
            Some(client)
        }
        Account::Broken(why) => {
            out.push(Finding::new(pair, Outcome::Error, why.as_str()));
            None
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_airtable;
#[cfg(test)]
mod tests_fix;
