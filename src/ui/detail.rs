//! The detail panel: a container's inspect data laid out for reading, over the current view.
//! Environment values are masked unless the operator unmasks them: they often hold secrets, and
//! screens are shared, recorded and shown on walls.

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::Screen;
use super::containers::{health_style, state_style};
use crate::model::container::human_duration;
use crate::model::{Container, Endpoint};

pub struct DetailPanel<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub endpoint: &'a Endpoint,
    /// `None` when the container has been removed since the panel opened.
    pub container: Option<&'a Container>,
}

const KEY_WIDTH: usize = 14;

fn kv<'a>(key: &str, value: impl Into<String>, style: Style) -> Line<'a> {
    Line::from(vec![
        Span::raw(format!("  {key:<KEY_WIDTH$}")),
        Span::styled(value.into(), style),
    ])
}

fn when(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => format!(
            "{} ({} ago)",
            t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S"),
            human_duration(now - t)
        ),
        None => "-".into(),
    }
}

impl DetailPanel<'_, '_> {
    pub fn lines(&self, width: u16) -> Vec<Line<'static>> {
        let s = self.screen;
        let t = s.theme;
        let ep = self.endpoint;
        let Some(c) = self.container else {
            return vec![Line::styled(
                "  this container no longer exists on its endpoint",
                t.error,
            )];
        };
        let section = |title: &str| Line::styled(title.to_string(), t.title);
        let mut lines = vec![section("Container")];
        lines.push(kv("name", c.name.clone(), t.base));
        // The full id when it fits (for copying), the short one otherwise.
        let id = if usize::from(width) >= c.id.len() + KEY_WIDTH + 2 {
            c.id.clone()
        } else {
            c.short_id().to_string()
        };
        lines.push(kv("id", id, t.dim));
        lines.push(kv(
            "endpoint",
            format!("{} (cluster {})", ep.name(), ep.cluster()),
            t.base,
        ));
        // The host's own labels (and its Swarm node's): what placement matches.
        let host_labels = super::clusters::labels_line(s.fleet, ep);
        if !host_labels.is_empty() {
            lines.push(kv("engine labels", host_labels, t.dim));
        }
        if ep.is_stale() {
            lines.push(kv(
                "",
                "endpoint unreachable: these are the last known values",
                t.endpoint_down,
            ));
        }
        // A row from the container list alone: what only its inspect says (start and finish
        // times, OOM, restarts, policy) is not known yet, and is not shown as if it were.
        let detailed = ep.has_details(&c.id);
        if !detailed {
            lines.push(kv(
                "",
                "details loading: only what the container list says so far",
                t.dim,
            ));
        }
        lines.push(kv("image", c.image.clone(), t.base));
        match ep.stopping(c, s.now) {
            Some(sig) => lines.push(kv(
                "state",
                format!(
                    "stopping: {} sent {} ago, {}",
                    sig.signal,
                    crate::model::container::human_duration(s.now - sig.heard),
                    c.status_text(s.now)
                ),
                t.container_restarting,
            )),
            None => lines.push(kv("state", c.status_text(s.now), state_style(c, t))),
        }
        if !c.health.as_str().is_empty() {
            lines.push(kv("health", c.health.as_str(), health_style(c.health, t)));
            if let Some(out) = &c.detail.last_health_output {
                lines.push(kv("last check", out.clone(), t.dim));
            }
        }
        lines.push(kv("created", when(c.created, s.now), t.base));
        if detailed {
            lines.push(kv("started", when(c.started_at, s.now), t.base));
            lines.push(kv("finished", when(c.finished_at, s.now), t.base));
        }
        lines.push(kv(
            "exit code",
            c.exit_code.map_or("-".into(), |e| e.to_string()),
            if c.exited_nonzero() {
                t.container_exited_nonzero
            } else {
                t.base
            },
        ));
        if detailed {
            lines.push(kv(
                "OOM killed",
                if c.oom_killed { "yes" } else { "no" },
                if c.oom_killed {
                    t.container_exited_nonzero
                } else {
                    t.base
                },
            ));
            lines.push(kv("restarts", c.restart_count.to_string(), t.base));
            lines.push(kv("restart", c.detail.restart_policy.clone(), t.base));
        }
        if let Some(err) = &c.detail.state_error {
            lines.push(kv("error", err.clone(), t.error));
        }

        lines.push(section("Command"));
        if !c.detail.entrypoint.is_empty() {
            lines.push(kv("entrypoint", c.detail.entrypoint.join(" "), t.base));
        }
        lines.push(kv("cmd", c.detail.command.join(" "), t.base));
        for (k, v) in [
            ("hostname", &c.detail.hostname),
            ("user", &c.detail.user),
            ("workdir", &c.detail.working_dir),
        ] {
            if !v.is_empty() {
                lines.push(kv(k, v.clone(), t.base));
            }
        }
        if !c.detail.healthcheck.is_empty() {
            lines.push(kv("healthcheck", c.detail.healthcheck.join(" "), t.base));
        }

        lines.push(section("Networks"));
        if c.networks.is_empty() {
            lines.push(kv("", "none", t.dim));
        }
        for n in &c.networks {
            let ip = n.ipv4.clone().unwrap_or_else(|| "-".into());
            let kind = match &n.static_ipv4 {
                Some(fixed) if Some(fixed) == n.ipv4.as_ref() || n.ipv4.is_none() => {
                    format!("static {fixed}")
                }
                Some(fixed) => format!("static {fixed}"),
                None => "dynamic".into(),
            };
            let mut text = format!("{ip}  ({kind})");
            if let Some(v6) = &n.ipv6 {
                text.push_str(&format!("  {v6}"));
            }
            if let Some(gw) = &n.gateway {
                text.push_str(&format!("  gw {gw}"));
            }
            if let Some(mac) = &n.mac {
                text.push_str(&format!("  mac {mac}"));
            }
            lines.push(kv(&n.network, text, t.base));
        }
        if !c.ports.is_empty() {
            lines.push(section("Ports"));
            for p in &c.ports {
                let host = p.host_ip.clone().unwrap_or_default();
                lines.push(kv(&p.to_string(), host, t.base));
            }
        }
        if !c.detail.mounts.is_empty() {
            lines.push(section("Mounts"));
            for m in &c.detail.mounts {
                let mode = if m.read_write { "rw" } else { "ro" };
                lines.push(kv(
                    &m.kind,
                    format!("{} → {} ({mode})", m.source, m.destination),
                    t.base,
                ));
            }
        }
        if !c.labels.is_empty() {
            lines.push(section("Labels"));
            for (k, v) in &c.labels {
                lines.push(Line::from(format!("  {k}={v}")));
            }
        }
        let masked = s.state.mask_env;
        lines.push(section(if masked {
            "Environment (values masked, v to show)"
        } else {
            "Environment (v to mask)"
        }));
        for (k, v) in &c.detail.env {
            if masked {
                lines.push(Line::from(vec![
                    Span::raw(format!("  {k}=")),
                    Span::styled("••••••", t.masked),
                ]));
            } else {
                lines.push(Line::from(format!("  {k}={v}")));
            }
        }
        lines
    }
}

impl Widget for DetailPanel<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let title = match self.container {
            Some(c) => format!(
                " {} on {} · Esc close · j/k scroll ",
                c.name,
                self.endpoint.name()
            ),
            None => " gone · Esc close ".to_string(),
        };
        Clear.render(area, buf);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(s.theme.border_focused)
            .title(Span::styled(title, s.theme.title));
        Paragraph::new(self.lines(area.width.saturating_sub(2)))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((s.state.detail_scroll, 0))
            .render(area, buf);
    }
}
