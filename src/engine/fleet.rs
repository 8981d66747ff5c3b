//! The fleet's tasks: [`spawn_fleet`] starts each endpoint's session and stats collector, and
//! [`FleetTasks`] is the handle the app holds to start and stop the rest (actions, deploys,
//! log tails, `docker top` and inspect overlays, shells).

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::session::run_endpoint;
use super::startup::{self, STATS_HOLD_MAX};
use super::{
    EndpointClient, deploy, gate, inspect, logs, send, shell, stats, swarm, top, transport,
};
use crate::config::{Config, EngineSettings};
use crate::model::{EndpointId, Msg, MsgKind};

/// How long the dashboard follows a Swarm action before it says "not done" (Swarm carries on).
const SWARM_WAIT: Duration = Duration::from_secs(180);

/// The running engine: one task per endpoint, plus whatever log tails are open. Dropping it
/// stops them all.
pub struct FleetTasks {
    endpoints: JoinSet<()>,
    tails: std::collections::HashMap<u64, Vec<tokio::task::JoinHandle<()>>>,
    /// Open processes overlays' `docker top` pollers, by watch id.
    tops: HashMap<u64, tokio::task::JoinHandle<()>>,
    /// The open inspect overlay's one-shot `docker inspect`, by request id.
    inspects: HashMap<u64, tokio::task::JoinHandle<()>>,
    /// Each endpoint's client, built once by [`spawn_fleet_on`], cloned into every task.
    clients: Vec<EndpointClient>,
    settings: EngineSettings,
    tx: mpsc::Sender<Msg>,
    /// The one way to change anything on a daemon.
    gate: std::sync::Arc<gate::Gate>,
    /// Submitted action batches still running.
    actions: JoinSet<()>,
    next_batch: u64,
    /// Per endpoint: which containers are on screen, for the stats collector.
    focus: Vec<watch::Sender<stats::Focus>>,
    /// Open shells: the way to their input. Dropping a sender ends its shell.
    shells: HashMap<crate::model::shell::ShellId, mpsc::Sender<shell::ShellInput>>,
    /// The runtime every engine task runs on (the dashboard's engine thread, or the caller's).
    runtime: tokio::runtime::Handle,
}

impl FleetTasks {
    /// Tells each endpoint's stats collector which of its containers are on screen (sampled
    /// every interval; the others less often), or `None` for all of them.
    pub fn set_stats_focus(&self, focus: Vec<stats::Focus>) {
        for (tx, f) in self.focus.iter().zip(focus) {
            tx.send_if_modified(|cur| {
                let changed = *cur != f;
                if changed {
                    *cur = f;
                }
                changed
            });
        }
    }

    /// Puts another gate in front of this fleet's writes (one with its audit log, and so its
    /// journal, somewhere else). Writes already submitted keep the gate they started with.
    pub fn replace_gate(&mut self, gate: gate::Gate) {
        self.set_gate(std::sync::Arc::new(gate));
    }

    /// The gate actions go through (to ask whether an endpoint is read-only, say).
    pub fn gate(&self) -> &std::sync::Arc<gate::Gate> {
        &self.gate
    }

    /// [`Self::replace_gate`] with a gate the caller shares (a test keeps it to look at).
    pub fn set_gate(&mut self, gate: std::sync::Arc<gate::Gate>) {
        self.gate = gate;
    }

    /// Runs a batch of actions in the background through the gate, at most
    /// [`gate::DEFAULT_PER_ENDPOINT`] at once per endpoint. Each result arrives as
    /// `MsgKind::ActionDone` with the returned batch id, as soon as it is known.
    pub fn submit_actions(&mut self, reqs: Vec<crate::model::actions::ActionRequest>) -> u64 {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let total = reqs.len();
        let gate = self.gate.clone();
        let tx = self.tx.clone();
        self.actions.spawn(async move {
            let mut done = gate.bulk_stream(reqs, gate::DEFAULT_PER_ENDPOINT);
            while let Some((_, outcome)) = done.next().await {
                let endpoint = outcome.request.endpoint;
                let kind = MsgKind::ActionDone {
                    batch,
                    total,
                    outcome: Box::new(outcome),
                };
                if send(&tx, endpoint, kind).await.is_err() {
                    return;
                }
            }
        });
        batch
    }

