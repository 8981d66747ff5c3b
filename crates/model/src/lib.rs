//! The fleet as data. Engine tasks describe what they saw as owned [`Msg`]s; [`Fleet::apply`]
//! folds them in. No I/O, no Docker client, no terminal: everything here is unit-tested alone.

pub mod actions;
pub mod alerts;
pub mod changes;
pub mod container;
pub mod deploy;
pub mod endpoint;
pub mod events;
pub mod filter;
pub mod inspect;
pub mod ipam;
pub mod labels;
pub mod logs;
pub mod query;
pub mod shell;
pub mod signal;
pub mod spec;
pub mod stats;
pub mod swarm;
pub mod text;
pub mod top;
pub mod triage;
pub mod view;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use container::{Container, ContainerState, Health};
pub use endpoint::{DaemonInfo, Endpoint, ImageInfo, Link, NetworkInfo, StateCounts, SwarmNode};
pub use spec::{DEFAULT_CLUSTER, DockerUrl, EndpointSpec, TlsFiles};
pub use view::View;

/// Index of an endpoint in [`Fleet::endpoints`]; stable for the life of the process.
pub type EndpointId = usize;

/// Everything a full sync learns about one daemon.
#[derive(Debug, Clone, Default)]
pub struct SyncData {
    pub info: DaemonInfo,
    pub containers: Vec<Container>,
    pub networks: Vec<NetworkInfo>,
    pub images: Vec<ImageInfo>,
    pub latency: Option<Duration>,
    /// The daemon's clock when the sync began: every event up to here is already in it, so a
    /// replayed one must not be applied to the containers again. `None` when unknown.
    pub daemon_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub enum MsgKind {
    /// A connection attempt is starting.
    Connecting {
        attempt: u32,
    },
    /// The link failed; the engine retries after `retry_in`.
    Down {
        reason: String,
        retry_in: Duration,
    },
    /// A full sync finished: the endpoint is up and this is the truth.
    Synced(Box<SyncData>),
    /// The first half of a session's sync: the daemon's list is in, so the endpoint is up and
    /// its rows show what the list carries; [`MsgKind::Inspected`] brings the rest.
    Listed(Box<SyncData>),
    /// Inspects of listed containers (`gone`: those that vanished between list and inspect),
    /// a batch at a time as they come in.
    Inspected {
        containers: Vec<Container>,
        gone: Vec<String>,
    },
    /// A container appeared or changed (from an event or a partial resync).
    ContainerChanged(Box<Container>),
    ContainerGone {
        id: String,
    },
    Networks(Vec<NetworkInfo>),
    Images(Vec<ImageInfo>),
    /// `docker info` read again at a resync (engine and Swarm node labels change while
    /// connected); sent only when it differs from what the model has.
    Info(Box<DaemonInfo>),
    /// A ping's round trip: the clusters view's LATENCY column, read by no rule.
    Latency(Duration),
    /// A Swarm manager's reading of its swarm (nodes, services, tasks), at the resync, after
    /// Swarm events, and often while Swarm is still converging.
    Swarm(Box<swarm::SwarmState>),
    /// Docker events, live or backfilled after a reconnect, in arrival order.
    Events(Vec<events::FleetEvent>),
    /// `docker inspect` of a container (or endpoint, network, Swarm node or service) for the
    /// inspect overlay `request` (or why it failed).
    Inspect {
        request: u64,
        target: inspect::InspectTarget,
        doc: Result<Box<inspect::InspectDoc>, String>,
    },
    /// A deploy plan read against the running revision it replaces (its changes field by
    /// field, what it would drop), for the plan the dashboard shows.
    DeployReviewed(Box<deploy::DeployPlan>),
    /// `docker top` of a container for the processes overlay `watch` (or why it failed).
    Processes {
        watch: u64,
        container_id: String,
        table: Result<top::ProcessTable, String>,
    },
    /// Stats readings of running containers, taken every `interval`.
    Stats {
        interval: Duration,
        samples: Vec<(String, stats::RawStats)>,
    },
    /// Lines for log tail `tail` (the app routes them to the tail it has open).
    Log {
        tail: u64,
        lines: Vec<logs::LogLine>,
    },
    /// A state-changing action passed the gate: done, failed or refused. `batch` groups the
    /// requests submitted together (one key, one command), `total` is how many it holds.
    ActionDone {
        batch: u64,
        total: usize,
        outcome: Box<actions::ActionOutcome>,
    },
    /// Word from a batch that is not one request's result: a rolling restart waiting for a
    /// container to be healthy, moving on, or stopping at a failure (`problem`).
    ActionNote {
        batch: u64,
        total: usize,
        verb: String,
        container_id: String,
        container: String,
        text: String,
        problem: bool,
    },
    /// A shell in the pane passed the gate and runs.
    ShellStarted {
        shell: shell::ShellId,
    },
    /// Bytes a shell printed, raw (escape sequences and all): only its emulator reads them.
    ShellOutput {
        shell: shell::ShellId,
        bytes: Vec<u8>,
    },
    /// A shell ended, was refused, or lost its link.
    ShellEnded {
        shell: shell::ShellId,
        state: shell::ShellState,
    },
}

/// What an engine task tells the model, stamped with the endpoint and the time it happened.
#[derive(Debug, Clone)]
pub struct Msg {
    pub endpoint: EndpointId,
    pub at: DateTime<Utc>,
    pub kind: MsgKind,
}

impl MsgKind {
    /// A reading that comes again and again and changes figures, not the fleet's make-up: a
    /// stats round or a ping's round trip. It moves no [`Fleet::revision`], so what views and
    /// rules work out from the containers, networks and events (the IP-pool report) stands;
    /// with forty endpoints pinging every 5 s, round trips that move by a millisecond would
    /// otherwise have it worked out again several times a second.
    pub fn is_reading(&self) -> bool {
        matches!(self, MsgKind::Stats { .. } | MsgKind::Latency(_))
    }
}

#[derive(Debug, Clone)]
pub struct Fleet {
    pub endpoints: Vec<Endpoint>,
    pub events: events::EventLog,
    /// Bounded per-container history of stats samples.
    pub stats: stats::StatsBook,
    /// Progress of the action batches submitted lately, for the status line.
    pub actions: actions::ActionBoard,
    /// Changes with every [`Fleet::apply`] that changed anything but readings (stats samples,
    /// a ping's round trip: see [`MsgKind::is_reading`]), so views
    /// can keep what they computed from the fleet (the alert rules' IP-pool report) until it
    /// moves. Drawn from one process-wide counter: two fleets share a revision only as clones.
    pub revision: u64,
    /// Which containers the latest changes touched (kept only when asked for, see
    /// [`Fleet::with_change_log`]).
    pub changes: changes::ChangeLog,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet::new([])
    }
}

