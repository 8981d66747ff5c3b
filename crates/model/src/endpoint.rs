//! One Docker daemon as the fleet model sees it: how the link is, what the daemon said about
//! itself, and what runs on it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::container::{Container, ContainerState, Health};
use super::events::{STOPPING_SHOWN, Signalled};
use crate::EndpointSpec;

/// The link to a daemon. `Down` keeps everything last seen; the rows are shown stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting { attempt: u32 },
    Up,
    Down { reason: String, retry_in: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DaemonInfo {
    pub hostname: String,
    pub engine_version: String,
    /// The API version both sides agreed on.
    pub api_version: String,
    /// The daemon's own maximum API version.
    pub server_api_version: String,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    /// "inactive", "active (manager)", "active (worker)", …
    pub swarm: String,
    pub storage_driver: String,
    /// The daemon's own labels (`dockerd --label k=v`, daemon.json `labels`), as `docker info`
    /// lists them. Placement matches them before the config's labels.
    pub labels: BTreeMap<String, String>,
    /// This daemon's Swarm node ID; empty when it is not in a swarm.
    pub node_id: String,
    /// On a Swarm manager: every node of the swarm and its labels. Empty elsewhere.
    pub swarm_nodes: Vec<SwarmNode>,
}

impl DaemonInfo {
    /// A manager of an active swarm: it can list the swarm's nodes, services and tasks.
    pub fn is_swarm_manager(&self) -> bool {
        self.swarm == "active (manager)"
    }
}

/// A Swarm node as a manager lists it: who it is and the labels placement can match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// The node's labels (`docker node update --label-add`), not its engine's.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpamPool {
    pub subnet: String,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    pub internal: bool,
    pub pools: Vec<IpamPool>,
    pub labels: BTreeMap<String, String>,
    /// The driver's options (`-o parent=eth0`, `-o com.docker.network.bridge.name=br0`): what
    /// says a network sits on a LAN other hosts share.
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageInfo {
    pub id: String,
    pub tags: Vec<String>,
    pub size_bytes: i64,
    pub created: Option<DateTime<Utc>>,
}

/// Container counts by the states an operator scans for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateCounts {
    pub total: usize,
    pub running: usize,
    pub exited: usize,
    pub restarting: usize,
    pub unhealthy: usize,
    pub paused: usize,
}