    /// Starts a rolling restart in the background. Each restart arrives as
    /// `MsgKind::ActionDone`; waiting, ready and where it stopped as `MsgKind::ActionNote`.
    pub fn submit_rolling_restart(
        &mut self,
        reqs: Vec<crate::model::actions::ActionRequest>,
        opts: gate::RollingOptions,
    ) -> u64 {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let total = reqs.len();
        let gate = self.gate.clone();
        let tx = self.tx.clone();
        self.actions.spawn(async move {
            if let Some(first) = reqs.first() {
                let kind = rolling_note(
                    batch,
                    total,
                    first,
                    format!(
                        "rolling restart of {total} container{}, {} at a time",
                        if total == 1 { "" } else { "s" },
                        opts.batch.max(1)
                    ),
                    false,
                );
                if send(&tx, first.endpoint, kind).await.is_err() {
                    return;
                }
            }
            gate.rolling_restart(reqs, opts, |step| {
                let tx = tx.clone();
                async move {
                    let (endpoint, kind) = match step {
                        gate::RollingProgress::Restarted(outcome) => (
                            outcome.request.endpoint,
                            MsgKind::ActionDone {
                                batch,
                                total,
                                outcome: Box::new(outcome),
                            },
                        ),
                        gate::RollingProgress::Waiting { request, .. } => (
                            request.endpoint,
                            rolling_note(
                                batch,
                                total,
                                &request,
                                "waiting until running and healthy".into(),
                                false,
                            ),
                        ),
                        gate::RollingProgress::Ready {
                            request,
                            after,
                            healthcheck,
                            ..
                        } => {
                            let what = if healthcheck { "healthy" } else { "running" };
                            (
                                request.endpoint,
                                rolling_note(
                                    batch,
                                    total,
                                    &request,
                                    format!("{what} after {:.1} s", after.as_secs_f64()),
                                    false,
                                ),
                            )
                        }
                        gate::RollingProgress::Stopped(stop) => (
                            stop.request.endpoint,
                            rolling_note(batch, total, &stop.request, stop.line(), true),
                        ),
                    };
                    let _ = send(&tx, endpoint, kind).await;
                }
            })
            .await;
        });
        batch
    }

    /// Carries out a deploy plan in the background through the gate. Every step arrives as
    /// `MsgKind::ActionNote` (verb "deploy"), the end as one more, a problem unless it is up.
    pub fn submit_deploy(&mut self, plan: crate::model::deploy::DeployPlan) -> u64 {
        let (endpoint, name) = (plan.endpoint, plan.name.clone());
        self.spawn_write(endpoint, name, "deploy", move |gate, note| async move {
            let result = deploy::deploy(&gate, &plan, &*note, &deploy::Interrupt::never()).await;
            deploy_end(&result, || {
                format!(
                    "deployed: {}/{} revision {} ({})",
                    plan.endpoint_name, plan.name, plan.revision, plan.image
                )
            })
        })
    }

    /// Carries out a Swarm action (see `Action::is_swarm`) in the background: through the
    /// gate, then followed from the task states ([`swarm::act`]). Each task change arrives as
    /// `MsgKind::ActionNote` (the action's verb), the end as one more: a problem unless Swarm
    /// got there or the gate refused it.
    pub fn submit_swarm(&mut self, req: crate::model::actions::ActionRequest) -> u64 {
        let verb = req.action.verb();
        let (endpoint, name) = (req.endpoint, req.container.clone());
        self.spawn_write(endpoint, name.clone(), verb, move |gate, note| async move {
            match swarm::act(&gate, req, SWARM_WAIT, &*note).await {
                swarm::ServiceResult::Done { image } => {
                    (format!("done: {name} runs {image}"), false)
                }
                swarm::ServiceResult::Converged { what } => (format!("done: {what}"), false),
                swarm::ServiceResult::Stopped { reason }
                | swarm::ServiceResult::Failed { reason } => (format!("FAILED: {reason}"), true),
                swarm::ServiceResult::Refused { reason } => (format!("refused: {reason}"), false),
            }
        })
    }

    /// Reads `plan` against the running revision it replaces ([`deploy::carry_over`]) and
    /// answers with the plan as read, for the operator to see before saying yes.
    pub fn review_deploy(&mut self, plan: crate::model::deploy::DeployPlan) {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        self.actions.spawn(async move {
            let mut plan = plan;
            if let Err(e) = deploy::carry_over(&gate, &mut plan).await {
                plan.review = crate::model::deploy::carry::Review::Failed(e);
                plan.create.base = None;
            }
            let endpoint = plan.endpoint;
            let _ = send(&tx, endpoint, MsgKind::DeployReviewed(Box::new(plan))).await;
        });
    }

