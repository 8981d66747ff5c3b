//! Theme files: the raw serde layer (unknown keys refused, spans kept) and its resolution into a
//! [`ThemeSpec`], plain values that the UI lays over its dark theme, with errors that name the
//! file, the line, the key and what would be valid.
//!
//! ```toml
//! extends = "dark"        # optional: start from a built-in and change some keys;
//!                         # without it the file must give every key
//! [styles]
//! "container.unhealthy" = { fg = "red", bold = true }
//! "pool.conflict" = { fg = "white", bg = "#cc0000", bold = true }
//! "dim" = "dark-gray"     # a colour alone is the foreground
//! ```
//!
//! A key replaces the whole style it names (nothing is inherited from the built-in's style for
//! that key), so what the file says is what the screen shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

mod colour;

pub use colour::parse_colour;
use colour::{COLOUR_NAMES, RawColour, RawColourVisitor};

use super::{ConfigError, deserialize_toml, line_of};
use crate::model::DEFAULT_CLUSTER;

/// The themes shipped in `themes/`, compiled into the binary: name and file text.
pub const BUILTIN_THEMES: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("16-colour", include_str!("../../themes/16-colour.toml")),
];

/// Every style key of a theme file, in the order the files and the error messages list them.
/// The UI maps each to a field of its `Theme` (`ui::theme::STYLE_KEYS`, tested to match).
pub const THEME_KEYS: [&str; 36] = [
    "base",
    "header",
    "title",
    "border",
    "border.focused",
    "key",
    "hint",
    "selection",
    "group.header",
    "dim",
    "error",
    "status.message",
    "endpoint.up",
    "endpoint.down",
    "endpoint.connecting",
    "container.running",
    "container.exited",
    "container.exited_nonzero",
    "container.restarting",
    "container.paused",
    "container.healthy",
    "container.unhealthy",
    "stale",
    "masked",
    "event.critical",
    "event.die_nonzero",
    "event.warning",
    "event.endpoint",
    "pool.ok",
    "pool.warn",
    "pool.full",
    "pool.conflict",
    "log.stderr",
    "log.marker",
    "search.match",
    "search.current",
];

/// A theme as the files and the config describe it: the changes to the built-in dark theme,
/// by key. A key replaces the whole style it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThemeSpec {
    /// By key of [`THEME_KEYS`].
    pub styles: BTreeMap<&'static str, Style>,
    pub source_tags: Option<Vec<Style>>,
    pub log_colors: Option<bool>,
    pub ansi: Option<[Color; 16]>,
    /// `[ui] cluster_border` in the config; not part of theme files.
    pub cluster_borders: BTreeMap<String, Style>,
}

/// How many `extends` a theme may go through; deeper means the shipped files extend in a circle.
const MAX_EXTENDS: usize = 3;

/// Keys of a theme file outside `[styles]`.
const OTHER_KEYS: [&str; 3] = ["source_tags", "log_colors", "ansi"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThemeFile {
    /// A label for people reading the file; the theme's name is how the config refers to it.
    #[allow(dead_code)]
    name: Option<String>,
    extends: Option<Spanned<String>>,
    #[serde(default)]
    styles: BTreeMap<Spanned<String>, Spanned<RawStyleValue>>,
    source_tags: Option<Spanned<Vec<Spanned<RawColour>>>>,
    log_colors: Option<bool>,
    ansi: Option<Spanned<Vec<Spanned<RawColour>>>>,
}

/// A style as written: `{ fg = "red", bold = true }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStyle {
    fg: Option<Spanned<RawColour>>,
    bg: Option<Spanned<RawColour>>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

/// A style table, or a colour alone as shorthand for `{ fg = colour }`.
#[derive(Debug)]
pub(crate) enum RawStyleValue {
    Colour(RawColour),
    Style(RawStyle),
}

impl<'de> Deserialize<'de> for RawStyleValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawStyleValueVisitor)
    }
}

struct RawStyleValueVisitor;

