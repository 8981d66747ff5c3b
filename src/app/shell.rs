//! The app's side of the shell pane: opening exec and host shells, routing their output into
//! their emulators (and the emulators' answers back), keeping every shell sized to the pane,
//! and turning keys and pastes into the bytes a terminal would send.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::{Action, App, Command};
use crate::engine::shell::{ShellInput, exec_command, host_argv};
use crate::model::View;
use crate::model::actions::{Action as Act, ActionRequest};
use crate::model::shell::{Emulator, ShellState, ShellTarget};
use crate::model::{ContainerState, MsgKind};

/// Pane height steps for the grow and shrink keys, in percent of the body.
const PANE_STEP: u16 = 10;

impl App {
    /// The terminal area of the pane for a screen of the last drawn size.
    pub fn shell_terminal_size(&self) -> (u16, u16) {
        let body = Rect::new(
            0,
            1,
            self.screen_width,
            self.screen_height.saturating_sub(2),
        );
        let (_, pane) = crate::ui::shell::split(body, self.shell_percent);
        let term = crate::ui::shell::terminal_area(pane);
        (term.height.max(1), term.width.max(1))
    }

    /// `e`: a shell in the selected container (or the detail panel's).
    pub(super) fn open_exec(&mut self) {
        let key = self.target_key();
        let Some(key) = key else {
            self.view.message = Some("no container selected".into());
            return;
        };
        let Some(ep) = self.fleet.endpoints.get(key.endpoint) else {
            return;
        };
        let Some(c) = ep.containers.get(&key.id) else {
            self.view.message = Some("the container is gone".into());
            return;
        };
        if c.state != ContainerState::Running {
            self.view.message = Some(format!("{}/{} is not running", ep.name(), c.name));
            return;
        }
        let (rows, cols) = self.shell_terminal_size();
        let target = ShellTarget::Exec {
            endpoint: key.endpoint,
            container_id: c.id.clone(),
            container: c.name.clone(),
        };
        let request = ActionRequest {
            endpoint: key.endpoint,
            container_id: c.id.clone(),
            container: c.name.clone(),
            action: Act::Exec {
                cmd: exec_command(&self.shell_settings.exec),
                rows,
                cols,
            },
        };
        let title = format!("{}/{}", ep.name(), c.name);
        let emulator = Emulator::new(rows, cols, self.shell_settings.scrollback);
        let shell = self.shells.open(target, title, emulator);
        self.commands
            .push(Command::OpenExecShell { shell, request });
    }

    /// `E`: a shell on the machine behind the selected endpoint (the clusters view's row, or
    /// the selected container's endpoint).
    pub(super) fn open_host_shell(&mut self) {
        let endpoint = if self.view.view == View::Clusters {
            Some(self.view.selected_endpoint)
        } else {
            self.target_key().map(|k| k.endpoint)
        };
        let Some(ep) = endpoint.and_then(|e| self.fleet.endpoints.get(e)) else {
            self.view.message = Some("select an endpoint (clusters view) or a container".into());
            return;
        };
        let endpoint = endpoint.unwrap_or_default();
        let argv = match host_argv(&ep.spec, self.host_shell_env.clone()) {
            Ok(argv) => argv,
            Err(e) => {
                self.view.message = Some(e);
                return;
            }
        };
        let (rows, cols) = self.shell_terminal_size();
        let title = format!("{} (host)", ep.name());
        let emulator = Emulator::new(rows, cols, self.shell_settings.scrollback);
        let shell = self
            .shells
            .open(ShellTarget::Host { endpoint }, title, emulator);
        self.commands.push(Command::OpenHostShell {
            shell,
            endpoint,
            argv,
            size: (rows, cols),
        });
    }

    /// The pane's own actions (tabs, focus, size); false for any other action.
    pub(super) fn shell_action(&mut self, action: Action) -> bool {
        let opens = matches!(action, Action::Exec | Action::HostShell);
        if opens && self.view.wall.is_some() {
            self.view.message = Some("a wall display opens no shells".into());
            return true;
        }
        match action {
            Action::Exec => self.open_exec(),
            Action::HostShell => self.open_host_shell(),
            Action::ShellFocus => {
                if self.shells.is_empty() {
                    self.view.message = Some("no shell open: e opens one in a container".into());
                } else {
                    self.shells.focused = true;
                }
            }
            Action::ShellNext => self.shells.cycle(true),
            Action::ShellPrev => self.shells.cycle(false),
            Action::ShellClose => {
                if let Some(pane) = self.shells.close_active() {
                    self.commands.push(Command::CloseShell { shell: pane.id });
                }
            }
            Action::ShellGrow => {
                self.shell_percent = (self.shell_percent + PANE_STEP).min(90);
            }
            Action::ShellShrink => {
                self.shell_percent = self.shell_percent.saturating_sub(PANE_STEP).max(20);
            }
            _ => return false,
        }
        true
    }

