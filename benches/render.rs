//! Render benchmark (issue 22): how long one frame of the containers view takes at 200x50 with
//! 10,000 and 50,000 containers, the model built in memory (no daemons). A frame is what the
//! app loop does when something changed: `prepare_frame` (rows filtered and sorted, the
//! selection kept) and `draw` into a buffer. The cases, per size:
//! - `idle`: nothing changed (the cost floor of a redraw);
//! - `stats`: a stats reading for 50 containers arrived before the frame;
//! - `key`: `j` pressed before the frame (key → screen);
//! - `event`: a container died (or started) before the frame, so its row moves;
//! - then sorted by CPU: `cpu`, readings for 50 containers arrived, their rows move;
//! - `round`: a whole endpoint's round of readings arrived (one endpoint's rows move).
//!
//! `cargo bench --bench render` prints median and p95 per case. Under `cargo test` (no
//! `--bench` argument) it runs each case a few times on a small fleet, as a smoke test.
//!
//! `cargo bench --bench render -- --soak [MINUTES]` runs the memory soak instead (issue 22):
//! the app fed what a real 40 × 25 fleet delivers for MINUTES simulated minutes (60 unless
//! given) on a fake clock, no sleeping, with the live heap printed every simulated minute
//! (see [`soak`]). Under `cargo test` a two-minute soak of a smaller fleet runs as a smoke.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark code: a panic is a failure report

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::App;
use fleetdeck::model::container::{ContainerDetail, NetAttachment};
use fleetdeck::model::events::{FleetEvent, Severity};
use fleetdeck::model::query::{Column, Sort};
use fleetdeck::model::stats::{CpuCounters, RawStats};
use fleetdeck::model::{Container, ContainerState, DaemonInfo, Health, Msg, MsgKind, SyncData};
use fleetdeck::ui::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "render/soak.rs"]
mod soak;

const ENDPOINTS: usize = 40;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
}

/// 64 hex digits that look like Docker's (random, so two ids differ in their first bytes).
fn container_id(ep: usize, i: usize) -> String {
    let mut x = ((ep as u64) << 32 | i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    (0..4)
        .map(|_| {
            // splitmix64
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            format!("{:016x}", z ^ (z >> 31))
        })
        .collect()
}

fn container(ep: usize, i: usize) -> Container {
    let state = match i % 20 {
        0 => ContainerState::Exited,
        1 => ContainerState::Restarting,
        _ => ContainerState::Running,
    };
    Container {
        id: container_id(ep, i),
        name: format!("svc-{}-{i:05}", ["web", "api", "worker", "cron"][i % 4]),
        image: "registry.local/shop/web:2.4.1".into(),
        state,
        health: if i % 7 == 0 {
            Health::Healthy
        } else {
            Health::None
        },
        created: Some(now() - TimeDelta::days(3)),
        started_at: Some(now() - TimeDelta::minutes(192)),
        finished_at: None,
        restart_count: (i % 3) as i64,
        exit_code: Some(0),
        oom_killed: false,
        labels: BTreeMap::from([("app".into(), format!("app{}", i % 50))]),
        networks: vec![NetAttachment {
            network: "dockernet".into(),
            ipv4: Some(format!("10.{}.{}.{}", ep, (i / 250) % 250, i % 250 + 2)),
            ..NetAttachment::default()
        }],
        ports: Vec::new(),
        detail: ContainerDetail::default(),
        list_status: String::new(),
    }
}

/// A reading whose CPU % over the last one is `load` tenths of a core: 0.1 to 25.6 cores' worth
/// (as the daemon's `precpu_stats` gives it, so it does not depend on the previous reading).
fn reading(at: DateTime<Utc>, n: u64, load: u8) -> RawStats {
    RawStats {
        read: at,
        precpu: CpuCounters {
            total_usage: 0,
            system_usage: 10_000_000 * n,
            online_cpus: 8,
            percpu_count: 8,
        },
        cpu: CpuCounters {
            total_usage: 125_000 * (u64::from(load) + 1),
            system_usage: 10_000_000 * (n + 1),
            online_cpus: 8,
            percpu_count: 8,
        },
        mem_usage: 50 << 20,
        mem_limit: 512 << 20,
        pids: 4,
        ..RawStats::default()
    }
}

fn fleet_app(total: usize) -> App {
    fleet_app_of(total, container)
}

/// 40 endpoints synced with `total / 40` containers each, made by `make(endpoint, index)`; the
/// containers view open.
fn fleet_app_of(total: usize, make: fn(usize, usize) -> Container) -> App {
    let toml: String = (0..ENDPOINTS)
        .map(|e| {
            format!(
                "[[endpoint]]\nname = \"host{e:02}\"\nurl = \"tcp://10.9.{e}.2:2375\"\ncluster = \"c{}\"\n",
                e % 4
            )
        })
        .collect();
    let config = fleetdeck::config::parse_str(&toml, std::path::Path::new("bench.toml")).unwrap();
    let mut app = App::new(&config, Theme::dark());
    app.now = now();
    let per = total / ENDPOINTS;
    for ep in 0..ENDPOINTS {
        app.apply(Msg {
            endpoint: ep,
            at: now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: DaemonInfo {
                    hostname: format!("host{ep:02}"),
                    cpus: 8,
                    memory_bytes: 32 << 30,
                    ..DaemonInfo::default()
                },
                containers: (0..per).map(|i| make(ep, i)).collect(),
                daemon_time: Some(now()),
                ..SyncData::default()
            })),
        });
    }
    app.handle_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
    app
}

