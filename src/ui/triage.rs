//! The triage view: what the alert rules fire now (the built-in ones reproduce the classic
//! triage list), critical before warning, newest first within each. Critical problems are
//! drawn bold; acknowledged alerts stay listed, dimmed.
//!
//! ```text
//! ┌ Triage · 4 need attention ─────────────────────────────────────────────────────────┐
//! │WHEN     ENDPOINT PROBLEM          CONTAINER      EXIT DETAIL                        │
//! │17:52:10 lab4     endpoint down                         connection refused           │
//! │17:51:58 lab3     restart loop     crashloop         1 5 deaths in the window        │
//! └─────────────────────────────────────────────────────────────────────────────────────┘
//! ```

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::containers::visible_offset;
use super::{Screen, Theme};
use crate::model::alerts::{Firing, Severity};

/// The alert (an index into the `len` firing ones) drawn at screen row `y` of the table in
/// `area`, for a click.
pub fn index_at(len: usize, st: &crate::ui::ViewState, area: Rect, y: u16) -> Option<usize> {
    let line = super::table_line_at(area, y)?;
    let height = usize::from(area.height.saturating_sub(3));
    let selected = st.triage_selected.min(len.saturating_sub(1));
    let i = visible_offset(st.triage_offset, selected, height) + line;
    (i < len).then_some(i)
}

pub struct TriageView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

/// The PROBLEM cell's style: the built-in rules keep the styles of what they name, other
/// rules are coloured by severity; critical ones are bold.
pub fn problem_style(f: &Firing, theme: &Theme) -> Style {
    let base = match f.rule.as_str() {
        "endpoint-down" | "restart-loop" | "oom-killed" => theme.event_critical,
        "ip-conflict" => theme.pool_conflict,
        "exited-nonzero" => theme.container_exited_nonzero,
        "unhealthy" => theme.container_unhealthy,
        "restarting" => theme.container_restarting,
        _ => match f.severity {
            Severity::Critical => theme.event_critical,
            Severity::Warning => theme.event_warning,
        },
    };
    if f.acked {
        theme.dim
    } else if f.severity == Severity::Critical {
        base.add_modifier(Modifier::BOLD)
    } else {
        base
    }
}

impl Widget for TriageView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let items: Vec<&Firing> = s.alerts.firing();
        let title = if items.is_empty() {
            " Triage · all clear ".to_string()
        } else {
            format!(" Triage · {} need attention ", items.len())
        };
        let inner = super::view_frame(
            area,
            buf,
            t,
            Span::styled(
                title,
                if items.is_empty() {
                    t.title
                } else {
                    t.event_critical
                },
            ),
        );
        if items.is_empty() {
            Paragraph::new(Line::styled(
                "nothing needs attention: every endpoint is up, no crash, OOM, restart loop or unhealthy container",
                t.endpoint_up,
            ))
            .render(inner, buf);
            return;
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let selected = s.state.triage_selected.min(items.len() - 1);
        let offset = visible_offset(s.state.triage_offset, selected, height);
        let name_w = super::endpoint_column_width(s.fleet);
        let header = Row::new(
            ["WHEN", "ENDPOINT", "PROBLEM", "CONTAINER", "EXIT", "DETAIL"]
                .map(|h| Cell::from(h).style(t.title)),
        );
        let rows = items
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, item)| {
                let when = item
                    .at
                    .map(|a| a.with_timezone(&Local).format("%H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                let mut row = Row::new(vec![
                    Cell::from(when).style(t.dim),
                    Cell::from(item.endpoint_name.clone().unwrap_or_default()),
                    Cell::from(item.label.clone()).style(problem_style(item, t)),
                    Cell::from(item.container.clone()),
                    Cell::from(
                        Line::from(item.exit_code.map(|c| c.to_string()).unwrap_or_default())
                            .right_aligned(),
                    ),
                    Cell::from(item.detail.clone()).style(t.dim),
                ]);
                if item.acked {
                    row = row.style(t.dim);
                }
                if i == selected {
                    row.style(t.selection)
                } else {
                    row
                }
            });
        Table::new(
            rows,
            [
                Constraint::Length(8),
                Constraint::Length(name_w),
                Constraint::Length(15),
                Constraint::Fill(1),
                Constraint::Length(4),
                Constraint::Fill(2),
            ],
        )
        .header(header)
        .column_spacing(1)
        .render(inner, buf);
    }
}
