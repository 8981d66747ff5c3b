//! The file as written: serde structs that refuse unknown keys and keep the spans of values that
//! are validated later, so that an error can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::theme::RawStyleValue;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The whole fleet read-only (a top-level key: it must come before the first `[section]`).
    pub read_only: Option<bool>,
    #[serde(default)]
    pub endpoint: Vec<RawEndpoint>,
    /// `[cluster.NAME]` tables: settings of a whole cluster.
    #[serde(default)]
    pub cluster: BTreeMap<String, Spanned<RawCluster>>,
    #[serde(default)]
    pub engine: RawEngine,
    #[serde(default)]
    pub ui: RawUi,
    #[serde(default)]
    pub events: RawEvents,
    #[serde(default)]
    pub logs: RawLogs,
    #[serde(default)]
    pub stats: RawStats,
    #[serde(default)]
    pub wall: RawWall,
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<RawKeys>>,
    pub influx: Option<RawInflux>,
    /// `[[notify]]` tables: where alert notices are sent.
    #[serde(default)]
    pub notify: Vec<super::notify::RawNotify>,
    #[serde(default)]
    pub shell: RawShell,
    #[serde(default)]
    pub deploy: RawDeploy,
    /// `[[alert]]` rules.
    #[serde(default)]
    pub alert: Vec<super::alerts::RawAlert>,
    #[serde(default)]
    pub alerts: super::alerts::RawAlerts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    /// Where deploy specs live, relative to the config file.
    pub dir: Option<Spanned<String>>,
    pub keep_revisions: Option<Spanned<u64>>,
    pub wait_s: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub cluster: Option<Spanned<String>>,
    /// Spanned so that a label fleetdeck reads itself (`local_subnets`) can be refused by line.
    #[serde(default)]
    pub labels: BTreeMap<String, Spanned<String>>,
    pub tls: Option<Spanned<RawTls>>,
    /// `ssh -F`: an ssh client config for this endpoint instead of ~/.ssh/config.
    pub ssh_config: Option<Spanned<String>>,
    pub stats_interval_s: Option<Spanned<u64>>,
    pub read_only: Option<bool>,
    /// The command a host shell runs for this endpoint, as argv.
    pub host_shell: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub read_only: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// A `DOCKER_CERT_PATH`-style directory holding ca.pem, cert.pem and key.pem.
    pub dir: Option<Spanned<String>>,
    pub ca: Option<Spanned<String>>,
    pub cert: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    pub resync_s: Option<Spanned<u64>>,
    pub ping_s: Option<Spanned<u64>>,
    pub request_timeout_s: Option<Spanned<u64>>,
    pub backoff_max_s: Option<Spanned<u64>>,
    pub down_after_s: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub fps: Option<Spanned<u64>>,
    /// The view the dashboard opens on.
    pub view: Option<Spanned<String>>,
    pub mask_env: Option<bool>,
    /// Copy to the operator's clipboard through the terminal (OSC 52).
    pub clipboard: Option<bool>,
    /// Capture the mouse (wheel, clicks).
    pub mouse: Option<bool>,
    /// A built-in theme name or a theme file, relative to the config file.
    pub theme: Option<Spanned<String>>,
    /// Frame style per cluster name.
    #[serde(default)]
    pub cluster_border: BTreeMap<String, Spanned<RawStyleValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvents {
    pub history: Option<Spanned<u64>>,
    pub restart_loop_count: Option<Spanned<u64>>,
    pub restart_loop_window_s: Option<Spanned<u64>>,
    pub backfill_s: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    pub tail: Option<Spanned<u64>>,
    pub max_lines: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShell {
    pub exec: Option<Spanned<Vec<String>>>,
    pub height_percent: Option<Spanned<u64>>,
    pub scrollback: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStats {
    pub interval_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub cluster_interval_s: BTreeMap<String, Spanned<u64>>,
    pub history_s: Option<Spanned<u64>>,
    pub offscreen_interval_s: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInflux {
    pub url: Spanned<String>,
    pub org: Spanned<String>,
    pub bucket: Spanned<String>,
    /// Name of the environment variable holding the token; the token never goes in the file.
    pub token_env: Spanned<String>,
    pub interval_s: Option<Spanned<u64>>,
    pub queue: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWall {
    pub views: Option<Spanned<Vec<String>>>,
    pub rotate_s: Option<Spanned<u64>>,
    pub quit_key: Option<Spanned<String>>,
}

/// A key binding: one key or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawKeys {
    One(String),
    Many(Vec<String>),
}