fn frame(app: &mut App, term: &mut Terminal<TestBackend>) {
    let size = term.backend().buffer().area;
    app.prepare_frame(size.width, size.height);
    term.draw(|f| app.draw(f)).unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn case(
    label: &str,
    total: usize,
    runs: usize,
    app: &mut App,
    term: &mut Terminal<TestBackend>,
    mut before: impl FnMut(&mut App, usize),
) {
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        before(app, run);
        let t = Instant::now();
        frame(app, term);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{total:>6} rows  {label:<6} median {:>7.2} ms  p95 {:>7.2} ms  ({runs} frames)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    if let Some(at) = args.iter().position(|a| a == "--soak") {
        let minutes = args.get(at + 1).and_then(|m| m.parse().ok()).unwrap_or(60);
        soak::run(minutes, 25, 1);
        return;
    }
    let (sizes, runs): (&[usize], usize) = if bench {
        (&[10_000, 50_000], 60)
    } else {
        (&[400], 3)
    };
    println!("containers view, 200x50, {ENDPOINTS} endpoints, release build\n");
    for &total in sizes {
        let mut app = fleet_app(total);
        let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
        frame(&mut app, &mut term); // the first frame sizes the table
        case("idle", total, runs, &mut app, &mut term, |_, _| {});
        let per = total / ENDPOINTS;
        case("stats", total, runs, &mut app, &mut term, |app, run| {
            let at = now() + TimeDelta::seconds(run as i64 + 1);
            let samples = (0..50.min(per))
                .map(|i| (container(0, i).id, reading(at, run as u64 + 1, 10)))
                .collect();
            app.apply(Msg {
                endpoint: 0,
                at,
                kind: MsgKind::Stats {
                    interval: Duration::from_secs(2),
                    samples,
                },
            });
        });
        case("key", total, runs, &mut app, &mut term, |app, _| {
            app.handle_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        });
        case("event", total, runs, &mut app, &mut term, |app, run| {
            let victim = container(1, run % per);
            app.apply(Msg {
                endpoint: 1,
                at: now(),
                kind: MsgKind::Events(vec![FleetEvent {
                    time_nano: (now() + TimeDelta::seconds(run as i64 + 1))
                        .timestamp_nanos_opt()
                        .unwrap(),
                    endpoint: 1,
                    kind: "container".into(),
                    action: if run % 2 == 0 { "die" } else { "start" }.into(),
                    actor_id: victim.id,
                    actor: victim.name,
                    details: Vec::new(),
                    exit_code: Some(1),
                    severity: Severity::Info,
                    restart_loop: false,
                }]),
            });
        });
        app.view.sort = Sort {
            column: Column::Cpu,
            descending: false,
        };
        frame(&mut app, &mut term); // the table sorted by CPU
        // Readings of endpoint `ep`'s first `n` containers, at `run`; the load moves with the run
        // so rows change places.
        let readings = |app: &mut App, ep: usize, n: usize, run: usize| {
            let at = now() + TimeDelta::seconds(1_000 + run as i64);
            let samples = (0..n)
                .map(|i| {
                    let load = ((i * 7 + run * 13) % 256) as u8;
                    (container(ep, i).id, reading(at, 100 + run as u64, load))
                })
                .collect();
            app.apply(Msg {
                endpoint: ep,
                at,
                kind: MsgKind::Stats {
                    interval: Duration::from_secs(2),
                    samples,
                },
            });
        };
        // A first reading gives no figure: one each, before the frames are timed.
        for ep in 2..7 {
            readings(&mut app, ep, per, 0);
        }
        frame(&mut app, &mut term);
        case("cpu", total, runs, &mut app, &mut term, |app, run| {
            readings(app, 2, 50.min(per), run + 1)
        });
        case("round", total, runs, &mut app, &mut term, |app, run| {
            readings(app, 3 + run % 4, per, run + 1)
        });
        assert!(
            fleetdeck::ui::buffer_to_text(term.backend().buffer()).contains("svc-"),
            "the containers view shows the fleet"
        );
    }
    if !bench {
        println!();
        soak::run(2, 5, 1);
    }
}
