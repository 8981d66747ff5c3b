//! Whether a stats round or a clock tick changes anything on screen. On the containers table
//! with idle containers most do not: 0.0 % stays 0.0 %, "Up 2h" stays "Up 2h" for an hour, the
//! clock shows minutes. Drawing the frame anyway (laying out and formatting every visible cell,
//! then diffing it against the last frame to write nothing) was most of the dashboard's CPU at
//! 1 s sampling. So while the screen is the plain table, a round redraws only if a figure on
//! screen reads differently from the last frame, and a tick only if the clock or a row's
//! STATUS does. Anywhere else (other views, overlays, a detail panel, a table ranked by a stats
//! column, a wall) every round and every tick draws, as before.

use chrono::{DateTime, Utc};

use super::App;
use crate::model::query::Column;
use crate::model::{EndpointId, View};
use crate::ui::containers::stats_cell;

/// The stats columns, in the table's order.
const STATS_COLUMNS: [Column; 5] = [
    Column::Cpu,
    Column::Mem,
    Column::Net,
    Column::Io,
    Column::Pids,
];

impl App {
    /// The screen is the containers table and nothing else that moves with readings or time:
    /// ordered by a column stats readings cannot reorder, with no panel, overlay, shell pane or
    /// exporter counters over it.
    pub(super) fn plain_table(&self) -> bool {
        let v = &self.view;
        v.view == View::Containers
            && !v.sort.column.is_stats()
            && v.wall.is_none()
            && v.detail.is_none()
            && v.inspect.is_none()
            && v.copy_menu.is_none()
            && v.processes.is_none()
            && v.confirm.is_none()
            && v.deploy_form.is_none()
            && v.plan.is_none()
            && !v.help
            && self.shells.is_empty()
            && self.export_status.is_none()
    }

    /// The stats figures the table shows for the rows on screen, as text, five to a row in
    /// `on_screen` order. `None` when the screen is not the plain table (any round then draws).
    fn shown_figures(&self) -> Option<Vec<String>> {
        if !self.plain_table() {
            return None;
        }
        let mut texts = Vec::with_capacity(self.on_screen.len() * STATS_COLUMNS.len());
        for key in &self.on_screen {
            let sample = self.fleet.stats.latest(key.endpoint, &key.id);
            texts.extend(STATS_COLUMNS.iter().filter_map(|c| stats_cell(*c, sample)));
        }
        Some(texts)
    }

    /// Whether a stats round from `endpoint`, just applied, makes a figure on screen read
    /// differently from the last frame: only that endpoint's rows on screen are formatted
    /// (about one at 40 endpoints), not every row before and after every round.
    pub(super) fn figures_moved(&self, endpoint: EndpointId) -> bool {
        let Some(drawn) = &self.drawn_figures else {
            return true;
        };
        if !self.plain_table() || drawn.len() != self.on_screen.len() * STATS_COLUMNS.len() {
            return true;
        }
        let cells = drawn.chunks_exact(STATS_COLUMNS.len());
        self.on_screen
            .iter()
            .zip(cells)
            .filter(|(key, _)| key.endpoint == endpoint)
            .any(|(key, cells)| {
                let sample = self.fleet.stats.latest(key.endpoint, &key.id);
                STATS_COLUMNS
                    .iter()
                    .zip(cells)
                    .any(|(c, drawn)| stats_cell(*c, sample).as_ref() != Some(drawn))
            })
    }

    /// What time alone changes on the plain table at `now`: the header's clock and each
    /// on-screen row's STATUS ("Up 5s", "Exited (3) 1m ago", "SIGTERM 4s ago"). `None`
    /// elsewhere.
    fn time_texts(&self, now: DateTime<Utc>) -> Option<Vec<String>> {
        if !self.plain_table() {
            return None;
        }
        let mut texts = Vec::with_capacity(self.on_screen.len() + 2);
        texts.push(crate::ui::clock_text(now));
        texts.extend(self.delivery_problem.clone());
        for key in &self.on_screen {
            let Some(ep) = self.fleet.endpoints.get(key.endpoint) else {
                continue;
            };
            // A "stopping" row's STATUS ("SIGTERM 4s ago") changes too when its time is up.
            if let Some(c) = ep.containers.get(&key.id) {
                texts.push(ep.status_text(c, now));
            }
        }
        Some(texts)
    }

    /// Notes what time and stats readings had put on screen as a frame is drawn at `self.now`
    /// (after `prepare_frame` worked out the rows on screen).
    pub(super) fn note_drawn(&mut self) {
        self.drawn_times = self.time_texts(self.now);
        self.drawn_figures = self.shown_figures();
    }

