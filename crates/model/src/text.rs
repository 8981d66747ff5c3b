//! Text that comes from containers and daemons (names, labels, env, commands) is untrusted: a
//! label holding `ESC ] 0 ; … BEL` would retitle the operator's terminal, `ESC [ 2 J` would wipe
//! it. Everything foreign passes through [`sanitize`] before it enters the model, so no widget
//! and no headless printer can ever emit it.

use std::borrow::Cow;

/// Replaces control characters (C0, DEL, C1) and bidirectional overrides with visible stand-ins:
/// C0 as the Unicode control pictures (`ESC` shows as `␛`), DEL as `␡`, the rest as `�`.
/// Tabs become a space so columns stay aligned.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_replacing) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(replacement).collect())
}

pub fn sanitize_owned(s: String) -> String {
    match sanitize(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(clean) => clean,
    }
}

fn needs_replacing(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn replacement(c: char) -> char {
    match c {
        '\t' => ' ',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if needs_replacing(c) => '\u{fffd}',
        c => c,
    }
}

/// Bidi embeddings, overrides and isolates can make a name read as something it is not.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// A colour a log line asked for with SGR (`ESC [ 31 m`), kept as data: the UI maps it through
/// the theme, so a container can colour its text but never emit a byte to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgrSpan {
    /// Byte range in the cleaned text.
    pub start: usize,
    pub end: usize,
    /// 0-7 normal, 8-15 bright; `None` for the default colour.
    pub fg: Option<u8>,
    pub bold: bool,
}

/// Cleans a line of container output: every escape sequence (CSI, OSC, DCS, APC, PM, SOS, and
/// two-byte ESC sequences) is removed, SGR colours are kept as [`SgrSpan`]s, and remaining
/// control characters become visible stand-ins as in [`sanitize`]. Carriage returns are
/// dropped (progress bars redraw with them).
pub fn clean_terminal_text(input: &str) -> (String, Vec<SgrSpan>) {
    let mut out = String::with_capacity(input.len());
    let mut spans: Vec<SgrSpan> = Vec::new();
    let mut fg: Option<u8> = None;
    let mut bold = false;
    let mut span_start = 0usize;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameter and intermediate bytes, then a final byte in 0x40..=0x7e.
                Some('[') => {
                    let mut params = String::new();
                    let mut fin = None;
                    for p in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&p) {
                            fin = Some(p);
                            break;
                        }
                        params.push(p);
                    }
                    if fin == Some('m') {
                        close_span(&out, fg, bold, &mut span_start, &mut spans);
                        apply_sgr(&params, &mut fg, &mut bold);
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(p) = chars.next() {
                        if p == '\u{7}' {
                            break;
                        }
                        if p == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // nF sequences: intermediates (0x20..=0x2f), then one final byte.
                Some(p) if ('\u{20}'..='\u{2f}').contains(&p) => {
                    for q in chars.by_ref() {
                        if !('\u{20}'..='\u{2f}').contains(&q) {
                            break;
                        }
                    }
                }
                Some(_) | None => {}
            },
            '\r' => {}
            // C1 introducers (8-bit CSI, OSC…) and other controls become visible and inert.
            c => out.push(replacement(c)),
        }
    }
    close_span(&out, fg, bold, &mut span_start, &mut spans);
    (out, spans)
}

fn close_span(out: &str, fg: Option<u8>, bold: bool, start: &mut usize, spans: &mut Vec<SgrSpan>) {
    if (fg.is_some() || bold) && out.len() > *start {
        spans.push(SgrSpan {
            start: *start,
            end: out.len(),
            fg,
            bold,
        });
    }
    *start = out.len();
}

fn apply_sgr(params: &str, fg: &mut Option<u8>, bold: &mut bool) {
    if params.is_empty() {
        *fg = None;
        *bold = false;
        return;
    }
    let mut codes = params.split(';').map(|p| p.parse::<u16>().unwrap_or(0));
    while let Some(code) = codes.next() {
        match code {
            0 => {
                *fg = None;
                *bold = false;
            }
            1 => *bold = true,
            22 => *bold = false,
            30..=37 => *fg = Some((code - 30) as u8),
            90..=97 => *fg = Some((code - 90 + 8) as u8),
            39 => *fg = None,
            // 256-colour and truecolour forms: skip their arguments, keep the default colour.
            38 | 48 => match codes.next() {
                Some(5) => {
                    codes.next();
                }
                Some(2) => {
                    codes.next();
                    codes.next();
                    codes.next();
                }
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_loses_every_escape_but_keeps_sgr_as_data() {
        let (text, spans) = clean_terminal_text(
            "a\x1b]0;pwned\x07b\x1b[2Jc\x1b[31mred\x1b[0m \x1bPq#0;2\x1b\\d\x1b(Be\r",
        );
        assert_eq!(text, "abcred de");
        assert_eq!(
            spans,
            [SgrSpan {
                start: 3,
                end: 6,
                fg: Some(1),
                bold: false
            }]
        );
    }

    #[test]
    fn c1_controls_and_stray_bytes_are_shown_not_obeyed() {
        let (text, _) = clean_terminal_text("x\u{9b}2Jy\x07z\x1b]52;c;aGVsbG8=\x1b\\");
        assert_eq!(text, "x\u{fffd}2Jy␇z");
        let (text, spans) = clean_terminal_text("\x1b[1;38;5;196mhot\x1b[m");
        assert_eq!(text, "hot");
        assert!(spans[0].bold);
        assert_eq!(spans[0].fg, None);
    }

    #[test]
    fn clean_text_is_borrowed_untouched() {
        assert!(matches!(sanitize("web-1 ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_become_visible_and_inert() {
        let hostile = "x\x1b]0;pwned\x07\x1b[2Jy\u{9b}31m\u{7f}";
        let clean = sanitize(hostile);
        assert_eq!(clean, "x␛]0;pwned␇␛[2Jy\u{fffd}31m␡");
        assert!(!clean.chars().any(|c| c.is_control()));
    }

    #[test]
    fn tabs_newlines_and_bidi_overrides_are_neutralised() {
        assert_eq!(sanitize("a\tb\nc\u{202e}d"), "a b␊c\u{fffd}d");
    }
}
