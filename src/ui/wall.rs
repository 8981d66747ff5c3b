//! Wall display chrome: no key hints; an alert banner on top while anything needs attention;
//! a status line with the rotation; a freshness line that says, per endpoint, how long ago it
//! was last heard, so a frozen screen is obvious from across the room.
//!
//! ```text
//! ┌ ⚠ 2 NEED ATTENTION · lab4: endpoint down (connection refused) · lab3/crashloop: restart loop ┐
//!  fleetdeck wall · 3/4 up · 61 containers · Triage 2/4 · next in 12s              17:50:53
//!  lab1 1s  lab2 1s  lab3 2s  lab4 DOWN 3m
//! ```

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::Screen;
use super::state::WallState;
use crate::model::alerts::{Firing, Severity, SubjectKind};
use crate::model::container::human_duration;

/// What raises the banner: critical alerts not acknowledged (with the built-in rules: an
/// endpoint down, an IP conflict, a restart loop, an OOM kill, an unhealthy container).
pub fn alerts<'a>(screen: &Screen<'a>) -> Vec<&'a Firing> {
    screen
        .alerts
        .firing()
        .into_iter()
        .filter(|f| f.severity == Severity::Critical && !f.acked)
        .collect()
}

fn alert_text(item: &Firing) -> String {
    let ep = item.endpoint_name.as_deref().unwrap_or("?");
    let who = match item.kind {
        _ if item.container.is_empty() => ep.to_string(),
        SubjectKind::Pool => item.container.clone(),
        SubjectKind::Service | SubjectKind::Swarm => item.subject.clone(),
        _ => format!("{ep}/{}", item.container),
    };
    if item.detail.is_empty() {
        format!("{who}: {}", item.label)
    } else {
        format!("{who}: {} ({})", item.label, item.detail)
    }
}

/// Draws the wall's banner, status and freshness lines; returns the area left for the view.
pub fn render_frame(screen: &Screen<'_>, wall: &WallState, area: Rect, buf: &mut Buffer) -> Rect {
    let t = screen.theme;
    let now = screen.now;
    let alerts = alerts(screen);
    let banner_height = if alerts.is_empty() {
        0
    } else {
        (alerts.len() as u16).min(3) + 1
    };
    let [banner, status, fresh, body] = Layout::vertical([
        Constraint::Length(banner_height),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);

    if !alerts.is_empty() {
        let loud = t.pool_conflict;
        let mut lines = vec![Line::styled(
            format!(
                " ⚠ {} NEED{} ATTENTION",
                alerts.len(),
                if alerts.len() == 1 { "S" } else { "" }
            ),
            loud.add_modifier(Modifier::BOLD),
        )];
        let shown = usize::from(banner_height.saturating_sub(1));
        for (i, a) in alerts.iter().take(shown).enumerate() {
            let mut text = format!("   {}", alert_text(a));
            if i + 1 == shown && alerts.len() > shown {
                text.push_str(&format!("   … and {} more", alerts.len() - shown));
            }
            lines.push(Line::styled(text, loud));
        }
        Paragraph::new(lines)
            .style(loud)
            .wrap(Wrap { trim: false })
            .render(banner, buf);
    }

    let up = screen.fleet.endpoints.iter().filter(|e| e.is_up()).count();
    let view = screen.state.view;
    let next = (wall.next_at - now).num_seconds().max(0);
    let left = format!(
        " fleetdeck wall · {up}/{} up · {} containers · {} {}/{} · next in {next}s ",
        screen.fleet.endpoints.len(),
        screen.fleet.container_count(),
        view.title(),
        wall.index + 1,
        wall.views.len(),
    );
    let clock = now.with_timezone(&Local).format(" %H:%M:%S ").to_string();
    let pad = usize::from(status.width).saturating_sub(left.chars().count() + clock.len());
    let header = t.header.add_modifier(Modifier::BOLD);
    Paragraph::new(Line::from(vec![
        Span::styled(left, header),
        Span::styled(" ".repeat(pad), header),
        Span::styled(clock, header),
    ]))
    .style(header)
    .render(status, buf);

    let mut spans = vec![Span::styled(" last heard: ", t.dim)];
    for ep in &screen.fleet.endpoints {
        let (text, style) = if ep.is_up() {
            let ago = ep
                .last_contact
                .map_or("-".to_string(), |c| human_duration(now - c));
            (format!("{} {ago}  ", ep.name()), t.endpoint_up)
        } else {
            let down = ep
                .down_since
                .map_or(String::new(), |d| format!(" {}", human_duration(now - d)));
            (format!("{} DOWN{down}  ", ep.name()), t.endpoint_down)
        };
        spans.push(Span::styled(text, style));
    }
    Paragraph::new(Line::from(spans)).render(fresh, buf);
    body
}
