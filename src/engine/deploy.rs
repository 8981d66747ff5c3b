//! Carrying out a [`DeployPlan`] or a [`RollbackPlan`], one step at a time. Every step that
//! changes something is an [`Action`] through the [`Gate`] (read-only refused there, every
//! step in the audit log); this module itself only reads (inspect image, inspect container).
//!
//! An update never leaves the service without a container of its name: the old revision is
//! renamed and stopped, the new one created with the same name and address and started, and
//! if it does not run (and stay running, and become healthy when it has a healthcheck) by the
//! deadline, it is removed and the old one gets its name back and is started again.
//!
//! Crash safety. Before its first change, a deploy or rollback writes its intent to the
//! [`Journal`] and an operation record to the audit log; each step is marked as done; both
//! are closed when it ends. The first [`Interrupt`] (Ctrl-C, SIGTERM, SIGHUP) stops it from
//! starting new steps and reverses what it did (an unverified new revision is rolled back).
//! A kill leaves the journal record, and [`recover`] finishes or undoes it from whatever
//! state the daemon is in: it looks at the containers, never trusts the step marks alone.

mod carry;
pub use super::interrupt::{Interrupt, Interrupter};
mod service;
pub use service::deploy_service;
pub mod from;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bollard::query_parameters::InspectContainerOptions;

use super::deadline;
use super::gate::{Gate, Readiness, readiness};
use crate::audit::{Attempt, Phase};
pub use crate::journal::Recovery;
use crate::journal::{FromRevision, Journal, JournalEntry, JournalLock, Operation, ToRevision};
use crate::model::EndpointId;
use crate::model::actions::{Action, ActionRequest, ActionResult};
use crate::model::deploy::revision::{LABEL_REVISION, LABEL_SERVICE, RollbackPlan, kept_name};
use crate::model::deploy::{DeployKind, DeployPlan};

/// `FLEETDECK_FAILPOINT=NAME` holds a deploy or rollback at the point `NAME` (say
/// `deploy:before-create`) until it is interrupted or killed, after saying so on stderr: how
/// the tests put a kill or a Ctrl-C between two exact steps. Unset, it costs one lookup.
pub const FAILPOINT_ENV: &str = "FLEETDECK_FAILPOINT";

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
    /// It failed; `reason` says what state it is in. `unfinished`: it could not be put back
    /// as it was, and its journal record is kept for `deploy --resume` or `rollback`.
    Failed { reason: String, unfinished: bool },
    /// The gate refused the first change (read-only endpoint, no audit log, an unfinished
    /// operation on the service): nothing was sent.
    Refused { reason: String },
    /// A signal stopped it; `reason` says what was reversed and what runs now.
    Interrupted { reason: String },
}

impl DeployResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Done { .. })
    }

    fn failed(reason: String) -> Self {
        Self::Failed {
            reason,
            unfinished: false,
        }
    }

    /// How the operation's own audit record ends.
    fn audit_result(&self) -> (Phase, Option<String>) {
        match self {
            Self::Done { .. } => (Phase::Succeeded, None),
            Self::RolledBack { reason } => (Phase::Failed, Some(format!("rolled back: {reason}"))),
            Self::Failed { reason, unfinished } => (
                Phase::Failed,
                Some(if *unfinished {
                    format!("{reason}; left unfinished in the journal")
                } else {
                    reason.clone()
                }),
            ),
            Self::Refused { reason } => (Phase::Refused, Some(reason.clone())),
            Self::Interrupted { reason } => (Phase::Interrupted, Some(reason.clone())),
        }
    }
}

fn failpoint_wanted() -> Option<&'static str> {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    WANTED
        .get_or_init(|| std::env::var(FAILPOINT_ENV).ok().filter(|v| !v.is_empty()))
        .as_deref()
}

/// Where progress is told, as it happens: one line per step.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

