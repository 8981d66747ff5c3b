//! `fleetdeck deploy SPEC [--to ENDPOINT|@CLUSTER] [--yes]` and `fleetdeck rollback
//! ENDPOINT/NAME [--yes]`: read the spec, sync the fleet once, print the plan (host, network,
//! IP, image), ask unless `--yes`, carry it out through the engine's gate with every step
//! printed as it happens. Exit 0 when the new revision is up, 1 when it failed, was rolled
//! back or refused (or an endpoint could not be reached), 2 for a bad spec, bad arguments or
//! a plan that cannot work (IP taken, port clash, unknown network…).
//!
//! While one runs, the first Ctrl-C, SIGTERM or SIGHUP stops it from starting a new step and
//! reverses the one under way (exit 1, saying what runs now); a second exits at once, and the
//! journal keeps what is unfinished for `fleetdeck deploy --resume ENDPOINT/NAME` (finish) or
//! `fleetdeck rollback ENDPOINT/NAME` (undo).
//!
//! `fleetdeck deploy --from ENDPOINT/CONTAINER` only reads: it writes the container's spec to
//! stdout (exit 0), 2 for a bad target or unknown endpoint, 1 when the container cannot be
//! found or read.

use std::io::Write;
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::actions::{Confirm, EXIT_FAILED, confirmed};
use super::signals::interrupt_on_signals;
use super::{EXIT_CONFIG, EXIT_OK};
use crate::config::Config;
use crate::config::deploy::write::spec_toml;
use crate::config::deploy::{find_spec, load_spec, parse_spec};
use crate::engine;
use crate::engine::deploy::{DeployResult, Interrupt, Progress, Recovery};
use crate::engine::gate::Gate;
use crate::journal::{Journal, JournalEntry};
use crate::model::deploy::revision::rollback_plan;
use crate::model::deploy::{DeployTarget, Deployer, plan};
use crate::model::text::sanitize;
use crate::model::{Fleet, Link};

mod replicas;

/// Progress lines waiting to be printed; the printer drains them as they come, so only a
/// stalled stdout could fill it, and then lines are dropped rather than memory grown.
const PROGRESS_LINES: usize = 1024;