impl<'de> serde::de::Visitor<'de> for RawStyleValueVisitor {
    type Value = RawStyleValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a style like { fg = \"red\", bold = true }, or a colour")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawStyleValue, E> {
        RawColourVisitor.visit_str(v).map(RawStyleValue::Colour)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawStyleValue, E> {
        RawColourVisitor.visit_i64(v).map(RawStyleValue::Colour)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawStyleValue, E> {
        RawColourVisitor.visit_u64(v).map(RawStyleValue::Colour)
    }

    // Through the map's own deserializer, so the spans and the unknown-key errors of the
    // attributes survive.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawStyleValue, A::Error> {
        RawStyle::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(RawStyleValue::Style)
    }
}

/// The text being resolved, for errors that point into it.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn invalid(&self, offset: usize, key: impl Into<String>, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line: line_of(self.text, offset),
            key: key.into(),
            message,
        }
    }

    fn syntax(&self, offset: usize, message: String) -> ConfigError {
        ConfigError::Syntax {
            path: self.path.to_path_buf(),
            line: line_of(self.text, offset),
            message,
        }
    }

    fn style(&self, value: &Spanned<RawStyleValue>, key: &str) -> Result<Style, ConfigError> {
        let colour = |c: &Spanned<RawColour>, key: String| {
            parse_colour(c.get_ref()).map_err(|m| self.invalid(c.span().start, key, m))
        };
        let raw = match value.get_ref() {
            RawStyleValue::Colour(c) => {
                let c = parse_colour(c).map_err(|m| self.invalid(value.span().start, key, m))?;
                return Ok(Style::new().fg(c));
            }
            RawStyleValue::Style(raw) => raw,
        };
        let mut style = Style::new();
        if let Some(fg) = &raw.fg {
            style = style.fg(colour(fg, format!("{key}.fg"))?);
        }
        if let Some(bg) = &raw.bg {
            style = style.bg(colour(bg, format!("{key}.bg"))?);
        }
        for (on, modifier) in [
            (raw.bold, Modifier::BOLD),
            (raw.dim, Modifier::DIM),
            (raw.italic, Modifier::ITALIC),
            (raw.underlined, Modifier::UNDERLINED),
            (raw.reversed, Modifier::REVERSED),
        ] {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        Ok(style)
    }

    fn colours(
        &self,
        list: &Spanned<Vec<Spanned<RawColour>>>,
        key: &str,
    ) -> Result<Vec<Color>, ConfigError> {
        list.get_ref()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                parse_colour(c.get_ref())
                    .map_err(|m| self.invalid(c.span().start, format!("{key}[{i}]"), m))
            })
            .collect()
    }
}

/// `container.unhealthy` → `"container.unhealthy"`, `prod-us` → `prod-us`: a key as TOML
/// would need it written, for key paths in messages.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn builtin_names() -> String {
    BUILTIN_THEMES.map(|(name, _)| name).join(", ")
}

/// Reads and resolves a theme file.
pub fn parse_theme_file(path: &Path) -> Result<ThemeSpec, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_theme_str(&text, path)
}

/// Resolves theme file text; `path` is used in error messages.
pub fn parse_theme_str(text: &str, path: &Path) -> Result<ThemeSpec, ConfigError> {
    parse(text, path, 0)
}

/// A shipped theme by name (see [`BUILTIN_THEMES`]); `None` for an unknown name. The
/// shipped files are compiled in and tested to load, so the error is a bug report.
pub fn builtin(name: &str) -> Option<Result<ThemeSpec, ConfigError>> {
    builtin_at(name, 0)
}

