//! Shells in the pane, as data: which shells are open (exec shells in containers, host shells on
//! the machines behind endpoints), their state, and each one's terminal emulator.
//!
//! The emulator is a `vt100` parser (the one `tui-term` renders; no ratatui here) that the
//! model owns and feeds with the bytes a shell printed. It is pure: it never writes to the
//! operator's terminal. What reaches that terminal is only
//! the rendered cells (sanitised by the UI). A query the shell makes of its terminal is
//! answered here as bytes for the shell (cursor position), or ignored (everything else: title
//! changes, OSC 52 clipboard writes, DCS strings never leave the parser).

use std::fmt;

use super::EndpointId;

/// Identifies one shell for the life of the process (the engine's task, the pane's tab).
pub type ShellId = u64;

/// What a shell runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellTarget {
    /// A shell inside a running container, through the Engine's exec API.
    Exec {
        endpoint: EndpointId,
        container_id: String,
        container: String,
    },
    /// A shell on the machine behind an endpoint, in a local pseudo-terminal.
    Host { endpoint: EndpointId },
}

impl ShellTarget {
    pub fn endpoint(&self) -> EndpointId {
        match self {
            Self::Exec { endpoint, .. } | Self::Host { endpoint } => *endpoint,
        }
    }
}

/// How far a shell got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellState {
    /// Asked for; the gate and the daemon have not answered yet.
    Starting,
    Running,
    /// The shell ended by itself; its exit code when the daemon or the pty told it.
    Exited(Option<i64>),
    /// Never started: refused by the gate (read-only) or failed (no such container, no shell).
    Failed(String),
    /// The link went away under it (daemon down, connection cut): the pane says so and stops.
    Lost(String),
}

impl ShellState {
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Starting | Self::Running)
    }

    /// "running", "exited 0", "failed: …".
    pub fn label(&self) -> String {
        match self {
            Self::Starting => "starting".into(),
            Self::Running => "running".into(),
            Self::Exited(Some(code)) => format!("exited {code}"),
            Self::Exited(None) => "exited".into(),
            Self::Failed(why) => format!("failed: {why}"),
            Self::Lost(why) => format!("closed: {why}"),
        }
    }
}

/// The emulator's side channel: answers to the shell's queries, collected while parsing.
#[derive(Debug, Default)]
pub struct Replies {
    bytes: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        // DSR 6 (`ESC [ 6 n`): where is the cursor? Programs (resize, some prompts, readline
        // fallbacks) wait for the answer, so it is given: `ESC [ row ; col R`, 1-based.
        let first = params.first().and_then(|p| p.first()).copied();
        if c == 'n' && i1.is_none() && first == Some(6) {
            let (row, col) = screen.cursor_position();
            self.bytes
                .extend_from_slice(format!("\x1b[{};{}R", row + 1, col + 1).as_bytes());
        }
        // DSR 5 (`ESC [ 5 n`): "are you OK?" — yes.
        if c == 'n' && i1.is_none() && first == Some(5) {
            self.bytes.extend_from_slice(b"\x1b[0n");
        }
        // Everything else (device attributes, window ops, title reports) is not answered:
        // a reply would be a channel for the shell to read the operator's terminal.
    }
}

/// One shell's screen: a vt100 parser sized to the pane.
pub struct Emulator {
    parser: vt100::Parser<Replies>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, cols) = self.parser.screen().size();
        f.debug_struct("Emulator")
            .field("rows", &rows)
            .field("cols", &cols)
            .finish()
    }
}

impl Emulator {
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        Self {
            parser: vt100::Parser::new_with_callbacks(
                rows.max(1),
                cols.max(1),
                scrollback,
                Replies::default(),
            ),
        }
    }

    /// Parses what the shell printed; returns what must be written back to the shell (answers
    /// to its queries), usually nothing.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.parser.process(bytes);
        std::mem::take(&mut self.parser.callbacks_mut().bytes)
    }

    /// True when the size changed (the caller then tells the shell).
    pub fn resize(&mut self, rows: u16, cols: u16) -> bool {
        let (rows, cols) = (rows.max(1), cols.max(1));
        if self.parser.screen().size() == (rows, cols) {
            return false;
        }
        self.parser.screen_mut().set_size(rows, cols);
        true
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// Scrolls the view back into history by `delta` lines (negative: towards the present).
    pub fn scroll(&mut self, delta: isize) {
        let now = self.parser.screen().scrollback() as isize;
        let next = (now + delta).max(0) as usize;
        self.parser.screen_mut().set_scrollback(next);
    }

    /// The screen's text, rows joined with newlines (for tests and for searching).
    pub fn text(&self) -> String {
        self.parser.screen().contents()
    }
}

/// One tab of the pane.
#[derive(Debug)]
pub struct ShellPane {
    pub id: ShellId,
    pub target: ShellTarget,
    /// "lab1/web", "lab1 (host)".
    pub title: String,
    pub state: ShellState,
    pub emulator: Emulator,
}

/// The open shells: tabs, which one is shown, whether keys go to it.
#[derive(Debug, Default)]
pub struct Shells {
    pub panes: Vec<ShellPane>,
    pub active: usize,
    /// Keys go to the active shell (true) or to the dashboard (false).
    pub focused: bool,
    next_id: ShellId,
}

impl Shells {
    pub fn is_empty(&self) -> bool {
        self.panes.is_empty()
    }

    /// Adds a tab, makes it the active one and focuses it; returns its id.
    pub fn open(&mut self, target: ShellTarget, title: String, emulator: Emulator) -> ShellId {
        self.next_id += 1;
        let id = self.next_id;
        self.panes.push(ShellPane {
            id,
            target,
            title,
            state: ShellState::Starting,
            emulator,
        });
        self.active = self.panes.len() - 1;
        self.focused = true;
        id
    }

