//! The shell pane, under the current view:
//!
//! ```text
//! ┌ Containers ·································································┐
//! │ (the view, still live)                                                         │
//! └────────────────────────────────────────────────────────────────────────────────┘
//! ┌ 1 lab1/web ● │ 2 lab3 (host) exited 0 ─────────────── Ctrl-] dashboard ─────────┐
//! │ / # stty size                                                                  │
//! │ 11 78                                                                          │
//! └────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! The terminal's cells come from the shell's emulator. Only cells reach the real terminal:
//! each cell's text is sanitised again here, so nothing a container prints can become an
//! escape sequence on the operator's screen.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use tui_term::widget::PseudoTerminal;

use super::Theme;
use crate::model::shell::{ShellState, Shells};

/// Splits the dashboard's body into the view (top) and the shell pane (bottom, `percent` of
/// the height, at least 5 rows so a prompt always fits).
pub fn split(body: Rect, percent: u16) -> (Rect, Rect) {
    let pane = (u32::from(body.height) * u32::from(percent) / 100) as u16;
    let pane = pane.max(5).min(body.height);
    let [view, pane] = Layout::vertical([Constraint::Min(0), Constraint::Length(pane)]).areas(body);
    (view, pane)
}

/// The terminal inside the pane: its border taken off.
pub fn terminal_area(pane: Rect) -> Rect {
    Block::default().borders(Borders::ALL).inner(pane)
}

/// The pane's tabs as its title draws them: each tab's span, with a `│` between two.
fn tab_spans(shells: &Shells, t: &Theme) -> Vec<Span<'static>> {
    let mut tabs: Vec<Span> = Vec::new();
    for (i, p) in shells.panes.iter().enumerate() {
        if i > 0 {
            tabs.push(Span::styled("│", t.border));
        }
        let marker = match &p.state {
            ShellState::Running => " ●".to_string(),
            ShellState::Starting => " …".to_string(),
            other => format!(" {}", other.label()),
        };
        let style = if i == shells.active {
            t.header.add_modifier(Modifier::REVERSED)
        } else {
            t.hint
        };
        // The title carries container and endpoint names: sanitised like every name.
        let title = crate::model::text::sanitize(&p.title);
        tabs.push(Span::styled(format!(" {} {title}{marker} ", i + 1), style));
    }
    tabs
}

/// The tab whose title the pane drawn in `pane` shows at (`x`, `y`), for a click.
pub fn tab_at(shells: &Shells, pane: Rect, x: u16, y: u16) -> Option<usize> {
    if y != pane.y || shells.panes.is_empty() {
        return None;
    }
    // The title starts after the top-left corner.
    let mut left = usize::from(pane.x) + 1;
    let x = usize::from(x);
    let theme = Theme::default();
    for (n, span) in tab_spans(shells, &theme).iter().enumerate() {
        let right = left + span.width();
        // Every other span is a separator; tab i is span 2i.
        if n % 2 == 0 && (left..right).contains(&x) {
            return Some(n / 2);
        }
        left = right;
    }
    None
}

pub struct ShellPaneView<'a> {
    pub shells: &'a Shells,
    pub theme: &'a Theme,
    /// The label of the focus key, for the title ("Ctrl-]").
    pub focus_key: &'a str,
    /// The label of the key that closes a tab ("Ctrl-W").
    pub close_key: &'a str,
    /// The pane's share of the body, in percent.
    pub shell_percent: u16,
}

impl Widget for &ShellPaneView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let tabs = tab_spans(self.shells, t);
        let hint = if self.shells.focused {
            format!(" {} dashboard ", self.focus_key)
        } else {
            format!(" {} shell ", self.focus_key)
        };
        let border = if self.shells.focused {
            t.border_focused
        } else {
            t.border
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Line::from(tabs))
            .title_top(Line::from(Span::styled(hint, t.key)).right_aligned());
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(pane) = self.shells.active() else {
            return;
        };
        let screen = pane.emulator.screen();
        let term = PseudoTerminal::new(screen).cursor(
            tui_term::widget::Cursor::default()
                .visibility(self.shells.focused && pane.state.is_live()),
        );
        term.render(inner, buf);
        sanitize_cells(inner, buf);
        if !pane.state.is_live() {
            let line = format!(
                " {}: {} · {} closes the tab ",
                crate::model::text::sanitize(&pane.title),
                crate::model::text::sanitize(&pane.state.label()),
                self.close_key
            );
            let style = match pane.state {
                ShellState::Exited(Some(0)) => t.status_message,
                _ => t.error,
            };
            let bottom = Rect {
                y: inner.bottom().saturating_sub(1),
                height: 1.min(inner.height),
                ..inner
            };
            Paragraph::new(Span::styled(line, style)).render(bottom, buf);
        }
    }
}

/// The last line of defence: any cell whose text holds a control character (or a bidi
/// override) gets the visible stand-in instead.
fn sanitize_cells(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            if let std::borrow::Cow::Owned(clean) = crate::model::text::sanitize(cell.symbol()) {
                cell.set_symbol(&clean);
            }
        }
    }
}
