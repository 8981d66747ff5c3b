//! Commands without a terminal UI: `check` (every endpoint reachable, and which alert rules
//! fire, with a monitoring-plugin exit code) and `snapshot`
//! (one view, rendered by the same widgets, printed as plain text, or as an SVG, ANSI text or
//! JSON through [`crate::ui::picture`]). For cron, chat-ops and tests.
//! They use the engine and the model (and the ui for `snapshot`), never the app loop.
//! [`actions`]: start/stop/restart/… and rolling-restart through the gate; [`deploy`]: deploy
//! and rollback; [`swarm`]: Swarm services; [`audit`]: the audit log as a table; [`printable`]:
//! the writer every headless command prints through, so no control character reaches a terminal.

pub mod actions;
pub mod audit;
pub mod deploy;
pub mod printable;
mod signals;
pub mod swarm;
pub mod watch;

pub use signals::shutdown_signal;

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::config::Config;
use crate::engine;
use crate::keymap::{Keymap, scope_of};
use crate::model::View;
use crate::model::alerts::{Alerts, NoticeState, Severity};
use crate::model::{Fleet, Link};
use crate::ui::picture::{self, Format};
use crate::ui::{Screen, Theme, ViewState, buffer_to_text};

/// Exit code when every endpoint answered (and, for `check`, no alert fires).
pub const EXIT_OK: i32 = 0;
/// Exit code when any endpoint is down; for `check`, when the worst alert is a warning.
pub const EXIT_DOWN: i32 = 1;
/// `check`: the worst alert firing is a warning.
pub const EXIT_WARNING: i32 = 1;
/// `check`: a critical alert fires.
pub const EXIT_CRITICAL: i32 = 2;
/// Exit code for a bad config or bad arguments.
pub const EXIT_CONFIG: i32 = 2;
/// `check`'s code for a bad config or bad arguments: 3, "unknown" in the monitoring-plugin
/// convention, since 2 means critical there.
pub const EXIT_CHECK_CONFIG: i32 = 3;

/// `check`'s exit code for the worst alert firing (monitoring-plugin convention).
pub fn check_exit_code(worst: Option<Severity>) -> i32 {
    match worst {
        None => EXIT_OK,
        Some(Severity::Warning) => EXIT_WARNING,
        Some(Severity::Critical) => EXIT_CRITICAL,
    }
}

/// One endpoint's row of `check`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EndpointReport {
    pub name: String,
    pub url: String,
    pub cluster: String,
    /// `up` or `down`.
    pub status: &'static str,
    pub engine: Option<String>,
    pub api: Option<String>,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

