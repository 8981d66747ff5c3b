//! Semantic styles. Widgets ask for `theme.container_unhealthy`, never for a colour, so a theme
//! (or `NO_COLOR`) changes every screen at once.
//!
//! Themes come from TOML files (`themes/*.toml`), read by `config::theme` into plain values
//! (a key and a `Style` each) that the UI lays over [`Theme::dark`]; this module imports
//! nothing else from the crate. Every file key is one row of [`STYLE_KEYS`], which maps it to
//! its field (the config's table of key names is tested to match it).
//! `NO_COLOR` wins over any theme: see [`Theme::monochrome_if`].

use std::collections::BTreeMap;

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

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A container that died with a non-zero exit code, in the events view.
    pub event_die_nonzero: Style,
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
    /// Per-cluster frame styles in the clusters view (`[ui] cluster_border` in the config), so
    /// that production looks different at a glance. Not part of theme files.
    pub cluster_borders: BTreeMap<String, Style>,
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
            event_die_nonzero: fg(Color::Red).add_modifier(Modifier::BOLD),
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
            cluster_borders: BTreeMap::new(),
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
            event_die_nonzero: m(Modifier::BOLD),
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
            cluster_borders: BTreeMap::new(),
        }
    }

    /// The default theme for this process: [`Theme::dark`], or monochrome under `NO_COLOR`.
    pub fn from_env() -> Self {
        Self::dark().unless_no_color()
    }

    /// This theme, unless `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
    pub fn unless_no_color(self) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        self.monochrome_if(no_color)
    }

    /// With `no_color`, the monochrome theme replaces this one whatever it was: the operator's
    /// wish for no colour outranks any theme file. Per-cluster frames keep only their modifiers,
    /// so a bold frame on prod stays bold.
    pub fn monochrome_if(self, no_color: bool) -> Self {
        if !no_color {
            return self;
        }
        let cluster_borders = self
            .cluster_borders
            .into_iter()
            .map(|(cluster, s)| {
                let style = Style::new()
                    .add_modifier(s.add_modifier)
                    .remove_modifier(s.sub_modifier);
                (cluster, style)
            })
            .collect();
        Self {
            cluster_borders,
            ..Self::monochrome()
        }
    }

    /// The frame style configured for a cluster, if any.
    pub fn cluster_border(&self, cluster: &str) -> Option<Style> {
        self.cluster_borders.get(cluster).copied()
    }

    /// The frame of a cluster's block: its own style when configured (bold when focused, so
    /// focus still shows on a red prod frame), else the theme's border.
    pub fn cluster_frame(&self, cluster: &str, focused: bool) -> Style {
        match (self.cluster_border(cluster), focused) {
            (Some(style), true) => style.add_modifier(Modifier::BOLD),
            (Some(style), false) => style,
            (None, true) => self.border_focused,
            (None, false) => self.border,
        }
    }
}

/// One semantic style of a theme: its key in theme files and the field it sets.
#[derive(Clone, Copy)]
pub struct StyleKey {
    pub name: &'static str,
    pub get: fn(&Theme) -> &Style,
    pub get_mut: fn(&mut Theme) -> &mut Style,
}

impl std::fmt::Debug for StyleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! style_keys {
    ($($name:literal => $field:ident),* $(,)?) => {
        /// Every `Style` field of [`Theme`] and its key in theme files, in the order the files
        /// and the error messages list them.
        pub const STYLE_KEYS: &[StyleKey] = &[$(StyleKey {
            name: $name,
            get: |t| &t.$field,
            get_mut: |t| &mut t.$field,
        }),*];
    };
}

