//! Pictures of a view (`snapshot --format svg|ansi|json`): the SVG is well-formed XML with
//! nothing active in it, holds the view's text where the terminal shows it, paints a dead and
//! an unhealthy container in the theme's colours, and no format lets a hostile container name
//! through raw. No Docker: the fleet is built from messages, as in tests/render.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use fleetdeck::config::{self, Config};
use fleetdeck::headless::{render_fleet_buffer, render_picture};
use fleetdeck::model::alerts::Alerts;
use fleetdeck::model::container::NetAttachment;
use fleetdeck::model::{
    Container, ContainerState, DaemonInfo, Fleet, Health, Msg, MsgKind, SyncData, View,
};
use fleetdeck::ui::picture::{Format, to_ansi, to_json, to_svg};
use fleetdeck::ui::{Theme, buffer_to_text};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

const HOSTILE: &str = "<script>&\"'\u{1b}[31m\u{1b}]0;pwned\u{7}";

fn config() -> Config {
    config::parse_str(
        r#"
[[endpoint]]
name = "lab1"
url = "unix:///run/lab1.sock"
cluster = "lab-a"

[[endpoint]]
name = "lab2"
url = "tcp://10.0.0.2:2375"
cluster = "lab-a"
"#,
        std::path::Path::new("pictures.toml"),
    )
    .unwrap()
}

fn container(id: &str, name: &str, state: ContainerState) -> Container {
    Container {
        id: format!("{id}{}", "0".repeat(64 - id.len())),
        name: name.into(),
        image: "busybox:local".into(),
        state,
        health: Health::None,
        created: Some(Utc::now() - TimeDelta::days(1)),
        started_at: Some(Utc::now() - TimeDelta::minutes(30)),
        finished_at: None,
        restart_count: 0,
        exit_code: Some(0),
        oom_killed: false,
        labels: BTreeMap::new(),
        networks: vec![NetAttachment {
            network: "fleetnet".into(),
            ipv4: Some("192.168.2.20".into()),
            ..NetAttachment::default()
        }],
        ports: vec![],
        detail: Default::default(),
        list_status: String::new(),
    }
}

/// lab1: a running web, an unhealthy api and one with a hostile name (as if the engine had
/// not sanitised it: the picture must hold on its own); lab2: an OOM-killed worker.
fn fleet() -> Fleet {
    let config = config();
    let mut fleet = Fleet::new(config.endpoints.iter().cloned());
    let mut api = container("c2", "api-1", ContainerState::Running);
    api.health = Health::Unhealthy;
    let mut worker = container("c3", "worker-1", ContainerState::Exited);
    worker.exit_code = Some(137);
    worker.oom_killed = true;
    worker.finished_at = Some(Utc::now() - TimeDelta::minutes(4));
    let data = [
        vec![
            container("c1", "web-1", ContainerState::Running),
            api,
            container("c4", HOSTILE, ContainerState::Running),
        ],
        vec![worker],
    ];
    for (endpoint, containers) in data.into_iter().enumerate() {
        fleet.apply(Msg {
            endpoint,
            at: Utc::now(),
            kind: MsgKind::Synced(Box::new(SyncData {
                info: DaemonInfo {
                    engine_version: "20.10.24".into(),
                    api_version: "1.41".into(),
                    ..DaemonInfo::default()
                },
                containers,
                ..SyncData::default()
            })),
        });
    }
    fleet
}

/// The dark theme with the two container styles in colours of their own, so a match cannot
/// be a coincidence of the palette.
fn theme() -> Theme {
    let mut theme = Theme::dark();
    theme.container_unhealthy = Style::new()
        .fg(Color::Rgb(0xff, 0x88, 0x00))
        .add_modifier(Modifier::BOLD);
    theme.container_exited_nonzero = Style::new().fg(Color::Rgb(0xaa, 0x00, 0xff));
    theme
}

fn containers_view(theme: &Theme) -> Buffer {
    render_fleet_buffer(
        &fleet(),
        &Alerts::new(vec![]),
        View::Containers,
        120,
        16,
        theme,
    )
}

