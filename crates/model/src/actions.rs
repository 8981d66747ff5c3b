//! Actions on containers, as data: what to do ([`Action`]), to which container
//! ([`ActionRequest`]), how it went ([`ActionOutcome`]); the targets of the headless commands
//! (`ENDPOINT/NAME`, `@CLUSTER/GLOB`); the words of plans, confirmations and status lines; and
//! the progress of submitted batches. The engine's gate carries actions out; nothing here
//! does I/O.

use std::collections::VecDeque;
use std::time::Duration;

use super::EndpointId;

/// A state-changing operation on one container. Every variant goes through the engine's gate,
/// which refuses it on a read-only endpoint and writes it to the audit log; later operations
/// (create, rename, exec, network connect, deploy) join this enum so they pass the same gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start,
    /// `timeout_s`: seconds Docker waits after SIGTERM before SIGKILL; `None` is the
    /// container's own stop timeout (10 s unless it was created with another).
    Stop {
        timeout_s: Option<u32>,
    },
    Restart {
        timeout_s: Option<u32>,
    },
    Pause,
    Unpause,
    /// `signal` as Docker takes it: `SIGKILL`, `SIGHUP`, `15`…, checked by [`parse_signal`].
    Kill {
        signal: String,
    },
    /// `force` kills a running container first; without it Docker refuses to remove one.
    Remove {
        volumes: bool,
        force: bool,
    },
    /// An interactive shell in the container: exec create with a TTY, start attached, sized
    /// to the pane. `cmd` is what runs (the shell, or a probe that picks one).
    Exec {
        cmd: Vec<String>,
        rows: u16,
        cols: u16,
    },
    /// The pane of exec `exec_id` changed size.
    ExecResize {
        exec_id: String,
        rows: u16,
        cols: u16,
    },
    /// Fetch an image the daemon does not have (a deploy's first step); the request's
    /// `container` names the service it is for, its `container_id` is empty.
    Pull {
        image: String,
    },
    /// Create a container (a deploy); the request's `container_id` is empty.
    Create {
        spec: Box<super::deploy::CreateSpec>,
    },
    /// Give a container another name (a deploy keeping the old revision, a rollback).
    Rename {
        to: String,
    },
    /// Join a created container to a further network (a deploy's extra networks, between
    /// create and start), with its fixed address and aliases.
    Connect {
        network: String,
        ipv4: Option<String>,
        aliases: Vec<String>,
    },
    /// A Swarm service to a new image (the request's `container_id` is the service id); the
    /// rolling update itself is Swarm's.
    ServiceUpdate {
        image: String,
    },
    /// Swarm's own rollback of a service to its `PreviousSpec`.
    ServiceRollback,
    /// A replicated Swarm service to `replicas` tasks.
    ServiceScale {
        replicas: u64,
    },
    /// Swarm replaces every task of a service, its spec otherwise unchanged (a restart, Swarm's
    /// way: `docker service update --force`).
    ServiceForceUpdate,
    /// A Swarm node's availability (the request's `container_id` is the node id, `container`
    /// its hostname); sent to a manager.
    NodeAvailability {
        availability: super::swarm::Availability,
    },
}

