//! What an update changes and what it would drop. The engine reads the running revision (its
//! inspect, less what its image provides) and the new container is made from all of it with
//! the spec laid over: [`SettingsView`] compares the two field by field for the plan, and
//! [`dropped`] names any setting the new container still would not have (a host network mode
//! under a spec that names a network, say), which the update refuses unless the operator
//! accepts the loss.
//!
//! A service fleetdeck deployed was made from a spec, so a setting its new spec leaves out is
//! the operator's change (shown in the plan), not a loss: only what no spec can express
//! counts there. A container fleetdeck did not create (`docker run -e … -v … --restart …`)
//! has all of its settings checked.

use super::CreateSpec;
use super::revision::LABEL_SERVICE;

/// One setting of the running revision that its operator (not its image) gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldSetting {
    /// The name only: values are never kept, let alone shown.
    Env {
        key: String,
    },
    Port {
        container_port: u16,
        proto: String,
        host_ip: Option<String>,
        host_port: Option<u16>,
    },
    /// Docker's name: `always`, `unless-stopped`, `on-failure`.
    Restart(String),
    /// The healthcheck's test, as Docker shows it.
    Healthcheck(String),
    MemoryBytes(i64),
    NanoCpus(i64),
    Network(String),
    Label {
        key: String,
    },
    Command(Vec<String>),
    /// Anything a deploy cannot set at all: "bind /srv/data:/data", "cap_add NET_ADMIN", …
    Other(String),
}

impl OldSetting {
    /// How the operator reads it in the plan: names, never env or label values.
    pub fn describe(&self) -> String {
        // Paths, keys and options come from the daemon: never raw to a terminal.
        crate::text::sanitize_owned(self.describe_raw())
    }

    fn describe_raw(&self) -> String {
        match self {
            Self::Env { key, .. } => format!("env {key}"),
            Self::Port {
                container_port,
                proto,
                host_ip,
                host_port,
            } => {
                let host = match (host_ip.as_deref().filter(|ip| !ip.is_empty()), host_port) {
                    (Some(ip), Some(p)) => format!("{ip}:{p}:"),
                    (None, Some(p)) => format!("{p}:"),
                    _ => String::new(),
                };
                format!("port {host}{container_port}/{proto}")
            }
            Self::Restart(p) => format!("restart policy {p}"),
            Self::Healthcheck(t) => format!("healthcheck {t}"),
            Self::MemoryBytes(b) => format!("memory limit {b} bytes"),
            Self::NanoCpus(n) => format!("cpu limit {:.2}", *n as f64 / 1e9),
            Self::Network(n) => format!("network {n}"),
            Self::Label { key, .. } => format!("label {key}"),
            Self::Command(c) => format!("command {}", c.join(" ")),
            Self::Other(what) => what.clone(),
        }
    }

    /// Whether the new container has this setting (the same, or the operator's new value of
    /// it where the spec sets one). A carried base keeps everything but the networks, which
    /// are joined one by one, and a network mode the spec's network replaces.
    fn kept_by(&self, new: &CreateSpec) -> bool {
        match self {
            Self::Network(n) => {
                let mode_kept = new.base.is_some() && new.network.is_none();
                return new.network.as_deref().unwrap_or("bridge") == n
                    || new.networks.iter().any(|a| &a.name == n)
                    || (mode_kept && (n == "host" || n == "none"));
            }
            Self::Other(what) if what.starts_with("network mode ") => {
                return new.base.is_some() && new.network.is_none();
            }
            _ if new.base.is_some() => return true,
            _ => {}
        }
        match self {
            Self::Env { key, .. } => new
                .env
                .iter()
                .any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key),
            Self::Port {
                container_port,
                proto,
                host_port,
                ..
            } => new.ports.iter().any(|p| {
                p.container_port == *container_port
                    && p.proto == *proto
                    && (host_port.is_none() || p.host_port.is_some())
            }),
            Self::Restart(_) => new.restart.docker_name() != "no",
            Self::Healthcheck(_) => new.healthcheck.is_some(),
            Self::MemoryBytes(_) => new.memory_bytes.is_some(),
            Self::NanoCpus(_) => new.nano_cpus.is_some(),
            Self::Network(_) => false,
            Self::Label { key, .. } => new.labels.contains_key(key),
            Self::Command(_) => !new.command.is_empty(),
            Self::Other(_) => false,
        }
    }
}

