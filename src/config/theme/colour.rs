//! Colours as theme files and the config write them: a name, `"#rrggbb"`, or a 256-colour index
//! (an integer, or the same digits as a string).

use ratatui::style::Color;

/// The accepted names, in ANSI order, as the error message lists them.
pub const COLOUR_NAMES: [(&str, Color); 17] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
    ("reset", Color::Reset),
];

/// What a colour may be, for the end of every colour error.
pub fn valid_colours() -> String {
    let names: Vec<&str> = COLOUR_NAMES.iter().map(|(n, _)| *n).collect();
    format!("valid: a name ({}), \"#rrggbb\" or 0-255", names.join(", "))
}

/// A colour as written: text or an integer. Checked by [`parse_colour`], where the error can
/// name the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawColour {
    Text(String),
    Index(i64),
}

impl<'de> serde::Deserialize<'de> for RawColour {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawColourVisitor)
    }
}

pub(super) struct RawColourVisitor;

impl serde::de::Visitor<'_> for RawColourVisitor {
    type Value = RawColour;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a colour: a name, \"#rrggbb\" or 0-255")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawColour, E> {
        Ok(RawColour::Text(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawColour, E> {
        Ok(RawColour::Index(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawColour, E> {
        Ok(RawColour::Index(i64::try_from(v).unwrap_or(i64::MAX)))
    }
}

/// Resolves a colour; the error text is the part after "key: ".
pub fn parse_colour(raw: &RawColour) -> Result<Color, String> {
    match raw {
        RawColour::Index(i) => index(*i),
        RawColour::Text(text) => {
            let t = text.trim();
            if let Some(hex) = t.strip_prefix('#') {
                return rgb(hex).ok_or_else(|| {
                    format!(
                        "\"{text}\" is not a colour; hex colours are \"#rrggbb\", like \"#cc0000\""
                    )
                });
            }
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                return index(t.parse().unwrap_or(i64::MAX));
            }
            // "dark-gray", "darkgray", "dark_gray", "Dark Gray" and "dark-grey" are one colour.
            let key: String = t
                .to_ascii_lowercase()
                .replace("grey", "gray")
                .chars()
                .filter(|c| !matches!(c, '-' | '_' | ' '))
                .collect();
            COLOUR_NAMES
                .iter()
                .find(|(name, _)| name.replace('-', "") == key)
                .map(|(_, colour)| *colour)
                .ok_or_else(|| format!("unknown colour \"{text}\"; {}", valid_colours()))
        }
    }
}

fn index(i: i64) -> Result<Color, String> {
    u8::try_from(i).map(Color::Indexed).map_err(|_| {
        format!("colour index {i} is out of range; valid: 0-255, a name or \"#rrggbb\"")
    })
}

fn rgb(hex: &str) -> Option<Color> {
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(Color::Rgb(channel(0)?, channel(2)?, channel(4)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colour(text: &str) -> Result<Color, String> {
        parse_colour(&RawColour::Text(text.into()))
    }

    #[test]
    fn names_hex_and_indexes_are_colours() {
        assert_eq!(colour("red"), Ok(Color::Red));
        assert_eq!(colour("light-magenta"), Ok(Color::LightMagenta));
        for spelling in ["dark-gray", "darkgray", "dark_gray", "Dark Grey"] {
            assert_eq!(colour(spelling), Ok(Color::DarkGray), "{spelling}");
        }
        assert_eq!(colour("#cc0000"), Ok(Color::Rgb(0xcc, 0, 0)));
        assert_eq!(colour("196"), Ok(Color::Indexed(196)));
        assert_eq!(parse_colour(&RawColour::Index(0)), Ok(Color::Indexed(0)));
    }

    #[test]
    fn bad_colours_say_what_is_valid() {
        assert_eq!(
            colour("rde"),
            Err("unknown colour \"rde\"; valid: a name (black, red, green, yellow, blue, magenta, cyan, gray, dark-gray, light-red, light-green, light-yellow, light-blue, light-magenta, light-cyan, white, reset), \"#rrggbb\" or 0-255".into())
        );
        assert_eq!(
            colour("#cc00"),
            Err("\"#cc00\" is not a colour; hex colours are \"#rrggbb\", like \"#cc0000\"".into())
        );
        assert_eq!(
            parse_colour(&RawColour::Index(256)),
            Err("colour index 256 is out of range; valid: 0-255, a name or \"#rrggbb\"".into())
        );
        assert_eq!(
            colour("300"),
            Err("colour index 300 is out of range; valid: 0-255, a name or \"#rrggbb\"".into())
        );
    }
}
