//! Drawing. Every screen is a [`Screen`] over borrowed state: the fleet, the view state, the
//! theme and the key hints. `impl Widget for &Screen` so a frame never clones the model; the
//! TUI and `snapshot` draw through exactly the same code.
//!
//! ```text
//! ┌ header: fleetdeck · endpoints up/total · containers · view tabs ········· clock ┐
//! │ body: the current view (clusters | containers), with overlays on top           │
//! │       (detail panel, help)                                                     │
//! └ footer: key hints for this view, the filter input, or a message ───────────────┘
//! ```

pub mod clusters;
pub mod confirm;
pub mod containers;
pub mod copy;
pub mod deploy;
pub mod detail;
pub mod events;
pub mod help;
pub mod inspect;
pub mod logs;
pub mod nodes;
pub mod picture;
pub mod pools;
pub mod processes;
pub mod quiet;
pub mod services;
pub mod shell;
pub mod state;
pub mod stats;
pub mod theme;
pub mod triage;
pub mod wall;

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::config::theme::ThemeSpec;
use crate::model::{Fleet, View};
pub use state::ViewState;
pub use theme::Theme;

/// The styles a theme file or the config describes: the dark theme with their changes. Here
/// rather than in `theme`, which imports nothing from the crate.
impl From<&ThemeSpec> for Theme {
    fn from(spec: &ThemeSpec) -> Self {
        let mut theme = Theme::dark();
        for (name, style) in &spec.styles {
            // Every config key has a field: tests/themes.rs checks the two tables agree.
            if let Some(key) = theme::StyleKey::find(name) {
                *(key.get_mut)(&mut theme) = *style;
            }
        }
        if let Some(tags) = &spec.source_tags {
            theme.source_tags = tags.clone();
        }
        if let Some(log_colors) = spec.log_colors {
            theme.log_colors = log_colors;
        }
        if let Some(ansi) = spec.ansi {
            theme.ansi = ansi;
        }
        theme.cluster_borders.extend(spec.cluster_borders.clone());
        theme
    }
}

/// A key and what it does, as shown in the footer and the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub action: String,
}

/// A titled group of hints for the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    pub title: String,
    pub hints: Vec<Hint>,
}

/// The header's text: the name and the fleet's counts, then each view's label. Terminals too
/// narrow for every title get the numbers, with the current view's title only (the clock
/// keeps its 7 columns). The header draws from it and a mouse click is read against it.
fn header_labels(fleet: &Fleet, current: View, width: u16) -> ([String; 2], Vec<(View, String)>) {
    let up = fleet.endpoints.iter().filter(|e| e.is_up()).count();
    let total = fleet.endpoints.len();
    let containers = fleet.container_count();
    // While inspects are still coming in, the figures may change: say how far they are.
    let pending = fleet.details_pending();
    let details = if pending > 0 {
        format!(
            "· details {}/{containers} ",
            containers.saturating_sub(pending)
        )
    } else {
        String::new()
    };
    let prefix = [
        " fleetdeck ".to_string(),
        format!(" {up}/{total} up · {containers} containers {details}"),
    ];
    let full: usize = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" {}:{} ", i + 1, v.title()).chars().count())
        .sum();
    let before: usize = prefix.iter().map(|s| s.chars().count()).sum();
    let narrow = before + full + 8 > usize::from(width);
    let tabs = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let label = if narrow && *v != current {
                format!(" {} ", i + 1)
            } else {
                format!(" {}:{} ", i + 1, v.title())
            };
            (*v, label)
        })
        .collect();
    (prefix, tabs)
}

/// The view whose name the header draws at column `x` (of a header `width` wide), for a click.
pub fn header_view_at(fleet: &Fleet, current: View, width: u16, x: u16) -> Option<View> {
    let (prefix, tabs) = header_labels(fleet, current, width);
    let mut left: usize = prefix.iter().map(|s| s.chars().count()).sum();
    let x = usize::from(x);
    for (view, label) in tabs {
        let right = left + label.chars().count();
        if (left..right).contains(&x) {
            return Some(view);
        }
        left = right;
    }
    None
}

