//! A backend wrapper that writes nothing when nothing changed.
//!
//! ratatui already sends only the cells that differ from the last frame, but the crossterm
//! backend ends every `draw` with a colour and attribute reset (about 20 bytes) and the terminal
//! hides the cursor on every frame (6 more), even when the diff is empty. Over SSH those 26 bytes
//! a frame were a third of an idle dashboard's traffic (BENCHMARKS.md). This wrapper drops empty
//! draws and repeated cursor hides, so a frame that changes no cell costs no byte.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct QuietBackend<B> {
    inner: B,
    /// What we last told the terminal; `None` until we have said anything.
    cursor_hidden: Option<bool>,
}

impl<B> QuietBackend<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            cursor_hidden: None,
        }
    }
}

impl<B: Backend> Backend for QuietBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
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
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
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
