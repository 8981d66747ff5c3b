//! What an update would drop. The running revision's settings, as the engine reads them from
//! the daemon (its inspect, less what its image provides), against the container the update
//! creates: every setting the new container would not have is named, and the update refuses
//! unless the operator accepts the loss.
//!
//! A service fleetdeck deployed was made from a spec, so a setting its new spec leaves out is
//! the operator's change, not a loss: only what no spec can express counts there. A container
//! fleetdeck did not create (`docker run -e … -v … --restart …`) has all of its settings
//! checked.

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
    /// it where the spec sets one). A carried base keeps everything but other networks.
    fn kept_by(&self, new: &CreateSpec) -> bool {
        if new.base.is_some() && !matches!(self, Self::Network(_)) {
            return true;
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
            // No network in the spec is Docker's default bridge.
            Self::Network(n) => new.network.as_deref().unwrap_or("bridge") == n,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::deploy::{Healthcheck, PortSpec, RestartPolicy};

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
        new.base = Some(crate::model::deploy::BaseConfig {
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
}
