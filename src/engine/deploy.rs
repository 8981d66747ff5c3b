//! Carrying out a [`DeployPlan`] or a [`RollbackPlan`], one step at a time. Every step that
//! changes something is an [`Action`] through the [`Gate`] (read-only refused there, every
//! step in the audit log); this module itself only reads (inspect image, inspect container).
//!
//! An update never leaves the service without a container of its name: the old revision is
//! renamed and stopped, the new one created with the same name and address and started, and
//! if it does not run (and stay running, and become healthy when it has a healthcheck) by the
//! deadline, it is removed and the old one gets its name back and is started again.

use std::time::{Duration, Instant};

use bollard::query_parameters::InspectContainerOptions;

use super::deadline;
use super::gate::{Gate, Readiness, readiness};
use crate::model::EndpointId;
use crate::model::actions::{Action, ActionRequest, ActionResult};
use crate::model::deploy::revision::{RollbackPlan, kept_name};
use crate::model::deploy::{DeployKind, DeployPlan};

/// A container counts as up when it is still running, in the same run, this long after it
/// first looked up: a process that exits at once is caught, not reported as deployed.
pub const SETTLE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(300);

/// How a deploy or rollback ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployResult {
    /// The new revision runs (and is healthy).
    Done { id: String, after: Duration },
    /// The new revision failed and the previous one runs again under the service's name.
    RolledBack { reason: String },
    /// It failed and could not be put back as it was; `reason` says what state it is in.
    Failed { reason: String },
    /// The gate refused the first change (read-only endpoint, no audit log): nothing was sent.
    Refused { reason: String },
}

impl DeployResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Done { .. })
    }
}

/// Where progress is told, as it happens: one line per step.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

struct Steps<'a> {
    gate: &'a Gate,
    endpoint: EndpointId,
    where_: String,
    progress: Progress<'a>,
}

