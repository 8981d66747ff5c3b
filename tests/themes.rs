//! Theme files: every shipped theme loads and draws every view, the dark file is the built-in
//! default, the light, high-contrast and 16-colour themes keep their promises, the config picks
//! a theme and colours a cluster's frame, and each kind of mistake gives the exact message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::App;
use fleetdeck::config::theme::{BUILTIN_THEMES, THEME_KEYS};
use fleetdeck::config::{self, Config};
use fleetdeck::model::container::NetAttachment;
use fleetdeck::model::logs::{LogBuffer, LogLine, LogSource, LogStream};
use fleetdeck::model::stats::{CpuCounters, RawStats};
use fleetdeck::model::{Container, ContainerState, DaemonInfo, Health, Msg, MsgKind, SyncData};
use fleetdeck::ui::state::LogView;
use fleetdeck::ui::theme::STYLE_KEYS;
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

// ---------------------------------------------------------------------------------------------
// A small fleet with something in every view (a trimmed copy of tests/render.rs's fixture).

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn render_config() -> Config {
    config::parse_file(Path::new("tests/fixtures/config/themed.toml")).unwrap()
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
        labels: BTreeMap::from([("app".into(), name.into())]),
        networks: vec![NetAttachment {
            network: "dockernet".into(),
            ipv4: Some(ip.into()),
            static_ipv4: Some(ip.into()),
            ..NetAttachment::default()
        }],
        ports: Vec::new(),
        detail: Default::default(),
        list_status: String::new(),
    }
}

fn app(config: &Config, theme: Theme) -> App {
    let mut app = App::new(config, theme);
    app.now = now();
    let mut unhealthy = container("c2", "api-1", ContainerState::Running, "192.168.2.21");
    unhealthy.health = Health::Unhealthy;
    let mut crashed = container("c3", "worker-1", ContainerState::Exited, "192.168.2.22");
    crashed.exit_code = Some(137);
    let mut restarting = container("c4", "cron-1", ContainerState::Restarting, "192.168.2.23");
    restarting.restart_count = 12;
    let data = [
        vec![
            container("c1", "web-1", ContainerState::Running, "192.168.2.20"),
            unhealthy,
            crashed,
        ],
        vec![
            restarting,
            container("c5", "web-twin", ContainerState::Running, "192.168.2.20"),
        ],
        vec![container(
            "c6",
            "web-eu-1",
            ContainerState::Running,
            "10.8.0.20",
        )],
    ];
    for (i, containers) in data.into_iter().enumerate() {
        app.apply(Msg {
            endpoint: i,
            at: now() - TimeDelta::minutes(10),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: DaemonInfo {
                    engine_version: "20.10.24".into(),
                    api_version: "1.41".into(),
                    cpus: 8,
                    memory_bytes: 32 << 30,
                    ..DaemonInfo::default()
                },
                containers,
                latency: Some(Duration::from_millis(3)),
                ..SyncData::default()
            })),
        });
    }
    let mut die = fleetdeck::model::events::FleetEvent {
        time_nano: (now() - TimeDelta::minutes(4))
            .timestamp_nanos_opt()
            .unwrap(),
        endpoint: 0,
        kind: "container".into(),
        action: "die".into(),
        actor_id: format!("c3{}", "0".repeat(62)),
        actor: "worker-1".into(),
        details: vec!["exit 137".into()],
        exit_code: Some(137),
        severity: fleetdeck::model::events::Severity::Info,
        restart_loop: false,
    };
    die.classify();
    app.apply(Msg {
        endpoint: 0,
        at: now() - TimeDelta::minutes(4),
        kind: MsgKind::Events(vec![die]),
    });
    for i in 0..30_i64 {
        let at = now() - TimeDelta::seconds(60 - 2 * i);
        app.apply(Msg {
            endpoint: 0,
            at,
            kind: MsgKind::Stats {
                interval: Duration::from_secs(2),
                samples: vec![(
                    format!("c1{}", "0".repeat(62)),
                    RawStats {
                        read: at,
                        started_at: None,
                        cpu: CpuCounters {
                            total_usage: (i as u64) * 1_000_000_000,
                            system_usage: (i as u64) * 4_000_000_000,
                            online_cpus: 2,
                            percpu_count: 2,
                        },
                        mem_usage: 512 << 20,
                        mem_limit: 8 << 30,
                        ..RawStats::default()
                    },
                )],
            },
        });
    }
    app.apply(Msg {
        endpoint: 2,
        at: now() - TimeDelta::minutes(2),
        kind: MsgKind::Down {
            reason: "connection refused".into(),
            retry_in: Duration::from_secs(8),
        },
    });
    let mut logs = LogBuffer::new(
        vec![LogSource {
            endpoint: 0,
            container_id: "c1".into(),
            tag: "us-east-01/web-1".into(),
        }],
        100,
    );
    let at = |s: i64| Some(now() + TimeDelta::seconds(s));
    logs.extend([
        LogLine::from_raw(0, at(1), LogStream::Stdout, "GET /health 200"),
        LogLine::from_raw(0, at(2), LogStream::Stderr, "error: upstream timed out"),
        LogLine::from_raw(0, at(3), LogStream::Stdout, "\x1b[33mWARN\x1b[0m slow"),
        LogLine::marker(0, at(4), "── container restarted ──"),
    ]);
    app.logs = Some(LogView::new(1, logs));
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

