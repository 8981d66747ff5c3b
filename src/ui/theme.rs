//! Semantic styles. Widgets ask for `theme.container_unhealthy`, never for a colour, so a theme
//! (or `NO_COLOR`) changes every screen at once.

use ratatui::style::{Color, Modifier, Style};

const ANSI: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub base: Style,
    pub header: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub key: Style,
    pub hint: Style,
    pub selection: Style,
    pub group_header: Style,
    pub dim: Style,
    pub error: Style,
    pub status_message: Style,
    pub endpoint_up: Style,
    pub endpoint_down: Style,
    pub endpoint_connecting: Style,
    pub container_running: Style,
    pub container_exited: Style,
    pub container_exited_nonzero: Style,
    pub container_restarting: Style,
    pub container_paused: Style,
    pub container_healthy: Style,
    pub container_unhealthy: Style,
    /// Rows of an endpoint we cannot hear: last known, not live.
    pub stale: Style,
    pub masked: Style,
    pub event_critical: Style,
    pub event_warning: Style,
    pub event_endpoint: Style,
    pub pool_ok: Style,
    pub pool_warn: Style,
    pub pool_full: Style,
    /// An address held twice, a container on a gateway, overlapping subnets: loud.
    pub pool_conflict: Style,
    pub log_stderr: Style,
    pub log_marker: Style,
    pub search_match: Style,
    pub search_current: Style,
    /// Source tags of merged tails, cycled by source.
    pub source_tags: Vec<Style>,
    /// Honour the colours a log line asks for (SGR), mapped through `ansi`.
    pub log_colors: bool,
    /// The 16 ANSI colours a log line may ask for.
    pub ansi: [Color; 16],
}

impl Theme {
    pub fn dark() -> Self {
        let fg = |c| Style::new().fg(c);
        Self {
            base: Style::new(),
            header: Style::new().fg(Color::Black).bg(Color::Cyan),
            title: Style::new().add_modifier(Modifier::BOLD),
            border: fg(Color::DarkGray),
            border_focused: fg(Color::Cyan),
            key: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            hint: fg(Color::Gray),
            selection: Style::new().add_modifier(Modifier::REVERSED),
            group_header: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            dim: fg(Color::DarkGray),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            status_message: fg(Color::Yellow),
            endpoint_up: fg(Color::Green),
            endpoint_down: fg(Color::Red).add_modifier(Modifier::BOLD),
            endpoint_connecting: fg(Color::Yellow),
            container_running: fg(Color::Green),
            container_exited: fg(Color::Gray),
            container_exited_nonzero: fg(Color::Red),
            container_restarting: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            container_paused: fg(Color::Blue),
            container_healthy: fg(Color::Green),
            container_unhealthy: fg(Color::Red).add_modifier(Modifier::BOLD),
            stale: fg(Color::DarkGray).add_modifier(Modifier::DIM),
            masked: fg(Color::DarkGray),
            event_critical: fg(Color::Red).add_modifier(Modifier::BOLD),
            event_warning: fg(Color::Yellow),
            event_endpoint: fg(Color::Cyan),
            pool_ok: fg(Color::Green),
            pool_warn: fg(Color::Yellow),
            pool_full: fg(Color::Red),
            pool_conflict: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            log_stderr: fg(Color::LightRed),
            log_marker: fg(Color::Cyan).add_modifier(Modifier::ITALIC),
            search_match: Style::new().fg(Color::Black).bg(Color::Yellow),
            search_current: Style::new().fg(Color::Black).bg(Color::LightMagenta),
            source_tags: [
                Color::Cyan,
                Color::Magenta,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::LightRed,
            ]
            .into_iter()
            .map(fg)
            .collect(),
            log_colors: true,
            ansi: ANSI,
        }
    }

    /// `NO_COLOR`: the same meaning carried by modifiers only (bold, reverse, dim).
    pub fn monochrome() -> Self {
        let m = |m| Style::new().add_modifier(m);
        Self {
            base: Style::new(),
            header: m(Modifier::REVERSED),
            title: m(Modifier::BOLD),
            border: Style::new(),
            border_focused: m(Modifier::BOLD),
            key: m(Modifier::BOLD),
            hint: Style::new(),
            selection: m(Modifier::REVERSED),
            group_header: m(Modifier::BOLD | Modifier::UNDERLINED),
            dim: m(Modifier::DIM),
            error: m(Modifier::BOLD),
            status_message: m(Modifier::BOLD),
            endpoint_up: Style::new(),
            endpoint_down: m(Modifier::BOLD),
            endpoint_connecting: m(Modifier::ITALIC),
            container_running: Style::new(),
            container_exited: m(Modifier::DIM),
            container_exited_nonzero: m(Modifier::BOLD),
            container_restarting: m(Modifier::BOLD),
            container_paused: m(Modifier::ITALIC),
            container_healthy: Style::new(),
            container_unhealthy: m(Modifier::BOLD | Modifier::UNDERLINED),
            stale: m(Modifier::DIM),
            masked: m(Modifier::DIM),
            event_critical: m(Modifier::BOLD),
            event_warning: m(Modifier::UNDERLINED),
            event_endpoint: m(Modifier::ITALIC),
            pool_ok: Style::new(),
            pool_warn: m(Modifier::UNDERLINED),
            pool_full: m(Modifier::BOLD),
            pool_conflict: m(Modifier::REVERSED | Modifier::BOLD),
            log_stderr: m(Modifier::BOLD),
            log_marker: m(Modifier::ITALIC),
            search_match: m(Modifier::REVERSED),
            search_current: m(Modifier::REVERSED | Modifier::BOLD),
            source_tags: vec![m(Modifier::BOLD)],
            log_colors: false,
            ansi: ANSI,
        }
    }

    /// The theme for this process: monochrome when `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Self {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Self::monochrome(),
            _ => Self::dark(),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monochrome_uses_no_colours_at_all() {
        let t = Theme::monochrome();
        let styles = [
            t.header,
            t.selection,
            t.endpoint_down,
            t.container_unhealthy,
            t.stale,
            t.error,
        ];
        for s in styles {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
    }
}
