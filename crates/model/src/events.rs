//! The fleet's merged event stream: every daemon's Docker events plus fleetdeck's own (an
//! endpoint going down or coming back), in one time-ordered, bounded, de-duplicated log.
//!
//! De-duplication matters because the engine backfills: after a reconnect it asks each daemon
//! for everything since the last event it saw, and Docker's `since` is inclusive, so the
//! boundary events come twice. The log is sorted by time, so a duplicate is found by a binary
//! search for events of the same nanosecond and a compare of (endpoint, type, action, actor):
//! no second index, and nothing to forget when an event is evicted.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::EndpointId;
use super::container::{Container, ContainerState, Health};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    #[default]
    Info,
    /// Worth a look: unhealthy, killed, stopped by signal.
    Warning,
    /// Something died badly: non-zero exit, OOM, a restart loop, an endpoint down.
    Critical,
}

/// Where an event came from: a Docker object type, or fleetdeck's view of the endpoint.
pub const ENDPOINT_TYPE: &str = "endpoint";
/// An action fleetdeck itself took on a container (restart, stop…), with its result.
pub const FLEETDECK_TYPE: &str = "fleetdeck";
/// A Swarm task, as fleetdeck reads it from a manager (Docker sends no task events): a slot
/// whose tasks keep failing.
pub const TASK_TYPE: &str = "task";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetEvent {
    /// Daemon time in nanoseconds since the epoch; orders the merged stream.
    pub time_nano: i64,
    pub endpoint: EndpointId,
    /// container, image, network, volume, daemon, … or "endpoint".
    pub kind: String,
    /// Docker's action, e.g. "die", "health_status: unhealthy", "pull".
    pub action: String,
    pub actor_id: String,
    /// Human name of the actor: container name, image reference, network name.
    pub actor: String,
    /// The attributes that matter for this action, in display order ("exit 3", "signal 9").
    pub details: Vec<String>,
    pub exit_code: Option<i64>,
    pub severity: Severity,
    /// Set on a `die` that completes a restart loop (N deaths within the window).
    pub restart_loop: bool,
}

impl FleetEvent {
    pub fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.time_nano)
    }

    /// The verb without its argument: "health_status: unhealthy" → "health_status".
    pub fn verb(&self) -> &str {
        self.action.split(':').next().unwrap_or("").trim()
    }

    /// Severity from Docker's own facts; restart loops are raised later by the log.
    pub fn classify(&mut self) {
        let verb = self.verb().to_string();
        self.severity = match (self.kind.as_str(), verb.as_str()) {
            ("container", "die") if self.exit_code.is_some_and(|c| c != 0) => Severity::Critical,
            ("container", "oom") => Severity::Critical,
            ("container", "health_status") if self.action.ends_with("unhealthy") => {
                Severity::Warning
            }
            ("container", "kill") => Severity::Warning,
            (ENDPOINT_TYPE, "down") => Severity::Critical,
            // Swarm (a manager's events): a node gone down, drained or removed, an update
            // that Swarm paused or is rolling back.
            ("node", "update") if self.has_detail(&["state down", "state disconnected"]) => {
                Severity::Critical
            }
            ("node", "update") if self.has_detail(&["availability drain", "state unknown"]) => {
                Severity::Warning
            }
            ("node", "remove") => Severity::Warning,
            (TASK_TYPE, "failing") => Severity::Critical,
            ("service", "update")
                if self.has_detail(&[
                    "update paused",
                    "update rollback_started",
                    "update rollback_paused",
                ]) =>
            {
                Severity::Warning
            }
            (FLEETDECK_TYPE, _) if self.details.iter().any(|d| d.starts_with("failed")) => {
                Severity::Critical
            }
            (FLEETDECK_TYPE, _) if self.details.iter().any(|d| d.starts_with("refused")) => {
                Severity::Warning
            }
            _ => Severity::Info,
        };
    }

    /// Whether a detail is one of `texts`, or one of them followed by more ("state down (was
    /// ready)").
    fn has_detail(&self, texts: &[&str]) -> bool {
        self.details.iter().any(|d| {
            texts
                .iter()
                .any(|t| d == t || d.strip_prefix(t).is_some_and(|rest| rest.starts_with(' ')))
        })
    }

    /// Whether this is a container event that changes what the container's row says: its
    /// state, health or name ([`apply_to`]), that a stop signal went out to it (a `kill` with
    /// one of [`stop_signal_name`]'s signals: the row reads "stopping"), or that it is gone
    /// (`destroy`). The dashboard draws these without waiting for its frame cap; the rest
    /// (exec_*, other kills, attach, network and image events) only add to the event log and
    /// wait for the next frame slot.
    pub fn changes_a_row(&self) -> bool {
        self.kind == "container"
            && (matches!(
                self.verb(),
                "start"
                    | "die"
                    | "oom"
                    | "health_status"
                    | "pause"
                    | "unpause"
                    | "rename"
                    | "destroy"
            ) || self.stop_signal().is_some())
    }

    /// The stop signal a container `kill` event says was sent ("SIGTERM"), if it is one that
    /// ends a container ([`stop_signal_name`]). `docker stop` sends the container's stop signal
    /// (SIGTERM unless its image or `--stop-signal` says otherwise), then SIGKILL when the grace
    /// period ends; `docker kill` sends SIGKILL. A reload signal (HUP, USR1…) is not one.
    pub fn stop_signal(&self) -> Option<&'static str> {
        if self.kind != "container" || self.verb() != "kill" {
            return None;
        }
        self.details
            .iter()
            .find_map(|d| d.strip_prefix("signal "))
            .and_then(stop_signal_name)
    }

    fn same_event(&self, other: &FleetEvent) -> bool {
        self.time_nano == other.time_nano
            && self.endpoint == other.endpoint
            && self.kind == other.kind
            && self.action == other.action
            && self.actor_id == other.actor_id
    }
}

