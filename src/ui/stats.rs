//! The stats view: the busiest containers of the whole fleet by CPU, memory, network or IO, each
//! with a sparkline of its retained history; Enter opens line charts of one container.
//!
//! ```text
//! ┌ Stats · top by CPU · 41 sampled · every 2s, 10m kept ──────────────────────────────┐
//! │ENDPOINT NAME          CPU%     MEM  NET rx/tx   IO r/w PIDS HISTORY                 │
//! │lab1     burner        99.7   1.1M   0B/0B      0B/0B     2 ▁▁▃▆████████████████    │
//! └────────────────────────────────────────────────────────────────────────────────────┘
//! ```

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Widget,
};

use super::containers::visible_offset;
use super::{Screen, human_bytes};
use crate::model::EndpointId;
use crate::model::stats::{History, SortKey, StatsSample};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn metric_label(key: SortKey) -> &'static str {
    match key {
        SortKey::Cpu => "CPU",
        SortKey::Memory => "memory",
        SortKey::Network => "network",
        SortKey::Io => "IO",
    }
}

pub fn next_metric(key: SortKey) -> SortKey {
    match key {
        SortKey::Cpu => SortKey::Memory,
        SortKey::Memory => SortKey::Network,
        SortKey::Network => SortKey::Io,
        SortKey::Io => SortKey::Cpu,
    }
}

/// A sparkline of the last `width` samples, scaled to the window's own maximum (CPU to at
/// least 100 %, so an idle container does not look busy).
pub fn sparkline(history: &History, key: SortKey, width: usize) -> String {
    let values: Vec<f64> = history.tail(width).map(|s| key.value(s)).collect();
    let floor = if key == SortKey::Cpu { 100.0 } else { 1.0 };
    let max = values.iter().copied().fold(floor, f64::max);
    values
        .iter()
        .map(|v| {
            let i = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
            BARS[i]
        })
        .collect()
}

/// The containers ranked by `key`, busiest first.
pub fn ranked(screen: &Screen<'_>, key: SortKey) -> Vec<(EndpointId, String)> {
    screen
        .fleet
        .stats
        .top(key, usize::MAX)
        .into_iter()
        .map(|(e, id)| (e, id.to_string()))
        .collect()
}

fn rate(v: f64) -> String {
    human_bytes(v.round() as i64)
}

pub struct StatsView<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

impl Widget for StatsView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let st = s.state;
        let rows = ranked(s, st.stats_metric);
        let title = format!(
            " Stats · top by {} · {} sampled · s: next metric ",
            metric_label(st.stats_metric),
            rows.len()
        );
        let inner = super::view_frame(area, buf, t, Span::styled(title, t.title));
        if rows.is_empty() {
            Paragraph::new(Span::styled(
                "no samples yet: stats arrive one interval after a container runs",
                t.dim,
            ))
            .render(inner, buf);
            return;
        }
        let height = usize::from(inner.height.saturating_sub(1));
        let selected = st.stats_selected.min(rows.len() - 1);
        let offset = visible_offset(st.stats_offset, selected, height);
        let wide = inner.width >= 110;
        let name_w = super::endpoint_column_width(s.fleet);
        let mut widths = vec![
            Constraint::Length(name_w),
            Constraint::Length(if wide { 24 } else { 14 }),
            Constraint::Length(6),
            Constraint::Length(7),
        ];
        let mut titles = vec!["ENDPOINT", "NAME", "CPU%", "MEM"];
        if wide {
            widths.extend([
                Constraint::Length(11),
                Constraint::Length(11),
                Constraint::Length(4),
            ]);
            titles.extend(["NET rx/tx", "IO r/w", "PIDS"]);
        }
        widths.push(Constraint::Fill(1));
        titles.push("HISTORY");
        let spark_w = usize::from(inner.width).saturating_sub(
            widths
                .iter()
                .map(|c| match c {
                    Constraint::Length(n) => usize::from(*n) + 1,
                    _ => 0,
                })
                .sum::<usize>(),
        );
        let header = Row::new(titles.iter().map(|h| Cell::from(*h).style(t.title)));
        let right = |text: String| Cell::from(Line::from(text).right_aligned());
        let body = rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, (e, id))| {
                let ep = &s.fleet.endpoints[*e];
                let name = ep
                    .containers
                    .get(id)
                    .map_or(id.as_str(), |c| c.name.as_str());
                let sample = s.fleet.stats.latest(*e, id).copied().unwrap_or_default();
                let spark = s
                    .fleet
                    .stats
                    .history(*e, id)
                    .map(|h| sparkline(h, st.stats_metric, spark_w))
                    .unwrap_or_default();
                let mut cells = vec![
                    Cell::from(ep.name().to_string()),
                    Cell::from(name.to_string()),
                    right(format!("{:.1}", sample.cpu_pct)),
                    right(rate(sample.mem_used as f64)),
                ];
                if wide {
                    cells.extend([
                        right(format!(
                            "{}/{}",
                            rate(sample.net_rx_bps),
                            rate(sample.net_tx_bps)
                        )),
                        right(format!(
                            "{}/{}",
                            rate(sample.blk_read_bps),
                            rate(sample.blk_write_bps)
                        )),
                        right(sample.pids.to_string()),
                    ]);
                }
                cells.push(Cell::from(spark).style(t.endpoint_up));
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

/// Line charts of one container over its whole retained window.
pub struct StatsCharts<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub endpoint: EndpointId,
    pub id: &'a str,
}

