//! Swarm as the dashboard sees it: what one manager said about its swarm (nodes, services,
//! tasks), and the arithmetic the nodes and services views show (replicas running of desired,
//! tasks per node, reservations against what a node has, how far an update has got). Every
//! manager endpoint reports its own reading; [`super::Fleet::swarms`] shows each swarm once,
//! from a manager that is up.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::EndpointId;

/// One manager's reading of its swarm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwarmState {
    /// The swarm's cluster ID: managers of one swarm say the same one.
    pub cluster_id: String,
    /// Sorted by hostname.
    pub nodes: Vec<SwarmNodeRow>,
    /// Sorted by name.
    pub services: Vec<SwarmService>,
    /// Every task Swarm still keeps (its history included), in no particular order.
    pub tasks: Vec<SwarmTask>,
}

/// A node of the swarm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwarmNodeRow {
    pub id: String,
    pub hostname: String,
    /// "manager" or "worker".
    pub role: String,
    pub leader: bool,
    /// "active", "pause" or "drain".
    pub availability: String,
    /// "ready", "down", "unknown", "disconnected".
    pub state: String,
    pub engine_version: String,
    pub addr: String,
    /// Node labels (`docker node update --label-add`).
    pub labels: BTreeMap<String, String>,
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

/// How a service places its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMode {
    Replicated(u64),
    Global,
}

/// Swarm's word on a service's last update or rollback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateStatus {
    /// updating, paused, completed, rollback_started, rollback_paused, rollback_completed.
    pub state: String,
    pub message: String,
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    /// Without Swarm's `@sha256:` pin.
    pub image: String,
    pub mode: ServiceMode,
    /// Published ports: "8080:80/tcp".
    pub ports: Vec<String>,
    pub update: Option<UpdateStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwarmTask {
    pub id: String,
    pub service_id: String,
    pub slot: Option<i64>,
    pub node_id: String,
    pub image: String,
    /// Swarm's task state: new, pending, assigned, …, running, complete, failed, rejected,
    /// shutdown, orphaned.
    pub state: String,
    /// What Swarm wants it to be: running, shutdown, …
    pub desired: String,
    pub error: String,
    pub created_at: Option<DateTime<Utc>>,
    /// When the task last changed state.
    pub since: Option<DateTime<Utc>>,
    pub reserved_nano_cpus: i64,
    pub reserved_memory: i64,
}

impl SwarmTask {
    /// Meant to run and running.
    pub fn is_running(&self) -> bool {
        self.desired == "running" && self.state == "running"
    }

    /// Ended badly.
    pub fn is_failed(&self) -> bool {
        matches!(self.state.as_str(), "failed" | "rejected" | "orphaned")
    }
}

/// What a node carries: running tasks and what they reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeLoad {
    pub running: usize,
    pub reserved_nano_cpus: i64,
    pub reserved_memory: i64,
}

/// A node's availability as the operator sets it (`docker node update --availability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Pause => "pause",
            Availability::Drain => "drain",
        }
    }
}

/// Failed tasks of one slot (or one node, for a global service) within the window that make
/// "a task that keeps failing".
pub const FAILING_TASKS: usize = 3;

impl SwarmState {
    pub fn service(&self, id: &str) -> Option<&SwarmService> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn node(&self, id: &str) -> Option<&SwarmNodeRow> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The hostname of a node, or its short id when the node is gone.
    pub fn node_name(&self, id: &str) -> String {
        self.node(id)
            .map(|n| n.hostname.clone())
            .unwrap_or_else(|| id.chars().take(12).collect())
    }

    /// A service's tasks: slot by slot (nodes for global services), newest first in each.
    pub fn tasks_of(&self, service_id: &str) -> Vec<&SwarmTask> {
        let mut tasks: Vec<&SwarmTask> = self
            .tasks
            .iter()
            .filter(|t| t.service_id == service_id)
            .collect();
        tasks.sort_by(|a, b| {
            (a.slot, &a.node_id)
                .cmp(&(b.slot, &b.node_id))
                .then(b.created_at.cmp(&a.created_at))
                .then(a.id.cmp(&b.id))
        });
        tasks
    }

