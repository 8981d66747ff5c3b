//! Swarm services on a manager endpoint: list services and their tasks (reads), update a
//! service's image and roll it back with Swarm's own `PreviousSpec` (changes, through the
//! gate), and follow the rolling update from the task states until Swarm says it is done.
//! No orchestration of our own on top of Swarm: it does the rolling, we watch and report.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    InspectServiceOptions, ListNodesOptions, ListServicesOptions, ListTasksOptions,
};

use super::client::ReadOnly;
use super::gate::Gate;
use super::{convert, deadline};
use crate::model::actions::{Action, ActionRequest, ActionResult};
use crate::model::swarm::{Availability, SwarmState, SwarmTask, UpdateStatus};
use crate::model::text::sanitize;
use crate::model::{EndpointId, SwarmNode};

/// A service as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub image: String,
    /// "replicated 2" or "global".
    pub mode: String,
    /// Swarm's update state: updating, completed, paused, rollback_started, …; "" when none.
    pub update_state: String,
    pub update_message: String,
}

/// One task of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    pub slot: Option<i64>,
    pub image: String,
    pub state: String,
    pub desired: String,
    pub error: String,
}

impl TaskRow {
    pub fn line(&self, service: &str) -> String {
        let slot = self.slot.map(|s| format!(".{s}")).unwrap_or_default();
        let error = if self.error.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.error)
        };
        format!(
            "{service}{slot} {} {} (desired {}){error}",
            self.image, self.state, self.desired
        )
    }
}

use convert::unpinned;

fn row(s: bollard::models::Service) -> ServiceRow {
    let spec = s.spec.unwrap_or_default();
    let image_of = |spec: &bollard::models::ServiceSpec| {
        spec.task_template
            .as_ref()
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.as_deref())
            .map(unpinned)
            .unwrap_or_default()
    };
    let mode = match spec.mode.as_ref() {
        Some(m) if m.global.is_some() => "global".to_string(),
        Some(m) => format!(
            "replicated {}",
            m.replicated.as_ref().and_then(|r| r.replicas).unwrap_or(1)
        ),
        None => String::new(),
    };
    let (update_state, update_message) = s
        .update_status
        .map(|u| {
            (
                u.state.map(|s| s.to_string()).unwrap_or_default(),
                sanitize(u.message.as_deref().unwrap_or("")).into_owned(),
            )
        })
        .unwrap_or_default();
    ServiceRow {
        id: s.id.unwrap_or_default(),
        name: sanitize(spec.name.as_deref().unwrap_or("")).into_owned(),
        image: image_of(&spec),
        mode,
        update_state,
        update_message,
    }
}

/// A manager's reading of its swarm: nodes, services and every task Swarm keeps, for the
/// nodes and services views. `None` when the daemon is not (or no longer) a manager.
pub(super) async fn read_state(
    docker: &ReadOnly,
    limit: Duration,
) -> Result<Option<SwarmState>, super::EngineError> {
    let info = deadline(limit, docker.info()).await?;
    let swarm = info.swarm.unwrap_or_default();
    if swarm.control_available != Some(true) {
        return Ok(None);
    }
    let cluster_id = sanitize(
        swarm
            .cluster
            .and_then(|c| c.id)
            .as_deref()
            .unwrap_or_default(),
    )
    .into_owned();
    let (nodes, services, tasks) = futures::try_join!(
        deadline(limit, docker.list_nodes(None::<ListNodesOptions>)),
        deadline(limit, docker.list_services(None::<ListServicesOptions>)),
        deadline(limit, docker.list_tasks(None::<ListTasksOptions>)),
    )?;
    let mut nodes: Vec<_> = nodes.into_iter().map(convert::swarm_node_row).collect();
    nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname).then(a.id.cmp(&b.id)));
    let mut services: Vec<_> = services.into_iter().map(convert::swarm_service).collect();
    services.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(Some(SwarmState {
        cluster_id,
        nodes,
        services,
        tasks: tasks.into_iter().map(convert::swarm_task).collect(),
    }))
}

