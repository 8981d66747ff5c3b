//! Terminal input read on a thread of its own.
//!
//! crossterm's `EventStream` answers every poll by trying its event reader's lock with a zero
//! timeout while its helper thread holds that lock, blocked on the terminal. Each try spins
//! through about a dozen `sched_yield`s before giving up, and the loop polls input every time
//! it wakes: an idle dashboard at 1 s stats spent 50 yields a second on nothing. Here one
//! thread blocks in `event::read` and hands each event over a channel, so the loop's wake-ups
//! cost a channel poll and a key costs one hand-over.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use crossterm::event::Event;
use futures::Stream;
use tokio::sync::mpsc;

/// Events read but not yet taken by the loop; beyond this the thread waits (the terminal
/// keeps later input in its own buffer, so nothing is lost).
const QUEUE: usize = 64;

/// The terminal's events, as a stream for [`super::run`]. Ends after a read error (which it
/// yields first) or when the reading thread is gone.
pub struct TerminalInput {
    rx: mpsc::Receiver<io::Result<Event>>,
}

impl Stream for TerminalInput {
    type Item = io::Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl TerminalInput {
    /// Starts the reading thread. It lives until a read fails or the stream is dropped and the
    /// next event arrives; at exit the process ends it.
    pub fn spawn() -> io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("fleetdeck-input".into())
            .spawn(move || {
                loop {
                    let event = crossterm::event::read();
                    let failed = event.is_err();
                    if tx.blocking_send(event).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(Self { rx })
    }
}