struct Steps<'a> {
    gate: &'a Gate,
    endpoint: EndpointId,
    where_: String,
    progress: Progress<'a>,
    interrupt: Interrupt,
    /// The operation's audit attempt id, once it is on record.
    operation: Option<String>,
    /// The journal and this operation's record in it, once begun.
    journal: Option<(Journal, Mutex<JournalEntry>)>,
    /// The operation's own audit record, completed by [`Steps::end`].
    attempt: Option<Attempt>,
    /// Held while it runs: no other fleetdeck works on the same service meanwhile.
    lock: Option<JournalLock>,
}

impl<'a> Steps<'a> {
    fn new(
        gate: &'a Gate,
        endpoint: EndpointId,
        where_: String,
        progress: Progress<'a>,
        interrupt: &Interrupt,
    ) -> Self {
        Self {
            gate,
            endpoint,
            where_,
            progress,
            interrupt: interrupt.clone(),
            operation: None,
            journal: None,
            attempt: None,
            lock: None,
        }
    }

    /// Takes the service's lock, or says who has it.
    fn take_lock(
        &mut self,
        journal: &Journal,
        endpoint: &str,
        service: &str,
    ) -> Result<(), String> {
        match journal.lock(endpoint, service) {
            Ok(Some(lock)) => {
                self.lock = Some(lock);
                Ok(())
            }
            Ok(None) => Err(format!(
                "a deploy or rollback of {endpoint}/{service} is under way in another fleetdeck \
                 process; nothing was changed"
            )),
            Err(e) => Err(format!(
                "cannot lock {endpoint}/{service} in the journal {}: {e}; nothing was changed",
                journal.dir().display()
            )),
        }
    }

    fn say(&self, text: impl AsRef<str>) {
        (self.progress)(format!("{}: {}", self.where_, text.as_ref()));
    }

    /// Why to stop now, once interrupted.
    fn interrupted(&self) -> Option<String> {
        self.interrupt.reason()
    }

    /// Holds here when `FLEETDECK_FAILPOINT` names this point: until interrupted, or, when
    /// reached already interrupted (a point on the way back), until killed — so a test can
    /// put its second Ctrl-C in the middle of the reversal.
    async fn failpoint(&self, name: &str) {
        if failpoint_wanted() == Some(name) {
            eprintln!(
                "fleetdeck: failpoint {name} reached (pid {})",
                std::process::id()
            );
            if self.interrupted().is_some() {
                std::future::pending::<()>().await;
            }
            self.interrupt.wait().await;
        }
    }

    /// Puts the operation on record: the audit log's operation line and the journal's intent,
    /// both fsynced, before its first change. Read-only endpoints get neither: the gate
    /// refuses their first step, and that refusal is the record.
    async fn begin(
        &mut self,
        entry: JournalEntry,
        mut params: serde_json::Value,
    ) -> Result<(), String> {
        // Absent is clearer than null in the audit log ("from_revision" of a new service).
        if let Some(o) = params.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        if self.gate.is_read_only(self.endpoint) {
            return Ok(());
        }
        let journal = Journal::beside(self.gate.audit().path());
        self.take_lock(&journal, &entry.endpoint, &entry.service)?;
        let subject = self
            .gate
            .subject(self.endpoint, "", &entry.service, entry.op.verb(), params);
        let attempt = self.gate.audit().started(subject).await.map_err(|e| {
            format!(
                "cannot write the audit log {}: {e}; nothing was changed",
                self.gate.audit().path().display()
            )
        })?;
        let entry = JournalEntry {
            id: attempt.id.clone(),
            ..entry
        };
        if let Err(e) = journal.begin(&entry) {
            let reason = format!("{e}; nothing was changed");
            let _ = self
                .gate
                .audit()
                .finished_as(&attempt, Phase::Refused, Some(reason.clone()))
                .await;
            return Err(match e {
                crate::journal::BeginError::Pending(_) => format!(
                    "{reason} (finish it with `fleetdeck deploy --resume {0}/{1}`, or undo it with `fleetdeck rollback {0}/{1}`)",
                    entry.endpoint, entry.service
                ),
                _ => reason,
            });
        }
        self.operation = Some(attempt.id.clone());
        self.journal = Some((journal, Mutex::new(entry)));
        self.attempt = Some(attempt);
        Ok(())
    }

