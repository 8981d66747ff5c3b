//! Talking to Docker daemons. One task per endpoint connects, negotiates the API version, syncs,
//! follows the event stream and resyncs periodically, and reports everything as owned
//! [`Msg`]s into one bounded channel. It never gives up on an endpoint: failures become
//! `Down` messages and a capped exponential backoff, cut short by a cheap `/_ping` every 2 s
//! once the daemon answers again. Knows nothing of terminals or ratatui.
//!
//! Every state-changing request goes through [`gate::Gate`] (read-only refusal, audit log);
//! nothing else in the crate may call a state-changing Docker method. Each endpoint has one
//! [`EndpointClient`], built by [`spawn_fleet_on`] and cloned into its tasks; a task reads
//! through the [`client::ReadOnly`] it hands out, and only the gate can reach its full client,
//! so a write elsewhere does not compile.

pub mod client;
mod convert;
pub mod deploy;
pub mod gate;
pub mod inspect;
pub mod interrupt;
pub mod logs;
pub mod notify;
pub mod pty;
pub mod shell;
pub mod stats;
pub mod swarm;
pub mod targets;
pub mod top;
mod transport;

pub use gate::EndpointClient;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{
    EventsOptions, InspectContainerOptions, ListContainersOptions, ListImagesOptions,
    ListNetworksOptions,
};
use chrono::Utc;
use futures::{FutureExt, StreamExt, TryStreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::{Config, EngineSettings};
use crate::model::EndpointSpec;
use crate::model::{Container, DaemonInfo, EndpointId, Msg, MsgKind, SyncData};
use client::ReadOnly;

/// Inspects in flight at once per endpoint during a full sync: enough to load 2,000 containers
/// quickly, few enough not to flood a small daemon.
const INSPECT_CONCURRENCY: usize = 8;
/// Events drained in one go before acting, so a burst costs one inspect per container.
const EVENT_BATCH: usize = 256;
/// A session that stayed up this long resets the backoff.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);
const BACKOFF_START: Duration = Duration::from_millis(500);
/// While an endpoint is down, how often a cheap probe asks whether its daemon answers again.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// While Swarm is still converging (replicas not all running, an update under way), how often
/// a manager's swarm is read again (Swarm sends no event for a task changing state); doubled
/// for every reading that changed nothing, up to the resync.
const SWARM_FOLLOW: Duration = Duration::from_secs(1);
/// How long the dashboard follows a Swarm action before it says "not done" (Swarm carries on).
const SWARM_WAIT: Duration = Duration::from_secs(180);
/// A burst of Swarm events costs one reading of the swarm, this long after the first.
const SWARM_SETTLE: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Docker(String),
    /// A request or the liveness check got no answer in time: the daemon is hung, or the path to
    /// it is (a partition drops packets; connections then hang rather than fail).
    #[error("no answer for {} s", .0.as_secs_f64().round())]
    Timeout(Duration),
    #[error("event stream closed by the daemon")]
    StreamClosed,
}

impl From<bollard::errors::Error> for EngineError {
    fn from(e: bollard::errors::Error) -> Self {
        EngineError::Docker(describe(&e))
    }
}

/// The deepest cause of an error: "socket … not found" rather than "client error (Connect)".
fn innermost(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

/// A short reason an operator can act on, not a debug dump.
fn describe(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match e {
        E::SocketNotFoundError(path) => format!("socket {path} not found"),
        E::RequestTimeoutError => "request timed out".into(),
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("daemon answered {status_code}: {}", message.trim()),
        E::HyperLegacyError { err } => innermost(err),
        E::HyperResponseError { err } => innermost(err),
        other => {
            let mut msg = other.to_string();
            let mut src: Option<&dyn std::error::Error> = std::error::Error::source(other);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            msg
        }
    }
}

async fn deadline<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, fut).await {
        // bollard's own per-request timeout (the same limit) says only "request timed out".
        Ok(Err(bollard::errors::Error::RequestTimeoutError)) => Err(EngineError::Timeout(limit)),
        Ok(r) => r.map_err(EngineError::from),
        Err(_) => Err(EngineError::Timeout(limit)),
    }
}

fn agreed_api(docker: &ReadOnly) -> String {
    let v = docker.client_version();
    format!("{}.{}", v.major_version, v.minor_version)
}

