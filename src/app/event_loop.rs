//! The interactive loop: terminal input first, then engine messages in bounded batches, a
//! clock; one redraw per change, coalesced to the frame cap.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use futures::{Stream, StreamExt};
use ratatui::{Terminal, backend::Backend};
use tokio::sync::mpsc;

use super::{App, Effects, MSG_BATCH};
use crate::model::{Msg, MsgKind};
use chrono::Utc;

/// A clock tick redraws when no frame was drawn for this long.
const CLOCK_REDRAW: Duration = Duration::from_millis(900);

/// The clock that moves time on screen (ages, the clock, alert rules' `for` and windows, a
/// wall's rotation) when nothing else wakes the dashboard. Engine messages carry its work
/// whenever [`TICK_EARLY`] has passed since the last tick, and the clock restarts from there:
/// at 1 s sampling every tick then rides on a stats round's wake-up, and the dashboard's thread
/// wakes once a second instead of twice. A period a little over the sampling's lets the rounds
/// take over whatever their phase; with nothing coming in, ticks are 1.25 s apart, which moves
/// a seconds-old age by one or two.
const CLOCK: Duration = Duration::from_millis(1250);

/// How soon after the last tick an engine message may carry the next one.
const TICK_EARLY: Duration = Duration::from_millis(600);

/// How long a redraw for time alone (ages, the clock) waits for a frame drawn for something
/// else, which carries the new times too. At 1 s sampling a stats round's frame follows most
/// ticks within half a second: drawing both doubled the frames (and the CPU of drawing) while
/// the containers on screen were under a minute old, their ages moving every second.
const TIME_GRACE: Duration = Duration::from_millis(500);

/// When the next frame is drawn. Changes are coalesced to the frame cap (a frame at most every
/// `interval`), with two ways past it: a key, click or resize is answered at once, and so is
/// a container changing state (a `die`, `start`, health…), the news an operator watches the
/// dashboard for. A stats frame drawn just before a `die` would otherwise hold it back for up
/// to a whole interval: 50 ms at the default 20 fps, 250 ms with `--low-bandwidth`. News skips
/// the cap at most once an interval, so a burst of events (a bulk restart) still costs no more
/// than twice the capped frame rate, and a quiet dashboard draws no frame more than before.
struct Frames {
    interval: Duration,
    /// Something on screen changed since the last frame.
    dirty: bool,
    /// Input changed it: draw now.
    urgent: bool,
    /// A container changed state: draw now, unless news already skipped the cap within the
    /// interval.
    news: bool,
    last_draw: Instant,
    /// The last frame drawn early for news.
    last_early: Option<Instant>,
    /// Time moved on screen (a tick found so): a frame at this instant unless one is drawn
    /// first ([`TIME_GRACE`]).
    time_due: Option<Instant>,
}

impl Frames {
    fn new(interval: Duration, now: Instant) -> Self {
        Self {
            interval,
            dirty: true,
            urgent: true,
            news: false,
            last_draw: now,
            last_early: None,
            time_due: None,
        }
    }

    fn early_for_news(&self, now: Instant) -> bool {
        self.news
            && self
                .last_early
                .is_none_or(|t| now.saturating_duration_since(t) >= self.interval)
    }

    /// Whether a frame is to be drawn now.
    fn due(&self, now: Instant) -> bool {
        (self.dirty
            && (self.urgent
                || self.early_for_news(now)
                || now.saturating_duration_since(self.last_draw) >= self.interval))
            || self.time_due.is_some_and(|t| now >= t)
    }

