//! The memory soak (issue 22): does the app's heap stay flat on a busy fleet?
//!
//! The app is fed, on a fake clock, what the engine delivers for a 40-endpoint fleet that the
//! containers view shows at 200x50 with the default config:
//! - every 2 s a stats round per endpoint: the containers on screen every round, the others
//!   one round in five (`[stats] offscreen_interval_s = 10`), chosen by the engine's own
//!   [`due`];
//! - every 15 s, 20 containers `docker restart`ed: the events the engine converts (kill, die
//!   with its exit code, network disconnect, stop, network connect, start, restart), each batch
//!   followed by the inspect of the container and the network list it re-reads;
//! - every 30 s a resync per endpoint, which inspects the containers whose `docker ps` status
//!   text ("Up 3 minutes") changed; every 5 s a ping's latency;
//! - a clock tick (alert rules) and a frame every second.
//!
//! A counting allocator over [`System`] gives the bytes live; they are printed every simulated
//! minute, and at the end the main collections are dropped one by one to say what each held.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use fleetdeck::app::App;
use fleetdeck::engine::stats::{Focus, due};
use fleetdeck::model::container::Container;
use fleetdeck::model::endpoint::{IpamPool, NetworkInfo};
use fleetdeck::model::events::{EventLog, FleetEvent, Severity};
use fleetdeck::model::stats::{BlockIo, NetCounters, StatsBook};
use fleetdeck::model::{ContainerState, Msg, MsgKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{ENDPOINTS, container, container_id, fleet_app_of, frame, now, reading};

/// The system allocator, counting the bytes asked for and not yet given back, and the calls.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to `System` as it came; the counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            CALLS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            CALLS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
            CALLS.fetch_add(1, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Stats samples the book holds over all its containers.
fn samples_held(book: &StatsBook) -> usize {
    book.iter().map(|(_, _, c)| c.history.len()).sum()
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// Containers `docker restart`ed per wave, and how often a wave comes.
const RESTARTS: usize = 20;
const RESTART_EVERY_S: i64 = 15;
/// `[stats] interval_s` and `offscreen_interval_s` over it (the defaults).
const STATS_EVERY_S: i64 = 2;
const OFFSCREEN_EVERY: u64 = 5;
const RESYNC_EVERY_S: i64 = 30;
const PING_EVERY_S: i64 = 5;

const NETWORK: &str = "dockernet";

fn network_id(ep: usize) -> String {
    container_id(ep, 1_000_000)
}

/// What `docker network ls` + inspect gives for an endpoint: the defaults and the lab's network.
fn networks(ep: usize) -> Vec<NetworkInfo> {
    let net = |id: String, name: &str, driver: &str, subnet: String| NetworkInfo {
        id,
        name: name.into(),
        driver: driver.into(),
        scope: "local".into(),
        internal: false,
        pools: vec![IpamPool {
            subnet,
            ip_range: None,
            gateway: None,
            ..IpamPool::default()
        }],
        labels: Default::default(),
        options: Default::default(),
    };
    vec![
        net(
            container_id(ep, 2_000_000),
            "bridge",
            "bridge",
            "172.17.0.0/16".into(),
        ),
        net(network_id(ep), NETWORK, "bridge", format!("10.{ep}.0.0/16")),
        net(container_id(ep, 3_000_000), "host", "host", String::new()),
    ]
}

/// A bench container as a sync reads it (all running, as bench/scale.sh starts them): the
/// render bench's, with a handful of labels and what inspect says of its command,
/// environment and restart policy.
fn lab_container(ep: usize, i: usize) -> Container {
    let mut c = container(ep, i);
    c.state = ContainerState::Running;
    c.exit_code = Some(0);
    let service = c.name.split('-').nth(1).unwrap_or("web").to_string();
    c.labels.extend([
        ("com.docker.compose.project".into(), "shop".into()),
        ("com.docker.compose.service".into(), service),
        ("com.docker.compose.version".into(), "2.29.7".into()),
        ("com.docker.compose.oneoff".into(), "False".into()),
        (
            "com.docker.compose.config-hash".into(),
            container_id(ep, i + 7).chars().take(64).collect(),
        ),
        ("org.opencontainers.image.version".into(), "2.4.1".into()),
    ]);
    c.detail.command = vec!["/app/server".into(), "--port".into(), "8080".into()];
    c.detail.env = (0..6)
        .map(|k| (format!("SHOP_SETTING_{k}"), format!("value-{k}-{i}")))
        .collect();
    c.detail.restart_policy = "unless-stopped".into();
    c.detail.network_mode = NETWORK.into();
    c.detail.hostname = c.id[..12].to_string();
    c.list_status = docker_status(192 * 60);
    c
}

/// `docker ps`' status text of a container up `secs` seconds (go-units' `HumanDuration`).
fn docker_status(secs: i64) -> String {
    let up = match secs {
        ..1 => "Less than a second".to_string(),
        1..60 => format!("{secs} seconds"),
        60..120 => "About a minute".to_string(),
        120..3_600 => format!("{} minutes", secs / 60),
        _ => match (secs as f64 / 3_600.0).round() as i64 {
            1 => "About an hour".to_string(),
            h if h < 48 => format!("{h} hours"),
            h => format!("{} days", h / 24),
        },
    };
    format!("Up {up}")
}

/// A Docker event as the engine's conversion keeps it: the actor's name, only the attributes
/// shown (signal, exit code, image, a network's container), the rest of `Actor.Attributes`
/// (every label) dropped.
fn event(ep: usize, at: DateTime<Utc>, action: &str, c: &Container) -> FleetEvent {
    let mut details = Vec::new();
    let mut exit_code = None;
    let (kind, actor_id, actor) = match action.split_once(' ') {
        Some(("kill", sig)) => {
            details.push(format!("signal {sig}"));
            ("container", c.id.clone(), c.name.clone())
        }
        Some(("die", code)) => {
            exit_code = code.parse().ok();
            details.push(format!("exit {code}"));
            ("container", c.id.clone(), c.name.clone())
        }
        _ if action.contains("connect") => {
            details.push(format!("container {}", &c.id[..12]));
            ("network", network_id(ep), NETWORK.to_string())
        }
        _ => ("container", c.id.clone(), c.name.clone()),
    };
    if kind == "container" {
        details.push(format!("image {}", c.image));
    }
    let mut ev = FleetEvent {
        time_nano: at.timestamp_nanos_opt().unwrap_or(0),
        endpoint: ep,
        kind: kind.into(),
        action: action.split(' ').next().unwrap_or(action).into(),
        actor_id,
        actor,
        details,
        exit_code,
        severity: Severity::Info,
        restart_loop: false,
    };
    ev.classify();
    ev
}

fn msg(endpoint: usize, at: DateTime<Utc>, kind: MsgKind) -> Msg {
    Msg { endpoint, at, kind }
}

/// `docker restart` of endpoint `ep`'s container `i` at `at`, as the engine reports it: the
/// stop half's events, the inspect and network list they call for, then the start half's.
/// The bench containers trap SIGTERM and exit 0.
fn restart(app: &mut App, ep: usize, i: usize, at: DateTime<Utc>) {
    let id = container_id(ep, i);
    let Some(mut c) = app.fleet.endpoints[ep].containers.get(&id).cloned() else {
        return;
    };
    let ms = |n: i64| at + TimeDelta::milliseconds(n);
    let code = 0;
    let stop = vec![
        event(ep, ms(0), "kill 15", &c),
        event(ep, ms(200), &format!("die {code}"), &c),
        event(ep, ms(250), "disconnect", &c),
        event(ep, ms(300), "stop", &c),
    ];
    app.apply(msg(ep, ms(300), MsgKind::Events(stop)));
    c.state = ContainerState::Exited;
    c.finished_at = Some(ms(200));
    c.exit_code = Some(code);
    c.list_status = format!("Exited ({code}) Less than a second ago");
    app.apply(msg(
        ep,
        ms(320),
        MsgKind::ContainerChanged(Box::new(c.clone())),
    ));
    app.apply(msg(ep, ms(330), MsgKind::Networks(networks(ep))));
    let start = vec![
        event(ep, ms(500), "connect", &c),
        event(ep, ms(600), "start", &c),
        event(ep, ms(650), "restart", &c),
    ];
    app.apply(msg(ep, ms(650), MsgKind::Events(start)));
    c.state = ContainerState::Running;
    c.started_at = Some(ms(600));
    c.exit_code = Some(0);
    c.list_status = docker_status(0);
    app.apply(msg(ep, ms(680), MsgKind::ContainerChanged(Box::new(c))));
    app.apply(msg(ep, ms(690), MsgKind::Networks(networks(ep))));
}

/// What the engine's stats collectors keep between rounds: the round and, per container, how
/// many readings it has sent (up to 2, see [`due`]).
#[derive(Default)]
struct Collectors {
    round: Vec<u64>,
    readings: Vec<HashMap<String, u8>>,
}

/// One stats round of every endpoint at `at` (`n` numbers the round, for the counters).
fn stats_round(app: &mut App, collectors: &mut Collectors, at: DateTime<Utc>, n: u64) {
    let focus: Vec<Focus> = app.stats_focus(false);
    for (ep, focus) in focus.iter().enumerate() {
        collectors.round[ep] += 1;
        let round = collectors.round[ep];
        let readings = &mut collectors.readings[ep];
        let running: HashSet<&String> = app.fleet.endpoints[ep]
            .containers
            .values()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| &c.id)
            .collect();
        readings.retain(|id, _| running.contains(id));
        let samples: Vec<_> = running
            .into_iter()
            .filter(|id| {
                let count = readings.get(*id).copied().unwrap_or(0);
                due(id.as_str(), focus, round, count, OFFSCREEN_EVERY)
            })
            .map(|id| {
                let load = (id.as_bytes()[0] as u64 + n) % 256;
                let mut raw = reading(at, n, load as u8);
                raw.networks = vec![NetCounters {
                    interface: "eth0".into(),
                    rx_bytes: 1_000 * n,
                    tx_bytes: 600 * n,
                }];
                raw.blkio = BlockIo {
                    read: 4_096 * n,
                    write: 8_192 * n,
                };
                (id.clone(), raw)
            })
            .collect();
        for (id, _) in &samples {
            let count = readings.entry(id.clone()).or_insert(0);
            *count = count.saturating_add(1).min(2);
        }
        if !samples.is_empty() {
            app.apply(msg(
                ep,
                at,
                MsgKind::Stats {
                    interval: Duration::from_secs(STATS_EVERY_S as u64),
                    samples,
                },
            ));
        }
    }
}

/// A resync of endpoint `ep`: the containers whose status text moved are inspected again.
fn resync(app: &mut App, ep: usize, at: DateTime<Utc>) {
    let moved: Vec<Container> = app.fleet.endpoints[ep]
        .containers
        .values()
        .filter(|c| c.state == ContainerState::Running)
        .filter_map(|c| {
            let up = c.started_at.map_or(0, |s| (at - s).num_seconds());
            let status = docker_status(up);
            (status != c.list_status).then(|| Container {
                list_status: status,
                ..c.clone()
            })
        })
        .collect();
    for c in moved {
        app.apply(msg(ep, at, MsgKind::ContainerChanged(Box::new(c))));
    }
}

/// Runs the soak for `minutes` simulated minutes on a fleet of `per` containers per endpoint;
/// prints a line every `every` minutes.
pub fn run(minutes: i64, per: usize, every: i64) {
    let total = ENDPOINTS * per;
    println!(
        "memory soak: {ENDPOINTS} endpoints x {per} containers, containers view 200x50, \
         {RESTARTS} restarted every {RESTART_EVERY_S} s, {minutes} simulated minutes\n"
    );
    let start_heap = live();
    let mut app = fleet_app_of(total, lab_container);
    for ep in 0..ENDPOINTS {
        app.apply(msg(ep, now(), MsgKind::Networks(networks(ep))));
    }
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("a test terminal");
    frame(&mut app, &mut term);
    println!(
        "after the sync: {:.1} MB live ({} containers)\n",
        mb(live() - start_heap),
        app.fleet.container_count()
    );
    println!(
        "{:>4} {:>9} {:>8} {:>7} {:>8} {:>9} {:>10} {:>8}",
        "min", "live MB", "delta", "events", "stats c", "samples", "allocs/min", "wall s"
    );
    let mut collectors = Collectors {
        round: vec![0; ENDPOINTS],
        readings: vec![HashMap::new(); ENDPOINTS],
    };
    let mut last = live();
    let mut calls = CALLS.load(Relaxed);
    let wall = Instant::now();
    for s in 1..=minutes * 60 {
        let at = now() + TimeDelta::seconds(s);
        if s % STATS_EVERY_S == 0 {
            stats_round(&mut app, &mut collectors, at, s as u64);
        }
        if s % RESTART_EVERY_S == 0 {
            // bench/scale.sh's churn: the same containers every time, the first of as many
            // daemons.
            for ep in 0..RESTARTS.min(ENDPOINTS) {
                restart(
                    &mut app,
                    ep,
                    0,
                    at + TimeDelta::milliseconds(ep as i64 * 40),
                );
            }
        }
        for ep in 0..ENDPOINTS {
            // The endpoints' timers are not in step: spread their resyncs and pings.
            if (s + ep as i64) % RESYNC_EVERY_S == 0 {
                resync(&mut app, ep, at);
            }
            if (s + ep as i64) % PING_EVERY_S == 0 {
                let rtt = Duration::from_micros(700 + ((s as u64 * 37 + ep as u64) % 900));
                app.apply(msg(ep, at, MsgKind::Latency(rtt)));
            }
        }
        app.tick(at);
        app.now = at;
        frame(&mut app, &mut term);
        if s % (every * 60) == 0 {
            let now_live = live();
            let now_calls = CALLS.load(Relaxed);
            let samples = samples_held(&app.fleet.stats);
            println!(
                "{:>4} {:>9.2} {:>+8.2} {:>7} {:>8} {:>9} {:>10} {:>8.1}",
                s / 60,
                mb(now_live - start_heap),
                mb(now_live) - mb(last),
                app.fleet.events.len(),
                app.fleet.stats.len(),
                samples,
                (now_calls - calls) / every as u64,
                wall.elapsed().as_secs_f64(),
            );
            last = now_live;
            calls = now_calls;
        }
    }
    breakdown(app, term, start_heap);
}

/// What the main collections hold: each dropped in turn, the live bytes it gave back.
fn breakdown(mut app: App, term: Terminal<TestBackend>, start_heap: usize) {
    println!("\nat the end, held by:");
    let freed = |drop_it: &mut dyn FnMut()| {
        let before = live();
        drop_it();
        before.saturating_sub(live())
    };
    let line = |what: String, bytes: usize, per: String| {
        println!("  {what:<52} {:>7.2} MB {per}", mb(bytes));
    };
    let events = app.fleet.events.len();
    let (capacity, rule) = (app.fleet.events.capacity(), app.fleet.events.restart_rule());
    let bytes = freed(&mut || app.fleet.events = EventLog::new(capacity, rule));
    line(
        format!("event log ({events} events)"),
        bytes,
        format!("({} B an event)", bytes / events.max(1)),
    );
    let held = app.fleet.stats.len();
    let samples = samples_held(&app.fleet.stats);
    let window = app.fleet.stats.window();
    let bytes = freed(&mut || app.fleet.stats = StatsBook::new(window));
    line(
        format!("stats book ({held} containers, {samples} samples)"),
        bytes,
        format!(
            "({} B a container, {} B a sample)",
            bytes / held.max(1),
            bytes / samples.max(1)
        ),
    );
    let containers = app.fleet.container_count();
    let bytes = freed(&mut || {
        for ep in &mut app.fleet.endpoints {
            ep.containers.clear();
        }
    });
    line(
        format!("containers ({containers})"),
        bytes,
        format!("({} B a container)", bytes / containers.max(1)),
    );
    let mut term = Some(term);
    let bytes = freed(&mut || drop(term.take()));
    line("terminal buffers".into(), bytes, String::new());
    let mut app = Some(app);
    let bytes = freed(&mut || drop(app.take()));
    line(
        "the rest of the app (change log, row cache, alerts…)".into(),
        bytes,
        String::new(),
    );
    line(
        "still live (the bench's own)".into(),
        live().saturating_sub(start_heap),
        String::new(),
    );
}
