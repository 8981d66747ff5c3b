//! `[events]`: how many events the merged log keeps and what counts as a restart loop, validated.

use std::time::Duration;

use super::EventSettings;
use super::error::ConfigError;
use super::range::{in_range, seconds};
use super::raw::RawEvents;

/// `[events]`, each key range-checked. `backfill_s` is the engine's: it comes back beside the
/// settings, `backfill` (the engine's default) when left out.
pub(super) fn resolve(
    raw: &RawEvents,
    backfill: Duration,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<(EventSettings, Duration), ConfigError> {
    let mut events = EventSettings::default();
    if let Some(h) = &raw.history {
        events.history = in_range(h, "events.history", 100..=1_000_000, "", invalid)? as usize;
    }
    if let Some(c) = &raw.restart_loop_count {
        events.restart_loop.count =
            in_range(c, "events.restart_loop_count", 2..=100, "", invalid)? as usize;
    }
    events.restart_loop.window = seconds(
        &raw.restart_loop_window_s,
        "events.restart_loop_window_s",
        10..=86_400,
        events.restart_loop.window,
        invalid,
    )?;
    let backfill = seconds(
        &raw.backfill_s,
        "events.backfill_s",
        0..=86_400,
        backfill,
        invalid,
    )?;
    Ok((events, backfill))
}
