//! The events view: the whole fleet's events, merged and time-ordered, newest at the bottom.
//!
//! ```text
//! ┌ Events · 312 of 312 · following · filter type:container ───────────────────────────┐
//! │TIME     ENDPOINT CLUSTER TYPE      ACTION             ACTOR        DETAILS          │
//! │17:50:01 lab1     lab-a   container die                batch        exit 3 · image … │
//! │17:50:09 lab4     chaos   endpoint  down               lab4         connection refu… │
//! └─────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! While following, the newest event is selected and the window sticks to the bottom; moving
//! up pauses, `f` or `G` follows again.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::containers::visible_offset;
use super::{Screen, Theme};
use crate::model::events::{ENDPOINT_TYPE, FleetEvent, Severity};

pub struct EventsView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

pub fn event_style(ev: &FleetEvent, theme: &Theme) -> Style {
    match (ev.severity, ev.kind.as_str()) {
        (Severity::Critical, "container")
            if ev.action == "die" && ev.exit_code.is_some_and(|c| c != 0) =>
        {
            theme.event_die_nonzero
        }
        (Severity::Critical, _) => theme.event_critical,
        (Severity::Warning, _) => theme.event_warning,
        (_, ENDPOINT_TYPE) => theme.event_endpoint,
        _ => theme.base,
    }
}

/// The first event on screen: following, the window sticks to the bottom.
fn window_offset(len: usize, selected: usize, st: &crate::ui::ViewState, height: usize) -> usize {
    if st.event_selected.is_none() {
        len.saturating_sub(height)
    } else {
        visible_offset(st.event_offset.min(selected), selected, height)
    }
}

/// The index (into the `len` filtered events, `selected` of them selected) drawn at screen
/// row `y` of the table in `area`, for a click.
pub fn index_at(
    len: usize,
    selected: usize,
    st: &crate::ui::ViewState,
    area: Rect,
    y: u16,
) -> Option<usize> {
    let line = super::table_line_at(area, y)?;
    let height = usize::from(area.height.saturating_sub(3));
    let i = window_offset(len, selected, st, height) + line;
    (i < len).then_some(i)
}

/// Index of the selected event within `rows` (the filtered list): the stored selection if it
/// is still there, else the newest.
pub fn selected_index(
    rows: &[&FleetEvent],
    selected: Option<&crate::ui::state::EventRef>,
) -> usize {
    selected
        .and_then(|sel| rows.iter().position(|e| sel.is(e)))
        .unwrap_or(rows.len().saturating_sub(1))
}

impl Widget for EventsView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let st = s.state;
        let fleet = s.fleet;
        let rows: Vec<&FleetEvent> = fleet.filtered_events(&st.event_filter).collect();
        let mode = if st.event_selected.is_none() {
            "following"
        } else {
            "paused (f to follow)"
        };
        let mut title = format!(
            " Events · {} of {} · {mode} ",
            rows.len(),
            fleet.events.len()
        );
        if !st.event_filter.is_empty() {
            title.push_str(&format!("· filter {} ", st.event_filter.as_str()));
        }
        let inner = super::view_frame(area, buf, t, Span::styled(title, t.title));
        if rows.is_empty() {
            let msg = if fleet.events.is_empty() {
                "no events yet".to_string()
            } else {
                format!("no event matches \"{}\"", st.event_filter.as_str())
            };
            Paragraph::new(Span::styled(msg, t.dim)).render(inner, buf);
            return;
        }

        let height = usize::from(inner.height.saturating_sub(1));
        let selected = selected_index(&rows, st.event_selected.as_ref());
        let offset = window_offset(rows.len(), selected, st, height);
        let wide = inner.width >= 110;
        let name_w = super::endpoint_column_width(fleet);
        let cluster_w = fleet
            .endpoints
            .iter()
            .map(|e| e.cluster().chars().count())
            .max()
            .unwrap_or(7)
            .clamp(7, 16) as u16;

        let mut widths = vec![Constraint::Length(8), Constraint::Length(name_w)];
        let mut titles = vec!["TIME", "ENDPOINT"];
        if wide {
            widths.push(Constraint::Length(cluster_w));
            titles.push("CLUSTER");
        }
        widths.extend([
            Constraint::Length(9),
            Constraint::Length(if wide { 24 } else { 14 }),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ]);
        titles.extend(["TYPE", "ACTION", "ACTOR", "DETAILS"]);
        let header = Row::new(titles.into_iter().map(|h| Cell::from(h).style(t.title)));

        let body = rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, ev)| {
                let ep = fleet.endpoints.get(ev.endpoint);
                let style = event_style(ev, t);
                let mut details = ev.details.join(" · ");
                if ev.restart_loop {
                    details = format!("RESTART LOOP · {details}");
                }
                let mut cells = vec![
                    Cell::from(
                        ev.time()
                            .with_timezone(&Local)
                            .format("%H:%M:%S")
                            .to_string(),
                    )
                    .style(t.dim),
                    Cell::from(ep.map(|e| e.name().to_string()).unwrap_or_default()),
                ];
                if wide {
                    cells.push(Cell::from(
                        ep.map(|e| e.cluster().to_string()).unwrap_or_default(),
                    ));
                }
                cells.extend([
                    Cell::from(ev.kind.clone()),
                    // "health_status: unhealthy" does not fit a narrow column; "health:" does.
                    Cell::from(ev.action.replacen("health_status:", "health:", 1)).style(style),
                    Cell::from(ev.actor.clone()),
                    Cell::from(details).style(style),
                ]);
                let row = Row::new(cells);
                if i == selected {
                    row.style(t.selection)
                } else {
                    row
                }
            });
        Table::new(body, widths)
            .header(header)
            .column_spacing(1)
            .render(inner, buf);
    }
}