    /// [`FleetTasks::submit_deploy`] for a rollback plan.
    pub fn submit_rollback(&mut self, plan: crate::model::deploy::revision::RollbackPlan) -> u64 {
        let (endpoint, name) = (plan.endpoint, plan.service.clone());
        self.spawn_write(endpoint, name, "rollback", move |gate, note| async move {
            let result = deploy::rollback(&gate, &plan, &*note, &deploy::Interrupt::never()).await;
            deploy_end(&result, || {
                format!(
                    "rolled back: {}/{} is revision {} ({}) again",
                    plan.endpoint_name, plan.service, plan.target.revision, plan.target.image
                )
            })
        })
    }

    /// [`FleetTasks::submit_deploy`] for finishing or undoing what the journal holds.
    pub fn submit_recover(
        &mut self,
        entry: crate::journal::JournalEntry,
        how: deploy::Recovery,
    ) -> u64 {
        let endpoint = self.gate.endpoint_id(&entry.endpoint).unwrap_or(0);
        let verb = match how {
            deploy::Recovery::Finish => "resume",
            deploy::Recovery::Undo => "undo",
        };
        let name = entry.service.clone();
        self.spawn_write(endpoint, name, verb, move |gate, note| async move {
            let result = deploy::recover(
                &gate,
                entry.clone(),
                how,
                &*note,
                &deploy::Interrupt::never(),
            )
            .await;
            deploy_end(&result, || {
                format!(
                    "{}: {}/{}",
                    match how {
                        deploy::Recovery::Finish => "resumed",
                        deploy::Recovery::Undo => "undone",
                    },
                    entry.endpoint,
                    entry.service
                )
            })
        })
    }

    /// What every background write shares: a batch of its own, each step told as an
    /// `MsgKind::ActionNote` on `name` with `verb`, and the end as one more. `work` gets the
    /// gate and the step callback, and answers with the closing text and whether it is a
    /// problem; only it differs between a deploy, a rollback, a recovery and a Swarm action.
    fn spawn_write<W, F>(
        &mut self,
        endpoint: EndpointId,
        name: String,
        verb: &'static str,
        work: W,
    ) -> u64
    where
        W: FnOnce(std::sync::Arc<gate::Gate>, Note) -> F + Send + 'static,
        F: std::future::Future<Output = (String, bool)> + Send + 'static,
    {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        self.actions.spawn(async move {
            let note = Box::new(deploy_note(batch, endpoint, &name, verb, tx.clone()));
            let (text, problem) = work(gate, note).await;
            let kind = deploy_kind(batch, &name, verb, text, problem);
            let _ = send(&tx, endpoint, kind).await;
        });
        batch
    }

    fn next_batch(&mut self) -> u64 {
        self.next_batch += 1;
        self.next_batch
    }
    /// Starts following the given containers as tail `tail`; lines arrive as `MsgKind::Log`.
    pub fn open_tail(
        &mut self,
        tail: u64,
        sources: &[crate::model::logs::LogSource],
        last_lines: u64,
    ) {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let mut handles = Vec::new();
        let mut per_endpoint: HashMap<EndpointId, usize> = HashMap::new();
        for (i, src) in sources.iter().enumerate() {
            let Some(client) = self.clients.get(src.endpoint) else {
                continue;
            };
            let streams = per_endpoint.entry(src.endpoint).or_default();
            *streams += 1;
            let over_ssh_cap = matches!(client.spec().url, crate::model::DockerUrl::Ssh { .. })
                && *streams > transport::ssh::MAX_TAIL_STREAMS;
            let req = logs::TailRequest {
                tail,
                source: i,
                endpoint: src.endpoint,
                client: client.clone(),
                container_id: src.container_id.clone(),
                last_lines,
                follow: true,
                since: None,
            };
            if over_ssh_cap {
                // Past the cap the stream would wait for a channel forever and starve the
                // endpoint's pings: say so instead.
                let why = format!(
                    "not followed: at most {} log streams at once over one SSH connection (sshd MaxSessions)",
                    transport::ssh::MAX_TAIL_STREAMS
                );
                handles.push(tokio::spawn(logs::not_followed(req, why, self.tx.clone())));
                continue;
            }
            handles.push(tokio::spawn(logs::follow(
                req,
                self.settings.clone(),
                self.tx.clone(),
            )));
        }
        self.tails.insert(tail, handles);
    }

    /// Starts asking `docker top` of a container every [`crate::model::top::REFRESH`]; each
    /// answer arrives as `MsgKind::Processes` under `watch`, until [`Self::close_top`].
    pub fn open_top(&mut self, watch: u64, endpoint: EndpointId, container_id: String) {
        let Some(client) = self.clients.get(endpoint) else {
            return;
        };
        let _runtime = self.runtime.enter();
        let req = top::TopRequest {
            watch,
            endpoint,
            client: client.clone(),
            container_id,
        };
        let task = tokio::spawn(top::watch(
            req,
            self.settings.clone(),
            crate::model::top::REFRESH,
            self.tx.clone(),
        ));
        if let Some(old) = self.tops.insert(watch, task) {
            old.abort();
        }
    }

