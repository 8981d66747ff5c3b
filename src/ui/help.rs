//! The `?` overlay, generated from the same keymap table that dispatches keys, so it cannot
//! drift from what the keys do.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::{Screen, centered};

pub struct HelpOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

impl Widget for HelpOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let section_lines = |section: &crate::ui::HelpSection| {
            let mut lines = vec![Line::styled(section.title.clone(), t.title)];
            for h in &section.hints {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<13}", h.key), t.key),
                    Span::styled(h.action.clone(), t.hint),
                ]));
            }
            lines
        };
        let all: Vec<Line<'_>> = self.screen.help.iter().flat_map(section_lines).collect();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focused)
            .title(Span::styled(" keys · any key closes ", t.title));
        // One column when it fits, else two, split between sections (80x24 needs two).
        if all.len() as u16 + 2 <= area.height {
            let rect = centered(area, 70, 64, all.len() as u16 + 2);
            Clear.render(rect, buf);
            Paragraph::new(all).block(block).render(rect, buf);
            return;
        }
        let half = all.len().div_ceil(2);
        let mut left = Vec::new();
        let mut right = Vec::new();
        for section in self.screen.help {
            let lines = section_lines(section);
            if right.is_empty() && (left.len() + lines.len() <= half || left.is_empty()) {
                left.extend(lines);
            } else {
                right.extend(lines);
            }
        }
        let height = left.len().max(right.len()) as u16 + 2;
        let rect = centered(area, 96, 110, height);
        Clear.render(rect, buf);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        Paragraph::new(left).render(l, buf);
        Paragraph::new(right).render(r, buf);
    }
}
