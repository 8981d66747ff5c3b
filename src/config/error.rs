use std::path::PathBuf;

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
    /// A problem with an endpoint given on the command line or found in the environment.
    #[error("{origin}: {message}")]
    Source { origin: String, message: String },
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
