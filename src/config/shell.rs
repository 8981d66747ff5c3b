//! `[shell]`: the shells an exec tries, the pane's height and its scrollback, validated.

use super::ShellSettings;
use super::error::ConfigError;
use super::range::in_range;
use super::raw::RawShell;

/// `[shell]`, validated: shell names are single words or paths (they go into a `sh -c` probe
/// in the container, so nothing there may be read as shell syntax).
pub(super) fn resolve(
    raw: &RawShell,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<ShellSettings, ConfigError> {
    let mut shell = ShellSettings::default();
    if let Some(list) = &raw.exec {
        if list.get_ref().is_empty() {
            return Err(invalid(
                list.span().start,
                "shell.exec".into(),
                "needs at least one shell, e.g. [\"bash\", \"sh\"]".into(),
            ));
        }
        for name in list.get_ref() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
            if !ok {
                return Err(invalid(
                    list.span().start,
                    "shell.exec".into(),
                    format!(
                        "\"{name}\" is not a shell name; use a program name or path (letters, digits, / . _ -)"
                    ),
                ));
            }
        }
        shell.exec = list.get_ref().clone();
    }
    if let Some(p) = &raw.height_percent {
        shell.height_percent = in_range(p, "shell.height_percent", 20..=90, "", invalid)? as u16;
    }
    if let Some(s) = &raw.scrollback {
        shell.scrollback = in_range(s, "shell.scrollback", 0..=100_000, "", invalid)? as usize;
    }
    Ok(shell)
}
