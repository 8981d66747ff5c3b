//! `fleetdeck deploy` of a spec with `replicas`, and `fleetdeck rollback NAME` of such a
//! service: interrupted operations on its replicas first (a deploy finishes them, a rollback
//! undoes them), then the plan of every replica, one confirmation, and the rollout.

use std::io::Write;
use std::path::Path;

use super::{DeployArgs, recover_entry, refuse_loss, report, run_with_progress, synced_fleet};
use crate::config::Config;
use crate::engine;
use crate::engine::deploy::{DeployResult, Recovery};
use crate::engine::gate::Gate;
use crate::headless::actions::{Confirm, EXIT_FAILED, confirmed};
use crate::headless::{EXIT_CONFIG, EXIT_OK};
use crate::journal::{Journal, JournalEntry, Operation};
use crate::model::deploy::replicas::{LABEL_GROUP, plan_service, replica_index, replicas_of};
use crate::model::deploy::revision::{LABEL_TIME, rollback_plan};
use crate::model::deploy::{DeploySpec, DeployTarget, Deployer};
use crate::model::text::sanitize;

/// The journal's unfinished operations on replicas of `service`; `Err` (the exit code) when
/// one is under way in another process or the journal cannot be read.
fn pending_replicas(
    journal: &Journal,
    service: &str,
    err: &mut dyn Write,
) -> std::io::Result<Result<Vec<JournalEntry>, i32>> {
    let mut out = Vec::new();
    for entry in journal.pending() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                writeln!(
                    err,
                    "fleetdeck: {e}; move it away once the service is checked by hand"
                )?;
                return Ok(Err(EXIT_FAILED));
            }
        };
        // A replica of this service: named like one and, for a deploy, labelled as one (a
        // service of its own called `cart-2` is not a replica of `cart`).
        let group = entry
            .create
            .as_ref()
            .and_then(|c| c.labels.get(LABEL_GROUP).map(String::as_str));
        if replica_index(service, &entry.service).is_none()
            || (entry.op == Operation::Deploy && group != Some(service))
        {
            continue;
        }
        if journal.under_way(&entry.endpoint, &entry.service) {
            writeln!(
                err,
                "fleetdeck: a {} of {}/{} is under way in another fleetdeck process; nothing \
                 was done",
                entry.op.verb(),
                sanitize(&entry.endpoint),
                sanitize(&entry.service)
            )?;
            return Ok(Err(EXIT_FAILED));
        }
        out.push(entry);
    }
    Ok(Ok(out))
}

/// `fleetdeck deploy SPEC` where the spec has `replicas`.
#[allow(clippy::too_many_arguments)] // the deploy command's own inputs, passed through
pub(super) async fn deploy_replicated(
    config: &Config,
    gate: &Gate,
    spec: &DeploySpec,
    path: &Path,
    to: Option<&DeployTarget>,
    args: &DeployArgs,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    // A replica's interrupted deploy or rollback is finished first: that is what deploying
    // the service again means.
    let journal = Journal::beside(gate.audit().path());
    let pending = match pending_replicas(&journal, &spec.name, err)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    for entry in pending {
        writeln!(
            out,
            "first, the interrupted {}:",
            sanitize(&entry.describe())
        )?;
        let code =
            recover_entry(entry, Recovery::Finish, gate, args.yes, confirm, out, err).await?;
        if code != EXIT_OK {
            return Ok(code);
        }
    }
    let fleet = synced_fleet(config, err).await;
    let identity = gate.audit().identity();
    let deployer = Deployer {
        who: format!("{}@{}", identity.user, identity.host),
        at: chrono::Utc::now(),
    };
    let mut plan = match plan_service(spec, &fleet, to, config.deploy.keep_revisions, &deployer) {
        Ok(p) => p,
        Err(problems) => {
            for p in problems {
                writeln!(err, "fleetdeck: {}: {p}", path.display())?;
            }
            writeln!(err, "fleetdeck: nothing was done")?;
            return Ok(EXIT_CONFIG);
        }
    };
    // Each running replica read from its daemon: its changes, and what it would drop.
    let mut dropped = Vec::new();
    for m in &mut plan.members {
        match engine::deploy::carry_over(gate, m).await {
            Ok(d) => {
                m.accept_loss = !d.is_empty() && args.accept_loss;
                dropped.extend(d.into_iter().map(|x| format!("{}: {x}", m.name)));
            }
            Err(e) => {
                writeln!(
                    err,
                    "fleetdeck: cannot read the running {}: {e}; nothing was done",
                    m.name
                )?;
                return Ok(EXIT_FAILED);
            }
        }
    }
    for line in plan.lines() {
        writeln!(out, "{line}")?;
    }
    if !dropped.is_empty() && !args.accept_loss {
        return refuse_loss(path, "the running replicas", &dropped, err);
    }
    out.flush()?;
    if let Some(code) = confirmed(true, args.yes, confirm, err) {
        return Ok(code);
    }
    let result = run_with_progress(
        "deploy",
        async |progress, interrupt| {
            engine::deploy::deploy_service(gate, &plan, progress, interrupt).await
        },
        out,
    )
    .await?;
    let placed: Vec<String> = plan
        .members
        .iter()
        .map(|m| {
            format!(
                "{} on {} (revision {}{})",
                m.name,
                m.endpoint_name,
                m.revision,
                m.ip.map(|ip| format!(", {ip}")).unwrap_or_default()
            )
        })
        .collect();
    let done = format!(
        "deployed: service {} ({}): {}",
        plan.name,
        spec.image,
        placed.join("; ")
    );
    if let DeployResult::Failed {
        reason,
        unfinished: true,
    } = &result
    {
        writeln!(out, "FAILED: {reason}")?;
        writeln!(err, "fleetdeck: FAILED: {reason}")?;
        writeln!(
            err,
            "fleetdeck: a replica is left unfinished in the journal: deploying {} again \
             finishes it, `fleetdeck rollback {}` undoes it",
            path.display(),
            plan.name
        )?;
        return Ok(EXIT_FAILED);
    }
    report(&result, &plan.name, done, out, err)
}

