//! The containers view: one table across every endpoint.
//!
//! ```text
//! ┌ Containers · 38 of 40 · sort name ▲ · group none · filter label:app=web ──────────┐
//! │ NAME        STATE    ENDPOINT STATUS          IP            HEALTH    IMAGE        │
//! │ web-1       running  lab1     Up 3h12m        192.168.2.20  healthy   busybox:loc… │
//! │ batch       exited   lab2     Exited (3) 5m…  -                       busybox:loc… │
//! └────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Only the rows in the window are turned into widgets, so 2,000 containers cost what 20 do.
//! Columns are dropped by priority when the terminal is narrow (80 columns keeps name, state,
//! endpoint, status, IP and health).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Widget};

use super::{Screen, Theme};
use crate::model::query::{self, Column, GroupBy};
use crate::model::{Container, ContainerState, Endpoint, Health};

pub struct ContainersView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

/// Rows the table body can show inside a body area of `height` lines (borders + header).
pub fn body_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(3))
}

/// The selected row and the first line on screen of a table `height` lines tall (the headers
/// between groups are lines too).
fn window(rows: &query::RowList, st: &crate::ui::ViewState, height: usize) -> (usize, usize) {
    let selected = st.selected.min(rows.len().saturating_sub(1));
    let selected_line = rows.line_of_row(selected);
    (selected, visible_offset(st.offset, selected_line, height))
}

/// The row (an index into `rows.keys`) drawn at screen row `y` of the table in `area`, for a
/// click; `None` on a group header, a border, the title row or past the last row.
pub fn row_at(
    rows: &query::RowList,
    st: &crate::ui::ViewState,
    area: Rect,
    y: u16,
) -> Option<usize> {
    let line = super::table_line_at(area, y)?;
    let height = usize::from(area.height.saturating_sub(3));
    let (_, offset) = window(rows, st, height);
    match rows.line(offset + line)? {
        query::Line::Row(i) => Some(i),
        query::Line::Group(_) => None,
    }
}