/// One full look at a daemon: version, info, every container inspected, networks, images.
pub async fn full_sync(
    docker: &ReadOnly,
    settings: &EngineSettings,
) -> Result<(SyncData, Option<String>), EngineError> {
    let t = settings.request_timeout;
    let (info, latency, daemon_time) = read_info(docker, t).await?;
    let summaries = deadline(
        t,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    )
    .await?;
    let containers: Vec<Container> = futures::stream::iter(summaries)
        .map(|s| async move {
            let id = s.id.clone().unwrap_or_default();
            let status = s.status.clone().unwrap_or_default();
            inspect(docker, &id, status, t).await
        })
        .buffer_unordered(INSPECT_CONCURRENCY)
        .try_filter_map(|c| async move { Ok(c) })
        .try_collect()
        .await?;
    let networks = list_networks(docker, t).await?;
    let images = list_images(docker, t).await?;
    Ok((
        SyncData {
            info,
            containers,
            networks,
            images,
            latency: Some(latency),
            daemon_time: daemon_time.as_deref().and_then(convert::parse_time),
        },
        daemon_time,
    ))
}

/// What the daemon says about itself (`docker version`, `docker info`), with its Swarm nodes
/// when it is a manager; also the round trip of the first request and the daemon's clock.
async fn read_info(
    docker: &ReadOnly,
    t: Duration,
) -> Result<(DaemonInfo, Duration, Option<String>), EngineError> {
    let started = Instant::now();
    let version = deadline(t, docker.version()).await?;
    let latency = started.elapsed();
    let info = deadline(t, docker.info()).await?;
    let daemon_time = info.system_time.clone();
    let manager = info.swarm.as_ref().and_then(|s| s.control_available) == Some(true);
    let mut out = convert::daemon_info(info, version, agreed_api(docker));
    if manager {
        out.swarm_nodes = swarm::nodes(docker, t).await;
    }
    Ok((out, latency, daemon_time))
}