/// What the update would drop of the running revision's settings, in the order read.
/// `deployed_by_fleetdeck`: its settings came from a spec, so only what no spec can express
/// counts (see the module's note).
pub fn dropped(old: &[OldSetting], new: &CreateSpec, deployed_by_fleetdeck: bool) -> Vec<String> {
    old.iter()
        .filter(|s| !deployed_by_fleetdeck || matches!(s, OldSetting::Other(_)))
        .filter(|s| !s.kept_by(new))
        .map(OldSetting::describe)
        .collect()
}

/// Whether a container's labels say fleetdeck deployed it.
pub fn deployed_by_fleetdeck(labels: &std::collections::HashMap<String, String>) -> bool {
    labels.contains_key(LABEL_SERVICE)
}

/// The plan's line for what would be dropped, values never shown.
pub fn loss_line(dropped: &[String]) -> String {
    format!("  DROPS    {}", dropped.join(", "))
}

/// What the engine read of the running revision before an update: shown in the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Review {
    /// A new service: nothing runs to compare with.
    #[default]
    NotNeeded,
    /// Not read yet (the dashboard asks the engine; the answer replaces this).
    Pending,
    Read {
        /// Field by field, old → new; env values never shown.
        changes: Vec<String>,
        /// What the update would drop (see [`dropped`]).
        drops: Vec<String>,
    },
    /// The running revision could not be read; the deploy reads it again when it starts.
    Failed(String),
}

impl Review {
    /// The plan's lines for it.
    pub fn lines(&self, loss_accepted: bool) -> Vec<String> {
        match self {
            Self::NotNeeded => Vec::new(),
            Self::Pending => vec!["  changes  reading the running revision's settings…".into()],
            Self::Failed(e) => vec![format!(
                "  changes  cannot read the running revision ({}); the deploy reads it again",
                crate::text::sanitize(e)
            )],
            Self::Read { changes, drops } => {
                let mut out = Vec::new();
                match changes.split_first() {
                    None => out.push("  changes  none: the same settings, a new revision".into()),
                    Some((first, rest)) => {
                        out.push(format!("  changes  {first}"));
                        out.extend(rest.iter().map(|c| format!("           {c}")));
                    }
                }
                if !drops.is_empty() {
                    out.push(format!(
                        "{}{}",
                        loss_line(drops),
                        if loss_accepted {
                            " (accepted: --accept-loss)"
                        } else {
                            " (refused: put them in the spec, or deploy --accept-loss)"
                        }
                    ));
                }
                out
            }
        }
    }

    /// The names of what would be dropped, once read.
    pub fn drops(&self) -> &[String] {
        match self {
            Self::Read { drops, .. } => drops,
            _ => &[],
        }
    }
}

/// A container's settings as one comparable view: Docker's `Config` and `HostConfig` (as its
/// inspect or a create body writes them), the image, and each network with its address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsView {
    /// Flattened: `HostConfig.Memory` → `268435456`, `Env CART_MODE` → the value.
    fields: std::collections::BTreeMap<String, String>,
}

/// Arrays whose order means something; every other array is compared as a set.
const ORDERED: [&str; 4] = ["Cmd", "Entrypoint", "Healthcheck.Test", "Shell"];