/// The line of a bordered table (a title row under the top border) drawn in `area` that the
/// screen row `y` shows, counted from the first line on screen; `None` on the borders, the
/// title row or outside.
pub fn table_line_at(area: Rect, y: u16) -> Option<usize> {
    let first = area.y.checked_add(2)?;
    let bottom = area.bottom().saturating_sub(1);
    (y >= first && y < bottom).then(|| usize::from(y - first))
}

pub struct Screen<'a> {
    pub fleet: &'a Fleet,
    pub state: &'a ViewState,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    /// Hints for the footer, already chosen for the current view.
    pub footer: &'a [Hint],
    /// The whole keymap for `?`.
    pub help: &'a [HelpSection],
    /// The open log tail, if any.
    pub logs: Option<&'a state::LogView>,
    /// The InfluxDB exporter's state, when export is on.
    pub export: Option<&'a crate::export::ExportStatus>,
    /// Why alert notifications are not going out, for the footer's right end.
    pub delivery: Option<&'a str>,
    /// The shell pane, when shells are open: it takes the bottom of the body.
    pub shells: Option<&'a shell::ShellPaneView<'a>>,
    /// The alert rules' state: what the triage panel and the wall banner list.
    pub alerts: &'a crate::model::alerts::Alerts,
    /// The containers table's rows as the app keeps them between frames; `None` works them
    /// out for this frame (snapshots, other views).
    pub rows: Option<&'a crate::model::query::RowList>,
}

impl Widget for &Screen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.theme.base);
        let body = if let Some(wall) = &self.state.wall {
            wall::render_frame(self, wall, area, buf)
        } else {
            self.render_chrome(area, buf)
        };
        let body = match self.shells {
            Some(pane) if !pane.shells.is_empty() && self.state.wall.is_none() => {
                let (view, pane_area) = shell::split(body, pane.shell_percent);
                pane.render(pane_area, buf);
                view
            }
            _ => body,
        };
        self.render_body(body, buf);
        // Help is modal: it may cover the header and footer, and needs their rows at 80x24.
        if self.state.help && self.state.wall.is_none() {
            help::HelpOverlay { screen: self }.render(area, buf);
        }
    }
}

impl Screen<'_> {
    /// Header and footer of the interactive dashboard; returns the body area.
    fn render_chrome(&self, area: Rect, buf: &mut Buffer) -> Rect {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_header(header, buf);
        self.render_footer(footer, buf);
        body
    }

    fn render_body(&self, body: Rect, buf: &mut Buffer) {
        match self.state.view {
            View::Clusters => clusters::ClustersView { screen: self }.render(body, buf),
            View::Containers => containers::ContainersView { screen: self }.render(body, buf),
            View::Events => events::EventsView { screen: self }.render(body, buf),
            View::Triage => triage::TriageView { screen: self }.render(body, buf),
            View::Logs => logs::LogsView {
                screen: self,
                logs: self.logs,
            }
            .render(body, buf),
            View::Stats => {
                stats::StatsView { screen: self }.render(body, buf);
                if let Some(key) = &self.state.stats_detail {
                    stats::StatsCharts {
                        screen: self,
                        endpoint: key.endpoint,
                        id: &key.id,
                    }
                    .render(body, buf);
                }
            }
            View::Nodes => nodes::NodesView { screen: self }.render(body, buf),
            View::Services => {
                services::ServicesView { screen: self }.render(body, buf);
                if let Some(key) = &self.state.service_tasks {
                    services::TasksPanel { screen: self, key }.render(body, buf);
                }
            }
            View::Pools => {
                let report = crate::model::ipam::IpamReport::from_fleet(self.fleet);
                pools::PoolsView {
                    screen: self,
                    report: &report,
                }
                .render(body, buf);
                if let Some(key) = &self.state.pool_detail {
                    let pool = report.pools.iter().find(|p| pools::PoolKey::of(p) == *key);
                    pools::PoolDetail {
                        screen: self,
                        report: &report,
                        pool,
                    }
                    .render(body, buf);
                }
            }
        }
        if let Some(key) = &self.state.detail
            && let Some(ep) = self.fleet.endpoints.get(key.endpoint)
        {
            let panel = detail::DetailPanel {
                screen: self,
                endpoint: ep,
                container: ep.containers.get(&key.id),
            };
            panel.render(body, buf);
        }
        if let Some(i) = &self.state.inspect {
            inspect::InspectOverlay {
                screen: self,
                inspect: i,
            }
            .render(body, buf);
        }
        if let Some(menu) = &self.state.copy_menu {
            copy::CopyMenuOverlay { screen: self, menu }.render(body, buf);
        }
        if let Some(p) = &self.state.processes {
            processes::ProcessesOverlay {
                screen: self,
                processes: p,
            }
            .render(body, buf);
        }
        if let Some(c) = &self.state.confirm {
            confirm::ConfirmDialog {
                screen: self,
                confirm: c,
            }
            .render(body, buf);
        }
        if let Some(form) = &self.state.deploy_form {
            deploy::DeployFormView { screen: self, form }.render(body, buf);
        }
        if let Some(work) = &self.state.plan {
            deploy::PlanDialog { screen: self, work }.render(body, buf);
        }
    }
}

