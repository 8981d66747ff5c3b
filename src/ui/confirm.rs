//! The confirmation of a destructive action: names every container and endpoint it would
//! touch, says which will be refused (read-only) and what else will happen (a running container
//! an rm would meet), and waits for y.
//!
//! ```text
//! ┌ restart 3 containers on 2 endpoints ───────────────┐
//! │  lab1/web-1 (running)                              │
//! │  lab2/web-1 (running)                              │
//! │  lab3/db (exited) - refused: endpoint lab3 is read-only │
//! │ y yes · n no                                       │
//! └────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::state::Confirm;
use super::{Screen, centered};
use crate::model::actions::{Action, plan_headline, plan_line};

pub struct ConfirmDialog<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub confirm: &'a Confirm,
}

impl Widget for ConfirmDialog<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let c = self.confirm;
        let mut title = plan_headline(&c.action, &c.items);
        if c.rolling {
            title = format!("rolling {title}, one at a time, waiting for health");
        }
        let mut lines: Vec<Line<'_>> = Vec::new();
        let max = usize::from(area.height.saturating_sub(6)).max(1);
        for item in c.items.iter().take(max) {
            let style = if item.read_only { t.dim } else { t.base };
            lines.push(Line::styled(
                format!("  {}", plan_line(&c.action, item)),
                style,
            ));
        }
        if c.items.len() > max {
            lines.push(Line::styled(
                format!("  … and {} more", c.items.len() - max),
                t.dim,
            ));
        }
        let extra = match &c.action {
            Action::Kill { signal } => format!(" · Tab signal ({signal})"),
            Action::Remove { volumes, .. } => {
                format!(
                    " · Tab volumes ({})",
                    if *volumes { "removed too" } else { "kept" }
                )
            }
            _ => String::new(),
        };
        let no = format!(" no{extra}");
        yes_no_dialog(t, &title, lines, (" yes · ", &no), (80, 0), area, buf);
    }
}

/// A y/n dialog in the error frame: `lines`, then the answer line, centred; `extra_height`
/// rows are kept for lines that wrap.
pub fn yes_no_dialog(
    t: &crate::ui::Theme,
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
