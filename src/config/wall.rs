//! `[wall]`: the views a wall display rotates through, how fast, and its one key, validated.

use super::WallSettings;
use super::error::ConfigError;
use super::range::seconds;
use super::raw::RawWall;
use crate::model::View;

/// `[wall]`: at least one openable view, a range-checked rotation, a single printable quit key
/// (or `""` for none).
pub(super) fn resolve(
    raw: &RawWall,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<WallSettings, ConfigError> {
    let mut wall = WallSettings::default();
    if let Some(views) = &raw.views {
        if views.get_ref().is_empty() {
            return Err(invalid(
                views.span().start,
                "wall.views".into(),
                format!(
                    "needs at least one view; valid views: {}",
                    View::openable_names().join(", ")
                ),
            ));
        }
        wall.views = views
            .get_ref()
            .iter()
            .map(|v| View::parse_openable(v))
            .collect::<Result<_, _>>()
            .map_err(|message| invalid(views.span().start, "wall.views".into(), message))?;
    }
    wall.rotate = seconds(
        &raw.rotate_s,
        "wall.rotate_s",
        3..=3600,
        wall.rotate,
        invalid,
    )?;
    if let Some(key) = &raw.quit_key {
        let mut chars = key.get_ref().chars();
        wall.quit_key = match (chars.next(), chars.next()) {
            (None, _) => None,
            (Some(c), None) if !c.is_control() => Some(c),
            _ => {
                return Err(invalid(
                    key.span().start,
                    "wall.quit_key".into(),
                    format!(
                        "\"{}\" is not a single key; use one character, or \"\" to disable quitting",
                        key.get_ref()
                    ),
                ));
            }
        };
    }
    Ok(wall)
}