/// `None` when the container vanished between list and inspect.
async fn inspect(
    docker: &ReadOnly,
    id: &str,
    list_status: String,
    limit: Duration,
) -> Result<Option<Container>, EngineError> {
    match deadline(
        limit,
        docker.inspect_container(id, None::<InspectContainerOptions>),
    )
    .await
    {
        Ok(c) => Ok(Some(convert::container(c, list_status))),
        Err(EngineError::Docker(msg)) if msg.starts_with("daemon answered 404") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn list_networks(
    docker: &ReadOnly,
    limit: Duration,
) -> Result<Vec<crate::model::NetworkInfo>, EngineError> {
    let mut nets: Vec<_> = deadline(limit, docker.list_networks(None::<ListNetworksOptions>))
        .await?
        .into_iter()
        .map(convert::network)
        .collect();
    nets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nets)
}

async fn list_images(
    docker: &ReadOnly,
    limit: Duration,
) -> Result<Vec<crate::model::ImageInfo>, EngineError> {
    let mut images: Vec<_> = deadline(limit, docker.list_images(None::<ListImagesOptions>))
        .await?
        .into_iter()
        .map(convert::image)
        .collect();
    images.sort_by(|a, b| a.tags.cmp(&b.tags).then(a.id.cmp(&b.id)));
    Ok(images)
}

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

    /// The gate actions go through (to ask whether an endpoint is read-only, say).
    /// Puts another gate in front of this fleet's writes (one with its audit log, and so its
    /// journal, somewhere else). Writes already submitted keep the gate they started with.
    pub fn replace_gate(&mut self, gate: gate::Gate) {
        self.gate = std::sync::Arc::new(gate);
    }

    pub fn gate(&self) -> &std::sync::Arc<gate::Gate> {
        &self.gate
    }

    /// Replaces the gate, e.g. with one writing its audit log elsewhere (tests).
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
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        self.actions.spawn(async move {
            let note = deploy_note(batch, plan.endpoint, &plan.name, "deploy", tx.clone());
            let result = deploy::deploy(&gate, &plan, &note, &deploy::Interrupt::never()).await;
            let text = match &result {
                deploy::DeployResult::Done { .. } => format!(
                    "deployed: {}/{} revision {} ({})",
                    plan.endpoint_name, plan.name, plan.revision, plan.image
                ),
                other => deploy_failure(other),
            };
            let kind = deploy_kind(batch, &plan.name, "deploy", text, !result.is_ok());
            let _ = send(&tx, plan.endpoint, kind).await;
        });
        batch
    }

    /// Carries out a Swarm action (see `Action::is_swarm`) in the background: through the
    /// gate, then followed from the task states ([`swarm::act`]). Each task change arrives as
    /// `MsgKind::ActionNote` (the action's verb), the end as one more: a problem unless Swarm
    /// got there or the gate refused it.
    pub fn submit_swarm(&mut self, req: crate::model::actions::ActionRequest) -> u64 {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        self.actions.spawn(async move {
            let verb = req.action.verb();
            let (endpoint, name) = (req.endpoint, req.container.clone());
            let note = deploy_note(batch, endpoint, &name, verb, tx.clone());
            let result = swarm::act(&gate, req, SWARM_WAIT, &note).await;
            let (text, problem) = match result {
                swarm::ServiceResult::Done { image } => {
                    (format!("done: {name} runs {image}"), false)
                }
                swarm::ServiceResult::Converged { what } => (format!("done: {what}"), false),
                swarm::ServiceResult::Stopped { reason }
                | swarm::ServiceResult::Failed { reason } => (format!("FAILED: {reason}"), true),
                swarm::ServiceResult::Refused { reason } => (format!("refused: {reason}"), false),
            };
            let kind = deploy_kind(batch, &name, verb, text, problem);
            let _ = send(&tx, endpoint, kind).await;
        });
        batch
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
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        self.actions.spawn(async move {
            let note = deploy_note(batch, plan.endpoint, &plan.service, "rollback", tx.clone());
            let result = deploy::rollback(&gate, &plan, &note, &deploy::Interrupt::never()).await;
            let text = match &result {
                deploy::DeployResult::Done { .. } => format!(
                    "rolled back: {}/{} is revision {} ({}) again",
                    plan.endpoint_name, plan.service, plan.target.revision, plan.target.image
                ),
                other => deploy_failure(other),
            };
            let kind = deploy_kind(batch, &plan.service, "rollback", text, !result.is_ok());
            let _ = send(&tx, plan.endpoint, kind).await;
        });
        batch
    }

    /// [`FleetTasks::submit_deploy`] for finishing or undoing what the journal holds.
    pub fn submit_recover(
        &mut self,
        entry: crate::journal::JournalEntry,
        how: deploy::Recovery,
    ) -> u64 {
        // Engine tasks run on the engine's runtime, whichever thread asks.
        let _runtime = self.runtime.enter();
        let batch = self.next_batch();
        let (gate, tx) = (self.gate.clone(), self.tx.clone());
        let endpoint = gate.endpoint_id(&entry.endpoint).unwrap_or(0);
        self.actions.spawn(async move {
            let verb = match how {
                deploy::Recovery::Finish => "resume",
                deploy::Recovery::Undo => "undo",
            };
            let note = deploy_note(batch, endpoint, &entry.service, verb, tx.clone());
            let result = deploy::recover(
                &gate,
                entry.clone(),
                how,
                &note,
                &deploy::Interrupt::never(),
            )
            .await;
            let text = match &result {
                deploy::DeployResult::Done { .. } => format!(
                    "{}: {}/{}",
                    match how {
                        deploy::Recovery::Finish => "resumed",
                        deploy::Recovery::Undo => "undone",
                    },
                    entry.endpoint,
                    entry.service
                ),
                other => deploy_failure(other),
            };
            let kind = deploy_kind(batch, &entry.service, verb, text, !result.is_ok());
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

/// The progress callback of a deploy or rollback: each step a note. A full channel drops a
/// step's note rather than stall the deploy; the final result is always sent.
fn deploy_note(
    batch: u64,
    endpoint: EndpointId,
    name: &str,
    verb: &'static str,
    tx: mpsc::Sender<Msg>,
) -> impl Fn(String) + Send + Sync {
    let name = name.to_string();
    move |line: String| {
        let _ = tx.try_send(Msg {
            endpoint,
            at: Utc::now(),
            kind: deploy_kind(batch, &name, verb, line, false),
        });
    }
}

fn deploy_failure(result: &deploy::DeployResult) -> String {
    match result {
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
        deploy::DeployResult::Done { .. } => String::new(),
    }
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
    for (id, (spec, client)) in config.endpoints.iter().zip(&clients).enumerate() {
        let (running_tx, running_rx) = watch::channel(stats::RunningSet::default());
        let (focus_tx, focus_rx) = watch::channel(stats::Focus::None);
        focus.push(focus_tx);
        set.spawn(run_endpoint(
            id,
            client.clone(),
            config.engine.clone(),
            tx.clone(),
            running_tx,
        ));
        if let Some(interval) = config.stats_interval_for(spec) {
            set.spawn(stats::collect(
                id,
                client.clone(),
                config.engine.clone(),
                (interval, config.stats.offscreen_every(interval)),
                running_rx,
                focus_rx,
                tx.clone(),
            ));
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

/// A thread of its own for the engine: a current-thread runtime that runs every endpoint's
/// tasks, so the dashboard's thread (drawing, a terminal write stalled by a slow SSH link)
/// never delays the daemons' I/O and liveness timers, and they never delay a frame. Two
/// single-thread runtimes rather than one with a worker pool: the engine's tasks wake each
/// other often (stats rounds, polls, events), and waking across threads cost about 15 % more
/// CPU in A/B runs (BENCHMARKS.md).
pub struct EngineThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl EngineThread {
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fleetdeck-engine".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Dropping the runtime cancels its tasks and lets blocking work (an audit
                // record being written) finish.
                drop(runtime);
                let _ = done_tx.send(());
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            done,
        })
    }

    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }
}

impl Drop for EngineThread {
    /// Stops the engine and waits for it a little: long enough for an audit record in flight,
    /// never long enough to hang a quit.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.done.recv_timeout(std::time::Duration::from_secs(2));
    }
}

/// Capped exponential backoff: 0.5 s, 1 s, 2 s, … up to the configured maximum.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Self {
        Self {
            next: BACKOFF_START.min(max),
            max,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_START.min(self.max);
    }
}