#[derive(Debug, Clone)]
pub struct DeployArgs {
    /// A spec file, or a name looked up as `DIR/NAME.toml`.
    pub spec: Option<String>,
    /// `--resume ENDPOINT/NAME`: finish the deploy or rollback the journal holds for it.
    pub resume: Option<String>,
    /// `--accept-loss`: go ahead though the update drops settings of the running revision.
    pub accept_loss: bool,
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
    // A write that fails (stdout piped into `head`, a terminal gone with its SSH session)
    // stops the printing, never the work: dropping a deploy between two steps would leave it
    // half-done. The error is returned once the work has ended.
    let mut failed: Option<std::io::Error> = None;
    let mut print = |line: &str, failed: &mut Option<std::io::Error>| {
        if failed.is_none()
            && let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush())
        {
            *failed = Some(e);
        }
    };
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            Some(line) = rx.recv() => print(&line, &mut failed),
        }
    };
    while let Ok(line) = rx.try_recv() {
        print(&line, &mut failed);
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// Runs a journaled write (`verb` names it when a signal comes) with its progress printed as
/// it happens: the progress channel, the signal listener ([`interrupt_on_signals`]) for as
/// long as it runs, and [`carry_out`]. `work` gets the progress callback and the interrupt.
pub(super) async fn run_with_progress<T>(
    verb: &str,
    work: impl AsyncFnOnce(Progress<'_>, &Interrupt) -> T,
    out: &mut dyn Write,
) -> std::io::Result<T> {
    let (tx, mut rx) = mpsc::channel(PROGRESS_LINES);
    let progress = move |line: String| {
        let _ = tx.try_send(line);
    };
    let (interrupt, listener) = interrupt_on_signals(verb.into(), true);
    let result = carry_out(work(&progress, &interrupt), out, &mut rx).await;
    listener.abort();
    result
}

fn report(
    result: &DeployResult,
    target: &str,
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
        DeployResult::Failed { reason, unfinished } => {
            writeln!(out, "FAILED: {reason}")?;
            writeln!(err, "fleetdeck: FAILED: {reason}")?;
            if *unfinished {
                writeln!(
                    err,
                    "fleetdeck: it is left unfinished in the journal: `fleetdeck deploy --resume {target}` \
                     finishes it, `fleetdeck rollback {target}` undoes it"
                )?;
            }
            Ok(EXIT_FAILED)
        }
        DeployResult::Interrupted { reason } => {
            writeln!(out, "INTERRUPTED: {reason}")?;
            writeln!(err, "fleetdeck: INTERRUPTED: {reason}")?;
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
    if let Some(target) = &args.resume {
        return resume(gate, target, args.yes, confirm, out, err).await;
    }
    let Some(spec_arg) = &args.spec else {
        writeln!(
            err,
            "fleetdeck: deploy needs a SPEC, or --resume ENDPOINT/NAME"
        )?;
        return Ok(EXIT_CONFIG);
    };
    let dir = args.deploy_dir.as_deref().unwrap_or(&config.deploy.dir);
    let path = find_spec(spec_arg, dir);
    let spec = match load_spec(&path, config.deploy.wait_s) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "fleetdeck: {e}")?;
            return Ok(EXIT_CONFIG);
        }
    };
    if spec.replicas.is_some() {
        return replicas::deploy_replicated(
            config,
            gate,
            &spec,
            &path,
            to.as_ref(),
            args,
            confirm,
            out,
            err,
        )
        .await;
    }
    // An unfinished operation on this service comes first: the operator decides its fate.
    let journal = Journal::beside(gate.audit().path());
    for pending in journal.pending().into_iter().flatten() {
        if pending.service == spec.name {
            if journal.under_way(&pending.endpoint, &pending.service) {
                writeln!(
                    err,
                    "fleetdeck: a {} of {}/{} is under way in another fleetdeck process; nothing \
                     was done",
                    pending.op.verb(),
                    sanitize(&pending.endpoint),
                    sanitize(&pending.service)
                )?;
            } else {
                tell_pending(&pending, &journal, err)?;
            }
            return Ok(EXIT_FAILED);
        }
    }
    let fleet = synced_fleet(config, err).await;
    let identity = gate.audit().identity();
    let deployer = Deployer {
        who: format!("{}@{}", identity.user, identity.host),
        at: chrono::Utc::now(),
    };
    let mut plan = match plan(
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
    // The running revision, read from the daemon: every change field by field, and what the
    // update would drop, named and refused unless accepted.
    let dropped = match engine::deploy::carry_over(gate, &mut plan).await {
        Ok(d) => d,
        Err(e) => {
            writeln!(
                err,
                "fleetdeck: cannot read the running revision: {e}; nothing was done"
            )?;
            return Ok(EXIT_FAILED);
        }
    };
    plan.accept_loss = !dropped.is_empty() && args.accept_loss;
    for line in plan.lines() {
        writeln!(out, "{line}")?;
    }
    if !dropped.is_empty() && !args.accept_loss {
        return refuse_loss(&path, &format!("the running {}", plan.name), &dropped, err);
    }
    out.flush()?;
    if let Some(code) = confirmed(true, args.yes, confirm, err) {
        return Ok(code);
    }
    let result = run_with_progress(
        "deploy",
        async |progress, interrupt| engine::deploy::deploy(gate, &plan, progress, interrupt).await,
        out,
    )
    .await?;
    let done = format!(
        "deployed: {}/{} revision {} ({}){}",
        plan.endpoint_name,
        plan.name,
        plan.revision,
        plan.image,
        plan.ip.map(|ip| format!(" at {ip}")).unwrap_or_default()
    );
    let target = format!("{}/{}", plan.endpoint_name, plan.name);
    report(&result, &target, done, out, err)
}

/// Says what an update would drop of `whose` settings and that nothing was done.
fn refuse_loss(
    path: &std::path::Path,
    whose: &str,
    dropped: &[String],
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    writeln!(
        err,
        "fleetdeck: {}: the update would drop what {whose} has: {}",
        path.display(),
        dropped.join(", ")
    )?;
    writeln!(
        err,
        "fleetdeck: put them in the spec, or pass --accept-loss to drop them; nothing was done"
    )?;
    Ok(EXIT_CONFIG)
}

/// `fleetdeck deploy --from ENDPOINT/CONTAINER`: the container as a spec, on `out`.
pub async fn spec_from(
    config: &Config,
    gate: &Gate,
    target: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    use crate::engine::deploy::from::{FromError, read};
    let Some((endpoint_name, container)) = endpoint_and_name(target) else {
        writeln!(
            err,
            "fleetdeck: --from \"{target}\": expected ENDPOINT/CONTAINER"
        )?;
        return Ok(EXIT_CONFIG);
    };
    let Some(endpoint) = config
        .endpoints
        .iter()
        .position(|e| e.name == endpoint_name)
    else {
        let names: Vec<&str> = config.endpoints.iter().map(|e| e.name.as_str()).collect();
        writeln!(
            err,
            "fleetdeck: --from: no endpoint \"{endpoint_name}\"; endpoints: {}",
            names.join(", ")
        )?;
        return Ok(EXIT_CONFIG);
    };
    let found = match read(
        gate,
        endpoint,
        endpoint_name,
        container,
        config.deploy.wait_s,
    )
    .await
    {
        Ok(f) => f,
        Err(e @ FromError::NoContainer(_)) => {
            writeln!(err, "fleetdeck: {endpoint_name}: {e}")?;
            return Ok(EXIT_FAILED);
        }
        Err(e) => {
            writeln!(err, "fleetdeck: {target}: {e}")?;
            return Ok(EXIT_FAILED);
        }
    };
    let mut comments = vec![format!(
        "Written by `fleetdeck deploy --from {target}`: the container's settings as a spec,\n\
         less what its image provides."
    )];
    if !found.spec.env.is_empty() {
        comments.push(
            "Env values are written in clear, as the container has them: keep this file as\n\
             private as the container's config."
                .into(),
        );
    }
    comments.extend(
        found
            .carried
            .iter()
            .map(|c| format!("not expressible in a spec, carried over by updates: {c}")),
    );
    comments.extend(
        found
            .differs
            .iter()
            .map(|d| format!("differs from the container (deploying this spec changes it): {d}")),
    );
    let text = spec_toml(&found.spec, config.deploy.wait_s, &comments);
    // Never hand the operator a spec fleetdeck itself would refuse.
    let as_file = PathBuf::from(format!("{}.toml", found.spec.name));
    if let Err(e) = parse_spec(&text, &as_file, config.deploy.wait_s) {
        writeln!(
            err,
            "fleetdeck: {target}: the spec written does not read back ({e}); nothing printed"
        )?;
        return Ok(EXIT_FAILED);
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
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
    // A bare NAME: a service of several replicas, wherever they run.
    if !target.contains('/') && !target.is_empty() {
        return replicas::rollback_replicated(config, gate, target, yes, confirm, out, err).await;
    }
    let Some((endpoint, name)) = endpoint_and_name(target) else {
        writeln!(
            err,
            "fleetdeck: \"{target}\": expected ENDPOINT/NAME, or NAME for a service of \
             several replicas"
        )?;
        return Ok(EXIT_CONFIG);
    };
    // An interrupted deploy or rollback of this service: rolling back is undoing it.
    match Journal::beside(gate.audit().path()).find(endpoint, name) {
        Ok(Some(entry)) => {
            return recover_entry(entry, Recovery::Undo, gate, yes, confirm, out, err).await;
        }
        Ok(None) => {}
        Err(e) => {
            writeln!(
                err,
                "fleetdeck: {e}; move it away once the service is checked by hand"
            )?;
            return Ok(EXIT_FAILED);
        }
    }
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
    let result = run_with_progress(
        "rollback",
        async |progress, interrupt| {
            engine::deploy::rollback(gate, &plan, progress, interrupt).await
        },
        out,
    )
    .await?;
    let done = format!(
        "rolled back: {}/{} is revision {} ({}) again",
        plan.endpoint_name, plan.service, plan.target.revision, plan.target.image
    );
    report(&result, target, done, out, err)
}

/// Says that an unfinished operation holds the service, and the ways out.
fn tell_pending(
    entry: &JournalEntry,
    journal: &Journal,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let target = sanitize(&format!("{}/{}", entry.endpoint, entry.service)).into_owned();
    writeln!(
        err,
        "fleetdeck: {target}: an unfinished {}",
        sanitize(&entry.describe())
    )?;
    writeln!(
        err,
        "fleetdeck: finish it with `fleetdeck deploy --resume {target}`, or undo it with \
         `fleetdeck rollback {target}`; nothing was done"
    )?;
    writeln!(
        err,
        "fleetdeck: (if neither can, because its containers were changed by hand, check the \
         service and delete {})",
        journal.path_of(&entry.endpoint, &entry.service).display()
    )
}

/// Splits `ENDPOINT/NAME`.
fn endpoint_and_name(target: &str) -> Option<(&str, &str)> {
    target
        .split_once('/')
        .filter(|(e, n)| !e.is_empty() && !n.is_empty() && !n.contains('/'))
}

/// `fleetdeck deploy --resume ENDPOINT/NAME`: finishes what the journal holds for it.
async fn resume(
    gate: &Gate,
    target: &str,
    yes: bool,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let Some((endpoint, name)) = endpoint_and_name(target) else {
        writeln!(
            err,
            "fleetdeck: --resume \"{target}\": expected ENDPOINT/NAME"
        )?;
        return Ok(EXIT_CONFIG);
    };
    match Journal::beside(gate.audit().path()).find(endpoint, name) {
        Ok(Some(entry)) => {
            recover_entry(entry, Recovery::Finish, gate, yes, confirm, out, err).await
        }
        Ok(None) => {
            writeln!(
                err,
                "fleetdeck: nothing to resume: the journal ({}) holds no unfinished deploy or \
                 rollback of {target}",
                Journal::beside(gate.audit().path()).dir().display()
            )?;
            Ok(EXIT_CONFIG)
        }
        Err(e) => {
            writeln!(
                err,
                "fleetdeck: {e}; move it away once the service is checked by hand"
            )?;
            Ok(EXIT_FAILED)
        }
    }
}

/// Shows the interrupted operation and what finishing or undoing it does, asks, and does it.
async fn recover_entry(
    entry: JournalEntry,
    how: Recovery,
    gate: &Gate,
    yes: bool,
    confirm: Confirm<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let target = format!("{}/{}", entry.endpoint, entry.service);
    for line in entry.recovery_lines(how) {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if let Some(code) = confirmed(true, yes, confirm, err) {
        return Ok(code);
    }
    let verb = match how {
        Recovery::Finish => "resumed deploy",
        Recovery::Undo => "undo",
    };
    let result = run_with_progress(
        verb,
        async |progress, interrupt| {
            engine::deploy::recover(gate, entry.clone(), how, progress, interrupt).await
        },
        out,
    )
    .await?;
    let done = match how {
        Recovery::Finish => format!(
            "resumed: {target} is revision {} ({})",
            entry.to.revision, entry.to.image
        ),
        Recovery::Undo => match &entry.from {
            Some(f) => format!(
                "undone: {target} is revision {} ({}) again",
                f.revision, f.image
            ),
            None => format!("undone: {target} is removed, as before the deploy"),
        },
    };
    report(&result, &target, done, out, err)
}
