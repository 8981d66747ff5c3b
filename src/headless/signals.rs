//! Signals: Ctrl-C during a write (deploy, rollback, a rolling restart), shared by the headless
//! commands that write, so none of them imports another for it; and the stop signals of the
//! long-running frontends (the dashboard, `watch`, `export`).

use std::io::Write;

use crate::engine::deploy::Interrupt;

/// Listens for Ctrl-C, SIGTERM and SIGHUP while a write runs: the first raises the returned
/// [`Interrupt`] (the write then reverses its current step and ends), the second exits at
/// once with 130; the journal then holds what is unfinished. Dropping the guard stops
/// listening.
pub(super) fn interrupt_on_signals(
    what: String,
    journaled: bool,
) -> (Interrupt, tokio::task::JoinHandle<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (raiser, interrupt) = Interrupt::new();
    // Installed here, before the write begins, not when the task first runs.
    let streams = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let listener = tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = streams else {
            tracing::warn!("cannot listen for signals: a Ctrl-C ends the write at once");
            return;
        };
        let mut seen = 0;
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            };
            seen += 1;
            if seen == 1 {
                // Raised first: a terminal gone with its SSH session (SIGHUP) fails the
                // message below, and that must not keep the write from reversing.
                raiser.raise(name);
                let then = if journaled {
                    "putting back what it changed"
                } else {
                    "finishing the one under way"
                };
                let _ = writeln!(
                    std::io::stderr(),
                    "fleetdeck: {name}: starting no new step of the {what}, {then}; send it \
                     again to exit at once"
                );
            } else {
                let _ = if journaled {
                    writeln!(
                        std::io::stderr(),
                        "fleetdeck: {name} again: exiting now; the journal keeps the unfinished \
                         {what}: `fleetdeck deploy --resume` finishes it, `fleetdeck rollback` \
                         undoes it"
                    )
                } else {
                    writeln!(
                        std::io::stderr(),
                        "fleetdeck: {name} again: exiting now; `fleetdeck audit` shows what the \
                         {what} did"
                    )
                };
                std::process::exit(130);
            }
        }
    });
    (interrupt, listener)
}

/// Resolves when the process is asked to stop (SIGTERM, SIGHUP, SIGINT), so the dashboard
/// restores the terminal and `watch` and `export` flush their queues on those paths too. The
/// handlers are installed here, at the call, not when the future is first polled: a signal that
/// arrives between the first frame and the loop's first turn must not meet the default action
/// (which kills without restoring the terminal).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut streams = Vec::new();
    for kind in [
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::interrupt(),
    ] {
        if let Ok(s) = signal(kind) {
            streams.push(s);
        }
    }
    async move {
        if streams.is_empty() {
            return std::future::pending().await;
        }
        let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
        futures::future::select_all(waits).await;
    }
}
