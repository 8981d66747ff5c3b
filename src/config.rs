//! Configuration: the raw serde layer (`raw`), Docker CLI contexts (`contexts`), and the validated
//! typed values every other module uses. Nothing here touches the network.

mod access;
pub mod alerts;
pub mod contexts;
pub mod deploy;
mod endpoint;
mod engine;
mod error;
mod events;
pub mod influx;
mod keys;
mod logs;
pub mod notify;
mod range;
mod raw;
mod shell;
mod stats;
pub mod theme;
// `[ui]`, named for the `UiSettings` it builds so that it is not taken for the crate's `ui`.
mod ui_settings;
mod wall;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use access::{AccessOverride, AccessPolicy, effective_read_only};
pub use alerts::AlertSettings;
pub use error::ConfigError;
pub(crate) use error::{deserialize_toml, line_of};
pub use influx::{InfluxSettings, InfluxToken};
use raw::RawConfig;
use theme::ThemeSpec;

use crate::model::View;
use crate::model::events::RestartLoopRule;
use crate::model::spec::EndpointSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// Full list + inspect that heals anything the event stream missed.
    pub resync: Duration,
    /// Latency probe; also how soon a silent daemon is noticed.
    pub ping: Duration,
    /// Deadline for a single request (not for streams).
    pub request_timeout: Duration,
    /// Upper bound of the reconnect backoff.
    pub backoff_max: Duration,
    /// How far back the first connect asks for events (reconnects ask since the last one seen).
    pub event_backfill: Duration,
    /// An endpoint that has not answered for this long is marked down ("no answer for N s").
    pub down_after: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(30),
            ping: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            backoff_max: Duration::from_secs(30),
            event_backfill: Duration::from_secs(15 * 60),
            down_after: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSettings {
    /// Frame cap: bursts of changes are coalesced into at most this many redraws a second.
    pub fps: u32,
    /// Environment values in the detail panel are masked until the operator asks.
    pub mask_env: bool,
    /// `[ui] theme` and `[ui] cluster_border`, resolved; `NO_COLOR` is applied later, by the
    /// terminal front end.
    pub theme: ThemeSpec,
    /// The view the dashboard opens on (`[ui] view`, `--view`), one of [`View::OPENABLE`].
    pub view: View,
    /// Copy keys write an OSC 52 sequence to the terminal; off for a terminal that prints
    /// unknown escape sequences as garbage.
    pub clipboard: bool,
    /// Mouse capture: wheel, clicks on rows, view names and shell tabs. Off for an operator
    /// who wants the terminal's own selection without Shift. Never on a wall.
    pub mouse: bool,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            fps: 20,
            mask_env: true,
            theme: ThemeSpec::default(),
            view: View::Clusters,
            clipboard: true,
            mouse: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// Events kept in the merged log.
    pub history: usize,
    pub restart_loop: RestartLoopRule,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            history: 10_000,
            restart_loop: RestartLoopRule::default(),
        }
    }
}

/// One `[keys]` entry: a binding name ("quit", "containers.sort") and its new keys, with the
/// line it was written on; the keymap checks names and keys against its own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOverride {
    pub name: String,
    pub keys: Vec<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallSettings {
    pub views: Vec<View>,
    pub rotate: Duration,
    /// The one key that does anything on a wall; `None` when disabled (stop it with a signal).
    pub quit_key: Option<char>,
}