fn find_cell(buf: &Buffer, text: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(text) {
            return (line[..byte].chars().count() as u16, y);
        }
    }
    panic!("{text:?} not on screen:\n{}", buffer_to_text(buf));
}

/// The cell where `text` starts is drawn in `style`: its colours and at least its modifiers.
fn assert_drawn_in(buf: &Buffer, text: &str, style: Style, theme: &str) {
    let cell = &buf[find_cell(buf, text)];
    if let Some(fg) = style.fg {
        assert_eq!(cell.fg, fg, "{theme}: fg of {text:?}");
    }
    if let Some(bg) = style.bg {
        assert_eq!(cell.bg, bg, "{theme}: bg of {text:?}");
    }
    assert!(
        cell.modifier.contains(style.add_modifier),
        "{theme}: modifiers of {text:?}: {:?}",
        cell.modifier
    );
}

/// Every `.toml` in `themes/`, by file stem.
fn shipped_theme_files() -> Vec<(String, std::path::PathBuf)> {
    let mut files: Vec<_> = std::fs::read_dir("themes")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    files
}

fn shipped(name: &str) -> Theme {
    Theme::from(
        &config::theme::builtin(name)
            .expect("a built-in theme")
            .unwrap(),
    )
}

/// A theme file as the UI draws it.
fn parse_theme_file(path: &Path) -> Result<Theme, config::ConfigError> {
    config::theme::parse_theme_file(path).map(|spec| Theme::from(&spec))
}

#[test]
fn the_config_knows_every_theme_key_the_ui_has_and_no_other() {
    let ui: Vec<&str> = STYLE_KEYS.iter().map(|k| k.name).collect();
    assert_eq!(THEME_KEYS.to_vec(), ui);
}

// ---------------------------------------------------------------------------------------------
// The shipped themes.

#[test]
fn every_file_in_themes_is_built_in_and_every_built_in_is_a_file() {
    let mut files: Vec<String> = shipped_theme_files().into_iter().map(|(n, _)| n).collect();
    let mut builtins: Vec<String> = BUILTIN_THEMES.iter().map(|(n, _)| n.to_string()).collect();
    files.sort();
    builtins.sort();
    assert_eq!(files, builtins);
    for name in ["dark", "light", "high-contrast", "16-colour"] {
        assert!(builtins.iter().any(|b| b == name), "{name} is shipped");
    }
}

