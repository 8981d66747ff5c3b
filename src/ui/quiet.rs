//! A backend wrapper that writes as few bytes as it can.
//!
//! ratatui already sends only the cells that differ from the last frame, but the crossterm
//! backend ends every `draw` with a colour and attribute reset (about 20 bytes) and the terminal
//! hides the cursor on every frame (6 more), even when the diff is empty. Over SSH those 26 bytes
//! a frame were a third of an idle dashboard's traffic (BENCHMARKS.md). This wrapper drops empty
//! draws and repeated cursor hides, so a frame that changes no cell costs no byte.
//!
//! It also keeps a copy of what the terminal shows, to bridge short gaps: between two changed
//! cells of a row, the crossterm backend moves the cursor with an absolute `ESC[row;colH` (7–9
//! bytes), and cursor moves were half the bytes of a containers view (the columns of a table
//! are a few blanks apart). When the cells in between are plain ASCII in the style already set,
//! writing them again is shorter than the move, and shows the same thing.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Cell, CellDiffOption};
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

pub struct QuietBackend<B> {
    inner: B,
    /// What we last told the terminal; `None` until we have said anything.
    cursor_hidden: Option<bool>,
    /// What the terminal shows, as this backend drew it; `None` while unknown (before the
    /// first full clear or draw, after a partial clear, or when a cell fell outside it).
    screen: Option<Screen>,
}

/// A copy of the terminal's cells, row by row, as much of each as bridging needs: 16 bytes a
/// cell instead of a `Cell`'s 48.
struct Screen {
    width: u16,
    height: u16,
    cells: Vec<Shown>,
}

/// One cell of the copy: its byte when it is a plain cell (see [`plain`]), else 0, and its
/// style.
#[derive(Clone, Copy, PartialEq)]
struct Shown {
    byte: u8,
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Shown {
    const BLANK: Shown = Shown {
        byte: b' ',
        fg: Color::Reset,
        bg: Color::Reset,
        underline: Color::Reset,
        modifier: Modifier::empty(),
    };

    fn of(cell: &Cell) -> Self {
        Self {
            byte: if plain(cell) {
                cell.symbol().as_bytes()[0]
            } else {
                0
            },
            fg: cell.fg,
            bg: cell.bg,
            underline: cell.underline_color,
            modifier: cell.modifier,
        }
    }

    fn styled_as(&self, cell: &Cell) -> bool {
        self.fg == cell.fg
            && self.bg == cell.bg
            && self.underline == cell.underline_color
            && self.modifier == cell.modifier
    }

    fn cell(&self) -> Cell {
        let mut c = Cell::default();
        c.set_char(char::from(self.byte));
        c.fg = self.fg;
        c.bg = self.bg;
        c.underline_color = self.underline;
        c.modifier = self.modifier;
        c
    }
}

impl Screen {
    fn blank(size: Size) -> Self {
        Self {
            width: size.width,
            height: size.height,
            cells: vec![Shown::BLANK; usize::from(size.width) * usize::from(size.height)],
        }
    }

    fn index(&self, x: u16, y: u16) -> Option<usize> {
        (x < self.width && y < self.height)
            .then(|| usize::from(y) * usize::from(self.width) + usize::from(x))
    }

    fn get(&self, x: u16, y: u16) -> Option<Shown> {
        self.index(x, y).and_then(|i| self.cells.get(i)).copied()
    }

