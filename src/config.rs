//! Configuration: the raw serde layer (`raw`), Docker CLI contexts (`contexts`), and the validated
//! typed values every other module uses. Nothing here touches the network.

mod access;
pub mod alerts;
pub mod contexts;
pub mod deploy;
mod error;
pub mod influx;
pub mod notify;
mod raw;
pub mod theme;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use access::{AccessOverride, AccessPolicy, effective_read_only};
pub use alerts::AlertSettings;
pub use error::ConfigError;
pub(crate) use error::{deserialize_toml, line_of};
pub use influx::{InfluxSettings, InfluxToken};
use raw::{RawConfig, RawEndpoint};
use theme::ThemeSpec;

use crate::model::View;
use crate::model::events::RestartLoopRule;
use crate::model::ipam::{LOCAL_SUBNETS_LABEL, SUBNET_LABEL, parse_local_subnets, parse_prefix};
use crate::model::spec::{DEFAULT_CLUSTER, DockerUrl, EndpointSpec, TlsFiles, check_printable};

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

    let mut endpoints = Vec::with_capacity(raw.endpoint.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, ep) in raw.endpoint.into_iter().enumerate() {
        let spec = validate_endpoint(ep, i, base_dir, &mut seen, text, &invalid)?;
        endpoints.push(spec);
    }

    let mut engine = EngineSettings::default();
    let secs = |v: &Option<toml::Spanned<u64>>,
                key: &str,
                range: std::ops::RangeInclusive<u64>,
                default: Duration|
     -> Result<Duration, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) if range.contains(s.get_ref()) => Ok(Duration::from_secs(*s.get_ref())),
            Some(s) => Err(invalid(
                s.span().start,
                key.to_string(),
                format!(
                    "{} is out of range; valid values: {} to {} (seconds)",
                    s.get_ref(),
                    range.start(),
                    range.end()
                ),
            )),
        }
    };
    engine.resync = secs(
        &raw.engine.resync_s,
        "engine.resync_s",
        5..=3600,
        engine.resync,
    )?;
    engine.ping = secs(&raw.engine.ping_s, "engine.ping_s", 1..=300, engine.ping)?;
    engine.request_timeout = secs(
        &raw.engine.request_timeout_s,
        "engine.request_timeout_s",
        1..=300,
        engine.request_timeout,
    )?;
    engine.backoff_max = secs(
        &raw.engine.backoff_max_s,
        "engine.backoff_max_s",
        1..=3600,
        engine.backoff_max,
    )?;
    engine.down_after = secs(
        &raw.engine.down_after_s,
        "engine.down_after_s",
        2..=600,
        engine.down_after,
    )?;

    let mut events = EventSettings::default();
    if let Some(h) = &raw.events.history {
        let v = *h.get_ref();
        if !(100..=1_000_000).contains(&v) {
            return Err(invalid(
                h.span().start,
                "events.history".into(),
                format!("{v} is out of range; valid values: 100 to 1000000"),
            ));
        }
        events.history = v as usize;
    }
    if let Some(c) = &raw.events.restart_loop_count {
        let v = *c.get_ref();
        if !(2..=100).contains(&v) {
            return Err(invalid(
                c.span().start,
                "events.restart_loop_count".into(),
                format!("{v} is out of range; valid values: 2 to 100"),
            ));
        }
        events.restart_loop.count = v as usize;
    }
    events.restart_loop.window = secs(
        &raw.events.restart_loop_window_s,
        "events.restart_loop_window_s",
        10..=86_400,
        events.restart_loop.window,
    )?;
    engine.event_backfill = secs(
        &raw.events.backfill_s,
        "events.backfill_s",
        0..=86_400,
        engine.event_backfill,
    )?;

    let mut stats = StatsSettings::default();
    if let Some(v) = &raw.stats.interval_s {
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
    for (cluster, v) in &raw.stats.cluster_interval_s {
        if !(1..=3600).contains(v.get_ref()) {
            return Err(invalid(
                v.span().start,
                format!("stats.cluster_interval_s.{cluster}"),
                format!(
                    "{} is out of range; valid values: 1 to 3600 (seconds)",
                    v.get_ref()
                ),
            ));
        }
        stats
            .per_cluster
            .insert(cluster.clone(), Duration::from_secs(*v.get_ref()));
    }
    stats.window = secs(
        &raw.stats.history_s,
        "stats.history_s",
        10..=86_400,
        stats.window,
    )?;
    stats.offscreen_interval = match &raw.stats.offscreen_interval_s {
        Some(v) if *v.get_ref() == 0 => None,
        v => Some(secs(
            v,
            "stats.offscreen_interval_s",
            0..=3600,
            Duration::from_secs(10),
        )?),
    };

    let keys: Vec<KeyOverride> = raw
        .keys
        .iter()
        .map(|(name, v)| KeyOverride {
            name: name.clone(),
            keys: match v.get_ref() {
                raw::RawKeys::One(k) => vec![k.clone()],
                raw::RawKeys::Many(ks) => ks.clone(),
            },
            line: line_of(text, v.span().start),
        })
        .collect();

    let mut wall = WallSettings::default();
    if let Some(views) = &raw.wall.views {
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
    wall.rotate = secs(&raw.wall.rotate_s, "wall.rotate_s", 3..=3600, wall.rotate)?;
    if let Some(key) = &raw.wall.quit_key {
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

    let mut logs = LogSettings::default();
    if let Some(t) = &raw.logs.tail {
        let v = *t.get_ref();
        if v > 100_000 {
            return Err(invalid(
                t.span().start,
                "logs.tail".into(),
                format!("{v} is out of range; valid values: 0 to 100000"),
            ));
        }
        logs.tail = v;
    }
    if let Some(m) = &raw.logs.max_lines {
        let v = *m.get_ref();
        if !(100..=1_000_000).contains(&v) {
            return Err(invalid(
                m.span().start,
                "logs.max_lines".into(),
                format!("{v} is out of range; valid values: 100 to 1000000"),
            ));
        }
        logs.max_lines = v as usize;
    }

    let mut ui = UiSettings::default();
    if let Some(fps) = &raw.ui.fps {
        let v = *fps.get_ref();
        if !(1..=60).contains(&v) {
            return Err(invalid(
                fps.span().start,
                "ui.fps".into(),
                format!("{v} is out of range; valid values: 1 to 60"),
            ));
        }
        ui.fps = v as u32;
    }
    if let Some(mask) = raw.ui.mask_env {
        ui.mask_env = mask;
    }
    if let Some(clipboard) = raw.ui.clipboard {
        ui.clipboard = clipboard;
    }
    if let Some(mouse) = raw.ui.mouse {
        ui.mouse = mouse;
    }
    if let Some(view) = &raw.ui.view {
        ui.view = View::parse_openable(view.get_ref())
            .map_err(|message| invalid(view.span().start, "ui.view".into(), message))?;
    }
    let clusters: Vec<String> = endpoints.iter().map(|e| e.cluster.clone()).collect();
    ui.theme = theme::from_config(
        raw.ui.theme.as_ref(),
        &raw.ui.cluster_border,
        &clusters,
        text,
        path,
    )?;

    let access = resolve_access(raw.read_only, &raw.cluster, &endpoints, &invalid)?;

    let mut deploy = DeploySettings::default();
    if let Some(dir) = &raw.deploy.dir {
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
    if let Some(k) = &raw.deploy.keep_revisions {
        let v = *k.get_ref();
        if !(1..=100).contains(&v) {
            return Err(invalid(
                k.span().start,
                "deploy.keep_revisions".into(),
                format!("{v} is out of range; valid values: 1 to 100"),
            ));
        }
        deploy.keep_revisions = v as usize;
    }
    if let Some(w) = &raw.deploy.wait_s {
        let v = *w.get_ref();
        if !(1..=3600).contains(&v) {
            return Err(invalid(
                w.span().start,
                "deploy.wait_s".into(),
                format!("{v} is out of range; valid values: 1 to 3600"),
            ));
        }
        deploy.wait_s = v;
    }

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
        shell: resolve_shell(&raw.shell, &invalid)?,
        notify,
    };
    config.resolve_read_only();
    Ok(config)
}

/// `[shell]`, validated: shell names are single words or paths (they go into a `sh -c` probe
/// in the container, so nothing there may be read as shell syntax).
fn resolve_shell(
    raw: &raw::RawShell,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<ShellSettings, ConfigError> {
    let mut shell = ShellSettings::default();
    if let Some(list) = &raw.exec {
        if list.get_ref().is_empty() {
            return Err(invalid(
                list.span().start,
                "shell.exec".into(),
                "needs at least one shell, e.g. [\"bash\", \"sh\"]".into(),
            ));
        }
        for name in list.get_ref() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
            if !ok {
                return Err(invalid(
                    list.span().start,
                    "shell.exec".into(),
                    format!(
                        "\"{name}\" is not a shell name; use a program name or path (letters, digits, / . _ -)"
                    ),
                ));
            }
        }
        shell.exec = list.get_ref().clone();
    }
    if let Some(p) = &raw.height_percent {
        let v = *p.get_ref();
        if !(20..=90).contains(&v) {
            return Err(invalid(
                p.span().start,
                "shell.height_percent".into(),
                format!("{v} is out of range; valid values: 20 to 90"),
            ));
        }
        shell.height_percent = v as u16;
    }
    if let Some(s) = &raw.scrollback {
        let v = *s.get_ref();
        if v > 100_000 {
            return Err(invalid(
                s.span().start,
                "shell.scrollback".into(),
                format!("{v} is out of range; valid values: 0 to 100000"),
            ));
        }
        shell.scrollback = v as usize;
    }
    Ok(shell)
}

/// The global and per-cluster `read_only`. A `[cluster.NAME]` that names no endpoint's cluster
/// is an error: a typo there would silently leave a production cluster writable.
fn resolve_access(
    global: Option<bool>,
    clusters: &BTreeMap<String, toml::Spanned<raw::RawCluster>>,
    endpoints: &[EndpointSpec],
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<AccessPolicy, ConfigError> {
    let mut known: Vec<&str> = Vec::new();
    for ep in endpoints {
        if !known.contains(&ep.cluster.as_str()) {
            known.push(&ep.cluster);
        }
    }
    // Endpoints from --host, --contexts or DOCKER_HOST land in "default".
    if !known.contains(&DEFAULT_CLUSTER) {
        known.push(DEFAULT_CLUSTER);
    }
    let mut policy = AccessPolicy {
        global,
        ..AccessPolicy::default()
    };
    for (name, table) in clusters {
        if !known.contains(&name.as_str()) {
            return Err(invalid(
                table.span().start,
                format!("cluster.{name}"),
                format!(
                    "no endpoint is in cluster \"{name}\"; clusters: {}",
                    known.join(", ")
                ),
            ));
        }
        if let Some(ro) = table.get_ref().read_only {
            policy.clusters.insert(name.clone(), ro);
        }
    }
    Ok(policy)
}

/// The `local_subnets` label, which keeps this host's networks on those subnets out of any
/// shared pool: prefixes, at least one, none of them the subnet the `subnet` label shares.
fn check_local_subnets(
    labels: &BTreeMap<String, toml::Spanned<String>>,
    i: usize,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let Some(value) = labels.get(LOCAL_SUBNETS_LABEL) else {
        return Ok(());
    };
    let refuse = |message: String| {
        Err(invalid(
            value.span().start,
            format!("endpoint[{i}].labels.{LOCAL_SUBNETS_LABEL}"),
            message,
        ))
    };
    let subnets = match parse_local_subnets(value.get_ref()) {
        Ok(subnets) if subnets.is_empty() => {
            return refuse(
                "empty; give prefixes like 10.77.0.0/24, separated by commas, or leave the label \
                 out"
                .into(),
            );
        }
        Ok(subnets) => subnets,
        Err(message) => return refuse(message),
    };
    let shared = labels
        .get(SUBNET_LABEL)
        .and_then(|l| parse_prefix(l.get_ref()));
    if let Some(both) = subnets.iter().find(|s| Some(**s) == shared) {
        return refuse(format!(
            "{both} is also this endpoint's {SUBNET_LABEL} label, which shares it across the \
             cluster; a subnet is either shared or local"
        ));
    }
    Ok(())
}

fn validate_endpoint(
    ep: RawEndpoint,
    i: usize,
    base_dir: &Path,
    seen: &mut HashMap<String, usize>,
    text: &str,
    invalid: &dyn Fn(usize, String, String) -> ConfigError,
) -> Result<EndpointSpec, ConfigError> {
    let name = ep.name.get_ref().trim().to_string();
    let name_at = ep.name.span().start;
    check_printable(&name, "an endpoint name")
        .map_err(|m| invalid(name_at, format!("endpoint[{i}].name"), m))?;
    if name.is_empty() || name.contains(['/', '@', ' ']) {
        return Err(invalid(
            name_at,
            format!("endpoint[{i}].name"),
            format!(
                "\"{}\" is not a valid endpoint name; use a non-empty name without '/', '@' or spaces",
                ep.name.get_ref()
            ),
        ));
    }
    if let Some(&first) = seen.get(&name) {
        return Err(invalid(
            name_at,
            format!("endpoint[{i}].name"),
            format!(
                "duplicate endpoint name \"{name}\" (first defined on line {}); endpoint names must be unique",
                line_of(text, first)
            ),
        ));
    }
    seen.insert(name.clone(), name_at);

    let url_text = ep.url.get_ref().trim().to_string();
    let url = DockerUrl::parse(&url_text)
        .map_err(|m| invalid(ep.url.span().start, format!("endpoint[{i}].url"), m))?;

    let tls = match ep.tls {
        None => None,
        Some(tls) => {
            let tls_at = tls.span().start;
            let tls = tls.into_inner();
            if !matches!(url, DockerUrl::Tcp { .. }) {
                return Err(invalid(
                    tls_at,
                    format!("endpoint[{i}].tls"),
                    format!("TLS applies to tcp:// and https:// endpoints, not to \"{url_text}\""),
                ));
            }
            let file = |v: &toml::Spanned<String>, field: &str| -> Result<PathBuf, ConfigError> {
                let p = base_dir.join(v.get_ref());
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(invalid(
                        v.span().start,
                        format!("endpoint[{i}].tls.{field}"),
                        format!("file \"{}\" does not exist", p.display()),
                    ))
                }
            };
            // A DOCKER_CERT_PATH-style directory, or the files one by one (cert and key both or
            // neither: a daemon without --tlsverify needs no client certificate).
            let from_dir = |d: &toml::Spanned<String>| -> Result<TlsFiles, ConfigError> {
                let dir = base_dir.join(d.get_ref());
                let ca = dir.join("ca.pem");
                if !ca.is_file() {
                    return Err(invalid(
                        d.span().start,
                        format!("endpoint[{i}].tls.dir"),
                        format!(
                            "\"{}\" has no ca.pem; expected a DOCKER_CERT_PATH-style directory with ca.pem, cert.pem and key.pem",
                            dir.display()
                        ),
                    ));
                }
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                let pair = cert.is_file() && key.is_file();
                Ok(TlsFiles {
                    ca,
                    cert: pair.then_some(cert),
                    key: pair.then_some(key),
                })
            };
            match (&tls.dir, &tls.ca, &tls.cert, &tls.key) {
                (Some(d), None, None, None) => Some(from_dir(d)?),
                (None, Some(ca), cert, key) if cert.is_some() == key.is_some() => Some(TlsFiles {
                    ca: file(ca, "ca")?,
                    cert: cert.as_ref().map(|c| file(c, "cert")).transpose()?,
                    key: key.as_ref().map(|k| file(k, "key")).transpose()?,
                }),
                _ => {
                    return Err(invalid(
                        tls_at,
                        format!("endpoint[{i}].tls"),
                        "expected either dir = \"…\" (with ca.pem, cert.pem, key.pem) or ca = \"…\" with optionally both cert = \"…\" and key = \"…\"".into(),
                    ));
                }
            }
        }
    };
    if url_text.starts_with("https://") && tls.is_none() {
        return Err(invalid(
            ep.url.span().start,
            format!("endpoint[{i}].url"),
            format!("\"{url_text}\" needs tls = {{ ca = \"…\", cert = \"…\", key = \"…\" }}"),
        ));
    }

    let ssh_config = match &ep.ssh_config {
        None => None,
        Some(v) => {
            if !matches!(url, DockerUrl::Ssh { .. }) {
                return Err(invalid(
                    v.span().start,
                    format!("endpoint[{i}].ssh_config"),
                    format!("ssh_config applies to ssh:// endpoints, not to \"{url_text}\""),
                ));
            }
            let p = base_dir.join(v.get_ref());
            if !p.is_file() {
                return Err(invalid(
                    v.span().start,
                    format!("endpoint[{i}].ssh_config"),
                    format!("file \"{}\" does not exist", p.display()),
                ));
            }
            Some(p)
        }
    };

    let cluster = match ep.cluster {
        None => DEFAULT_CLUSTER.to_string(),
        Some(c) if c.get_ref().trim().is_empty() => {
            return Err(invalid(
                c.span().start,
                format!("endpoint[{i}].cluster"),
                "cluster name must not be empty; leave the key out for \"default\"".into(),
            ));
        }
        Some(c) => {
            check_printable(c.get_ref(), "a cluster name")
                .map_err(|m| invalid(c.span().start, format!("endpoint[{i}].cluster"), m))?;
            c.into_inner().trim().to_string()
        }
    };

    let stats_interval = match &ep.stats_interval_s {
        None => None,
        Some(v) if (1..=3600).contains(v.get_ref()) => Some(Duration::from_secs(*v.get_ref())),
        Some(v) => {
            return Err(invalid(
                v.span().start,
                format!("endpoint[{i}].stats_interval_s"),
                format!(
                    "{} is out of range; valid values: 1 to 3600 (seconds)",
                    v.get_ref()
                ),
            ));
        }
    };
    let host_shell = match ep.host_shell {
        None => None,
        Some(argv) if argv.get_ref().first().is_none_or(|p| p.trim().is_empty()) => {
            return Err(invalid(
                argv.span().start,
                format!("endpoint[{i}].host_shell"),
                "needs a program and its arguments, e.g. [\"ssh\", \"-J\", \"bastion\", \"ops@10.0.0.5\"]"
                    .into(),
            ));
        }
        Some(argv) => Some(argv.into_inner()),
    };
    check_local_subnets(&ep.labels, i, invalid)?;
    Ok(EndpointSpec {
        name,
        url_text,
        url,
        cluster,
        labels: ep
            .labels
            .into_iter()
            .map(|(k, v)| (k, v.into_inner()))
            .collect(),
        tls,
        ssh_config,
        stats_interval,
        read_only_setting: ep.read_only,
        read_only: false,
        host_shell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_takes_a_cert_directory_or_files_and_ssh_config_only_on_ssh() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem", "ssh.conf"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let file = dir.path().join("f.toml");
        let parse = |body: &str| parse_str(body, &file);
        let c =
            parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { dir = \".\" }\n")
                .unwrap();
        let tls = c.endpoints[0].tls.clone().unwrap();
        assert_eq!(tls.cert, Some(dir.path().join("./cert.pem")));
        let c = parse(
            "[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { ca = \"ca.pem\" }\n",
        )
        .unwrap();
        assert_eq!(c.endpoints[0].tls.as_ref().unwrap().cert, None);
        let err = parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h:2376\"\ntls = { ca = \"ca.pem\", cert = \"cert.pem\" }\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("endpoint[0].tls: expected either dir"),
            "{err}"
        );
        let c = parse(
            "[[endpoint]]\nname = \"a\"\nurl = \"ssh://h:2222\"\nssh_config = \"ssh.conf\"\n",
        )
        .unwrap();
        assert_eq!(c.endpoints[0].ssh_config, Some(dir.path().join("ssh.conf")));
        let err =
            parse("[[endpoint]]\nname = \"a\"\nurl = \"tcp://h\"\nssh_config = \"ssh.conf\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("endpoint[0].ssh_config: ssh_config applies to ssh:// endpoints"),
            "{err}"
        );
    }

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