    /// Whether a clock tick at `now` changes the screen: always, unless the screen is the plain
    /// table and its clock, the STATUS of its rows and the delivery problem read as they did
    /// in the last frame.
    pub fn time_moved(&self, now: DateTime<Utc>) -> bool {
        self.drawn_times.is_none() || self.time_texts(now) != self.drawn_times
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::model::container::fixtures::container;
    use crate::model::stats::RawStats;
    use crate::model::{ContainerState, Msg, MsgKind};

    /// Fifty running containers ("c00".."c49", ids "id00".."id49"), started an hour before
    /// `start`, on a 200x50 table: the last few are below the screen.
    fn table(start: DateTime<Utc>) -> App {
        let text =
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://a:1\"\n\n[ui]\nview = \"containers\"\n";
        let config = crate::config::parse_str(text, std::path::Path::new("t.toml"))
            .expect("test config parses");
        let mut app = App::new(&config, crate::ui::Theme::dark());
        let containers = (0..50)
            .map(|i| {
                let mut c = container(
                    &format!("id{i:02}"),
                    &format!("c{i:02}"),
                    ContainerState::Running,
                );
                c.started_at = Some(start - TimeDelta::hours(1));
                c
            })
            .collect();
        app.now = start;
        app.apply(Msg {
            endpoint: 0,
            at: start,
            kind: MsgKind::Synced(Box::new(crate::model::SyncData {
                containers,
                ..Default::default()
            })),
        });
        app.prepare_frame(200, 50);
        app
    }

    fn reading(at: DateTime<Utc>, mem: u64) -> RawStats {
        RawStats {
            read: at,
            mem_usage: mem,
            mem_limit: 1 << 30,
            pids: 2,
            ..RawStats::default()
        }
    }

    /// Applies one stats round from endpoint 0 and, as the loop does, draws a frame when it
    /// asks for one.
    fn round(app: &mut App, at: DateTime<Utc>, readings: &[(&str, u64)]) -> bool {
        let draw = app.apply(stats_msg(at, readings));
        if draw {
            app.prepare_frame(200, 50);
        }
        draw
    }

    /// One stats round from endpoint 0: each container's memory reading at `at`.
    fn stats_msg(at: DateTime<Utc>, readings: &[(&str, u64)]) -> Msg {
        let samples = readings
            .iter()
            .map(|(id, mem)| (id.to_string(), reading(at, *mem)))
            .collect();
        Msg {
            endpoint: 0,
            at,
            kind: MsgKind::Stats {
                interval: std::time::Duration::from_secs(1),
                samples,
            },
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 3, 30, 10)
            .single()
            .expect("a time")
    }

    #[test]
    fn a_stats_round_draws_only_when_a_figure_on_screen_reads_differently() {
        let t0 = start();
        let mut app = table(t0);
        let s = |n| t0 + TimeDelta::seconds(n);
        assert!(app.on_screen.iter().any(|k| k.id == "id01"));
        assert!(!app.on_screen.iter().any(|k| k.id == "id48"));
        // First readings: no rate yet, every figure still "-".
        assert!(!round(
            &mut app,
            s(1),
            &[("id00", 100_000), ("id01", 100_000)]
        ));
        // Second: figures appear for the rows on screen.
        assert!(round(
            &mut app,
            s(2),
            &[("id00", 100_000), ("id01", 100_000)]
        ));
        // Figures that read the same ("98K/1.0G") again: recorded, but nothing to draw.
        assert!(!round(
            &mut app,
            s(3),
            &[("id00", 100_000), ("id01", 100_100)]
        ));
        assert_eq!(
            app.fleet.stats.latest(0, "id01").map(|x| x.mem_used),
            Some(100_100)
        );
        // A figure that reads differently (98K -> 1.9M) is drawn.
        assert!(round(&mut app, s(4), &[("id00", 2_000_000)]));
        // Containers below the screen are recorded, never drawn.
        assert!(!round(&mut app, s(5), &[("id48", 100_000)]));
        assert!(!round(&mut app, s(6), &[("id48", 5 << 20)]));
        assert!(app.fleet.stats.latest(0, "id48").is_some());
    }

    #[test]
    fn a_round_is_held_against_the_last_frame_not_the_last_round() {
        let t0 = start();
        let mut app = table(t0);
        let s = |n| t0 + TimeDelta::seconds(n);
        round(&mut app, s(1), &[("id00", 100_000)]);
        assert!(round(&mut app, s(2), &[("id00", 100_000)]));
        // A round that asks for a frame not drawn yet (the fps cap holds it)...
        assert!(app.apply(stats_msg(s(3), &[("id00", 2_000_000)])));
        // ...and a round that puts the figure back: the last frame already shows it, so this
        // round has nothing of its own to draw.
        assert!(!round(&mut app, s(4), &[("id00", 100_000)]));
    }

    #[test]
    fn anything_but_the_plain_table_draws_every_round() {
        let t0 = start();
        let s = |n| t0 + TimeDelta::seconds(n);
        type Setting = fn(&mut App);
        let cases: [(&str, Setting); 4] = [
            ("clusters view", |a| a.view.view = View::Clusters),
            ("sorted by cpu", |a| a.view.sort.column = Column::Cpu),
            ("detail panel", |a| {
                a.view.detail = a.on_screen.first().cloned();
            }),
            ("help", |a| a.view.help = true),
        ];
        for (name, set) in cases {
            let mut app = table(t0);
            set(&mut app);
            app.prepare_frame(200, 50);
            round(&mut app, s(1), &[("id48", 100_000)]);
            round(&mut app, s(2), &[("id48", 100_000)]);
            assert!(round(&mut app, s(3), &[("id48", 100_000)]), "{name}");
            assert!(app.time_moved(t0), "{name}");
        }
    }

    #[test]
    fn a_ping_round_trip_draws_only_where_it_is_shown_and_wakes_no_rule() {
        let t0 = start();
        let mut app = table(t0);
        let ping = |ms| Msg {
            endpoint: 0,
            at: t0,
            kind: MsgKind::Latency(std::time::Duration::from_millis(ms)),
        };
        assert!(!app.alerting.dirty, "the first frame evaluated the rules");
        let revision = app.fleet.revision;
        // The table shows no round trip: recorded, nothing drawn, no rule to run again.
        assert!(!app.apply(ping(3)));
        assert_eq!(
            app.fleet.endpoints[0].latency.map(|l| l.as_millis()),
            Some(3)
        );
        assert!(!app.alerting.dirty);
        assert_eq!(app.fleet.revision, revision);
        // The clusters view shows it: a new figure is drawn, the same one is not.
        app.view.view = View::Clusters;
        assert!(app.apply(ping(4)));
        assert!(!app.apply(ping(4)));
        assert!(!app.alerting.dirty);
        assert_eq!(app.fleet.revision, revision);
    }

    #[test]
    fn a_tick_draws_only_when_the_clock_or_a_status_on_screen_moves() {
        let t0 = start();
        let mut app = table(t0);
        // Containers up an hour, clock at 03:30: nothing moves within the minute.
        assert!(!app.time_moved(t0 + TimeDelta::seconds(1)));
        assert!(!app.time_moved(t0 + TimeDelta::seconds(49)));
        // The clock turns 03:31.
        assert!(app.time_moved(t0 + TimeDelta::seconds(50)));
        // A row whose age reads in seconds moves every second.
        let young = app.on_screen[3].clone();
        if let Some(c) = app.fleet.endpoints[0].containers.get_mut(&young.id) {
            c.started_at = Some(t0 - TimeDelta::seconds(5));
        }
        app.prepare_frame(200, 50);
        assert!(app.time_moved(t0 + TimeDelta::seconds(1)));
        // Off screen, it does not.
        let below = "id49";
        if let Some(c) = app.fleet.endpoints[0].containers.get_mut(&young.id) {
            c.started_at = Some(t0 - TimeDelta::hours(1));
        }
        if let Some(c) = app.fleet.endpoints[0].containers.get_mut(below) {
            c.started_at = Some(t0 - TimeDelta::seconds(5));
        }
        app.prepare_frame(200, 50);
        assert!(!app.time_moved(t0 + TimeDelta::seconds(1)));
    }

    #[test]
    fn a_stopping_row_draws_at_once_and_its_end_draws_on_a_tick() {
        let t0 = start();
        let mut app = table(t0);
        let mut kill = crate::model::events::FleetEvent {
            time_nano: t0.timestamp_nanos_opt().unwrap_or_default(),
            endpoint: 0,
            kind: "container".into(),
            action: "kill".into(),
            actor_id: "id02".into(),
            actor: "c02".into(),
            details: vec!["signal 15".into()],
            exit_code: None,
            severity: crate::model::events::Severity::Info,
            restart_loop: false,
        };
        kill.classify();
        assert!(app.apply(Msg {
            endpoint: 0,
            at: t0,
            kind: MsgKind::Events(vec![kill]),
        }));
        app.prepare_frame(200, 50);
        // "SIGTERM 0s ago", "SIGTERM 1s ago"…: every tick while it stops.
        assert!(app.time_moved(t0 + TimeDelta::seconds(1)));
        let end = t0 + crate::model::events::STOPPING_SHOWN;
        app.now = end - TimeDelta::seconds(1);
        app.prepare_frame(200, 50);
        // Its time is up: the row reads "Up 1h" again, and the tick draws it.
        assert!(app.time_moved(end));
        app.now = end;
        app.prepare_frame(200, 50);
        assert!(!app.time_moved(end + TimeDelta::seconds(1)));
    }
}