    /// Marks a step done in the journal. A record that cannot be written is said, not fatal:
    /// recovery reads the daemon's state, the marks only tell the operator how far it got.
    fn mark(&self, step: &str) {
        if let Some((journal, entry)) = &self.journal {
            let mut entry = entry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(e) = journal.mark(&mut entry, step) {
                self.say(format!("warning: cannot write the journal: {e}"));
            }
        }
    }

    /// Records the new container's id in the journal once it exists.
    fn learn_new_id(&self, id: &str) {
        if let Some((journal, entry)) = &self.journal {
            let mut entry = entry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            entry.to.id = Some(id.to_string());
            if let Err(e) = journal.update(&entry) {
                self.say(format!("warning: cannot write the journal: {e}"));
            }
        }
    }

    /// A rollback that a signal caused is the operator's interruption, not a failure.
    fn settle(&self, result: DeployResult) -> DeployResult {
        match (result, self.interrupted()) {
            (DeployResult::RolledBack { reason }, Some(_)) => DeployResult::Interrupted { reason },
            (other, _) => other,
        }
    }

    /// Closes the operation: its audit record completed with the result, and its journal
    /// record removed unless the result leaves it unfinished.
    async fn end(&self, result: &DeployResult) {
        // The journal first: a kill between the two then leaves "started, no result" in the
        // audit log, the cautious reading, never a finished operation still in the journal.
        let unfinished = matches!(
            result,
            DeployResult::Failed {
                unfinished: true,
                ..
            }
        );
        if let Some((journal, entry)) = &self.journal
            && !unfinished
        {
            let (endpoint, service) = {
                let e = entry
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                (e.endpoint.clone(), e.service.clone())
            };
            if let Err(e) = journal.finish(&endpoint, &service) {
                self.say(format!(
                    "warning: cannot remove the journal record {}: {e}",
                    journal.path_of(&endpoint, &service).display()
                ));
            }
        }
        if let Some(attempt) = &self.attempt {
            let (phase, error) = result.audit_result();
            if let Err(e) = self.gate.audit().finished_as(attempt, phase, error).await {
                self.say(format!("warning: cannot write the audit log: {e}"));
            }
        }
    }

