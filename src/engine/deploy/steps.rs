//! What a deploy, a rollback and a recovery share: [`Steps`], one operation's way to the
//! gate, the journal and the audit log (each change a step, told as a line and marked done),
//! its waits for a container to come up, and how an operation ends ([`DeployResult`]).

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bollard::query_parameters::InspectContainerOptions;

use crate::audit::{Attempt, Phase};
use crate::engine::deadline;
use crate::engine::gate::{Gate, Readiness, readiness};
use crate::engine::interrupt::Interrupt;
use crate::journal::{Journal, JournalEntry, JournalLock};
use crate::model::EndpointId;
use crate::model::actions::{Action, ActionRequest, ActionResult};

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

    pub(super) fn failed(reason: String) -> Self {
        Self::Failed {
            reason,
            unfinished: false,
        }
    }

    /// Failed, and not put back as it was: the journal record stays.
    pub(super) fn unfinished(reason: String) -> Self {
        Self::Failed {
            reason,
            unfinished: true,
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

pub(super) struct Steps<'a> {
    pub(super) gate: &'a Gate,
    pub(super) endpoint: EndpointId,
    where_: String,
    progress: Progress<'a>,
    interrupt: Interrupt,
    /// The operation's audit attempt id, once it is on record.
    pub(super) operation: Option<String>,
    /// The journal and this operation's record in it, once begun.
    pub(super) journal: Option<(Journal, Mutex<JournalEntry>)>,
    /// The operation's own audit record, completed by [`Steps::end`].
    pub(super) attempt: Option<Attempt>,
    /// Held while it runs: no other fleetdeck works on the same service meanwhile.
    lock: Option<JournalLock>,
}

impl<'a> Steps<'a> {
    pub(super) fn new(
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
    pub(super) fn take_lock(
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

    pub(super) fn say(&self, text: impl AsRef<str>) {
        (self.progress)(format!("{}: {}", self.where_, text.as_ref()));
    }

    /// Why to stop now, once interrupted.
    pub(super) fn interrupted(&self) -> Option<String> {
        self.interrupt.reason()
    }

    /// Holds here when `FLEETDECK_FAILPOINT` names this point: until interrupted, or, when
    /// reached already interrupted (a point on the way back), until killed — so a test can
    /// put its second Ctrl-C in the middle of the reversal.
    pub(super) async fn failpoint(&self, name: &str) {
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
    pub(super) async fn begin(
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
    pub(super) fn learn_new_id(&self, id: &str) {
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

    /// [`Steps::settle`], then [`Steps::end`]: the operation's result, closed on record.
    pub(super) async fn close(&self, result: DeployResult) -> DeployResult {
        let result = self.settle(result);
        self.end(&result).await;
        result
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
    pub(super) async fn put_name_back(
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
    pub(super) async fn act(
        &self,
        container_id: &str,
        container: &str,
        action: Action,
    ) -> ActionResult {
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
    pub(super) async fn id_of(&self, name: &str) -> Result<String, String> {
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
    pub(super) async fn wait_up(
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

pub(super) fn refused_or_failed(result: &ActionResult, what: &str) -> Option<DeployResult> {
    match result {
        ActionResult::Succeeded => None,
        ActionResult::Refused(r) => Some(DeployResult::Refused {
            reason: format!("{what} refused: {r}; nothing was changed"),
        }),
        ActionResult::Failed(e) => Some(DeployResult::failed(format!("{what} failed: {e}"))),
    }
}

/// The gate's action joining a created container to one of its further networks.
pub(super) fn connect(net: &crate::model::deploy::NetworkAttach) -> Action {
    Action::Connect {
        network: net.name.clone(),
        ipv4: net.ipv4.clone(),
        aliases: net.aliases.clone(),
    }
}