impl Action {
    /// The command word: what the operator typed and what the audit log says.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop { .. } => "stop",
            Self::Restart { .. } => "restart",
            Self::Pause => "pause",
            Self::Unpause => "unpause",
            Self::Kill { .. } => "kill",
            Self::Remove { .. } => "rm",
            Self::Exec { .. } => "exec",
            Self::ExecResize { .. } => "exec-resize",
            Self::Pull { .. } => "pull",
            Self::Create { .. } => "create",
            Self::Rename { .. } => "rename",
            Self::Connect { .. } => "network-connect",
            Self::ServiceUpdate { .. } => "service-update",
            Self::ServiceRollback => "service-rollback",
            Self::ServiceScale { .. } => "service-scale",
            Self::ServiceForceUpdate => "service-force-update",
            Self::NodeAvailability { availability } => match availability {
                super::swarm::Availability::Active => "node-activate",
                super::swarm::Availability::Pause => "node-pause",
                super::swarm::Availability::Drain => "node-drain",
            },
        }
    }

    /// Interrupts a service or loses something: worth a confirmation that names the containers.
    pub fn is_destructive(&self) -> bool {
        !matches!(
            self,
            Self::Start
                | Self::Unpause
                | Self::Exec { .. }
                | Self::ExecResize { .. }
                | Self::Pull { .. }
                | Self::Create { .. }
                | Self::Connect { .. }
        )
    }

    /// A Swarm action: sent to a manager, then followed from the task states until Swarm has
    /// got there (or not).
    pub fn is_swarm(&self) -> bool {
        matches!(
            self,
            Self::ServiceUpdate { .. }
                | Self::ServiceRollback
                | Self::ServiceScale { .. }
                | Self::ServiceForceUpdate
                | Self::NodeAvailability { .. }
        )
    }

    /// The parameters, as the audit log records them.
    pub fn params(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::Start | Self::Pause | Self::Unpause => json!({}),
            Self::Stop { timeout_s } | Self::Restart { timeout_s } => match timeout_s {
                Some(t) => json!({ "timeout_s": t }),
                None => json!({}),
            },
            Self::Kill { signal } => json!({ "signal": signal }),
            Self::Remove { volumes, force } => json!({ "volumes": volumes, "force": force }),
            Self::Exec { cmd, rows, cols } => json!({ "cmd": cmd, "rows": rows, "cols": cols }),
            Self::ExecResize {
                exec_id,
                rows,
                cols,
            } => json!({ "exec_id": exec_id, "rows": rows, "cols": cols }),
            Self::Pull { image } => json!({ "image": image }),
            // What identifies the revision; env values may be secrets and stay out of the log.
            Self::Create { spec } => json!({
                "image": spec.image,
                "network": spec.network,
                "ip": spec.ipv4,
                "revision": spec.labels.get(super::deploy::revision::LABEL_REVISION),
                "spec_digest": spec.labels.get(super::deploy::revision::LABEL_DIGEST),
            }),
            Self::Rename { to } => json!({ "to": to }),
            Self::Connect {
                network,
                ipv4,
                aliases,
            } => json!({ "network": network, "ip": ipv4, "aliases": aliases }),
            Self::ServiceUpdate { image } => json!({ "image": image }),
            Self::ServiceRollback | Self::ServiceForceUpdate => json!({}),
            Self::ServiceScale { replicas } => json!({ "replicas": replicas }),
            Self::NodeAvailability { availability } => {
                json!({ "availability": availability.as_str() })
            }
        }
    }

    /// The verb with its parameters, for plans and messages: "stop (timeout 30 s)",
    /// "kill SIGHUP", "rm with volumes, forced".
    pub fn describe(&self) -> String {
        match self {
            Self::Stop { timeout_s: Some(t) } | Self::Restart { timeout_s: Some(t) } => {
                format!("{} (timeout {t} s)", self.verb())
            }
            Self::Kill { signal } => format!("kill {signal}"),
            Self::Pull { image } => format!("pull {image}"),
            Self::Create { spec } => format!("create from {}", spec.image),
            Self::Rename { to } => format!("rename to {to}"),
            Self::Connect { network, ipv4, .. } => match ipv4 {
                Some(ip) => format!("connect to {network} as {ip}"),
                None => format!("connect to {network}"),
            },
            Self::ServiceUpdate { image } => format!("service update to {image}"),
            Self::ServiceScale { replicas } => format!("scale to {replicas}"),
            Self::ServiceForceUpdate => "force update (every task replaced)".into(),
            Self::ServiceRollback => "roll back to the previous spec".into(),
            Self::NodeAvailability { availability } => match availability {
                super::swarm::Availability::Active => "activate (takes tasks again)".into(),
                super::swarm::Availability::Pause => "pause (no new tasks)".into(),
                super::swarm::Availability::Drain => "drain (its tasks move away)".into(),
            },
            Self::Remove { volumes, force } => {
                let mut extra = Vec::new();
                if *volumes {
                    extra.push("with volumes");
                }
                if *force {
                    extra.push("forced");
                }
                if extra.is_empty() {
                    "rm".into()
                } else {
                    format!("rm {}", extra.join(", "))
                }
            }
            _ => self.verb().into(),
        }
    }
}