    pub fn get_mut(&mut self, id: ShellId) -> Option<&mut ShellPane> {
        self.panes.iter_mut().find(|p| p.id == id)
    }

    pub fn active(&self) -> Option<&ShellPane> {
        self.panes.get(self.active)
    }

    pub fn active_mut(&mut self) -> Option<&mut ShellPane> {
        self.panes.get_mut(self.active)
    }

    /// Removes the active tab; returns it. With no tab left, focus returns to the dashboard.
    pub fn close_active(&mut self) -> Option<ShellPane> {
        if self.panes.is_empty() {
            return None;
        }
        let pane = self.panes.remove(self.active);
        self.active = self.active.min(self.panes.len().saturating_sub(1));
        if self.panes.is_empty() {
            self.focused = false;
        }
        Some(pane)
    }

    /// Moves to the next (or previous) tab, wrapping around.
    pub fn cycle(&mut self, forward: bool) {
        let n = self.panes.len();
        if n == 0 {
            return;
        }
        self.active = if forward {
            (self.active + 1) % n
        } else {
            (self.active + n - 1) % n
        };
    }

    /// Every live shell on `endpoint` is lost with `reason` (its daemon went down); returns
    /// their ids, so their engine tasks can be stopped.
    pub fn lose_endpoint(&mut self, endpoint: EndpointId, reason: &str) -> Vec<ShellId> {
        let mut lost = Vec::new();
        for p in &mut self.panes {
            if matches!(p.target, ShellTarget::Exec { .. })
                && p.target.endpoint() == endpoint
                && p.state.is_live()
            {
                p.state = ShellState::Lost(format!("the daemon went away ({reason})"));
                lost.push(p.id);
            }
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_position_query_is_answered_and_nothing_else_is() {
        let mut e = Emulator::new(5, 20, 0);
        assert!(e.feed(b"abc").is_empty());
        assert_eq!(e.feed(b"\x1b[6n"), b"\x1b[1;4R");
        e.feed(b"\r\n\r\nxy");
        assert_eq!(e.feed(b"\x1b[6n"), b"\x1b[3;3R");
        // Title, clipboard, DCS, device attributes: parsed, never answered, never shown.
        let quiet = e.feed(b"\x1b]0;owned\x07\x1b]52;c;aGVsbG8=\x07\x1bP+q544e\x1b\\\x1b[c\x1b[>c");
        assert!(quiet.is_empty(), "{quiet:?}");
        assert!(!e.text().contains("owned"));
        assert!(!e.text().contains("aGVsbG8"));
    }

    #[test]
    fn resizing_reports_only_real_changes() {
        let mut e = Emulator::new(5, 20, 0);
        assert!(!e.resize(5, 20));
        assert!(e.resize(10, 40));
        assert_eq!(e.screen().size(), (10, 40));
        assert!(!e.resize(0, 0) || e.screen().size() == (1, 1));
    }

    #[test]
    fn a_full_screen_program_gets_the_alternate_screen_and_gives_it_back() {
        let mut e = Emulator::new(4, 20, 10);
        e.feed(b"$ vi notes\r\n");
        e.feed(b"\x1b[?1049h\x1b[H\x1b[2J~ editing");
        assert!(e.screen().alternate_screen());
        assert!(e.text().contains("editing") && !e.text().contains("vi notes"));
        e.feed(b"\x1b[?1049l");
        assert!(e.text().contains("vi notes") && !e.text().contains("editing"));
    }

    #[test]
    fn scrollback_pages_back_and_returns_to_the_live_screen() {
        let mut e = Emulator::new(3, 10, 100);
        for i in 0..10 {
            e.feed(format!("line{i}\r\n").as_bytes());
        }
        assert!(e.text().contains("line9") && !e.text().contains("line5"));
        e.scroll(3);
        assert!(e.text().contains("line7") && !e.text().contains("line9"));
        e.scroll(isize::MIN / 2);
        assert!(e.text().contains("line9"));
    }

    #[test]
    fn tabs_cycle_close_and_drop_focus_when_the_last_one_goes() {
        let mut s = Shells::default();
        let a = s.open(
            ShellTarget::Host { endpoint: 0 },
            "a".into(),
            Emulator::new(2, 2, 0),
        );
        let b = s.open(
            ShellTarget::Host { endpoint: 1 },
            "b".into(),
            Emulator::new(2, 2, 0),
        );
        assert_ne!(a, b);
        assert_eq!(s.active().map(|p| p.id), Some(b));
        s.cycle(true);
        assert_eq!(s.active().map(|p| p.id), Some(a));
        s.cycle(false);
        assert_eq!(s.active().map(|p| p.id), Some(b));
        assert!(s.focused);
        s.close_active();
        s.close_active();
        assert!(s.is_empty());
        assert!(!s.focused);
    }

    #[test]
    fn a_daemon_going_down_loses_its_exec_shells_only() {
        let mut s = Shells::default();
        let exec = ShellTarget::Exec {
            endpoint: 0,
            container_id: "c".into(),
            container: "web".into(),
        };
        let e = s.open(exec, "lab1/web".into(), Emulator::new(2, 2, 0));
        s.open(
            ShellTarget::Host { endpoint: 0 },
            "h".into(),
            Emulator::new(2, 2, 0),
        );
        assert_eq!(s.lose_endpoint(0, "connection refused"), [e]);
        assert!(matches!(s.panes[0].state, ShellState::Lost(_)));
        assert_eq!(s.panes[1].state, ShellState::Starting);
    }
}
