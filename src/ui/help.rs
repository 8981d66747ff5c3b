//! The `?` overlay, generated from the same keymap table that dispatches keys, so it cannot
//! drift from what the keys do.
//!
//! ```text
//! ┌ keys · any key closes ─────────────────────────────────────────────────────┐
//! │Everywhere                            Containers view                        │
//! │ q/Ctrl-c    quit                      /     filter                          │
//! │ :           command (:containers       d     deploy / update / finish       │
//! │             @prod)                           cut-short                      │
//! └─────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Sections flow down as many columns as the screen needs; an action too long for its column
//! wraps under itself rather than running into the border, so every hint is read whole.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::{HelpSection, Screen, Theme, unicode_width};

const TITLE: &str = " keys · any key closes ";
/// Blank cells between two columns.
const GAP: usize = 2;
/// Narrower columns would wrap nearly every action.
const MIN_COLUMN: usize = 24;
const MAX_COLUMNS: usize = 4;

pub struct HelpOverlay<'a, 'b> {
    pub screen: &'a Screen<'b>,
}

/// Whether `sections` fit whole in `area`: the app shows the whole keymap when they do, else
/// the current place's keys.
pub fn fits(sections: &[HelpSection], area: Rect) -> bool {
    arrange(sections, area).is_some_and(|a| a.whole)
}

impl Widget for HelpOverlay<'_, '_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(arrangement) = arrange(self.screen.help, area) else {
            return;
        };
        let t = self.screen.theme;
        let height = arrangement.columns.iter().map(Vec::len).max().unwrap_or(0) + 2;
        let width = arrangement.inner_width + 2;
        let rect = Rect {
            x: area.x + (area.width.saturating_sub(width as u16)) / 2,
            y: area.y + (area.height.saturating_sub(height as u16)) / 2,
            width: (width as u16).min(area.width),
            height: (height as u16).min(area.height),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focused)
            .title(Span::styled(TITLE, t.title));
        Clear.render(rect, buf);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let mut x = inner.x;
        for column in arrangement.columns {
            let col = Rect {
                x,
                width: (arrangement.column_width as u16).min(inner.right().saturating_sub(x)),
                ..inner
            };
            let lines: Vec<Line<'_>> = column.iter().map(|l| l.styled(t)).collect();
            Paragraph::new(lines).render(col, buf);
            x = x.saturating_add((arrangement.column_width + GAP) as u16);
        }
    }
}

/// One screen line of the overlay, not yet styled.
#[derive(Debug, Clone)]
enum HelpLine {
    Title(String),
    /// A hint's key (blank on a wrapped continuation), padded to `key_width`, and (part of)
    /// its action.
    Hint {
        key: String,
        key_width: usize,
        action: String,
    },
}

impl HelpLine {
    fn styled(&self, t: &Theme) -> Line<'static> {
        match self {
            HelpLine::Title(title) => Line::styled(title.clone(), t.title),
            HelpLine::Hint {
                key,
                key_width,
                action,
            } => {
                let pad = key_width.saturating_sub(unicode_width(key));
                Line::from(vec![
                    Span::styled(format!(" {key}{} ", " ".repeat(pad)), t.key),
                    Span::styled(action.clone(), t.hint),
                ])
            }
        }
    }
}

struct Arrangement {
    columns: Vec<Vec<HelpLine>>,
    column_width: usize,
    inner_width: usize,
    /// Every line is on screen (else the bottom of the last column is cut).
    whole: bool,
}