impl SettingsView {
    /// `config` and `host_config` as Docker's JSON; `networks`: (name, fixed address or
    /// "dynamic", aliases).
    pub fn new(
        image: &str,
        config: &serde_json::Value,
        host_config: &serde_json::Value,
        networks: &[(String, String, Vec<String>)],
    ) -> Self {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("Image".to_string(), image.to_string());
        if let serde_json::Value::Object(o) = config {
            for (k, v) in o {
                match (k.as_str(), v) {
                    // Which image, and where the first network is joined, are said once, below.
                    ("Image" | "NetworkingConfig" | "HostConfig", _) => {}
                    ("Env", serde_json::Value::Array(env)) => {
                        for e in env.iter().filter_map(|e| e.as_str()) {
                            let (key, value) = e.split_once('=').unwrap_or((e, ""));
                            fields.insert(format!("Env {key}"), value.to_string());
                        }
                    }
                    _ => flatten(k, v, &mut fields),
                }
            }
        }
        flatten("HostConfig", host_config, &mut fields);
        // Whose network it joins first is told by the networks below.
        fields.remove("HostConfig.NetworkMode");
        fields.retain(|k, _| !k.starts_with("Labels.fleetdeck.deploy."));
        for (name, ip, aliases) in networks {
            let mut v = ip.clone();
            if !aliases.is_empty() {
                v.push_str(&format!(", aliases {}", aliases.join(" ")));
            }
            fields.insert(format!("network {name}"), v);
        }
        Self { fields }
    }

    /// Every difference, old → new, in the order of the keys; env values are never shown.
    pub fn changes_to(&self, new: &Self) -> Vec<String> {
        let keys: std::collections::BTreeSet<&String> =
            self.fields.keys().chain(new.fields.keys()).collect();
        let mut out = Vec::new();
        for key in keys {
            let (a, b) = (self.fields.get(key), new.fields.get(key));
            if a == b {
                continue;
            }
            let secret = key.starts_with("Env ");
            let show = |v: &str| {
                if secret {
                    "***".to_string()
                } else {
                    crate::text::sanitize(v).into_owned()
                }
            };
            let key_shown = crate::text::sanitize(key);
            out.push(match (a, b) {
                (None, Some(b)) => format!("+ {key_shown} {}", show(b)),
                (Some(a), None) => format!("- {key_shown} {}", show(a)),
                (Some(_), Some(_)) if secret => format!("~ {key_shown} (value changed)"),
                (Some(a), Some(b)) => format!("~ {key_shown} {} → {}", show(a), show(b)),
                (None, None) => continue,
            });
        }
        out
    }
}

/// `value` less the object fields that say nothing: null, "", [], {}.
fn without_empty(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(m) => !m.is_empty(),
                    _ => true,
                })
                .map(|(k, v)| (k.clone(), without_empty(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_empty).collect()),
        other => other.clone(),
    }
}