    /// (running, desired) replicas. A global service wants one task on every node that takes
    /// tasks; Swarm says which by the tasks it means to run.
    pub fn replicas(&self, s: &SwarmService) -> (usize, usize) {
        let tasks = self.tasks.iter().filter(|t| t.service_id == s.id);
        let running = tasks.clone().filter(|t| t.is_running()).count();
        let desired = match s.mode {
            ServiceMode::Replicated(n) => usize::try_from(n).unwrap_or(usize::MAX),
            ServiceMode::Global => tasks.filter(|t| t.desired == "running").count(),
        };
        (running, desired)
    }

    pub fn node_load(&self, node_id: &str) -> NodeLoad {
        let mut load = NodeLoad::default();
        for t in self.tasks.iter().filter(|t| t.node_id == node_id) {
            if t.is_running() {
                load.running += 1;
            }
            // What the scheduler counts against the node: tasks it means to run there.
            if t.desired == "running" {
                load.reserved_nano_cpus += t.reserved_nano_cpus;
                load.reserved_memory += t.reserved_memory;
            }
        }
        load
    }

    /// How far a running update (or rollback) has got: tasks started since it began and
    /// running, of those desired. `None` when no update is under way.
    pub fn update_progress(&self, s: &SwarmService) -> Option<(usize, usize)> {
        let u = s.update.as_ref()?;
        if !matches!(u.state.as_str(), "updating" | "rollback_started") {
            return None;
        }
        let (_, desired) = self.replicas(s);
        let done = self
            .tasks
            .iter()
            .filter(|t| t.service_id == s.id && t.is_running())
            .filter(|t| match (t.created_at, u.started_at) {
                (Some(c), Some(started)) => c >= started,
                _ => false,
            })
            .count();
        Some((done.min(desired), desired))
    }

    /// The update column: "updating 1/3", "rolled back", "paused", "completed", "".
    pub fn update_text(&self, s: &SwarmService) -> String {
        let Some(u) = &s.update else {
            return String::new();
        };
        let progress = self
            .update_progress(s)
            .map(|(done, of)| format!(" {done}/{of}"))
            .unwrap_or_default();
        match u.state.as_str() {
            "updating" => format!("updating{progress}"),
            "rollback_started" => format!("rolling back{progress}"),
            "rollback_completed" => "rolled back".into(),
            "rollback_paused" => "rollback paused".into(),
            other => other.replace('_', " "),
        }
    }

    /// Whether Swarm has got where it is going: every service has its replicas running and
    /// no update is under way. While not, the engine reads again soon.
    pub fn converged(&self) -> bool {
        self.services.iter().all(|s| self.converged_service(s))
    }

    /// [`Self::converged`] for one service.
    pub fn converged_service(&self, s: &SwarmService) -> bool {
        let (running, desired) = self.replicas(s);
        let updating = s
            .update
            .as_ref()
            .is_some_and(|u| matches!(u.state.as_str(), "updating" | "rollback_started"));
        running == desired && !updating
    }

    /// Slots (or global nodes) whose last [`FAILING_TASKS`] tasks all failed: a task that
    /// keeps failing. (service id, the newest failed task.)
    pub fn failing_tasks(&self) -> Vec<(&SwarmService, &SwarmTask)> {
        let mut out = Vec::new();
        for s in &self.services {
            // Replicated tasks by slot, global ones by node; newest first in each.
            let mut slots: BTreeMap<String, Vec<&SwarmTask>> = BTreeMap::new();
            for t in self.tasks_of(&s.id) {
                let key = t.slot.map_or_else(|| t.node_id.clone(), |n| n.to_string());
                slots.entry(key).or_default().push(t);
            }
            for tasks in slots.values() {
                // The newest may be the next try, still starting: look past it.
                let recent: Vec<&SwarmTask> = tasks
                    .iter()
                    .skip_while(|t| !t.is_failed() && !t.is_running())
                    .take(FAILING_TASKS)
                    .copied()
                    .collect();
                if recent.len() == FAILING_TASKS && recent.iter().all(|t| t.is_failed()) {
                    out.push((s, recent[0]));
                }
            }
        }
        out
    }
}

