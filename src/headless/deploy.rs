//! `fleetdeck deploy SPEC [--to ENDPOINT|@CLUSTER] [--yes]` and `fleetdeck rollback
//! ENDPOINT/NAME [--yes]`: read the spec, sync the fleet once, print the plan (host, network,
//! IP, image), ask unless `--yes`, carry it out through the engine's gate with every step
//! printed as it happens. Exit 0 when the new revision is up, 1 when it failed, was rolled
//! back or refused (or an endpoint could not be reached), 2 for a bad spec, bad arguments or
//! a plan that cannot work (IP taken, port clash, unknown network…).

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::actions::{Confirm, EXIT_FAILED, confirmed};
use super::{EXIT_CONFIG, EXIT_OK};
use crate::config::Config;
use crate::config::deploy::{find_spec, load_spec};
use crate::engine;
use crate::engine::deploy::DeployResult;
use crate::engine::gate::Gate;
use crate::model::deploy::revision::rollback_plan;
use crate::model::deploy::{DeployTarget, Deployer, plan};
use crate::model::{Fleet, Link};

/// Progress lines waiting to be printed; the printer drains them as they come, so only a
/// stalled stdout could fill it, and then lines are dropped rather than memory grown.
const PROGRESS_LINES: usize = 1024;

#[derive(Debug, Clone)]
pub struct DeployArgs {
    /// A spec file, or a name looked up as `DIR/NAME.toml`.
    pub spec: String,
    pub to: Option<String>,
    pub yes: bool,
    /// Overrides `[deploy] dir`.
    pub deploy_dir: Option<PathBuf>,
}

/// One sync of every endpoint, as the model sees it; unreachable endpoints said on `err`.
async fn synced_fleet(config: &Config, err: &mut dyn Write) -> Fleet {
    let mut fleet = Fleet::new(config.endpoints.iter().cloned());
    for msg in engine::sync_all_once(config).await {
        fleet.apply(msg);
    }
    for e in &fleet.endpoints {
        if let Link::Down { reason, .. } = &e.link {
            let _ = writeln!(err, "fleetdeck: {}: cannot list: {reason}", e.name());
        }
    }
    fleet
}

/// Runs `work` (a deploy, a rollback, a service update), printing the progress lines it
/// sends on `rx` as they come, and the stragglers after it ends.
pub(super) async fn carry_out<T, F>(
    work: F,
    out: &mut dyn Write,
    rx: &mut mpsc::Receiver<String>,
) -> std::io::Result<T>
where
    F: std::future::Future<Output = T>,
{
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            Some(line) = rx.recv() => {
                writeln!(out, "{line}")?;
                out.flush()?;
            }
        }
    };
    while let Ok(line) = rx.try_recv() {
        writeln!(out, "{line}")?;
    }
    Ok(result)
}

fn report(
    result: &DeployResult,
    done: String,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    match result {
        DeployResult::Done { .. } => {
            writeln!(out, "{done}")?;
            Ok(EXIT_OK)
        }
        DeployResult::RolledBack { reason } => {
            writeln!(out, "ROLLED BACK: {reason}")?;
            writeln!(err, "fleetdeck: ROLLED BACK: {reason}")?;
            Ok(EXIT_FAILED)
        }
        DeployResult::Failed { reason } => {
            writeln!(out, "FAILED: {reason}")?;
            writeln!(err, "fleetdeck: FAILED: {reason}")?;
            Ok(EXIT_FAILED)
        }
        DeployResult::Refused { reason } => {
            writeln!(out, "REFUSED: {reason}")?;
            writeln!(err, "fleetdeck: refused: {reason}")?;
            Ok(EXIT_FAILED)
        }
    }
}

/// `fleetdeck deploy`.
pub async fn deploy(
    config: &Config,
    gate: &Gate,
    args: &DeployArgs,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let to = match args.to.as_deref().map(DeployTarget::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "fleetdeck: --to {e}")?;
            return Ok(EXIT_CONFIG);
        }
    };
    let dir = args.deploy_dir.as_deref().unwrap_or(&config.deploy.dir);
    let path = find_spec(&args.spec, dir);
    let spec = match load_spec(&path, config.deploy.wait_s) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "fleetdeck: {e}")?;
            return Ok(EXIT_CONFIG);
        }
    };
    let fleet = synced_fleet(config, err).await;
    let identity = gate.audit().identity();
    let deployer = Deployer {
        who: format!("{}@{}", identity.user, identity.host),
        at: chrono::Utc::now(),
    };
    let plan = match plan(
        &spec,
        &fleet,
        to.as_ref(),
        config.deploy.keep_revisions,
        &deployer,
    ) {
        Ok(p) => p,
        Err(problems) => {
            for p in problems {
                writeln!(err, "fleetdeck: {}: {p}", path.display())?;
            }
            writeln!(err, "fleetdeck: nothing was done")?;
            return Ok(EXIT_CONFIG);
        }
    };
    for line in plan.lines() {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if let Some(code) = confirmed(true, args.yes, confirm, err) {
        return Ok(code);
    }
    let (tx, mut rx) = mpsc::channel(PROGRESS_LINES);
    let progress = move |line: String| {
        let _ = tx.try_send(line);
    };
    let result = carry_out(engine::deploy::deploy(gate, &plan, &progress), out, &mut rx).await?;
    let done = format!(
        "deployed: {}/{} revision {} ({}){}",
        plan.endpoint_name,
        plan.name,
        plan.revision,
        plan.image,
        plan.ip.map(|ip| format!(" at {ip}")).unwrap_or_default()
    );
    report(&result, done, out, err)
}

/// `fleetdeck rollback ENDPOINT/NAME`.
pub async fn rollback(
    config: &Config,
    gate: &Gate,
    target: &str,
    yes: bool,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let Some((endpoint, name)) = target
        .split_once('/')
        .filter(|(e, n)| !e.is_empty() && !n.is_empty() && !n.contains('/'))
    else {
        writeln!(err, "fleetdeck: \"{target}\": expected ENDPOINT/NAME")?;
        return Ok(EXIT_CONFIG);
    };
    let fleet = synced_fleet(config, err).await;
    let plan = match rollback_plan(&fleet, endpoint, name, config.deploy.wait_s) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "fleetdeck: {e}; nothing was done")?;
            return Ok(EXIT_CONFIG);
        }
    };
    for line in plan.lines() {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if let Some(code) = confirmed(true, yes, confirm, err) {
        return Ok(code);
    }
    let (tx, mut rx) = mpsc::channel(PROGRESS_LINES);
    let progress = move |line: String| {
        let _ = tx.try_send(line);
    };
    let result = carry_out(
        engine::deploy::rollback(gate, &plan, &progress),
        out,
        &mut rx,
    )
    .await?;
    let done = format!(
        "rolled back: {}/{} is revision {} ({}) again",
        plan.endpoint_name, plan.service, plan.target.revision, plan.target.image
    );
    report(&result, done, out, err)
}