/// Writes `value` under `path`: objects by key, arrays as one value (sorted unless their
/// order means something), nothing for what is empty, zero or false (Docker's "unset").
fn flatten(
    path: &str,
    value: &serde_json::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(false) => {}
        Value::Number(n) if n.as_f64() == Some(0.0) => {}
        Value::String(s) if s.is_empty() => {}
        // A set written as an object of empty objects (`ExposedPorts`, `Volumes`): its keys.
        Value::Object(o)
            if !o.is_empty()
                && o.values()
                    .all(|v| v.as_object().is_some_and(|m| m.is_empty())) =>
        {
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            out.insert(path.to_string(), keys.join(", "));
        }
        Value::Object(o) => {
            for (k, v) in o {
                flatten(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(a) if a.is_empty() => {}
        Value::Array(a) => {
            let mut items: Vec<String> = a
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    // Docker writes `"HostIp": ""` where a create body leaves the key out.
                    other => without_empty(other).to_string(),
                })
                .collect();
            let ordered = ORDERED.iter().any(|o| path.ends_with(o));
            if !ordered {
                items.sort();
            }
            out.insert(
                path.to_string(),
                items.join(if ordered { " " } else { ", " }),
            );
        }
        Value::String(s) => {
            out.insert(path.to_string(), s.clone());
        }
        other => {
            out.insert(path.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::deploy::{Healthcheck, PortSpec, RestartPolicy};

    fn create() -> CreateSpec {
        CreateSpec {
            name: "web".into(),
            image: "busybox:2".into(),
            command: Vec::new(),
            env: vec!["A=1".into()],
            labels: BTreeMap::from([("app".into(), "web".into())]),
            ports: vec![PortSpec {
                host_ip: None,
                host_port: Some(8080),
                container_port: 80,
                proto: "tcp".into(),
            }],
            network: Some("fleetnet".into()),
            ipv4: None,
            restart: RestartPolicy::No,
            healthcheck: None,
            nano_cpus: None,
            memory_bytes: None,
            aliases: Vec::new(),
            networks: Vec::new(),
            run: Default::default(),
            complete: false,
            base: None,
        }
    }

    fn old() -> Vec<OldSetting> {
        vec![
            OldSetting::Env { key: "A".into() },
            OldSetting::Env {
                key: "DB_PASSWORD".into(),
            },
            OldSetting::Port {
                container_port: 80,
                proto: "tcp".into(),
                host_ip: None,
                host_port: Some(80),
            },
            OldSetting::Port {
                container_port: 443,
                proto: "tcp".into(),
                host_ip: Some("0.0.0.0".into()),
                host_port: Some(443),
            },
            OldSetting::Restart("always".into()),
            OldSetting::Healthcheck("CMD-SHELL true".into()),
            OldSetting::MemoryBytes(1 << 28),
            OldSetting::Network("fleetnet".into()),
            OldSetting::Network("backend".into()),
            OldSetting::Label { key: "app".into() },
            OldSetting::Label { key: "team".into() },
            OldSetting::Other("bind /srv/web:/data".into()),
            OldSetting::Other("cap_add NET_ADMIN".into()),
        ]
    }

    #[test]
    fn an_update_of_a_foreign_container_names_everything_it_would_drop_and_no_secret() {
        let d = dropped(&old(), &create(), false);
        assert_eq!(
            d,
            [
                "env DB_PASSWORD",
                "port 0.0.0.0:443:443/tcp",
                "restart policy always",
                "healthcheck CMD-SHELL true",
                "memory limit 268435456 bytes",
                "network backend",
                "label team",
                "bind /srv/web:/data",
                "cap_add NET_ADMIN",
            ]
        );
    }

    #[test]
    fn what_the_new_container_sets_is_kept_whatever_its_new_value() {
        let mut new = create();
        new.env.push("DB_PASSWORD=other".into());
        new.ports.push(PortSpec {
            host_ip: None,
            host_port: Some(8443),
            container_port: 443,
            proto: "tcp".into(),
        });
        new.restart = RestartPolicy::UnlessStopped;
        new.healthcheck = Some(Healthcheck {
            command: "wget -q localhost".into(),
            interval_s: 5,
            timeout_s: 3,
            retries: 3,
            start_period_s: 0,
        });
        new.memory_bytes = Some(1 << 29);
        new.labels.insert("team".into(), "shop".into());
        let d = dropped(&old(), &new, false);
        assert_eq!(
            d,
            [
                "network backend",
                "bind /srv/web:/data",
                "cap_add NET_ADMIN"
            ]
        );
    }

    #[test]
    fn a_carried_base_keeps_everything_but_other_networks() {
        let mut new = create();
        new.base = Some(crate::deploy::BaseConfig {
            config: serde_json::json!({}),
            host_config: serde_json::json!({}),
        });
        assert_eq!(dropped(&old(), &new, false), ["network backend"]);
    }

    #[test]
    fn a_fleetdeck_service_is_its_spec_so_only_what_no_spec_expresses_counts() {
        let d = dropped(&old(), &create(), true);
        assert_eq!(d, ["bind /srv/web:/data", "cap_add NET_ADMIN"]);
    }

    #[test]
    fn the_settings_view_lists_every_change_and_never_an_env_value() {
        let old = SettingsView::new(
            "shop/cart:1",
            &serde_json::json!({
                "Env": ["MODE=live", "DB_PASSWORD=hunter2", "GONE=x"],
                "Cmd": ["sh", "-c", "run"],
                "Labels": {"team": "shop", "fleetdeck.deploy.revision": "3"},
                "AttachStdout": false,
            }),
            &serde_json::json!({
                "Memory": 268435456,
                "Binds": ["/b:/b", "/a:/a"],
                "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
                "NetworkMode": "fleetnet",
            }),
            &[("fleetnet".into(), "192.168.2.30".into(), vec![])],
        );
        let same = old.clone();
        assert!(old.changes_to(&same).is_empty());
        let new = SettingsView::new(
            "shop/cart:2",
            &serde_json::json!({
                "Env": ["MODE=test", "DB_PASSWORD=hunter3", "NEW=1"],
                "Cmd": ["sh", "-c", "run"],
                "Labels": {"team": "shop", "fleetdeck.deploy.revision": "4"},
            }),
            &serde_json::json!({
                "Memory": 536870912,
                "Binds": ["/a:/a", "/b:/b"],
                "RestartPolicy": {"Name": "always"},
            }),
            &[
                ("fleetnet".into(), "192.168.2.30".into(), vec![]),
                ("backend".into(), "dynamic".into(), vec!["cart".into()]),
            ],
        );
        let changes = old.changes_to(&new);
        assert_eq!(
            changes,
            [
                "~ Env DB_PASSWORD (value changed)",
                "- Env GONE ***",
                "~ Env MODE (value changed)",
                "+ Env NEW ***",
                "~ HostConfig.Memory 268435456 → 536870912",
                "~ Image shop/cart:1 → shop/cart:2",
                "+ network backend dynamic, aliases cart",
            ]
        );
        assert!(!changes.concat().contains("hunter"));
    }

    #[test]
    fn a_review_shows_changes_and_drops_in_the_plan() {
        let r = Review::Read {
            changes: vec!["~ Image a → b".into(), "+ Env X ***".into()],
            drops: vec!["network mode host".into()],
        };
        assert_eq!(
            r.lines(false),
            [
                "  changes  ~ Image a → b",
                "           + Env X ***",
                "  DROPS    network mode host (refused: put them in the spec, or deploy --accept-loss)",
            ]
        );
        assert_eq!(
            Review::Read {
                changes: vec![],
                drops: vec![]
            }
            .lines(false),
            ["  changes  none: the same settings, a new revision"]
        );
    }

    #[test]
    fn dockers_empty_host_ip_is_no_change_and_exposed_ports_are_compared() {
        let view = |bindings: serde_json::Value, exposed: serde_json::Value| {
            SettingsView::new(
                "a:1",
                &serde_json::json!({ "ExposedPorts": exposed }),
                &serde_json::json!({ "PortBindings": bindings }),
                &[],
            )
        };
        let inspected = view(
            serde_json::json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
            serde_json::json!({"80/tcp": {}}),
        );
        let created = view(
            serde_json::json!({"80/tcp": [{"HostPort": "8080"}]}),
            serde_json::json!({"80/tcp": {}}),
        );
        assert_eq!(inspected.changes_to(&created), Vec::<String>::new());
        let more = view(
            serde_json::json!({"80/tcp": [{"HostPort": "8080"}]}),
            serde_json::json!({"80/tcp": {}, "9090/udp": {}}),
        );
        assert_eq!(
            inspected.changes_to(&more),
            ["~ ExposedPorts 80/tcp → 80/tcp, 9090/udp"]
        );
        // Daemon text in what would be dropped never reaches a terminal raw.
        assert_eq!(
            OldSetting::Other("bind /srv/\x1b[2J:/x".into()).describe(),
            "bind /srv/␛[2J:/x"
        );
    }
}