/// Folds what a container event states for sure into the container, so the table changes with
/// the event instead of a round trip later; the inspect the engine sends after it refines the
/// rest (and wins, being newer). An event older than the run the model already knows (before
/// its `started_at` or `finished_at`) changes nothing, so a replay cannot undo newer state.
/// `kill` and `stop` change nothing here: the `die` that follows says how it ended (the fleet
/// keeps a stop signal beside the row meanwhile, [`Signalled`]). `destroy` is the caller's,
/// who owns the list. Returns whether anything changed.
pub fn apply_to(c: &mut Container, ev: &FleetEvent) -> bool {
    if ev.kind != "container" || ev.actor_id != c.id {
        return false;
    }
    let at = ev.time();
    let not_older = |t: Option<DateTime<Utc>>| t.is_none_or(|t| at >= t);
    if !not_older(c.started_at) || !not_older(c.finished_at) {
        return false;
    }
    let before = c.clone();
    match ev.verb() {
        "start" => {
            // Docker clears these for every new run.
            c.state = ContainerState::Running;
            c.started_at = Some(at);
            c.exit_code = Some(0);
            c.oom_killed = false;
        }
        "die" => {
            c.state = ContainerState::Exited;
            c.finished_at = Some(at);
            if ev.exit_code.is_some() {
                c.exit_code = ev.exit_code;
            }
        }
        "oom" => c.oom_killed = true,
        "health_status" => {
            let status = ev.action.split_once(':').map_or("", |(_, s)| s.trim());
            let health = Health::parse(status);
            if health != Health::None && c.state == ContainerState::Running {
                c.health = health;
            }
        }
        "pause" if c.state == ContainerState::Running => c.state = ContainerState::Paused,
        "unpause" if c.state == ContainerState::Paused => c.state = ContainerState::Running,
        // Without a `name` attribute the conversion falls back to the id: nothing to rename to.
        "rename" if !ev.actor.is_empty() && ev.actor != ev.actor_id => {
            c.name.clone_from(&ev.actor);
        }
        _ => {}
    }
    *c != before
}

/// The signals that ask a container to end, as Docker's `kill` event names them (a number,
/// or on some engines a name): SIGINT, SIGQUIT, SIGKILL and SIGTERM, the usual stop signals.
/// Anything else (HUP, USR1, WINCH…) is commonly a reload or a nudge, not a stop: `None`.
pub fn stop_signal_name(signal: &str) -> Option<&'static str> {
    let s = signal.trim();
    let bare = s.strip_prefix("SIG").unwrap_or(s);
    match bare {
        "2" | "INT" => Some("SIGINT"),
        "3" | "QUIT" => Some("SIGQUIT"),
        "9" | "KILL" => Some("SIGKILL"),
        "15" | "TERM" => Some("SIGTERM"),
        _ => None,
    }
}