/// One action on one container of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    pub endpoint: EndpointId,
    pub container_id: String,
    /// The container's name, for people and the audit log (the id is what Docker is sent).
    pub container: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    Succeeded,
    /// The daemon refused or failed it, or could not be reached; the reason in an operator's words.
    Failed(String),
    /// The gate did not send it: a read-only endpoint, an unknown endpoint, an audit log that
    /// cannot be written.
    Refused(String),
}

impl ActionResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Succeeded)
    }

    /// "ok", "failed: …", "refused: …".
    pub fn text(&self) -> String {
        match self {
            Self::Succeeded => "ok".into(),
            Self::Failed(e) => format!("failed: {e}"),
            Self::Refused(e) => format!("refused: {e}"),
        }
    }
}

/// How one request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    pub request: ActionRequest,
    pub endpoint_name: String,
    pub result: ActionResult,
    /// The audit log's id of this attempt (absent only when the log could not be written).
    pub attempt: Option<String>,
    pub elapsed: Duration,
}

impl ActionOutcome {
    /// "lab1/web: restart ok", "lab2/db: stop failed: …".
    pub fn line(&self) -> String {
        format!(
            "{}/{}: {} {}",
            self.endpoint_name,
            self.request.container,
            self.request.action.verb(),
            self.result.text()
        )
    }
}

// ---------------------------------------------------------------------------------- targets --

/// A target of the headless commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `ENDPOINT/NAME`: a name (glob allowed), or an id prefix.
    Endpoint { endpoint: String, pattern: String },
    /// `@CLUSTER/GLOB`: matching containers on every endpoint of the cluster.
    Cluster { cluster: String, pattern: String },
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("\"{text}\": expected ENDPOINT/NAME or @CLUSTER/NAME-GLOB (glob: * and ?)");
        let (scope, pattern) = text.split_once('/').ok_or_else(bad)?;
        if pattern.is_empty() || pattern.contains('/') {
            return Err(bad());
        }
        let pattern = pattern.to_string();
        match scope.strip_prefix('@') {
            Some("") => Err(bad()),
            Some(cluster) => Ok(Self::Cluster {
                cluster: cluster.to_string(),
                pattern,
            }),
            None if scope.is_empty() => Err(bad()),
            None => Ok(Self::Endpoint {
                endpoint: scope.to_string(),
                pattern,
            }),
        }
    }

    pub fn pattern(&self) -> &str {
        match self {
            Self::Endpoint { pattern, .. } | Self::Cluster { pattern, .. } => pattern,
        }
    }
}

/// Shell-style glob over a whole name: `*` any run of characters, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative with one backtrack point: linear in practice, no recursion blow-up on "*a*a*a".
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

pub use super::signal::parse_signal;

// ------------------------------------------------------------------------------------ plans --

/// One container of a plan, as the operator should see it before saying yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    pub endpoint: String,
    pub container: String,
    /// Docker's state word: running, exited, paused…
    pub state: String,
    /// The endpoint is read-only: the gate will refuse this one.
    pub read_only: bool,
}