    /// A key while the pane has focus: the focus key gives the dashboard its keys back; any
    /// other key goes to the shell as a terminal would send it.
    pub(super) fn shell_key(&mut self, key: KeyEvent) -> bool {
        let page = self.shell_terminal_size().0.max(2) as isize - 1;
        match self.keymap.action(super::Scope::Shell, &key) {
            Some(Action::ShellFocus) => {
                self.shells.focused = false;
                return true;
            }
            Some(Action::ShellScrollUp) => {
                if let Some(p) = self.shells.active_mut() {
                    p.emulator.scroll(page);
                }
                return true;
            }
            Some(Action::ShellScrollDown) => {
                if let Some(p) = self.shells.active_mut() {
                    p.emulator.scroll(-page);
                }
                return true;
            }
            _ => {}
        }
        let Some(pane) = self.shells.active() else {
            self.shells.focused = false;
            return true;
        };
        if !pane.state.is_live() {
            return false;
        }
        let app_cursor = pane.emulator.screen().application_cursor();
        let id = pane.id;
        if let Some(bytes) = encode_key(&key, app_cursor) {
            // Typing scrolls back to the live screen, as terminals do.
            if let Some(p) = self.shells.active_mut() {
                p.emulator.scroll(isize::MIN / 2);
            }
            self.commands.push(Command::ShellInput {
                shell: id,
                input: ShellInput::Bytes(bytes),
            });
        }
        true
    }

    /// Pasted text: to the focused shell, bracketed when the shell asked for it.
    pub fn handle_paste(&mut self, text: &str) -> bool {
        if !self.shells.focused {
            return false;
        }
        let Some(pane) = self.shells.active() else {
            return false;
        };
        if !pane.state.is_live() {
            return false;
        }
        let bytes = encode_paste(text, pane.emulator.screen().bracketed_paste());
        self.commands.push(Command::ShellInput {
            shell: pane.id,
            input: ShellInput::Bytes(bytes),
        });
        true
    }

    /// Folds a shell's message in; true when the screen needs redrawing.
    pub(super) fn apply_shell(&mut self, kind: MsgKind) -> bool {
        let active = self.shells.active().map(|p| p.id);
        match kind {
            MsgKind::ShellStarted { shell } => {
                if let Some(p) = self.shells.get_mut(shell) {
                    p.state = ShellState::Running;
                }
                true
            }
            MsgKind::ShellOutput { shell, bytes } => {
                let Some(p) = self.shells.get_mut(shell) else {
                    return false;
                };
                let replies = p.emulator.feed(&bytes);
                if !replies.is_empty() && p.state.is_live() {
                    self.commands.push(Command::ShellInput {
                        shell,
                        input: ShellInput::Bytes(replies),
                    });
                }
                Some(shell) == active
            }
            MsgKind::ShellEnded { shell, state } => {
                if let Some(p) = self.shells.get_mut(shell) {
                    p.state = state;
                }
                // A shell that ended takes no more keys: the dashboard gets them back (the
                // tab stays, with the exit status, until it is closed).
                if Some(shell) == active {
                    self.shells.focused = false;
                }
                self.commands.push(Command::CloseShell { shell });
                true
            }
            _ => false,
        }
    }

    /// A daemon went down: its exec shells end with a message rather than hang.
    pub(super) fn lose_shells(&mut self, endpoint: crate::model::EndpointId, reason: &str) {
        for shell in self.shells.lose_endpoint(endpoint, reason) {
            self.commands.push(Command::CloseShell { shell });
        }
    }

    /// Every shell follows the pane's size; a change is sent to each live one.
    pub(super) fn resize_shells(&mut self) {
        if self.shells.is_empty() {
            return;
        }
        let (rows, cols) = self.shell_terminal_size();
        for p in &mut self.shells.panes {
            if p.emulator.resize(rows, cols) && p.state.is_live() {
                self.commands.push(Command::ShellInput {
                    shell: p.id,
                    input: ShellInput::Resize { rows, cols },
                });
            }
        }
    }
}