    /// Notes a cell drawn at (x, y). A cell wider than one column (a wide character, a
    /// forced width) covers the cells after it, which ratatui's diff then leaves out: they
    /// are marked unknown, so no gap is bridged over what the terminal now shows there.
    fn set(&mut self, x: u16, y: u16, cell: &Cell) -> bool {
        let Some(i) = self.index(x, y) else {
            return false;
        };
        let shown = Shown::of(cell);
        let covered = match cell.diff_option {
            CellDiffOption::ForcedWidth(w) => usize::from(w.get().saturating_sub(1)),
            // Not plain: possibly wide (a width this module does not compute).
            _ if shown.byte == 0 => 1,
            _ => 0,
        };
        let len = self.cells.len();
        let row_end = ((i / usize::from(self.width) + 1) * usize::from(self.width)).min(len);
        for (k, c) in self.cells[i..row_end]
            .iter_mut()
            .take(covered + 1)
            .enumerate()
        {
            *c = if k == 0 {
                shown
            } else {
                Shown {
                    byte: 0,
                    ..Shown::BLANK
                }
            };
        }
        true
    }
}

/// A cell one column wide whose symbol is one printable ASCII byte: writing it moves the
/// cursor exactly one column, on every terminal.
fn plain(cell: &Cell) -> bool {
    let s = cell.symbol().as_bytes();
    s.len() == 1
        && (0x20..0x7f).contains(&s[0])
        && cell.diff_option == CellDiffOption::None
        && !skipped(cell)
}

/// The deprecated way a widget marks a cell ratatui must not draw.
#[allow(deprecated)]
fn skipped(cell: &Cell) -> bool {
    cell.skip
}

/// Bytes of the crossterm backend's move to (x, y): `ESC [ row ; col H`, 1-based.
fn move_cost(x: u16, y: u16) -> usize {
    let digits = |n: u32| n.checked_ilog10().map_or(1, |d| d as usize + 1);
    4 + digits(u32::from(y) + 1) + digits(u32::from(x) + 1)
}

/// The unchanged cells worth sending again with `diff`: for each diff entry (by index), the
/// cells of the row between it and the entry before, where sending them is shorter than
/// moving the cursor over them (see the module's comment). Answers (entry, first x, cells).
fn gaps(diff: &[(u16, u16, &Cell)], screen: &Screen) -> Vec<(usize, u16, Vec<Cell>)> {
    let mut out = Vec::new();
    for (i, pair) in diff.windows(2).enumerate() {
        let [(px, py, pc), (x, y, _)] = pair else {
            continue;
        };
        let (px, x, y) = (*px, *x, *y);
        if *py != y || !plain(pc) || x <= px + 1 || usize::from(x - px - 1) >= move_cost(x, y) {
            continue;
        }
        let cells: Option<Vec<Cell>> = (px + 1..x)
            .map(|gx| {
                screen
                    .get(gx, y)
                    .filter(|c| c.byte != 0 && c.styled_as(pc))
                    .map(|c| c.cell())
            })
            .collect();
        if let Some(cells) = cells {
            out.push((i + 1, px + 1, cells));
        }
    }
    out
}

/// `diff` with the cells of `gaps` put in their places.
fn bridged<'a>(
    diff: &[(u16, u16, &'a Cell)],
    gaps: &'a [(usize, u16, Vec<Cell>)],
) -> Vec<(u16, u16, &'a Cell)> {
    let extra: usize = gaps.iter().map(|(_, _, cells)| cells.len()).sum();
    let mut out = Vec::with_capacity(diff.len() + extra);
    let mut next_gap = gaps.iter().peekable();
    for (i, &(x, y, cell)) in diff.iter().enumerate() {
        if let Some((_, from, cells)) = next_gap.next_if(|(at, _, _)| *at == i) {
            out.extend(
                cells
                    .iter()
                    .enumerate()
                    .map(|(k, c)| (*from + k as u16, y, c)),
            );
        }
        out.push((x, y, cell));
    }
    out
}

impl<B> QuietBackend<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            cursor_hidden: None,
            screen: None,
        }
    }
}

