//! The one range check every numeric key goes through, so each says it the same way.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use toml::Spanned;

use super::error::ConfigError;

/// `value` if `range` holds it; otherwise the error at its line naming `key` and the valid
/// values: "N is out of range; valid values: LO to HI", then `unit` (`" (seconds)"` or `""`).
pub(super) fn in_range<T: PartialOrd + Copy + Display>(
    value: &Spanned<T>,
    key: &str,
    range: RangeInclusive<T>,
    unit: &str,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<T, ConfigError> {
    let v = *value.get_ref();
    if range.contains(&v) {
        return Ok(v);
    }
    Err(invalid(
        value.span().start,
        key.to_string(),
        format!(
            "{v} is out of range; valid values: {} to {}{unit}",
            range.start(),
            range.end()
        ),
    ))
}

/// A key in seconds: `default` when it is left out, else checked by [`in_range`].
pub(super) fn seconds(
    value: &Option<Spanned<u64>>,
    key: &str,
    range: RangeInclusive<u64>,
    default: Duration,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => in_range(v, key, range, " (seconds)", invalid).map(Duration::from_secs),
    }
}
