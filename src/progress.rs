//! Progress of long work (the commands a `reconcile` run sends): a bar on stderr when it is a
//! terminal, a log line every [`LOG_EVERY`] otherwise; never on stdout, which is the command's
//! own output. Also the rate and time-left arithmetic `/admin/status` shares.

use std::collections::VecDeque;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a progress line is logged when there is no terminal to draw a bar on.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The rate is measured over this much recent time, so it follows quota pauses and retries
/// rather than the run's average.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The bar being drawn, if any: log lines are written while it is hidden (see
/// [`while_hidden`]), so they scroll above it instead of tearing it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `write` (a log line going to stderr) with the progress bar, if one is drawn, cleared
/// from the screen; the bar is drawn again below the line.
pub fn while_hidden<R>(write: impl FnOnce() -> R) -> R {
    let bar = BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Items done per second, `None` when nothing can be said (no time has passed).
pub fn per_sec(done: u64, over: Duration) -> Option<f64> {
    (!over.is_zero()).then(|| done as f64 / over.as_secs_f64())
}

/// Whole seconds to finish `left` items at `per_sec`, rounded up: 0 when nothing is left,
/// `None` when there is work but no progress to extrapolate from.
pub fn eta_secs(left: u64, per_sec: Option<f64>) -> Option<u64> {
    if left == 0 {
        return Some(0);
    }
    let rate = per_sec.filter(|r| r.is_finite() && *r > 0.0)?;
    Some((left as f64 / rate).ceil() as u64)
}

/// A running count sampled over time; answers its rate over the last `window`.
#[derive(Debug)]
pub struct RateWindow {
    window: Duration,
    samples: VecDeque<(Instant, u64)>,
}

impl RateWindow {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Records that `done` items were done by `at` (instants in order, counts not falling).
    pub fn record(&mut self, at: Instant, done: u64) {
        self.samples.push_back((at, done));
        // Keep the newest sample at or before the window's start, so the rate spans the whole
        // window once the work has run that long.
        while self
            .samples
            .get(1)
            .is_some_and(|(t, _)| at.duration_since(*t) >= self.window)
        {
            self.samples.pop_front();
        }
    }

    /// Items per second between the oldest kept sample and the newest.
    pub fn per_sec(&self) -> Option<f64> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        per_sec(
            last.1.saturating_sub(first.1),
            last.0.duration_since(first.0),
        )
    }
}

/// What the bar says after its counts: `12.5/s, ETA 1m 40s`.
pub fn rate_note(per_sec: Option<f64>, eta_secs: Option<u64>) -> String {
    let rate = per_sec.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}/s"));
    let eta = eta_secs.map_or_else(|| "?".to_owned(), human_secs);
    format!("{rate}, ETA {eta}")
}

fn human_secs(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// Shows how far the sending of a run's commands has come.
pub struct Progress {
    bar: Option<ProgressBar>,
    rate: RateWindow,
    last_log: Option<Instant>,
}

impl Progress {
    /// A bar when stderr is a terminal, log lines otherwise.
    pub fn start() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} commands, {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(style);
            *BAR.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            bar
        });
        Self {
            bar,
            rate: RateWindow::new(RATE_WINDOW),
            last_log: None,
        }
    }

    /// `sent` commands sent and `dead` dead-lettered so far, `left` still to send; the total
    /// grows as sent commands add follow-ups (a new card's URL for the sheet).
    pub fn update(&mut self, sent: u64, dead: u64, left: u64) {
        let now = Instant::now();
        let done = sent + dead;
        self.rate.record(now, done);
        let rate = self.rate.per_sec();
        let eta = eta_secs(left, rate);
        if let Some(bar) = &self.bar {
            bar.set_length(done + left);
            bar.set_position(done);
            bar.set_message(rate_note(rate, eta));
            return;
        }
        if self
            .last_log
            .is_some_and(|t| now.duration_since(t) < LOG_EVERY)
        {
            return;
        }
        self.last_log = Some(now);
        let rate = rate.map(|r| (r * 10.0).round() / 10.0);
        tracing::info!(sent, dead, left, rate, eta_secs = eta, "reconcile progress");
    }

    /// Takes the bar off the screen; the run's summary follows.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            *BAR.lock().unwrap_or_else(|e| e.into_inner()) = None;
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_what_is_left_over_the_rate_rounded_up() {
        assert_eq!(eta_secs(100, Some(9.0)), Some(12));
        assert_eq!(eta_secs(90, Some(9.0)), Some(10));
        assert_eq!(eta_secs(0, None), Some(0), "nothing left: done now");
        assert_eq!(eta_secs(5, None), None, "no rate yet");
        assert_eq!(eta_secs(5, Some(0.0)), None, "stalled: no estimate");
        assert_eq!(per_sec(30, Duration::from_secs(10)), Some(3.0));
        assert_eq!(per_sec(30, Duration::ZERO), None);
    }

    #[test]
    fn the_rate_follows_the_last_window_not_the_whole_run() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut rate = RateWindow::new(Duration::from_secs(60));
        assert_eq!(rate.per_sec(), None);
        rate.record(at(0), 0);
        assert_eq!(rate.per_sec(), None, "one sample spans no time");
        // 10 a second for two minutes, then 2 a second for another two.
        for s in 1..=120 {
            rate.record(at(s), s * 10);
        }
        assert_eq!(rate.per_sec(), Some(10.0));
        for s in 121..=240 {
            rate.record(at(s), 1200 + (s - 120) * 2);
        }
        assert_eq!(rate.per_sec(), Some(2.0), "the old pace is forgotten");
        assert_eq!(eta_secs(100, rate.per_sec()), Some(50));
    }

    #[test]
    fn a_window_that_has_not_filled_yet_measures_since_its_first_sample() {
        let t0 = Instant::now();
        let mut rate = RateWindow::new(Duration::from_secs(60));
        rate.record(t0, 0);
        rate.record(t0 + Duration::from_secs(4), 18);
        assert_eq!(rate.per_sec(), Some(4.5));
    }

    #[test]
    fn the_bar_note_shows_rate_and_time_left() {
        assert_eq!(rate_note(Some(8.94), Some(100)), "8.9/s, ETA 1m 40s");
        assert_eq!(rate_note(Some(0.5), Some(7322)), "0.5/s, ETA 2h 02m");
        assert_eq!(rate_note(None, None), "-, ETA ?");
        assert_eq!(rate_note(Some(3.0), Some(0)), "3.0/s, ETA 0s");
    }
}