#[test]
fn every_shipped_theme_loads_and_renders_every_view_at_80x24() {
    let config = render_config();
    for (name, path) in shipped_theme_files() {
        let theme = parse_theme_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            theme,
            shipped(&name),
            "{name}: the file is what is compiled in"
        );
        let mut app = app(&config, theme.clone());

        let buf = render(&mut app, 80, 24);
        assert_drawn_in(&buf, "✖ down", theme.endpoint_down, &name);
        for view in ['2', '3', '4', '5', '6', '7', '8', '9'] {
            key(&mut app, KeyCode::Char(view));
            let buf = render(&mut app, 80, 24);
            assert!(
                !buffer_to_text(&buf).trim().is_empty(),
                "{name}: view {view} drew nothing"
            );
        }
        key(&mut app, KeyCode::Char('2'));
        let buf = render(&mut app, 200, 50);
        assert_drawn_in(&buf, "unhealthy", theme.container_unhealthy, &name);
        assert_drawn_in(&buf, "restarting", theme.container_restarting, &name);
        key(&mut app, KeyCode::Enter);
        render(&mut app, 80, 24);
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('3'));
        let buf = render(&mut app, 200, 50);
        assert_drawn_in(&buf, "die", theme.event_die_nonzero, &name);
        key(&mut app, KeyCode::Char('?'));
        render(&mut app, 80, 24);

        let mut wall = self::app(&config, theme.clone());
        wall.enable_wall(&fleetdeck::config::WallSettings::default());
        let buf = render(&mut wall, 80, 24);
        assert_drawn_in(&buf, "NEED ATTENTION", theme.pool_conflict, &name);
    }
}

#[test]
fn the_dark_file_is_the_built_in_default() {
    let file = parse_theme_file(Path::new("themes/dark.toml")).unwrap();
    assert_eq!(file, Theme::dark());
    assert_eq!(shipped("dark"), Theme::dark());
    assert_eq!(
        Theme::from(&config::parse_str("", Path::new("c.toml")).unwrap().ui.theme),
        Theme::dark(),
        "no [ui] theme means dark"
    );
}

/// Named colours as xterm draws them by default; the 256-colour cube and gray ramp as defined.
fn rgb(c: Color) -> (u8, u8, u8) {
    const NAMED: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let ansi = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i @ 0..=15) => NAMED[usize::from(i)],
        Color::Indexed(i @ 16..=231) => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            let i = i - 16;
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        Color::Indexed(i) => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
        named => {
            NAMED[ansi
                .iter()
                .position(|a| *a == named)
                .expect("a named colour")]
        }
    }
}

/// WCAG contrast ratio, 1 (none) to 21 (black on white).
fn contrast(a: Color, b: Color) -> f64 {
    let luminance = |c: Color| {
        let (r, g, b) = rgb(c);
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Every style of a theme with its key, plus the source tags.
fn styles(theme: &Theme) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = STYLE_KEYS
        .iter()
        .map(|k| (k.name.to_string(), *(k.get)(theme)))
        .collect();
    for (i, s) in theme.source_tags.iter().enumerate() {
        out.push((format!("source_tags[{i}]"), *s));
    }
    out
}

#[test]
fn every_shipped_theme_puts_text_on_its_own_background_legibly() {
    for (name, _) in BUILTIN_THEMES {
        for (key, style) in styles(&shipped(name)) {
            if let (Some(fg), Some(bg)) = (style.fg, style.bg) {
                let ratio = contrast(fg, bg);
                assert!(
                    ratio >= 4.5,
                    "{name}: {key} {fg:?} on {bg:?} is {ratio:.1}:1"
                );
            }
        }
    }
}

#[test]
fn the_light_theme_never_writes_light_text_on_the_light_background() {
    let theme = shipped("light");
    let light = [
        Color::White,
        Color::Gray,
        Color::Yellow,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
    ];
    let mut text: Vec<(String, Color)> = styles(&theme)
        .into_iter()
        .filter(|(_, s)| s.bg.is_none())
        .filter_map(|(k, s)| Some((k, s.fg?)))
        .collect();
    text.extend(
        theme
            .ansi
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("ansi[{i}]"), *c)),
    );
    assert!(text.len() > 30, "most styles carry a colour");
    for (key, fg) in text {
        assert!(!light.contains(&fg), "light: {key} is {fg:?} on white");
        let ratio = contrast(fg, Color::White);
        assert!(ratio >= 3.0, "light: {key} {fg:?} on white is {ratio:.1}:1");
    }
}