impl Default for WallSettings {
    fn default() -> Self {
        Self {
            views: vec![View::Clusters, View::Triage, View::Pools, View::Events],
            rotate: Duration::from_secs(15),
            quit_key: Some('q'),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Lines of history a tail starts with.
    pub tail: u64,
    /// Lines a tail keeps; older ones are dropped (and counted).
    pub max_lines: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            tail: 200,
            max_lines: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSettings {
    /// Sampling interval; `None` turns collection off.
    pub interval: Option<Duration>,
    /// Per-cluster intervals, overriding the global one.
    pub per_cluster: BTreeMap<String, Duration>,
    /// How much history each container keeps.
    pub window: Duration,
    /// How often a container the dashboard does not show is sampled (never slower than
    /// `interval`); `None`: not at all. Headless commands, the stats view, a table sorted by a
    /// stats column and the InfluxDB export sample everything at `interval`.
    pub offscreen_interval: Option<Duration>,
}

impl Default for StatsSettings {
    fn default() -> Self {
        Self {
            interval: Some(Duration::from_secs(2)),
            per_cluster: BTreeMap::new(),
            window: Duration::from_secs(600),
            offscreen_interval: Some(Duration::from_secs(10)),
        }
    }
}

impl StatsSettings {
    /// Off-screen containers are sampled one round in this many at `interval`; 0: never.
    pub fn offscreen_every(&self, interval: Duration) -> u64 {
        match self.offscreen_interval {
            None => 0,
            Some(off) => {
                let step = interval.as_millis().max(1);
                u64::try_from(off.as_millis().div_ceil(step))
                    .unwrap_or(u64::MAX)
                    .max(1)
            }
        }
    }
}

/// `[deploy]`: where specs live and how much history a service keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySettings {
    /// `fleetdeck deploy NAME` reads `DIR/NAME.toml`; relative to the config file.
    pub dir: PathBuf,
    /// Stopped earlier revisions kept per service for rollback; older ones are removed.
    pub keep_revisions: usize,
    /// How long a new container may take to run (and be healthy) when its spec does not say.
    pub wait_s: u64,
}

impl Default for DeploySettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("deploy"),
            keep_revisions: crate::model::deploy::DEFAULT_KEEP_REVISIONS,
            wait_s: crate::model::deploy::DEFAULT_WAIT_S,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub endpoints: Vec<EndpointSpec>,
    pub engine: EngineSettings,
    pub ui: UiSettings,
    pub events: EventSettings,
    pub logs: LogSettings,
    pub stats: StatsSettings,
    pub wall: WallSettings,
    /// `[keys]`: rebindings, checked by the keymap before the dashboard starts.
    pub keys: Vec<KeyOverride>,
    /// Stats export; `None` when the file has no `[influx]` section.
    pub influx: Option<InfluxSettings>,
    pub deploy: DeploySettings,
    /// The read-only settings above the endpoints (each endpoint carries its resolved value).
    pub access: AccessPolicy,
    /// The file the config came from, when there was one.
    pub file: Option<PathBuf>,
    /// `[shell]`: exec and host shells in the pane.
    pub shell: ShellSettings,
    /// `[[alert]]` rules (or the built-in ones) and `[alerts]`.
    pub alerts: AlertSettings,
    /// `[[notify]]`: where alert notices are sent, in the file's order.
    pub notify: Vec<crate::model::alerts::NotifyTarget>,
}

/// `[shell]`: the embedded exec and host shells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellSettings {
    /// Shells an exec tries in the container, first present wins (`["bash", "sh"]`).
    pub exec: Vec<String>,
    /// Share of the dashboard's body the shell pane takes, 20 to 90 (60).
    pub height_percent: u16,
    /// Lines of scrollback each shell keeps (1000).
    pub scrollback: usize,
}

impl Default for ShellSettings {
    fn default() -> Self {
        Self {
            exec: vec!["bash".into(), "sh".into()],
            height_percent: 60,
            scrollback: 1000,
        }
    }
}

impl Config {
    /// The stats interval of an endpoint: its own, else its cluster's, else the global one.
    pub fn stats_interval_for(&self, spec: &EndpointSpec) -> Option<Duration> {
        self.stats.interval?;
        spec.stats_interval
            .or_else(|| self.stats.per_cluster.get(&spec.cluster).copied())
            .or(self.stats.interval)
    }

    /// Resolves every endpoint's `read_only` from its own setting, its cluster's, the global
    /// one and the command-line flag (see [`effective_read_only`]).
    pub fn resolve_read_only(&mut self) {
        for ep in &mut self.endpoints {
            ep.read_only = self.access.read_only(&ep.cluster, ep.read_only_setting);
        }
    }