/// The smallest change to `offset` that keeps `selected` inside a window of `height` rows.
pub fn visible_offset(offset: usize, selected: usize, height: usize) -> usize {
    if height == 0 {
        return selected;
    }
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

pub fn state_style(c: &Container, theme: &Theme) -> Style {
    match c.state {
        ContainerState::Running => theme.container_running,
        ContainerState::Restarting => theme.container_restarting,
        ContainerState::Paused => theme.container_paused,
        ContainerState::Exited | ContainerState::Dead if c.exited_nonzero() || c.oom_killed => {
            theme.container_exited_nonzero
        }
        _ => theme.container_exited,
    }
}

pub fn health_style(h: Health, theme: &Theme) -> Style {
    match h {
        Health::Unhealthy => theme.container_unhealthy,
        Health::Healthy => theme.container_healthy,
        Health::Starting => theme.endpoint_connecting,
        Health::None => theme.dim,
    }
}

/// Widths and the order in which columns are given up when space runs out: columns are taken
/// in priority order until one does not fit. NAME always stays and takes what is left (shared
/// with IMAGE when that fits too).
fn column_plan(width: u16, endpoint_width: u16) -> Vec<(Column, Constraint)> {
    let wanted: [(Column, u16); 13] = [
        (Column::Name, 12),
        (Column::State, 10),
        (Column::Endpoint, endpoint_width),
        (Column::Status, 17),
        (Column::Ips, 15),
        (Column::Cpu, 6),
        (Column::Mem, 10),
        (Column::Health, 9),
        (Column::Image, 16),
        (Column::Net, 11),
        (Column::Io, 11),
        (Column::Pids, 4),
        (Column::Ports, 16),
    ];
    let mut used = 0u16;
    let mut keep = Vec::new();
    for (col, w) in wanted {
        let cost = w + u16::from(!keep.is_empty());
        if used + cost > width && col != Column::Name {
            break;
        }
        used += cost;
        keep.push(col);
    }
    // Display order is the fixed column order, not the priority order.
    Column::ALL
        .iter()
        .filter(|c| keep.contains(c))
        .map(|&c| {
            let constraint = match c {
                // Names and images share whatever width is left.
                Column::Name | Column::Image => Constraint::Fill(1),
                Column::Endpoint => Constraint::Length(endpoint_width),
                other => Constraint::Length(
                    wanted
                        .iter()
                        .find(|(col, _)| *col == other)
                        .map_or(10, |(_, w)| *w),
                ),
            };
            (c, constraint)
        })
        .collect()
}

/// "1.2K" for rates and sizes in a narrow cell.
fn rate(v: f64) -> String {
    super::human_bytes(v.round() as i64)
}

/// The text of a stats column (CPU%, MEM, NET rx/tx, IO r/w, PIDS) for a container's newest
/// reading, "-" without one; `None` for the other columns. The table draws it, and the app
/// compares it before and after a stats round: a round that changes no figure on screen draws
/// no frame.
pub fn stats_cell(
    col: Column,
    sample: Option<&crate::model::stats::StatsSample>,
) -> Option<String> {
    let stat = |f: &dyn Fn(&crate::model::stats::StatsSample) -> String| {
        Some(sample.map_or_else(|| "-".to_string(), f))
    };
    match col {
        Column::Cpu => stat(&|s| format!("{:.1}", s.cpu_pct)),
        Column::Mem => {
            stat(&|s| format!("{}/{}", rate(s.mem_used as f64), rate(s.mem_limit as f64)))
        }
        Column::Net => stat(&|s| format!("{}/{}", rate(s.net_rx_bps), rate(s.net_tx_bps))),
        Column::Io => stat(&|s| format!("{}/{}", rate(s.blk_read_bps), rate(s.blk_write_bps))),
        Column::Pids => stat(&|s| s.pids.to_string()),
        _ => None,
    }
}

fn cell_text(
    col: Column,
    ep: &Endpoint,
    c: &Container,
    now: chrono::DateTime<chrono::Utc>,
    sample: Option<&crate::model::stats::StatsSample>,
    health_shown: bool,
) -> String {
    if let Some(text) = stats_cell(col, sample) {
        return text;
    }
    match col {
        // Without a HEALTH column (narrow terminals), a bad health shows in STATE, unless a
        // stop signal is out: "stopping" (below) says more.
        Column::State
            if !health_shown
                && matches!(c.health, Health::Unhealthy | Health::Starting)
                && ep.stopping(c, now).is_none() =>
        {
            c.health.as_str().to_string()
        }
        Column::Endpoint => ep.name().to_string(),
        Column::Name => c.name.clone(),
        Column::Image => c.image.clone(),
        Column::State => ep.state_word(c, now).to_string(),
        Column::Status => ep.status_text(c, now),
        Column::Health => c.health.as_str().to_string(),
        Column::Ips => {
            let ips = c.ips();
            match ips.len() {
                0 => "-".into(),
                1 => ips[0].to_string(),
                n => format!("{} +{}", ips[0], n - 1),
            }
        }
        // Answered by `stats_cell` above.
        Column::Cpu | Column::Mem | Column::Net | Column::Io | Column::Pids => "-".into(),
        Column::Ports => c
            .ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

enum Item<'a> {
    /// Name, rows in it, running among them.
    Group(&'a str, usize, usize),
    Row(usize, query::Row<'a>),
}

impl Widget for ContainersView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let st = s.state;
        let built;
        let rows = match s.rows {
            Some(rows) => rows,
            None => {
                built = query::RowList::build(s.fleet, &st.filter, st.group, st.sort);
                &built
            }
        };
        let total = s.fleet.container_count();
        let dir = if st.sort.descending { "▼" } else { "▲" };
        let mut title = format!(
            " Containers · {} of {total} · sort {} {dir} · group {} ",
            rows.len(),
            st.sort.column.title().to_lowercase(),
            st.group.label()
        );
        if !st.filter.is_empty() {
            title.push_str(&format!("· filter {} ", st.filter.as_str()));
        }
        if !st.marked.is_empty() {
            title.push_str(&format!("· {} marked ", st.marked.len()));
        }
        let inner = super::view_frame(area, buf, t, Span::styled(title, t.title));

        if rows.is_empty() {
            let msg = if total == 0 {
                "no containers yet (waiting for endpoints)".to_string()
            } else {
                format!("no container matches \"{}\"", st.filter.as_str())
            };
            Paragraph::new(Span::styled(msg, t.dim)).render(inner, buf);
            return;
        }

        // Headers between groups count as lines of the window; only the lines on screen are
        // looked up in the fleet.
        let height = usize::from(inner.height.saturating_sub(1));
        let (selected, offset) = window(rows, st, height);

        let endpoint_width = super::endpoint_column_width(s.fleet);
        let plan = column_plan(inner.width, endpoint_width);
        // Drawn cell by cell straight into the buffer, the way ratatui's Table draws it (row
        // style, then each cell's style over its column, then its text), without building a
        // Table of Text/Line/Span widgets first: that was most of the CPU of a frame.
        let columns = Layout::horizontal(plan.iter().map(|(_, c)| *c))
            .flex(Flex::Start)
            .spacing(1)
            .split(Rect::new(inner.x, inner.y, inner.width, 1));
        if inner.height == 0 {
            return;
        }
        for ((col, _), area) in plan.iter().zip(columns.iter()) {
            let area = Rect {
                y: inner.y,
                ..*area
            };
            buf.set_style(area, t.title);
            let mut title = col.title().to_string();
            if *col == st.sort.column {
                title.push_str(dir);
            }
            buf.set_stringn(
                area.x,
                area.y,
                &title,
                usize::from(area.width),
                Style::default(),
            );
        }

        let group_label = match st.group {
            GroupBy::Cluster => "cluster",
            GroupBy::Service => "service",
            GroupBy::Project => "project",
            _ => "endpoint",
        };
        let health_shown = plan.iter().any(|(col, _)| *col == Column::Health);
        let items = (offset..offset + height).map_while(|line| match rows.line(line)? {
            query::Line::Group(g) => Some(Some(Item::Group(&g.name, g.count, g.running))),
            // A row whose container went since the list was worked out is left blank.
            query::Line::Row(i) => Some(rows.row(s.fleet, i).map(|row| Item::Row(i, row))),
        });
        for (line, item) in items.enumerate() {
            let y = inner.y + 1 + line as u16;
            let Some(item) = item else {
                continue;
            };
            match item {
                Item::Group(name, count, running) => {
                    let text = match st.group {
                        GroupBy::Service if name == query::NO_SERVICE => {
                            format!("── {name} ({count}) ")
                        }
                        GroupBy::Project if name == query::NO_PROJECT => {
                            format!("── {name} ({count}) ")
                        }
                        // A service's health at a glance: its running containers of all
                        // (kept revisions stand stopped among them).
                        GroupBy::Service | GroupBy::Project => {
                            format!("── {group_label} {name}: {running} running of {count} ")
                        }
                        _ => format!("── {group_label} {name} ({count}) "),
                    };
                    Paragraph::new(Span::styled(text, t.group_header)).render(
                        Rect {
                            y,
                            height: 1,
                            ..inner
                        },
                        buf,
                    );
                }
                Item::Row(i, row) => {
                    if i == selected {
                        buf.set_style(
                            Rect {
                                y,
                                height: 1,
                                ..inner
                            },
                            t.selection,
                        );
                    }
                    let ep = &s.fleet.endpoints[row.endpoint];
                    let c = row.container;
                    let stale = ep.is_stale();
                    let sample = s.fleet.stats.latest(row.endpoint, &c.id);
                    let stopping = ep.stopping(c, s.now).is_some();
                    for ((col, _), area) in plan.iter().zip(columns.iter()) {
                        let mut text = cell_text(*col, ep, c, s.now, sample, health_shown);
                        if stale && *col == Column::Status {
                            text = format!("stale {text}");
                        }
                        // `*` cannot start a container name, so it cannot be mistaken for one.
                        if *col == Column::Name && st.marked.contains(&row.key()) {
                            text = format!("* {text}");
                        }
                        let style = if stale {
                            t.stale
                        } else {
                            match col {
                                Column::State | Column::Status if stopping => {
                                    t.container_restarting
                                }
                                Column::State if !health_shown && c.health == Health::Unhealthy => {
                                    health_style(c.health, t)
                                }
                                Column::State => state_style(c, t),
                                Column::Health => health_style(c.health, t),
                                Column::Status if c.exited_nonzero() => t.container_exited_nonzero,
                                _ => t.base,
                            }
                        };
                        let area = Rect { y, ..*area };
                        buf.set_style(area, style);
                        buf.set_stringn(
                            area.x,
                            y,
                            &text,
                            usize::from(area.width),
                            Style::default(),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_moves_only_as_much_as_needed() {
        assert_eq!(visible_offset(0, 5, 10), 0);
        assert_eq!(visible_offset(0, 10, 10), 1);
        assert_eq!(visible_offset(8, 3, 10), 3);
        assert_eq!(visible_offset(4, 9, 10), 4);
    }

    #[test]
    fn narrow_terminals_keep_the_triage_columns() {
        let cols: Vec<Column> = column_plan(78, 8).into_iter().map(|(c, _)| c).collect();
        assert_eq!(
            cols,
            [
                Column::Endpoint,
                Column::Name,
                Column::State,
                Column::Status,
                Column::Ips,
                Column::Cpu
            ]
        );
        let wide: Vec<Column> = column_plan(198, 8).into_iter().map(|(c, _)| c).collect();
        assert_eq!(wide, Column::ALL);
    }
}