/// What names a slot of a service across readings: the service and its slot (or node, for a
/// global service).
pub fn slot_key(t: &SwarmTask) -> String {
    match t.slot {
        Some(slot) => format!("{}/{slot}", t.service_id),
        None => format!("{}@{}", t.service_id, t.node_id),
    }
}

/// The slots of a reading whose tasks keep failing, by [`slot_key`].
pub fn failing_slots(state: &SwarmState) -> std::collections::BTreeSet<String> {
    state
        .failing_tasks()
        .into_iter()
        .map(|(_, t)| slot_key(t))
        .collect()
}

/// One swarm as the views show it: the reading of a manager, which one, and the others.
#[derive(Debug, Clone)]
pub struct SwarmView<'a> {
    /// The manager whose reading this is (and that actions on the swarm go to).
    pub endpoint: EndpointId,
    pub state: &'a SwarmState,
    /// Every manager endpoint of this swarm in the fleet, `endpoint` among them.
    pub managers: Vec<EndpointId>,
    /// No manager of it is up: this is the last reading.
    pub stale: bool,
}

impl<'a> SwarmView<'a> {
    /// A task with its service and node, by task id.
    pub fn task(&self, id: &str) -> Option<&'a SwarmTask> {
        self.state.tasks.iter().find(|t| t.id == id)
    }
}

