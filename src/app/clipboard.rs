//! Copying to the operator's clipboard. Over SSH the only way to the clipboard of the machine
//! in front of the operator is the terminal itself: an OSC 52 sequence (`ESC ] 52 ; c ; BASE64
//! BEL`), understood by xterm, kitty, iTerm2, WezTerm, Windows Terminal and tmux (with
//! `set-clipboard on`). The app only asks for a copy ([`Command::Copy`](super::Command::Copy));
//! the loop's effects write the sequence, between frames.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{App, Command};

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

/// What a copy key takes from the selected container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyWhat {
    /// The full container id.
    Id,
    /// `ENDPOINT/NAME`, as `fleetdeck logs` and the write commands take it.
    Name,
}

impl App {
    /// Asks the loop to copy the selected container's id or `ENDPOINT/NAME`.
    pub(super) fn copy(&mut self, what: CopyWhat) {
        if !self.clipboard {
            self.view.message = Some("copying is off ([ui] clipboard = false)".into());
            return;
        }
        let Some(key) = self.target_key() else {
            self.view.message = Some("no container selected".into());
            return;
        };
        let Some(ep) = self.fleet.endpoints.get(key.endpoint) else {
            return;
        };
        let Some(c) = ep.containers.get(&key.id) else {
            return;
        };
        let name = format!("{}/{}", ep.name(), c.name);
        let (text, label) = match what {
            CopyWhat::Id => (c.id.clone(), format!("the id of {name}")),
            CopyWhat::Name => (name.clone(), name),
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
