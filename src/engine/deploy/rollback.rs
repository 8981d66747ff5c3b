//! A rollback plan carried out: the newest kept revision back under the service's name, and
//! the swap reversed when it does not come up ([`rollback`]); and [`restore`], which puts the
//! previous revision back for a failed deploy too.

use std::time::Duration;

use super::steps::{DeployResult, Progress, Steps, refused_or_failed};
use crate::engine::gate::Gate;
use crate::engine::interrupt::Interrupt;
use crate::journal::{FromRevision, JournalEntry, Operation, ToRevision};
use crate::model::actions::{Action, ActionResult};
use crate::model::deploy::revision::{RollbackPlan, kept_name};

/// Puts the previous revision back: the failed new one removed, the old one renamed back to
/// the service's name and, when it was running, started and waited for.
pub(super) async fn restore(
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
        steps.wait_up(old_id, name, limit, false).await?;
    }
    Ok(())
}

/// The journal record of a rollback plan.
fn rollback_entry(gate: &Gate, plan: &RollbackPlan) -> JournalEntry {
    let identity = gate.audit().identity();
    let target = &plan.target;
    let from = plan.current.as_ref().map(|c| FromRevision {
        id: c.id.clone(),
        revision: c.revision,
        image: c.image.clone(),
        kept_name: kept_name(&plan.service, c.revision),
        was_running: c.running,
    });
    let mut planned = Vec::new();
    if let Some(f) = &from {
        planned.push(format!("rename {} to {}", plan.service, f.kept_name));
        if f.was_running {
            planned.push(format!("stop {}", f.kept_name));
        }
    }
    planned.push(format!("rename {} to {}", target.name, plan.service));
    if !target.running {
        planned.push(format!("start {}", plan.service));
    }
    JournalEntry {
        id: String::new(),
        op: Operation::Rollback,
        endpoint: plan.endpoint_name.clone(),
        service: plan.service.clone(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        by: format!("{}@{}", identity.user, identity.host),
        pid: identity.pid,
        from,
        to: ToRevision {
            revision: target.revision,
            image: target.image.clone(),
            id: Some(target.id.clone()),
            kept_name: Some(target.name.clone()),
        },
        ip: None,
        planned,
        done: Vec::new(),
        create: None,
        prune: Vec::new(),
        wait_s: plan.wait_s,
    }
}

/// Carries out a rollback: the current revision renamed to its kept name and stopped, the
/// newest kept revision renamed to the service's name, started and waited for. If that one
/// does not come up (or an interrupt comes first), the swap is reversed and the current
/// revision runs again. With no current revision (a kill left none), the kept one is simply
/// put back under the service's name.
pub async fn rollback(
    gate: &Gate,
    plan: &RollbackPlan,
    progress: Progress<'_>,
    interrupt: &Interrupt,
) -> DeployResult {
    let mut steps = Steps::new(
        gate,
        plan.endpoint,
        format!("{}/{}", plan.endpoint_name, plan.service),
        progress,
        interrupt,
    );
    let params = serde_json::json!({
        "revision": plan.target.revision,
        "image": plan.target.image,
        "from_revision": plan.current.as_ref().map(|c| c.revision),
    });
    if let Err(reason) = steps.begin(rollback_entry(gate, plan), params).await {
        return DeployResult::Refused { reason };
    }
    steps.close(rollback_steps(&steps, plan).await).await
}

async fn rollback_steps(steps: &Steps<'_>, plan: &RollbackPlan) -> DeployResult {
    let limit = Duration::from_secs(plan.wait_s);
    let target = &plan.target;
    let current = plan.current.as_ref();
    let current_kept = current.map(|c| kept_name(&plan.service, c.revision));

    if let (Some(c), Some(current_kept)) = (current, &current_kept) {
        steps.failpoint("rollback:before-rename").await;
        if let Some(why) = steps.interrupted() {
            return DeployResult::Interrupted {
                reason: format!("{why} before any change; nothing was changed"),
            };
        }
        let r = steps
            .act(
                &c.id,
                &plan.service,
                Action::Rename {
                    to: current_kept.clone(),
                },
            )
            .await;
        if let Some(stop) = refused_or_failed(&r, "renaming the current revision") {
            return stop;
        }
        steps.failpoint("rollback:before-stop").await;
        let r = match steps.interrupted() {
            Some(why) => ActionResult::Failed(why),
            None if c.running => {
                steps
                    .act(&c.id, current_kept, Action::Stop { timeout_s: None })
                    .await
            }
            None => ActionResult::Succeeded,
        };
        if !r.is_ok() {
            return steps
                .put_name_back(&c.id, current_kept, &plan.service, "current", &r)
                .await;
        }
    }
    steps.failpoint("rollback:before-swap").await;
    let up = match steps.interrupted() {
        Some(why) => Err(why),
        None => {
            let r = steps
                .act(
                    &target.id,
                    &target.name,
                    Action::Rename {
                        to: plan.service.clone(),
                    },
                )
                .await;
            if !r.is_ok() {
                Err(format!("rename {}", r.text()))
            } else if target.running {
                steps.wait_up(&target.id, &plan.service, limit, true).await
            } else {
                steps.failpoint("rollback:before-start").await;
                let s = match steps.interrupted() {
                    Some(why) => ActionResult::Failed(why),
                    None => steps.act(&target.id, &plan.service, Action::Start).await,
                };
                if s.is_ok() {
                    steps.failpoint("rollback:before-wait").await;
                    steps.wait_up(&target.id, &plan.service, limit, true).await
                } else {
                    Err(format!("start {}", s.text()))
                }
            }
        }
    };
    match up {
        Ok(after) => {
            steps.say(format!(
                "revision {} ({}) is up again after {:.1} s{}",
                target.revision,
                target.image,
                after.as_secs_f64(),
                match (current, &current_kept) {
                    (Some(c), Some(k)) => format!("; revision {} kept as {k}", c.revision),
                    _ => String::new(),
                }
            ));
            DeployResult::Done {
                id: target.id.clone(),
                after,
            }
        }
        Err(reason) => {
            let (Some(c), Some(current_kept)) = (current, &current_kept) else {
                return DeployResult::Failed {
                    reason: format!(
                        "revision {} did not come up: {reason}; no other revision to put back",
                        target.revision
                    ),
                    unfinished: false,
                };
            };
            steps.say(format!(
                "ROLLBACK FAILED: revision {} did not come up ({reason}); restoring revision {}",
                target.revision, c.revision
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
                steps,
                None,
                &c.id,
                current_kept,
                &plan.service,
                c.running,
                limit,
            )
            .await
            {
                Ok(()) => DeployResult::RolledBack {
                    reason: format!(
                        "revision {} did not come up: {reason}; revision {} runs again",
                        target.revision, c.revision
                    ),
                },
                Err(e) => DeployResult::unfinished(format!(
                    "revision {} did not come up ({reason}) and restoring revision {} failed: {e}",
                    target.revision, c.revision
                )),
            }
        }
    }
}
