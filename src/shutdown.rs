//! Bounded shutdown: one stop signal cancels every task, an overall deadline caps how long the
//! orderly stop may take, and a watchdog thread exits the process if even that is wedged.

use std::io::Write as _;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// From the stop signal to exit: in-flight requests, the engine's tasks and the database close
/// all fit in this; whatever has not stopped by then is aborted and named in a warning.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// The watchdog's extra time past [`SHUTDOWN_DEADLINE`]: the orderly path logs and returns at
/// the deadline, so the watchdog only fires if the runtime itself is stuck (a blocked thread).
const HARD_EXIT_MARGIN: Duration = Duration::from_secs(5);

/// Exit status when the watchdog or a second stop signal ends the process.
const FORCED_EXIT: i32 = 1;

/// A spawned task with the name a shutdown warning uses for it.
pub type NamedTask = (&'static str, JoinHandle<()>);

/// For the `serve` process: the first SIGINT/SIGTERM cancels `shutdown` and arms the watchdog;
/// a second one exits at once. Not for in-process apps (tests, the demo's world): the watchdog
/// ends the whole process.
pub fn cancel_on_signal(shutdown: CancellationToken) {
    tokio::spawn(async move {
        stop_signal().await;
        // Cancel before anything else: a log line must never be what keeps the stop from
        // happening (it once could panic when stdout and stderr were closed pipes).
        shutdown.cancel();
        exit_after(SHUTDOWN_DEADLINE + HARD_EXIT_MARGIN);
        tracing::info!(
            deadline_secs = SHUTDOWN_DEADLINE.as_secs(),
            "stop signal received, draining"
        );
        stop_signal().await;
        tracing::warn!("second stop signal received, exiting at once");
        std::process::exit(FORCED_EXIT);
    });
}

/// Exits the process after `limit` unless it has exited by then. A plain thread, so a wedged
/// async runtime cannot hold it up.
fn exit_after(limit: Duration) {
    let spawned = std::thread::Builder::new()
        .name("shutdown-watchdog".into())
        .spawn(move || {
            std::thread::sleep(limit);
            let note = format!(
                "leadsync: shutdown still not finished {}s after the stop signal; exiting anyway\n",
                limit.as_secs()
            );
            // Not `eprintln!`: it panics when stderr is a closed pipe.
            let _ = std::io::stderr().write_all(note.as_bytes());
            std::process::exit(FORCED_EXIT);
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "could not start the shutdown watchdog");
    }
}

/// Waits for every task until `deadline`; those still running then are aborted and their
/// names returned, in spawn order.
pub async fn join_until(tasks: Vec<NamedTask>, deadline: Instant) -> Vec<&'static str> {
    let mut unstopped = Vec::new();
    for (name, mut handle) in tasks {
        if tokio::time::timeout_at(deadline, &mut handle)
            .await
            .is_err()
        {
            handle.abort();
            unstopped.push(name);
        }
    }
    unstopped
}

/// Resolves when the process receives SIGINT or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_past_the_deadline_are_aborted_and_named() {
        let token = CancellationToken::new();
        let stops = token.clone();
        let polite: NamedTask = (
            "polite",
            tokio::spawn(async move { stops.cancelled().await }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stubborn: NamedTask = (
            "stubborn",
            tokio::spawn(async move {
                // Ignores the token; only an abort drops `tx`, which the receiver then sees.
                let _tx = tx;
                std::future::pending::<()>().await;
            }),
        );
        token.cancel();
        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let unstopped = join_until(vec![polite, stubborn], deadline).await;
        assert_eq!(unstopped, vec!["stubborn"]);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the deadline"
        );
        assert!(rx.await.is_err(), "the stubborn task was aborted");
    }
}
