use std::path::{Path, PathBuf};

/// A configuration problem, worded for the operator who has to fix it: which file, which line,
/// which key, what was wrong and what would have been accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// TOML syntax errors and keys the schema does not know.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A value that parsed but makes no sense (bad URL scheme, duplicate name, missing file…).
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    /// A config file that exists but says nothing: most likely truncated. Falling back to
    /// `DOCKER_HOST` would point fleetdeck at another daemon, with none of the file's settings
    /// (read-only among them).
    #[error(
        "{}: the file is empty (nothing but blanks and comments); add an [[endpoint]], or remove the file to use DOCKER_HOST",
        path.display()
    )]
    Empty { path: PathBuf },
    /// A config file that names no daemon, and no `--host`/`--contexts` to add one.
    #[error(
        "{}: no [[endpoint]] is defined; add one (see config.example.toml), or add daemons with --host or --contexts",
        path.display()
    )]
    NoEndpoints { path: PathBuf },
    /// A problem with an endpoint given on the command line or found in the environment.
    #[error("{origin}: {message}")]
    Source { origin: String, message: String },
}

/// Deserializes a whole TOML file into its raw serde structs, keeping track of where serde was
/// when a value did not fit. TOML syntax errors, unknown keys and missing keys name the line;
/// a value of the wrong type also names its key path (`endpoint[2].read_only`), since the
/// line alone does not say which of several keys on it is wrong.
pub(crate) fn deserialize_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    let syntax = |e: &toml::de::Error| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: reword_serde_message(e.message()),
    };
    let document = toml::Deserializer::parse(text).map_err(|e| syntax(&e))?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        let segments: Vec<&serde_path_to_error::Segment> = e.path().iter().collect();
        let at = e.inner().span().map(|s| s.start);
        let key = at
            .and_then(|at| key_path(&segments, text, at))
            .unwrap_or_default();
        let inner = e.into_inner();
        let message = inner.message().trim();
        let names_its_key =
            message.starts_with("unknown field `") || message.starts_with("missing field `");
        if names_its_key || key.is_empty() {
            return syntax(&inner);
        }
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line: inner.span().map_or(1, |s| line_of(text, s.start)),
            key,
            message: reword_type_message(message),
        }
    })
}

/// `endpoint[2].read_only`, `styles."container.unhealthy".fg`: a key path as the operator
/// would write it, without serde's private segments (the `Spanned` wrappers' fields). A map
/// key serde could not see as a string (a `Spanned` key) is read from the text: the key before
/// the inline table holding the error. `None` when it cannot be.
fn key_path(segments: &[&serde_path_to_error::Segment], text: &str, at: usize) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        let key = match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned_private") {
                    continue;
                }
                key.clone()
            }
            Segment::Unknown => {
                let inner_keys = segments[i + 1..]
                    .iter()
                    .filter(|s| matches!(s, Segment::Map { key } if !key.starts_with("$__serde")))
                    .count();
                let mut value_at = at;
                for _ in 0..inner_keys {
                    value_at = enclosing_inline_table(text, value_at)?;
                }
                key_before(text, value_at)?
            }
        };
        if !out.is_empty() {
            out.push('.');
        }
        let bare = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare {
            out.push_str(&key);
        } else {
            out.push_str(&format!("{:?}", crate::model::text::sanitize(&key)));
        }
    }
    Some(out)
}

/// Where the inline table around byte `at` opens (its `{`), on the same line.
fn enclosing_inline_table(text: &str, at: usize) -> Option<usize> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |n| n + 1);
    let mut depth = 0usize;
    for (i, c) in text.get(line_start..at)?.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth == 0 => return Some(line_start + i),
            '{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The key of `key = value` when the value starts at byte `at`: bare or in double quotes.
fn key_before(text: &str, at: usize) -> Option<String> {
    let before = text.get(..at)?.trim_end().strip_suffix('=')?.trim_end();
    if let Some(quoted) = before.strip_suffix('"') {
        let open = quoted.rfind('"')?;
        return Some(quoted[open + 1..].to_string());
    }
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    let key = &before[start..];
    (!key.is_empty()).then(|| key.to_string())
}

/// serde's "invalid type: string \"yes\", expected a boolean" as "expected a boolean, found
/// the string \"yes\"": what is wanted first.
fn reword_type_message(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!("expected {expected}, found {}", found.replace('`', ""));
        }
    }
    message.replace('`', "\"")
}

/// 1-based line of a byte offset in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Rewrites serde's wording of an unknown key ("unknown field `x`, expected one of `a`, `b`")
/// into the project's ("unknown key "x"; valid keys: a, b").
pub(crate) fn reword_serde_message(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let valid: Vec<&str> = expected
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        return if valid.is_empty() {
            format!("unknown key \"{field}\"; no keys are allowed here")
        } else {
            format!("unknown key \"{field}\"; valid keys: {}", valid.join(", "))
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return format!("missing required key \"{field}\"");
    }
    message.replace('`', "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_message_is_reworded_with_valid_keys() {
        assert_eq!(
            reword_serde_message("unknown field `urll`, expected one of `name`, `url`"),
            "unknown key \"urll\"; valid keys: name, url"
        );
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
