//! A command's output on stdout. A reader that goes away early (`leadsync demo | head -1`) closes
//! the pipe; `println!` would then panic with "Broken pipe". Here the first failed write marks
//! stdout closed and every later write is skipped, so the command ends with its normal exit code.

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// `println!` through [`write`]: a closed stdout ends the output quietly.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` through [`write`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}

/// Writes and flushes `args` unless stdout is already known to be closed. Any write error
/// (EPIPE above all) means nobody reads any more: nothing else is worth writing.
pub fn write(args: fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether a write to stdout has failed: long-running output (the demo) may stop early.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}