/// Syncs every endpoint once (and, when metric rules need them, takes a round of stats),
/// evaluates the rules once and prints the endpoints and the alerts firing: a table, or with
/// `json` one object `{"endpoints": [...], "alerts": [...]}`. Returns the exit code: 0 when no
/// alert fires, 1 for a warning, 2 for a critical one. A one-shot probe cannot wait, so every
/// rule's `for` and cooldown are taken as met.
pub async fn check(config: &Config, json: bool, out: &mut impl Write) -> std::io::Result<i32> {
    let probes = futures::future::join_all(
        config
            .endpoints
            .iter()
            .map(|spec| engine::probe(spec, &config.engine)),
    );
    let mut fleet = new_fleet(config);
    let alerts_needs_stats = config.alerts.rules.iter().any(|r| r.condition.is_metric());
    let (probes, ()) = tokio::join!(probes, async {
        if alerts_needs_stats && config.stats.interval.is_some() {
            sync_with_stats(config, &mut fleet, 2).await;
        } else {
            for msg in engine::sync_all_once(config).await {
                fleet.apply(msg);
            }
        }
    });
    let mut alerts = Alerts::new(config.alerts.rules.clone());
    alerts.evaluate_once(&fleet, Utc::now());
    let notify: Vec<NotifyReport> = config
        .notify
        .iter()
        .zip(engine::notify::reach_all(&config.notify).await)
        .map(|(t, r)| NotifyReport {
            name: t.name.clone(),
            kind: t.kind.as_str(),
            status: if r.is_ok() {
                "reachable"
            } else {
                "unreachable"
            },
            error: r.err(),
        })
        .collect();
    let endpoints: Vec<EndpointReport> = config
        .endpoints
        .iter()
        .zip(probes)
        .map(|(spec, probe)| {
            let mut r = EndpointReport {
                name: spec.name.clone(),
                url: spec.url_text.clone(),
                cluster: spec.cluster.clone(),
                status: "up",
                engine: None,
                api: None,
                latency_ms: None,
                error: None,
            };
            match probe {
                Ok(p) => {
                    r.engine = Some(p.engine_version);
                    r.api = Some(p.api_version);
                    r.latency_ms = Some(p.latency.as_secs_f64() * 1000.0);
                }
                Err(e) => {
                    r.status = "down";
                    r.error = Some(e.to_string());
                }
            }
            r
        })
        .collect();
    let firing = alerts.firing();
    if json {
        let alerts: Vec<serde_json::Value> = firing
            .iter()
            .map(|f| {
                let mut v = serde_json::to_value(f.notice(NoticeState::Firing, f.since))
                    .unwrap_or_default();
                v["detail"] = serde_json::Value::String(f.detail.clone());
                v
            })
            .collect();
        let doc = serde_json::json!({ "endpoints": endpoints, "alerts": alerts, "notify": notify });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
    } else {
        let mut rows = vec![
            [
                "ENDPOINT", "URL", "CLUSTER", "STATUS", "ENGINE", "API", "LATENCY", "ERROR",
            ]
            .map(String::from),
        ];
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        for r in &endpoints {
            rows.push([
                r.name.clone(),
                r.url.clone(),
                r.cluster.clone(),
                r.status.into(),
                dash(&r.engine),
                dash(&r.api),
                r.latency_ms
                    .map_or_else(|| "-".into(), |ms| format!("{ms:.1}ms")),
                r.error.clone().unwrap_or_default(),
            ]);
        }
        write_table(&rows, out)?;
        writeln!(out)?;
        if firing.is_empty() {
            writeln!(
                out,
                "no alerts firing ({} rules)",
                config.alerts.rules.len()
            )?;
        } else {
            let mut rows = vec![["SEVERITY", "RULE", "SUBJECT", "DETAIL"].map(String::from)];
            for f in &firing {
                rows.push([
                    f.severity.as_str().to_uppercase(),
                    f.rule.clone(),
                    f.subject.clone(),
                    f.detail.clone(),
                ]);
            }
            write_table(&rows, out)?;
        }
        if !notify.is_empty() {
            writeln!(out)?;
            let mut rows = vec![["NOTIFY", "KIND", "STATUS", "ERROR"].map(String::from)];
            for n in &notify {
                rows.push([
                    n.name.clone(),
                    n.kind.into(),
                    n.status.into(),
                    n.error.clone().unwrap_or_default(),
                ]);
            }
            write_table(&rows, out)?;
        }
    }
    // A target that cannot be reached is a warning: the alerts it should carry would be lost.
    let undeliverable = notify
        .iter()
        .any(|n| n.error.is_some())
        .then_some(Severity::Warning);
    Ok(check_exit_code(alerts.worst().max(undeliverable)))
}

/// One `[[notify]]` target's row of `check`: reachable now or not (nothing is sent).
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotifyReport {
    pub name: String,
    pub kind: &'static str,
    /// "reachable" or "unreachable".
    pub status: &'static str,
    pub error: Option<String>,
}

fn new_fleet(config: &Config) -> Fleet {
    Fleet::new(config.endpoints.iter().cloned())
        .with_event_log(crate::model::events::EventLog::new(
            config.events.history,
            config.events.restart_loop,
        ))
        .with_stats_window(config.stats.window)
}

/// Runs the real engine until every endpoint synced or reported down, then for `rounds`
/// sampling intervals (at most 1 s each), so rates have the two readings they need.
async fn sync_with_stats(config: &Config, fleet: &mut Fleet, rounds: u32) {
    let mut config = config.clone();
    let interval = config
        .stats
        .interval
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(1));
    config.stats.interval = Some(interval);
    config.stats.per_cluster.clear();
    for ep in &mut config.endpoints {
        ep.stats_interval = None;
    }
    let (mut rx, _tasks) = engine::spawn_fleet(&config, 1024);
    let deadline = tokio::time::Instant::now() + config.engine.request_timeout;
    while !fleet
        .endpoints
        .iter()
        .all(|e| e.synced || matches!(e.link, Link::Down { .. }))
    {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                fleet.apply(msg);
            }
            _ => break,
        }
    }
    let until = tokio::time::Instant::now() + interval * rounds + interval / 2;
    while let Ok(Some(msg)) = tokio::time::timeout_at(until, rx.recv()).await {
        fleet.apply(msg);
    }
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