    /// A revision renamed aside that could not be stopped, or was interrupted first: its name
    /// back, and what that leaves (`which` says "running" or "current").
    async fn put_name_back(
        &self,
        id: &str,
        kept: &str,
        name: &str,
        which: &str,
        stopped: &ActionResult,
    ) -> DeployResult {
        let back = self
            .act(
                id,
                kept,
                Action::Rename {
                    to: name.to_string(),
                },
            )
            .await;
        let state = if back.is_ok() {
            format!("it runs on as {name}")
        } else {
            format!("it runs on, still named {kept}: `fleetdeck rollback` puts it back")
        };
        match (self.interrupted(), back.is_ok()) {
            (Some(why), true) => DeployResult::Interrupted {
                reason: format!("{why} after renaming the {which} revision; {state}"),
            },
            // Not put back: the journal must stay, whatever stopped it.
            (why, back_ok) => DeployResult::Failed {
                reason: format!(
                    "{}; {state}",
                    why.unwrap_or_else(|| format!(
                        "stopping the {which} revision {}",
                        stopped.text()
                    ))
                ),
                unfinished: !back_ok,
            },
        }
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
        let o = self
            .gate
            .apply_step(req, &tell, self.operation.as_deref())
            .await;
        let what = match &o.request.action {
            Action::Rename { to } => format!("rename {container} to {to}"),
            Action::Create { spec } => format!("create {container} from {}", spec.image),
            Action::Pull { image } => format!("pull {image}"),
            Action::Connect { network, ipv4, .. } => match ipv4 {
                Some(ip) => format!("connect {container} to {network} as {ip}"),
                None => format!("connect {container} to {network}"),
            },
            other => format!("{} {container}", other.describe()),
        };
        self.say(format!("{what}: {}", o.result.text()));
        if o.result.is_ok() {
            self.mark(&what);
        }
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
    /// [`Steps::wait_until_up`]; an interrupt ends the wait (as a failure) when `interruptible`
    /// (a new revision not yet verified), never while an old one is being put back.
    async fn wait_up(
        &self,
        id: &str,
        name: &str,
        limit: Duration,
        interruptible: bool,
    ) -> Result<Duration, String> {
        if !interruptible {
            return self.wait_until_up(id, name, limit).await;
        }
        tokio::select! {
            r = self.wait_until_up(id, name, limit) => r,
            why = self.interrupt.wait() => Err(why),
        }
    }

    async fn wait_until_up(
        &self,
        id: &str,
        name: &str,
        limit: Duration,
    ) -> Result<Duration, String> {
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
        ActionResult::Failed(e) => Some(DeployResult::failed(format!("{what} failed: {e}"))),
    }
}

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
                        super::describe(&e)
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
    let body = super::gate::create_body(&plan.create)?;
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

/// The gate's action joining a created container to one of its further networks.
fn connect(net: &crate::model::deploy::NetworkAttach) -> Action {
    Action::Connect {
        network: net.name.clone(),
        ipv4: net.ipv4.clone(),
        aliases: net.aliases.clone(),
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
    let result = steps.settle(deploy_steps(&steps, plan).await);
    steps.end(&result).await;
    result
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
                    DeployResult::Failed {
                        reason: format!(
                            "{reason}; removing the unverified new container {} {}",
                            plan.name,
                            r.text()
                        ),
                        unfinished: true,
                    }
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
                |e| DeployResult::Failed {
                    reason: format!(
                        "revision {} failed ({reason}) and the automatic rollback failed too: {e}",
                        plan.revision
                    ),
                    unfinished: true,
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
    let result = steps.settle(rollback_steps(&steps, plan).await);
    steps.end(&result).await;
    result
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
                Err(e) => DeployResult::Failed {
                    reason: format!(
                        "revision {} did not come up ({reason}) and restoring revision {} failed: {e}",
                        target.revision, c.revision
                    ),
                    unfinished: true,
                },
            }
        }
    }
}

// ---------------------------------------------------------------------------- recovery --

/// One container as recovery sees it.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    name: String,
    running: bool,
    service: Option<String>,
    revision: Option<u32>,
    /// The networks it is on.
    networks: Vec<String>,
}

impl Steps<'_> {
    /// The container called (or with the id) `which`; `None` when the daemon has none.
    async fn look(&self, which: &str) -> Result<Option<Seen>, String> {
        let docker = self
            .gate
            .reader(self.endpoint)
            .await
            .map_err(|e| format!("cannot reach the endpoint: {e}"))?;
        let found = tokio::time::timeout(
            Duration::from_secs(10),
            docker.inspect_container(which, None::<InspectContainerOptions>),
        )
        .await
        .map_err(|_| format!("no answer for 10 s inspecting {which}"))?;
        let c = match found {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => return Err(format!("inspecting {which}: {}", super::describe(&e))),
        };
        let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
        Ok(Some(Seen {
            id: c.id.clone().unwrap_or_default(),
            name: c
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            running: c.state.as_ref().and_then(|s| s.running).unwrap_or(false),
            service: labels.and_then(|l| l.get(LABEL_SERVICE).cloned()),
            revision: labels
                .and_then(|l| l.get(LABEL_REVISION))
                .and_then(|r| r.parse().ok()),
            networks: carry::networks_of(&c)
                .into_iter()
                .map(|(n, _, _)| n)
                .collect(),
        }))
    }

    /// One step that must work for recovery to go on: `Err` with what failed.
    async fn must(&self, id: &str, name: &str, action: Action) -> Result<(), String> {
        let what = action.describe();
        let r = self.act(id, name, action).await;
        if r.is_ok() {
            Ok(())
        } else {
            Err(format!("{what} {name} {}", r.text()))
        }
    }
}