fn points(h: &History, now: DateTime<Utc>, f: impl Fn(&StatsSample) -> f64) -> Vec<(f64, f64)> {
    h.iter()
        .map(|s| (-((now - s.at).num_milliseconds() as f64) / 1000.0, f(s)))
        .collect()
}

type Series<'a> = (&'a str, Vec<(f64, f64)>, Style);

fn chart<'a>(
    title: String,
    series: &'a [Series<'a>],
    x_min: f64,
    y_label: impl Fn(f64) -> String,
    axis: Style,
) -> Chart<'a> {
    let y_max = series
        .iter()
        .flat_map(|(_, p, _)| p.iter().map(|(_, y)| *y))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let datasets = series
        .iter()
        .map(|(name, data, style)| {
            Dataset::default()
                .name(*name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(*style)
                .data(data)
        })
        .collect::<Vec<_>>();
    Chart::new(datasets)
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(
            Axis::default()
                .style(axis)
                .bounds([x_min, 0.0])
                .labels([format!("{:.0}s", x_min), "now".to_string()]),
        )
        .y_axis(
            Axis::default()
                .style(axis)
                .bounds([0.0, y_max])
                .labels(["0".to_string(), y_label(y_max)]),
        )
}

impl Widget for StatsCharts<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        Clear.render(area, buf);
        let ep = &s.fleet.endpoints[self.endpoint];
        let name = ep
            .containers
            .get(self.id)
            .map_or(self.id, |c| c.name.as_str());
        let outer = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focused)
            .title(Span::styled(
                format!(" {name} on {} · Esc close ", ep.name()),
                t.title,
            ));
        let inner = outer.inner(area);
        outer.render(area, buf);
        let Some(h) = s.fleet.stats.history(self.endpoint, self.id) else {
            Paragraph::new(Span::styled("no samples for this container", t.dim)).render(inner, buf);
            return;
        };
        let now = h.latest().map_or(s.now, |l| l.at);
        let x_min = h
            .oldest()
            .map_or(-60.0, |o| (-((now - o.at).num_seconds() as f64)).min(-1.0));
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        let [a, b] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
        let [c, d] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
        let latest = h.latest().copied().unwrap_or_default();
        let primary = t.endpoint_up;
        let secondary = t.event_endpoint;
        let cpu = [("cpu %", points(h, now, |s| s.cpu_pct), primary)];
        let mem = [("used", points(h, now, |s| s.mem_used as f64), primary)];
        let net = [
            ("rx", points(h, now, |s| s.net_rx_bps), primary),
            ("tx", points(h, now, |s| s.net_tx_bps), secondary),
        ];
        let io = [
            ("read", points(h, now, |s| s.blk_read_bps), primary),
            ("write", points(h, now, |s| s.blk_write_bps), secondary),
        ];
        chart(
            format!(" CPU {:.1}% ", latest.cpu_pct),
            &cpu,
            x_min,
            |v| format!("{v:.0}%"),
            t.dim,
        )
        .render(a, buf);
        chart(
            format!(
                " memory {} of {} ",
                rate(latest.mem_used as f64),
                rate(latest.mem_limit as f64)
            ),
            &mem,
            x_min,
            rate,
            t.dim,
        )
        .render(b, buf);
        chart(
            format!(
                " network rx {}/s tx {}/s ",
                rate(latest.net_rx_bps),
                rate(latest.net_tx_bps)
            ),
            &net,
            x_min,
            |v| format!("{}/s", rate(v)),
            t.dim,
        )
        .render(c, buf);
        chart(
            format!(
                " IO read {}/s write {}/s ",
                rate(latest.blk_read_bps),
                rate(latest.blk_write_bps)
            ),
            &io,
            x_min,
            |v| format!("{}/s", rate(v)),
            t.dim,
        )
        .render(d, buf);
    }
}
