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

/// A reference without Swarm's `@sha256:` pin, as the operator wrote it.
fn unpinned(image: &str) -> String {
    image.split('@').next().unwrap_or(image).to_string()
}

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
    let o = gate
        .apply_reporting(
            ActionRequest {
                endpoint,
                container_id: current.id.clone(),
                container: current.name.clone(),
                action,
            },
            progress,
        )
        .await;
    progress(format!(
        "{}: {}",
        o.request.action.describe(),
        o.result.text()
    ));
    match o.result {
        ActionResult::Succeeded => {}
        ActionResult::Refused(r) => return ServiceResult::Refused { reason: r },
        ActionResult::Failed(e) => return ServiceResult::Failed { reason: e },
    }
    let started = Instant::now();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    loop {
        if let Ok(ts) = tasks(gate, endpoint, &current.id).await {
            for t in &ts {
                let line = t.line(&current.name);
                if seen.get(&t.id) != Some(&line) {
                    progress(line.clone());
                    seen.insert(t.id.clone(), line);
                }
            }
            let svc = service(gate, endpoint, &current.id).await;
            if let Ok(svc) = svc {
                // After a rollback the spec is the previous one again: its image is the goal.
                let want = image.map_or_else(|| svc.image.clone(), str::to_string);
                let running_wanted = ts
                    .iter()
                    .filter(|t| t.desired == "running")
                    .all(|t| t.image == want && t.state == "running");
                match svc.update_state.as_str() {
                    "completed" | "rollback_completed" if running_wanted => {
                        return ServiceResult::Done { image: want };
                    }
                    "paused" | "rollback_paused" => {
                        return ServiceResult::Stopped {
                            reason: format!("Swarm paused it: {}", svc.update_message),
                        };
                    }
                    "rollback_started" if image.is_some() => {
                        return ServiceResult::Stopped {
                            reason: format!(
                                "Swarm is rolling the update back: {}",
                                svc.update_message
                            ),
                        };
                    }
                    _ => {}
                }
            }
        }
        if started.elapsed() > wait {
            return ServiceResult::Failed {
                reason: format!(
                    "not done within {} s; Swarm carries on by itself (fleetdeck service ps)",
                    wait.as_secs()
                ),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