/// Syncs every endpoint once and renders `view` off-screen at `width` × `height` in `format`:
/// plain text (monochrome, as before pictures existed), or an SVG, ANSI text or JSON in the
/// configured theme's colours (`NO_COLOR` honoured). Returns the picture and the endpoints that
/// could not be reached, with their reasons.
pub async fn render_snapshot(
    config: &Config,
    view: View,
    width: u16,
    height: u16,
    format: Format,
) -> (String, Vec<(String, String)>) {
    let mut fleet = new_fleet(config);
    if view == View::Stats {
        // Rates need two readings: run the real engine for a few sampling intervals.
        sync_with_stats(config, &mut fleet, 3).await;
    } else {
        for msg in engine::sync_all_once(config).await {
            fleet.apply(msg);
        }
    }
    let down: Vec<(String, String)> = fleet
        .endpoints
        .iter()
        .filter_map(|e| match &e.link {
            Link::Down { reason, .. } => Some((e.name().to_string(), reason.clone())),
            _ => None,
        })
        .collect();
    let mut alerts = Alerts::new(config.alerts.rules.clone());
    alerts.evaluate_once(&fleet, Utc::now());
    let theme = match format {
        Format::Text => Theme::monochrome(),
        _ => Theme::from(&config.ui.theme).unless_no_color(),
    };
    let buf = render_fleet_buffer(&fleet, &alerts, view, width, height, &theme);
    (render_picture(&buf, &theme, view, format), down)
}