/// Finishes or undoes an operation that the journal holds (one a kill cut short, or whose
/// own recovery failed), from whatever state the daemon is in now. Every step looks first:
/// a step already done is not done again, so recovery may itself be cut short and run again.
pub async fn recover(
    gate: &Gate,
    entry: JournalEntry,
    how: Recovery,
    progress: Progress<'_>,
    interrupt: &Interrupt,
) -> DeployResult {
    let Some(endpoint) = gate.endpoint_id(&entry.endpoint) else {
        return DeployResult::Refused {
            reason: format!(
                "the journal names endpoint {}, which the config does not have",
                entry.endpoint
            ),
        };
    };
    if gate.is_read_only(endpoint) {
        return DeployResult::Refused {
            reason: format!("endpoint {} is read-only", entry.endpoint),
        };
    }
    let identity = gate.audit().identity();
    let mut steps = Steps::new(
        gate,
        endpoint,
        format!("{}/{}", entry.endpoint, entry.service),
        progress,
        interrupt,
    );
    let journal = Journal::beside(gate.audit().path());
    if let Err(reason) = steps.take_lock(&journal, &entry.endpoint, &entry.service) {
        return DeployResult::Refused { reason };
    }
    // Read again under the lock: another process may have finished it meanwhile.
    let entry = match journal.find(&entry.endpoint, &entry.service) {
        Ok(Some(now)) if now.id == entry.id => now,
        Ok(_) => {
            return DeployResult::Refused {
                reason: format!(
                    "the {} of {}/{} was ended meanwhile by another fleetdeck process; nothing \
                     was changed",
                    entry.op.verb(),
                    entry.endpoint,
                    entry.service
                ),
            };
        }
        Err(reason) => return DeployResult::Refused { reason },
    };
    let verb = match how {
        Recovery::Finish => "resume",
        Recovery::Undo => "undo",
    };
    let subject = gate.subject(
        endpoint,
        "",
        &entry.service,
        &format!("{}-{verb}", entry.op.verb()),
        serde_json::json!({ "of": entry.id, "revision": entry.to.revision }),
    );
    let attempt = match gate.audit().started(subject).await {
        Ok(a) => a,
        Err(e) => {
            return DeployResult::Refused {
                reason: format!(
                    "cannot write the audit log {}: {e}; nothing was changed",
                    gate.audit().path().display()
                ),
            };
        }
    };
    steps.operation = Some(attempt.id.clone());
    steps.attempt = Some(attempt);
    steps.journal = Some((journal, Mutex::new(entry.clone())));
    steps.say(format!(
        "{} the interrupted {}",
        match how {
            Recovery::Finish => "finishing",
            Recovery::Undo => "undoing",
        },
        entry.describe()
    ));
    let result = match (entry.op, how) {
        (Operation::Deploy, Recovery::Finish) => finish_deploy(&steps, &entry).await,
        (Operation::Rollback, Recovery::Finish) => finish_rollback(&steps, &entry).await,
        (_, Recovery::Undo) => undo(&steps, &entry).await.map_or_else(
            |reason| DeployResult::Failed {
                reason,
                unfinished: true,
            },
            |id| DeployResult::Done {
                id,
                after: Duration::ZERO,
            },
        ),
    };
    let result = steps.settle(result);
    steps.end(&result).await;
    // The interrupted operation's own record gets its end, naming what ended it.
    if !matches!(
        result,
        DeployResult::Failed {
            unfinished: true,
            ..
        }
    ) {
        let original = gate.subject(
            endpoint,
            "",
            &entry.service,
            entry.op.verb(),
            serde_json::json!({}),
        );
        let ended = match (&result, how) {
            (DeployResult::Done { .. }, Recovery::Finish) => "finished",
            (DeployResult::Done { .. }, Recovery::Undo) => "undone",
            _ => "ended",
        };
        let note = format!(
            "stopped {}; {ended} later by {} ({})",
            entry.done.last().map_or_else(
                || "before its first step".to_string(),
                |s| format!("after: {s}")
            ),
            format_args!("{}@{} pid {}", identity.user, identity.host, identity.pid),
            steps.operation.as_deref().unwrap_or_default()
        );
        if let Err(e) = gate
            .audit()
            .conclude(&entry.id, &original, Phase::Interrupted, Some(note))
            .await
        {
            steps.say(format!("warning: cannot write the audit log: {e}"));
        }
    }
    result
}

