//! A container as fleetdeck keeps it: what list + inspect told us, already sanitised.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContainerState {
    Running,
    Restarting,
    Paused,
    Created,
    Exited,
    Removing,
    Dead,
    Unknown,
}

impl ContainerState {
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "restarting" => Self::Restarting,
            "paused" => Self::Paused,
            "created" => Self::Created,
            "exited" => Self::Exited,
            "removing" => Self::Removing,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Paused => "paused",
            Self::Created => "created",
            Self::Exited => "exited",
            Self::Removing => "removing",
            Self::Dead => "dead",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Health {
    /// No healthcheck configured.
    #[default]
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn parse(s: &str) -> Self {
        match s {
            "starting" => Self::Starting,
            "healthy" => Self::Healthy,
            "unhealthy" => Self::Unhealthy,
            _ => Self::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// A container's place on one network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetAttachment {
    pub network: String,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    /// The address asked for with `--ip`: the container takes it back on every start, so it is
    /// claimed even while the container is stopped.
    pub static_ipv4: Option<String>,
    pub gateway: Option<String>,
    pub mac: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub private: u16,
    pub public: Option<u16>,
    pub host_ip: Option<String>,
    pub proto: String,
}

impl fmt::Display for PortBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.public {
            Some(public) => write!(f, "{public}→{}/{}", self.private, self.proto),
            None => write!(f, "{}/{}", self.private, self.proto),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

/// What only `inspect` tells, laid out in the detail panel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerDetail {
    pub command: Vec<String>,
    pub entrypoint: Vec<String>,
    /// `KEY=value` pairs; values are masked on screen unless the operator unmasks them.
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    pub restart_policy: String,
    /// The network it joined when created (`HostConfig.NetworkMode`: a network's name,
    /// `default` for the bridge, `host`, `none`, `container:ID`).
    pub network_mode: String,
    pub hostname: String,
    pub user: String,
    pub working_dir: String,
    pub healthcheck: Vec<String>,
    /// Its CPU limit in thousandths of a CPU (`--cpus 0.5` is 500, from NanoCpus or
    /// CpuQuota/CpuPeriod); `None` without one.
    pub cpu_limit_millis: Option<u64>,
    /// The last healthcheck output, for "why is it unhealthy".
    pub last_health_output: Option<String>,
    pub state_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    pub health: Health,
    pub created: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub restart_count: i64,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<NetAttachment>,
    pub ports: Vec<PortBinding>,
    pub detail: ContainerDetail,
    /// Docker's own status text from the last list ("Up 3 minutes (healthy)"); a change in it
    /// at resync time is what makes the engine inspect the container again.
    pub list_status: String,
}

impl Container {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// IPv4 addresses first, then IPv6, in network-name order.
    pub fn ips(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .networks
            .iter()
            .filter_map(|n| n.ipv4.as_deref())
            .collect();
        v.extend(self.networks.iter().filter_map(|n| n.ipv6.as_deref()));
        v
    }

    pub fn exited_nonzero(&self) -> bool {
        matches!(self.state, ContainerState::Exited | ContainerState::Dead)
            && self.exit_code.is_some_and(|c| c != 0)
    }

    /// Status the way an operator reads it, computed from the times so it stays current between
    /// syncs: "Up 3h12m", "Exited (3) 5m ago", "Restarting (7)".
    pub fn status_text(&self, now: DateTime<Utc>) -> String {
        let since = |t: Option<DateTime<Utc>>| t.map(|t| human_duration(now - t));
        // A row from the list alone has no start or finish time yet: Docker's own text says
        // more until the inspect brings them.
        let listed_only = self.started_at.is_none() && self.finished_at.is_none();
        if listed_only && !self.list_status.is_empty() {
            return self.list_status.clone();
        }
        match self.state {
            ContainerState::Running => match since(self.started_at) {
                Some(d) => format!("Up {d}"),
                None => "Up".into(),
            },
            ContainerState::Paused => match since(self.started_at) {
                Some(d) => format!("Paused, up {d}"),
                None => "Paused".into(),
            },
            ContainerState::Restarting => format!("Restarting ({})", self.restart_count),
            ContainerState::Exited | ContainerState::Dead => {
                let code = self.exit_code.unwrap_or(0);
                let oom = if self.oom_killed { " OOM" } else { "" };
                match since(self.finished_at) {
                    Some(d) => format!("Exited ({code}){oom} {d} ago"),
                    None => format!("Exited ({code}){oom}"),
                }
            }
            ContainerState::Created => "Created".into(),
            ContainerState::Removing => "Removing".into(),
            ContainerState::Unknown => self.list_status.clone(),
        }
    }
}

/// Compact duration: "45s", "12m", "3h12m", "4d3h".
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{m}m")
            }
        }
        _ => {
            let (d, h) = (s / 86_400, (s % 86_400) / 3600);
            if h == 0 {
                format!("{d}d")
            } else {
                format!("{d}d{h}h")
            }
        }
    }
}

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures {
    use super::*;

    pub fn container(id: &str, name: &str, state: ContainerState) -> Container {
        Container {
            id: id.to_string(),
            name: name.to_string(),
            image: "busybox:local".into(),
            state,
            health: Health::None,
            created: None,
            started_at: None,
            finished_at: None,
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            labels: BTreeMap::new(),
            networks: Vec::new(),
            ports: Vec::new(),
            detail: ContainerDetail::default(),
            list_status: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::container;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_are_compact() {
        let d = chrono::TimeDelta::seconds;
        assert_eq!(human_duration(d(5)), "5s");
        assert_eq!(human_duration(d(125)), "2m");
        assert_eq!(human_duration(d(3600)), "1h");
        assert_eq!(human_duration(d(3600 * 3 + 60 * 12)), "3h12m");
        assert_eq!(human_duration(d(86_400 * 4 + 3600 * 3)), "4d3h");
        assert_eq!(human_duration(d(-5)), "0s");
    }

    #[test]
    fn status_text_follows_the_clock() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let mut c = container("abc", "web", ContainerState::Running);
        c.started_at = Some(now - chrono::TimeDelta::minutes(90));
        assert_eq!(c.status_text(now), "Up 1h30m");
        c.state = ContainerState::Exited;
        c.exit_code = Some(137);
        c.oom_killed = true;
        c.finished_at = Some(now - chrono::TimeDelta::minutes(5));
        assert_eq!(c.status_text(now), "Exited (137) OOM 5m ago");
        assert!(c.exited_nonzero());
    }
}
