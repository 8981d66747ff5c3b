//! A deploy plan carried out: a new revision of a service put up ([`deploy`]), after the
//! running revision it replaces is read and the plan readied against it ([`carry_over`]).

use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;

use super::carry;
use super::rollback::restore;
use super::steps::{DeployResult, Progress, Steps, connect, refused_or_failed};
use crate::engine::deadline;
use crate::engine::gate::Gate;
use crate::engine::interrupt::Interrupt;
use crate::journal::{FromRevision, JournalEntry, Operation, ToRevision};
use crate::model::actions::{Action, ActionResult};
use crate::model::deploy::revision::kept_name;
use crate::model::deploy::{DeployKind, DeployPlan};

/// Reads the running revision an update replaces and readies the plan against it: its whole
/// configuration becomes the new container's base (so nothing the spec or form does not set
/// is lost), its other networks are joined again (unless a spec file that describes the
/// whole service says otherwise), and the plan's review lists every change, field by field,
/// and anything that would still be dropped, which is also returned. A new service: nothing.
pub async fn carry_over(gate: &Gate, plan: &mut DeployPlan) -> Result<Vec<String>, String> {
    use crate::model::deploy::NetworkAttach;
    use crate::model::deploy::carry::{Review, SettingsView, deployed_by_fleetdeck, dropped};
    let DeployKind::Update {
        old_id, old_image, ..
    } = &plan.kind
    else {
        plan.review = Review::NotNeeded;
        return Ok(Vec::new());
    };
    let (old_id, old_image) = (old_id.clone(), old_image.clone());
    let docker = gate
        .reader(plan.endpoint)
        .await
        .map_err(|e| format!("cannot reach {}: {e}", plan.endpoint_name))?;
    let c = deadline(
        Duration::from_secs(10),
        docker.inspect_container(&old_id, None::<InspectContainerOptions>),
    )
    .await
    .map_err(|e| format!("inspecting the running revision: {e}"))?;
    // The image may be gone (removed after the container was made): then its defaults count
    // as the container's own, the cautious side. Any other failure to read it stops here, or
    // the old image's env, command, user… would be pinned onto the new one unseen.
    let image = match c.image.as_deref() {
        Some(id) => {
            match tokio::time::timeout(Duration::from_secs(10), docker.inspect_image(id)).await {
                Ok(Ok(i)) => Some(i),
                Ok(Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                })) => None,
                Ok(Err(e)) => {
                    return Err(format!(
                        "inspecting the running revision's image: {}",
                        crate::engine::describe(&e)
                    ));
                }
                Err(_) => {
                    return Err("no answer for 10 s inspecting the running revision's image".into());
                }
            }
        }
        None => None,
    };
    let ours = c
        .config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .is_some_and(deployed_by_fleetdeck);
    if !ours {
        // Its settings did not come from a spec: only what the spec sets changes.
        plan.create.complete = false;
    }
    let base = carry::base_of(&c, image.as_ref())
        .map_err(|e| format!("cannot carry over the running revision's settings: {e}"))?;
    plan.create.base = Some(base.clone());
    let old_networks = carry::networks_of(&c);
    let old_primary = carry::primary_network(&c);
    // Changing only what it sets: a spec or form that names no network leaves the running
    // container on its first network (with its fixed address), not on the default bridge.
    if !plan.create.complete
        && plan.create.network.is_none()
        && let Some(first) = old_primary
            .as_ref()
            .filter(|n| !matches!(n.as_str(), "bridge" | "host" | "none"))
    {
        let fixed = old_networks
            .iter()
            .find(|(n, _, _)| n == first)
            .and_then(|(_, ip, _)| ip.clone());
        plan.create.network = Some(first.clone());
        plan.network = Some(first.clone());
        if plan.create.ipv4.is_none() && fixed.is_some() {
            plan.ip = fixed.as_deref().and_then(|ip| ip.parse().ok());
            plan.ip_reason = "kept from the running container".into();
            plan.create.ipv4 = fixed;
        }
    }
    // Aliases on the first network (no key of a spec) stay while it stays the first.
    let new_primary = plan.create.network.as_deref().unwrap_or("bridge");
    if let Some((_, _, aliases)) = old_networks
        .iter()
        .find(|(n, _, _)| n == new_primary && Some(n) == old_primary.as_ref())
    {
        plan.create.aliases = aliases.clone();
    }
    if !plan.create.complete {
        let primary = plan
            .create
            .network
            .clone()
            .unwrap_or_else(|| "bridge".into());
        for (name, ip, aliases) in &old_networks {
            let joined = *name == primary
                || Some(name) == old_primary.as_ref()
                || plan.create.networks.iter().any(|a| &a.name == name);
            if !joined && name != "host" && name != "none" {
                plan.create.networks.push(NetworkAttach {
                    name: name.clone(),
                    ipv4: ip.clone(),
                    aliases: aliases.clone(),
                });
            }
        }
    }
    // The first network is the spec's to choose: the one it replaces is a change, not a loss.
    let old_settings: Vec<_> = carry::old_settings(&c, image.as_ref())
        .into_iter()
        .filter(|s| {
            !matches!(s, crate::model::deploy::carry::OldSetting::Network(n)
                if Some(n) == old_primary.as_ref())
        })
        .collect();
    let drops = dropped(&old_settings, &plan.create, ours);
    let shown =
        |nets: &[(String, Option<String>, Vec<String>)]| -> Vec<(String, String, Vec<String>)> {
            nets.iter()
                .map(|(n, ip, a)| {
                    (
                        n.clone(),
                        ip.clone().unwrap_or_else(|| "dynamic".into()),
                        a.clone(),
                    )
                })
                .collect()
        };
    let old_view = SettingsView::new(
        &old_image,
        &base.config,
        &base.host_config,
        &shown(&old_networks),
    );
    let body = crate::engine::gate::create_body(&plan.create)?;
    let mut new_config =
        serde_json::to_value(&body).map_err(|e| format!("the new container's config: {e}"))?;
    let new_host = new_config
        .as_object_mut()
        .and_then(|o| o.remove("HostConfig"))
        .unwrap_or_default();
    let mut new_networks = vec![(
        plan.create
            .network
            .clone()
            .unwrap_or_else(|| "bridge".into()),
        plan.create.ipv4.clone(),
        plan.create.aliases.clone(),
    )];
    new_networks.extend(
        plan.create
            .networks
            .iter()
            .map(|a| (a.name.clone(), a.ipv4.clone(), a.aliases.clone())),
    );
    let new_view = SettingsView::new(&plan.image, &new_config, &new_host, &shown(&new_networks));
    plan.review = Review::Read {
        changes: old_view.changes_to(&new_view),
        drops: drops.clone(),
    };
    Ok(drops)
}

