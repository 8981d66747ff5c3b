//! The processes overlay (`t`): `docker top` of one container, refreshed every 2 s.
//!
//! ```text
//! ┌ processes · web-1 on lab1 · 2 · every 2s · Esc closes ─────────┐
//! │UID   PID    PPID   C  STIME  TTY  TIME      CMD                │
//! │root  41822  41801  0  12:00  ?    00:00:00  sleep 4242         │
//! │root  41900  41822  0  12:01  ?    00:00:00  sh -c date         │
//! └────────────────────────────────────────────────────────────────┘
//! ```
//! Every column but the last (the command) is as wide as its widest value; the command takes
//! the rest. Cells were sanitised when they arrived (`model::top`), and are drawn as cells.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::state::ProcessesView;
use super::{Screen, unicode_width};

pub struct ProcessesOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
    pub processes: &'a ProcessesView,
}

impl Widget for ProcessesOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.screen.theme;
        let p = self.processes;
        let count = match &p.table {
            Some(Ok(table)) => format!(" · {}", table.rows.len()),
            _ => String::new(),
        };
        let title = format!(
            " processes · {} on {}{count} · every {}s · Esc closes ",
            p.container,
            p.endpoint,
            crate::model::top::REFRESH.as_secs()
        );
        let rows = match &p.table {
            Some(Ok(table)) => table.rows.len() + 1,
            _ => 1,
        };
        let rect = super::centered(area, 96, 160, rows as u16 + 2);
        let Some((inner, table)) =
            super::answer_box(t, rect, buf, &title, "docker top failed", &p.table)
        else {
            return;
        };
        let columns = table.titles.len();
        let mut widths: Vec<usize> = table.titles.iter().map(|s| unicode_width(s)).collect();
        for row in &table.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(unicode_width(cell));
            }
        }
        let draw = |y: u16, cells: &[String], style: Style, buf: &mut Buffer| {
            let mut x = inner.x;
            for (i, cell) in cells.iter().enumerate().take(columns) {
                if x >= inner.right() {
                    break;
                }
                let room = usize::from(inner.right() - x);
                // The last column (the command) takes whatever is left.
                let width = if i + 1 == columns {
                    room
                } else {
                    widths[i].min(room)
                };
                buf.set_stringn(x, y, cell, width, style);
                x = x.saturating_add(width as u16 + 1);
            }
        };
        if inner.height == 0 {
            return;
        }
        draw(inner.y, &table.titles, t.title, buf);
        for (line, row) in table
            .rows
            .iter()
            .take(usize::from(inner.height - 1))
            .enumerate()
        {
            draw(inner.y + 1 + line as u16, row, t.base, buf);
        }
    }
}
