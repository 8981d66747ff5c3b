//! The nodes view: every node of every swarm a manager endpoint runs, each swarm once (read
//! from a manager that is up), with what it carries against what it has.
//!
//! ```text
//! ┌ Nodes · 1 swarm · 2 nodes · 1 not active ───────────────────────────────────────────────────────┐
//! │HOSTNAME       ROLE      AVAIL   STATE   ENGINE          TASKS CPU RES/HAS  MEM RES/HAS  LABELS  │
//! │── swarm 37r3yxl7w6nr via lab5 (managers: lab5, lab8)                                            │
//! │lab7           worker    drain   ready   20.10.24+dfsg1      0 0/2          0B/24G       dc=swarm│
//! │vm             manager ★ active  ready   20.10.24+dfsg1      3 0.5/2        192M/24G     dc=swarm│
//! └─────────────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Under 110 columns ENGINE and the reservations are left out: the labels stay.
//! `D` drains the selected node, `a` makes it active again, `p` pauses it: each confirmed,
//! through the gate, and followed until its tasks have moved.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::containers::visible_offset;
use super::{Screen, Theme, human_bytes};
use crate::model::swarm::{SwarmNodeRow, SwarmView};

/// The rows of the view in order: (index into the swarms, node).
pub fn shown_nodes<'a>(swarms: &[SwarmView<'a>]) -> Vec<(usize, &'a SwarmNodeRow)> {
    swarms
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.state.nodes.iter().map(move |n| (i, n)))
        .collect()
}

/// "swarm 3f2a9c1d04e5 via lab5 (managers: lab5, lab8)", and "last read" when none is up.
pub fn swarm_title(screen: &Screen<'_>, s: &SwarmView<'_>) -> String {
    let name = |id: usize| screen.fleet.endpoints.get(id).map_or("?", |e| e.name());
    let short: String = s.state.cluster_id.chars().take(12).collect();
    let mut text = format!("── swarm {short} via {}", name(s.endpoint));
    if s.managers.len() > 1 {
        let all: Vec<&str> = s.managers.iter().map(|m| name(*m)).collect();
        text.push_str(&format!(" (managers: {})", all.join(", ")));
    }
    if s.stale {
        text.push_str(" · no manager answers: last reading");
    }
    text.push(' ');
    text
}

fn node_style(n: &SwarmNodeRow, t: &Theme) -> Style {
    match (n.state.as_str(), n.availability.as_str()) {
        ("ready", "active") => t.base,
        ("ready", _) => t.container_paused,
        _ => t.container_exited_nonzero,
    }
}

/// "0.5/2": reserved CPUs of those the node has.
fn cpus(reserved_nano: i64, has_nano: i64) -> String {
    let c = |n: i64| {
        let v = n as f64 / 1e9;
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        }
    };
    format!("{}/{}", c(reserved_nano), c(has_nano))
}

/// The lines of a table grouped by swarm (`None`: a swarm's line; `Some(i)`: row i, of swarm
/// `groups[i]`), the selected row and the first line on screen of a window `height` tall.
fn grouped_window(
    groups: &[usize],
    selected: usize,
    offset: usize,
    height: usize,
) -> (Vec<Option<usize>>, usize, usize) {
    let mut items: Vec<Option<usize>> = Vec::new();
    let selected = selected.min(groups.len().saturating_sub(1));
    let mut selected_line = 0;
    for (i, swarm) in groups.iter().enumerate() {
        if i == 0 || groups[i - 1] != *swarm {
            items.push(None);
        }
        if i == selected {
            selected_line = items.len();
        }
        items.push(Some(i));
    }
    (
        items,
        selected,
        visible_offset(offset, selected_line, height),
    )
}

/// The row of a table grouped by swarm (the nodes and services views) drawn at screen row `y`
/// of `area`, for a click; `None` on a swarm's line, a border or the title row.
pub fn grouped_row_at(
    groups: &[usize],
    selected: usize,
    offset: usize,
    area: Rect,
    y: u16,
) -> Option<usize> {
    let line = super::table_line_at(area, y)?;
    let height = usize::from(area.height.saturating_sub(3));
    let (items, _, offset) = grouped_window(groups, selected, offset, height);
    items.get(offset + line).copied().flatten()
}

/// A table grouped by swarm, each group under a "── swarm … via …" line: what the nodes and
/// services views share.
pub(super) struct Grouped<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub swarms: &'a [SwarmView<'a>],
    pub title: String,
    /// Something needs a look: the title in the warning style.
    pub loud: bool,
    pub empty: &'static str,
    /// The swarm of each row; rows come in swarm order.
    pub groups: Vec<usize>,
    pub selected: usize,
    pub offset: usize,
    pub titles: Vec<&'static str>,
    pub widths: Vec<Constraint>,
}

