//! The inspect overlay (`i`): `docker inspect` of one container as pretty JSON, scrollable and
//! searchable, `Config.Env` values masked until `M`.
//!
//! ```text
//! ┌ inspect · web-1 on lab1 · env masked (M) · 1-20/212 · Esc closes ──┐
//! │{                                                                    │
//! │  "AppArmorProfile": "docker-default",                               │
//! │  "Config": {                                                        │
//! │    "Env": [                                                         │
//! │      "DB_PASSWORD=••••",                                            │
//! │  …                                                                  │
//! └─────────────────────────────────────────────────────────────────────┘
//! ```
//! Lines were sanitised when the document was made (`model::inspect`) and are drawn as cells;
//! a line wider than the overlay is cut with `…`.

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
        let env = if v.show_env {
            "env shown"
        } else {
            "env masked"
        };
        let page = usize::from(rect.height.saturating_sub(2));
        let place = match &v.doc {
            Some(Ok(doc)) if !doc.is_empty() => format!(
                " · {}-{}/{}",
                v.top + 1,
                (v.top + page).min(doc.len()),
                doc.len()
            ),
            _ => String::new(),
        };
        let title = format!(
            " inspect · {} on {} · {env}{place} · Esc closes ",
            v.container, v.endpoint
        );
        let Some((inner, doc)) =
            super::answer_box(t, rect, buf, &title, "docker inspect failed", &v.doc)
        else {
            return;
        };
        let width = usize::from(inner.width);
        for row in 0..inner.height {
            let i = v.top + usize::from(row);
            let Some(line) = doc.line(i, v.show_env) else {
                break;
            };
            let style = if v.current_match == Some(i) {
                t.search_current
            } else {
                t.base
            };
            let y = inner.y + row;
            if unicode_width(&line) > width && width > 0 {
                buf.set_stringn(inner.x, y, &line, width - 1, style);
                buf.set_stringn(inner.right() - 1, y, "…", 1, t.dim);
            } else {
                buf.set_stringn(inner.x, y, &line, width, style);
            }
        }
    }
}