/// `fleetdeck rollback NAME`: every replica of the service back to its previous revision (an
/// interrupted operation on one is undone instead).
pub(super) async fn rollback_replicated(
    config: &Config,
    gate: &Gate,
    service: &str,
    yes: bool,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let journal = Journal::beside(gate.audit().path());
    let pending = match pending_replicas(&journal, service, err)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let undone: Vec<String> = pending.iter().map(|e| e.service.clone()).collect();
    // An interrupted rollout is what is rolled back: its other replicas (those it had already
    // updated, which carry its deploy time) go back too, the ones it never reached stay. An
    // interrupted rollback is finished (that is what rolling back asks for); the replicas it
    // had not reached are left to a second `rollback NAME`, which the last line says.
    let rollout: Vec<String> = pending
        .iter()
        .filter(|e| e.op == Operation::Deploy)
        .filter_map(|e| e.create.as_ref())
        .filter_map(|c| c.labels.get(LABEL_TIME).cloned())
        .collect();
    let rollback_cut_short = pending.iter().any(|e| e.op == Operation::Rollback);
    let interrupted = !pending.is_empty();
    for entry in pending {
        let how = match entry.op {
            Operation::Deploy => Recovery::Undo,
            Operation::Rollback => Recovery::Finish,
        };
        let code = recover_entry(entry, how, gate, yes, confirm, out, err).await?;
        if code != EXIT_OK {
            return Ok(code);
        }
    }
    if rollback_cut_short {
        writeln!(
            out,
            "the interrupted rollback of {} is finished; if other replicas are still on the \
             newer revision, `fleetdeck rollback {}` again rolls them back",
            sanitize(service),
            sanitize(service)
        )?;
        return Ok(EXIT_OK);
    }
    let fleet = synced_fleet(config, err).await;
    let deployed_at = |r: &crate::model::deploy::replicas::Replica| {
        fleet
            .endpoints
            .get(r.endpoint)
            .and_then(|e| e.containers.get(&r.id))
            .and_then(|c| c.labels.get(LABEL_TIME).cloned())
    };
    let all: Vec<_> = replicas_of(&fleet, service)
        .into_iter()
        .filter(|r| !undone.contains(&r.name))
        .collect();
    // Without an interrupted rollout, the newest rollout is what goes back: the replicas it
    // reached (a rollout that failed or was stopped put the others back itself).
    let newest = all.iter().filter_map(&deployed_at).max();
    let replicas: Vec<_> = all
        .into_iter()
        .filter(|r| {
            let at = deployed_at(r);
            if interrupted {
                at.is_some_and(|t| rollout.contains(&t))
            } else {
                at == newest
            }
        })
        .collect();
    if replicas.is_empty() {
        if undone.is_empty() {
            writeln!(
                err,
                "fleetdeck: no replica of a service \"{}\" in the fleet (a single container is \
                 rolled back as ENDPOINT/NAME); nothing was done",
                sanitize(service)
            )?;
            return Ok(EXIT_CONFIG);
        }
        return Ok(EXIT_OK);
    }
    let mut plans = Vec::new();
    let mut left = Vec::new();
    for r in &replicas {
        match rollback_plan(&fleet, &r.endpoint_name, &r.name, config.deploy.wait_s) {
            Ok(p) => plans.push(p),
            // A replica with no kept revision (new with that rollout) has nothing to go
            // back to: it stays, said so.
            Err(e) => left.push(format!("{}/{}: {e}", r.endpoint_name, r.name)),
        }
    }
    if plans.is_empty() {
        writeln!(err, "fleetdeck: {}; nothing was done", left.join("; "))?;
        return Ok(EXIT_CONFIG);
    }
    for l in &left {
        writeln!(out, "  stays    {} (left as it is)", sanitize(l))?;
    }
    writeln!(
        out,
        "roll back service {}: {} replica{}",
        sanitize(service),
        plans.len(),
        if plans.len() == 1 { "" } else { "s" }
    )?;
    for p in &plans {
        for line in p.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    out.flush()?;
    if let Some(code) = confirmed(true, yes, confirm, err) {
        return Ok(code);
    }
    let (back, failed) = run_with_progress(
        "rollback",
        async |progress, interrupt| {
            let mut back = Vec::new();
            for p in &plans {
                let r = engine::deploy::rollback(gate, p, progress, interrupt).await;
                if !r.is_ok() {
                    return (back, Some((p.service.clone(), r)));
                }
                back.push(p.service.clone());
            }
            (back, None)
        },
        out,
    )
    .await?;
    match failed {
        None => {
            writeln!(
                out,
                "rolled back: service {}: {}",
                sanitize(service),
                plans
                    .iter()
                    .map(|p| format!(
                        "{} revision {} ({})",
                        p.service, p.target.revision, p.target.image
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )?;
            Ok(EXIT_OK)
        }
        Some((name, result)) => {
            let target = plans
                .iter()
                .find(|p| p.service == name)
                .map(|p| format!("{}/{}", p.endpoint_name, p.service))
                .unwrap_or(name);
            if !back.is_empty() {
                writeln!(out, "rolled back before it: {}", back.join(", "))?;
            }
            report(&result, &target, String::new(), out, err)
        }
    }
}