impl<B: Backend> Backend for QuietBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let diff: Vec<(u16, u16, &Cell)> = content.collect();
        if diff.is_empty() {
            return Ok(());
        }
        if self.screen.is_none() && self.cursor_hidden.is_none() {
            // The first frame: ratatui draws it against a blank buffer, on the blank screen it
            // set up (the alternate screen), so the terminal is blank where nothing is drawn.
            self.screen = self.inner.size().ok().map(Screen::blank);
        }
        let Self { inner, screen, .. } = self;
        match screen {
            Some(shown) => {
                let gaps = gaps(&diff, shown);
                inner.draw(bridged(&diff, &gaps).into_iter())?;
                if !diff.iter().all(|(x, y, cell)| shown.set(*x, *y, cell)) {
                    *screen = None;
                }
                Ok(())
            }
            None => inner.draw(diff.into_iter()),
        }
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        // Scrolls the screen (inline viewports): the copy no longer matches it.
        self.screen = None;
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if self.cursor_hidden == Some(true) {
            return Ok(());
        }
        self.cursor_hidden = Some(true);
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        if self.cursor_hidden == Some(false) {
            return Ok(());
        }
        self.cursor_hidden = Some(false);
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()?;
        self.screen = self.inner.size().ok().map(Screen::blank);
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)?;
        self.screen = match clear_type {
            ClearType::All => self.inner.size().ok().map(Screen::blank),
            // Where the cursor is is not tracked here: the copy is unknown until a full clear.
            _ => None,
        };
        Ok(())
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use ratatui::widgets::Paragraph;

    fn frame(text: &str) -> impl FnOnce(&mut ratatui::Frame) + '_ {
        move |f| f.render_widget(Paragraph::new(text), f.area())
    }

    /// A terminal that keeps what it was sent.
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
        fn since(&self, from: usize) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()[from..]).into_owned()
        }
    }

    use proptest::prelude::*;
    use ratatui::style::{Color, Modifier, Style};

    /// One piece of text a frame draws: where, what, and in which of a few styles.
    type Piece = (u16, u16, String, usize);

    const W: u16 = 40;
    const H: u16 = 6;

    fn style(i: usize) -> Style {
        [
            Style::default(),
            Style::default().fg(Color::Red),
            Style::default()
                .fg(Color::Indexed(33))
                .bg(Color::Indexed(236)),
            Style::default().add_modifier(Modifier::BOLD),
            Style::default().fg(Color::Rgb(10, 200, 30)),
        ][i % 5]
    }

    fn draw_pieces(pieces: &[Piece]) -> impl FnOnce(&mut ratatui::Frame) + '_ {
        move |f| {
            for (x, y, text, st) in pieces {
                let area = ratatui::layout::Rect::new(*x, *y, W - x, 1);
                f.render_widget(Paragraph::new(text.as_str()).style(style(*st)), area);
            }
        }
    }

    fn fixed<B: Backend>(backend: B) -> Terminal<B> {
        Terminal::with_options(
            backend,
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, W, H)),
            },
        )
        .unwrap()
    }

    fn vt_color(c: Color) -> vt100::Color {
        match c {
            Color::Reset => vt100::Color::Default,
            Color::Red => vt100::Color::Idx(1),
            Color::Indexed(i) => vt100::Color::Idx(i),
            Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
            other => panic!("colour {other:?} not in the test's palette"),
        }
    }

    fn piece() -> impl Strategy<Value = Piece> {
        (
            0..W - 1,
            0..H,
            proptest::collection::vec(
                prop_oneof![
                    8 => proptest::sample::select(vec!['a', 'b', 'Z', '1', '.', '%', '/']),
                    4 => Just(' '),
                    1 => Just('─'),
                    1 => Just('é'),
                ],
                0..12,
            )
            .prop_map(|cs| cs.into_iter().collect::<String>()),
            0..5usize,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Whatever the frames, a terminal fed what the quiet backend wrote shows exactly what
        /// ratatui drew, cell by cell (text, colours, bold), and never got more bytes than from
        /// the plain crossterm backend. No wide characters here: where one is half overwritten,
        /// a terminal and ratatui's buffer disagree whichever backend draws; the wide-character
        /// case of the screen copy has its own test below.
        #[test]
        fn the_terminal_shows_every_frame_exactly(
            frames in proptest::collection::vec(proptest::collection::vec(piece(), 0..8), 1..6)
        ) {
            let quiet_sink = Sink::default();
            let plain_sink = Sink::default();
            let mut quiet = fixed(QuietBackend::new(CrosstermBackend::new(quiet_sink.clone())));
            let mut plain = fixed(CrosstermBackend::new(plain_sink.clone()));
            // The screen starts blank, as the alternate screen does.
            let mut vt = vt100::Parser::new(H, W, 0);
            let mut fed = 0;
            for pieces in &frames {
                let done = quiet.draw(draw_pieces(pieces)).unwrap();
                let buffer = done.buffer.clone();
                plain.draw(draw_pieces(pieces)).unwrap();
                let bytes = quiet_sink.0.lock().unwrap()[fed..].to_vec();
                fed += bytes.len();
                vt.process(&bytes);
                let screen = vt.screen();
                let mut after_wide = false;
                for y in 0..H {
                    after_wide = false;
                    for x in 0..W {
                        let want = &buffer[(x, y)];
                        let got = screen.cell(y, x).expect("cell");
                        if after_wide {
                            after_wide = false;
                            continue;
                        }
                        let text = if got.contents().is_empty() { " ".to_string() } else { got.contents().to_string() };
                        prop_assert_eq!(&text, want.symbol(), "text at {},{}", x, y);
                        prop_assert_eq!(got.fgcolor(), vt_color(want.fg), "fg at {},{}", x, y);
                        prop_assert_eq!(got.bgcolor(), vt_color(want.bg), "bg at {},{}", x, y);
                        prop_assert_eq!(got.bold(), want.modifier.contains(Modifier::BOLD), "bold at {},{}", x, y);
                        after_wide = got.is_wide();
                    }
                }
                let _ = after_wide;
            }
            prop_assert!(quiet_sink.len() <= plain_sink.len(), "{} > {}", quiet_sink.len(), plain_sink.len());
        }
    }

    /// A wide character drawn over text hides the cell after it from the diff; the copy must
    /// not keep the old text there and bridge over it later (review of 7e32e78).
    #[test]
    fn the_cell_behind_a_wide_character_is_never_bridged_with_old_text() {
        let sink = Sink::default();
        let mut terminal = fixed(QuietBackend::new(CrosstermBackend::new(sink.clone())));
        let mut vt = vt100::Parser::new(H, W, 0);
        for pieces in [
            vec![(0, 0, "abc".to_string(), 0)],
            vec![(0, 0, "世c".to_string(), 0)],
            vec![(0, 0, "x d".to_string(), 0)],
        ] {
            let before = sink.len();
            terminal.draw(draw_pieces(&pieces)).unwrap();
            vt.process(sink.since(before).as_bytes());
        }
        let row: String = (0..4)
            .map(|x| {
                let c = vt.screen().cell(0, x).unwrap().contents().to_string();
                if c.is_empty() { " ".to_string() } else { c }
            })
            .collect();
        assert_eq!(row, "x d ");
    }

    #[test]
    fn blanks_between_changed_cells_are_rewritten_when_shorter_than_a_move() {
        let sink = Sink::default();
        let mut terminal = fixed(QuietBackend::new(CrosstermBackend::new(sink.clone())));
        terminal
            .draw(draw_pieces(&[(0, 2, "ab   cd".into(), 0)]))
            .unwrap();
        let text = sink.since(0);
        assert!(text.contains("ab   cd"), "{text:?}");
        // Far apart: a move is shorter than 30 blanks.
        let before = sink.len();
        terminal
            .draw(draw_pieces(&[
                (0, 2, "xb   cd".into(), 0),
                (35, 2, "q".into(), 0),
            ]))
            .unwrap();
        let text = sink.since(before);
        assert!(!text.contains("   "), "{text:?}");
    }

    #[test]
    fn an_unchanged_frame_writes_no_byte_and_a_changed_one_writes_the_change() {
        let sink = Sink::default();
        let backend = CrosstermBackend::new(sink.clone());
        // A fixed-size viewport: the test has no real terminal to ask.
        let mut terminal = Terminal::with_options(
            QuietBackend::new(backend),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 2)),
            },
        )
        .unwrap();
        terminal.draw(frame("hello")).unwrap();
        let after_first = sink.len();
        assert!(after_first > 0);
        terminal.draw(frame("hello")).unwrap();
        assert_eq!(
            sink.len(),
            after_first,
            "an identical frame must write nothing"
        );
        terminal.draw(frame("hellO")).unwrap();
        let text = sink.since(after_first);
        assert!(text.contains('O') && !text.contains("hell"), "{text:?}");
    }
}