impl Screen<'_> {
    fn render_header(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let (prefix, tabs) = header_labels(self.fleet, self.state.view, area.width);
        let mut spans = vec![
            Span::styled(
                prefix[0].clone(),
                t.header.add_modifier(ratatui::style::Modifier::BOLD),
            ),
            Span::styled(prefix[1].clone(), t.header),
        ];
        for (v, label) in tabs {
            let style = if v == self.state.view {
                t.header.add_modifier(ratatui::style::Modifier::REVERSED)
            } else {
                t.header
            };
            spans.push(Span::styled(label, style));
        }
        Paragraph::new(Line::from(spans))
            .style(t.header)
            .render(area, buf);
        let clock = clock_text(self.now);
        let width = clock.len() as u16;
        if area.width > width + 40 {
            let clock_area = Rect {
                x: area.right() - width,
                width,
                ..area
            };
            Paragraph::new(clock)
                .style(t.header)
                .render(clock_area, buf);
        }
    }

    fn render_footer(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        // The three input lines (search, command, filter) share one shape: prompt, text, cursor,
        // and what is wrong with the text (or, for the command line, the completions).
        let input_line = |prompt: String, text: &str, note: Option<&String>, note_style| {
            let mut spans = vec![
                Span::styled(prompt, t.key),
                Span::raw(text.to_string()),
                Span::styled("█", t.hint),
            ];
            if let Some(n) = note {
                spans.push(Span::styled(format!("  {n}"), note_style));
            }
            Paragraph::new(Line::from(spans))
        };
        if let Some(input) = &self.state.search_input {
            let mode = if input.regex { "regex" } else { "text" };
            let prompt = format!("search ({mode}, Tab switches): ");
            input_line(prompt, &input.text, input.error.as_ref(), t.error).render(area, buf);
            return;
        }
        if let Some(input) = &self.state.command_input {
            input_line(
                ":".into(),
                &input.text,
                input.error.as_ref(),
                t.status_message,
            )
            .render(area, buf);
            return;
        }
        if let Some(input) = &self.state.filter_input {
            input_line("/".into(), &input.text, input.error.as_ref(), t.error).render(area, buf);
            return;
        }
        if let Some(input) = &self.state.swarm_input {
            let prompt = match input.ask {
                state::SwarmAsk::Scale => format!("scale {} to (replicas): ", input.service),
                state::SwarmAsk::Image => format!("update {} to image: ", input.service),
            };
            input_line(prompt, &input.text, input.error.as_ref(), t.error).render(area, buf);
            return;
        }
        if let Some(msg) = &self.state.message {
            Paragraph::new(Span::styled(msg.clone(), t.status_message)).render(area, buf);
            return;
        }
        let mut spans = Vec::new();
        for h in self.footer {
            spans.push(Span::styled(h.key.clone(), t.key));
            spans.push(Span::styled(format!(" {}  ", h.action), t.hint));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
        // Over the hints' right end: a failing notification target must not go unnoticed.
        if let Some(problem) = self.delivery {
            let text = format!(" {problem} ");
            let width = (text.chars().count() as u16).min(area.width);
            let right = Rect {
                x: area.right() - width,
                width,
                ..area
            };
            Paragraph::new(Span::styled(text, t.error)).render(right, buf);
        }
    }
}