/// Watches one endpoint forever: connect → sync → follow events, and on any failure report
/// `Down` and try again after the backoff. Returns only when the model side has gone away.
pub async fn run_endpoint(
    id: EndpointId,
    client: EndpointClient,
    settings: EngineSettings,
    tx: mpsc::Sender<Msg>,
    running_tx: watch::Sender<stats::RunningSet>,
) {
    let mut backoff = Backoff::new(settings.backoff_max);
    let mut attempt = 1u32;
    // Carried across sessions: a reconnect asks the daemon for everything since this.
    let mut last_event: Option<i64> = None;
    loop {
        if send(&tx, id, MsgKind::Connecting { attempt })
            .await
            .is_err()
        {
            return;
        }
        let started = Instant::now();
        let reason = match session(id, &client, &settings, &tx, &mut last_event, &running_tx).await
        {
            Ok(()) => return,
            Err(e) => e.to_string(),
        };
        tracing::warn!(endpoint = %client.spec().name, %reason, "endpoint down");
        if started.elapsed() >= HEALTHY_SESSION {
            backoff.reset();
        }
        let retry_in = backoff.next_delay();
        if send(&tx, id, MsgKind::Down { reason, retry_in })
            .await
            .is_err()
        {
            return;
        }
        wait_to_retry(&client, retry_in).await;
        attempt = attempt.saturating_add(1);
    }
}

/// Waits out a backoff `delay` before the next try, cut short once the daemon answers again.
///
/// The backoff spares a daemon that is down the full session setup (negotiate, list, inspect
/// everything, subscribe), but at its cap it also meant up to 30 s before a daemon that was
/// back showed up. So every [`PROBE_EVERY`] a `/_ping` (one connect and one tiny request on
/// the endpoint's pooled client; a refused connect when the daemon is still down) asks whether
/// it answers, and the first answer after one that failed ends the wait. A daemon that
/// answers its ping all along (and fails the session for another reason: an overloaded list,
/// a proxy cutting the event stream) gets the whole backoff, not a session every 2 s.
pub(crate) async fn wait_to_retry(client: &EndpointClient, delay: Duration) {
    let until = tokio::time::Instant::now() + delay;
    let raw = client.raw();
    // Asked at once too, so a daemon that was down when the session failed and is back
    // before the first probe is not mistaken for one that answered all along.
    let mut was_down = match &raw {
        Ok(raw) => !answers(raw).await,
        Err(_) => true,
    };
    loop {
        let next = tokio::time::Instant::now() + PROBE_EVERY;
        let Ok(raw) = &raw else { break };
        if next >= until {
            break;
        }
        tokio::time::sleep_until(next).await;
        match answers(raw).await {
            true if was_down => return,
            true => {}
            false => was_down = true,
        }
    }
    tokio::time::sleep_until(until).await;
}

/// Whether the daemon answers a `/_ping` within [`PROBE_EVERY`].
async fn answers(raw: &transport::RawGet) -> bool {
    matches!(
        tokio::time::timeout(PROBE_EVERY, raw.get("/_ping")).await,
        Ok(Ok((200, _)))
    )
}

struct Closed;

async fn send(tx: &mpsc::Sender<Msg>, endpoint: EndpointId, kind: MsgKind) -> Result<(), Closed> {
    tx.send(Msg {
        endpoint,
        at: Utc::now(),
        kind,
    })
    .await
    .map_err(|_| Closed)
}

