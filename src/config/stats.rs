//! `[stats]`: how often containers are sampled (globally, per cluster, off screen) and how
//! much history each keeps, validated.

use std::time::Duration;

use super::StatsSettings;
use super::error::ConfigError;
use super::range::{in_range, seconds};
use super::raw::RawStats;

/// `[stats]`, each key range-checked; `interval_s = 0` and `offscreen_interval_s = 0` turn
/// sampling off.
pub(super) fn resolve(
    raw: &RawStats,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<StatsSettings, ConfigError> {
    let mut stats = StatsSettings::default();
    if let Some(v) = &raw.interval_s {
        stats.interval = match *v.get_ref() {
            0 => None,
            n if n <= 3600 => Some(Duration::from_secs(n)),
            n => {
                return Err(invalid(
                    v.span().start,
                    "stats.interval_s".into(),
                    format!("{n} is out of range; valid values: 0 (off) or 1 to 3600 (seconds)"),
                ));
            }
        };
    }
    for (cluster, v) in &raw.cluster_interval_s {
        let key = format!("stats.cluster_interval_s.{cluster}");
        let secs = in_range(v, &key, 1..=3600, " (seconds)", invalid)?;
        stats
            .per_cluster
            .insert(cluster.clone(), Duration::from_secs(secs));
    }
    stats.window = seconds(
        &raw.history_s,
        "stats.history_s",
        10..=86_400,
        stats.window,
        invalid,
    )?;
    stats.offscreen_interval = match &raw.offscreen_interval_s {
        Some(v) if *v.get_ref() == 0 => None,
        v => Some(seconds(
            v,
            "stats.offscreen_interval_s",
            0..=3600,
            Duration::from_secs(10),
            invalid,
        )?),
    };
    Ok(stats)
}