style_keys! {
    "base" => base,
    "header" => header,
    "title" => title,
    "border" => border,
    "border.focused" => border_focused,
    "key" => key,
    "hint" => hint,
    "selection" => selection,
    "group.header" => group_header,
    "dim" => dim,
    "error" => error,
    "status.message" => status_message,
    "endpoint.up" => endpoint_up,
    "endpoint.down" => endpoint_down,
    "endpoint.connecting" => endpoint_connecting,
    "container.running" => container_running,
    "container.exited" => container_exited,
    "container.exited_nonzero" => container_exited_nonzero,
    "container.restarting" => container_restarting,
    "container.paused" => container_paused,
    "container.healthy" => container_healthy,
    "container.unhealthy" => container_unhealthy,
    "stale" => stale,
    "masked" => masked,
    "event.critical" => event_critical,
    "event.die_nonzero" => event_die_nonzero,
    "event.warning" => event_warning,
    "event.endpoint" => event_endpoint,
    "pool.ok" => pool_ok,
    "pool.warn" => pool_warn,
    "pool.full" => pool_full,
    "pool.conflict" => pool_conflict,
    "log.stderr" => log_stderr,
    "log.marker" => log_marker,
    "search.match" => search_match,
    "search.current" => search_current,
}

impl StyleKey {
    pub fn find(name: &str) -> Option<&'static StyleKey> {
        STYLE_KEYS.iter().find(|k| k.name == name)
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

    /// Marks every key's field with its own colour, then takes the theme apart field by field:
    /// a `Style` field without a key keeps its dark value and fails; a new field fails to
    /// compile here until it is listed, and so until it gets a key.
    #[test]
    fn every_style_field_has_exactly_one_key() {
        let mut t = Theme::dark();
        for (i, key) in STYLE_KEYS.iter().enumerate() {
            *(key.get_mut)(&mut t) = Style::new().bg(Color::Indexed(i as u8));
        }
        let Theme {
            base,
            header,
            title,
            border,
            border_focused,
            key,
            hint,
            selection,
            group_header,
            dim,
            error,
            status_message,
            endpoint_up,
            endpoint_down,
            endpoint_connecting,
            container_running,
            container_exited,
            container_exited_nonzero,
            container_restarting,
            container_paused,
            container_healthy,
            container_unhealthy,
            stale,
            masked,
            event_critical,
            event_die_nonzero,
            event_warning,
            event_endpoint,
            pool_ok,
            pool_warn,
            pool_full,
            pool_conflict,
            log_stderr,
            log_marker,
            search_match,
            search_current,
            source_tags: _,
            log_colors: _,
            ansi: _,
            cluster_borders: _,
        } = &t;
        let fields = [
            base,
            header,
            title,
            border,
            border_focused,
            key,
            hint,
            selection,
            group_header,
            dim,
            error,
            status_message,
            endpoint_up,
            endpoint_down,
            endpoint_connecting,
            container_running,
            container_exited,
            container_exited_nonzero,
            container_restarting,
            container_paused,
            container_healthy,
            container_unhealthy,
            stale,
            masked,
            event_critical,
            event_die_nonzero,
            event_warning,
            event_endpoint,
            pool_ok,
            pool_warn,
            pool_full,
            pool_conflict,
            log_stderr,
            log_marker,
            search_match,
            search_current,
        ];
        let mut marks: Vec<u8> = fields
            .iter()
            .map(|s| match s.bg {
                Some(Color::Indexed(i)) => i,
                _ => panic!("a field without a key: {s:?}"),
            })
            .collect();
        marks.sort_unstable();
        marks.dedup();
        assert_eq!(marks.len(), fields.len(), "two keys set the same field");
        assert_eq!(STYLE_KEYS.len(), fields.len());
    }

    #[test]
    fn a_cluster_frame_is_its_own_colour_and_bold_when_focused() {
        let mut t = Theme::dark();
        t.cluster_borders
            .insert("prod-us".into(), Style::new().fg(Color::Red));
        assert_eq!(
            t.cluster_frame("prod-us", false),
            Style::new().fg(Color::Red)
        );
        assert_eq!(
            t.cluster_frame("prod-us", true),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        );
        assert_eq!(t.cluster_frame("lab", true), t.border_focused);
        assert_eq!(t.cluster_frame("lab", false), t.border);
    }
}
