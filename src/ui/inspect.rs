//! The inspect overlay (`i`): `docker inspect` of one container (or endpoint, network, Swarm
//! node or service) as pretty JSON, folded by top-level key, with a cursor row; scrollable and
//! searchable, env values masked until `M`.
//!
//! ```text
//! ┌ inspect · container web-1 on lab1 · env masked · 1-5/25 · Esc closes ┐
//! │{                                                                    │
//! │  "Id": "c1000000000000000000000000000000000000000000000000000000",  │
//! │▸ "State": {…} 14 lines                                              │
//! │▾ "Config": {                       ← the cursor row, highlighted     │
//! │    "Env": [                                                         │
//! │      "DB_PASSWORD=••••",                                            │
//! │  …                                                                  │
//! └─────────────────────────────────────────────────────────────────────┘
//! ```
//! Lines were sanitised when the document was made (`model::inspect`), and which rows show
//! what is the model's [`Folding`](crate::model::inspect::Folding); they are drawn as cells,
//! a line wider than the overlay cut with `…`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::state::InspectView;
use super::{Screen, unicode_width};

pub struct InspectOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub inspect: &'a InspectView,
}

impl Widget for InspectOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let v = self.inspect;
        // A narrow terminal gives the JSON every column: a 64-digit id line needs 75.
        let percent = if area.width < 120 { 100 } else { 96 };
        let rect = super::centered(area, percent, 200, area.height);
        // Only a document with env values (a container's, a service's) has anything to mask.
        let env = match &v.doc {
            Some(Ok(doc)) if doc.has_env() && v.show_env => " · env shown",
            Some(Ok(doc)) if doc.has_env() => " · env masked",
            _ => "",
        };
        let page = usize::from(rect.height.saturating_sub(2));
        let place = match &v.doc {
            Some(Ok(doc)) if !doc.is_empty() => {
                let rows = v.folding.rows(doc);
                format!(" · {}-{}/{rows}", v.top + 1, (v.top + page).min(rows))
            }
            _ => String::new(),
        };
        let title = format!(" inspect · {}{env}{place} · Esc closes ", v.subject);
        let Some((inner, doc)) =
            super::answer_box(t, rect, buf, &title, "docker inspect failed", &v.doc)
        else {
            return;
        };
        let width = usize::from(inner.width);
        for row in 0..inner.height {
            let r = v.top + usize::from(row);
            let Some(line) = v.folding.row_text(doc, r, v.show_env) else {
                break;
            };
            let y = inner.y + row;
            let style = if v.current_match.is_some() && v.folding.line_at(doc, r) == v.current_match
            {
                t.search_current
            } else if r == v.cursor {
                // The whole row, so the cursor shows on a short line too.
                buf.set_style(Rect::new(inner.x, y, inner.width, 1), t.selection);
                t.selection
            } else {
                t.base
            };
            if unicode_width(&line) > width && width > 0 {
                buf.set_stringn(inner.x, y, &line, width - 1, style);
                buf.set_stringn(inner.right() - 1, y, "…", 1, t.dim);
            } else {
                buf.set_stringn(inner.x, y, &line, width, style);
            }
        }
    }
}