impl Steps<'_> {
    fn say(&self, text: impl AsRef<str>) {
        (self.progress)(format!("{}: {}", self.where_, text.as_ref()));
    }

    /// One change through the gate; its outcome told as a line.
    async fn act(&self, container_id: &str, container: &str, action: Action) -> ActionResult {
        let req = ActionRequest {
            endpoint: self.endpoint,
            container_id: container_id.to_string(),
            container: container.to_string(),
            action,
        };
        let progress = self.progress;
        let where_ = self.where_.clone();
        let tell = move |line: String| progress(format!("{where_}: {line}"));
        let o = self.gate.apply_reporting(req, &tell).await;
        let what = match &o.request.action {
            Action::Rename { to } => format!("rename {container} to {to}"),
            Action::Create { spec } => format!("create {container} from {}", spec.image),
            Action::Pull { image } => format!("pull {image}"),
            other => format!("{} {container}", other.describe()),
        };
        self.say(format!("{what}: {}", o.result.text()));
        o.result
    }

    /// The id of the container now called `name`, or why it cannot be found.
    async fn id_of(&self, name: &str) -> Result<String, String> {
        let docker = self
            .gate
            .reader(self.endpoint)
            .await
            .map_err(|e| e.to_string())?;
        let c = deadline(
            Duration::from_secs(10),
            docker.inspect_container(name, None::<InspectContainerOptions>),
        )
        .await
        .map_err(|e| e.to_string())?;
        c.id.ok_or_else(|| format!("{name} has no id"))
    }

    /// Waits until `id` runs (and is healthy in this run when it has a healthcheck) and is
    /// still in that same run [`SETTLE`] later; `Err` with the reason otherwise.
    async fn wait_up(&self, id: &str, name: &str, limit: Duration) -> Result<Duration, String> {
        self.say(format!(
            "waiting up to {} s for {name} to run",
            limit.as_secs()
        ));
        let docker = self
            .gate
            .reader(self.endpoint)
            .await
            .map_err(|e| format!("cannot reach the endpoint: {e}"))?;
        let started = Instant::now();
        let mut up_since: Option<(Instant, Option<String>, Option<i64>)> = None;
        loop {
            let last = match deadline(
                Duration::from_secs(10),
                docker.inspect_container(id, None::<InspectContainerOptions>),
            )
            .await
            {
                Ok(c) => {
                    let run = c.state.as_ref().and_then(|s| s.started_at.clone());
                    let restarts = c.restart_count;
                    match readiness(&c) {
                        Readiness::Ready { .. } => match &up_since {
                            Some((at, r, n)) if *r == run && *n == restarts => {
                                if at.elapsed() >= SETTLE {
                                    return Ok(started.elapsed());
                                }
                                "running".to_string()
                            }
                            Some(_) => {
                                return Err("restarted: it does not stay up".into());
                            }
                            None => {
                                up_since = Some((Instant::now(), run, restarts));
                                "running".to_string()
                            }
                        },
                        Readiness::Failed(reason) => {
                            return Err(reason.replace(" after the restart", ""));
                        }
                        Readiness::NotYet(what) => {
                            if up_since.is_some() {
                                return Err(format!("went from running to {what}"));
                            }
                            what
                        }
                    }
                }
                Err(e) => e.to_string(),
            };
            if started.elapsed() + POLL > limit {
                return Err(format!("not up within {} s ({last})", limit.as_secs()));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn refused_or_failed(result: &ActionResult, what: &str) -> Option<DeployResult> {
    match result {
        ActionResult::Succeeded => None,
        ActionResult::Refused(r) => Some(DeployResult::Refused {
            reason: format!("{what} refused: {r}; nothing was changed"),
        }),
        ActionResult::Failed(e) => Some(DeployResult::Failed {
            reason: format!("{what} failed: {e}"),
        }),
    }
}

/// Carries out a deploy plan. `progress` hears every step.
pub async fn deploy(gate: &Gate, plan: &DeployPlan, progress: Progress<'_>) -> DeployResult {
    let steps = Steps {
        gate,
        endpoint: plan.endpoint,
        where_: format!("{}/{}", plan.endpoint_name, plan.name),
        progress,
    };
    let limit = Duration::from_secs(plan.wait_s);

    // 1. The image: present, or pulled; a failed pull changes nothing.
    let present = match gate.reader(plan.endpoint).await {
        Ok(docker) => deadline(Duration::from_secs(10), docker.inspect_image(&plan.image))
            .await
            .is_ok(),
        Err(e) => {
            return DeployResult::Failed {
                reason: format!(
                    "cannot reach {}: {e}; nothing was changed",
                    plan.endpoint_name
                ),
            };
        }
    };
    if present {
        steps.say(format!("image {} present", plan.image));
    } else {
        let r = steps
            .act(
                "",
                &plan.name,
                Action::Pull {
                    image: plan.image.clone(),
                },
            )
            .await;
        if let Some(stop) = refused_or_failed(&r, &format!("pull of {}", plan.image)) {
            return match stop {
                DeployResult::Failed { reason } => DeployResult::Failed {
                    reason: format!("{reason}; nothing was changed"),
                },
                other => other,
            };
        }
    }

    // 2. An update moves the old revision aside: renamed, stopped, kept.
    let old = match &plan.kind {
        DeployKind::New => None,
        DeployKind::Update {
            old_id,
            old_revision,
            old_state,
            ..
        } => {
            let kept = kept_name(&plan.name, *old_revision);
            let r = steps
                .act(old_id, &plan.name, Action::Rename { to: kept.clone() })
                .await;
            if let Some(stop) = refused_or_failed(&r, "renaming the running revision") {
                return stop;
            }
            let was_running = matches!(
                old_state,
                crate::model::ContainerState::Running
                    | crate::model::ContainerState::Restarting
                    | crate::model::ContainerState::Paused
            );
            if was_running {
                let r = steps
                    .act(old_id, &kept, Action::Stop { timeout_s: None })
                    .await;
                if !r.is_ok() {
                    let back = steps
                        .act(
                            old_id,
                            &kept,
                            Action::Rename {
                                to: plan.name.clone(),
                            },
                        )
                        .await;
                    return DeployResult::Failed {
                        reason: format!(
                            "stopping the running revision {}; {}",
                            r.text(),
                            if back.is_ok() {
                                format!("it runs on as {}", plan.name)
                            } else {
                                format!("it runs on, still named {kept}: rename it back by hand")
                            }
                        ),
                    };
                }
            }
            Some((old_id.clone(), kept, was_running))
        }
    };

    // 3. The new revision: created, started, up by the deadline.
    let attempt = async {
        let r = steps
            .act(
                "",
                &plan.name,
                Action::Create {
                    spec: Box::new(plan.create.clone()),
                },
            )
            .await;
        match &r {
            ActionResult::Succeeded => {}
            ActionResult::Refused(e) => {
                return Err((None, Some(e.clone()), format!("create refused: {e}")));
            }
            ActionResult::Failed(e) => return Err((None, None, format!("create failed: {e}"))),
        }
        let id = steps.id_of(&plan.name).await.map_err(|e| {
            (
                None,
                None,
                format!("the new container cannot be found: {e}"),
            )
        })?;
        let r = steps.act(&id, &plan.name, Action::Start).await;
        if !r.is_ok() {
            return Err((Some(id), None, format!("start {}", r.text())));
        }
        match steps.wait_up(&id, &plan.name, limit).await {
            Ok(after) => Ok((id, after)),
            Err(reason) => Err((Some(id), None, reason)),
        }
    }
    .await;

    match (attempt, old) {
        (Ok((id, after)), _) => {
            steps.say(format!(
                "revision {} is up after {:.1} s",
                plan.revision,
                after.as_secs_f64()
            ));
            for (prune_id, prune_name) in &plan.prune {
                steps
                    .act(
                        prune_id,
                        prune_name,
                        Action::Remove {
                            volumes: false,
                            force: false,
                        },
                    )
                    .await;
            }
            DeployResult::Done { id, after }
        }
        // Refused before anything was created: nothing to undo on a new deploy.
        (Err((None, Some(refusal), _)), None) => DeployResult::Refused {
            reason: format!("create refused: {refusal}; nothing was changed"),
        },
        (Err((None, _, reason)), None) => DeployResult::Failed {
            reason: format!("{reason}; nothing was changed"),
        },
        (Err((Some(_), _, reason)), None) => DeployResult::Failed {
            reason: format!(
                "revision {} of {} is not up: {reason}; the container is left as it is for \
                 inspection (fleetdeck logs {}/{})",
                plan.revision, plan.name, plan.endpoint_name, plan.name
            ),
        },
        (Err((new_id, _, reason)), Some((old_id, kept, was_running))) => {
            steps.say(format!(
                "AUTOMATIC ROLLBACK: revision {} failed ({reason}); restoring {kept} as {}",
                plan.revision, plan.name
            ));
            restore(
                &steps,
                new_id.as_deref(),
                &old_id,
                &kept,
                &plan.name,
                was_running,
                limit,
            )
            .await
            .map_or_else(
                |e| DeployResult::Failed {
                    reason: format!(
                        "revision {} failed ({reason}) and the automatic rollback failed too: {e}",
                        plan.revision
                    ),
                },
                |()| DeployResult::RolledBack {
                    reason: format!(
                        "revision {} failed: {reason}; {} runs the previous revision again{}",
                        plan.revision,
                        plan.name,
                        plan.ip.map(|ip| format!(" at {ip}")).unwrap_or_default()
                    ),
                },
            )
        }
    }
}

/// Puts the previous revision back: the failed new one removed, the old one renamed back to
/// the service's name and, when it was running, started and waited for.
async fn restore(
    steps: &Steps<'_>,
    new_id: Option<&str>,
    old_id: &str,
    kept: &str,
    name: &str,
    was_running: bool,
    limit: Duration,
) -> Result<(), String> {
    if let Some(new_id) = new_id {
        let r = steps
            .act(
                new_id,
                name,
                Action::Remove {
                    volumes: false,
                    force: true,
                },
            )
            .await;
        if !r.is_ok() {
            return Err(format!("removing the failed container {}", r.text()));
        }
    }
    let r = steps
        .act(old_id, kept, Action::Rename { to: name.into() })
        .await;
    if !r.is_ok() {
        return Err(format!("renaming {kept} back to {name} {}", r.text()));
    }
    if was_running {
        let r = steps.act(old_id, name, Action::Start).await;
        if !r.is_ok() {
            return Err(format!("starting {name} again {}", r.text()));
        }
        steps.wait_up(old_id, name, limit).await?;
    }
    Ok(())
}

/// Carries out a rollback: the current revision renamed to its kept name and stopped, the
/// newest kept revision renamed to the service's name, started and waited for. If that one
/// does not come up, the swap is reversed and the current revision runs again.
pub async fn rollback(gate: &Gate, plan: &RollbackPlan, progress: Progress<'_>) -> DeployResult {
    let steps = Steps {
        gate,
        endpoint: plan.endpoint,
        where_: format!("{}/{}", plan.endpoint_name, plan.service),
        progress,
    };
    let limit = Duration::from_secs(plan.wait_s);
    let current_kept = kept_name(&plan.service, plan.current_revision);
    let target = &plan.target;

    let r = steps
        .act(
            &plan.current_id,
            &plan.service,
            Action::Rename {
                to: current_kept.clone(),
            },
        )
        .await;
    if let Some(stop) = refused_or_failed(&r, "renaming the current revision") {
        return stop;
    }
    let r = if plan.current_running {
        steps
            .act(
                &plan.current_id,
                &current_kept,
                Action::Stop { timeout_s: None },
            )
            .await
    } else {
        ActionResult::Succeeded
    };
    if !r.is_ok() {
        let _ = steps
            .act(
                &plan.current_id,
                &current_kept,
                Action::Rename {
                    to: plan.service.clone(),
                },
            )
            .await;
        return DeployResult::Failed {
            reason: format!("stopping the current revision {}; it runs on", r.text()),
        };
    }
    let r = steps
        .act(
            &target.id,
            &target.name,
            Action::Rename {
                to: plan.service.clone(),
            },
        )
        .await;
    let up = if r.is_ok() {
        let s = steps.act(&target.id, &plan.service, Action::Start).await;
        if s.is_ok() {
            steps.wait_up(&target.id, &plan.service, limit).await
        } else {
            Err(format!("start {}", s.text()))
        }
    } else {
        Err(format!("rename {}", r.text()))
    };
    match up {
        Ok(after) => {
            steps.say(format!(
                "revision {} ({}) is up again after {:.1} s; revision {} kept as {current_kept}",
                target.revision,
                target.image,
                after.as_secs_f64(),
                plan.current_revision
            ));
            DeployResult::Done {
                id: target.id.clone(),
                after,
            }
        }
        Err(reason) => {
            steps.say(format!(
                "ROLLBACK FAILED: revision {} did not come up ({reason}); restoring revision {}",
                target.revision, plan.current_revision
            ));
            // Undo: the target back to its kept name, stopped; the current one back.
            let _ = steps
                .act(&target.id, &plan.service, Action::Stop { timeout_s: None })
                .await;
            let _ = steps
                .act(
                    &target.id,
                    &plan.service,
                    Action::Rename {
                        to: target.name.clone(),
                    },
                )
                .await;
            match restore(
                &steps,
                None,
                &plan.current_id,
                &current_kept,
                &plan.service,
                plan.current_running,
                limit,
            )
            .await
            {
                Ok(()) => DeployResult::RolledBack {
                    reason: format!(
                        "revision {} did not come up: {reason}; revision {} runs again",
                        target.revision, plan.current_revision
                    ),
                },
                Err(e) => DeployResult::Failed {
                    reason: format!(
                        "revision {} did not come up ({reason}) and restoring revision {} failed: {e}",
                        target.revision, plan.current_revision
                    ),
                },
            }
        }
    }
}
