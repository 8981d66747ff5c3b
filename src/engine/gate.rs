//! The gate: the only code in fleetdeck that sends a Docker daemon a request that changes
//! something (start, stop, restart, pause, unpause, kill, remove; and every later addition:
//! create, rename, exec, network connect, deploy…). Whatever the UI or a script asks for,
//! it passes here, and here
//!
//! 1. a read-only endpoint is refused before any connection is opened or byte is sent;
//! 2. the attempt is written to the audit log (and fsynced) before the request leaves, and
//!    its result after;
//! 3. the request runs under a deadline, and the daemon's refusal is put in words an
//!    operator can act on.
//!
//! Every other task holds a [`ReadOnly`] handle, through which a state-changing request cannot
//! be written; the full client of an [`EndpointClient`] is reachable from this module only.
//! `tests/gate_is_the_only_way.rs` is the backstop: it fails the build's tests if a
//! state-changing bollard method is called anywhere else in `src/`.
//!
//! Bulk actions run with bounded concurrency per endpoint and every endpoint in parallel; a
//! failure on one never stops the others. A rolling restart goes one (or N) at a time and waits
//! for each container to run, and to be healthy when it has a healthcheck, before the next.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::NodeSpecAvailabilityEnum;
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectServiceOptions, KillContainerOptions,
    RemoveContainerOptions, RenameContainerOptions, RestartContainerOptions, StartContainerOptions,
    StopContainerOptions, UpdateNodeOptions, UpdateServiceOptions,
};
use futures::{Stream, StreamExt};
use tokio::sync::OnceCell;

use super::client::ReadOnly;
use super::transport::{self, RawGet};
use super::{EngineError, deadline};
use crate::audit::{AuditLog, AuditSubject};
use crate::config::{AccessOverride, Config, EngineSettings};
use crate::model::EndpointId;
use crate::model::EndpointSpec;
use crate::model::actions::{Action, ActionOutcome, ActionRequest, ActionResult};
use crate::model::swarm::Availability;

mod create;
mod endpoint;
mod rolling;
pub use create::{create_body, mount_as_volume};
pub use endpoint::EndpointClient;
pub(crate) use rolling::{Readiness, readiness};
pub use rolling::{RollingOptions, RollingOutcome, RollingProgress, RollingStop};

/// Requests in flight at once per endpoint in a bulk action, unless the caller says otherwise:
/// a fleet-wide restart should not hit one small daemon with fifty stops at once.
pub const DEFAULT_PER_ENDPOINT: usize = 4;
/// Docker's own default stop timeout; the deadline of a stop or restart allows for it.
const DOCKER_STOP_TIMEOUT_S: u32 = 10;

pub struct Gate {
    specs: Vec<EndpointSpec>,
    settings: EngineSettings,
    audit: AuditLog,
    /// Per endpoint: `--write` made it writable though the config says read-only. Every
    /// request that allows is recorded with `"override": "--write"`.
    overridden: Vec<bool>,
    /// One client per endpoint: the fleet's own when the fleet made this gate.
    endpoints: Vec<EndpointClient>,
    /// Each one's full client, negotiated on first use and kept (bollard reconnects by itself).
    clients: Vec<OnceCell<Docker>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("endpoints", &self.specs.len())
            .field("audit", &self.audit.path())
            .finish()
    }
}

impl Gate {
    /// A gate over the config's endpoints (ids are their indices, as everywhere in the engine),
    /// with a client of its own for each (built on first use).
    pub fn new(config: &Config, audit: AuditLog) -> Self {
        let endpoints = config
            .endpoints
            .iter()
            .map(|spec| EndpointClient::new(spec, &config.engine))
            .collect();
        Self::with_clients(config, audit, endpoints)
    }

    /// A gate that sends through `endpoints`, one client per endpoint of `config` in its order
    /// (the fleet's, so the gate and the fleet's tasks share each endpoint's connections).
    pub fn with_clients(config: &Config, audit: AuditLog, endpoints: Vec<EndpointClient>) -> Self {
        let overridden = config
            .endpoints
            .iter()
            .map(|e| {
                !e.read_only
                    && config.access.flag == Some(AccessOverride::Write)
                    && config
                        .access
                        .without_flag()
                        .read_only(&e.cluster, e.read_only_setting)
            })
            .collect();
        Self {
            specs: config.endpoints.clone(),
            settings: config.engine.clone(),
            clients: endpoints.iter().map(|_| OnceCell::new()).collect(),
            endpoints,
            overridden,
            audit,
        }
    }