    /// When a pending frame falls due by the cap or the time grace alone (`None`: nothing is
    /// pending).
    fn deadline(&self) -> Option<Instant> {
        let capped = self.dirty.then(|| self.last_draw + self.interval);
        match (capped, self.time_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A tick at `now` found the ages or the clock on screen moved: drawn within
    /// [`TIME_GRACE`], by whichever frame comes first.
    fn time_moved(&mut self, now: Instant) {
        self.time_due.get_or_insert(now + TIME_GRACE);
    }

    /// A frame was drawn at `now`.
    fn drawn(&mut self, now: Instant) {
        let capped = !self.urgent && now.saturating_duration_since(self.last_draw) < self.interval;
        if capped && self.early_for_news(now) {
            self.last_early = Some(now);
        }
        self.last_draw = now;
        self.dirty = false;
        self.urgent = false;
        self.time_due = None;
        self.news = false;
    }

    /// An engine message was applied: `changed` it changed the screen, `news` it was a state
    /// change of a container.
    fn applied(&mut self, changed: bool, news: bool) {
        self.dirty |= changed;
        self.news |= changed && news;
    }
}

/// Whether an engine message carries news for [`Frames`]: a container event that changes
/// its row.
fn is_news(msg: &Msg) -> bool {
    matches!(&msg.kind, MsgKind::Events(batch) if batch.iter().any(|e| e.changes_a_row()))
}

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
    let mut frames = Frames::new(Duration::from_secs(1) / fps.max(1), Instant::now());
    let mut clock = tokio::time::interval(CLOCK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut engines_alive = true;
    let mut last_totals = Instant::now();
    let mut last_tick = Instant::now();
    // The clock's work: time alone moves rules on, rotates a wall, and ages the texts on screen.
    let mut tick = |app: &mut App, effects: &mut Effects<'_>, frames: &mut Frames| {
        let rotated = app.tick(Utc::now());
        effects.tick(app, &mut last_totals);
        // Ages and the clock move with time, but a frame drawn for a stats round less than a
        // tick ago already shows them to the second, and one due within TIME_GRACE will:
        // drawing again for the tick alone doubled the frames (and the CPU of drawing) at 1 s
        // sampling. Nor is a frame drawn when no text on screen moved (the plain containers
        // table knows, see `redraw`), nor looked for when a frame is due anyway.
        frames.dirty |= rotated;
        if !frames.dirty && frames.last_draw.elapsed() >= CLOCK_REDRAW && app.time_moved(Utc::now())
        {
            frames.time_moved(Instant::now());
        }
    };
    loop {
        if frames.due(Instant::now()) {
            // Ages and the clock as of this frame, not of the last tick (a tick skips its
            // redraw when a frame was just drawn).
            app.now = Utc::now();
            let size = terminal.size()?;
            app.prepare_frame(size.width, size.height);
            // Shells follow the pane's new size.
            effects.run(app);
            terminal.draw(|f| app.draw(f))?;
            tracing::debug!(target: "fleetdeck::latency", "frame drawn");
            effects.focus(app);
            frames.drawn(Instant::now());
        }
        if app.quit {
            return Ok(());
        }
        let frame_due = frames.deadline().map(tokio::time::Instant::from_std);
        tokio::select! {
            biased;
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => {
                    // With the frame's line below: how long a key takes inside fleetdeck.
                    tracing::debug!(target: "fleetdeck::latency", "key read");
                    let changed = app.handle_key(key);
                    effects.run(app);
                    if changed {
                        // A key is answered at once, not at the next frame slot.
                        frames.dirty = true;
                        frames.urgent = true;
                    }
                }
                Some(Ok(Event::Mouse(mouse))) => {
                    if app.handle_mouse(mouse) {
                        effects.run(app);
                        frames.dirty = true;
                        frames.urgent = true;
                    }
                }
                Some(Ok(Event::Resize(..))) => {
                    frames.dirty = true;
                    frames.urgent = true;
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
                    let news = is_news(&msg);
                    if news {
                        tracing::debug!(target: "fleetdeck::latency", "container news received");
                    }
                    frames.applied(effects.apply(app, msg), news);
                    for _ in 0..MSG_BATCH {
                        match rx.try_recv() {
                            Ok(msg) => {
                                let news = is_news(&msg);
                                frames.applied(effects.apply(app, msg), news);
                            }
                            Err(_) => break,
                        }
                    }
                    // Answers to a shell's terminal queries, shells closed by a daemon going down.
                    effects.run(app);
                    if last_tick.elapsed() >= TICK_EARLY {
                        tick(app, effects, &mut frames);
                        last_tick = Instant::now();
                        clock.reset();
                    }
                }
                None => engines_alive = false,
            },
            _ = tokio::time::sleep_until(frame_due.unwrap_or_else(tokio::time::Instant::now)), if frame_due.is_some() => {}
            _ = clock.tick() => {
                tick(app, effects, &mut frames);
                last_tick = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::TimeDelta;
    use ratatui::backend::{ClearType, TestBackend, WindowSize};
    use ratatui::buffer::Cell;
    use ratatui::layout::{Position, Size};

    use super::*;
    use crate::model::container::fixtures::container;
    use crate::model::events::{FleetEvent, Severity};
    use crate::model::{ContainerState, SyncData};

    const FRAME: Duration = Duration::from_millis(50);

    fn frames_after_one_frame() -> (Frames, Instant) {
        let t0 = Instant::now();
        let mut frames = Frames::new(FRAME, t0);
        frames.drawn(t0);
        (frames, t0)
    }

    #[test]
    fn news_right_after_a_frame_is_drawn_at_once() {
        let (mut frames, t0) = frames_after_one_frame();
        frames.applied(true, true);
        assert!(frames.due(t0 + Duration::from_millis(5)));
    }

    #[test]
    fn other_changes_wait_for_the_frame_cap() {
        let (mut frames, t0) = frames_after_one_frame();
        frames.applied(true, false);
        assert!(!frames.due(t0 + Duration::from_millis(5)));
        assert_eq!(frames.deadline(), Some(t0 + FRAME));
        assert!(frames.due(t0 + FRAME));
    }

    #[test]
    fn news_that_changed_nothing_waits_like_nothing() {
        let (mut frames, t0) = frames_after_one_frame();
        frames.applied(false, true);
        assert!(!frames.due(t0 + Duration::from_millis(5)));
        assert_eq!(
            frames.deadline(),
            None,
            "nothing to draw, no deadline to wake for"
        );
    }

    #[test]
    fn news_skips_the_cap_once_an_interval_so_a_burst_stays_bounded() {
        let (mut frames, t0) = frames_after_one_frame();
        let ms = |n| t0 + Duration::from_millis(n);
        frames.applied(true, true);
        assert!(frames.due(ms(5)));
        frames.drawn(ms(5));
        // More news 10 ms later: the early frame of this interval is spent.
        frames.applied(true, true);
        assert!(!frames.due(ms(15)));
        assert_eq!(frames.deadline(), Some(ms(55)));
        assert!(frames.due(ms(55)));
        frames.drawn(ms(55));
        // An interval after the early frame, news skips the cap again.
        frames.applied(true, true);
        assert!(frames.due(ms(60)));
    }

    #[test]
    fn a_frame_drawn_after_the_cap_does_not_spend_the_early_one() {
        let (mut frames, t0) = frames_after_one_frame();
        let ms = |n| t0 + Duration::from_millis(n);
        frames.applied(true, true);
        assert!(frames.due(ms(80)));
        frames.drawn(ms(80));
        frames.applied(true, true);
        assert!(
            frames.due(ms(81)),
            "the cap had passed: that frame was not early"
        );
    }

    #[test]
    fn time_moving_waits_a_grace_for_another_frame_to_carry_it() {
        let (mut frames, t0) = frames_after_one_frame();
        let ms = |n| t0 + Duration::from_millis(n);
        // A tick a second on: ages moved. Nothing else pending: drawn at the grace's end.
        frames.time_moved(ms(1000));
        assert!(!frames.due(ms(1001)));
        assert_eq!(frames.deadline(), Some(ms(1000) + TIME_GRACE));
        assert!(frames.due(ms(1000) + TIME_GRACE));
        frames.drawn(ms(1500));
        assert_eq!(frames.deadline(), None);
        // Next tick: a stats round's frame comes within the grace and carries the ages; the
        // grace does not bring another frame.
        frames.time_moved(ms(2500));
        frames.applied(true, false);
        assert_eq!(frames.deadline(), Some(ms(1550)), "the cap, not the grace");
        assert!(frames.due(ms(2600)));
        frames.drawn(ms(2600));
        assert_eq!(frames.deadline(), None);
        assert!(!frames.due(ms(3000)));
        // A later tick does not push an earlier grace back.
        frames.time_moved(ms(3500));
        frames.time_moved(ms(3800));
        assert_eq!(frames.deadline(), Some(ms(3500) + TIME_GRACE));
    }

    #[test]
    fn keys_are_answered_at_once_and_idle_draws_nothing() {
        let (mut frames, t0) = frames_after_one_frame();
        assert!(!frames.due(t0 + Duration::from_secs(5)));
        frames.dirty = true;
        frames.urgent = true;
        assert!(frames.due(t0 + Duration::from_millis(1)));
    }

    /// A test terminal that keeps every flushed frame's text and when it was flushed.
    struct Recording {
        inner: TestBackend,
        frames: Arc<Mutex<Vec<(Instant, String)>>>,
    }

    impl Backend for Recording {
        type Error = <TestBackend as Backend>::Error;
        fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            self.inner.draw(content)
        }
        fn hide_cursor(&mut self) -> Result<(), Self::Error> {
            self.inner.hide_cursor()
        }
        fn show_cursor(&mut self) -> Result<(), Self::Error> {
            self.inner.show_cursor()
        }
        fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
            self.inner.get_cursor_position()
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
            self.inner.set_cursor_position(p)
        }
        fn clear(&mut self) -> Result<(), Self::Error> {
            self.inner.clear()
        }
        fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
            self.inner.clear_region(clear_type)
        }
        fn size(&self) -> Result<Size, Self::Error> {
            self.inner.size()
        }
        fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
            self.inner.window_size()
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            self.inner.flush()?;
            let text = crate::ui::buffer_to_text(self.inner.buffer());
            if let Ok(mut frames) = self.frames.lock() {
                frames.push((Instant::now(), text));
            }
            Ok(())
        }
    }

    /// The first recorded frame at or after `since` whose row for `name` contains `state`,
    /// waited for (deadline 5 s) while the loop runs beside this future.
    async fn frame_showing(
        frames: &Mutex<Vec<(Instant, String)>>,
        name: &str,
        state: &str,
        since: Instant,
    ) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = frames.lock().ok().and_then(|frames| {
                frames.iter().find_map(|(at, text)| {
                    let shown = text
                        .lines()
                        .any(|l| l.contains(&format!(" {name} ")) && l.contains(state));
                    (*at >= since && shown).then_some(*at)
                })
            });
            if let Some(at) = found {
                return at;
            }
            assert!(
                Instant::now() < deadline,
                "no frame showed {name} {state} within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// At 1 fps a frame is due only a second after the last one, and the clock redraws only
    /// after 900 ms without a frame: a `die` sent right after a frame is drawn well before
    /// either, by the loop waking for the message alone.
    #[tokio::test]
    async fn a_die_right_after_a_frame_is_drawn_at_once_not_at_the_cap_or_the_tick() {
        let config = crate::config::parse_str(
            "[ui]\nview = \"containers\"\n\n[[endpoint]]\nname = \"lab1\"\nurl = \"unix:///nowhere.sock\"\n",
            std::path::Path::new("c.toml"),
        )
        .expect("config parses");
        let mut app = App::new(&config, crate::ui::Theme::monochrome());
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let mut terminal = ratatui::Terminal::new(Recording {
            inner: TestBackend::new(160, 20),
            frames: recorded.clone(),
        })
        .expect("a test terminal");
        let (tx, rx) = mpsc::channel(16);
        let (keys, input) = futures::channel::mpsc::unbounded::<io::Result<Event>>();
        let mut effects = Effects::new(None, None);
        let id = format!("c1{}", "0".repeat(62));
        let mut web = container(&id, "web", ContainerState::Running);
        web.started_at = Some(Utc::now() - TimeDelta::minutes(5));
        let feed = async {
            let synced_at = Instant::now();
            tx.send(Msg {
                endpoint: 0,
                at: Utc::now(),
                kind: MsgKind::Synced(Box::new(SyncData {
                    containers: vec![web],
                    daemon_time: Some(Utc::now() - TimeDelta::seconds(1)),
                    ..SyncData::default()
                })),
            })
            .await
            .expect("the loop listens");
            frame_showing(&recorded, "web", "running", synced_at).await;
            let sent = Instant::now();
            let mut die = FleetEvent {
                time_nano: Utc::now().timestamp_nanos_opt().expect("in range"),
                endpoint: 0,
                kind: "container".into(),
                action: "die".into(),
                actor_id: id.clone(),
                actor: "web".into(),
                details: vec!["exit 137".into()],
                exit_code: Some(137),
                severity: Severity::Info,
                restart_loop: false,
            };
            die.classify();
            tx.send(Msg {
                endpoint: 0,
                at: Utc::now(),
                kind: MsgKind::Events(vec![die]),
            })
            .await
            .expect("the loop listens");
            let shown = frame_showing(&recorded, "web", "exited", sent).await;
            drop(keys); // end of input ends the loop
            shown.duration_since(sent)
        };
        let (ran, took) = tokio::join!(
            run(
                &mut terminal,
                &mut app,
                input,
                rx,
                1,
                std::future::pending(),
                &mut effects
            ),
            feed
        );
        ran.expect("the loop ends cleanly");
        assert!(
            took < Duration::from_millis(500),
            "the die was drawn {took:?} after it arrived: it waited for the frame cap or the tick"
        );
    }
}