/// A drawn screen in `format`.
pub fn render_picture(buf: &Buffer, theme: &Theme, view: View, format: Format) -> String {
    match format {
        Format::Text => buffer_to_text(buf),
        Format::Svg => picture::to_svg(buf, theme, &format!("fleetdeck {} view", view.name())),
        Format::Ansi => picture::to_ansi(buf),
        Format::Json => {
            let doc = picture::to_json(buf, theme, view.name());
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

/// Renders a fleet as plain text with the TUI's widgets.
pub fn render_fleet(
    fleet: &Fleet,
    alerts: &Alerts,
    view: View,
    width: u16,
    height: u16,
    theme: &Theme,
) -> String {
    buffer_to_text(&render_fleet_buffer(
        fleet, alerts, view, width, height, theme,
    ))
}

/// Draws a fleet's `view` off-screen with the TUI's widgets, as `snapshot` does.
pub fn render_fleet_buffer(
    fleet: &Fleet,
    alerts: &Alerts,
    view: View,
    width: u16,
    height: u16,
    theme: &Theme,
) -> Buffer {
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
        logs: None,
        export: None,
        delivery: None,
        shells: None,
        alerts,
        rows: None,
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
    (&screen).render(buf.area, &mut buf);
    buf
}

/// Parses `--since`: a duration ago (`30s`, `10m`, `2h`, `1d`) or an RFC 3339 time.
pub fn parse_since(
    text: &str,
    now: chrono::DateTime<Utc>,
) -> Result<chrono::DateTime<Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = num.parse().map_err(|_| {
        format!("--since \"{text}\": expected 30s, 10m, 2h, 1d or an RFC 3339 time")
    })?;
    let delta = match unit {
        "s" => chrono::TimeDelta::seconds(n),
        "m" => chrono::TimeDelta::minutes(n),
        "h" => chrono::TimeDelta::hours(n),
        "d" => chrono::TimeDelta::days(n),
        _ => {
            return Err(format!(
                "--since \"{text}\": unknown unit \"{unit}\"; use s, m, h or d"
            ));
        }
    };
    Ok(now - delta)
}

/// Options of `fleetdeck logs`.
#[derive(Debug, Clone)]
pub struct LogsArgs {
    pub targets: Vec<String>,
    pub follow: bool,
    pub since: Option<chrono::DateTime<Utc>>,
    pub tail: u64,
    pub timestamps: bool,
}

/// Checks the `ENDPOINT/CONTAINER` targets of `fleetdeck logs` against the config before any
/// daemon is asked: a typo there is a usage error (exit 2), not an endpoint that is down.
pub fn check_log_targets(config: &Config, targets: &[String]) -> Result<(), String> {
    for target in targets {
        let Some((ep_name, _)) = target.split_once('/') else {
            return Err(format!("\"{target}\": expected ENDPOINT/CONTAINER"));
        };
        if !config.endpoints.iter().any(|e| e.name == ep_name) {
            let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(format!(
                "no endpoint \"{ep_name}\"; endpoints: {}",
                names.join(", ")
            ));
        }
    }
    Ok(())
}

/// Prints the logs of the targets. Several targets are merged by timestamp with a tag; the
/// text is cleaned exactly as in the TUI, so nothing a container prints can act on the terminal
/// or a file it is redirected to.
pub async fn logs(config: &Config, args: &LogsArgs, out: &mut impl Write) -> Result<i32, String> {
    use crate::model::logs::{LogBuffer, LogSource};
    let mut sources: Vec<LogSource> = Vec::new();
    // One client per endpoint, for the lookups and every tail on it.
    let mut clients: std::collections::HashMap<usize, engine::EndpointClient> =
        std::collections::HashMap::new();
    for target in &args.targets {
        let Some((ep_name, container)) = target.split_once('/') else {
            return Err(format!("\"{target}\": expected ENDPOINT/CONTAINER"));
        };
        let Some((endpoint, spec)) = config
            .endpoints
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == ep_name)
        else {
            let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
            return Err(format!(
                "no endpoint \"{ep_name}\"; endpoints: {}",
                names.join(", ")
            ));
        };
        let client = clients
            .entry(endpoint)
            .or_insert_with(|| engine::EndpointClient::new(spec, &config.engine));
        let id = engine::resolve_container(client, &config.engine, container)
            .await
            .map_err(|e| format!("{target}: {e}"))?;
        sources.push(LogSource {
            endpoint,
            container_id: id,
            tag: format!("{ep_name}/{container}"),
        });
    }
    let tag = sources.len() > 1;
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let mut tasks = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let req = engine::logs::TailRequest {
            tail: 0,
            source: i,
            endpoint: src.endpoint,
            client: clients
                .entry(src.endpoint)
                .or_insert_with(|| {
                    engine::EndpointClient::new(&config.endpoints[src.endpoint], &config.engine)
                })
                .clone(),
            container_id: src.container_id.clone(),
            last_lines: args.tail,
            follow: args.follow,
            since: args.since,
        };
        tasks.push(tokio::spawn(engine::logs::follow(
            req,
            config.engine.clone(),
            tx.clone(),
        )));
    }
    drop(tx);
    let write_line =
        |out: &mut dyn Write, line: &crate::model::logs::LogLine| -> std::io::Result<()> {
            let mut s = String::new();
            if args.timestamps
                && let Some(t) = line.at
            {
                s.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                s.push(' ');
            }
            if tag && let Some(src) = sources.get(line.source) {
                s.push_str(&format!("[{}] ", src.tag));
            }
            if line.stream == crate::model::logs::LogStream::Stderr {
                s.push_str("E ");
            }
            s.push_str(&line.text);
            writeln!(out, "{s}")
        };
    if args.follow {
        while let Some(msg) = rx.recv().await {
            if let crate::model::MsgKind::Log { lines, .. } = msg.kind {
                for l in &lines {
                    write_line(out, l).map_err(|e| e.to_string())?;
                }
                out.flush().map_err(|e| e.to_string())?;
            }
        }
    } else {
        // Everything first, then one ordered print: merged sources interleave by time.
        let mut buffer = LogBuffer::new(sources.clone(), usize::MAX / 2);
        while let Some(msg) = rx.recv().await {
            if let crate::model::MsgKind::Log { lines, .. } = msg.kind {
                buffer.extend(lines);
            }
        }
        for l in buffer.iter() {
            write_line(out, l).map_err(|e| e.to_string())?;
        }
    }
    Ok(EXIT_OK)
}
