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
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::state::Confirm;
use super::{Screen, yes_no_dialog};
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
