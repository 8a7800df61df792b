//! `leadsync reconcile` run as its own process against the emulators of this one, with its peak
//! resident set (`VmHWM` in `/proc/<pid>/status`) sampled until it exits.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// leadsync's budgets, raised to the emulators' quotas (the real ones x1000; the Trello token
/// budget's ceiling is 10 000 per 10 s).
pub const BUDGETS: [(&str, &str); 3] = [
    ("LEADSYNC__TRELLO__TOKEN_REQUESTS_PER_10S", "10000"),
    ("LEADSYNC__TRELLO__KEY_REQUESTS_PER_10S", "10000"),
    ("LEADSYNC__GOOGLE__REQUESTS_PER_MINUTE", "60000"),
];

/// How often the child's `VmHWM` is read: a peak reached in the last interval before it exits
/// would be missed, but the peak is a high-water mark and a run's last moments only free.
const SAMPLE: Duration = Duration::from_millis(5);

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// What one `leadsync reconcile` did, from its JSON line and its memory.
pub struct Run {
    pub wall: Duration,
    pub peak_kib: u64,
    pub ok: bool,
    pub sent: u64,
    pub left: u64,
    pub dead: u64,
    pub stderr_tail: String,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// Runs `leadsync --config <config> reconcile` in `dir` and waits (at most `limit`). Under a
/// wrapper (`LEADSYNC_BENCH_WRAP`) the peak is the wrapper's process: use it to profile, not to
/// measure.
pub fn reconcile(config: &Path, dir: &Path, limit: Duration) -> anyhow::Result<Run> {
    let log = dir.join("reconcile.stderr.log");
    // `LEADSYNC_BENCH_WRAP="heaptrack -o /tmp/rec-{run}"` runs leadsync under a profiler;
    // `{run}` is the phase's number (1, 2, 3).
    let run = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    let wrap = std::env::var("LEADSYNC_BENCH_WRAP")
        .unwrap_or_default()
        .replace("{run}", &run.to_string());
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(tool) => {
            let mut cmd = Command::new(tool);
            cmd.args(words).arg(env!("CARGO_BIN_EXE_leadsync"));
            cmd
        }
        None => Command::new(env!("CARGO_BIN_EXE_leadsync")),
    };
    let mut child = cmd
        .arg("--config")
        .arg(config)
        .arg("reconcile")
        .current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .envs(BUDGETS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log)?)
        .spawn()?;
    let (started, pid, mut peak) = (Instant::now(), child.id(), 0);
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            child.kill()?;
            anyhow::bail!("leadsync reconcile did not finish within {limit:?}");
        }
        std::thread::sleep(SAMPLE);
    };
    let wall = started.elapsed();
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    let line: serde_json::Value = out
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let n = |key: &str| line[key].as_u64().unwrap_or(0);
    Ok(Run {
        wall,
        peak_kib: peak,
        ok: status.success() && line["ok"] == true,
        sent: n("commands_sent"),
        left: n("commands_left"),
        dead: n("dead_letters"),
        stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    })
}