/// How long after a stop signal a container still running reads "stopping": past Docker's
/// default grace period (10 s, then SIGKILL) and the 30 s many compose files set. A container
/// that outlives it after a lone signal (one that traps SIGTERM and carries on) reads
/// "running" again; the event log keeps the signal.
pub const STOPPING_SHOWN: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A stop signal sent to a running container, known from its `kill` event before the `die`
/// that follows (20-50 ms later for a SIGKILL on the lab's hosts, up to the grace period for a
/// SIGTERM). The row reads "stopping" meanwhile ([`crate::Endpoint::stopping`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signalled {
    /// "SIGTERM", "SIGKILL", … ([`stop_signal_name`]).
    pub signal: &'static str,
    /// The event's time, on the daemon's clock: a signal from before the container's current
    /// run (a replay) is not about this run.
    pub at: DateTime<Utc>,
    /// When the dashboard heard it, on its own clock: how long the row reads "stopping" counts
    /// from here, so a daemon whose clock is off does not cut it short or stretch it.
    pub heard: DateTime<Utc>,
}

/// "The same container dying `count` times within `window`" is a restart loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartLoopRule {
    pub count: usize,
    pub window: Duration,
}

impl Default for RestartLoopRule {
    fn default() -> Self {
        Self {
            count: 3,
            window: Duration::from_secs(300),
        }
    }
}

/// A container currently flagged as restart-looping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartLoop {
    pub endpoint: EndpointId,
    pub container_id: String,
    pub container: String,
    pub deaths: usize,
    pub last_nano: i64,
    pub last_exit_code: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct EventLog {
    events: VecDeque<FleetEvent>,
    capacity: usize,
    rule: RestartLoopRule,
    /// Recent death times per container, only within the rule's window.
    deaths: HashMap<(EndpointId, String), VecDeque<i64>>,
    loops: HashMap<(EndpointId, String), RestartLoop>,
    /// Bumped on every change, so views can tell whether to re-filter.
    pub revision: u64,
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new(10_000, RestartLoopRule::default())
    }
}