/// "restart 3 containers on 2 endpoints" / "stop 1 container on 1 endpoint".
pub fn plan_headline(action: &Action, items: &[PlanItem]) -> String {
    // "scale to 3: service lab5/web", "drain (its tasks move away): node lab5/lab7".
    if action.is_swarm() {
        let what = match action {
            Action::NodeAvailability { .. } => "node",
            _ => "service",
        };
        let names: Vec<String> = items
            .iter()
            .map(|i| format!("{}/{}", i.endpoint, i.container))
            .collect();
        return format!("{}: {what} {}", action.describe(), names.join(", "));
    }
    let mut endpoints: Vec<&str> = items.iter().map(|i| i.endpoint.as_str()).collect();
    endpoints.sort_unstable();
    endpoints.dedup();
    format!(
        "{} {} on {}",
        action.describe(),
        plural(items.len(), "container"),
        plural(endpoints.len(), "endpoint")
    )
}

/// One line of a plan: "lab1/web (running)", with what will happen beyond the obvious.
pub fn plan_line(action: &Action, item: &PlanItem) -> String {
    let mut line = format!("{}/{} ({})", item.endpoint, item.container, item.state);
    if item.read_only {
        line.push_str(&format!(
            " - refused: endpoint {} is read-only",
            item.endpoint
        ));
    } else if let Action::Remove { force, .. } = action
        && matches!(item.state.as_str(), "running" | "paused" | "restarting")
    {
        line.push_str(if *force {
            " - running: it will be killed, then removed (--force)"
        } else {
            " - running: Docker will refuse to remove it without --force"
        });
    }
    line
}

/// The one-sentence confirmation the dashboard shows: "restart 3 containers on 2 endpoints:
/// lab1/web, lab2/web, lab2/db", naming at most `max_names` and counting the rest.
pub fn confirmation(action: &Action, items: &[PlanItem], max_names: usize) -> String {
    let mut names: Vec<String> = items
        .iter()
        .take(max_names)
        .map(|i| format!("{}/{}", i.endpoint, i.container))
        .collect();
    if items.len() > max_names {
        names.push(format!("and {} more", items.len() - max_names));
    }
    format!("{}: {}", plan_headline(action, items), names.join(", "))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

// --------------------------------------------------------------------------------- progress --

/// The progress of one batch of requests submitted together (one key press, one command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProgress {
    pub batch: u64,
    pub verb: String,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub refused: usize,
    /// The last failure or refusal, "lab2/db: failed: …".
    pub last_problem: Option<String>,
    /// The latest note (a rolling restart waiting for health, or stopping).
    pub note: Option<String>,
}

impl BatchProgress {
    pub fn done(&self) -> usize {
        self.succeeded + self.failed + self.refused
    }

    /// For the status line: "restart 2/3: 1 ok, 1 failed (lab2/db: failed: …)".
    pub fn status_line(&self) -> String {
        let mut parts = vec![format!("{} ok", self.succeeded)];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.refused > 0 {
            parts.push(format!("{} refused", self.refused));
        }
        let mut s = format!(
            "{} {}/{}: {}",
            self.verb,
            self.done(),
            self.total,
            parts.join(", ")
        );
        if let Some(p) = &self.last_problem {
            s.push_str(&format!(" ({p})"));
        }
        if let Some(n) = &self.note {
            s.push_str(&format!(" · {n}"));
        }
        s
    }
}

/// The recent batches, newest last; bounded so a long session does not accumulate them.
#[derive(Debug, Clone, Default)]
pub struct ActionBoard {
    batches: VecDeque<BatchProgress>,
}

const BATCHES_KEPT: usize = 16;

impl ActionBoard {
    fn entry(&mut self, batch: u64, verb: &str, total: usize) -> &mut BatchProgress {
        let at = match self.batches.iter().position(|b| b.batch == batch) {
            Some(at) => at,
            None => {
                if self.batches.len() == BATCHES_KEPT {
                    self.batches.pop_front();
                }
                self.batches.push_back(BatchProgress {
                    batch,
                    verb: verb.to_string(),
                    total,
                    succeeded: 0,
                    failed: 0,
                    refused: 0,
                    last_problem: None,
                    note: None,
                });
                self.batches.len() - 1
            }
        };
        &mut self.batches[at]
    }

