//! `[logs]`: how much history a log tail starts with and keeps, validated.

use super::LogSettings;
use super::error::ConfigError;
use super::range::in_range;
use super::raw::RawLogs;

/// `[logs]`, each key range-checked; left-out keys keep their defaults.
pub(super) fn resolve(
    raw: &RawLogs,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<LogSettings, ConfigError> {
    let mut logs = LogSettings::default();
    if let Some(t) = &raw.tail {
        logs.tail = in_range(t, "logs.tail", 0..=100_000, "", invalid)?;
    }
    if let Some(m) = &raw.max_lines {
        logs.max_lines = in_range(m, "logs.max_lines", 100..=1_000_000, "", invalid)? as usize;
    }
    Ok(logs)
}
