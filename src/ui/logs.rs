//! The log view: a tail of one container, or several merged by timestamp with a coloured tag
//! per source.
//!
//! ```text
//! ┌ Logs · lab1/web-1 · 1,234 lines · following · search "err" 3/17 ──────────────────┐
//! │starting server on :8080                                                            │
//! │E connection refused (stderr, in the stderr style)                                   │
//! │── container restarted ──                                                           │
//! └────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Text is already clean (see `model::text::clean_terminal_text`); colours a line asked for are
//! mapped through the theme; search matches are highlighted.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::state::LogView;
use super::{Screen, Theme};
use crate::model::logs::{LogLine, LogStream, Search};

pub struct LogsView<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub logs: Option<&'a LogView>,
}

/// Style of each byte range of a line: SGR colours, then search matches on top.
fn styled_line<'a>(
    line: &'a LogLine,
    base: Style,
    theme: &Theme,
    search: Option<&Search>,
    current: bool,
) -> Vec<Span<'a>> {
    let text = line.text.as_str();
    // Boundaries where the style may change.
    let mut cuts = vec![0, text.len()];
    if theme.log_colors {
        for s in &line.sgr {
            cuts.extend([s.start, s.end]);
        }
    }
    let matches = search.map(|s| s.find_all(text)).unwrap_or_default();
    for (a, b) in &matches {
        cuts.extend([*a, *b]);
    }
    cuts.retain(|c| *c <= text.len() && text.is_char_boundary(*c));
    cuts.sort_unstable();
    cuts.dedup();
    let mut spans = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a == b {
            continue;
        }
        let mut style = base;
        if theme.log_colors
            && let Some(s) = line.sgr.iter().find(|s| s.start <= a && b <= s.end)
        {
            if let Some(fg) = s.fg {
                style = style.fg(theme.ansi[usize::from(fg.min(15))]);
            }
            if s.bold {
                style = style.add_modifier(Modifier::BOLD);
            }
        }
        if matches.iter().any(|(ma, mb)| *ma <= a && b <= *mb) {
            style = if current {
                theme.search_current
            } else {
                theme.search_match
            };
        }
        spans.push(Span::styled(&text[a..b], style));
    }
    spans
}

impl Widget for LogsView<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.screen;
        let t = s.theme;
        let Some(view) = self.logs else {
            let inner = super::view_frame(area, buf, t, Span::styled(" Logs ", t.title));
            Paragraph::new(Span::styled(
                "no log tail open: select a container and press l (or mark several with Space)",
                t.dim,
            ))
            .render(inner, buf);
            return;
        };
        let b = &view.buffer;
        let sources: Vec<&str> = b.sources.iter().map(|s| s.tag.as_str()).collect();
        let shown = view.shown();
        let mut title = format!(" Logs · {} · {} lines", sources.join(", "), b.len());
        if b.dropped > 0 {
            title.push_str(&format!(" ({} older dropped)", b.dropped));
        }
        title.push_str(if view.follow {
            " · following"
        } else {
            " · paused (f to follow)"
        });
        if let Some(search) = &view.search {
            let matches = b.matches(search);
            let pos = view
                .current_match
                .and_then(|c| matches.iter().position(|m| *m == c))
                .map_or("-".to_string(), |p| (p + 1).to_string());
            title.push_str(&format!(
                " · search \"{}\" {pos}/{}",
                search.pattern(),
                matches.len()
            ));
            if view.filter_mode {
                title.push_str(" · matching only");
            }
        }
        // Lines marked for copying (`v`): from the mark to the current line.
        let marked = view
            .mark
            .zip(view.current_line())
            .map(|(a, b)| a.min(b)..=a.max(b));
        if let Some(range) = &marked {
            title.push_str(&format!(
                " · {} lines marked (c copies)",
                range.end() - range.start() + 1
            ));
        }
        title.push(' ');
        let inner = super::view_frame(area, buf, t, Span::styled(title, t.title));

        let height = usize::from(inner.height);
        let merged = b.sources.len() > 1;
        let build = |idx: usize| -> Line<'_> {
            let Some(line) = b.get(idx) else {
                return Line::default();
            };
            let mut spans = Vec::new();
            if view.timestamps
                && let Some(at) = line.at
            {
                spans.push(Span::styled(
                    at.with_timezone(&Local).format("%H:%M:%S%.3f ").to_string(),
                    t.dim,
                ));
            }
            if merged && let Some(src) = b.sources.get(line.source) {
                let tag_style = t.source_tags[line.source % t.source_tags.len().max(1)];
                spans.push(Span::styled(format!("{} ", src.tag), tag_style));
            }
            let base = match line.stream {
                LogStream::Stderr => {
                    spans.push(Span::styled("E ", t.log_stderr));
                    t.log_stderr
                }
                LogStream::Marker => t.log_marker,
                _ => t.base,
            };
            spans.extend(styled_line(
                line,
                base,
                t,
                view.search.as_ref(),
                view.current_match == Some(idx),
            ));
            let line = Line::from(spans);
            if marked.as_ref().is_some_and(|r| r.contains(&idx)) {
                line.style(t.selection)
            } else {
                line
            }
        };
        // Rows a line takes: what decides how many lines fit. Counted by the same word wrapper
        // that draws them (a guess from the line's width comes out short when words wrap early).
        let rows_of = |line: &Line<'_>| -> usize {
            if view.wrap {
                Paragraph::new(line.clone())
                    .wrap(Wrap { trim: false })
                    .line_count(inner.width.max(1))
                    .max(1)
            } else {
                1
            }
        };
        let mut lines: Vec<Line<'_>> = Vec::new();
        // Wrapped rows hidden above the view.
        let mut scroll = 0;
        if view.follow {
            let mut used = 0;
            for &idx in shown.iter().rev() {
                if used >= height {
                    break;
                }
                let line = build(idx);
                used += rows_of(&line);
                lines.push(line);
            }
            lines.reverse();
            // The oldest line shown may not fit whole: its first rows go above the view, so the
            // newest line ends on the bottom row with nothing blank under it.
            scroll = used.saturating_sub(height);
        } else {
            let mut used = 0;
            for &idx in shown.iter().skip(view.top) {
                let line = build(idx);
                used += rows_of(&line);
                lines.push(line);
                if used >= height {
                    break;
                }
            }
        }
        let mut p = Paragraph::new(lines).scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
        if view.wrap {
            p = p.wrap(Wrap { trim: false });
        }
        p.render(inner, buf);
    }
}
