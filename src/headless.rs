//! Commands without a terminal UI: `check` (is every endpoint reachable?) and `snapshot`
//! (one view, rendered by the same widgets, printed as plain text). For cron, chat-ops and tests.
//! They use the engine and the model (and the ui for `snapshot`), never the app loop.

use std::io::Write;

use chrono::Utc;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::app::keymap::{Keymap, scope_of};
use crate::config::Config;
use crate::engine;
use crate::model::{Fleet, Link};
use crate::ui::{Screen, Theme, View, ViewState, buffer_to_text};

/// Exit code when every endpoint answered.
pub const EXIT_OK: i32 = 0;
/// Exit code when any endpoint is down.
pub const EXIT_DOWN: i32 = 1;
/// Exit code for a bad config or bad arguments.
pub const EXIT_CONFIG: i32 = 2;

/// Tries every endpoint concurrently and prints one row each.
pub async fn check(config: &Config, out: &mut impl Write) -> std::io::Result<i32> {
    let probes = futures::future::join_all(
        config
            .endpoints
            .iter()
            .map(|spec| engine::probe(spec, &config.engine)),
    )
    .await;
    let mut rows = vec![
        [
            "ENDPOINT", "URL", "CLUSTER", "STATUS", "ENGINE", "API", "LATENCY", "ERROR",
        ]
        .map(String::from),
    ];
    let mut any_down = false;
    for (spec, probe) in config.endpoints.iter().zip(probes) {
        let row = match probe {
            Ok(p) => [
                spec.name.clone(),
                spec.url_text.clone(),
                spec.cluster.clone(),
                "up".into(),
                p.engine_version,
                p.api_version,
                format!("{:.1}ms", p.latency.as_secs_f64() * 1000.0),
                String::new(),
            ],
            Err(e) => {
                any_down = true;
                [
                    spec.name.clone(),
                    spec.url_text.clone(),
                    spec.cluster.clone(),
                    "down".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    e.to_string(),
                ]
            }
        };
        rows.push(row);
    }
    write_table(&rows, out)?;
    Ok(if any_down { EXIT_DOWN } else { EXIT_OK })
}

fn write_table<const N: usize>(rows: &[[String; N]], out: &mut impl Write) -> std::io::Result<()> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Syncs every endpoint once and renders `view` off-screen at `width` × `height`.
/// Returns the picture and the endpoints that could not be reached, with their reasons.
pub async fn render_snapshot(
    config: &Config,
    view: View,
    width: u16,
    height: u16,
) -> (String, Vec<(String, String)>) {
    let mut fleet = Fleet::new(config.endpoints.iter().cloned()).with_event_log(
        crate::model::events::EventLog::new(config.events.history, config.events.restart_loop),
    );
    for msg in engine::sync_all_once(config).await {
        fleet.apply(msg);
    }
    let down: Vec<(String, String)> = fleet
        .endpoints
        .iter()
        .filter_map(|e| match &e.link {
            Link::Down { reason, .. } => Some((e.name().to_string(), reason.clone())),
            _ => None,
        })
        .collect();
    let text = render_fleet(&fleet, view, width, height, &Theme::monochrome());
    (text, down)
}

/// Renders a fleet as plain text with the TUI's widgets.
pub fn render_fleet(fleet: &Fleet, view: View, width: u16, height: u16, theme: &Theme) -> String {
    let state = ViewState {
        view,
        ..ViewState::default()
    };
    let keymap = Keymap::default();
    let footer = keymap.footer(scope_of(view, false));
    let screen = Screen {
        fleet,
        state: &state,
        theme,
        now: Utc::now(),
        footer: &footer,
        help: &[],
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
    (&screen).render(buf.area, &mut buf);
    buffer_to_text(&buf)
}