/// Every node of the swarm a manager runs, with its labels, for placement's `node.labels`.
/// Best effort: a manager that cannot list (no quorum, say) still answers everything else, so
/// it is not down; its nodes' labels are then unknown until the next look.
pub(super) async fn nodes(docker: &ReadOnly, limit: Duration) -> Vec<SwarmNode> {
    match deadline(limit, docker.list_nodes(None::<ListNodesOptions>)).await {
        Ok(nodes) => {
            let mut nodes: Vec<SwarmNode> = nodes.into_iter().map(convert::swarm_node).collect();
            nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname).then(a.id.cmp(&b.id)));
            nodes
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing Swarm nodes failed");
            Vec::new()
        }
    }
}

/// Every service of a Swarm manager.
pub async fn services(gate: &Gate, endpoint: EndpointId) -> Result<Vec<ServiceRow>, String> {
    let docker = gate.reader(endpoint).await.map_err(|e| e.to_string())?;
    let mut rows: Vec<ServiceRow> = deadline(
        Duration::from_secs(10),
        docker.list_services(None::<ListServicesOptions>),
    )
    .await
    .map_err(|e| e.to_string())?
    .into_iter()
    .map(row)
    .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

pub async fn service(gate: &Gate, endpoint: EndpointId, name: &str) -> Result<ServiceRow, String> {
    let docker = gate.reader(endpoint).await.map_err(|e| e.to_string())?;
    deadline(
        Duration::from_secs(10),
        docker.inspect_service(name, None::<InspectServiceOptions>),
    )
    .await
    .map(row)
    .map_err(|e| e.to_string())
}

/// The tasks of a service, newest first within a slot.
pub async fn tasks(
    gate: &Gate,
    endpoint: EndpointId,
    service_id: &str,
) -> Result<Vec<TaskRow>, String> {
    let docker = gate.reader(endpoint).await.map_err(|e| e.to_string())?;
    let filters = HashMap::from([("service".to_string(), vec![service_id.to_string()])]);
    let mut tasks: Vec<bollard::models::Task> = deadline(
        Duration::from_secs(10),
        docker.list_tasks(Some(ListTasksOptions {
            filters: Some(filters),
        })),
    )
    .await
    .map_err(|e| e.to_string())?;
    tasks.sort_by(|a, b| (a.slot, &b.created_at).cmp(&(b.slot, &a.created_at)));
    Ok(tasks
        .into_iter()
        .map(|t| {
            let status = t.status.unwrap_or_default();
            TaskRow {
                id: t.id.unwrap_or_default(),
                slot: t.slot,
                image: t
                    .spec
                    .and_then(|s| s.container_spec)
                    .and_then(|c| c.image)
                    .map(|i| unpinned(&i))
                    .unwrap_or_default(),
                state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                desired: t.desired_state.map(|s| s.to_string()).unwrap_or_default(),
                error: sanitize(status.err.as_deref().unwrap_or("")).into_owned(),
            }
        })
        .collect())
}

/// How a service update or rollback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceResult {
    /// Swarm finished it: every task runs the wanted image.
    Done {
        image: String,
    },
    /// Swarm got where another action asked (replicas running, a node drained), in words.
    Converged {
        what: String,
    },
    /// Swarm stopped (update paused, or rolled back by its own failure action).
    Stopped {
        reason: String,
    },
    Refused {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// Asks Swarm to update `service` to `image` (or to roll back, `image` `None`), then follows
/// the task states until Swarm says the update (or rollback) is complete, paused, or `wait`
/// runs out. `progress` hears each task state change.
pub async fn change(
    gate: &Gate,
    endpoint: EndpointId,
    current: &ServiceRow,
    image: Option<&str>,
    wait: Duration,
    progress: &(dyn Fn(String) + Send + Sync),
) -> ServiceResult {
    let action = match image {
        Some(i) => Action::ServiceUpdate { image: i.into() },
        None => Action::ServiceRollback,
    };
    let req = ActionRequest {
        endpoint,
        container_id: current.id.clone(),
        container: current.name.clone(),
        action,
    };
    let before = read(gate, endpoint).await.ok();
    let goal = req.action.clone();
    if let Err(stop) = apply(gate, req, progress).await {
        return stop;
    }
    follow(
        gate,
        endpoint,
        (&current.id, &current.name),
        &goal,
        before.as_ref(),
        wait,
        progress,
    )
    .await
}

/// Sends a Swarm action through the gate; `Err` with how it ended when it did not pass.
async fn apply(
    gate: &Gate,
    req: ActionRequest,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<(), ServiceResult> {
    let o = gate.apply_reporting(req, progress).await;
    progress(format!(
        "{}: {}",
        o.request.action.describe(),
        o.result.text()
    ));
    match o.result {
        ActionResult::Succeeded => Ok(()),
        ActionResult::Refused(r) => Err(ServiceResult::Refused { reason: r }),
        ActionResult::Failed(e) => Err(ServiceResult::Failed { reason: e }),
    }
}

/// Any Swarm action (see [`Action::is_swarm`]) through the gate, then followed from the task
/// states until Swarm has got there, stopped, or `wait` runs out: an image update or rollback
/// as [`change`] does; a scale until the replicas run; a force update until every task has
/// been replaced; a drain until the node runs no task and its tasks run elsewhere; an
/// activate or pause until the node says so. `progress` hears each task state change.
pub async fn act(
    gate: &Gate,
    req: ActionRequest,
    wait: Duration,
    progress: &(dyn Fn(String) + Send + Sync),
) -> ServiceResult {
    let endpoint = req.endpoint;
    match &req.action {
        Action::ServiceUpdate { image } => {
            let image = image.clone();
            let current = match service(gate, endpoint, &req.container_id).await {
                Ok(c) => c,
                Err(e) => return ServiceResult::Failed { reason: e },
            };
            change(gate, endpoint, &current, Some(&image), wait, progress).await
        }
        Action::ServiceRollback => {
            let current = match service(gate, endpoint, &req.container_id).await {
                Ok(c) => c,
                Err(e) => return ServiceResult::Failed { reason: e },
            };
            change(gate, endpoint, &current, None, wait, progress).await
        }
        Action::ServiceScale { .. }
        | Action::ServiceForceUpdate
        | Action::NodeAvailability { .. } => {
            let before = read(gate, endpoint).await.ok();
            let goal = req.action.clone();
            let (id, name) = (req.container_id.clone(), req.container.clone());
            if let Err(stop) = apply(gate, req, progress).await {
                return stop;
            }
            follow(
                gate,
                endpoint,
                (&id, &name),
                &goal,
                before.as_ref(),
                wait,
                progress,
            )
            .await
        }
        other => ServiceResult::Failed {
            reason: format!("{} is not a Swarm action", other.verb()),
        },
    }
}

async fn read(gate: &Gate, endpoint: EndpointId) -> Result<SwarmState, String> {
    let docker = gate.reader(endpoint).await.map_err(|e| e.to_string())?;
    match read_state(&docker, Duration::from_secs(10)).await {
        Ok(Some(state)) => Ok(state),
        Ok(None) => Err("not a Swarm manager (any more)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// How a Swarm action has ended, from one reading of the swarm; `None` while under way.
fn outcome(
    state: &SwarmState,
    (id, name): (&str, &str),
    goal: &Action,
    before: Option<&SwarmState>,
) -> Option<ServiceResult> {
    let end = match goal {
        Action::ServiceUpdate { image } => return update_outcome(state, id, Some(image), before),
        Action::ServiceRollback => return update_outcome(state, id, None, before),
        other => progress_of(state, (id, name), other, before)?,
    };
    Some(match end {
        Ok(what) => ServiceResult::Converged { what },
        Err(reason) => ServiceResult::Stopped { reason },
    })
}

/// How an image update (`image`) or a rollback (`None`) has ended. Only an update Swarm
/// started after `before` counts: the service's last one may have completed long ago. Done
/// when every task Swarm means to run runs the wanted image (after a rollback: the spec's
/// image again), not when none is meant to run for a moment between old and new.
fn update_outcome(
    state: &SwarmState,
    id: &str,
    image: Option<&str>,
    before: Option<&SwarmState>,
) -> Option<ServiceResult> {
    let s = state.service(id)?;
    let was = before.and_then(|b| b.service(id));
    let want = image.map_or_else(|| s.image.clone(), str::to_string);
    let (running, desired) = state.replicas(s);
    let meant: Vec<_> = state
        .tasks
        .iter()
        .filter(|t| t.service_id == id && t.desired == "running")
        .collect();
    let on_goal = running == desired
        && meant.len() == desired
        && meant.iter().all(|t| t.image == want && t.is_running());
    let done = || ServiceResult::Done {
        image: want.clone(),
    };
    let Some(u) = update_since(state, id, before) else {
        // No update of its own: Swarm had nothing to change (the service already ran it).
        let unchanged = image.is_some() && was.is_some_and(|w| w.image == want);
        return (unchanged && on_goal).then(done);
    };
    match (u.state.as_str(), image.is_some()) {
        ("completed", true) | ("rollback_completed", false) if on_goal => Some(done()),
        ("paused" | "rollback_paused", _) => Some(ServiceResult::Stopped {
            reason: format!("Swarm paused it: {}", u.message),
        }),
        ("rollback_started" | "rollback_completed", true) => Some(ServiceResult::Stopped {
            reason: format!("Swarm is rolling the update back: {}", u.message),
        }),
        _ => None,
    }
}

/// The service's update status if Swarm started that update after `before` was read: its last
/// update may have completed long ago, and that is not this one.
fn update_since<'a>(
    state: &'a SwarmState,
    id: &str,
    before: Option<&SwarmState>,
) -> Option<&'a UpdateStatus> {
    let u = state.service(id)?.update.as_ref()?;
    let started_before = before
        .and_then(|b| b.service(id))
        .and_then(|b| b.update.as_ref())
        .and_then(|u| u.started_at);
    (u.started_at != started_before).then_some(u)
}

/// How far a scale, force update or node change has got, from one reading of the swarm.
fn progress_of(
    state: &SwarmState,
    (id, name): (&str, &str),
    goal: &Action,
    before: Option<&SwarmState>,
) -> Option<Result<String, String>> {
    match goal {
        Action::ServiceScale { replicas } => {
            let s = state.service(id)?;
            let (running, desired) = state.replicas(s);
            let want = usize::try_from(*replicas).unwrap_or(usize::MAX);
            let meant = state
                .tasks
                .iter()
                .filter(|t| t.service_id == id && t.desired == "running")
                .count();
            (running == want && desired == want && meant == want)
                .then(|| Ok(format!("{name} runs {running} of {want} replicas")))
        }
        Action::ServiceForceUpdate => {
            let s = state.service(id)?;
            let u = update_since(state, id, before)?;
            match u.state.as_str() {
                "paused" | "rollback_paused" | "rollback_started" | "rollback_completed" => Some(
                    Err(format!("Swarm stopped it ({}): {}", u.state, u.message)),
                ),
                "completed" if state.converged_service(s) => {
                    let (running, _) = state.replicas(s);
                    Some(Ok(format!(
                        "{name}: every task replaced, {running} running"
                    )))
                }
                _ => None,
            }
        }
        Action::NodeAvailability { availability } => {
            let node = state.node(id)?;
            if node.availability != availability.as_str() {
                return None;
            }
            if *availability != Availability::Drain {
                return Some(Ok(format!("{name} is {}", node.availability)));
            }
            // Drained: nothing runs there any more, and what ran there runs elsewhere.
            let on_node = state.node_load(id).running;
            let moved: Vec<&str> = before
                .map(|b| {
                    b.tasks
                        .iter()
                        .filter(|t| t.node_id == id && t.is_running())
                        .map(|t| t.service_id.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let settled = moved
                .iter()
                .filter_map(|s| state.service(s))
                .all(|s| state.converged_service(s));
            (on_node == 0 && settled).then(|| {
                Ok(format!(
                    "{name} is drained: no task runs there, {} moved",
                    moved.len()
                ))
            })
        }
        _ => None,
    }
}

async fn follow(
    gate: &Gate,
    endpoint: EndpointId,
    (id, name): (&str, &str),
    goal: &Action,
    before: Option<&SwarmState>,
    wait: Duration,
    progress: &(dyn Fn(String) + Send + Sync),
) -> ServiceResult {
    let started = Instant::now();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    loop {
        if let Ok(state) = read(gate, endpoint).await {
            // The tasks this action moves: the service's, or those on the node.
            let mut lines = Vec::new();
            for t in &state.tasks {
                let ours = t.service_id == id || t.node_id == id;
                if !ours || (t.desired != "running" && !seen.contains_key(&t.id)) {
                    continue;
                }
                let service = state
                    .service(&t.service_id)
                    .map_or("?", |s| s.name.as_str());
                let slot = t.slot.map(|s| format!(".{s}")).unwrap_or_default();
                let error = if t.error.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", t.error)
                };
                let line = format!(
                    "{service}{slot} on {} {} (desired {}){error}",
                    state.node_name(&t.node_id),
                    t.state,
                    t.desired
                );
                lines.push((t.id.clone(), line));
            }
            for (task, line) in lines {
                if seen.get(&task) != Some(&line) {
                    progress(line.clone());
                    seen.insert(task, line);
                }
            }
            if let Some(end) = outcome(&state, (id, name), goal, before) {
                return end;
            }
            // Failing since this action began: a service that failed before it is no news.
            let new = |t: &SwarmTask| before.is_none_or(|b| b.tasks.iter().all(|x| x.id != t.id));
            if let Some((_, t)) = state
                .failing_tasks()
                .into_iter()
                .find(|(s, t)| s.id == id && new(t))
            {
                return ServiceResult::Failed {
                    reason: format!("its tasks keep failing: {}", t.error),
                };
            }
        }
        if let Some(given_up) = next_look(started, wait).await {
            return given_up;
        }
    }
}

/// Waits for the next look at the task states; `Some` when `wait` has run out.
async fn next_look(started: Instant, wait: Duration) -> Option<ServiceResult> {
    if started.elapsed() > wait {
        return Some(ServiceResult::Failed {
            reason: format!(
                "not done within {} s; Swarm carries on by itself (fleetdeck service ps)",
                wait.as_secs()
            ),
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    None
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::swarm::{ServiceMode, SwarmService};

    const OLD: &str = "busybox:v1";
    const NEW: &str = "busybox:v2";

    fn update(state: &str, started: i64) -> Option<UpdateStatus> {
        Some(UpdateStatus {
            state: state.into(),
            message: format!("msg {state}"),
            started_at: Utc.timestamp_opt(started, 0).single(),
        })
    }

    fn task(id: &str, image: &str, state: &str, desired: &str) -> SwarmTask {
        SwarmTask {
            id: id.into(),
            service_id: "s1".into(),
            slot: Some(1),
            node_id: "n1".into(),
            image: image.into(),
            state: state.into(),
            desired: desired.into(),
            ..SwarmTask::default()
        }
    }

    fn swarm(image: &str, update: Option<UpdateStatus>, tasks: Vec<SwarmTask>) -> SwarmState {
        SwarmState {
            services: vec![SwarmService {
                id: "s1".into(),
                name: "web".into(),
                image: image.into(),
                mode: ServiceMode::Replicated(1),
                ports: vec![],
                update,
            }],
            tasks,
            ..SwarmState::default()
        }
    }

    fn updating_to_new(state: &SwarmState, before: &SwarmState) -> Option<ServiceResult> {
        outcome(
            state,
            ("s1", "web"),
            &Action::ServiceUpdate { image: NEW.into() },
            Some(before),
        )
    }

    #[test]
    fn an_update_is_done_when_swarm_completed_this_one_and_the_new_image_runs() {
        let before = swarm(
            OLD,
            update("completed", 100),
            vec![task("a", OLD, "running", "running")],
        );
        // The last update's "completed" is old news while Swarm has not begun this one.
        let not_yet = swarm(
            NEW,
            update("completed", 100),
            vec![task("a", OLD, "running", "running")],
        );
        assert_eq!(updating_to_new(&not_yet, &before), None);
        let under_way = swarm(
            NEW,
            update("updating", 200),
            vec![
                task("a", OLD, "shutdown", "shutdown"),
                task("b", NEW, "starting", "running"),
            ],
        );
        assert_eq!(updating_to_new(&under_way, &before), None);
        let done = swarm(
            NEW,
            update("completed", 200),
            vec![
                task("a", OLD, "shutdown", "shutdown"),
                task("b", NEW, "running", "running"),
            ],
        );
        assert_eq!(
            updating_to_new(&done, &before),
            Some(ServiceResult::Done { image: NEW.into() })
        );
    }

    #[test]
    fn an_update_swarm_rolls_back_is_never_done_even_between_old_and_new_tasks() {
        // What CI saw: the new task finished, the rolled-back one not yet meant to run, so no
        // task was meant to run at all and "every task runs the new image" held vacuously.
        let before = swarm(OLD, None, vec![task("a", OLD, "running", "running")]);
        let between = swarm(
            OLD,
            update("rollback_completed", 200),
            vec![
                task("a", OLD, "shutdown", "shutdown"),
                task("b", NEW, "complete", "shutdown"),
                task("c", OLD, "ready", "ready"),
            ],
        );
        assert!(matches!(
            updating_to_new(&between, &before),
            Some(ServiceResult::Stopped { reason }) if reason.starts_with("Swarm is rolling the update back")
        ));
        let started = swarm(OLD, update("rollback_started", 200), between.tasks.clone());
        assert!(matches!(
            updating_to_new(&started, &before),
            Some(ServiceResult::Stopped { .. })
        ));
    }

    #[test]
    fn a_rollback_is_done_when_the_previous_image_runs_again() {
        let before = swarm(
            NEW,
            update("completed", 100),
            vec![task("b", NEW, "running", "running")],
        );
        let goal = Action::ServiceRollback;
        let rolling = swarm(
            OLD,
            update("rollback_started", 200),
            vec![
                task("b", NEW, "shutdown", "shutdown"),
                task("c", OLD, "ready", "running"),
            ],
        );
        assert_eq!(outcome(&rolling, ("s1", "web"), &goal, Some(&before)), None);
        let mut back = rolling.clone();
        back.services[0].update = update("rollback_completed", 200);
        assert_eq!(outcome(&back, ("s1", "web"), &goal, Some(&before)), None);
        back.tasks[1].state = "running".into();
        assert_eq!(
            outcome(&back, ("s1", "web"), &goal, Some(&before)),
            Some(ServiceResult::Done { image: OLD.into() })
        );
    }

    #[test]
    fn an_update_to_the_image_already_running_is_done_without_an_update_of_its_own() {
        let before = swarm(NEW, None, vec![task("b", NEW, "running", "running")]);
        assert_eq!(
            updating_to_new(&before.clone(), &before),
            Some(ServiceResult::Done { image: NEW.into() })
        );
    }

    #[test]
    fn a_paused_update_stops() {
        let before = swarm(OLD, None, vec![task("a", OLD, "running", "running")]);
        let paused = swarm(
            NEW,
            update("paused", 200),
            vec![task("b", NEW, "failed", "shutdown")],
        );
        assert_eq!(
            updating_to_new(&paused, &before),
            Some(ServiceResult::Stopped {
                reason: "Swarm paused it: msg paused".into()
            })
        );
    }
}