/// Moves the revision that ran before aside again (renamed to its kept name, stopped).
async fn set_from_aside(steps: &Steps<'_>, entry: &JournalEntry) -> Result<(), String> {
    let Some(from) = &entry.from else {
        return Ok(());
    };
    let Some(old) = steps.look(&from.id).await? else {
        // Gone (removed by hand): nothing to move aside.
        return Ok(());
    };
    if old.name == entry.service {
        steps
            .must(
                &old.id,
                &entry.service,
                Action::Rename {
                    to: from.kept_name.clone(),
                },
            )
            .await?;
    }
    if old.running {
        steps
            .must(&old.id, &from.kept_name, Action::Stop { timeout_s: None })
            .await?;
    }
    Ok(())
}

async fn finish_deploy(steps: &Steps<'_>, entry: &JournalEntry) -> DeployResult {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    let fail = |reason: String| DeployResult::Failed {
        reason,
        unfinished: true,
    };
    if let Err(e) = set_from_aside(steps, entry).await {
        return fail(format!("moving the previous revision aside: {e}"));
    }
    let new = match steps.look(name).await {
        Err(e) => return fail(e),
        Ok(Some(c))
            if c.service.as_deref() == Some(name.as_str())
                && c.revision == Some(entry.to.revision) =>
        {
            c
        }
        Ok(Some(c)) => {
            return fail(format!(
                "{name} is held by container {}, not revision {} of this deploy: check it by hand",
                short(&c.id),
                entry.to.revision
            ));
        }
        Ok(None) => {
            let Some(create) = &entry.create else {
                return fail("the journal holds no container spec to create it from".into());
            };
            if let Err(e) = steps
                .must(
                    "",
                    name,
                    Action::Create {
                        spec: Box::new(create.clone()),
                    },
                )
                .await
            {
                return recovered_or_not(steps, entry, e).await;
            }
            match steps.look(name).await {
                Ok(Some(c)) => c,
                Ok(None) => return fail(format!("{name} was created but cannot be found")),
                Err(e) => return fail(e),
            }
        }
    };
    steps.learn_new_id(&new.id);
    if !new.running {
        // Created, perhaps cut short before it joined all its networks.
        let wanted = entry.create.as_ref().map_or(&[][..], |c| &c.networks[..]);
        for net in wanted.iter().filter(|n| !new.networks.contains(&n.name)) {
            if let Err(e) = steps.must(&new.id, name, connect(net)).await {
                return recovered_or_not(steps, entry, e).await;
            }
        }
        if let Err(e) = steps.must(&new.id, name, Action::Start).await {
            return recovered_or_not(steps, entry, e).await;
        }
    }
    match steps.wait_up(&new.id, name, limit, true).await {
        Ok(after) => {
            steps.say(format!(
                "revision {} is up after {:.1} s",
                entry.to.revision,
                after.as_secs_f64()
            ));
            for (id, kept) in &entry.prune {
                steps
                    .act(
                        id,
                        kept,
                        Action::Remove {
                            volumes: false,
                            force: false,
                        },
                    )
                    .await;
            }
            DeployResult::Done { id: new.id, after }
        }
        Err(reason) => recovered_or_not(steps, entry, reason).await,
    }
}