    /// The id of the endpoint called `name`.
    pub fn endpoint_id(&self, name: &str) -> Option<EndpointId> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// The audit subject of a request to `endpoint`, with the override it needs, if any.
    pub fn subject(
        &self,
        endpoint: EndpointId,
        container_id: &str,
        container: &str,
        action: &str,
        params: serde_json::Value,
    ) -> AuditSubject {
        let (name, url) = match self.specs.get(endpoint) {
            Some(s) => (s.name.clone(), s.url_text.clone()),
            None => (format!("#{endpoint}"), String::new()),
        };
        AuditSubject {
            endpoint: name,
            endpoint_url: url,
            container_id: container_id.to_string(),
            container: container.to_string(),
            action: action.to_string(),
            params,
            operation: None,
            override_by: self
                .overridden
                .get(endpoint)
                .copied()
                .unwrap_or(false)
                .then(|| "--write".to_string()),
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn endpoint_name(&self, endpoint: EndpointId) -> Option<&str> {
        self.specs.get(endpoint).map(|s| s.name.as_str())
    }

    /// Whether the gate will refuse every state-changing request to this endpoint.
    pub fn is_read_only(&self, endpoint: EndpointId) -> bool {
        self.specs.get(endpoint).is_none_or(|s| s.read_only)
    }

    pub(super) async fn client(&self, endpoint: EndpointId) -> Result<Docker, EngineError> {
        let (Some(cell), Some(client)) = (self.clients.get(endpoint), self.endpoints.get(endpoint))
        else {
            return Err(EngineError::Docker(format!("no endpoint #{endpoint}")));
        };
        cell.get_or_try_init(|| client.writer()).await.cloned()
    }

    /// Carries out one request: refused on a read-only endpoint, audited before and after,
    /// under a deadline. Never panics, never returns early without an outcome.
    pub async fn apply(&self, req: ActionRequest) -> ActionOutcome {
        self.carry_out(req, &|_| {}, None).await.0
    }

    /// A client for reading (inspect, list) on behalf of a multi-step operation such as a
    /// deploy: the gate's own client, through a handle that cannot send a state-changing
    /// request (that is what [`Gate::apply`] is for).
    pub async fn reader(&self, endpoint: EndpointId) -> Result<ReadOnly, EngineError> {
        self.client(endpoint).await.map(ReadOnly::new)
    }

    /// [`Gate::apply`], telling `progress` what a long request (an image pull) is doing.
    pub async fn apply_reporting(
        &self,
        req: ActionRequest,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> ActionOutcome {
        self.carry_out(req, progress, None).await.0
    }

    /// [`Gate::apply_reporting`] for one step of a multi-step operation (a deploy, a
    /// rollback): its audit lines name the operation's attempt id.
    pub async fn apply_step(
        &self,
        req: ActionRequest,
        progress: &(dyn Fn(String) + Send + Sync),
        operation: Option<&str>,
    ) -> ActionOutcome {
        self.carry_out(req, progress, operation).await.0
    }

    /// Opens an interactive exec (`Action::Exec`) through the same checks as every action:
    /// refused on a read-only endpoint, audited. On success the attached streams come back.
    pub async fn open_exec(&self, req: ActionRequest) -> (ActionOutcome, Option<ExecIo>) {
        self.carry_out(req, &|_| {}, None).await
    }

    /// Opens a host shell for `endpoint`: refused on a read-only endpoint, audited like a
    /// Docker action (as `host-shell`, with its argv), then spawned in a local pty.
    pub async fn open_host_shell(
        &self,
        endpoint: EndpointId,
        argv: Vec<String>,
        rows: u16,
        cols: u16,
    ) -> Result<super::pty::HostPty, String> {
        let Some(spec) = self.specs.get(endpoint) else {
            return Err(format!("no endpoint #{endpoint}"));
        };
        let subject = self.subject(
            endpoint,
            "",
            "",
            "host-shell",
            serde_json::json!({ "argv": argv }),
        );
        if spec.read_only {
            let reason = format!("endpoint {} is read-only", spec.name);
            if let Err(e) = self.audit.refused(&subject, &reason).await {
                tracing::warn!(error = %e, "audit log: cannot record a refused host shell");
            }
            return Err(reason);
        }
        let attempt = self.audit.started(subject).await.map_err(|e| {
            format!(
                "cannot write the audit log {}: {e}; no shell was started",
                self.audit.path().display()
            )
        })?;
        let result = super::pty::spawn_pty(&argv, rows, cols);
        let recorded = result.as_ref().map(|_| ()).map_err(Clone::clone);
        if let Err(e) = self.audit.finished(&attempt, recorded).await {
            tracing::warn!(attempt = %attempt.id, error = %e, "audit log: cannot record the result");
        }
        result
    }

    /// The body of [`Gate::apply`], [`Gate::apply_reporting`] and [`Gate::open_exec`].
    async fn carry_out(
        &self,
        req: ActionRequest,
        progress: &(dyn Fn(String) + Send + Sync),
        operation: Option<&str>,
    ) -> (ActionOutcome, Option<ExecIo>) {
        let started = Instant::now();
        let mut subject = self.subject(
            req.endpoint,
            &req.container_id,
            &req.container,
            req.action.verb(),
            req.action.params(),
        );
        subject.operation = operation.map(str::to_string);
        let endpoint_name = subject.endpoint.clone();
        let outcome = |result: ActionResult, attempt: Option<String>| ActionOutcome {
            endpoint_name: endpoint_name.clone(),
            result,
            attempt,
            elapsed: started.elapsed(),
            request: req.clone(),
        };

        // 1. The read-only gate: before any connection, any byte on the wire.
        let refusal = match self.specs.get(req.endpoint) {
            None => Some(format!("no endpoint #{}", req.endpoint)),
            Some(spec) if spec.read_only => Some(format!("endpoint {} is read-only", spec.name)),
            Some(_) => None,
        };
        if let Some(reason) = refusal {
            tracing::info!(endpoint = %endpoint_name, container = %req.container, action = req.action.verb(), %reason, "refused");
            let refused = match self.audit.refused(&subject, &reason).await {
                Ok(id) => outcome(ActionResult::Refused(reason), Some(id)),
                Err(e) => outcome(
                    ActionResult::Refused(format!(
                        "{reason} (and the audit log {} could not be written: {e})",
                        self.audit.path().display()
                    )),
                    None,
                ),
            };
            return (refused, None);
        }

        // 2. On the record before it happens; no record, no request.
        let attempt = match self.audit.started(subject).await {
            Ok(a) => a,
            Err(e) => {
                let refused = outcome(
                    ActionResult::Refused(format!(
                        "cannot write the audit log {}: {e}; nothing was sent",
                        self.audit.path().display()
                    )),
                    None,
                );
                return (refused, None);
            }
        };

        // 3. The request itself.
        let sent = match self.client(req.endpoint).await {
            Ok(docker) => {
                let raw = self.endpoints.get(req.endpoint).and_then(|c| c.raw().ok());
                let limit = self.settings.request_timeout;
                send(&docker, raw.as_ref(), &req, limit, progress).await
            }
            Err(e) => Err(format!("cannot reach {endpoint_name}: {e}")),
        };
        let (result, io) = match sent {
            Ok(io) => (Ok(()), io),
            Err(e) => (Err(e), None),
        };
        if let Err(e) = self.audit.finished(&attempt, result.clone()).await {
            tracing::warn!(attempt = %attempt.id, error = %e, "audit log: cannot record the result");
        }
        tracing::info!(endpoint = %endpoint_name, container = %req.container, action = req.action.verb(), ok = result.is_ok(), "action");
        let result = match result {
            Ok(()) => ActionResult::Succeeded,
            Err(e) => ActionResult::Failed(e),
        };
        (outcome(result, Some(attempt.id)), io)
    }

    /// Runs many requests: at most `per_endpoint` at once on each endpoint, every endpoint in
    /// parallel. Yields `(index in reqs, outcome)` as each finishes; one failure stops nothing.
    pub fn bulk_stream(
        &self,
        reqs: Vec<ActionRequest>,
        per_endpoint: usize,
    ) -> impl Stream<Item = (usize, ActionOutcome)> + Send + '_ {
        let mut groups: BTreeMap<EndpointId, Vec<(usize, ActionRequest)>> = BTreeMap::new();
        for (i, r) in reqs.into_iter().enumerate() {
            groups.entry(r.endpoint).or_default().push((i, r));
        }
        let per_endpoint = per_endpoint.max(1);
        futures::stream::select_all(groups.into_values().map(move |group| {
            futures::stream::iter(group)
                .map(move |(i, r)| async move { (i, self.apply(r).await) })
                .buffer_unordered(per_endpoint)
                .boxed()
        }))
    }

    /// [`Gate::bulk_stream`] collected, in the order of `reqs`.
    pub async fn bulk(&self, reqs: Vec<ActionRequest>, per_endpoint: usize) -> Vec<ActionOutcome> {
        let mut done: Vec<(usize, ActionOutcome)> =
            self.bulk_stream(reqs, per_endpoint).collect().await;
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, o)| o).collect()
    }
}