/// A stats message sampling more containers than this logs its endpoint as touched, not each.
const STATS_TOUCHES: usize = 64;

/// Hands out fleet revisions; process-wide so a replaced fleet never looks unchanged.
fn next_revision() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Fleet {
    pub fn new(specs: impl IntoIterator<Item = EndpointSpec>) -> Self {
        Self {
            endpoints: specs.into_iter().map(Endpoint::new).collect(),
            events: events::EventLog::default(),
            stats: stats::StatsBook::default(),
            actions: actions::ActionBoard::default(),
            revision: next_revision(),
            changes: changes::ChangeLog::default(),
        }
    }

    /// Marks the fleet changed, for code (tests, plans) that edits it without [`Fleet::apply`].
    pub fn touch(&mut self) {
        self.revision = next_revision();
        self.changes.push(false, || changes::Touched::Fleet);
    }

    /// Keeps the last `capacity` changes' touched containers, for a view that follows them
    /// (the containers table: its rows are re-sorted only where they changed).
    pub fn with_change_log(mut self, capacity: usize) -> Self {
        self.changes = changes::ChangeLog::new(capacity);
        self
    }

    /// Logs that a container changed.
    fn touched(&mut self, endpoint: EndpointId, id: &str, stats: bool) {
        self.changes.push(stats, || changes::Touched::Container {
            endpoint,
            id: id.to_string(),
        });
    }

    pub fn with_stats_window(mut self, window: Duration) -> Self {
        self.stats = stats::StatsBook::new(window);
        self
    }

    pub fn with_event_log(mut self, log: events::EventLog) -> Self {
        self.events = log;
        self
    }

    /// fleetdeck's own event for an endpoint's link changing, merged into the stream.
    fn endpoint_event(
        &mut self,
        endpoint: EndpointId,
        at: DateTime<Utc>,
        action: &str,
        detail: String,
    ) {
        let Some(ep) = self.endpoints.get(endpoint) else {
            return;
        };
        let mut ev = events::FleetEvent {
            time_nano: at.timestamp_nanos_opt().unwrap_or(0),
            endpoint,
            kind: events::ENDPOINT_TYPE.into(),
            action: action.into(),
            actor_id: ep.name().to_string(),
            actor: ep.name().to_string(),
            details: if detail.is_empty() {
                vec![]
            } else {
                vec![detail]
            },
            exit_code: None,
            severity: events::Severity::Info,
            restart_loop: false,
        };
        ev.classify();
        self.events.push(ev);
    }

    /// fleetdeck's own event for an action it took (or refused) on a container.
    fn action_event(
        &mut self,
        endpoint: EndpointId,
        at: DateTime<Utc>,
        action: &str,
        (actor_id, actor): (&str, &str),
        detail: String,
    ) {
        let mut ev = events::FleetEvent {
            time_nano: at.timestamp_nanos_opt().unwrap_or(0),
            endpoint,
            kind: events::FLEETDECK_TYPE.into(),
            action: action.into(),
            actor_id: actor_id.to_string(),
            actor: actor.to_string(),
            details: vec![detail],
            exit_code: None,
            severity: events::Severity::Info,
            restart_loop: false,
        };
        ev.classify();
        self.events.push(ev);
    }

    /// fleetdeck's own event for each slot of a service whose tasks have started to keep
    /// failing since `before` (Swarm has no task events), said once per swarm: by the manager
    /// whose reading the views show.
    fn failing_task_events(
        &mut self,
        endpoint: EndpointId,
        at: DateTime<Utc>,
        before: &std::collections::BTreeSet<String>,
    ) {
        let mut new = Vec::new();
        for view in self.swarms() {
            if view.endpoint != endpoint {
                continue;
            }
            for (service, task) in view.state.failing_tasks() {
                if before.contains(&swarm::slot_key(task)) {
                    continue;
                }
                let slot = task.slot.map(|s| format!(".{s}")).unwrap_or_default();
                let mut ev = events::FleetEvent {
                    time_nano: at.timestamp_nanos_opt().unwrap_or(0),
                    endpoint,
                    kind: events::TASK_TYPE.into(),
                    action: "failing".into(),
                    actor_id: task.id.clone(),
                    actor: format!("{}{slot}", service.name),
                    details: vec![
                        format!("{} tasks in a row failed", swarm::FAILING_TASKS),
                        format!("on {}", view.state.node_name(&task.node_id)),
                        task.error.clone(),
                    ],
                    exit_code: None,
                    severity: events::Severity::Info,
                    restart_loop: false,
                };
                ev.classify();
                new.push(ev);
            }
        }
        for ev in new {
            self.events.push(ev);
        }
    }

    /// Cluster names in the order their first endpoint was configured.
    pub fn clusters(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for ep in &self.endpoints {
            if !out.contains(&ep.cluster()) {
                out.push(ep.cluster());
            }
        }
        out
    }

    pub fn endpoints_in<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = &'a Endpoint> {
        self.endpoints
            .iter()
            .filter(move |e| e.cluster() == cluster)
    }

    /// The Swarm node labels of `ep`'s daemon, when it is a Swarm node and some manager in the
    /// fleet (itself, often) has listed its node. `None`: not a node, or its labels unknown.
    pub fn node_labels(
        &self,
        ep: &Endpoint,
    ) -> Option<&std::collections::BTreeMap<String, String>> {
        let node_id = ep.info.as_ref().map(|i| i.node_id.as_str())?;
        if node_id.is_empty() {
            return None;
        }
        self.endpoints
            .iter()
            .filter_map(|e| e.info.as_ref())
            .flat_map(|i| &i.swarm_nodes)
            .find(|n| n.id == node_id)
            .map(|n| &n.labels)
    }

    pub fn endpoint_by_name(&self, name: &str) -> Option<(EndpointId, &Endpoint)> {
        self.endpoints
            .iter()
            .enumerate()
            .find(|(_, e)| e.name() == name)
    }

    /// The fleet's swarms, each once, read from a manager that is up (see [`swarm::swarms`]).
    pub fn swarms(&self) -> Vec<swarm::SwarmView<'_>> {
        swarm::swarms(&self.endpoints)
    }

    /// Events passing `filter`, oldest first.
    pub fn filtered_events<'a>(
        &'a self,
        filter: &'a filter::Filter,
    ) -> impl Iterator<Item = &'a events::FleetEvent> + 'a {
        self.events.iter().filter(move |e| {
            if filter.is_empty() {
                return true;
            }
            let Some(ep) = self.endpoints.get(e.endpoint) else {
                return false;
            };
            let text = format!("{} {}", e.action, e.details.join(" "));
            filter.matches_subject(&filter::Subject {
                name: &e.actor,
                image: "",
                endpoint: ep.name(),
                cluster: ep.cluster(),
                labels: None,
                state: "",
                health: "",
                kind: &e.kind,
                text: &text,
            })
        })
    }

    pub fn container_count(&self) -> usize {
        self.endpoints.iter().map(|e| e.containers.len()).sum()
    }

    /// Containers listed whose inspect has not come in yet, on the endpoints that are up: one
    /// that went down mid-inspect is not loading anything (its rows are last-known).
    pub fn details_pending(&self) -> usize {
        self.endpoints
            .iter()
            .filter(|e| e.is_up())
            .map(|e| e.details_pending())
            .sum()
    }

    /// What a container event states for sure, folded into that container (or its removal, for
    /// `destroy`), heard at `heard` (the dashboard's clock). Returns whether anything changed.
    fn apply_container_event(
        &mut self,
        endpoint: EndpointId,
        ev: &events::FleetEvent,
        heard: DateTime<Utc>,
    ) -> bool {
        let Some(ep) = self.endpoints.get_mut(endpoint) else {
            return false;
        };
        // A stop signal makes a running row read "stopping" until its `die`: the `kill` event
        // comes tens of milliseconds before it (the daemon reaps the process and tears the
        // task down in between), and for a SIGTERM up to the whole grace period before.
        if let Some(signal) = ev.stop_signal() {
            let Some(c) = ep.containers.get(&ev.actor_id) else {
                return false;
            };
            let at = ev.time();
            if c.state != ContainerState::Running || c.started_at.is_some_and(|t| t > at) {
                return false;
            }
            ep.signalled
                .retain(|_, s| heard - s.heard < events::STOPPING_SHOWN);
            ep.signalled
                .insert(ev.actor_id.clone(), events::Signalled { signal, at, heard });
            self.touched(endpoint, &ev.actor_id, false);
            return true;
        }
        if matches!(ev.verb(), "die" | "start" | "destroy") {
            ep.signalled.remove(&ev.actor_id);
        }
        if matches!(ev.verb(), "start" | "destroy") {
            ep.oom_at.remove(&ev.actor_id);
        }
        if ev.verb() == "destroy" {
            self.stats.forget(endpoint, &ev.actor_id);
            ep.awaiting_details.remove(&ev.actor_id);
            let gone = ep.containers.remove(&ev.actor_id).is_some();
            if gone {
                self.touched(endpoint, &ev.actor_id, false);
            }
            return gone;
        }
        let Some(c) = ep.containers.get_mut(&ev.actor_id) else {
            return false;
        };
        let changed = events::apply_to(c, ev);
        if ev.verb() == "oom" && c.oom_killed {
            ep.oom_at.insert(ev.actor_id.clone(), ev.time());
        }
        if changed && c.state != ContainerState::Running {
            self.stats.forget(endpoint, &ev.actor_id);
        }
        if changed {
            self.touched(endpoint, &ev.actor_id, false);
        }
        changed
    }

    /// A sync's rows replace the endpoint's: all of them inspected (`details`, a full sync), or
    /// only listed, their inspects to follow ([`MsgKind::Inspected`]). Either way the endpoint
    /// is up from here.
    fn synced(
        &mut self,
        endpoint: EndpointId,
        at: DateTime<Utc>,
        sync: SyncData,
        details: bool,
        was_up: bool,
        down_since: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(ep) = self.endpoints.get_mut(endpoint) else {
            return false;
        };
        let SyncData {
            info,
            containers,
            networks,
            images,
            latency,
            daemon_time,
        } = sync;
        if !info.is_swarm_manager() {
            ep.swarm = None;
        }
        ep.info = Some(info);
        ep.synced_through = daemon_time;
        ep.oom_at
            .retain(|id, _| containers.iter().any(|c| &c.id == id));
        ep.containers = containers
            .into_iter()
            .map(|mut c| {
                ep.keep_oom(&mut c);
                (c.id.clone(), c)
            })
            .collect();
        ep.awaiting_details = if details {
            std::collections::HashSet::new()
        } else {
            ep.containers.keys().cloned().collect()
        };
        let running: std::collections::HashSet<&str> = ep
            .containers
            .values()
            .filter(|c| c.state == ContainerState::Running)
            .map(|c| c.id.as_str())
            .collect();
        self.stats
            .retain(|e, id| e != endpoint || running.contains(id));
        ep.signalled.retain(|id, _| running.contains(id.as_str()));
        ep.networks = networks;
        ep.images = images;
        if latency.is_some() {
            ep.latency = latency;
        }
        ep.link = Link::Up;
        ep.down_since = None;
        ep.synced = true;
        self.changes
            .push(false, || changes::Touched::Endpoint(endpoint));
        ep.last_contact = Some(at);
        if !was_up {
            let detail = down_since
                .map(|t| format!("after {} down", container::human_duration(at - t)))
                .unwrap_or_default();
            self.endpoint_event(endpoint, at, "up", detail);
        }
        true
    }

    /// A container as inspect describes it (after an event, a resync, or the inspects that
    /// follow a list): the whole truth about it, details included.
    fn container_changed(
        &mut self,
        endpoint: EndpointId,
        at: DateTime<Utc>,
        mut c: Container,
    ) -> bool {
        let Some(ep) = self.endpoints.get_mut(endpoint) else {
            return false;
        };
        ep.last_contact = Some(at);
        ep.keep_oom(&mut c);
        let detailed = ep.awaiting_details.remove(&c.id);
        let stopped = c.state != ContainerState::Running;
        if stopped {
            ep.signalled.remove(&c.id);
        }
        let forgot = stopped && self.stats.forget(endpoint, &c.id);
        let changed = detailed || ep.containers.get(&c.id) != Some(&c);
        if changed || forgot {
            self.changes.push(false, || changes::Touched::Container {
                endpoint,
                id: c.id.clone(),
            });
        }
        if changed {
            ep.containers.insert(c.id.clone(), c);
        }
        changed
    }

    fn container_gone(&mut self, endpoint: EndpointId, at: DateTime<Utc>, id: &str) -> bool {
        let Some(ep) = self.endpoints.get_mut(endpoint) else {
            return false;
        };
        ep.last_contact = Some(at);
        ep.awaiting_details.remove(id);
        ep.signalled.remove(id);
        ep.oom_at.remove(id);
        let forgot = self.stats.forget(endpoint, id);
        let gone = ep.containers.remove(id).is_some();
        if gone || forgot {
            self.touched(endpoint, id, false);
        }
        gone
    }

    /// Folds one engine message into the fleet. Returns whether anything visible changed, so the
    /// app loop redraws only when it must.
    pub fn apply(&mut self, msg: Msg) -> bool {
        let reading = msg.kind.is_reading();
        let changed = self.fold(msg);
        if changed && !reading {
            self.revision = next_revision();
        }
        changed
    }

    fn fold(&mut self, msg: Msg) -> bool {
        let Some(ep) = self.endpoints.get_mut(msg.endpoint) else {
            return false;
        };
        // One outage is one "down" event, however many reconnect attempts fail during it.
        let new_outage = ep.down_since.is_none();
        let was_up = ep.is_up();
        let down_since = ep.down_since;
        match msg.kind {
            // Log lines belong to the tail that asked for them, not to the fleet; shell
            // output to its pane (the app routes both).
            MsgKind::Log { .. }
            | MsgKind::Processes { .. }
            | MsgKind::Inspect { .. }
            | MsgKind::DeployReviewed(_)
            | MsgKind::ShellStarted { .. }
            | MsgKind::ShellOutput { .. }
            | MsgKind::ShellEnded { .. } => false,
            MsgKind::ActionDone {
                batch,
                total,
                outcome,
            } => {
                self.actions.record(batch, total, &outcome);
                let req = &outcome.request;
                self.action_event(
                    msg.endpoint,
                    msg.at,
                    req.action.verb(),
                    (&req.container_id, &req.container),
                    outcome.result.text(),
                );
                true
            }
            MsgKind::ActionNote {
                batch,
                total,
                verb,
                container_id,
                container,
                text,
                problem,
            } => {
                self.actions.note(batch, &verb, total, &text);
                let detail = if problem {
                    format!("failed: {text}")
                } else {
                    text
                };
                self.action_event(
                    msg.endpoint,
                    msg.at,
                    &verb,
                    (&container_id, &container),
                    detail,
                );
                true
            }
            MsgKind::Stats { interval, samples } => {
                ep.last_contact = Some(msg.at);
                let mut sampled = Vec::new();
                for (id, mut raw) in samples {
                    // Only running containers are sampled; a late reading of one that stopped
                    // is dropped rather than kept forever.
                    let Some(c) = ep.containers.get(&id) else {
                        continue;
                    };
                    if c.state != ContainerState::Running {
                        continue;
                    }
                    raw.started_at = c.started_at;
                    if self
                        .stats
                        .record(msg.endpoint, &id, raw, interval)
                        .is_some()
                    {
                        sampled.push(id);
                    }
                }
                // A whole round of an endpoint is one entry of the change log, not hundreds.
                if sampled.len() > STATS_TOUCHES {
                    self.changes
                        .push(true, || changes::Touched::Endpoint(msg.endpoint));
                } else {
                    for id in &sampled {
                        self.touched(msg.endpoint, id, true);
                    }
                }
                !sampled.is_empty()
            }
            MsgKind::Events(batch) => {
                ep.last_contact = Some(msg.at);
                let synced_through = ep.synced_through;
                let mut changed = false;
                for ev in batch {
                    // The state an event carries goes to the table at once; the inspect the
                    // engine sends after it refines what the event could not say.
                    let replayed = synced_through.is_some_and(|t| ev.time() <= t);
                    if ev.kind == "container" && !replayed {
                        changed |= self.apply_container_event(msg.endpoint, &ev, msg.at);
                    }
                    changed |= self.events.push(ev);
                }
                changed
            }
            MsgKind::Connecting { attempt } => {
                let link = Link::Connecting { attempt };
                let changed = ep.link != link;
                ep.link = link;
                changed
            }
            MsgKind::Down { reason, retry_in } => {
                if ep.down_since.is_none() || ep.is_up() {
                    ep.down_since = Some(msg.at);
                }
                ep.last_error = Some(reason.clone());
                ep.link = Link::Down {
                    reason: reason.clone(),
                    retry_in,
                };
                if new_outage {
                    self.endpoint_event(msg.endpoint, msg.at, "down", reason);
                }
                true
            }
            MsgKind::Synced(sync) => {
                self.synced(msg.endpoint, msg.at, *sync, true, was_up, down_since)
            }
            MsgKind::Listed(sync) => {
                self.synced(msg.endpoint, msg.at, *sync, false, was_up, down_since)
            }
            MsgKind::Inspected { containers, gone } => {
                let mut changed = false;
                for c in containers {
                    changed |= self.container_changed(msg.endpoint, msg.at, c);
                }
                for id in gone {
                    changed |= self.container_gone(msg.endpoint, msg.at, &id);
                }
                changed
            }
            MsgKind::ContainerChanged(c) => self.container_changed(msg.endpoint, msg.at, *c),
            MsgKind::ContainerGone { id } => self.container_gone(msg.endpoint, msg.at, &id),
            MsgKind::Networks(networks) => {
                ep.last_contact = Some(msg.at);
                let changed = ep.networks != networks;
                ep.networks = networks;
                changed
            }
            MsgKind::Images(images) => {
                ep.last_contact = Some(msg.at);
                let changed = ep.images != images;
                ep.images = images;
                changed
            }
            MsgKind::Info(info) => {
                ep.last_contact = Some(msg.at);
                let mut changed = ep.info.as_ref() != Some(&*info);
                if !info.is_swarm_manager() {
                    changed |= ep.swarm.take().is_some();
                }
                ep.info = Some(*info);
                changed
            }
            MsgKind::Swarm(state) => {
                ep.last_contact = Some(msg.at);
                let changed = ep.swarm.as_ref() != Some(&*state);
                let before = ep
                    .swarm
                    .as_ref()
                    .map(swarm::failing_slots)
                    .unwrap_or_default();
                ep.swarm = Some(*state);
                self.failing_task_events(msg.endpoint, msg.at, &before);
                changed
            }
            MsgKind::Latency(rtt) => {
                ep.last_contact = Some(msg.at);
                // Only a visible change in the shown figure is worth a redraw.
                let changed = ep.latency.map(|l| l.as_millis()) != Some(rtt.as_millis());
                ep.latency = Some(rtt);
                changed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::container::fixtures::container;
    use super::*;

    fn fleet() -> Fleet {
        Fleet::new([
            EndpointSpec::from_url(Some("a"), "tcp://a:2375").unwrap(),
            EndpointSpec::from_url(Some("b"), "tcp://b:2375").unwrap(),
        ])
    }

    fn msg(endpoint: EndpointId, kind: MsgKind) -> Msg {
        Msg {
            endpoint,
            at: DateTime::from_timestamp(1_000_000, 0).unwrap(),
            kind,
        }
    }

    fn synced(containers: Vec<Container>) -> MsgKind {
        MsgKind::Synced(Box::new(SyncData {
            containers,
            ..SyncData::default()
        }))
    }

    #[test]
    fn sync_brings_an_endpoint_up_with_its_containers() {
        let mut f = fleet();
        assert!(f.apply(msg(
            0,
            synced(vec![container("c1", "web", ContainerState::Running)])
        )));
        assert!(f.endpoints[0].is_up());
        assert_eq!(f.endpoints[0].containers.len(), 1);
        assert!(!f.endpoints[1].synced);
    }

    #[test]
    fn a_down_endpoint_keeps_its_rows_and_marks_them_stale() {
        let mut f = fleet();
        f.apply(msg(
            0,
            synced(vec![container("c1", "web", ContainerState::Running)]),
        ));
        f.apply(msg(
            0,
            MsgKind::Down {
                reason: "connection refused".into(),
                retry_in: Duration::from_secs(2),
            },
        ));
        let ep = &f.endpoints[0];
        assert!(ep.is_stale());
        assert_eq!(ep.containers.len(), 1);
        assert_eq!(ep.last_error.as_deref(), Some("connection refused"));
        assert!(ep.down_since.is_some());
        // Reconnect attempts do not forget when it went down, nor make it a new outage.
        let since = ep.down_since;
        f.apply(msg(0, MsgKind::Connecting { attempt: 2 }));
        f.apply(msg(
            0,
            MsgKind::Down {
                reason: "again".into(),
                retry_in: Duration::from_secs(4),
            },
        ));
        assert_eq!(f.endpoints[0].down_since, since);
        let downs = f.events.iter().filter(|e| e.action == "down").count();
        assert_eq!(downs, 1, "one outage, one down event");
        // A sync makes it live again.
        f.apply(msg(0, synced(vec![])));
        assert!(!f.endpoints[0].is_stale());
        assert!(f.endpoints[0].down_since.is_none());
    }

    fn listed(containers: Vec<Container>) -> MsgKind {
        MsgKind::Listed(Box::new(SyncData {
            containers,
            ..SyncData::default()
        }))
    }

    #[test]
    fn rows_from_the_list_show_at_once_and_the_inspects_refine_them() {
        let mut f = fleet();
        let mut web = container("c1", "web", ContainerState::Running);
        web.list_status = "Up 3 minutes".into();
        let job = container("c2", "job", ContainerState::Exited);
        let gone = container("c3", "tmp", ContainerState::Exited);
        assert!(f.apply(msg(0, listed(vec![web.clone(), job.clone(), gone]))));
        let ep = &f.endpoints[0];
        assert!(ep.is_up() && ep.synced, "up as soon as the list is in");
        assert_eq!(ep.containers.len(), 3);
        assert_eq!((ep.details_pending(), f.details_pending()), (3, 3));
        assert!(!ep.has_details("c1"));
        // Until its inspect, a row says what Docker's status said.
        let now = DateTime::from_timestamp(2_000_000, 0).unwrap();
        assert_eq!(ep.containers["c1"].status_text(now), "Up 3 minutes");
        // The inspects refine the rows, batch by batch; one vanished in between.
        web.restart_count = 4;
        web.started_at = Some(now - chrono::TimeDelta::minutes(90));
        assert!(f.apply(msg(
            0,
            MsgKind::Inspected {
                containers: vec![web],
                gone: vec!["c3".into()],
            }
        )));
        let ep = &f.endpoints[0];
        assert_eq!(ep.details_pending(), 1);
        assert!(ep.has_details("c1") && !ep.has_details("c2"));
        assert_eq!(ep.containers["c1"].restart_count, 4);
        assert_eq!(ep.containers["c1"].status_text(now), "Up 1h30m");
        assert!(!ep.containers.contains_key("c3"));
        // An inspect identical to the listed row still counts: its details are now known.
        assert!(f.apply(msg(
            0,
            MsgKind::Inspected {
                containers: vec![job],
                gone: vec![],
            }
        )));
        assert_eq!(f.details_pending(), 0);
        assert!(!f.endpoints[1].synced, "the other endpoint is untouched");
    }

    #[test]
    fn a_full_sync_or_a_removal_leaves_nothing_awaiting_details() {
        let mut f = fleet();
        let rows = vec![
            container("c1", "web", ContainerState::Running),
            container("c2", "job", ContainerState::Exited),
        ];
        f.apply(msg(0, listed(rows.clone())));
        f.apply(msg(0, MsgKind::ContainerGone { id: "c2".into() }));
        assert_eq!(f.details_pending(), 1);
        f.apply(msg(0, synced(rows)));
        assert_eq!(f.details_pending(), 0);
    }

    #[test]
    fn a_reconnect_lists_again_and_stale_rows_stay_until_then() {
        let mut f = fleet();
        f.apply(msg(
            0,
            synced(vec![container("c1", "web", ContainerState::Running)]),
        ));
        f.apply(msg(
            0,
            MsgKind::Down {
                reason: "connection refused".into(),
                retry_in: Duration::from_secs(2),
            },
        ));
        f.apply(msg(0, MsgKind::Connecting { attempt: 2 }));
        let ep = &f.endpoints[0];
        assert!(ep.is_stale(), "down: the rows are last-known");
        assert!(ep.has_details("c1"), "and keep what they were");
        // The new session's list makes it live again, its rows awaiting their inspects.
        f.apply(msg(
            0,
            listed(vec![container("c1", "web", ContainerState::Running)]),
        ));
        let ep = &f.endpoints[0];
        assert!(ep.is_up() && !ep.is_stale());
        assert!(ep.down_since.is_none());
        assert_eq!(ep.details_pending(), 1);
        // Down again before the inspects: stale, still awaiting them.
        f.apply(msg(
            0,
            MsgKind::Down {
                reason: "again".into(),
                retry_in: Duration::from_secs(2),
            },
        ));
        assert!(f.endpoints[0].is_stale());
        assert_eq!(f.endpoints[0].details_pending(), 1);
    }

    #[test]
    fn container_changes_and_removals_apply_and_report_change() {
        let mut f = fleet();
        f.apply(msg(1, synced(vec![])));
        let c = container("c9", "job", ContainerState::Running);
        assert!(f.apply(msg(1, MsgKind::ContainerChanged(Box::new(c.clone())))));
        assert!(!f.apply(msg(1, MsgKind::ContainerChanged(Box::new(c)))));
        assert!(f.apply(msg(1, MsgKind::ContainerGone { id: "c9".into() })));
        assert!(!f.apply(msg(1, MsgKind::ContainerGone { id: "c9".into() })));
    }

    #[test]
    fn action_outcomes_go_to_the_event_stream_and_the_status_line() {
        use actions::{Action, ActionOutcome, ActionRequest, ActionResult};
        let mut f = fleet();
        let done = |name: &str, result: ActionResult| MsgKind::ActionDone {
            batch: 1,
            total: 2,
            outcome: Box::new(ActionOutcome {
                request: ActionRequest {
                    endpoint: 1,
                    container_id: format!("id-{name}"),
                    container: name.into(),
                    action: Action::Restart { timeout_s: None },
                },
                endpoint_name: "b".into(),
                result,
                attempt: Some("x".into()),
                elapsed: Duration::ZERO,
            }),
        };
        assert!(f.apply(msg(1, done("web", ActionResult::Succeeded))));
        let mut later = msg(
            1,
            done(
                "db",
                ActionResult::Refused("endpoint b is read-only".into()),
            ),
        );
        later.at += chrono::TimeDelta::seconds(1);
        assert!(f.apply(later));
        let evs: Vec<_> = f.events.iter().collect();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].kind, "fleetdeck");
        assert_eq!(evs[0].action, "restart");
        assert_eq!(evs[0].actor, "web");
        assert_eq!(evs[0].details, ["ok"]);
        assert_eq!(evs[0].severity, events::Severity::Info);
        assert_eq!(evs[1].details, ["refused: endpoint b is read-only"]);
        assert_eq!(evs[1].severity, events::Severity::Warning);
        assert_eq!(
            f.actions.latest().unwrap().status_line(),
            "restart 2/2: 1 ok, 1 refused (b/db: refused: endpoint b is read-only)"
        );
    }

    #[test]
    fn info_read_again_replaces_the_labels_and_redraws_only_when_they_changed() {
        let mut f = fleet();
        let mut info = DaemonInfo {
            labels: [("dc".to_string(), "us-east".to_string())].into(),
            ..DaemonInfo::default()
        };
        assert!(f.apply(msg(0, MsgKind::Info(Box::new(info.clone())))));
        assert!(!f.apply(msg(0, MsgKind::Info(Box::new(info.clone())))));
        info.labels.insert("dc".into(), "us-west".into());
        assert!(f.apply(msg(0, MsgKind::Info(Box::new(info)))));
        assert_eq!(
            f.endpoints[0].engine_labels().map(|l| l["dc"].as_str()),
            Some("us-west")
        );
    }

    #[test]
    fn a_round_trip_moves_the_figure_not_the_revision() {
        let mut f = fleet();
        let revision = f.revision;
        assert!(f.apply(msg(0, MsgKind::Latency(Duration::from_millis(3)))));
        assert!(!f.apply(msg(0, MsgKind::Latency(Duration::from_micros(3_400)))));
        assert_eq!(f.revision, revision);
        assert!(f.apply(msg(
            0,
            MsgKind::ContainerChanged(Box::new(container("x", "x", ContainerState::Running))),
        )));
        assert_ne!(f.revision, revision, "a container's change moves it");
    }

    #[test]
    fn messages_for_unknown_endpoints_are_ignored() {
        let mut f = fleet();
        assert!(!f.apply(msg(7, MsgKind::Latency(Duration::from_millis(3)))));
    }

    fn container_event(secs: i64, action: &str, id: &str, exit: Option<i64>) -> MsgKind {
        let mut e = events::FleetEvent {
            time_nano: secs * 1_000_000_000,
            endpoint: 0,
            kind: "container".into(),
            action: action.into(),
            actor_id: id.into(),
            actor: id.into(),
            details: vec![],
            exit_code: exit,
            severity: events::Severity::Info,
            restart_loop: false,
        };
        e.classify();
        MsgKind::Events(vec![e])
    }

    #[test]
    fn an_event_changes_its_container_at_once_and_destroy_removes_it() {
        let mut f = fleet();
        let mut web = container("c1", "web", ContainerState::Running);
        web.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(
            0,
            synced(vec![web, container("c2", "db", ContainerState::Exited)]),
        ));
        assert!(f.apply(msg(0, container_event(200, "die", "c1", Some(2)))));
        let web = &f.endpoints[0].containers["c1"];
        assert_eq!(
            (web.state, web.exit_code),
            (ContainerState::Exited, Some(2))
        );
        assert!(
            f.events.iter().any(|e| e.action == "die"),
            "and logged as before"
        );
        assert!(f.apply(msg(0, container_event(210, "destroy", "c2", None))));
        assert!(!f.endpoints[0].containers.contains_key("c2"));
    }

    fn kill(secs: i64, id: &str, signal: &str) -> MsgKind {
        let MsgKind::Events(mut batch) = container_event(secs, "kill", id, None) else {
            unreachable!()
        };
        batch[0].details = vec![format!("signal {signal}")];
        MsgKind::Events(batch)
    }

    fn heard_at(secs: i64, kind: MsgKind) -> Msg {
        Msg {
            endpoint: 0,
            at: DateTime::from_timestamp(secs, 0).unwrap(),
            kind,
        }
    }

    #[test]
    fn a_stop_signal_reads_stopping_until_the_die_and_survives_a_new_inspect() {
        let mut f = fleet().with_change_log(16);
        let mut web = container("c1", "web", ContainerState::Running);
        web.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(0, synced(vec![web.clone()])));
        let now = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let row = |f: &Fleet, at: i64| {
            let ep = &f.endpoints[0];
            let c = &ep.containers["c1"];
            (ep.state_word(c, now(at)), ep.status_text(c, now(at)))
        };

        // The kill, heard at 1000 on the dashboard's clock (the daemon's says 200).
        let mark = f.changes.mark();
        assert!(f.apply(heard_at(1000, kill(200, "c1", "15"))));
        assert_eq!(row(&f, 1003), ("stopping", "SIGTERM 3s ago".to_string()));
        assert!(
            f.changes
                .since(mark)
                .is_some_and(|mut c| c.any(|c| c.touched
                    == changes::Touched::Container {
                        endpoint: 0,
                        id: "c1".into()
                    })),
            "the row is marked for the table to redo"
        );
        // An inspect that replaces the row while it is still running keeps it stopping.
        assert!(f.apply(heard_at(
            1004,
            MsgKind::ContainerChanged(Box::new({
                let mut c = web.clone();
                c.restart_count = 1;
                c
            }))
        )));
        assert_eq!(row(&f, 1005).0, "stopping");
        // The grace period's SIGKILL, then the die.
        assert!(f.apply(heard_at(1010, kill(210, "c1", "9"))));
        assert_eq!(row(&f, 1010), ("stopping", "SIGKILL 0s ago".to_string()));
        assert!(f.apply(heard_at(1010, container_event(210, "die", "c1", Some(137)))));
        assert_eq!(row(&f, 1011).0, "exited");
        assert!(f.endpoints[0].signalled.is_empty(), "forgotten on the die");
        // Started again: a new run, and nothing of the old signal.
        assert!(f.apply(heard_at(1020, container_event(220, "start", "c1", None))));
        assert_eq!(row(&f, 1021).0, "running");
    }

    #[test]
    fn a_signal_ignored_reads_running_again_after_a_while() {
        let mut f = fleet();
        let mut web = container("c1", "web", ContainerState::Running);
        web.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(0, synced(vec![web])));
        assert!(f.apply(heard_at(1000, kill(200, "c1", "SIGTERM"))));
        let ep = &f.endpoints[0];
        let c = &ep.containers["c1"];
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(ep.state_word(c, at(1059)), "stopping");
        assert_eq!(ep.state_word(c, at(1060)), "running");
        assert_eq!(ep.status_text(c, at(1060)), c.status_text(at(1060)));
    }

    #[test]
    fn reload_signals_old_signals_and_stopped_containers_read_as_they_are() {
        let mut f = fleet();
        let mut web = container("c1", "web", ContainerState::Running);
        web.started_at = DateTime::from_timestamp(100, 0);
        let job = container("c2", "job", ContainerState::Exited);
        f.apply(msg(0, synced(vec![web, job])));
        // SIGHUP is a reload: only the event log has it.
        assert!(f.apply(heard_at(1000, kill(200, "c1", "1"))));
        // A signal from before this run started (a replay the sync did not cover).
        assert!(f.apply(heard_at(1000, kill(50, "c1", "9"))));
        // A stopped container, and one not known at all.
        assert!(f.apply(heard_at(1000, kill(200, "c2", "9"))));
        assert!(f.apply(heard_at(1000, kill(200, "c9", "9"))));
        assert!(f.endpoints[0].signalled.is_empty());
        assert_eq!(
            f.events.iter().filter(|e| e.verb() == "kill").count(),
            4,
            "all four are logged"
        );
    }

    #[test]
    fn a_sync_that_lists_a_signalled_container_stopped_forgets_its_signal() {
        let mut f = fleet();
        let web = container("c1", "web", ContainerState::Running);
        f.apply(msg(0, synced(vec![web.clone()])));
        f.apply(heard_at(1000, kill(200, "c1", "9")));
        f.apply(msg(0, synced(vec![web])));
        assert_eq!(f.endpoints[0].signalled.len(), 1, "still running: kept");
        f.apply(msg(
            0,
            synced(vec![container("c1", "web", ContainerState::Exited)]),
        ));
        assert!(f.endpoints[0].signalled.is_empty());
    }

    #[test]
    fn an_oom_event_outlasts_an_inspect_that_says_otherwise_until_the_next_run() {
        let mut f = fleet();
        let mut hog = container("c1", "hog", ContainerState::Running);
        hog.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(0, synced(vec![hog.clone()])));
        // containerd delivered the exit before the OOM: die, then oom, then an inspect that
        // says OOMKilled false for this run.
        f.apply(heard_at(1000, container_event(200, "die", "c1", Some(137))));
        assert!(f.apply(heard_at(1000, container_event(201, "oom", "c1", None))));
        let mut inspected = hog.clone();
        inspected.state = ContainerState::Exited;
        inspected.exit_code = Some(137);
        inspected.finished_at = DateTime::from_timestamp(200, 0);
        assert!(!inspected.oom_killed);
        f.apply(heard_at(
            1001,
            MsgKind::ContainerChanged(Box::new(inspected.clone())),
        ));
        let oom = |f: &Fleet| f.endpoints[0].containers["c1"].oom_killed;
        assert!(oom(&f), "the event's word stands over the inspect's");
        // A resync lists it (no details yet) and inspects it again: still OOM-killed.
        f.apply(msg(0, synced(vec![inspected.clone()])));
        assert!(oom(&f));
        // Started again: a new run, not OOM-killed, and an inspect of it says so.
        f.apply(heard_at(1010, container_event(210, "start", "c1", None)));
        assert!(!oom(&f));
        let mut again = hog.clone();
        again.started_at = DateTime::from_timestamp(210, 0);
        f.apply(heard_at(1011, MsgKind::ContainerChanged(Box::new(again))));
        assert!(!oom(&f));
        assert!(f.endpoints[0].oom_at.is_empty());
    }

    #[test]
    fn an_oom_of_an_earlier_run_is_forgotten_when_inspect_shows_a_newer_run() {
        let mut f = fleet();
        let mut hog = container("c1", "hog", ContainerState::Running);
        hog.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(0, synced(vec![hog.clone()])));
        f.apply(heard_at(1000, container_event(201, "oom", "c1", None)));
        assert!(f.endpoints[0].containers["c1"].oom_killed);
        // The restart's start event was missed (a reconnect): the inspect shows a run that
        // began after the oom.
        hog.started_at = DateTime::from_timestamp(300, 0);
        f.apply(heard_at(1100, MsgKind::ContainerChanged(Box::new(hog))));
        assert!(!f.endpoints[0].containers["c1"].oom_killed);
        assert!(f.endpoints[0].oom_at.is_empty());
        // Removal forgets it too.
        f.apply(heard_at(1200, container_event(301, "oom", "c1", None)));
        assert_eq!(f.endpoints[0].oom_at.len(), 1);
        f.apply(heard_at(1201, MsgKind::ContainerGone { id: "c1".into() }));
        assert!(f.endpoints[0].oom_at.is_empty());
    }

    #[test]
    fn events_the_last_sync_already_saw_are_logged_but_not_applied_again() {
        let mut f = fleet();
        let mut web = container("c1", "web", ContainerState::Running);
        web.started_at = DateTime::from_timestamp(100, 0);
        f.apply(msg(
            0,
            MsgKind::Synced(Box::new(SyncData {
                containers: vec![web.clone()],
                daemon_time: DateTime::from_timestamp(500, 0),
                ..SyncData::default()
            })),
        ));
        // A replay after a reconnect: a health change from before the sync.
        assert!(f.apply(msg(
            0,
            container_event(400, "health_status: unhealthy", "c1", None)
        )));
        assert_eq!(f.endpoints[0].containers["c1"], web);
        assert!(f.events.iter().any(|e| e.verb() == "health_status"));
    }

    #[test]
    fn a_swarm_reading_is_kept_until_the_daemon_is_no_manager_any_more() {
        let mut f = fleet();
        let state = swarm::SwarmState {
            cluster_id: "c1".into(),
            ..swarm::SwarmState::default()
        };
        let mut info = DaemonInfo {
            swarm: "active (manager)".into(),
            ..DaemonInfo::default()
        };
        f.apply(msg(0, MsgKind::Info(Box::new(info.clone()))));
        assert!(f.apply(msg(0, MsgKind::Swarm(Box::new(state.clone())))));
        assert!(
            !f.apply(msg(0, MsgKind::Swarm(Box::new(state)))),
            "the same reading"
        );
        assert_eq!(
            f.endpoints[0].swarm.as_ref().map(|s| s.cluster_id.as_str()),
            Some("c1")
        );
        info.swarm = "inactive".into();
        assert!(f.apply(msg(0, MsgKind::Info(Box::new(info)))));
        assert!(f.endpoints[0].swarm.is_none() && f.swarms().is_empty());
    }

    #[test]
    fn a_slot_whose_tasks_keep_failing_is_one_critical_event() {
        let mut f = fleet();
        f.apply(msg(0, synced(vec![])));
        let task = |id: &str, state: &str| swarm::SwarmTask {
            id: id.into(),
            service_id: "s1".into(),
            slot: Some(1),
            node_id: "n1".into(),
            state: state.into(),
            desired: "shutdown".into(),
            error: "task: non-zero exit (1)".into(),
            created_at: DateTime::from_timestamp(id[1..].parse().unwrap(), 0),
            ..swarm::SwarmTask::default()
        };
        let mut state = swarm::SwarmState {
            cluster_id: "c1".into(),
            services: vec![swarm::SwarmService {
                id: "s1".into(),
                name: "web".into(),
                image: "busybox".into(),
                mode: swarm::ServiceMode::Replicated(1),
                ports: vec![],
                update: None,
            }],
            tasks: vec![task("t1", "failed"), task("t2", "failed")],
            ..swarm::SwarmState::default()
        };
        f.apply(msg(0, MsgKind::Swarm(Box::new(state.clone()))));
        assert_eq!(f.events.iter().filter(|e| e.kind == "task").count(), 0);
        state.tasks.push(task("t3", "failed"));
        f.apply(msg(0, MsgKind::Swarm(Box::new(state.clone()))));
        state.tasks.push(task("t4", "failed"));
        f.apply(msg(0, MsgKind::Swarm(Box::new(state))));
        let failing: Vec<_> = f.events.iter().filter(|e| e.kind == "task").collect();
        assert_eq!(failing.len(), 1, "once, while it keeps failing");
        assert_eq!(failing[0].actor, "web.1");
        assert_eq!(failing[0].severity, events::Severity::Critical);
        assert_eq!(
            failing[0].details,
            [
                "3 tasks in a row failed",
                "on n1",
                "task: non-zero exit (1)"
            ]
        );
    }
}