/// Sends, turning a closed channel into `Ok(None)` for the session: the UI has exited.
macro_rules! emit {
    ($tx:expr, $id:expr, $kind:expr) => {
        if send($tx, $id, $kind).await.is_err() {
            return Ok(());
        }
    };
}

/// One connected stretch. `Ok(())` means the receiver is gone; any error means "down".
async fn session(
    id: EndpointId,
    client: &EndpointClient,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    last_event: &mut Option<i64>,
    running_tx: &watch::Sender<stats::RunningSet>,
) -> Result<(), EngineError> {
    let docker = client.connect().await?;
    let (sync, daemon_time) = full_sync(&docker, settings).await?;
    // Subscribe from the last event seen before a disconnect, so nothing that happened meanwhile
    // is lost; on the first connect, from `backfill` before the sync (by the daemon's clock,
    // which may differ from ours). Replayed events are de-duplicated by the event log, and
    // re-inspecting a container is idempotent.
    let daemon_now = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .unwrap_or_else(Utc::now);
    let since = match *last_event {
        Some(nanos) => format!(
            "{}.{:09}",
            nanos.div_euclid(1_000_000_000),
            nanos.rem_euclid(1_000_000_000)
        ),
        None => {
            let back = chrono::TimeDelta::from_std(settings.event_backfill).unwrap_or_default();
            (daemon_now - back).timestamp().to_string()
        }
    };
    // The daemon's clock when it was asked for its containers: every event up to here is
    // already reflected in the sync.
    let synced_at = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .and_then(|t| t.timestamp_nanos_opt());
    let mut known = Tracked::new(running_tx);
    for c in &sync.containers {
        known.seen(c);
    }
    let mut info = sync.info.clone();
    emit!(tx, id, MsgKind::Synced(Box::new(sync)));
    // A manager's swarm: read now, at every resync, soon after Swarm events, and every
    // SWARM_FOLLOW while Swarm is converging.
    let mut swarm_due = info.is_swarm_manager().then(tokio::time::Instant::now);
    let (mut swarm_last, mut swarm_follow) = (None, SWARM_FOLLOW);
    let mut events = docker.events(Some(EventsOptions {
        since: Some(since),
        ..Default::default()
    }));
    let mut resync = tokio::time::interval(settings.resync);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync.tick().await;
    // Liveness: a partition makes connections hang, not fail, and an idle event stream looks
    // the same as a dead one. A ping on the same pooled client must come back before
    // `down_after` has passed since the daemon last said anything, so a hung endpoint is down
    // within that bound whatever was in flight.
    let down_after = settings.down_after;
    let mut ping = tokio::time::interval(
        settings
            .ping
            .min(down_after / 3)
            .max(Duration::from_millis(200)),
    );
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut last_answer = Instant::now();

    loop {
        tokio::select! {
            ev = events.next() => {
                last_answer = Instant::now();
                let first = match ev {
                    Some(Ok(ev)) => ev,
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(EngineError::StreamClosed),
                };
                let mut batch = vec![first];
                while batch.len() < EVENT_BATCH {
                    match events.next().now_or_never() {
                        Some(Some(Ok(ev))) => batch.push(ev),
                        Some(Some(Err(e))) => return Err(e.into()),
                        Some(None) => return Err(EngineError::StreamClosed),
                        None => break,
                    }
                }
                let converted: Vec<_> = batch.iter().filter_map(|e| convert::event(id, e)).collect();
                if let Some(newest) = converted.iter().map(|e| e.time_nano).max() {
                    *last_event = Some(last_event.map_or(newest, |l| l.max(newest)));
                }
                // Replayed events from before the sync changed nothing the sync did not see:
                // acting on them would inspect every recent container a second time.
                batch.retain(|e| synced_at.is_none_or(|at| e.time_nano.is_none_or(|t| t > at)));
                if info.is_swarm_manager() && batch.iter().any(is_swarm_event) {
                    let soon = tokio::time::Instant::now() + SWARM_SETTLE;
                    swarm_due = Some(swarm_due.map_or(soon, |d| d.min(soon)));
                }
                // Before the inspects they call for: the model applies the state an event
                // carries at once, so the screen follows the event within a frame, not a round
                // trip later. The inspects then refine it.
                emit!(tx, id, MsgKind::Events(converted));
                if apply_events(&docker, id, settings, tx, &mut known, batch).await?.is_none() {
                    return Ok(());
                }
            }
            _ = resync.tick() => {
                if resync_containers(&docker, id, settings, tx, &mut known).await?.is_none() {
                    return Ok(());
                }
                // Engine labels reload with the daemon's config, node labels change any time.
                let (now, _, _) = read_info(&docker, settings.request_timeout).await?;
                if now != info {
                    info = now.clone();
                    emit!(tx, id, MsgKind::Info(Box::new(now)));
                }
                if info.is_swarm_manager() {
                    swarm_due = Some(tokio::time::Instant::now());
                }
            }
            _ = tokio::time::sleep_until(swarm_due.unwrap_or_else(tokio::time::Instant::now)), if swarm_due.is_some() => {
                swarm_due = None;
                // Best effort, as the node list is: a manager without quorum still answers the
                // rest, so it is not down; its swarm is shown as last read until it answers.
                match swarm::read_state(&docker, settings.request_timeout).await {
                    Ok(Some(state)) => {
                        // A swarm stuck short of converging (a task that keeps failing) is
                        // read less and less often while nothing changes, down to the resync.
                        swarm_follow = if swarm_last.as_ref() == Some(&state) {
                            (swarm_follow * 2).min(settings.resync)
                        } else {
                            SWARM_FOLLOW
                        };
                        if !state.converged() {
                            swarm_due = Some(tokio::time::Instant::now() + swarm_follow);
                        }
                        swarm_last = Some(state.clone());
                        emit!(tx, id, MsgKind::Swarm(Box::new(state)));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(endpoint = %client.spec().name, error = %e, "reading the swarm failed"),
                }
            }
            _ = ping.tick() => {
                let started = Instant::now();
                let left = down_after.saturating_sub(last_answer.elapsed()).max(Duration::from_millis(100));
                match tokio::time::timeout(left, docker.ping()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(bollard::errors::Error::RequestTimeoutError)) | Err(_) => {
                        return Err(EngineError::Timeout(last_answer.elapsed()));
                    }
                    Ok(Err(e)) => return Err(e.into()),
                }
                last_answer = Instant::now();
                emit!(tx, id, MsgKind::Latency(started.elapsed()));
            }
        }
    }
}