    pub fn record(&mut self, batch: u64, total: usize, outcome: &ActionOutcome) {
        let b = self.entry(batch, outcome.request.action.verb(), total);
        match &outcome.result {
            ActionResult::Succeeded => b.succeeded += 1,
            ActionResult::Failed(_) => b.failed += 1,
            ActionResult::Refused(_) => b.refused += 1,
        }
        if !outcome.result.is_ok() {
            b.last_problem = Some(format!(
                "{}/{}: {}",
                outcome.endpoint_name,
                outcome.request.container,
                outcome.result.text()
            ));
        }
    }

    pub fn note(&mut self, batch: u64, verb: &str, total: usize, text: &str) {
        self.entry(batch, verb, total).note = Some(text.to_string());
    }

    pub fn get(&self, batch: u64) -> Option<&BatchProgress> {
        self.batches.iter().find(|b| b.batch == batch)
    }

    /// Every batch still remembered, oldest first.
    pub fn batches(&self) -> impl Iterator<Item = &BatchProgress> {
        self.batches.iter()
    }

    /// The most recently started batch: what the status line shows.
    pub fn latest(&self) -> Option<&BatchProgress> {
        self.batches.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_endpoint_and_cluster_forms() {
        assert_eq!(
            Target::parse("lab1/web"),
            Ok(Target::Endpoint {
                endpoint: "lab1".into(),
                pattern: "web".into()
            })
        );
        assert_eq!(
            Target::parse("@prod/web-*"),
            Ok(Target::Cluster {
                cluster: "prod".into(),
                pattern: "web-*".into()
            })
        );
        for bad in ["web", "lab1/", "/web", "@/web", "a/b/c"] {
            assert!(
                Target::parse(bad)
                    .unwrap_err()
                    .contains("expected ENDPOINT/NAME"),
                "{bad}"
            );
        }
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("web-*", "web-1"));
        assert!(glob_match("web-*", "web-"));
        assert!(!glob_match("web-*", "xweb-1"));
        assert!(glob_match("w?b", "web"));
        assert!(!glob_match("w?b", "weeb"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*a*b", "xxaxxb"));
        assert!(!glob_match("*a*b", "xxaxxbx"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        // Pathological patterns stay fast.
        let long = "a".repeat(2000);
        assert!(!glob_match("*a*a*a*a*a*a*b", &long));
    }

    #[test]
    fn signals_are_normalised_or_refused() {
        assert_eq!(parse_signal("term").unwrap(), "SIGTERM");
        assert_eq!(parse_signal("SIGHUP").unwrap(), "SIGHUP");
        assert_eq!(parse_signal("9").unwrap(), "9");
        assert_eq!(parse_signal("rtmin+3").unwrap(), "SIGRTMIN+3");
        assert!(
            parse_signal("SIGFOO")
                .unwrap_err()
                .contains("unknown signal \"SIGFOO\"")
        );
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("65").is_err());
    }

    fn item(ep: &str, name: &str, state: &str) -> PlanItem {
        PlanItem {
            endpoint: ep.into(),
            container: name.into(),
            state: state.into(),
            read_only: false,
        }
    }

    #[test]
    fn a_plan_names_the_containers_and_endpoints() {
        let items = [
            item("lab1", "web", "running"),
            item("lab2", "web", "running"),
            item("lab2", "db", "exited"),
        ];
        let restart = Action::Restart { timeout_s: None };
        assert_eq!(
            plan_headline(&restart, &items),
            "restart 3 containers on 2 endpoints"
        );
        assert_eq!(
            confirmation(&restart, &items, 2),
            "restart 3 containers on 2 endpoints: lab1/web, lab2/web, and 1 more"
        );
        assert_eq!(
            plan_headline(
                &Action::Stop {
                    timeout_s: Some(30)
                },
                &items[..1]
            ),
            "stop (timeout 30 s) 1 container on 1 endpoint"
        );
    }

    #[test]
    fn removing_a_running_container_says_what_will_happen() {
        let running = item("lab1", "web", "running");
        let rm = Action::Remove {
            volumes: false,
            force: false,
        };
        assert!(plan_line(&rm, &running).contains("refuse to remove it without --force"));
        let forced = Action::Remove {
            volumes: true,
            force: true,
        };
        assert_eq!(
            plan_line(&forced, &running),
            "lab1/web (running) - running: it will be killed, then removed (--force)"
        );
        assert_eq!(forced.describe(), "rm with volumes, forced");
        assert_eq!(
            plan_line(&rm, &item("lab1", "old", "exited")),
            "lab1/old (exited)"
        );
        let mut locked = running.clone();
        locked.read_only = true;
        assert!(plan_line(&rm, &locked).ends_with("refused: endpoint lab1 is read-only"));
    }

    fn outcome(name: &str, result: ActionResult) -> ActionOutcome {
        ActionOutcome {
            request: ActionRequest {
                endpoint: 0,
                container_id: format!("id-{name}"),
                container: name.into(),
                action: Action::Restart { timeout_s: None },
            },
            endpoint_name: "lab1".into(),
            result,
            attempt: None,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn batch_progress_counts_and_names_the_last_problem() {
        let mut board = ActionBoard::default();
        board.record(7, 3, &outcome("a", ActionResult::Succeeded));
        board.record(
            7,
            3,
            &outcome(
                "b",
                ActionResult::Failed("daemon answered 404: gone".into()),
            ),
        );
        let b = board.latest().unwrap();
        assert_eq!(b.done(), 2);
        assert_eq!(
            b.status_line(),
            "restart 2/3: 1 ok, 1 failed (lab1/b: failed: daemon answered 404: gone)"
        );
        board.record(
            7,
            3,
            &outcome(
                "c",
                ActionResult::Refused("endpoint lab1 is read-only".into()),
            ),
        );
        assert_eq!(board.get(7).unwrap().refused, 1);
    }

    #[test]
    fn the_board_keeps_a_bounded_number_of_batches() {
        let mut board = ActionBoard::default();
        for batch in 0..100 {
            board.record(batch, 1, &outcome("a", ActionResult::Succeeded));
        }
        assert_eq!(board.latest().unwrap().batch, 99);
        assert!(board.get(0).is_none());
        assert!(board.get(99 - BATCHES_KEPT as u64 + 1).is_some());
    }

    #[test]
    fn audit_params_carry_what_was_asked() {
        assert_eq!(
            Action::Kill {
                signal: "SIGHUP".into()
            }
            .params()
            .to_string(),
            r#"{"signal":"SIGHUP"}"#
        );
        assert_eq!(
            Action::Stop { timeout_s: Some(3) }.params().to_string(),
            r#"{"timeout_s":3}"#
        );
        assert!(!Action::Start.is_destructive());
        assert!(Action::Pause.is_destructive());
    }

    #[test]
    fn the_audit_log_records_the_revision_but_never_env_values() {
        use crate::deploy::fixtures::{deployer, lab, spec};
        use crate::deploy::{DeploySpec, DeployTarget, plan};
        let s = DeploySpec {
            env: [("DB_PASSWORD".to_string(), "hunter2".to_string())].into(),
            ..spec("cart")
        };
        let p = plan(
            &s,
            &lab(),
            Some(&DeployTarget::Endpoint("lab2".into())),
            3,
            &deployer(),
        )
        .unwrap();
        let params = Action::Create {
            spec: Box::new(p.create),
        }
        .params();
        assert!(!params.to_string().contains("hunter2"), "{params}");
        assert_eq!(params["ip"], "192.168.2.67");
        assert_eq!(params["revision"], "1");
    }
}