impl Grouped<'_, '_> {
    /// Draws the table; `row(i, selected)` builds row `i`.
    pub fn render(self, area: Rect, buf: &mut Buffer, row: impl Fn(usize) -> Row<'static>) {
        let (s, t) = (self.screen, self.screen.theme);
        let style = if self.loud { t.event_warning } else { t.title };
        let inner = super::view_frame(area, buf, t, Span::styled(self.title, style));
        if self.groups.is_empty() {
            Paragraph::new(Span::styled(self.empty, t.dim)).render(inner, buf);
            return;
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let (items, selected, offset) =
            grouped_window(&self.groups, self.selected, self.offset, height);
        let shown: Vec<(usize, Option<usize>)> = items
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(line, item)| (line, *item))
            .collect();
        let header = Row::new(self.titles.iter().map(|h| Cell::from(*h).style(t.title)));
        let rows = shown.iter().map(|(_, item)| match item {
            None => Row::new(Vec::<Cell<'_>>::new()),
            Some(i) if *i == selected => row(*i).style(t.selection),
            Some(i) => row(*i),
        });
        Table::new(rows, self.widths)
            .header(header)
            .column_spacing(1)
            .render(inner, buf);
        for (n, (line, item)) in shown.iter().enumerate() {
            if item.is_some() {
                continue;
            }
            let swarm = self.groups[items[line + 1..]
                .iter()
                .flatten()
                .next()
                .copied()
                .unwrap_or(0)];
            let text = swarm_title(s, &self.swarms[swarm]);
            Paragraph::new(Span::styled(text, t.group_header)).render(
                Rect {
                    y: inner.y + 1 + n as u16,
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
    }
}

/// "2 nodes", "1 swarm".
pub(super) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

pub struct NodesView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

impl Widget for NodesView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let swarms = s.fleet.swarms();
        let nodes = shown_nodes(&swarms);
        let not_active = nodes
            .iter()
            .filter(|(_, n)| n.state != "ready" || n.availability != "active")
            .count();
        let mut title = format!(
            " Nodes · {} · {} ",
            count(swarms.len(), "swarm"),
            count(nodes.len(), "node")
        );
        if not_active > 0 {
            title.push_str(&format!("· {not_active} not active "));
        }
        // Narrow terminals keep the labels (what placement matches) and leave out engine and
        // reservations.
        let wide = area.width >= 112;
        let mut widths = vec![
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(7),
        ];
        let mut titles = vec!["HOSTNAME", "ROLE", "AVAIL", "STATE"];
        if wide {
            widths.push(Constraint::Length(15));
            titles.push("ENGINE");
        }
        widths.push(Constraint::Length(5));
        titles.push("TASKS");
        if wide {
            widths.extend([Constraint::Length(12), Constraint::Length(12)]);
            titles.extend(["CPU RES/HAS", "MEM RES/HAS"]);
        }
        widths.push(Constraint::Fill(1));
        titles.push("LABELS");
        let grouped = Grouped {
            screen: s,
            swarms: &swarms,
            title,
            loud: not_active > 0,
            empty: "no Swarm manager among the endpoints (or none has answered yet)",
            groups: nodes.iter().map(|(w, _)| *w).collect(),
            selected: s.state.node_selected,
            offset: s.state.node_offset,
            titles,
            widths,
        };
        grouped.render(area, buf, |i| {
            let (w, n) = nodes[i];
            let swarm = &swarms[w];
            let load = swarm.state.node_load(&n.id);
            let role = if n.leader {
                format!("{} ★", n.role)
            } else {
                n.role.clone()
            };
            let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut cells = vec![
                Cell::from(n.hostname.clone()),
                Cell::from(role),
                Cell::from(n.availability.clone()),
                Cell::from(n.state.clone()),
            ];
            if wide {
                cells.push(Cell::from(n.engine_version.clone()));
            }
            cells.push(Cell::from(
                ratatui::text::Line::from(load.running.to_string()).right_aligned(),
            ));
            if wide {
                cells.push(Cell::from(cpus(load.reserved_nano_cpus, n.nano_cpus)));
                cells.push(Cell::from(format!(
                    "{}/{}",
                    human_bytes(load.reserved_memory),
                    human_bytes(n.memory_bytes)
                )));
            }
            cells.push(Cell::from(labels.join(", ")));
            let style = if swarm.stale {
                t.stale
            } else {
                node_style(n, t)
            };
            Row::new(cells).style(style)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_read_as_reserved_of_available() {
        assert_eq!(cpus(0, 2_000_000_000), "0/2");
        assert_eq!(cpus(500_000_000, 2_000_000_000), "0.5/2");
        assert_eq!(cpus(250_000_000, 4_000_000_000), "0.25/4");
    }
}