/// The attached streams of an interactive exec: what the shell prints, and its stdin.
pub struct ExecIo {
    pub exec_id: String,
    pub output: std::pin::Pin<
        Box<
            dyn Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Send,
        >,
    >,
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

impl std::fmt::Debug for ExecIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecIo")
            .field("exec_id", &self.exec_id)
            .finish()
    }
}

/// The state-changing bollard calls, all of them in one place. Only [`Gate::carry_out`] calls
/// this. An exec comes back with its attached streams.
async fn send(
    docker: &Docker,
    raw: Option<&RawGet>,
    req: &ActionRequest,
    limit: Duration,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<Option<ExecIo>, String> {
    let id = req.container_id.as_str();
    let r = match &req.action {
        Action::Start => {
            deadline(
                limit,
                docker.start_container(id, None::<StartContainerOptions>),
            )
            .await
        }
        Action::Stop { timeout_s } => {
            // The daemon waits up to the stop timeout before it answers: allow for it.
            let limit =
                limit + Duration::from_secs(timeout_s.unwrap_or(DOCKER_STOP_TIMEOUT_S).into());
            let docker = docker.clone().with_timeout(limit);
            let opts = StopContainerOptions {
                t: timeout_s.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
                signal: None,
            };
            deadline(limit, docker.stop_container(id, Some(opts))).await
        }
        Action::Restart { timeout_s } => {
            let limit =
                limit + Duration::from_secs(timeout_s.unwrap_or(DOCKER_STOP_TIMEOUT_S).into());
            let docker = docker.clone().with_timeout(limit);
            let opts = RestartContainerOptions {
                t: timeout_s.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
                signal: None,
            };
            deadline(limit, docker.restart_container(id, Some(opts))).await
        }
        Action::Pause => deadline(limit, docker.pause_container(id)).await,
        Action::Unpause => deadline(limit, docker.unpause_container(id)).await,
        Action::Kill { signal } => {
            let opts = KillContainerOptions {
                signal: signal.clone(),
            };
            deadline(limit, docker.kill_container(id, Some(opts))).await
        }
        Action::Remove { volumes, force } => {
            let opts = RemoveContainerOptions {
                v: *volumes,
                force: *force,
                link: false,
            };
            deadline(limit, docker.remove_container(id, Some(opts))).await
        }
        Action::Exec { cmd, rows, cols } => {
            let config = bollard::exec::CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(true),
                env: Some(vec!["TERM=xterm-256color".to_string()]),
                cmd: Some(cmd.clone()),
                ..Default::default()
            };
            let opened = async {
                let exec = deadline(limit, docker.create_exec(id, config)).await?;
                let start = bollard::exec::StartExecOptions {
                    detach: false,
                    tty: true,
                    output_capacity: None,
                };
                let started = deadline(limit, docker.start_exec(&exec.id, Some(start))).await?;
                let bollard::exec::StartExecResults::Attached { output, input } = started else {
                    return Err(EngineError::Docker("the daemon detached the exec".into()));
                };
                // API 1.41 has no size at create: the first resize follows the start at once.
                let size = bollard::query_parameters::ResizeExecOptions {
                    h: i32::from(*rows),
                    w: i32::from(*cols),
                };
                // Not fatal: the shell is running and cannot be stopped from here (moby#9098);
                // losing its streams over a size would leave it orphaned. The pane sends its
                // size again on the next change.
                if let Err(e) = deadline(limit, docker.resize_exec(&exec.id, size)).await {
                    tracing::warn!(exec = %exec.id, error = %e, "first exec resize failed");
                }
                Ok(ExecIo {
                    exec_id: exec.id,
                    output,
                    input,
                })
            };
            return opened.await.map(Some).map_err(|e| explain(&req.action, e));
        }
        Action::ExecResize {
            exec_id,
            rows,
            cols,
        } => {
            let size = bollard::query_parameters::ResizeExecOptions {
                h: i32::from(*rows),
                w: i32::from(*cols),
            };
            deadline(limit, docker.resize_exec(exec_id, size)).await
        }
        Action::Pull { image } => {
            // A pull may take minutes; what must not happen is a long silence.
            let (from_image, tag) = split_tag(image);
            let opts = CreateImageOptions {
                from_image: Some(from_image),
                tag: (!tag.is_empty()).then_some(tag),
                ..Default::default()
            };
            let mut stream = docker.create_image(Some(opts), None, None);
            let mut last = String::new();
            loop {
                match tokio::time::timeout(limit, stream.next()).await {
                    Err(_) => break Err(EngineError::Timeout(limit)),
                    Ok(None) => break Ok(()),
                    Ok(Some(Err(e))) => break Err(EngineError::from(e)),
                    Ok(Some(Ok(info))) => {
                        if let Some(detail) =
                            info.error_detail.as_ref().and_then(|d| d.message.clone())
                        {
                            break Err(EngineError::Docker(detail));
                        }
                        let line = pull_line(&info);
                        if !line.is_empty() && line != last {
                            progress(line.clone());
                            last = line;
                        }
                    }
                }
            }
        }
        Action::Create { spec } => {
            let opts = CreateContainerOptions {
                name: Some(spec.name.clone()),
                platform: String::new(),
            };
            match create_body(spec) {
                Ok(body) => deadline(limit, docker.create_container(Some(opts), body))
                    .await
                    .map(|_| ()),
                Err(e) => Err(EngineError::Docker(e)),
            }
        }
        Action::Rename { to } => {
            let opts = RenameContainerOptions { name: to.clone() };
            deadline(limit, docker.rename_container(id, opts)).await
        }
        Action::Connect {
            network,
            ipv4,
            aliases,
        } => {
            let request = create::connect_request(id, ipv4.as_deref(), aliases);
            deadline(limit, docker.connect_network(network, request)).await
        }
        Action::ServiceUpdate { .. }
        | Action::ServiceRollback
        | Action::ServiceScale { .. }
        | Action::ServiceForceUpdate => {
            async {
                // Swarm wants the spec and the version it was read at (a GET), then the update.
                let (mut spec, version) = service_spec(docker, raw, id, limit).await?;
                let mut rollback = None;
                match &req.action {
                    Action::ServiceUpdate { image } => {
                        if let Some(c) = spec
                            .task_template
                            .as_mut()
                            .and_then(|t| t.container_spec.as_mut())
                        {
                            c.image = Some(image.clone());
                        }
                    }
                    Action::ServiceScale { replicas } => {
                        let replicated = spec
                            .mode
                            .as_mut()
                            .and_then(|m| m.replicated.as_mut())
                            .ok_or_else(|| {
                                EngineError::Docker(
                                    "only a replicated service can be scaled".into(),
                                )
                            })?;
                        replicated.replicas = Some(i64::try_from(*replicas).unwrap_or(i64::MAX));
                    }
                    // Any change of ForceUpdate makes Swarm replace every task.
                    Action::ServiceForceUpdate => {
                        let template = spec.task_template.get_or_insert_with(Default::default);
                        template.force_update =
                            Some(template.force_update.unwrap_or(0).wrapping_add(1));
                    }
                    _ => rollback = Some("previous".to_string()),
                }
                let opts = UpdateServiceOptions {
                    version,
                    rollback,
                    ..Default::default()
                };
                deadline(limit, docker.update_service(id, spec, opts, None))
                    .await
                    .map(|_| ())
            }
            .await
        }
        Action::NodeAvailability { availability } => {
            async {
                // As for a service: the spec at the version it was read at, then the update.
                let node = deadline(limit, docker.inspect_node(id)).await?;
                let version = node.version.and_then(|v| v.index).unwrap_or(0);
                let mut spec = node.spec.unwrap_or_default();
                spec.availability = Some(match availability {
                    Availability::Active => NodeSpecAvailabilityEnum::ACTIVE,
                    Availability::Pause => NodeSpecAvailabilityEnum::PAUSE,
                    Availability::Drain => NodeSpecAvailabilityEnum::DRAIN,
                });
                let opts = UpdateNodeOptions {
                    version: i64::try_from(version).unwrap_or(i64::MAX),
                };
                deadline(limit, docker.update_node(id, spec, opts)).await
            }
            .await
        }
    };
    r.map(|()| None).map_err(|e| explain(&req.action, e))
}

