//! The triage view: what needs attention now, newest first.
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
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::containers::visible_offset;
use super::{Screen, Theme};
use crate::model::triage::{Problem, TriageItem, triage};

pub struct TriageView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

pub fn problem_style(p: Problem, theme: &Theme) -> Style {
    match p {
        Problem::EndpointDown | Problem::RestartLoop | Problem::OomKilled => theme.event_critical,
        Problem::IpConflict => theme.pool_conflict,
        Problem::ExitedNonZero => theme.container_exited_nonzero,
        Problem::Unhealthy => theme.container_unhealthy,
        Problem::Restarting => theme.container_restarting,
    }
}

impl Widget for TriageView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let items: Vec<TriageItem> = triage(s.fleet, s.now);
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
                let ep = s.fleet.endpoints.get(item.endpoint);
                let when = item
                    .at
                    .map(|a| a.with_timezone(&Local).format("%H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                let row = Row::new(vec![
                    Cell::from(when).style(t.dim),
                    Cell::from(ep.map(|e| e.name().to_string()).unwrap_or_default()),
                    Cell::from(item.problem.label()).style(problem_style(item.problem, t)),
                    Cell::from(item.container.clone()),
                    Cell::from(
                        Line::from(
                            item.exit_code
                                .filter(|_| item.problem != Problem::Unhealthy)
                                .map(|c| c.to_string())
                                .unwrap_or_default(),
                        )
                        .right_aligned(),
                    ),
                    Cell::from(item.detail.clone()).style(t.dim),
                ]);
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