/// What a session knows of its containers: the list status of each (to spot changes at
/// resync) and which are running, published for the stats collector.
struct Tracked<'a> {
    status: HashMap<String, String>,
    running: HashSet<String>,
    publish: &'a watch::Sender<stats::RunningSet>,
}

impl<'a> Tracked<'a> {
    fn new(publish: &'a watch::Sender<stats::RunningSet>) -> Self {
        Self {
            status: HashMap::new(),
            running: HashSet::new(),
            publish,
        }
    }

    fn seen(&mut self, c: &Container) {
        self.status.insert(c.id.clone(), c.list_status.clone());
        let changed = if c.state == crate::model::ContainerState::Running {
            self.running.insert(c.id.clone())
        } else {
            self.running.remove(&c.id)
        };
        if changed {
            self.publish
                .send_replace(std::sync::Arc::new(self.running.clone()));
        }
    }

    fn gone(&mut self, id: &str) {
        self.status.remove(id);
        if self.running.remove(id) {
            self.publish
                .send_replace(std::sync::Arc::new(self.running.clone()));
        }
    }
}

/// An event that changes what a manager's swarm reading says: a service or node changed, or
/// a container of a Swarm task did.
fn is_swarm_event(ev: &EventMessage) -> bool {
    match ev.typ {
        Some(EventMessageTypeEnum::SERVICE | EventMessageTypeEnum::NODE) => true,
        Some(EventMessageTypeEnum::CONTAINER) => ev
            .actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
            .is_some_and(|a| a.contains_key("com.docker.swarm.task.id")),
        _ => false,
    }
}

/// Which follow-up a batch of events calls for.
#[derive(Default)]
struct EventWork {
    containers: Vec<String>,
    networks: bool,
    images: bool,
}

fn plan_events(batch: &[EventMessage]) -> EventWork {
    let mut work = EventWork::default();
    let mut seen = HashSet::new();
    let mut touch = |id: &str, work: &mut EventWork| {
        if !id.is_empty() && seen.insert(id.to_string()) {
            work.containers.push(id.to_string());
        }
    };
    for ev in batch {
        let action = ev.action.as_deref().unwrap_or("");
        // "exec_start: sh -c …", "health_status: healthy"
        let verb = action.split(':').next().unwrap_or("").trim();
        let actor = ev.actor.as_ref();
        let actor_id = actor.and_then(|a| a.id.as_deref()).unwrap_or("");
        match ev.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                let ignored = matches!(
                    verb,
                    "exec_create"
                        | "exec_start"
                        | "exec_detach"
                        | "exec_die"
                        | "attach"
                        | "detach"
                        | "resize"
                        | "top"
                        | "archive-path"
                        | "extract-to-dir"
                        | "export"
                        | "commit"
                        | "copy"
                );
                if !ignored {
                    touch(actor_id, &mut work);
                }
            }
            Some(EventMessageTypeEnum::NETWORK) => {
                work.networks = true;
                if let Some(c) = actor
                    .and_then(|a| a.attributes.as_ref())
                    .and_then(|a| a.get("container"))
                {
                    touch(c, &mut work);
                }
            }
            Some(EventMessageTypeEnum::IMAGE) => work.images = true,
            _ => {}
        }
    }
    work
}