/// A service's spec and the version it was read at, as Docker wrote them. bollard's typed
/// spec names the container's healthcheck `HealthCheck` where Docker writes `Healthcheck`
/// (Docker reads either), so a spec read through it and sent back would lose the healthcheck:
/// the JSON is read raw and that key put the way bollard reads it.
async fn service_spec(
    docker: &Docker,
    raw: Option<&RawGet>,
    id: &str,
    limit: Duration,
) -> Result<(bollard::models::ServiceSpec, i32), EngineError> {
    let Some(raw) = raw else {
        let service = deadline(
            limit,
            docker.inspect_service(id, None::<InspectServiceOptions>),
        )
        .await?;
        let version = service.version.and_then(|v| v.index);
        let version = version.and_then(|v| i32::try_from(v).ok()).unwrap_or(0);
        return Ok((service.spec.unwrap_or_default(), version));
    };
    let path = format!(
        "/v{}/services/{}",
        super::api_text(&docker.client_version()),
        id.bytes()
            .map(|b| if transport::unreserved(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let (status, body) = tokio::time::timeout(limit, raw.get(&path))
        .await
        .map_err(|_| EngineError::Timeout(limit))?
        .map_err(|e| EngineError::Docker(e.to_string()))?;
    let mut service: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| EngineError::Docker(format!("the service's JSON: {e}")))?;
    if status != 200 {
        let message = service["message"].as_str().unwrap_or("").trim().to_string();
        return Err(EngineError::Docker(format!(
            "daemon answered {status}: {message}"
        )));
    }
    let version = service["Version"]["Index"].as_i64().unwrap_or(0);
    let mut spec = service["Spec"].take();
    if let Some(container) = spec
        .pointer_mut("/TaskTemplate/ContainerSpec")
        .and_then(serde_json::Value::as_object_mut)
        && let Some(check) = container.remove("Healthcheck")
    {
        container.insert("HealthCheck".into(), check);
    }
    let spec = serde_json::from_value(spec)
        .map_err(|e| EngineError::Docker(format!("the service's spec: {e}")))?;
    Ok((spec, i32::try_from(version).unwrap_or(0)))
}

/// `reg:5000/app:2` → (`reg:5000/app`, `2`); a digest stays in the name.
fn split_tag(image: &str) -> (String, String) {
    if image.contains('@') {
        return (image.to_string(), String::new());
    }
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// One pull progress report as a line: "a1b2c3d4e5f6: Downloading 3.1 MB / 10.2 MB".
fn pull_line(info: &bollard::models::CreateImageInfo) -> String {
    let status = crate::model::text::sanitize(info.status.as_deref().unwrap_or("")).into_owned();
    let id = info.id.as_deref().unwrap_or("");
    let amount = info
        .progress_detail
        .as_ref()
        .and_then(|d| Some((d.current?, d.total?)))
        .filter(|(_, total)| *total > 0)
        .map(|(cur, total)| format!(" {:.1} MB / {:.1} MB", cur as f64 / 1e6, total as f64 / 1e6))
        .unwrap_or_default();
    match (id.is_empty(), status.is_empty()) {
        (_, true) => String::new(),
        (true, false) => status,
        (false, false) => format!("{id}: {status}{amount}"),
    }
}

/// The daemon's answer in the operator's terms, for the refusals people actually meet.
fn explain(action: &Action, e: EngineError) -> String {
    let EngineError::Docker(text) = &e else {
        return e.to_string();
    };
    let lower = text.to_ascii_lowercase();
    if matches!(action, Action::Remove { force: false, .. })
        && lower.contains("cannot remove a running container")
    {
        return "the container is running: stop it first, or remove it with force (--force)".into();
    }
    if lower.contains("daemon answered 404") && lower.contains("no such container") {
        return "no such container (removed since it was listed?)".into();
    }
    shorten_ids(text)
}

/// Docker quotes full 64-character ids in its messages; 12 are what `docker ps` shows.
fn shorten_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 64 {
            out.push_str(&run[..12]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{self, Phase};

    fn config(read_only: bool) -> Config {
        let mut spec = EndpointSpec::from_url(Some("locked"), "tcp://192.0.2.1:2375").unwrap();
        spec.read_only = read_only;
        Config {
            endpoints: vec![spec],
            ..Config::default()
        }
    }

    fn req(action: Action) -> ActionRequest {
        ActionRequest {
            endpoint: 0,
            container_id: "0123456789ab".into(),
            container: "web".into(),
            action,
        }
    }

    #[tokio::test]
    async fn a_read_only_endpoint_is_refused_and_audited_without_a_connection() {
        // 192.0.2.1 (TEST-NET-1) is unroutable: any attempt to connect would time out, and
        // the deadline of this test is far shorter than the request timeout.
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::new(&config(true), AuditLog::at(dir.path().join("a.jsonl")));
        let o = tokio::time::timeout(Duration::from_secs(2), gate.apply(req(Action::Start)))
            .await
            .expect("refused at once");
        assert_eq!(
            o.result,
            ActionResult::Refused("endpoint locked is read-only".into())
        );
        assert!(gate.clients[0].get().is_none(), "no client was even opened");
        let (records, _) = audit::read(gate.audit().path()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].phase, Phase::Refused);
        assert_eq!(records[0].action, "start");
        assert_eq!(Some(records[0].attempt.clone()), o.attempt);
    }

    #[tokio::test]
    async fn an_unwritable_audit_log_means_nothing_is_sent() {
        let gate = Gate::new(
            &config(false),
            AuditLog::at("/proc/fleetdeck-cannot-write-here/audit.jsonl"),
        );
        let o = gate.apply(req(Action::Pause)).await;
        match o.result {
            ActionResult::Refused(reason) => {
                assert!(reason.contains("cannot write the audit log"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(gate.clients[0].get().is_none());
    }

    #[tokio::test]
    async fn bulk_returns_one_outcome_per_request_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::new(&config(true), AuditLog::at(dir.path().join("a.jsonl")));
        let reqs: Vec<_> = (0..7)
            .map(|i| ActionRequest {
                container: format!("c{i}"),
                ..req(Action::Kill {
                    signal: "SIGTERM".into(),
                })
            })
            .collect();
        let outcomes = gate.bulk(reqs, 2).await;
        let names: Vec<_> = outcomes
            .iter()
            .map(|o| o.request.container.as_str())
            .collect();
        assert_eq!(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
        let (records, _) = audit::read(gate.audit().path()).unwrap();
        assert_eq!(records.len(), 7);
    }

    #[test]
    fn full_ids_in_daemon_messages_are_shortened() {
        let id = "12e76709aea9eca317ffe47c2aae775a38d004b04b2f208a96986d47f646ab09";
        let e = EngineError::Docker(format!(
            "daemon answered 409: Container {id} is already paused"
        ));
        assert_eq!(
            explain(&Action::Pause, e),
            "daemon answered 409: Container 12e76709aea9 is already paused"
        );
        assert_eq!(shorten_ids("deadbeef and 409"), "deadbeef and 409");
    }

    #[test]
    fn a_running_container_is_not_removed_silently() {
        let e = EngineError::Docker("daemon answered 409: You cannot remove a running container 0123. Stop the container before attempting removal or force remove".into());
        let text = explain(
            &Action::Remove {
                volumes: false,
                force: false,
            },
            e,
        );
        assert_eq!(
            text,
            "the container is running: stop it first, or remove it with force (--force)"
        );
    }
}
