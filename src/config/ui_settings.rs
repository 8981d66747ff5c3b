//! `[ui]`: frame rate, masking, clipboard, mouse, the opening view and the theme, validated
//! into [`UiSettings`].

use std::path::Path;

use super::error::ConfigError;
use super::range::in_range;
use super::raw::RawUi;
use super::{UiSettings, theme};
use crate::model::{EndpointSpec, View};

/// `[ui]`: a range-checked frame rate, an openable view, and the theme with per-cluster
/// borders (which may only name the clusters of `endpoints`); `text` and `path` are the
/// config file's, for the theme's errors.
pub(super) fn resolve(
    raw: &RawUi,
    endpoints: &[EndpointSpec],
    text: &str,
    path: &Path,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<UiSettings, ConfigError> {
    let mut ui = UiSettings::default();
    if let Some(fps) = &raw.fps {
        ui.fps = in_range(fps, "ui.fps", 1..=60, "", invalid)? as u32;
    }
    if let Some(mask) = raw.mask_env {
        ui.mask_env = mask;
    }
    if let Some(clipboard) = raw.clipboard {
        ui.clipboard = clipboard;
    }
    if let Some(mouse) = raw.mouse {
        ui.mouse = mouse;
    }
    if let Some(view) = &raw.view {
        ui.view = View::parse_openable(view.get_ref())
            .map_err(|message| invalid(view.span().start, "ui.view".into(), message))?;
    }
    let clusters: Vec<String> = endpoints.iter().map(|e| e.cluster.clone()).collect();
    ui.theme = theme::from_config(
        raw.theme.as_ref(),
        &raw.cluster_border,
        &clusters,
        text,
        path,
    )?;
    Ok(ui)
}