/// Acts on a batch of events. `Ok(None)` when the receiver is gone.
async fn apply_events(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    known: &mut Tracked<'_>,
    batch: Vec<EventMessage>,
) -> Result<Option<()>, EngineError> {
    let work = plan_events(&batch);
    let t = settings.request_timeout;
    for cid in work.containers {
        let status = known.status.get(&cid).cloned().unwrap_or_default();
        let kind = refresh(docker, cid, status, t, known).await?;
        if send(tx, id, kind).await.is_err() {
            return Ok(None);
        }
    }
    if work.networks {
        let nets = list_networks(docker, t).await?;
        if send(tx, id, MsgKind::Networks(nets)).await.is_err() {
            return Ok(None);
        }
    }
    if work.images {
        let images = list_images(docker, t).await?;
        if send(tx, id, MsgKind::Images(images)).await.is_err() {
            return Ok(None);
        }
    }
    Ok(Some(()))
}

/// Inspects one container again: what changed, or that it is gone.
async fn refresh(
    docker: &ReadOnly,
    cid: String,
    list_status: String,
    limit: Duration,
    known: &mut Tracked<'_>,
) -> Result<MsgKind, EngineError> {
    Ok(match inspect(docker, &cid, list_status, limit).await? {
        Some(c) => {
            known.seen(&c);
            MsgKind::ContainerChanged(Box::new(c))
        }
        None => {
            known.gone(&cid);
            MsgKind::ContainerGone { id: cid }
        }
    })
}

/// The safety net under the event stream: list everything, inspect only what looks different,
/// drop what is gone.
async fn resync_containers(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    tx: &mpsc::Sender<Msg>,
    known: &mut Tracked<'_>,
) -> Result<Option<()>, EngineError> {
    let t = settings.request_timeout;
    let summaries = deadline(
        t,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    )
    .await?;
    let mut present = HashSet::new();
    for s in summaries {
        let Some(cid) = s.id.clone() else { continue };
        present.insert(cid.clone());
        let status = s.status.clone().unwrap_or_default();
        let changed = known.status.get(&cid).is_none_or(|old| {
            let old_summary = bollard::models::ContainerSummary {
                state: s.state,
                status: Some(old.clone()),
                ..Default::default()
            };
            convert::list_fingerprint(&old_summary) != convert::list_fingerprint(&s)
        });
        if !changed {
            continue;
        }
        let kind = refresh(docker, cid, status, t, known).await?;
        if send(tx, id, kind).await.is_err() {
            return Ok(None);
        }
    }
    let gone: Vec<String> = known
        .status
        .keys()
        .filter(|k| !present.contains(*k))
        .cloned()
        .collect();
    for cid in gone {
        known.gone(&cid);
        if send(tx, id, MsgKind::ContainerGone { id: cid })
            .await
            .is_err()
        {
            return Ok(None);
        }
    }
    let nets = list_networks(docker, t).await?;
    if send(tx, id, MsgKind::Networks(nets)).await.is_err() {
        return Ok(None);
    }
    Ok(Some(()))
}

/// Finds a container on an endpoint by exact name, else by id prefix.
pub async fn resolve_container(
    client: &EndpointClient,
    settings: &EngineSettings,
    name_or_id: &str,
) -> Result<String, EngineError> {
    let docker = client.connect().await?;
    let all = deadline(
        settings.request_timeout,
        docker.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
    )
    .await?;
    let by_name = all.iter().find(|c| {
        c.names
            .iter()
            .flatten()
            .any(|n| n.trim_start_matches('/') == name_or_id)
    });
    let by_id = || {
        let hits: Vec<_> = all
            .iter()
            .filter(|c| c.id.as_deref().is_some_and(|id| id.starts_with(name_or_id)))
            .collect();
        (hits.len() == 1).then(|| hits[0])
    };
    by_name
        .or_else(by_id)
        .and_then(|c| c.id.clone())
        .ok_or_else(|| EngineError::Docker(format!("no container named \"{name_or_id}\"")))
}