#[test]
fn the_high_contrast_theme_is_bright_on_black_without_dim_or_dark_gray() {
    let theme = shipped("high-contrast");
    assert_eq!(theme.base, Style::new().fg(Color::White).bg(Color::Black));
    for (key, style) in styles(&theme) {
        assert!(!style.add_modifier.contains(Modifier::DIM), "{key} is dim");
        assert_ne!(style.fg, Some(Color::DarkGray), "{key}");
        if let (Some(fg), None) = (style.fg, style.bg) {
            let ratio = contrast(fg, Color::Black);
            assert!(ratio >= 4.5, "{key} {fg:?} on black is {ratio:.1}:1");
        }
    }
    for (i, c) in theme.ansi.iter().enumerate() {
        let ratio = contrast(*c, Color::Black);
        assert!(ratio >= 4.5, "ansi[{i}] {c:?} on black is {ratio:.1}:1");
    }
}

#[test]
fn the_16_colour_theme_fits_a_bare_linux_console() {
    let theme = shipped("16-colour");
    let ansi16 = |c: Color| !matches!(c, Color::Rgb(..) | Color::Indexed(_) | Color::Reset);
    let dark8 = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
    ];
    for (key, style) in styles(&theme) {
        if let Some(fg) = style.fg {
            assert!(
                ansi16(fg),
                "{key}: {fg:?} is not one of the 16 ANSI colours"
            );
        }
        if let Some(bg) = style.bg {
            assert!(
                dark8.contains(&bg),
                "{key}: the console has no {bg:?} background"
            );
        }
        assert!(
            (Modifier::BOLD | Modifier::REVERSED).contains(style.add_modifier),
            "{key}: {:?}; the console shows only bold and reverse as such",
            style.add_modifier
        );
    }
    assert!(theme.ansi.iter().all(|c| ansi16(*c)));
}

// ---------------------------------------------------------------------------------------------
// Config: which theme, and a frame per cluster.

#[test]
fn the_config_picks_a_theme_file_and_colours_each_clusters_frame() {
    let config = render_config();
    let theme = &Theme::from(&config.ui.theme);
    assert_eq!(
        theme.pool_conflict,
        Style::new()
            .fg(Color::White)
            .bg(Color::Rgb(0xcc, 0, 0))
            .add_modifier(Modifier::BOLD),
        "themes/prod.toml, relative to the config file"
    );
    assert_eq!(theme.header, shipped("light").header, "extends light");
    assert_eq!(
        theme.cluster_border("prod-eu"),
        Some(
            Style::new()
                .fg(Color::Rgb(0xff, 0x87, 0))
                .add_modifier(Modifier::BOLD)
        )
    );

    let mut app = app(&config, theme.clone());
    let buf = render(&mut app, 120, 30);
    // prod-us holds the selected endpoint: red, bold for focus. prod-eu: its own orange.
    let (x, y) = find_cell(&buf, " prod-us ·");
    let corner = &buf[(x - 1, y)];
    assert_eq!(corner.symbol(), "┌");
    assert_eq!(corner.fg, Color::Red);
    assert!(corner.modifier.contains(Modifier::BOLD));
    let (x, y) = find_cell(&buf, " prod-eu ·");
    assert_eq!(buf[(x - 1, y)].fg, Color::Rgb(0xff, 0x87, 0));
    assert_eq!(buf[(x - 1, y + 1)].symbol(), "│");
    assert_eq!(buf[(x - 1, y + 1)].fg, Color::Rgb(0xff, 0x87, 0));
}