/// Every `<text>` of the SVG: its cell (column, row), fill and text.
fn texts_of(doc: &roxmltree::Document<'_>) -> Vec<(usize, usize, String, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let x: f64 = n.attribute("x").unwrap().parse().unwrap();
            let y: f64 = n.attribute("y").unwrap().parse().unwrap();
            (
                (x / 8.4).round() as usize,
                (y / 18.0).floor() as usize,
                n.attribute("fill").unwrap().to_string(),
                n.text().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn fill_of(texts: &[(usize, usize, String, String)], needle: &str) -> String {
    texts
        .iter()
        .find(|(_, _, _, t)| t.contains(needle))
        .unwrap_or_else(|| panic!("no <text> holds {needle:?}: {texts:?}"))
        .2
        .clone()
}

#[test]
fn the_svg_is_well_formed_with_nothing_active_and_holds_the_views_text_in_place() {
    let theme = theme();
    let buf = containers_view(&theme);
    let svg = to_svg(&buf, &theme, "fleetdeck containers view");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(
        root.attribute("font-family")
            .unwrap()
            .ends_with("monospace")
    );
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        assert!(
            ["svg", "title", "g", "rect", "text"].contains(&tag),
            "unexpected <{tag}>"
        );
        for attr in node.attributes() {
            let name = attr.name();
            assert!(
                !name.starts_with("on") && name != "href" && !attr.value().contains("url("),
                "{tag} {name}={:?}",
                attr.value()
            );
        }
    }
    // Placed by x and y, the texts are the text picture, row for row.
    let mut grid = vec![vec![' '; 120]; 16];
    for (col, row, _, text) in texts_of(&doc) {
        for (i, c) in text.chars().enumerate() {
            grid[row][col + i] = c;
        }
    }
    let drawn: Vec<String> = grid
        .iter()
        .map(|r| r.iter().collect::<String>().trim_end().to_string())
        .collect();
    let expected = buffer_to_text(&buf)
        .replace('\u{1b}', "\u{241b}")
        .replace('\u{7}', "\u{2407}");
    assert_eq!(drawn.join("\n") + "\n", expected);
    assert!(expected.contains("worker-1") && expected.contains("api-1"));
}

#[test]
fn a_dead_and_an_unhealthy_container_wear_the_themes_colours_in_the_svg() {
    let theme = theme();
    let svg = to_svg(&containers_view(&theme), &theme, "t");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = texts_of(&doc);
    assert_eq!(fill_of(&texts, "unhealthy"), "#ff8800");
    assert_eq!(fill_of(&texts, "Exited (137) OOM"), "#aa00ff");
    // The bold of the unhealthy style comes along.
    let bold = doc
        .descendants()
        .find(|n| n.has_tag_name("text") && n.text() == Some("unhealthy"))
        .unwrap();
    assert_eq!(bold.attribute("font-weight"), Some("bold"));
    // A named colour is painted from the documented palette (xterm's): the dark theme's red.
    let dark = Theme::dark();
    let svg = to_svg(&containers_view(&dark), &dark, "t");
    let texts = texts_of(&roxmltree::Document::parse(&svg).unwrap());
    assert_eq!(fill_of(&texts, "unhealthy"), "#cd0000");
    assert_eq!(fill_of(&texts, "Exited (137) OOM"), "#cd0000");
    assert_eq!(
        fill_of(&texts, "web-1"),
        "#e5e5e5",
        "Reset is the canvas text"
    );
}

/// The SGR sequences of `text`; panics on an escape that is anything else.
fn sgr_only(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        let seq = &rest[at + 1..];
        let body = seq
            .strip_prefix('[')
            .unwrap_or_else(|| panic!("not CSI: {seq:?}"));
        let end = body
            .find('m')
            .unwrap_or_else(|| panic!("not SGR: {body:?}"));
        assert!(
            body[..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "not SGR: {:?}",
            &body[..=end]
        );
        count += 1;
        rest = &body[end + 1..];
    }
    count
}

#[test]
fn a_hostile_container_name_is_escaped_or_shown_inert_in_every_format() {
    let theme = theme();
    let buf = containers_view(&theme);
    let svg = to_svg(&buf, &theme, "t");
    assert!(!svg.contains("<script"), "{svg}");
    assert!(!svg.contains('\u{1b}') && !svg.contains('\u{7}'));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let shown: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default())
        .collect();
    // The engine sanitises names as they come in; were one to slip through, ratatui drops
    // its control characters when drawing it (and the picture would show any left in a cell
    // as a visible symbol: src/ui/picture/tests.rs). What is left reads as text.
    assert!(
        shown.contains("<script>&\"'[31m]0;"),
        "the name reads as text: {shown}"
    );

    let ansi = to_ansi(&buf);
    assert!(sgr_only(&ansi) > 10, "colours are written as SGR");
    assert!(ansi.ends_with("\u{1b}[0m\n"));
    assert!(ansi.contains("<script>&\"'[31m]0;"));
    assert!(!ansi.contains('\u{7}') && !ansi.contains("\u{1b}]"));

    let json = render_picture(&buf, &theme, View::Containers, Format::Json);
    assert!(
        !json.contains('\u{1b}') && !json.contains("\\u001b"),
        "{json}"
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lines = doc["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap().contains("<script>&\"'[31m]0;")),
        "{json}"
    );
}

#[test]
fn the_json_has_the_lines_and_each_rows_style_runs() {
    let theme = theme();
    let buf = containers_view(&theme);
    let doc = to_json(&buf, &theme, "containers");
    assert_eq!(doc["view"], "containers");
    assert_eq!(
        (doc["width"].as_u64(), doc["height"].as_u64()),
        (Some(120), Some(16))
    );
    let lines = doc["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 16);
    let text = buffer_to_text(&buf);
    assert_eq!(lines[0].as_str().unwrap(), text.lines().next().unwrap());
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 16);
    // Row by row, the runs spell the line and sit where their x says.
    for (line, row) in lines.iter().zip(runs) {
        let mut at = 0;
        let mut spelled = String::new();
        for run in row.as_array().unwrap() {
            assert_eq!(run["x"].as_u64().unwrap(), at, "{row}");
            at += run["width"].as_u64().unwrap();
            spelled.push_str(run["text"].as_str().unwrap());
        }
        assert_eq!(spelled.trim_end(), line.as_str().unwrap());
    }
    let unhealthy = runs
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .find(|r| r["text"] == "unhealthy")
        .unwrap();
    assert_eq!(unhealthy["fg"], "#ff8800");
    assert_eq!(unhealthy["modifiers"], serde_json::json!(["bold"]));
}