/// The header's clock at `now`. Minutes: a seconds digit would cost a frame a second over SSH
/// for nothing (and the app draws no frame for a tick that changes no text on screen).
pub fn clock_text(now: DateTime<Utc>) -> String {
    now.with_timezone(&Local).format(" %H:%M ").to_string()
}

/// The bordered frame every view sits in: draws it with `title` and returns the inside.
pub fn view_frame(area: Rect, buf: &mut Buffer, theme: &Theme, title: Span<'_>) -> Rect {
    let block = ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(theme.border_focused)
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Width of an ENDPOINT column: the longest endpoint name, within 8 to 16.
pub fn endpoint_column_width(fleet: &Fleet) -> u16 {
    fleet
        .endpoints
        .iter()
        .map(|e| e.name().chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 16) as u16
}

/// Renders a screen into a plain-text picture: one line per row, trailing blanks trimmed, no
/// escape codes. Used by `snapshot` and by tests.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in area.left()..area.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buf[(x, y)].symbol();
            line.push_str(symbol);
            // Wide glyphs occupy the next cell too.
            skip = unicode_width(symbol).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(s: &str) -> usize {
    use ratatui::text::Span;
    Span::raw(s).width()
}

/// A rect of `percent_x` × `height` centred in `area`, for overlays.
pub fn centered(area: Rect, percent_x: u16, max_width: u16, height: u16) -> Rect {
    let width = (area.width * percent_x / 100).clamp(20.min(area.width), max_width.min(area.width));
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A y/n dialog in the error frame (a confirmation, a deploy plan): `lines`, then the answer line, centred; `extra_height`
/// rows are kept for lines that wrap.
pub fn yes_no_dialog(
    t: &Theme,
    title: &str,
    mut lines: Vec<Line<'_>>,
    (yes, no): (&str, &str),
    (width_pct, extra_height): (u16, u16),
    area: Rect,
    buf: &mut Buffer,
) {
    lines.push(Line::from(vec![
        Span::styled(" y", t.key),
        Span::styled(yes.to_string(), t.hint),
        Span::styled("n", t.key),
        Span::styled(no.to_string(), t.hint),
    ]));
    let height = (lines.len() as u16 + 2 + extra_height).min(area.height);
    let rect = centered(area, width_pct, 100, height);
    use ratatui::widgets::{Block, Borders, Clear, Wrap};
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.error)
                .title(Span::styled(format!(" {title} "), t.error)),
        )
        .render(rect, buf);
}

/// An overlay that waits on one answer from a daemon (`docker top`, `docker inspect`): a
/// framed box titled `title` over whatever is under it, saying it is asking until the answer
/// comes, and `failed` with the reason when it failed. The box's inside and the answer, when
/// there is one to draw.
pub(crate) fn answer_box<'a, T>(
    theme: &Theme,
    rect: Rect,
    buf: &mut Buffer,
    title: &str,
    failed: &str,
    answer: &'a Option<Result<T, String>>,
) -> Option<(Rect, &'a T)> {
    use ratatui::widgets::{Block, Borders, Clear, Wrap};
    Clear.render(rect, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(
            crate::model::text::sanitize(title).into_owned(),
            theme.title,
        ));
    let inner = block.inner(rect);
    block.render(rect, buf);
    match answer {
        None => {
            Paragraph::new(Span::styled("asking the daemon…", theme.dim)).render(inner, buf);
            None
        }
        Some(Err(e)) => {
            Paragraph::new(Span::styled(
                format!("{failed}: {}", crate::model::text::sanitize(e)),
                theme.error,
            ))
            .wrap(Wrap { trim: false })
            .render(inner, buf);
            None
        }
        Some(Ok(value)) => Some((inner, value)),
    }
}

/// Human byte sizes: 512B, 1.5K, 3.2M, 7.8G.
pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0}{}", UNITS[unit])
    } else if v < 10.0 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_like_df() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes(24 * 1024 * 1024 * 1024), "24G");
    }
}