/// The journal record of a deploy plan, before its first step.
fn deploy_entry(gate: &Gate, plan: &DeployPlan) -> JournalEntry {
    let identity = gate.audit().identity();
    let from = match &plan.kind {
        DeployKind::New => None,
        DeployKind::Update {
            old_id,
            old_image,
            old_revision,
            old_state,
        } => Some(FromRevision {
            id: old_id.clone(),
            revision: *old_revision,
            image: old_image.clone(),
            kept_name: kept_name(&plan.name, *old_revision),
            was_running: is_running(*old_state),
        }),
    };
    let mut planned = Vec::new();
    if !plan.image_present {
        planned.push(format!("pull {}", plan.image));
    }
    if let Some(f) = &from {
        planned.push(format!("rename {} to {}", plan.name, f.kept_name));
        if f.was_running {
            planned.push(format!("stop {}", f.kept_name));
        }
    }
    planned.push(format!("create {} from {}", plan.name, plan.image));
    planned.extend(
        plan.create
            .networks
            .iter()
            .map(|n| format!("connect {} to {}", plan.name, n.describe())),
    );
    planned.push(format!("start {}", plan.name));
    planned.extend(plan.prune.iter().map(|(_, n)| format!("remove {n}")));
    JournalEntry {
        id: String::new(),
        op: Operation::Deploy,
        endpoint: plan.endpoint_name.clone(),
        service: plan.name.clone(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        by: format!("{}@{}", identity.user, identity.host),
        pid: identity.pid,
        from,
        to: ToRevision {
            revision: plan.revision,
            image: plan.image.clone(),
            id: None,
            kept_name: None,
        },
        ip: plan.ip.map(|ip| ip.to_string()),
        planned,
        done: Vec::new(),
        create: Some(plan.create.clone()),
        prune: plan.prune.clone(),
        wait_s: plan.wait_s,
    }
}

fn is_running(state: crate::model::ContainerState) -> bool {
    matches!(
        state,
        crate::model::ContainerState::Running
            | crate::model::ContainerState::Restarting
            | crate::model::ContainerState::Paused
    )
}

/// Carries out a deploy plan. `progress` hears every step; the first `interrupt` stops it
/// from starting another and reverses what it did.
pub async fn deploy(
    gate: &Gate,
    plan: &DeployPlan,
    progress: Progress<'_>,
    interrupt: &Interrupt,
) -> DeployResult {
    let mut steps = Steps::new(
        gate,
        plan.endpoint,
        format!("{}/{}", plan.endpoint_name, plan.name),
        progress,
        interrupt,
    );
    let params = serde_json::json!({
        "revision": plan.revision,
        "image": plan.image,
        "from_revision": match &plan.kind {
            DeployKind::New => None,
            DeployKind::Update { old_revision, .. } => Some(*old_revision),
        },
        "ip": plan.ip.map(|ip| ip.to_string()),
        "accepted_loss": plan.accept_loss.then_some(true),
    });
    // The running revision's settings carried over (once: the command line may have done it
    // to show the plan), and nothing of it dropped unless the operator said so.
    let mut plan = plan.clone();
    let drops = plan.review.drops();
    if plan.create.base.is_some() && !drops.is_empty() && !plan.accept_loss {
        return DeployResult::Refused {
            reason: format!(
                "the update would drop what the running {} has: {}; nothing was changed (put \
                 them in the spec, or accept the loss: deploy --accept-loss)",
                plan.name,
                drops.join(", ")
            ),
        };
    }
    if plan.create.base.is_none() {
        match carry_over(gate, &mut plan).await {
            Ok(dropped) if dropped.is_empty() || plan.accept_loss => {}
            Ok(dropped) => {
                return DeployResult::Refused {
                    reason: format!(
                        "the update would drop what the running {} has: {}; nothing was \
                         changed (put them in the spec, or accept the loss: deploy \
                         --accept-loss)",
                        plan.name,
                        dropped.join(", ")
                    ),
                };
            }
            Err(e) => {
                return DeployResult::failed(format!(
                    "cannot read the running revision ({e}); nothing was changed"
                ));
            }
        }
    }
    let plan = &plan;
    if let Err(reason) = steps.begin(deploy_entry(gate, plan), params).await {
        return DeployResult::Refused { reason };
    }
    steps.close(deploy_steps(&steps, plan).await).await
}

async fn deploy_steps(steps: &Steps<'_>, plan: &DeployPlan) -> DeployResult {
    let gate = steps.gate;
    let limit = Duration::from_secs(plan.wait_s);
    let untouched = |why: String| DeployResult::Interrupted {
        reason: format!("{why} before any change; nothing was changed"),
    };

    // 1. The image: present, or pulled; a failed pull changes nothing.
    let present = match gate.reader(plan.endpoint).await {
        Ok(docker) => deadline(Duration::from_secs(10), docker.inspect_image(&plan.image))
            .await
            .is_ok(),
        Err(e) => {
            return DeployResult::failed(format!(
                "cannot reach {}: {e}; nothing was changed",
                plan.endpoint_name
            ));
        }
    };
    if present {
        steps.say(format!("image {} present", plan.image));
    } else {
        steps.failpoint("deploy:before-pull").await;
        if let Some(why) = steps.interrupted() {
            return untouched(why);
        }
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
                DeployResult::Failed { reason, .. } => {
                    DeployResult::failed(format!("{reason}; nothing was changed"))
                }
                other => other,
            };
        }
    }

    // 2. An update moves the old revision aside: renamed, stopped, kept.
    let old = match &plan.kind {
        DeployKind::New => None,
        DeployKind::Update {
            old_id,
            old_state,
            old_revision,
            ..
        } => {
            let kept = kept_name(&plan.name, *old_revision);
            steps.failpoint("deploy:before-rename").await;
            if let Some(why) = steps.interrupted() {
                return untouched(why);
            }
            let r = steps
                .act(old_id, &plan.name, Action::Rename { to: kept.clone() })
                .await;
            if let Some(stop) = refused_or_failed(&r, "renaming the running revision") {
                return stop;
            }
            let was_running = is_running(*old_state);
            steps.failpoint("deploy:before-stop").await;
            let stopped = match steps.interrupted() {
                Some(why) => ActionResult::Failed(why),
                None if was_running => {
                    steps
                        .act(old_id, &kept, Action::Stop { timeout_s: None })
                        .await
                }
                None => ActionResult::Succeeded,
            };
            if !stopped.is_ok() {
                return steps
                    .put_name_back(old_id, &kept, &plan.name, "running", &stopped)
                    .await;
            }
            Some((old_id.clone(), kept, was_running))
        }
    };

    // 3. The new revision: created, started, up by the deadline.
    let attempt = async {
        steps.failpoint("deploy:before-create").await;
        if let Some(why) = steps.interrupted() {
            return Err((None, None, why));
        }
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
        // Created but not found: it exists all the same, so it is named by its name (the
        // daemon takes either) for whatever comes next to remove it.
        let id = steps.id_of(&plan.name).await.map_err(|e| {
            (
                Some(plan.name.clone()),
                None,
                format!("the new container cannot be found: {e}"),
            )
        })?;
        steps.learn_new_id(&id);
        // Its further networks, before it starts: one create takes one network.
        for net in &plan.create.networks {
            steps.failpoint("deploy:before-connect").await;
            if let Some(why) = steps.interrupted() {
                return Err((Some(id), None, why));
            }
            let r = steps.act(&id, &plan.name, connect(net)).await;
            if !r.is_ok() {
                return Err((
                    Some(id),
                    None,
                    format!("joining network {}: {}", net.name, r.text()),
                ));
            }
        }
        steps.failpoint("deploy:before-start").await;
        if let Some(why) = steps.interrupted() {
            return Err((Some(id), None, why));
        }
        let r = steps.act(&id, &plan.name, Action::Start).await;
        if !r.is_ok() {
            return Err((Some(id), None, format!("start {}", r.text())));
        }
        steps.failpoint("deploy:before-wait").await;
        match steps.wait_up(&id, &plan.name, limit, true).await {
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
            steps.failpoint("deploy:before-prune").await;
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
        (Err((None, _, reason)), None) => match steps.interrupted() {
            Some(_) => untouched(reason),
            None => DeployResult::failed(format!("{reason}; nothing was changed")),
        },
        (Err((Some(new_id), _, reason)), None) => match steps.interrupted() {
            // A new service interrupted before it was verified: removed, as if never begun.
            Some(_) => {
                let r = steps
                    .act(
                        &new_id,
                        &plan.name,
                        Action::Remove {
                            volumes: false,
                            force: true,
                        },
                    )
                    .await;
                if r.is_ok() {
                    DeployResult::Interrupted {
                        reason: format!(
                            "{reason}; the new container {} was removed, nothing runs in its place",
                            plan.name
                        ),
                    }
                } else {
                    DeployResult::unfinished(format!(
                        "{reason}; removing the unverified new container {} {}",
                        plan.name,
                        r.text()
                    ))
                }
            }
            None => DeployResult::failed(format!(
                "revision {} of {} is not up: {reason}; the container is left as it is for \
                 inspection (fleetdeck logs {}/{})",
                plan.revision, plan.name, plan.endpoint_name, plan.name
            )),
        },
        (Err((new_id, _, reason)), Some((old_id, kept, was_running))) => {
            steps.say(format!(
                "AUTOMATIC ROLLBACK: revision {} failed ({reason}); restoring {kept} as {}",
                plan.revision, plan.name
            ));
            steps.failpoint("deploy:before-restore").await;
            restore(
                steps,
                new_id.as_deref(),
                &old_id,
                &kept,
                &plan.name,
                was_running,
                limit,
            )
            .await
            .map_or_else(
                |e| {
                    DeployResult::unfinished(format!(
                        "revision {} failed ({reason}) and the automatic rollback failed too: {e}",
                        plan.revision
                    ))
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
