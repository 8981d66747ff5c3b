//! Deploy spec files (`deploy/*.toml`): the TOML as written (`raw`), checked key by key into
//! a [`DeploySpec`](crate::model::deploy::DeploySpec) (`spec`, with its `docker run` keys in
//! `run`), and written back from one ([`write`]). Errors name the file, the line, the key and
//! what would be accepted, like the config file's. The config file's own `[deploy]` section
//! is validated here too.

use std::path::Path;

mod raw;
mod run;
mod spec;
pub mod write;

pub use spec::{find_spec, load_spec, parse_spec};

use super::DeploySettings;
use super::error::ConfigError;
use super::range::in_range;
use super::raw::RawDeploy;

/// `[deploy]` of the config file: the spec directory (relative to `base_dir`, the config
/// file's; `deploy` when left out) and the range-checked history and wait.
pub(super) fn settings(
    raw: &RawDeploy,
    base_dir: &Path,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<DeploySettings, ConfigError> {
    let mut deploy = DeploySettings::default();
    if let Some(dir) = &raw.dir {
        if dir.get_ref().trim().is_empty() {
            return Err(invalid(
                dir.span().start,
                "deploy.dir".into(),
                "empty; give a directory such as \"deploy\" (relative to this file)".into(),
            ));
        }
        deploy.dir = base_dir.join(dir.get_ref());
    } else {
        deploy.dir = base_dir.join("deploy");
    }
    if let Some(k) = &raw.keep_revisions {
        deploy.keep_revisions =
            in_range(k, "deploy.keep_revisions", 1..=100, "", invalid)? as usize;
    }
    if let Some(w) = &raw.wait_s {
        deploy.wait_s = in_range(w, "deploy.wait_s", 1..=3600, "", invalid)?;
    }
    Ok(deploy)
}
