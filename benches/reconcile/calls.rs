//! What a phase did and how it is printed: the emulators' call logs grouped by endpoint (method +
//! path with ids as `{id}`), outbox commands, time, leadsync's peak RSS, and the emulators'
//! process's memory from `/proc/self/status`.

use std::collections::BTreeMap;

use leadsync::sandbox::common::CallRecord;

use crate::child::Run;

/// Path segments that are names, not ids, in the Trello and Sheets APIs.
const LITERALS: [&str; 16] = [
    "1",
    "members",
    "me",
    "boards",
    "lists",
    "customFields",
    "customField",
    "customFieldItems",
    "cards",
    "all",
    "open",
    "item",
    "webhooks",
    "tokens",
    "v4",
    "spreadsheets",
];

/// `/1/cards/6a0f…/customFields` → `/1/cards/{id}/customFields`;
/// `/v4/spreadsheets/sheet1…/values/Leads!A1:H` → `/v4/spreadsheets/{id}/values/{range}`.
pub fn endpoint(path: &str) -> String {
    let mut out = Vec::new();
    let mut after_values = false;
    for seg in path.split('/') {
        let norm = if seg.is_empty() || LITERALS.contains(&seg) {
            seg.to_owned()
        } else if let Some(verb) = seg.strip_prefix("values:") {
            format!("values:{verb}")
        } else if seg == "values" {
            after_values = true;
            out.push(seg.to_owned());
            continue;
        } else if after_values {
            // A range, maybe with a `:append` verb after it.
            match ["append", "clear"]
                .iter()
                .find(|verb| seg.ends_with(&format!(":{verb}")))
            {
                Some(verb) => format!("{{range}}:{verb}"),
                None => "{range}".to_owned(),
            }
        } else {
            "{id}".to_owned()
        };
        after_values = false;
        out.push(norm);
    }
    out.join("/")
}

/// Calls per `METHOD endpoint` (all answers), and how many answered something other than 2xx.
#[derive(Default)]
pub struct Calls {
    pub by_endpoint: BTreeMap<String, usize>,
    pub failed: usize,
}

impl Calls {
    pub fn from_records(records: &[CallRecord]) -> Self {
        let mut calls = Self::default();
        for r in records {
            let key = format!("{} {}", r.method, endpoint(&r.path));
            *calls.by_endpoint.entry(key).or_default() += 1;
            if !(200..300).contains(&r.status) {
                calls.failed += 1;
            }
        }
        calls
    }

    pub fn total(&self) -> usize {
        self.by_endpoint.values().sum()
    }

    /// Calls that change something (anything but GET and HEAD).
    pub fn writes(&self) -> usize {
        self.by_endpoint
            .iter()
            .filter(|(k, _)| !k.starts_with("GET ") && !k.starts_with("HEAD "))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn get(&self, method_endpoint: &str) -> usize {
        self.by_endpoint.get(method_endpoint).copied().unwrap_or(0)
    }

    pub fn print(&self, system: &str) {
        println!(
            "  {system}: {} calls ({} writes, {} not 2xx)",
            self.total(),
            self.writes(),
            self.failed
        );
        for (endpoint, n) in &self.by_endpoint {
            println!("    {n:>7}  {endpoint}");
        }
    }
}

/// `(VmHWM, VmRSS)` in MiB: the peak and current resident set of this process.
pub fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

/// What one phase did.
pub struct Phase {
    /// Commands the phase enqueued (planned, and the follow-ups of those sent).
    pub planned: usize,
    pub run: Run,
    pub trello: Calls,
    pub sheets: Calls,
    /// Outbox commands enqueued during the phase: (kind, status) -> count.
    pub commands: BTreeMap<(String, String), i64>,
}

pub fn mib((hwm, rss): (f64, f64)) -> String {
    format!("peak {hwm:.0} MiB (current {rss:.0} MiB)")
}

pub fn report(name: &str, p: &Phase, emulators: (f64, f64)) {
    println!("\n== {name}");
    println!(
        "  wall: {:.2} s for `leadsync reconcile` (start, read both sides, plan, commit, send all, exit)",
        p.run.wall.as_secs_f64()
    );
    println!(
        "  leadsync's own peak RSS (VmHWM of the reconcile process): {:.1} MiB",
        p.run.peak_kib as f64 / 1024.0
    );
    println!(
        "  commands: {} enqueued; {} sent, {} left, {} dead",
        p.planned, p.run.sent, p.run.left, p.run.dead
    );
    for ((kind, status), n) in &p.commands {
        println!("    {n:>7}  {kind} ({status})");
    }
    p.trello.print("Trello");
    p.sheets.print("Sheets");
    println!("  the emulators' process: {}", mib(emulators));
}
pub fn count(p: &Phase, kind: &str) -> i64 {
    p.commands
        .iter()
        .filter(|((k, _), _)| k == kind)
        .map(|(_, n)| n)
        .sum()
}