    /// Asks `docker inspect` of a container (or endpoint, network, Swarm node or service) once;
    /// the answer arrives as `MsgKind::Inspect` under `request`.
    pub fn open_inspect(
        &mut self,
        request: u64,
        endpoint: EndpointId,
        target: crate::model::inspect::InspectTarget,
    ) {
        let Some(client) = self.clients.get(endpoint) else {
            return;
        };
        let _runtime = self.runtime.enter();
        let req = inspect::InspectRequest {
            request,
            endpoint,
            client: client.clone(),
            target,
        };
        // Finished requests are forgotten here, so the map holds at most the open one or two.
        self.inspects.retain(|_, task| !task.is_finished());
        let task = tokio::spawn(inspect::inspect_once(
            req,
            self.settings.clone(),
            self.tx.clone(),
        ));
        self.inspects.insert(request, task);
    }

    pub fn close_inspect(&mut self, request: u64) {
        if let Some(task) = self.inspects.remove(&request) {
            task.abort();
        }
    }

    pub fn close_top(&mut self, watch: u64) {
        if let Some(task) = self.tops.remove(&watch) {
            task.abort();
        }
    }

    pub fn close_tail(&mut self, tail: u64) {
        for h in self.tails.remove(&tail).unwrap_or_default() {
            h.abort();
        }
    }

    /// Opens an exec shell (`Action::Exec` in `req`) through the gate; it reports as
    /// `MsgKind::ShellStarted`, `ShellOutput` and `ShellEnded` under id `shell`.
    pub fn open_exec_shell(
        &mut self,
        shell: crate::model::shell::ShellId,
        req: crate::model::actions::ActionRequest,
    ) {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let (input, rx) = mpsc::channel(shell::INPUT_QUEUE);
        self.shells.insert(shell, input);
        tokio::spawn(shell::run_exec(
            self.gate.clone(),
            shell,
            req,
            rx,
            self.tx.clone(),
        ));
    }

    /// Opens a host shell for `endpoint` running `argv` (see [`shell::host_argv`]).
    pub fn open_host_shell(
        &mut self,
        shell: crate::model::shell::ShellId,
        endpoint: EndpointId,
        argv: Vec<String>,
        size: (u16, u16),
    ) {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let (input, rx) = mpsc::channel(shell::INPUT_QUEUE);
        self.shells.insert(shell, input);
        tokio::spawn(shell::run_host(
            self.gate.clone(),
            shell,
            endpoint,
            argv,
            size,
            rx,
            self.tx.clone(),
        ));
    }

    /// Queues input for a shell; false when the shell is gone or not keeping up (its queue of
    /// [`shell::INPUT_QUEUE`] is full), so the caller can say so rather than block the UI.
    pub fn shell_input(
        &mut self,
        shell: crate::model::shell::ShellId,
        input: shell::ShellInput,
    ) -> bool {
        self.shells
            .get(&shell)
            .is_some_and(|tx| tx.try_send(input).is_ok())
    }

    /// Ends a shell: its task hangs up the exec (or kills the host shell) and stops.
    pub fn close_shell(&mut self, shell: crate::model::shell::ShellId) {
        self.shells.remove(&shell);
    }

    /// Tasks alive: endpoint watchers plus open tails (for soak checks).
    pub fn task_count(&self) -> usize {
        self.endpoints.len() + self.tails.values().map(Vec::len).sum::<usize>()
    }
}

fn deploy_kind(batch: u64, name: &str, verb: &str, text: String, problem: bool) -> MsgKind {
    MsgKind::ActionNote {
        batch,
        total: 1,
        verb: verb.into(),
        container_id: String::new(),
        container: name.to_string(),
        text,
        problem,
    }
}

/// A background write's step callback, owned by its task ([`FleetTasks::spawn_write`]).
type Note = Box<dyn Fn(String) + Send + Sync>;

/// The progress callback of a deploy or rollback: each step a note. A full channel drops a
/// step's note rather than stall the deploy; the final result is always sent.
fn deploy_note(
    batch: u64,
    endpoint: EndpointId,
    name: &str,
    verb: &'static str,
    tx: mpsc::Sender<Msg>,
) -> impl Fn(String) + Send + Sync + use<> {
    let name = name.to_string();
    move |line: String| {
        let _ = tx.try_send(Msg {
            endpoint,
            at: Utc::now(),
            kind: deploy_kind(batch, &name, verb, line, false),
        });
    }
}