/// The fewest columns in which every hint fits whole; if none do, the widest arrangement the
/// screen allows, cut at the bottom.
fn arrange(sections: &[HelpSection], area: Rect) -> Option<Arrangement> {
    let max_inner = usize::from(area.width).checked_sub(2)?;
    let max_rows = usize::from(area.height).checked_sub(2)?;
    if max_inner == 0 || max_rows == 0 {
        return None;
    }
    let natural = sections
        .iter()
        .map(|s| {
            let kw = key_width(s);
            s.hints
                .iter()
                .map(|h| 2 + kw + unicode_width(&h.action))
                .chain([unicode_width(&s.title)])
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
        .max(unicode_width(TITLE) + 2);
    let mut widest = None;
    for n in 1..=MAX_COLUMNS {
        let inner_width = (n * natural + (n - 1) * GAP).min(max_inner);
        let column_width = (inner_width - (n - 1) * GAP) / n;
        if n > 1 && column_width < MIN_COLUMN {
            break;
        }
        let blocks = blocks(sections, column_width);
        let total: usize = blocks.iter().map(Vec::len).sum();
        let shortest = (total.div_ceil(n)..=max_rows).find_map(|rows| flow(&blocks, n, rows));
        if let Some(columns) = shortest {
            return Some(Arrangement {
                columns,
                column_width,
                inner_width,
                whole: true,
            });
        }
        widest = Some((n, column_width, inner_width, blocks));
    }
    let (n, column_width, inner_width, blocks) = widest?;
    // Cut: fill the columns in order, as many lines as there is room for.
    let lines: Vec<HelpLine> = blocks.into_iter().flatten().collect();
    let columns = lines
        .chunks(max_rows)
        .take(n)
        .map(<[HelpLine]>::to_vec)
        .collect();
    Some(Arrangement {
        columns,
        column_width,
        inner_width,
        whole: false,
    })
}

fn key_width(section: &HelpSection) -> usize {
    section
        .hints
        .iter()
        .map(|h| unicode_width(&h.key))
        .max()
        .unwrap_or(0)
}

/// The lines that must stay together in one column: a hint with its wrapped continuation
/// lines, and a section's title with its first hint (a title never ends a column).
fn blocks(sections: &[HelpSection], width: usize) -> Vec<Vec<HelpLine>> {
    let mut out = Vec::new();
    for section in sections {
        let kw = key_width(section);
        let room = width.saturating_sub(2 + kw).max(1);
        let mut first = vec![HelpLine::Title(section.title.clone())];
        let mut pending_title = true;
        for hint in &section.hints {
            let mut block: Vec<HelpLine> = wrap(&hint.action, room)
                .into_iter()
                .enumerate()
                .map(|(i, action)| HelpLine::Hint {
                    key: if i == 0 {
                        hint.key.clone()
                    } else {
                        String::new()
                    },
                    key_width: kw,
                    action,
                })
                .collect();
            if pending_title {
                first.append(&mut block);
                out.push(std::mem::take(&mut first));
                pending_title = false;
            } else {
                out.push(block);
            }
        }
        if pending_title {
            out.push(first);
        }
    }
    out
}

/// Places the blocks down `n` columns of `rows` lines, in order; `None` if they do not fit.
fn flow(blocks: &[Vec<HelpLine>], n: usize, rows: usize) -> Option<Vec<Vec<HelpLine>>> {
    let mut columns: Vec<Vec<HelpLine>> = vec![Vec::new()];
    for block in blocks {
        if block.len() > rows {
            return None;
        }
        let current = columns.last().map_or(0, Vec::len);
        if current + block.len() > rows {
            if columns.len() == n {
                return None;
            }
            columns.push(Vec::new());
        }
        columns.last_mut()?.extend(block.iter().cloned());
    }
    Some(columns)
}

/// Word-wraps `text` into lines of at most `width` cells (a word longer than that is split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() { 0 } else { 1 } + unicode_width(word);
        if !line.is_empty() && unicode_width(&line) + needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        for c in word.chars() {
            if unicode_width(&line) + unicode_width(c.encode_utf8(&mut [0; 4])) > width
                && !line.is_empty()
            {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_actions_wrap_at_word_boundaries_and_long_words_split() {
        assert_eq!(
            wrap("deploy / update / finish cut-short", 20),
            ["deploy / update /", "finish cut-short"]
        );
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), [""]);
    }
}