/// The swarms of a fleet, each once: managers are grouped by cluster ID; the reading shown is
/// the first manager (in config order) that is up, else the first that ever answered (stale).
/// A manager that goes down hands over to the next one that is up at once.
pub fn swarms(endpoints: &[super::Endpoint]) -> Vec<SwarmView<'_>> {
    let mut out: Vec<SwarmView<'_>> = Vec::new();
    for (id, ep) in endpoints.iter().enumerate() {
        let Some(state) = &ep.swarm else { continue };
        match out
            .iter_mut()
            .find(|v| v.state.cluster_id == state.cluster_id)
        {
            Some(v) => {
                v.managers.push(id);
                if v.stale && ep.is_up() {
                    v.endpoint = id;
                    v.state = state;
                    v.stale = false;
                }
            }
            None => out.push(SwarmView {
                endpoint: id,
                state,
                managers: vec![id],
                stale: !ep.is_up(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(s, 0)
    }

    fn task(
        id: &str,
        slot: i64,
        node: &str,
        state: &str,
        desired: &str,
        created: i64,
    ) -> SwarmTask {
        SwarmTask {
            id: id.into(),
            service_id: "s1".into(),
            slot: Some(slot),
            node_id: node.into(),
            image: "busybox:local".into(),
            state: state.into(),
            desired: desired.into(),
            created_at: at(created),
            reserved_nano_cpus: 250_000_000,
            reserved_memory: 64 << 20,
            ..SwarmTask::default()
        }
    }

    fn service(mode: ServiceMode, update: Option<UpdateStatus>) -> SwarmService {
        SwarmService {
            id: "s1".into(),
            name: "web".into(),
            image: "busybox:local".into(),
            mode,
            ports: vec![],
            update,
        }
    }

    #[test]
    fn replicas_count_running_tasks_against_the_mode() {
        let mut st = SwarmState {
            services: vec![service(ServiceMode::Replicated(3), None)],
            tasks: vec![
                task("t1", 1, "n1", "running", "running", 10),
                task("t2", 2, "n2", "starting", "running", 10),
                task("t0", 1, "n1", "shutdown", "shutdown", 5),
            ],
            ..SwarmState::default()
        };
        assert_eq!(st.replicas(&st.services[0]), (1, 3));
        assert!(!st.converged());
        st.services[0].mode = ServiceMode::Global;
        assert_eq!(st.replicas(&st.services[0]), (1, 2));
        st.tasks[1].state = "running".into();
        assert!(st.converged());
    }

    #[test]
    fn a_node_carries_the_tasks_meant_to_run_there() {
        let st = SwarmState {
            tasks: vec![
                task("t1", 1, "n1", "running", "running", 10),
                task("t2", 2, "n1", "preparing", "running", 10),
                task("t0", 3, "n1", "shutdown", "shutdown", 5),
            ],
            ..SwarmState::default()
        };
        let load = st.node_load("n1");
        assert_eq!(load.running, 1);
        assert_eq!(load.reserved_nano_cpus, 500_000_000);
        assert_eq!(load.reserved_memory, 128 << 20);
        assert_eq!(st.node_load("n2"), NodeLoad::default());
    }

    #[test]
    fn an_update_shows_its_progress_and_a_rollback_says_so() {
        let mut st = SwarmState {
            services: vec![service(
                ServiceMode::Replicated(2),
                Some(UpdateStatus {
                    state: "updating".into(),
                    message: "update in progress".into(),
                    started_at: at(100),
                }),
            )],
            tasks: vec![
                task("t1", 1, "n1", "running", "running", 110),
                task("t2", 2, "n1", "running", "running", 50),
            ],
            ..SwarmState::default()
        };
        assert_eq!(st.update_text(&st.services[0]), "updating 1/2");
        assert!(!st.converged());
        st.services[0].update.as_mut().unwrap().state = "rollback_completed".into();
        assert_eq!(st.update_text(&st.services[0]), "rolled back");
        assert!(st.converged());
    }

    #[test]
    fn a_slot_whose_last_tasks_all_failed_keeps_failing() {
        let mut st = SwarmState {
            services: vec![service(ServiceMode::Replicated(1), None)],
            tasks: vec![
                task("t4", 1, "n1", "starting", "running", 40),
                task("t3", 1, "n1", "failed", "shutdown", 30),
                task("t2", 1, "n1", "failed", "shutdown", 20),
                task("t1", 1, "n1", "failed", "shutdown", 10),
            ],
            ..SwarmState::default()
        };
        let failing = st.failing_tasks();
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].1.id, "t3");
        st.tasks[2].state = "shutdown".into();
        assert!(st.failing_tasks().is_empty());
    }

    #[test]
    fn a_swarm_with_two_manager_endpoints_shows_once_and_fails_over() {
        use crate::{EndpointSpec, Link};
        let spec = |name: &str| EndpointSpec::from_url(Some(name), "tcp://m:2375").unwrap();
        let mut eps: Vec<crate::Endpoint> = ["m1", "m2", "other"]
            .map(|n| crate::Endpoint::new(spec(n)))
            .into();
        let reading = |cluster: &str, services: usize| SwarmState {
            cluster_id: cluster.into(),
            services: (0..services)
                .map(|i| SwarmService {
                    id: format!("s{i}"),
                    ..service(ServiceMode::Global, None)
                })
                .collect(),
            ..SwarmState::default()
        };
        eps[0].swarm = Some(reading("c1", 1));
        eps[1].swarm = Some(reading("c1", 2));
        eps[2].swarm = Some(reading("c2", 0));
        for ep in &mut eps {
            ep.link = Link::Up;
        }
        let views = swarms(&eps);
        assert_eq!(views.len(), 2, "c1 once, c2 once");
        assert_eq!(
            (views[0].endpoint, views[0].managers.as_slice()),
            (0, &[0, 1][..])
        );
        assert!(!views[0].stale);
        // m1 goes down: m2's reading takes over.
        eps[0].link = Link::Down {
            reason: "gone".into(),
            retry_in: std::time::Duration::from_secs(1),
        };
        let views = swarms(&eps);
        assert_eq!((views[0].endpoint, views[0].state.services.len()), (1, 2));
        assert!(!views[0].stale);
        // Both down: the first reading, stale.
        eps[1].link = eps[0].link.clone();
        let views = swarms(&eps);
        assert_eq!(views[0].endpoint, 0);
        assert!(views[0].stale);
    }
}
