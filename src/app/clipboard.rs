//! Copying to the operator's clipboard. Over SSH the only way to the clipboard of the machine
//! in front of the operator is the terminal itself: an OSC 52 sequence (`ESC ] 52 ; c ; BASE64
//! BEL`), understood by xterm, kitty, iTerm2, WezTerm, Windows Terminal and tmux (with
//! `set-clipboard on`). The app only asks for a copy ([`Command::Copy`](super::Command::Copy));
//! the loop's effects write the sequence, between frames.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Command};
use crate::ui::state::{CopyItem, CopyMenu, LogView};

/// The most text one copy carries: terminals cap OSC 52 (often near 100 KB of sequence), and
/// 64 KB of text is about 87 KB once encoded.
pub const MAX_COPY_BYTES: usize = 64 * 1024;

/// Text over [`MAX_COPY_BYTES`]: refused whole rather than cut, so a paste is never silently
/// a piece of what was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{bytes} bytes is more than the {MAX_COPY_BYTES} bytes one copy may carry")]
pub struct TooLong {
    pub bytes: usize,
}

/// The OSC 52 sequence that puts `text` on the clipboard. The text travels base64-encoded, so
/// whatever it holds (ESC, BEL, newlines) no byte of it reaches the terminal raw.
pub fn osc52(text: &str) -> Result<Vec<u8>, TooLong> {
    if text.len() > MAX_COPY_BYTES {
        return Err(TooLong { bytes: text.len() });
    }
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(STANDARD.encode(text).as_bytes());
    out.push(0x07);
    Ok(out)
}

impl App {
    /// Whether a copy may be written; says why not when it may not.
    fn may_copy(&mut self) -> bool {
        if !self.clipboard {
            self.view.message = Some("copying is off ([ui] clipboard = false)".into());
        }
        self.clipboard
    }

    /// What the copy menu offers for the selected container: its id, `ENDPOINT/NAME`, each
    /// address with its network, its image. `None` (and a message) when there is none.
    fn copy_items(&mut self) -> Option<CopyMenu> {
        let Some(key) = self.target_key() else {
            self.view.message = Some("no container selected".into());
            return None;
        };
        let ep = self.fleet.endpoints.get(key.endpoint)?;
        let c = ep.containers.get(&key.id)?;
        let name = format!("{}/{}", ep.name(), c.name);
        let mut items = vec![
            CopyItem {
                label: "id".into(),
                value: c.id.clone(),
            },
            CopyItem {
                label: "name".into(),
                value: name.clone(),
            },
        ];
        for n in &c.networks {
            for ip in [&n.ipv4, &n.ipv6].into_iter().flatten() {
                items.push(CopyItem {
                    label: format!("{}: {ip}", n.network),
                    value: ip.clone(),
                });
            }
        }
        items.push(CopyItem {
            label: "image".into(),
            value: c.image.clone(),
        });
        Some(CopyMenu {
            subject: name,
            items,
            selected: 0,
        })
    }

    /// `c`: opens the copy menu of the selected container.
    pub(super) fn open_copy_menu(&mut self) {
        if self.may_copy() {
            self.view.copy_menu = self.copy_items();
        }
    }

    /// `C`: copies the selected container's `ENDPOINT/NAME` at once, as `fleetdeck logs` and
    /// the write commands take it.
    pub(super) fn copy_name(&mut self) {
        if !self.may_copy() {
            return;
        }
        if let Some(menu) = self.copy_items() {
            self.commands.push(Command::Copy {
                text: menu.subject.clone(),
                label: menu.subject,
            });
        }
    }

    /// A key while the copy menu is open: a number picks that entry, arrows (or j/k) and
    /// Enter pick the highlighted one, Esc (or q) closes. Every other key is ignored: the menu
    /// is small and modal, like the input lines.
    pub(super) fn copy_menu_key(&mut self, key: KeyEvent) {
        let Some(menu) = self.view.copy_menu.as_mut() else {
            return;
        };
        let n = menu.items.len();
        let pick = match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.view.copy_menu = None;
                return;
            }
            KeyCode::Up | KeyCode::Char('k') => {
                menu.selected = menu.selected.saturating_sub(1);
                return;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                menu.selected = (menu.selected + 1).min(n.saturating_sub(1));
                return;
            }
            KeyCode::Enter => menu.selected,
            KeyCode::Char(c) => match c.to_digit(10) {
                Some(d) if (1..=n).contains(&(d as usize)) => d as usize - 1,
                _ => return,
            },
            _ => return,
        };
        let Some(menu) = self.view.copy_menu.take() else {
            return;
        };
        if let Some(item) = menu.items.into_iter().nth(pick) {
            let label = match item.label.as_str() {
                "name" => menu.subject,
                what => format!("the {what} of {}", menu.subject),
            };
            self.commands.push(Command::Copy {
                text: item.value,
                label,
            });
        }
    }

    /// `c` in the log view: the marked lines (from the mark to the current line) or the current
    /// line, as shown (without timestamps), cut at [`MAX_COPY_BYTES`] on a line's end.
    pub(super) fn copy_log_lines(&mut self) {
        if !self.may_copy() {
            return;
        }
        let Some(current) = self.logs.as_ref().and_then(LogView::current_line) else {
            self.view.message = Some("no log line to copy".into());
            return;
        };
        let Some(view) = self.logs.as_mut() else {
            return;
        };
        let (from, to) = match view.mark.take() {
            Some(mark) => (mark.min(current), mark.max(current)),
            None => (current, current),
        };
        let mut text = String::new();
        let mut taken = 0;
        for i in from..=to {
            let Some(line) = view.buffer.get(i) else {
                continue;
            };
            if text.len() + line.text.len() + 1 > MAX_COPY_BYTES {
                break;
            }
            if taken > 0 {
                text.push('\n');
            }
            text.push_str(&line.text);
            taken += 1;
        }
        let asked = to - from + 1;
        let label = match (asked, taken) {
            (1, 1) => "the log line".to_string(),
            (a, t) if a == t => format!("{t} log lines"),
            (a, t) => format!(
                "the first {t} of {a} log lines (cut at {} KiB)",
                MAX_COPY_BYTES / 1024
            ),
        };
        self.commands.push(Command::Copy { text, label });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_osc_52_with_the_text_in_base64() {
        assert_eq!(
            osc52("us-east-01/web-1").unwrap(),
            b"\x1b]52;c;dXMtZWFzdC0wMS93ZWItMQ==\x07"
        );
        assert_eq!(osc52("").unwrap(), b"\x1b]52;c;\x07");
    }

    #[test]
    fn control_characters_in_the_text_never_reach_the_terminal_raw() {
        let seq = osc52("a\x1b]0;pwned\x07\nb\r").unwrap();
        assert_eq!(seq, b"\x1b]52;c;YRtdMDtwd25lZAcKYg0=\x07");
        let body = &seq[b"\x1b]52;c;".len()..seq.len() - 1];
        assert!(
            body.iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b))
        );
    }

    #[test]
    fn text_over_the_cap_is_refused_whole() {
        let at_cap = "x".repeat(MAX_COPY_BYTES);
        assert_eq!(
            osc52(&at_cap).unwrap().len(),
            b"\x1b]52;c;".len() + MAX_COPY_BYTES.div_ceil(3) * 4 + 1
        );
        let over = "x".repeat(MAX_COPY_BYTES + 1);
        assert_eq!(
            osc52(&over),
            Err(TooLong {
                bytes: MAX_COPY_BYTES + 1
            })
        );
    }
}