    /// Applies `--read-only` / `--write` for this run.
    pub fn override_access(&mut self, flag: Option<AccessOverride>) {
        self.access.flag = flag;
        self.resolve_read_only();
    }

    /// Cluster names in first-seen order.
    pub fn clusters(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for ep in &self.endpoints {
            if !out.contains(&ep.cluster) {
                out.push(ep.cluster.clone());
            }
        }
        out
    }
}

/// Where endpoints come from, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub config: Option<PathBuf>,
    pub hosts: Vec<String>,
    pub contexts: bool,
    /// `--read-only` / `--write`.
    pub access: Option<AccessOverride>,
}

/// The default config path: `$XDG_CONFIG_HOME/fleetdeck/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "fleetdeck").map(|d| d.config_dir().join("config.toml"))
}

/// Builds the fleet to watch: the config file (explicit, or the default one if it exists),
/// plus `--host` URLs, plus Docker contexts; with none of those, `DOCKER_HOST` or the current
/// Docker CLI context. A config file that exists must name at least one endpoint unless
/// `--host` or `--contexts` add some: the implicit endpoint is for running without a file.
pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
    let mut config = match &sources.config {
        Some(path) => parse_file(path)?,
        None => match default_config_path().filter(|p| p.exists()) {
            Some(path) => parse_file(&path)?,
            None => Config::default(),
        },
    };
    for url in &sources.hosts {
        let spec = EndpointSpec::from_url(None, url).map_err(|message| ConfigError::Source {
            origin: format!("--host {}", crate::model::text::sanitize(url)),
            message,
        })?;
        push_unique(&mut config.endpoints, spec);
    }
    if sources.contexts {
        for spec in contexts::import_all(&contexts::docker_config_dir())? {
            push_unique(&mut config.endpoints, spec);
        }
    }
    if config.endpoints.is_empty() {
        if let Some(path) = &config.file {
            return Err(ConfigError::NoEndpoints { path: path.clone() });
        }
        config.endpoints.push(contexts::implicit_endpoint()?);
    }
    config.override_access(sources.access);
    Ok(config)
}

/// Adds an endpoint that came without an explicit name, making its name unique.
fn push_unique(endpoints: &mut Vec<EndpointSpec>, mut spec: EndpointSpec) {
    let base = spec.name.clone();
    let mut n = 2;
    while endpoints.iter().any(|e| e.name == spec.name) {
        spec.name = format!("{base}-{n}");
        n += 1;
    }
    endpoints.push(spec);
}

pub fn parse_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let blank = text
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#'));
    if blank {
        return Err(ConfigError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut config = parse_str(&text, path)?;
    config.file = Some(path.to_path_buf());
    Ok(config)
}

/// Parses and validates config text; `path` is used in error messages and to resolve relative
/// TLS paths. Secrets named in the file (the InfluxDB token) are read from the process environment.
pub fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
    parse_str_with_env(text, path, &|name| std::env::var(name).ok())
}

