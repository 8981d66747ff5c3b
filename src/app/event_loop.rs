//! The interactive loop: terminal input first, then engine messages in bounded batches, a
//! clock; one redraw per change, coalesced to the frame cap.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::{Terminal, backend::Backend};
use tokio::sync::mpsc;

use super::{App, Effects, MSG_BATCH};
use crate::model::Msg;
use chrono::Utc;

/// A clock tick redraws when no frame was drawn for this long.
const CLOCK_REDRAW: Duration = Duration::from_millis(900);

/// Runs the dashboard until quit, end of input, or `shutdown` (a signal).
pub async fn run<B, I>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: I,
    mut rx: mpsc::Receiver<Msg>,
    fps: u32,
    shutdown: impl Future<Output = ()>,
    effects: &mut Effects<'_>,
) -> color_eyre::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    let frame_interval = Duration::from_secs(1) / fps.max(1);
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut dirty = true;
    let mut urgent = true;
    let mut last_draw = Instant::now();
    let mut engines_alive = true;
    let mut last_totals = Instant::now();
    loop {
        if dirty && (urgent || last_draw.elapsed() >= frame_interval) {
            // Ages and the clock as of this frame, not of the last tick (a tick skips its
            // redraw when a frame was just drawn).
            app.now = Utc::now();
            let size = terminal.size()?;
            app.prepare_frame(size.width, size.height);
            // Shells follow the pane's new size.
            effects.run(app);
            terminal.draw(|f| app.draw(f))?;
            effects.focus(app);
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        if app.quit {
            return Ok(());
        }
        let frame_due = tokio::time::Instant::from_std(last_draw + frame_interval);
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => {
                    let changed = app.handle_key(key);
                    effects.run(app);
                    if changed {
                        // A key is answered at once, not at the next frame slot.
                        dirty = true;
                        urgent = true;
                    }
                }
                Some(Ok(Event::Mouse(mouse))) => {
                    if app.handle_mouse(mouse) {
                        effects.run(app);
                        dirty = true;
                        urgent = true;
                    }
                }
                Some(Ok(Event::Resize(..))) => {
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(Event::Paste(text))) => {
                    if app.handle_paste(&text) {
                        effects.run(app);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = &mut shutdown => return Ok(()),
            msg = rx.recv(), if engines_alive => match msg {
                Some(msg) => {
                    dirty |= effects.apply(app, msg);
                    for _ in 0..MSG_BATCH {
                        match rx.try_recv() {
                            Ok(msg) => dirty |= effects.apply(app, msg),
                            Err(_) => break,
                        }
                    }
                    // Answers to a shell's terminal queries, shells closed by a daemon going down.
                    effects.run(app);
                }
                None => engines_alive = false,
            },
            _ = tokio::time::sleep_until(frame_due), if dirty => {}
            _ = clock.tick() => {
                let rotated = app.tick(Utc::now());
                effects.tick(app, &mut last_totals);
                // Ages and the clock move with time, but a frame drawn for a stats round less
                // than a tick ago already shows them to the second: drawing again for the
                // tick alone doubled the frames (and the CPU of drawing) at 1 s sampling. Nor
                // is a frame drawn when no text on screen moved (the plain containers table
                // knows, see `redraw`).
                dirty |= rotated
                    || (last_draw.elapsed() >= CLOCK_REDRAW && app.time_moved(Utc::now()));
            }
        }
    }
}
