//! The copy menu (`c` on a container): what can go to the clipboard, one number each.
//!
//! ```text
//! ┌ copy from us-east-01/web-1 ──────────────────────────┐
//! │ 1 id  c1000000000000000000000000000000000000000000…  │
//! │ 2 name  us-east-01/web-1                             │
//! │ 3 dockernet: 192.168.2.20                            │
//! │ 4 image  registry.local/shop/web:2.4.1               │
//! │ 1-4 or ↑↓ Enter copy · Esc close                     │
//! └──────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::Screen;
use super::state::CopyMenu;

pub struct CopyMenuOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub menu: &'a CopyMenu,
}

impl Widget for CopyMenuOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let m = self.menu;
        let mut lines: Vec<Line<'_>> = m
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                // An address's label already holds it ("net: 10.0.0.5").
                let text = if item.label.ends_with(&item.value) {
                    item.label.clone()
                } else {
                    format!("{}  {}", item.label, item.value)
                };
                let line = Line::from(vec![
                    Span::styled(format!(" {} ", i + 1), t.key),
                    Span::raw(text),
                ]);
                if i == m.selected {
                    line.style(t.selection)
                } else {
                    line
                }
            })
            .collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" 1-{}", m.items.len()), t.key),
            Span::styled(" or ", t.hint),
            Span::styled("↑↓ Enter", t.key),
            Span::styled(" copy · ", t.hint),
            Span::styled("Esc", t.key),
            Span::styled(" close", t.hint),
        ]));
        let rect = super::centered(area, 70, 100, lines.len() as u16 + 2);
        Clear.render(rect, buf);
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border_focused)
                    .title(Span::styled(format!(" copy from {} ", m.subject), t.title)),
            )
            .render(rect, buf);
    }
}