#[test]
fn the_example_config_names_its_theme_and_a_prod_frame() {
    let c = config::parse_file(Path::new("config.example.toml")).unwrap();
    let theme = Theme::from(&c.ui.theme);
    assert_eq!(
        theme.cluster_border("prod-us"),
        Some(Style::new().fg(Color::Red))
    );
    assert_eq!(
        Theme {
            cluster_borders: BTreeMap::new(),
            ..theme
        },
        Theme::dark()
    );
}

#[test]
fn no_color_wins_over_the_configured_theme() {
    let theme = Theme::from(&render_config().ui.theme).monochrome_if(true);
    assert_eq!(theme.header, Theme::monochrome().header);
    assert_eq!(theme.pool_conflict, Theme::monochrome().pool_conflict);
    assert_eq!(
        theme.cluster_border("prod-eu"),
        Some(Style::new().add_modifier(Modifier::BOLD)),
        "the frame keeps its bold, not its colour"
    );
}

#[test]
fn no_color_replaces_any_theme_but_keeps_cluster_frame_modifiers() {
    let mut t = shipped("light");
    t.cluster_borders.insert(
        "prod-us".into(),
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    );
    assert_eq!(t.clone().monochrome_if(false), t);
    let mono = t.monochrome_if(true);
    assert_eq!(
        mono.cluster_border("prod-us"),
        Some(Style::new().add_modifier(Modifier::BOLD))
    );
    assert_eq!(
        Theme {
            cluster_borders: BTreeMap::new(),
            ..mono
        },
        Theme::monochrome()
    );
}

// ---------------------------------------------------------------------------------------------
// Mistakes, and the exact words for them.

fn theme_error(fixture: &str) -> String {
    parse_theme_file(Path::new(&format!("tests/fixtures/themes/{fixture}")))
        .expect_err("fixture must be rejected")
        .to_string()
}

fn config_error(fixture: &str) -> String {
    config::parse_file(Path::new(&format!("tests/fixtures/config/{fixture}")))
        .expect_err("fixture must be rejected")
        .to_string()
}

const NAMES: &str = "black, red, green, yellow, blue, magenta, cyan, gray, dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, light-cyan, white, reset";

#[test]
fn a_bad_colour_names_the_key_and_what_colours_are() {
    assert_eq!(
        theme_error("bad-colour.toml"),
        format!(
            "tests/fixtures/themes/bad-colour.toml:4: styles.\"container.unhealthy\".fg: unknown colour \"rde\"; valid: a name ({NAMES}), \"#rrggbb\" or 0-255"
        )
    );
    assert_eq!(
        theme_error("bad-hex.toml"),
        "tests/fixtures/themes/bad-hex.toml:3: styles.\"pool.conflict\".bg: \"#cc00\" is not a colour; hex colours are \"#rrggbb\", like \"#cc0000\""
    );
    assert_eq!(
        theme_error("index-out-of-range.toml"),
        "tests/fixtures/themes/index-out-of-range.toml:3: styles.dim: colour index 300 is out of range; valid: 0-255, a name or \"#rrggbb\""
    );
}

#[test]
fn an_unknown_theme_key_lists_every_valid_key() {
    assert_eq!(
        theme_error("unknown-key.toml"),
        "tests/fixtures/themes/unknown-key.toml:3: unknown theme key \"container.unhealty\"; valid keys: base, header, title, border, border.focused, key, hint, selection, group.header, dim, error, status.message, endpoint.up, endpoint.down, endpoint.connecting, container.running, container.exited, container.exited_nonzero, container.restarting, container.paused, container.healthy, container.unhealthy, stale, masked, event.critical, event.die_nonzero, event.warning, event.endpoint, pool.ok, pool.warn, pool.full, pool.conflict, log.stderr, log.marker, search.match, search.current"
    );
}