async fn finish_rollback(steps: &Steps<'_>, entry: &JournalEntry) -> DeployResult {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    let fail = |reason: String| DeployResult::Failed {
        reason,
        unfinished: true,
    };
    if let Err(e) = set_from_aside(steps, entry).await {
        return fail(format!("moving the current revision aside: {e}"));
    }
    let Some(target_id) = &entry.to.id else {
        return fail("the journal does not name the revision to roll back to".into());
    };
    let target = match steps.look(target_id).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return recovered_or_not(
                steps,
                entry,
                format!(
                    "revision {} ({}) is gone",
                    entry.to.revision,
                    short(target_id)
                ),
            )
            .await;
        }
        Err(e) => return fail(e),
    };
    if target.name != *name
        && let Err(e) = steps
            .must(
                &target.id,
                &target.name,
                Action::Rename { to: name.clone() },
            )
            .await
    {
        return recovered_or_not(steps, entry, e).await;
    }
    if !target.running
        && let Err(e) = steps.must(&target.id, name, Action::Start).await
    {
        return recovered_or_not(steps, entry, e).await;
    }
    match steps.wait_up(&target.id, name, limit, true).await {
        Ok(after) => DeployResult::Done {
            id: target.id,
            after,
        },
        Err(reason) => recovered_or_not(steps, entry, reason).await,
    }
}

/// Finishing failed for `reason`: undone, so the revision that ran before runs again.
async fn recovered_or_not(steps: &Steps<'_>, entry: &JournalEntry, reason: String) -> DeployResult {
    steps.say(format!(
        "AUTOMATIC ROLLBACK: revision {} failed ({reason}); putting back what ran before",
        entry.to.revision
    ));
    match undo(steps, entry).await {
        Ok(_) => DeployResult::RolledBack {
            reason: format!(
                "revision {} failed: {reason}; {} runs the previous revision again",
                entry.to.revision, entry.service
            ),
        },
        Err(e) => DeployResult::Failed {
            reason: format!(
                "revision {} failed ({reason}) and undoing failed too: {e}",
                entry.to.revision
            ),
            unfinished: true,
        },
    }
}

/// Puts back what ran before the operation: whatever this operation put under the service's
/// name goes (a deploy's new container removed; a rollback's target renamed back to its kept
/// name and stopped), and the previous revision gets the name back, running if it ran.
/// Returns the id now under the name (empty when nothing ran there before).
async fn undo(steps: &Steps<'_>, entry: &JournalEntry) -> Result<String, String> {
    let name = &entry.service;
    let limit = Duration::from_secs(entry.wait_s);
    let from_id = entry.from.as_ref().map(|f| f.id.as_str());
    match entry.op {
        Operation::Deploy => {
            if let Some(c) = steps.look(name).await?
                && Some(c.id.as_str()) != from_id
            {
                if c.service.as_deref() != Some(name.as_str())
                    || c.revision != Some(entry.to.revision)
                {
                    return Err(format!(
                        "{name} is held by container {}, not revision {} of this deploy: check it by hand",
                        short(&c.id),
                        entry.to.revision
                    ));
                }
                steps
                    .must(
                        &c.id,
                        name,
                        Action::Remove {
                            volumes: false,
                            force: true,
                        },
                    )
                    .await?;
            }
        }
        Operation::Rollback => {
            if let (Some(id), Some(kept)) = (&entry.to.id, &entry.to.kept_name)
                && let Some(t) = steps.look(id).await?
            {
                if t.running {
                    steps
                        .must(&t.id, &t.name, Action::Stop { timeout_s: None })
                        .await?;
                }
                if t.name != *kept {
                    steps
                        .must(&t.id, &t.name, Action::Rename { to: kept.clone() })
                        .await?;
                }
            }
        }
    }
    let Some(from) = &entry.from else {
        steps.say(format!(
            "undone: nothing ran as {name} before, nothing does now"
        ));
        return Ok(String::new());
    };
    let old = steps
        .look(&from.id)
        .await?
        .ok_or_else(|| format!("revision {} ({}) is gone", from.revision, short(&from.id)))?;
    if old.name != *name {
        steps
            .must(&old.id, &old.name, Action::Rename { to: name.clone() })
            .await?;
    }
    if from.was_running {
        if !old.running {
            steps.must(&old.id, name, Action::Start).await?;
        }
        steps.wait_up(&old.id, name, limit, false).await?;
    }
    steps.say(format!(
        "revision {} ({}) runs as {name} again{}",
        from.revision,
        from.image,
        entry
            .ip
            .as_deref()
            .map(|ip| format!(" at {ip}"))
            .unwrap_or_default()
    ));
    Ok(old.id)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