fn builtin_at(name: &str, depth: usize) -> Option<Result<ThemeSpec, ConfigError>> {
    // The code is the reference for the default (`ui::Theme::dark`, no changes);
    // themes/dark.toml is tested to equal it.
    if name == "dark" {
        return Some(Ok(ThemeSpec::default()));
    }
    let (name, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
    let path = PathBuf::from(format!("themes/{name}.toml"));
    if depth > MAX_EXTENDS {
        return Some(Err(ConfigError::Syntax {
            path,
            line: 1,
            message: format!(
                "extends goes more than {MAX_EXTENDS} themes deep; is there a circle?"
            ),
        }));
    }
    Some(parse(text, &path, depth))
}

fn parse(text: &str, path: &Path, depth: usize) -> Result<ThemeSpec, ConfigError> {
    let src = Source { path, text };
    let raw: RawThemeFile = deserialize_toml(text, path)?;

    let mut theme = match &raw.extends {
        None => ThemeSpec::default(),
        Some(name) => match builtin_at(name.get_ref(), depth + 1) {
            Some(theme) => theme?,
            None => {
                return Err(src.invalid(
                    name.span().start,
                    "extends",
                    format!(
                        "unknown built-in theme \"{}\"; built-in themes: {}",
                        name.get_ref(),
                        builtin_names()
                    ),
                ));
            }
        },
    };

    // In file order, so that the first mistake reported is the first one in the file.
    let mut styles: Vec<_> = raw.styles.iter().collect();
    styles.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in &styles {
        let Some(style_key) = THEME_KEYS.into_iter().find(|k| *k == key.get_ref()) else {
            return Err(src.syntax(
                key.span().start,
                format!(
                    "unknown theme key \"{}\"; valid keys: {}",
                    key.get_ref(),
                    THEME_KEYS.join(", ")
                ),
            ));
        };
        let path = format!("styles.{}", toml_key(style_key));
        theme.styles.insert(style_key, src.style(value, &path)?);
    }
    if let Some(tags) = &raw.source_tags {
        if tags.get_ref().is_empty() {
            return Err(src.invalid(
                tags.span().start,
                "source_tags",
                "needs at least one colour".into(),
            ));
        }
        theme.source_tags = Some(
            src.colours(tags, "source_tags")?
                .into_iter()
                .map(|c| Style::new().fg(c))
                .collect(),
        );
    }
    if let Some(log_colors) = raw.log_colors {
        theme.log_colors = Some(log_colors);
    }
    if let Some(ansi) = &raw.ansi {
        let colours = src.colours(ansi, "ansi")?;
        let names: Vec<&str> = COLOUR_NAMES[..16].iter().map(|(n, _)| *n).collect();
        let ansi = colours.try_into().map_err(|c: Vec<Color>| {
            src.invalid(
                ansi.span().start,
                "ansi",
                format!(
                    "{} colours given; give all 16, for: {}",
                    c.len(),
                    names.join(", ")
                ),
            )
        })?;
        theme.ansi = Some(ansi);
    }

    if raw.extends.is_none() {
        let given = |name: &str| styles.iter().any(|(k, _)| k.get_ref() == name);
        let mut missing: Vec<&str> = THEME_KEYS.into_iter().filter(|name| !given(name)).collect();
        for (key, present) in OTHER_KEYS.iter().zip([
            raw.source_tags.is_some(),
            raw.log_colors.is_some(),
            raw.ansi.is_some(),
        ]) {
            if !present {
                missing.push(key);
            }
        }
        if !missing.is_empty() {
            return Err(src.syntax(
                0,
                format!(
                    "a theme without extends must give every key; missing: {} (or start from a built-in theme: extends = \"dark\")",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(theme)
}

/// The theme a config asks for: `[ui] theme` (a built-in name, or a file relative to the config
/// file) plus `[ui] cluster_border`. `clusters` are those the config's endpoints name.
pub(crate) fn from_config(
    theme: Option<&Spanned<String>>,
    cluster_border: &BTreeMap<String, Spanned<RawStyleValue>>,
    clusters: &[String],
    text: &str,
    path: &Path,
) -> Result<ThemeSpec, ConfigError> {
    let src = Source { path, text };
    let mut resolved = match theme {
        None => ThemeSpec::default(),
        Some(name) => {
            let at = name.span().start;
            let name = name.get_ref().trim();
            match builtin(name) {
                Some(theme) => theme?,
                None if name.ends_with(".toml") => {
                    let base_dir = path.parent().unwrap_or(Path::new("."));
                    let file = base_dir.join(name);
                    if !file.is_file() {
                        return Err(src.invalid(
                            at,
                            "ui.theme",
                            format!("file \"{}\" does not exist", file.display()),
                        ));
                    }
                    parse_theme_file(&file)?
                }
                None => {
                    return Err(src.invalid(
                        at,
                        "ui.theme",
                        format!(
                            "unknown theme \"{name}\"; built-in themes: {}, or a path to a .toml file",
                            builtin_names()
                        ),
                    ));
                }
            }
        }
    };
    let mut known: Vec<&str> = clusters.iter().map(String::as_str).collect();
    if !known.contains(&DEFAULT_CLUSTER) {
        known.push(DEFAULT_CLUSTER);
    }
    for (cluster, value) in cluster_border {
        let key = format!("ui.cluster_border.{}", toml_key(cluster));
        if !known.contains(&cluster.as_str()) {
            return Err(src.invalid(
                value.span().start,
                key,
                format!(
                    "unknown cluster \"{cluster}\"; clusters in this file: {}",
                    known.join(", ")
                ),
            ));
        }
        let style = src.style(value, &key)?;
        resolved.cluster_borders.insert(cluster.clone(), style);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_only_when_toml_needs_it() {
        assert_eq!(toml_key("base"), "base");
        assert_eq!(toml_key("prod-us"), "prod-us");
        assert_eq!(toml_key("container.unhealthy"), "\"container.unhealthy\"");
        assert_eq!(toml_key("a \"b\""), "\"a \\\"b\\\"\"");
    }

    #[test]
    fn an_override_replaces_the_whole_style_of_its_key() {
        let theme = parse_theme_str(
            "extends = \"dark\"\n[styles]\n\"container.unhealthy\" = { fg = \"magenta\" }\n\"dim\" = 244\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(
            theme.styles["container.unhealthy"],
            Style::new().fg(Color::Magenta)
        );
        assert_eq!(theme.styles["dim"], Style::new().fg(Color::Indexed(244)));
        assert!(!theme.styles.contains_key("container.running"));
    }

    #[test]
    fn table_headers_work_like_inline_tables() {
        let theme = parse_theme_str(
            "extends = \"dark\"\n[styles.\"pool.conflict\"]\nfg = \"white\"\nbg = \"#cc0000\"\nbold = true\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(
            theme.styles["pool.conflict"],
            Style::new()
                .fg(Color::White)
                .bg(Color::Rgb(0xcc, 0, 0))
                .add_modifier(Modifier::BOLD)
        );
        let err = parse_theme_str(
            "extends = \"dark\"\n[styles.\"pool.conflict\"]\nbold = true\nfg = \"whit\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("t.toml:4: styles.\"pool.conflict\".fg: unknown colour \"whit\""),
            "{err}"
        );
    }
}