#[test]
fn other_theme_mistakes_are_explained() {
    assert_eq!(
        theme_error("unknown-attribute.toml"),
        "tests/fixtures/themes/unknown-attribute.toml:3: unknown key \"reverse\"; valid keys: fg, bg, bold, dim, italic, underlined, reversed"
    );
    assert_eq!(
        theme_error("not-a-bool.toml"),
        "tests/fixtures/themes/not-a-bool.toml:3: styles.title.bold: expected a boolean, found string \"yes\""
    );
    assert_eq!(
        theme_error("unknown-top-level-key.toml"),
        "tests/fixtures/themes/unknown-top-level-key.toml:2: unknown key \"colour\"; valid keys: name, extends, styles, source_tags, log_colors, ansi"
    );
    assert_eq!(
        theme_error("unknown-extends.toml"),
        "tests/fixtures/themes/unknown-extends.toml:2: extends: unknown built-in theme \"solarized\"; built-in themes: dark, light, high-contrast, 16-colour"
    );
    assert_eq!(
        theme_error("short-ansi.toml"),
        "tests/fixtures/themes/short-ansi.toml:2: ansi: 3 colours given; give all 16, for: black, red, green, yellow, blue, magenta, cyan, gray, dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, light-cyan, white"
    );
    let incomplete = theme_error("incomplete.toml");
    assert!(
        incomplete.starts_with(
            "tests/fixtures/themes/incomplete.toml:1: a theme without extends must give every key; missing: title, border, border.focused,"
        ) && incomplete.ends_with(
            "search.current, source_tags, log_colors, ansi (or start from a built-in theme: extends = \"dark\")"
        ),
        "{incomplete}"
    );
}

#[test]
fn an_unknown_theme_name_lists_the_built_in_ones() {
    assert_eq!(
        config_error("theme-unknown.toml"),
        "tests/fixtures/config/theme-unknown.toml:7: ui.theme: unknown theme \"drak\"; built-in themes: dark, light, high-contrast, 16-colour, or a path to a .toml file"
    );
    assert_eq!(
        config_error("theme-missing-file.toml"),
        "tests/fixtures/config/theme-missing-file.toml:2: ui.theme: file \"tests/fixtures/config/themes/nope.toml\" does not exist"
    );
}

#[test]
fn a_mistake_in_a_theme_file_points_into_that_file() {
    assert_eq!(
        config_error("theme-file-bad-colour.toml"),
        format!(
            "tests/fixtures/config/themes/mine.toml:4: styles.\"container.unhealthy\".fg: unknown colour \"rde\"; valid: a name ({NAMES}), \"#rrggbb\" or 0-255"
        )
    );
}

#[test]
fn cluster_border_mistakes_name_the_cluster() {
    assert_eq!(
        config_error("cluster-border-unknown.toml"),
        "tests/fixtures/config/cluster-border-unknown.toml:7: ui.cluster_border.prod-usa: unknown cluster \"prod-usa\"; clusters in this file: prod-us, default"
    );
    assert_eq!(
        config_error("cluster-border-bad-colour.toml"),
        format!(
            "tests/fixtures/config/cluster-border-bad-colour.toml:7: ui.cluster_border.prod-us.fg: unknown colour \"crimson\"; valid: a name ({NAMES}), \"#rrggbb\" or 0-255"
        )
    );
}

#[test]
fn the_binary_refuses_a_bad_theme_before_touching_the_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args([
            "--config",
            "tests/fixtures/config/theme-file-bad-colour.toml",
            "check",
        ])
        .output()
        .unwrap();
    // `check` is a monitoring probe: a bad config is 3 there (2 means critical).
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("fleetdeck: config error: tests/fixtures/config/themes/mine.toml:4: styles.\"container.unhealthy\".fg: unknown colour \"rde\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
