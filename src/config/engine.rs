//! `[engine]`: how often the engine resyncs and pings, and how long it waits, validated.

use super::EngineSettings;
use super::error::ConfigError;
use super::range::seconds;
use super::raw::RawEngine;

/// `[engine]`, each key range-checked; left-out keys keep their defaults. (`[events]
/// backfill_s` lands here too, set by the `[events]` validator.)
pub(super) fn resolve(
    raw: &RawEngine,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<EngineSettings, ConfigError> {
    let mut engine = EngineSettings::default();
    engine.resync = seconds(
        &raw.resync_s,
        "engine.resync_s",
        5..=3600,
        engine.resync,
        invalid,
    )?;
    engine.ping = seconds(&raw.ping_s, "engine.ping_s", 1..=300, engine.ping, invalid)?;
    engine.request_timeout = seconds(
        &raw.request_timeout_s,
        "engine.request_timeout_s",
        1..=300,
        engine.request_timeout,
        invalid,
    )?;
    engine.backoff_max = seconds(
        &raw.backoff_max_s,
        "engine.backoff_max_s",
        1..=3600,
        engine.backoff_max,
        invalid,
    )?;
    engine.down_after = seconds(
        &raw.down_after_s,
        "engine.down_after_s",
        2..=600,
        engine.down_after,
        invalid,
    )?;
    Ok(engine)
}
