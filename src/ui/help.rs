//! The `?` overlay, generated from the same keymap table that dispatches keys, so it cannot
//! drift from what the keys do.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::{Screen, centered};

pub struct HelpOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

impl Widget for HelpOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let mut lines = Vec::new();
        for section in self.screen.help {
            lines.push(Line::styled(section.title.clone(), t.title));
            for h in &section.hints {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<12}", h.key), t.key),
                    Span::styled(h.action.clone(), t.hint),
                ]));
            }
        }
        let height = (lines.len() as u16).saturating_add(2);
        let rect = centered(area, 70, 64, height);
        Clear.render(rect, buf);
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border_focused)
                    .title(Span::styled(" keys · ? or Esc to close ", t.title)),
            )
            .render(rect, buf);
    }
}