impl std::ops::AddAssign for StateCounts {
    fn add_assign(&mut self, o: Self) {
        self.total += o.total;
        self.running += o.running;
        self.exited += o.exited;
        self.restarting += o.restarting;
        self.unhealthy += o.unhealthy;
        self.paused += o.paused;
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub spec: EndpointSpec,
    pub link: Link,
    pub info: Option<DaemonInfo>,
    /// Round trip of the last ping.
    pub latency: Option<Duration>,
    /// Last time anything was heard from the daemon.
    pub last_contact: Option<DateTime<Utc>>,
    pub down_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub containers: BTreeMap<String, Container>,
    pub networks: Vec<NetworkInfo>,
    pub images: Vec<ImageInfo>,
    /// Whether a full sync has ever completed: before it the container list means nothing.
    pub synced: bool,
    /// The daemon's clock at the last full sync: events up to it are already in the model.
    pub synced_through: Option<DateTime<Utc>>,
    /// Containers known from the daemon's list whose inspect has not come in yet: their rows
    /// show what the list carries, and what only inspect says (restart count, OOM, start and
    /// finish times, env, mounts…) is not known yet, so a figure may still change.
    pub awaiting_details: HashSet<String>,
    /// On a Swarm manager: its last reading of the swarm.
    pub swarm: Option<super::swarm::SwarmState>,
    /// Running containers a stop signal went out to, by id, until their `die` (or `start`,
    /// or removal). Kept beside the rows, not in them, so a list or an inspect that replaces
    /// a row does not forget it. Read through [`Endpoint::stopping`].
    pub signalled: HashMap<String, Signalled>,
    /// Containers the kernel OOM-killed in (daemon clock of the `oom` event), until their next
    /// `start` or removal. Docker sets `OOMKilled` from the task's exit, and containerd can
    /// deliver the exit before the OOM (containerd/containerd#8180, #12714): the inspect that
    /// follows the `die` may then say `false` for a run the `oom` event said was OOM-killed.
    /// Kept beside the rows so that inspect, or a later list, does not erase what the event
    /// said ([`Endpoint::keep_oom`]).
    pub oom_at: HashMap<String, DateTime<Utc>>,
}

impl Endpoint {
    pub fn new(spec: EndpointSpec) -> Self {
        Self {
            spec,
            link: Link::Connecting { attempt: 1 },
            info: None,
            latency: None,
            last_contact: None,
            down_since: None,
            last_error: None,
            containers: BTreeMap::new(),
            networks: Vec::new(),
            images: Vec::new(),
            synced: false,
            synced_through: None,
            awaiting_details: HashSet::new(),
            swarm: None,
            signalled: HashMap::new(),
            oom_at: HashMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn cluster(&self) -> &str {
        &self.spec.cluster
    }

    /// The daemon's engine labels, once it has said them.
    pub fn engine_labels(&self) -> Option<&BTreeMap<String, String>> {
        self.info.as_ref().map(|i| &i.labels)
    }

    /// The engine's gate refuses every state-changing request to this endpoint; the UI hides
    /// those actions and shows a lock.
    pub fn is_read_only(&self) -> bool {
        self.spec.read_only
    }

    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    /// Rows of a daemon we cannot currently hear are last-known, not live.
    pub fn is_stale(&self) -> bool {
        !self.is_up() && self.synced
    }

    /// Whether the container's inspect is in (or it is not known at all): only then do its
    /// inspect-only fields mean what they say.
    pub fn has_details(&self, container_id: &str) -> bool {
        !self.awaiting_details.contains(container_id)
    }

    /// Marks `c` OOM-killed when an `oom` event came for its current run (one that started no
    /// later than the event), whatever inspect or the list says; forgets an `oom` of an
    /// earlier run.
    pub fn keep_oom(&mut self, c: &mut Container) {
        let Some(&at) = self.oom_at.get(&c.id) else {
            return;
        };
        if c.started_at.is_none_or(|started| started <= at) {
            c.oom_killed = true;
        } else {
            self.oom_at.remove(&c.id);
        }
    }

    /// The stop signal this running container was sent, while its row reads "stopping": it
    /// is still running, the signal is about its current run, and was heard less than
    /// [`STOPPING_SHOWN`] before `now` (the dashboard's clock).
    pub fn stopping(&self, c: &Container, now: DateTime<Utc>) -> Option<&Signalled> {
        let s = self.signalled.get(&c.id)?;
        let this_run = c.started_at.is_none_or(|started| started <= s.at);
        (c.state == ContainerState::Running && this_run && now - s.heard < STOPPING_SHOWN)
            .then_some(s)
    }

    /// The STATE word of a container's row: Docker's state, or "stopping" while a stop signal
    /// is out ([`Endpoint::stopping`]).
    pub fn state_word(&self, c: &Container, now: DateTime<Utc>) -> &'static str {
        if self.stopping(c, now).is_some() {
            "stopping"
        } else {
            c.state.as_str()
        }
    }

    /// The STATUS of a container's row: "SIGTERM 3s ago" while it is stopping, else
    /// [`Container::status_text`].
    pub fn status_text(&self, c: &Container, now: DateTime<Utc>) -> String {
        match self.stopping(c, now) {
            Some(s) => format!(
                "{} {} ago",
                s.signal,
                super::container::human_duration(now - s.heard)
            ),
            None => c.status_text(now),
        }
    }

    /// Containers listed whose inspect has not come in yet.
    pub fn details_pending(&self) -> usize {
        self.awaiting_details.len()
    }

    pub fn counts(&self) -> StateCounts {
        let mut c = StateCounts {
            total: self.containers.len(),
            ..StateCounts::default()
        };
        for ct in self.containers.values() {
            match ct.state {
                ContainerState::Running => c.running += 1,
                ContainerState::Exited | ContainerState::Dead => c.exited += 1,
                ContainerState::Restarting => c.restarting += 1,
                ContainerState::Paused => c.paused += 1,
                _ => {}
            }
            if ct.health == Health::Unhealthy {
                c.unhealthy += 1;
            }
        }
        c
    }
}
