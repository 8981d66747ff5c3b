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

#[cfg(test)]
mod tests {
    use super::*;

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