/// What `check` reports about a daemon: it answered, in which versions, how fast.
#[derive(Debug, Clone)]
pub struct Probe {
    pub engine_version: String,
    /// The API version fleetdeck and the daemon agreed on.
    pub api_version: String,
    pub latency: Duration,
}

/// Connects, negotiates and pings once, on a client of its own.
pub async fn probe(spec: &EndpointSpec, settings: &EngineSettings) -> Result<Probe, EngineError> {
    let docker = EndpointClient::new(spec, settings).connect().await?;
    let version = deadline(settings.request_timeout, docker.version()).await?;
    let started = Instant::now();
    deadline(settings.request_timeout, docker.ping()).await?;
    Ok(Probe {
        engine_version: crate::model::text::sanitize_owned(version.version.unwrap_or_default()),
        api_version: agreed_api(&docker),
        latency: started.elapsed(),
    })
}

/// Connects to every endpoint concurrently and syncs each once, as `Msg`s ready for the model,
/// on clients of its own. An endpoint that fails yields a `Down` message with its reason.
pub async fn sync_all_once(config: &Config) -> Vec<Msg> {
    let mut set = JoinSet::new();
    for (id, spec) in config.endpoints.iter().enumerate() {
        let spec = spec.clone();
        let settings = config.engine.clone();
        set.spawn(async move {
            let result = async {
                let docker = EndpointClient::new(&spec, &settings).connect().await?;
                let (sync, daemon_time) = full_sync(&docker, &settings).await?;
                let events = recent_events(&docker, id, &settings, daemon_time).await?;
                // A manager's swarm too, for `snapshot --view nodes|services`; best effort.
                let swarm = match sync.info.is_swarm_manager() {
                    true => swarm::read_state(&docker, settings.request_timeout)
                        .await
                        .ok()
                        .flatten(),
                    false => None,
                };
                Ok::<_, EngineError>((sync, events, swarm))
            }
            .await;
            (id, result)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        let Ok((id, result)) = joined else { continue };
        let at = Utc::now();
        match result {
            Ok((sync, events, swarm)) => {
                out.push(Msg {
                    endpoint: id,
                    at,
                    kind: MsgKind::Synced(Box::new(sync)),
                });
                if let Some(state) = swarm {
                    out.push(Msg {
                        endpoint: id,
                        at,
                        kind: MsgKind::Swarm(Box::new(state)),
                    });
                }
                out.push(Msg {
                    endpoint: id,
                    at,
                    kind: MsgKind::Events(events),
                });
            }
            Err(e) => out.push(Msg {
                endpoint: id,
                at,
                kind: MsgKind::Down {
                    reason: e.to_string(),
                    retry_in: Duration::ZERO,
                },
            }),
        }
    }
    out.sort_by_key(|m| m.endpoint);
    out
}

/// The events of the backfill window up to now, as a closed stream (`until` makes the daemon
/// end it), for one-shot commands.
async fn recent_events(
    docker: &ReadOnly,
    id: EndpointId,
    settings: &EngineSettings,
    daemon_time: Option<String>,
) -> Result<Vec<crate::model::events::FleetEvent>, EngineError> {
    let now = daemon_time
        .as_deref()
        .and_then(convert::parse_time)
        .unwrap_or_else(Utc::now);
    let back = chrono::TimeDelta::from_std(settings.event_backfill).unwrap_or_default();
    let stream = docker.events(Some(EventsOptions {
        since: Some((now - back).timestamp().to_string()),
        until: Some(now.timestamp().to_string()),
        ..Default::default()
    }));
    let events: Vec<EventMessage> =
        deadline(settings.request_timeout, stream.try_collect()).await?;
    Ok(events
        .iter()
        .filter_map(|e| convert::event(id, e))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(3));
        let seq: Vec<_> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(seq, [500, 1000, 2000, 3000, 3000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 500);
    }

    fn ev(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attrs: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some(id.into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_burst_of_events_inspects_each_container_once() {
        use EventMessageTypeEnum::*;
        let batch = vec![
            ev(CONTAINER, "create", "a", &[]),
            ev(CONTAINER, "start", "a", &[]),
            ev(CONTAINER, "exec_start: sh -c true", "b", &[]),
            ev(CONTAINER, "health_status: unhealthy", "b", &[]),
            ev(NETWORK, "connect", "net1", &[("container", "c")]),
            ev(CONTAINER, "die", "a", &[("exitCode", "3")]),
        ];
        let work = plan_events(&batch);
        assert_eq!(work.containers, ["a", "b", "c"]);
        assert!(work.networks);
        assert!(!work.images);
    }
}