/// The closing note of a deploy, rollback or recovery and whether it is a problem: `done`
/// once it is up, what went wrong otherwise.
fn deploy_end(result: &deploy::DeployResult, done: impl FnOnce() -> String) -> (String, bool) {
    let failure = match result {
        deploy::DeployResult::Done { .. } => return (done(), false),
        deploy::DeployResult::RolledBack { reason } => format!("ROLLED BACK: {reason}"),
        deploy::DeployResult::Failed {
            reason,
            unfinished: false,
        } => format!("FAILED: {reason}"),
        deploy::DeployResult::Failed {
            reason,
            unfinished: true,
        } => format!(
            "FAILED: {reason}; left unfinished: see `fleetdeck deploy --resume` or `fleetdeck rollback`"
        ),
        deploy::DeployResult::Interrupted { reason } => format!("INTERRUPTED: {reason}"),
        deploy::DeployResult::Refused { reason } => format!("refused: {reason}"),
    };
    (failure, true)
}

fn rolling_note(
    batch: u64,
    total: usize,
    req: &crate::model::actions::ActionRequest,
    text: String,
    problem: bool,
) -> MsgKind {
    MsgKind::ActionNote {
        batch,
        total,
        verb: "rolling-restart".into(),
        container_id: req.container_id.clone(),
        container: req.container.clone(),
        text,
        problem,
    }
}

impl Drop for FleetTasks {
    fn drop(&mut self) {
        for (_, handles) in self.tails.drain() {
            for h in handles {
                h.abort();
            }
        }
        for (_, task) in self.tops.drain().chain(self.inspects.drain()) {
            task.abort();
        }
    }
}

/// Starts one task per configured endpoint. The receiver is the model's only input from Docker;
/// dropping it (or the returned tasks) stops every task.
pub fn spawn_fleet(config: &Config, capacity: usize) -> (mpsc::Receiver<Msg>, FleetTasks) {
    spawn_fleet_on(config, capacity, tokio::runtime::Handle::current())
}

/// [`spawn_fleet`] on a given runtime (the dashboard's engine thread): every engine task,
/// also those started later for actions, tails and shells, runs there.
pub fn spawn_fleet_on(
    config: &Config,
    capacity: usize,
    runtime: tokio::runtime::Handle,
) -> (mpsc::Receiver<Msg>, FleetTasks) {
    let _enter = runtime.enter();
    let (tx, rx) = mpsc::channel(capacity);
    let mut set = JoinSet::new();
    let mut focus = Vec::new();
    // One client per endpoint, for every task on it and the gate: one connection pool (one
    // SSH connection) per daemon, and only the gate gets its write half.
    let clients: Vec<EndpointClient> = config
        .endpoints
        .iter()
        .map(|spec| EndpointClient::new(spec, &config.engine))
        .collect();
    // The first inspects wait for the fleet's first lists, the first stats rounds for its
    // first syncs (see `startup`).
    let (each_startup, startup) = startup::plan(config.endpoints.len());
    for ((id, (spec, client)), endpoint_startup) in config
        .endpoints
        .iter()
        .zip(&clients)
        .enumerate()
        .zip(each_startup)
    {
        let (running_tx, running_rx) = watch::channel(stats::RunningSet::default());
        let (focus_tx, focus_rx) = watch::channel(stats::Focus::None);
        focus.push(focus_tx);
        set.spawn(run_endpoint(
            id,
            client.clone(),
            config.engine.clone(),
            tx.clone(),
            running_tx,
            endpoint_startup,
        ));
        if let Some(interval) = config.stats_interval_for(spec) {
            let collect = stats::collect(
                id,
                client.clone(),
                config.engine.clone(),
                (interval, config.stats.offscreen_every(interval)),
                running_rx,
                focus_rx,
                tx.clone(),
            );
            let startup = startup.clone();
            set.spawn(async move {
                startup.wait(STATS_HOLD_MAX).await;
                collect.await;
            });
        }
    }
    (
        rx,
        FleetTasks {
            endpoints: set,
            tails: std::collections::HashMap::new(),
            tops: HashMap::new(),
            inspects: HashMap::new(),
            settings: config.engine.clone(),
            tx,
            gate: std::sync::Arc::new(gate::Gate::with_clients(
                config,
                crate::audit::AuditLog::from_env(),
                clients.clone(),
            )),
            clients,
            actions: JoinSet::new(),
            next_batch: 0,
            focus,
            shells: HashMap::new(),
            runtime: runtime.clone(),
        },
    )
}