/// The bytes an xterm sends for a key. `app_cursor`: the shell asked for application cursor
/// keys (`ESC [ ? 1 h`, as vi and less do), so arrows are `ESC O A` rather than `ESC [ A`.
pub fn encode_key(key: &KeyEvent, app_cursor: bool) -> Option<Vec<u8>> {
    let mods = key.modifiers;
    let ctrl = mods.contains(KeyModifiers::CONTROL);
    let alt = mods.contains(KeyModifiers::ALT);
    let shift = mods.contains(KeyModifiers::SHIFT);
    // xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl.
    let m = 1 + u8::from(shift) + 2 * u8::from(alt) + 4 * u8::from(ctrl);
    let esc_prefix = |mut bytes: Vec<u8>| {
        if alt {
            bytes.insert(0, 0x1b);
        }
        bytes
    };
    let cursor = |c: char| {
        if m > 1 {
            format!("\x1b[1;{m}{c}").into_bytes()
        } else if app_cursor {
            format!("\x1bO{c}").into_bytes()
        } else {
            format!("\x1b[{c}").into_bytes()
        }
    };
    let tilde = |n: u8| {
        if m > 1 {
            format!("\x1b[{n};{m}~").into_bytes()
        } else {
            format!("\x1b[{n}~").into_bytes()
        }
    };
    Some(match key.code {
        KeyCode::Char(c) if ctrl => {
            let byte = match c.to_ascii_lowercase() {
                c @ 'a'..='z' => c as u8 - b'a' + 1,
                '@' | ' ' | '2' => 0,
                '[' | '3' => 0x1b,
                '\\' | '4' => 0x1c,
                ']' | '5' => 0x1d,
                '^' | '6' => 0x1e,
                '_' | '7' | '/' => 0x1f,
                '8' | '?' => 0x7f,
                _ => return None,
            };
            esc_prefix(vec![byte])
        }
        KeyCode::Char(c) => esc_prefix(c.to_string().into_bytes()),
        KeyCode::Enter => esc_prefix(vec![b'\r']),
        KeyCode::Tab => esc_prefix(vec![b'\t']),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => esc_prefix(vec![0x7f]),
        KeyCode::Esc => esc_prefix(vec![0x1b]),
        KeyCode::Up => cursor('A'),
        KeyCode::Down => cursor('B'),
        KeyCode::Right => cursor('C'),
        KeyCode::Left => cursor('D'),
        KeyCode::Home => cursor('H'),
        KeyCode::End => cursor('F'),
        KeyCode::Insert => tilde(2),
        KeyCode::Delete => tilde(3),
        KeyCode::PageUp => tilde(5),
        KeyCode::PageDown => tilde(6),
        KeyCode::F(n @ 1..=4) => {
            let c = (b'P' + n - 1) as char;
            if m > 1 {
                format!("\x1b[1;{m}{c}").into_bytes()
            } else {
                format!("\x1bO{c}").into_bytes()
            }
        }
        KeyCode::F(n @ 5..=12) => tilde([15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)]),
        _ => return None,
    })
}

/// Pasted text as a terminal sends it: newlines as carriage returns, and between
/// `ESC [ 200 ~` and `ESC [ 201 ~` when the shell enabled bracketed paste. An end marker
/// inside the text is dropped, so a paste cannot end the bracket early and type the rest.
pub fn encode_paste(text: &str, bracketed: bool) -> Vec<u8> {
    let body = text
        .replace("\x1b[201~", "")
        .replace("\r\n", "\r")
        .replace('\n', "\r");
    if bracketed {
        format!("\x1b[200~{body}\x1b[201~").into_bytes()
    } else {
        body.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        encode_key(&KeyEvent::new(code, mods), false).unwrap()
    }

    #[test]
    fn keys_are_sent_as_an_xterm_sends_them() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        assert_eq!(k(KeyCode::Char('c'), ctrl), [3]);
        assert_eq!(k(KeyCode::Char('d'), ctrl), [4]);
        assert_eq!(k(KeyCode::Char('x'), none), b"x");
        assert_eq!(k(KeyCode::Char('é'), none), "é".as_bytes());
        assert_eq!(k(KeyCode::Char('b'), alt), b"\x1bb");
        assert_eq!(k(KeyCode::Enter, none), b"\r");
        assert_eq!(k(KeyCode::Up, none), b"\x1b[A");
        assert_eq!(k(KeyCode::Left, ctrl), b"\x1b[1;5D");
        assert_eq!(k(KeyCode::PageUp, none), b"\x1b[5~");
        assert_eq!(k(KeyCode::PageDown, none), b"\x1b[6~");
        assert_eq!(k(KeyCode::F(1), none), b"\x1bOP");
        assert_eq!(k(KeyCode::F(5), none), b"\x1b[15~");
        assert_eq!(k(KeyCode::F(12), none), b"\x1b[24~");
        assert_eq!(k(KeyCode::Backspace, none), [0x7f]);
        let app = encode_key(&KeyEvent::new(KeyCode::Up, none), true).unwrap();
        assert_eq!(app, b"\x1bOA");
    }

    #[test]
    fn a_paste_cannot_close_its_own_bracket() {
        assert_eq!(encode_paste("ls\nid\n", false), b"ls\rid\r");
        assert_eq!(
            encode_paste("a\x1b[201~rm -rf /\n", true),
            b"\x1b[200~arm -rf /\r\x1b[201~"
        );
    }
}
