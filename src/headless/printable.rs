//! The last line of defence for headless output: whatever a command prints to stdout or stderr
//! passes through [`Printable`], which lets text and newlines through and shows every other
//! control character (ESC, CR, BEL, bidi overrides…) as a visible stand-in. Names and messages
//! are cleaned where they enter the model; this covers what did not: a daemon's error text, a
//! target or view typed on the command line, a value quoted back in an error.

use std::io::{self, Write};

use crate::model::text::sanitize;

/// A writer that passes printable text and `\n` and replaces other control characters as
/// [`sanitize`] does. UTF-8 split across writes is held back until it is whole.
pub struct Printable<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Printable<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.inner.write_all(b"\n")?;
            }
            self.inner.write_all(sanitize(line).as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let mut bytes = std::mem::take(&mut self.pending);
        let mut start = 0;
        loop {
            match std::str::from_utf8(&bytes[start..]) {
                Ok(text) => {
                    let text = text.to_string();
                    self.emit(&text)?;
                    break;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    let text = String::from_utf8_lossy(&bytes[start..valid]).into_owned();
                    self.emit(&text)?;
                    match e.error_len() {
                        // Invalid bytes: shown as U+FFFD, like a lossy decode.
                        Some(n) => {
                            self.emit("\u{fffd}")?;
                            start = valid + n;
                        }
                        // An incomplete character at the end: wait for the rest.
                        None => {
                            bytes.drain(..valid);
                            self.pending = bytes;
                            break;
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> String {
        let mut w = Printable::new(Vec::new());
        for c in chunks {
            w.write_all(c).unwrap();
        }
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn escape_sequences_are_shown_not_sent_and_newlines_pass() {
        assert_eq!(
            through(&[b"lab\x1b]0;pwned\x07 down\r\nnext\n"]),
            "lab\u{241b}]0;pwned\u{2407} down\u{240d}\nnext\n"
        );
    }

    #[test]
    fn a_character_split_across_writes_is_kept_whole() {
        let e = "é".as_bytes();
        assert_eq!(through(&[b"caf", &e[..1], &e[1..], b"\n"]), "café\n");
        assert_eq!(through(&[b"a\xffb"]), "a\u{fffd}b");
    }
}