/// [`parse_str`] with the environment given as a lookup function.
pub fn parse_str_with_env(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = deserialize_toml(text, path)?;
    let invalid = |offset: usize, key: String, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, offset),
        key,
        message,
    };
    let base_dir = path.parent().unwrap_or(Path::new("."));

    // Section by section, in this order: with several mistakes, the first one named is the
    // same from one run to the next.
    let endpoints = endpoint::resolve(raw.endpoint, base_dir, text, &invalid)?;
    let mut engine = engine::resolve(&raw.engine, &invalid)?;
    let (events, backfill) = events::resolve(&raw.events, engine.event_backfill, &invalid)?;
    engine.event_backfill = backfill;
    let stats = stats::resolve(&raw.stats, &invalid)?;
    let keys = keys::resolve(&raw.keys, text);
    let wall = wall::resolve(&raw.wall, &invalid)?;
    let logs = logs::resolve(&raw.logs, &invalid)?;
    let ui = ui_settings::resolve(&raw.ui, &endpoints, text, path, &invalid)?;
    let access = access::resolve(raw.read_only, &raw.cluster, &endpoints, &invalid)?;
    let deploy = deploy::settings(&raw.deploy, base_dir, &invalid)?;
    let influx = raw
        .influx
        .map(|r| influx::resolve(r, text, path, env))
        .transpose()?;
    let notify = notify::resolve(raw.notify, text, path)?;
    let alerts = alerts::resolve(
        &raw.alert,
        &raw.alerts,
        &alerts::Context {
            events: &events,
            stats: &stats,
            endpoints: &endpoints,
        },
        &invalid,
    )?;

    let mut config = Config {
        alerts,
        endpoints,
        engine,
        ui,
        events,
        logs,
        stats,
        wall,
        keys,
        influx,
        deploy,
        access,
        file: None,
        shell: shell::resolve(&raw.shell, &invalid)?,
        notify,
    };
    config.resolve_read_only();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_the_same_derived_name_are_made_unique() {
        let mut eps = Vec::new();
        for url in ["tcp://a:1", "tcp://a:2", "tcp://a:3"] {
            push_unique(&mut eps, EndpointSpec::from_url(None, url).unwrap());
        }
        let names: Vec<_> = eps.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "a-2", "a-3"]);
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse_str(
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:1\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.endpoints[0].cluster, "default");
        assert_eq!(c.engine, EngineSettings::default());
        assert_eq!(c.ui, UiSettings::default());
    }

    const LAYERED: &str = r#"read_only = true

[cluster.prod]
read_only = true

[cluster.staging]
read_only = false

[[endpoint]]
name = "prod-1"
url = "tcp://p1:2375"
cluster = "prod"

[[endpoint]]
name = "prod-canary"
url = "tcp://p2:2375"
cluster = "prod"
read_only = false

[[endpoint]]
name = "staging-1"
url = "tcp://s1:2375"
cluster = "staging"

[[endpoint]]
name = "lab"
url = "tcp://l1:2375"
"#;

    fn read_only_of(c: &Config) -> Vec<(&str, bool)> {
        c.endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.read_only))
            .collect()
    }

    #[test]
    fn read_only_in_the_file_resolves_most_specific_first() {
        let c = parse_str(LAYERED, Path::new("c.toml")).unwrap();
        assert_eq!(
            read_only_of(&c),
            [
                ("prod-1", true),       // its cluster
                ("prod-canary", false), // its own setting beats the cluster
                ("staging-1", false),   // its cluster beats the global setting
                ("lab", true),          // only the global setting applies
            ]
        );
    }

    #[test]
    fn flags_override_the_file_for_one_run() {
        let mut c = parse_str(LAYERED, Path::new("c.toml")).unwrap();
        c.override_access(Some(AccessOverride::Write));
        assert!(c.endpoints.iter().all(|e| !e.read_only));
        c.override_access(Some(AccessOverride::ReadOnly));
        assert!(c.endpoints.iter().all(|e| e.read_only));
        c.override_access(None);
        assert_eq!(read_only_of(&c)[1], ("prod-canary", false));
    }

    #[test]
    fn endpoints_added_on_the_command_line_follow_the_global_and_default_cluster_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[cluster.default]\nread_only = true\n").unwrap();
        let c = load(&Sources {
            config: Some(path),
            hosts: vec!["tcp://10.0.0.9:2375".into()],
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(read_only_of(&c), [("10.0.0.9", true)]);
    }

    #[test]
    fn a_cluster_section_for_no_endpoint_is_an_error() {
        let text = "[cluster.prood]\nread_only = true\n\n[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:1\"\ncluster = \"prod\"\n";
        let err = parse_str(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.toml:1: cluster.prood: no endpoint is in cluster \"prood\"; clusters: prod, default"
        );
    }

    #[test]
    fn an_unknown_key_in_a_cluster_section_lists_the_valid_ones() {
        let text = "[cluster.default]\nreadonly = true\n";
        let err = parse_str(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.toml:2: unknown key \"readonly\"; valid keys: read_only"
        );
    }
}