impl EventLog {
    pub fn new(capacity: usize, rule: RestartLoopRule) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            rule,
            deaths: HashMap::new(),
            loops: HashMap::new(),
            revision: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What counts as a restart loop in this log.
    pub fn restart_rule(&self) -> RestartLoopRule {
        self.rule
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &FleetEvent> + ExactSizeIterator {
        self.events.iter()
    }

    pub fn get(&self, index: usize) -> Option<&FleetEvent> {
        self.events.get(index)
    }

    /// Adds an event in time order. Returns false for a duplicate (already in the log).
    pub fn push(&mut self, mut ev: FleetEvent) -> bool {
        let from = self.events.partition_point(|e| e.time_nano < ev.time_nano);
        let to = self.events.partition_point(|e| e.time_nano <= ev.time_nano);
        if self.events.range(from..to).any(|e| e.same_event(&ev)) {
            return false;
        }
        if ev.kind == "container" && ev.verb() == "die" {
            self.note_death(&mut ev);
        }
        if ev.kind == "container" && ev.verb() == "destroy" {
            self.loops.remove(&(ev.endpoint, ev.actor_id.clone()));
            self.deaths.remove(&(ev.endpoint, ev.actor_id.clone()));
        }
        // Storage doubles as `VecDeque` would, but only up to the cap and the one event held
        // over it for a moment: 10,000 events must not round up to room for 16,384 (1 MB of
        // slots never used, in the issue 22 soak).
        if self.events.len() == self.events.capacity() {
            let len = self.events.len();
            let grown = (len * 2).min(self.capacity + 1).max(len + 1);
            self.events.reserve_exact(grown - len);
        }
        // Mostly appends; a backfilled or skewed event is placed where its time says.
        self.events.insert(to, ev);
        while self.events.len() > self.capacity {
            self.events.pop_front();
        }
        self.revision += 1;
        true
    }

    fn note_death(&mut self, ev: &mut FleetEvent) {
        let window = i64::try_from(self.rule.window.as_nanos()).unwrap_or(i64::MAX);
        let id = (ev.endpoint, ev.actor_id.clone());
        let times = self.deaths.entry(id.clone()).or_default();
        let at = times.partition_point(|t| *t <= ev.time_nano);
        times.insert(at, ev.time_nano);
        let newest = times.back().copied().unwrap_or(ev.time_nano);
        while times.front().is_some_and(|t| newest - *t > window) {
            times.pop_front();
        }
        let deaths = times.len();
        if deaths >= self.rule.count {
            ev.restart_loop = true;
            ev.severity = Severity::Critical;
            self.loops.insert(
                id,
                RestartLoop {
                    endpoint: ev.endpoint,
                    container_id: ev.actor_id.clone(),
                    container: ev.actor.clone(),
                    deaths,
                    last_nano: ev.time_nano,
                    last_exit_code: ev.exit_code,
                },
            );
        }
    }

    /// Containers whose deaths within the window, counted up to `now`, still reach the rule.
    pub fn restart_loops(&self, now: DateTime<Utc>) -> Vec<RestartLoop> {
        let window = i64::try_from(self.rule.window.as_nanos()).unwrap_or(i64::MAX);
        let now = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut out: Vec<RestartLoop> = self
            .loops
            .iter()
            .filter_map(|(key, l)| {
                let recent = self
                    .deaths
                    .get(key)?
                    .iter()
                    .filter(|t| now - **t <= window)
                    .count();
                (recent >= self.rule.count).then(|| RestartLoop {
                    deaths: recent,
                    ..l.clone()
                })
            })
            .collect();
        out.sort_by_key(|l| std::cmp::Reverse(l.last_nano));
        out
    }

    pub fn is_restart_looping(
        &self,
        endpoint: EndpointId,
        container_id: &str,
        now: DateTime<Utc>,
    ) -> bool {
        self.restart_loops(now)
            .iter()
            .any(|l| l.endpoint == endpoint && l.container_id == container_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn ev(
        endpoint: EndpointId,
        secs: i64,
        kind: &str,
        action: &str,
        actor: &str,
    ) -> FleetEvent {
        let mut e = FleetEvent {
            time_nano: secs * 1_000_000_000,
            endpoint,
            kind: kind.into(),
            action: action.into(),
            actor_id: format!("id-{actor}"),
            actor: actor.into(),
            details: vec![],
            exit_code: None,
            severity: Severity::Info,
            restart_loop: false,
        };
        e.classify();
        e
    }

    fn die(endpoint: EndpointId, secs: i64, actor: &str, code: i64) -> FleetEvent {
        let mut e = ev(endpoint, secs, "container", "die", actor);
        e.exit_code = Some(code);
        e.classify();
        e
    }

    #[test]
    fn the_log_reserves_storage_up_to_its_cap_not_past_it() {
        let mut log = EventLog::new(3_000, RestartLoopRule::default());
        for i in 0..5_000 {
            log.push(ev(0, i, "container", "start", "c1"));
        }
        assert_eq!(log.len(), 3_000);
        assert!(log.events.capacity() <= 3_001, "{}", log.events.capacity());
    }

    #[test]
    fn events_are_merged_in_time_order_across_endpoints() {
        let mut log = EventLog::default();
        log.push(ev(0, 10, "container", "start", "a"));
        log.push(ev(1, 12, "container", "start", "b"));
        log.push(ev(2, 11, "container", "start", "c"));
        let order: Vec<_> = log.iter().map(|e| e.actor.as_str()).collect();
        assert_eq!(order, ["a", "c", "b"]);
    }

    #[test]
    fn backfilled_duplicates_are_dropped() {
        let mut log = EventLog::default();
        assert!(log.push(ev(0, 10, "container", "die", "a")));
        assert!(!log.push(ev(0, 10, "container", "die", "a")));
        // Same second on another endpoint is a different event.
        assert!(log.push(ev(1, 10, "container", "die", "a")));
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = EventLog::new(3, RestartLoopRule::default());
        for s in 0..10 {
            log.push(ev(0, s, "image", "pull", "x"));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.iter().next().unwrap().time_nano, 7_000_000_000);
        // A duplicate of a kept event is still caught after evictions.
        assert!(!log.push(ev(0, 8, "image", "pull", "x")));
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn duplicates_are_found_among_events_of_the_same_nanosecond() {
        let mut log = EventLog::default();
        for actor in ["a", "b", "c", "d"] {
            assert!(log.push(ev(0, 5, "container", "start", actor)));
        }
        assert!(log.push(ev(0, 5, "container", "die", "b")));
        for actor in ["a", "b", "c", "d"] {
            assert!(!log.push(ev(0, 5, "container", "start", actor)));
        }
        assert!(!log.push(ev(0, 5, "container", "die", "b")));
        assert!(log.push(ev(0, 4, "container", "start", "a")));
        assert!(log.push(ev(0, 6, "container", "start", "a")));
        assert_eq!(log.len(), 7);
    }

    #[test]
    fn severity_follows_what_happened() {
        assert_eq!(die(0, 1, "a", 3).severity, Severity::Critical);
        assert_eq!(die(0, 1, "a", 0).severity, Severity::Info);
        assert_eq!(
            ev(0, 1, "container", "oom", "a").severity,
            Severity::Critical
        );
        assert_eq!(
            ev(0, 1, "container", "health_status: unhealthy", "a").severity,
            Severity::Warning
        );
        assert_eq!(
            ev(0, 1, "container", "health_status: healthy", "a").severity,
            Severity::Info
        );
        assert_eq!(
            ev(0, 1, ENDPOINT_TYPE, "down", "lab1").severity,
            Severity::Critical
        );
    }

    #[test]
    fn state_events_change_a_row_and_chatter_does_not() {
        for action in [
            "die",
            "start",
            "oom",
            "health_status: unhealthy",
            "pause",
            "destroy",
        ] {
            assert!(
                ev(0, 1, "container", action, "web").changes_a_row(),
                "{action}"
            );
        }
        for action in [
            "exec_start: sh -c true",
            "exec_die",
            "kill",
            "attach",
            "top",
        ] {
            assert!(
                !ev(0, 1, "container", action, "web").changes_a_row(),
                "{action}"
            );
        }
        assert!(!ev(0, 1, "network", "disconnect", "fleetnet").changes_a_row());
        assert!(!ev(0, 1, "image", "die", "busybox").changes_a_row());
        assert!(!ev(0, 1, ENDPOINT_TYPE, "down", "lab1").changes_a_row());
        // A kill changes the row when its signal is a stop signal ("stopping").
        let signalled = |sig: &str| {
            let mut e = ev(0, 1, "container", "kill", "web");
            e.details = vec![format!("signal {sig}"), "image busybox".into()];
            e
        };
        for (sig, name) in [
            ("9", Some("SIGKILL")),
            ("15", Some("SIGTERM")),
            ("SIGQUIT", Some("SIGQUIT")),
            ("INT", Some("SIGINT")),
            ("1", None),
            ("SIGUSR1", None),
            ("28", None),
        ] {
            assert_eq!(signalled(sig).stop_signal(), name, "{sig}");
            assert_eq!(signalled(sig).changes_a_row(), name.is_some(), "{sig}");
        }
    }

    #[test]
    fn three_deaths_in_five_minutes_is_a_restart_loop() {
        let rule = RestartLoopRule {
            count: 3,
            window: Duration::from_secs(300),
        };
        let mut log = EventLog::new(100, rule);
        log.push(die(0, 0, "web", 1));
        log.push(die(0, 100, "web", 1));
        log.push(die(1, 150, "web", 1)); // another host's "web" is another container
        assert!(
            log.restart_loops(DateTime::from_timestamp(150, 0).unwrap())
                .is_empty()
        );
        log.push(die(0, 200, "web", 1));
        let last = log.iter().rev().find(|e| e.endpoint == 0).unwrap();
        assert!(last.restart_loop);
        let loops = log.restart_loops(DateTime::from_timestamp(210, 0).unwrap());
        assert_eq!(loops.len(), 1);
        assert_eq!(loops[0].deaths, 3);
        // Quiet for longer than the window: no longer a loop.
        assert!(
            log.restart_loops(DateTime::from_timestamp(450, 0).unwrap())
                .is_empty()
        );
        // Spread-out deaths never form one.
        let mut log = EventLog::new(100, rule);
        for s in [0, 400, 800, 1200] {
            log.push(die(0, s, "slow", 1));
        }
        assert!(log.iter().all(|e| !e.restart_loop));
    }

    #[test]
    fn destroying_a_container_clears_its_loop() {
        let mut log = EventLog::default();
        for s in [0, 1, 2] {
            log.push(die(0, s, "web", 1));
        }
        assert!(log.is_restart_looping(0, "id-web", DateTime::from_timestamp(3, 0).unwrap()));
        log.push(ev(0, 4, "container", "destroy", "web"));
        assert!(!log.is_restart_looping(0, "id-web", DateTime::from_timestamp(5, 0).unwrap()));
    }

    mod state_from_events {
        use super::*;
        use crate::container::fixtures::container;

        fn at(secs: i64) -> Option<DateTime<Utc>> {
            DateTime::from_timestamp(secs, 0)
        }

        /// "web" ran from 100 s on, healthy.
        fn web() -> Container {
            let mut c = container("id-web", "web", ContainerState::Running);
            c.started_at = at(100);
            c.exit_code = Some(0);
            c.health = Health::Healthy;
            c
        }

        #[test]
        fn die_exits_with_the_events_code_and_time() {
            let mut c = web();
            assert!(apply_to(&mut c, &die(0, 200, "web", 3)));
            assert_eq!(c.state, ContainerState::Exited);
            assert_eq!(c.exit_code, Some(3));
            assert_eq!(c.finished_at, at(200));
            assert_eq!(c.started_at, at(100));
        }

        #[test]
        fn start_runs_a_new_run_with_its_time_and_clean_exit() {
            let mut c = web();
            apply_to(&mut c, &ev(0, 150, "container", "oom", "web"));
            apply_to(&mut c, &die(0, 150, "web", 137));
            assert!(c.oom_killed);
            assert!(apply_to(&mut c, &ev(0, 160, "container", "start", "web")));
            assert_eq!(c.state, ContainerState::Running);
            assert_eq!(c.started_at, at(160));
            assert_eq!(c.exit_code, Some(0));
            assert!(!c.oom_killed);
        }

        #[test]
        fn oom_marks_the_container_oom_killed() {
            let mut c = web();
            assert!(apply_to(&mut c, &ev(0, 200, "container", "oom", "web")));
            assert!(c.oom_killed);
            assert_eq!(
                c.state,
                ContainerState::Running,
                "the die says how it ended"
            );
        }

        #[test]
        fn health_status_sets_the_health_of_a_running_container() {
            let mut c = web();
            for (action, health) in [
                ("health_status: unhealthy", Health::Unhealthy),
                ("health_status: starting", Health::Starting),
                ("health_status: healthy", Health::Healthy),
            ] {
                apply_to(&mut c, &ev(0, 200, "container", action, "web"));
                assert_eq!(c.health, health, "{action}");
            }
            assert!(!apply_to(
                &mut c,
                &ev(0, 201, "container", "health_status: odd", "web")
            ));
            assert_eq!(c.health, Health::Healthy);
        }

        #[test]
        fn pause_and_unpause_toggle_paused() {
            let mut c = web();
            assert!(apply_to(&mut c, &ev(0, 200, "container", "pause", "web")));
            assert_eq!(c.state, ContainerState::Paused);
            assert!(apply_to(&mut c, &ev(0, 210, "container", "unpause", "web")));
            assert_eq!(c.state, ContainerState::Running);
        }

        #[test]
        fn rename_takes_the_new_name_from_the_event() {
            let mut c = web();
            let mut renamed = ev(0, 200, "container", "rename", "web-blue");
            renamed.actor_id = "id-web".into();
            assert!(apply_to(&mut c, &renamed));
            assert_eq!(c.name, "web-blue");
            // No name attribute: the conversion fell back to the id, which is no name.
            renamed.actor = renamed.actor_id.clone();
            assert!(!apply_to(&mut c, &renamed));
            assert_eq!(c.name, "web-blue");
        }

        #[test]
        fn kill_stop_and_events_of_other_containers_change_nothing() {
            let mut c = web();
            assert!(!apply_to(&mut c, &ev(0, 200, "container", "kill", "web")));
            assert!(!apply_to(&mut c, &ev(0, 200, "container", "stop", "web")));
            assert!(!apply_to(&mut c, &die(0, 200, "api", 1)));
            assert!(!apply_to(&mut c, &ev(0, 200, "image", "die", "web")));
            assert_eq!(c, web());
        }

        #[test]
        fn an_older_event_does_not_undo_newer_state() {
            // Exited at 300 after the run that started at 100.
            let mut c = web();
            c.state = ContainerState::Exited;
            c.finished_at = at(300);
            c.exit_code = Some(1);
            let exited = c.clone();
            for old in [
                ev(0, 250, "container", "start", "web"),
                die(0, 250, "web", 0),
                ev(0, 250, "container", "health_status: healthy", "web"),
                ev(0, 250, "container", "unpause", "web"),
            ] {
                assert!(!apply_to(&mut c, &old), "{}", old.action);
            }
            assert_eq!(c, exited);
            // Running again since 400: a die from the run before is stale.
            let mut c = web();
            c.started_at = at(400);
            let running = c.clone();
            assert!(!apply_to(&mut c, &die(0, 350, "web", 1)));
            assert!(!apply_to(&mut c, &ev(0, 350, "container", "oom", "web")));
            assert_eq!(c, running);
        }
    }
}
