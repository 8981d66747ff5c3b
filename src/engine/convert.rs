//! Docker API types → model types. This is the trust boundary: every string a daemon or a
//! container author controls is sanitised here, once, on its way in.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerInspectResponse, ContainerSummary, EndpointSettings, EventMessage, ImageSummary,
    MountPoint, Network, Node, Service, SystemInfo, SystemVersion, Task,
};
use chrono::{DateTime, Utc};

use crate::model::EndpointId;
use crate::model::container::{ContainerDetail, Mount, NetAttachment, PortBinding};
use crate::model::endpoint::IpamPool;
use crate::model::events::{FleetEvent, Severity};
use crate::model::swarm;
use crate::model::text::sanitize_owned;
use crate::model::{
    Container, ContainerState, DaemonInfo, Health, ImageInfo, NetworkInfo, SwarmNode,
};

fn clean(s: Option<String>) -> String {
    sanitize_owned(s.unwrap_or_default())
}

fn clean_opt(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(sanitize_owned)
}

fn clean_map(m: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (sanitize_owned(k), sanitize_owned(v)))
        .collect()
}

/// Docker writes "0001-01-01T00:00:00Z" for "never".
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (t.timestamp() > 0).then_some(t)
}

/// What in a list entry means "look at this container again": its state and the parenthesised
/// parts of its status ("(healthy)", "(3)" exit code, "(1)" restarts), not the ticking uptime.
pub fn list_fingerprint(summary: &ContainerSummary) -> String {
    let state = summary.state.map(|s| s.to_string()).unwrap_or_default();
    let status = summary.status.as_deref().unwrap_or("");
    let mut fp = state;
    let mut depth = 0usize;
    for ch in status.chars() {
        match ch {
            '(' => {
                depth += 1;
                fp.push(ch);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                fp.push(ch);
            }
            c if depth > 0 => fp.push(c),
            _ => {}
        }
    }
    fp
}

pub fn container(inspect: ContainerInspectResponse, list_status: String) -> Container {
    let state = inspect.state.unwrap_or_default();
    let config = inspect.config.unwrap_or_default();
    let host = inspect.host_config.unwrap_or_default();
    let net = inspect.network_settings.unwrap_or_default();

    let mut networks: Vec<NetAttachment> = net
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| attachment(name, ep))
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));

    // Live bindings while running; the configured ones otherwise.
    let port_map = net
        .ports
        .filter(|p| !p.is_empty())
        .or(host.port_bindings)
        .unwrap_or_default();
    let mut ports = Vec::new();
    for (key, bindings) in port_map {
        let (private, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(private) = private.parse::<u16>() else {
            continue;
        };
        let proto = sanitize_owned(proto.to_string());
        match bindings.filter(|b| !b.is_empty()) {
            None => ports.push(PortBinding {
                private,
                public: None,
                host_ip: None,
                proto,
            }),
            Some(bindings) => {
                for b in bindings {
                    ports.push(PortBinding {
                        private,
                        public: b.host_port.and_then(|p| p.parse().ok()),
                        host_ip: clean_opt(b.host_ip),
                        proto: proto.clone(),
                    });
                }
            }
        }
    }
    sort_ports(&mut ports);

    let health = state
        .health
        .as_ref()
        .and_then(|h| h.status)
        .map(|s| Health::parse(s.as_ref()))
        .unwrap_or_default();
    let last_health_output = state
        .health
        .as_ref()
        .and_then(|h| h.log.as_ref())
        .and_then(|log| log.last())
        .and_then(|r| r.output.clone())
        .map(|o| sanitize_owned(o.trim().to_string()));

    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| {
            let kv = sanitize_owned(kv);
            match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv, String::new()),
            }
        })
        .collect();

    let network_mode = clean(host.network_mode.clone());
    let cpu_limit_millis = cpu_limit_millis(host.nano_cpus, host.cpu_quota, host.cpu_period);
    let restart_policy = host
        .restart_policy
        .map(|p| {
            let name = p.name.map(|n| n.to_string()).unwrap_or_default();
            match p.maximum_retry_count {
                Some(n) if n > 0 => format!("{name}:{n}"),
                _ => name,
            }
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "no".into());

    let mounts = inspect
        .mounts
        .unwrap_or_default()
        .into_iter()
        .map(mount)
        .collect();

    let clean_vec = |v: Option<Vec<String>>| {
        v.unwrap_or_default()
            .into_iter()
            .map(sanitize_owned)
            .collect()
    };

    let name = clean(inspect.name);
    Container {
        id: clean(inspect.id),
        name: name.trim_start_matches('/').to_string(),
        image: clean(config.image),
        state: state
            .status
            .map(|s| ContainerState::parse(s.as_ref()))
            .unwrap_or(ContainerState::Unknown),
        health,
        created: inspect.created.as_deref().and_then(parse_time),
        started_at: state.started_at.as_deref().and_then(parse_time),
        finished_at: state.finished_at.as_deref().and_then(parse_time),
        restart_count: inspect.restart_count.unwrap_or(0),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        labels: clean_map(config.labels),
        networks,
        ports,
        detail: ContainerDetail {
            command: clean_vec(config.cmd),
            entrypoint: clean_vec(config.entrypoint),
            env,
            mounts,
            restart_policy,
            network_mode,
            hostname: clean(config.hostname),
            user: clean(config.user),
            working_dir: clean(config.working_dir),
            healthcheck: clean_vec(config.healthcheck.and_then(|h| h.test)),
            cpu_limit_millis,
            last_health_output,
            state_error: clean_opt(state.error),
        },
        list_status: sanitize_owned(list_status),
    }
}

/// A container's place on one network, as inspect and the list both describe it.
fn attachment(name: String, ep: EndpointSettings) -> NetAttachment {
    NetAttachment {
        network: sanitize_owned(name),
        ipv4: clean_opt(ep.ip_address),
        ipv6: clean_opt(ep.global_ipv6_address),
        static_ipv4: ep.ipam_config.and_then(|c| clean_opt(c.ipv4_address)),
        gateway: clean_opt(ep.gateway),
        mac: clean_opt(ep.mac_address),
    }
}

fn mount(m: MountPoint) -> Mount {
    Mount {
        kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
        source: clean(m.source.or(m.name)),
        destination: clean(m.destination),
        read_write: m.rw.unwrap_or(true),
    }
}

fn sort_ports(ports: &mut Vec<PortBinding>) {
    ports.sort_by(|a, b| (a.private, &a.proto, a.public).cmp(&(b.private, &b.proto, b.public)));
    // IPv4 and IPv6 listeners for the same port read as one binding.
    ports.dedup_by(|a, b| a.private == b.private && a.proto == b.proto && a.public == b.public);
}

/// A container from the daemon's list alone (`/containers/json`), shown until its inspect comes
/// in: name, image, state, labels, networks with their addresses (static ones included), ports,
/// mounts and the network mode are all there. Health and exit code are read from the status
/// text ("Up 3 minutes (unhealthy)", "Exited (3) 2 hours ago"); restart count, OOM, start and
/// finish times and the rest of the detail wait for the inspect.
pub fn listed_container(s: ContainerSummary) -> Container {
    let status = s.status.unwrap_or_default();
    let mut networks: Vec<NetAttachment> = s
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| attachment(name, ep))
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    let mut ports: Vec<PortBinding> = s
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| PortBinding {
            private: p.private_port,
            public: p.public_port,
            host_ip: clean_opt(p.ip),
            proto: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
        })
        .collect();
    sort_ports(&mut ports);
    let (health, exit_code) = from_status(&status);
    let name = s
        .names
        .unwrap_or_default()
        .into_iter()
        .next()
        .unwrap_or_default();
    Container {
        id: clean(s.id),
        name: sanitize_owned(name).trim_start_matches('/').to_string(),
        image: clean(s.image),
        state: s
            .state
            .map(|st| ContainerState::parse(st.as_ref()))
            .unwrap_or(ContainerState::Unknown),
        health,
        created: s.created.and_then(|t| DateTime::from_timestamp(t, 0)),
        started_at: None,
        finished_at: None,
        restart_count: 0,
        exit_code,
        oom_killed: false,
        labels: clean_map(s.labels),
        networks,
        ports,
        detail: ContainerDetail {
            mounts: s
                .mounts
                .unwrap_or_default()
                .into_iter()
                .map(mount)
                .collect(),
            network_mode: clean(s.host_config.and_then(|h| h.network_mode)),
            ..ContainerDetail::default()
        },
        list_status: sanitize_owned(status),
    }
}

/// What Docker's status text states for sure (`container.State.String()`): the health in the
/// parentheses after "Up …", and the exit code of "Exited (N) …" / "Restarting (N) …".
fn from_status(status: &str) -> (Health, Option<i64>) {
    let paren = status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.trim());
    let health = if status.starts_with("Up ") {
        match paren {
            Some("health: starting") => Health::Starting,
            Some(h) => Health::parse(h),
            None => Health::None,
        }
    } else {
        Health::None
    };
    let exit_code = if status.starts_with("Exited ") || status.starts_with("Restarting ") {
        paren.and_then(|p| p.parse().ok())
    } else {
        None
    };
    (health, exit_code)
}

/// A container's CPU limit in thousandths of a CPU: `--cpus` (NanoCpus), else
/// `--cpu-quota` over `--cpu-period` (100 ms when not given, as the kernel defaults it).
pub fn cpu_limit_millis(nano: Option<i64>, quota: Option<i64>, period: Option<i64>) -> Option<u64> {
    if let Some(n) = nano.filter(|n| *n > 0) {
        return u64::try_from(n / 1_000_000).ok().filter(|m| *m > 0);
    }
    let quota = quota.filter(|q| *q > 0)?;
    let period = period.filter(|p| *p > 0).unwrap_or(100_000);
    u64::try_from(quota.saturating_mul(1000) / period)
        .ok()
        .filter(|m| *m > 0)
}

pub fn daemon_info(info: SystemInfo, version: SystemVersion, agreed_api: String) -> DaemonInfo {
    let swarm = info
        .swarm
        .as_ref()
        .map(|s| {
            let state = s
                .local_node_state
                .map(|st| st.to_string())
                .unwrap_or_default();
            match (state.as_str(), s.control_available) {
                ("active", Some(true)) => "active (manager)".to_string(),
                ("active", _) => "active (worker)".to_string(),
                ("", _) => "inactive".to_string(),
                (other, _) => other.to_string(),
            }
        })
        .unwrap_or_else(|| "inactive".into());
    let node_id = clean(info.swarm.as_ref().and_then(|s| s.node_id.clone()));
    DaemonInfo {
        hostname: clean(info.name),
        engine_version: clean(version.version.or(info.server_version)),
        api_version: agreed_api,
        server_api_version: clean(version.api_version),
        os: clean(info.operating_system),
        kernel: clean(info.kernel_version),
        arch: clean(info.architecture),
        cpus: info.ncpu.unwrap_or(0),
        memory_bytes: info.mem_total.unwrap_or(0),
        swarm,
        storage_driver: clean(info.driver),
        labels: engine_labels(info.labels.unwrap_or_default()),
        node_id,
        swarm_nodes: Vec::new(),
    }
}

/// `docker info` lists engine labels as "k=v" strings; the daemon refuses one without "=",
/// but an old one may have it: then it is a key with an empty value. A repeated key: the last
/// one counts, as in a label map.
fn engine_labels(raw: Vec<String>) -> BTreeMap<String, String> {
    raw.into_iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (sanitize_owned(k.to_string()), sanitize_owned(v.to_string())),
            None => (sanitize_owned(l), String::new()),
        })
        .collect()
}

pub fn swarm_node(n: Node) -> SwarmNode {
    SwarmNode {
        id: clean(n.id),
        hostname: clean(n.description.and_then(|d| d.hostname)),
        labels: clean_map(n.spec.and_then(|s| s.labels)),
    }
}

/// A node as the nodes view shows it.
pub fn swarm_node_row(n: Node) -> swarm::SwarmNodeRow {
    let spec = n.spec.unwrap_or_default();
    let desc = n.description.unwrap_or_default();
    let status = n.status.unwrap_or_default();
    let resources = desc.resources.unwrap_or_default();
    swarm::SwarmNodeRow {
        id: clean(n.id),
        hostname: clean(desc.hostname),
        role: spec.role.map(|r| r.to_string()).unwrap_or_default(),
        leader: n.manager_status.and_then(|m| m.leader) == Some(true),
        availability: spec.availability.map(|a| a.to_string()).unwrap_or_default(),
        state: status.state.map(|s| s.to_string()).unwrap_or_default(),
        engine_version: clean(desc.engine.and_then(|e| e.engine_version)),
        addr: clean(status.addr),
        labels: clean_map(spec.labels),
        nano_cpus: resources.nano_cpus.unwrap_or(0),
        memory_bytes: resources.memory_bytes.unwrap_or(0),
    }
}

/// A reference without Swarm's `@sha256:` pin, as the operator wrote it.
pub fn unpinned(image: &str) -> String {
    sanitize_owned(image.split('@').next().unwrap_or(image).to_string())
}

pub fn swarm_service(s: Service) -> swarm::SwarmService {
    let spec = s.spec.unwrap_or_default();
    let image = spec
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.as_deref())
        .map(unpinned)
        .unwrap_or_default();
    let mode = match spec.mode.as_ref() {
        Some(m) if m.replicated.is_some() => swarm::ServiceMode::Replicated(
            m.replicated
                .as_ref()
                .and_then(|r| r.replicas)
                .and_then(|r| u64::try_from(r).ok())
                .unwrap_or(1),
        ),
        Some(m) if m.global.is_some() => swarm::ServiceMode::Global,
        // Jobs: as many as Swarm means to run.
        _ => swarm::ServiceMode::Global,
    };
    let mut ports: Vec<String> = s
        .endpoint
        .and_then(|e| e.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let proto = p.protocol.map(|p| p.to_string()).unwrap_or_default();
            let proto = if proto.is_empty() {
                "tcp".into()
            } else {
                proto
            };
            match p.published_port {
                Some(public) => format!("{public}:{}/{proto}", p.target_port.unwrap_or(0)),
                None => format!("{}/{proto}", p.target_port.unwrap_or(0)),
            }
        })
        .collect();
    ports.sort();
    ports.dedup();
    let update = s.update_status.map(|u| swarm::UpdateStatus {
        state: u.state.map(|s| s.to_string()).unwrap_or_default(),
        message: clean(u.message),
        started_at: u.started_at.as_deref().and_then(parse_time),
    });
    swarm::SwarmService {
        id: clean(s.id),
        name: clean(spec.name),
        image,
        mode,
        ports,
        update,
    }
}

pub fn swarm_task(t: Task) -> swarm::SwarmTask {
    let status = t.status.unwrap_or_default();
    let spec = t.spec.unwrap_or_default();
    let reserved = spec
        .resources
        .and_then(|r| r.reservations)
        .unwrap_or_default();
    swarm::SwarmTask {
        id: clean(t.id),
        service_id: clean(t.service_id),
        slot: t.slot,
        node_id: clean(t.node_id),
        image: spec
            .container_spec
            .and_then(|c| c.image)
            .map(|i| unpinned(&i))
            .unwrap_or_default(),
        state: status.state.map(|s| s.to_string()).unwrap_or_default(),
        desired: t.desired_state.map(|s| s.to_string()).unwrap_or_default(),
        error: clean(status.err),
        created_at: t.created_at.as_deref().and_then(parse_time),
        since: status.timestamp.as_deref().and_then(parse_time),
        reserved_nano_cpus: reserved.nano_cpus.unwrap_or(0),
        reserved_memory: reserved.memory_bytes.unwrap_or(0),
    }
}

pub fn network(n: Network) -> NetworkInfo {
    let pools = n
        .ipam
        .and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            Some(IpamPool {
                subnet: clean_opt(c.subnet)?,
                ip_range: clean_opt(c.ip_range),
                gateway: clean_opt(c.gateway),
                aux_addresses: clean_map(c.auxiliary_addresses),
            })
        })
        .collect();
    NetworkInfo {
        id: clean(n.id),
        name: clean(n.name),
        driver: clean(n.driver),
        scope: clean(n.scope),
        internal: n.internal.unwrap_or(false),
        pools,
        labels: clean_map(n.labels),
        options: clean_map(n.options),
    }
}

pub fn image(i: ImageSummary) -> ImageInfo {
    ImageInfo {
        id: sanitize_owned(i.id),
        tags: i
            .repo_tags
            .into_iter()
            .filter(|t| t != "<none>:<none>")
            .map(sanitize_owned)
            .collect(),
        size_bytes: i.size,
        created: DateTime::from_timestamp(i.created, 0),
    }
}

/// A Docker event as the fleet's event log keeps it: the actor named for humans, the attributes
/// that matter for this action pulled out, everything sanitised.
pub fn event(endpoint: EndpointId, ev: &EventMessage) -> Option<FleetEvent> {
    let time_nano = ev
        .time_nano
        .filter(|t| *t > 0)
        .or_else(|| ev.time.map(|t| t.saturating_mul(1_000_000_000)))?;
    let kind = ev.typ.map(|t| t.to_string()).unwrap_or_default();
    let action = clean(ev.action.clone());
    // Every healthcheck run is an exec_create/exec_start/exec_die triple: on a fleet with
    // healthchecks they would be most of the stream and drown what matters. Health changes
    // arrive as health_status events. The subscription does not ask for them
    // (`sync::EVENT_ACTIONS`); this is for a daemon that sends them anyway.
    if kind == "container" && action.starts_with("exec_") {
        return None;
    }
    let empty = HashMap::new();
    let actor = ev.actor.as_ref();
    let attrs = actor.and_then(|a| a.attributes.as_ref()).unwrap_or(&empty);
    let attr = |k: &str| attrs.get(k).map(|v| sanitize_owned(v.clone()));
    let actor_id = clean(actor.and_then(|a| a.id.clone()));
    let actor_name = attr("name").unwrap_or_else(|| actor_id.clone());
    let exit_code = attr("exitCode").and_then(|c| c.parse().ok());
    let verb = action.split(':').next().unwrap_or("").trim().to_string();
    let mut details = Vec::new();
    match (kind.as_str(), verb.as_str()) {
        ("container", "die") => {
            if let Some(code) = exit_code {
                details.push(format!("exit {code}"));
            }
        }
        ("container", "kill") => {
            if let Some(sig) = attr("signal") {
                details.push(format!("signal {sig}"));
            }
        }
        // Swarm, on a manager: what changed, old to new, in Swarm's words (lower case).
        ("service", _) => {
            if let (Some(old), Some(new)) = (attr("replicas.old"), attr("replicas.new")) {
                details.push(format!("replicas {new} (was {old})"));
            }
            if let Some(image) = attr("image.new") {
                details.push(format!("image {}", unpinned(&image)));
            }
            if let Some(state) = attr("updatestate.new") {
                details.push(format!("update {}", state.to_lowercase()));
            }
        }
        ("node", _) => {
            for what in ["state", "availability", "role"] {
                if let Some(new) = attr(&format!("{what}.new")) {
                    let old = attr(&format!("{what}.old")).unwrap_or_default();
                    details.push(format!(
                        "{what} {} (was {})",
                        new.to_lowercase(),
                        old.to_lowercase()
                    ));
                }
            }
        }
        ("network", "connect" | "disconnect") => {
            if let Some(c) = attr("container") {
                details.push(format!("container {}", &c[..c.len().min(12)]));
            }
        }
        _ => {}
    }
    if kind == "container"
        && let Some(image) = attr("image")
    {
        details.push(format!("image {image}"));
    }
    let mut fe = FleetEvent {
        time_nano,
        endpoint,
        kind,
        action,
        actor_id,
        actor: actor_name,
        details,
        exit_code,
        severity: Severity::Info,
        restart_loop: false,
    };
    fe.classify();
    Some(fe)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cpu_limit_reads_from_cpus_or_quota_over_period() {
        assert_eq!(cpu_limit_millis(Some(500_000_000), None, None), Some(500));
        assert_eq!(
            cpu_limit_millis(None, Some(150_000), Some(100_000)),
            Some(1500)
        );
        assert_eq!(
            cpu_limit_millis(None, Some(50_000), None),
            Some(500),
            "100 ms period"
        );
        assert_eq!(cpu_limit_millis(Some(0), Some(-1), Some(0)), None);
        assert_eq!(cpu_limit_millis(None, None, None), None);
    }
    use super::*;

    #[test]
    fn the_status_text_tells_health_and_exit_code_before_the_inspect() {
        assert_eq!(
            from_status("Up 3 minutes (healthy)"),
            (Health::Healthy, None)
        );
        assert_eq!(
            from_status("Up 2 hours (unhealthy)"),
            (Health::Unhealthy, None)
        );
        assert_eq!(
            from_status("Up 5 seconds (health: starting)"),
            (Health::Starting, None)
        );
        assert_eq!(from_status("Up 3 minutes (Paused)"), (Health::None, None));
        assert_eq!(from_status("Up 3 minutes"), (Health::None, None));
        assert_eq!(
            from_status("Exited (137) 2 hours ago"),
            (Health::None, Some(137))
        );
        assert_eq!(
            from_status("Restarting (1) 3 seconds ago"),
            (Health::None, Some(1))
        );
        assert_eq!(from_status("Created"), (Health::None, None));
    }
    use bollard::models::{ContainerSummaryStateEnum, EventMessageTypeEnum};

    #[test]
    fn zero_time_means_never() {
        assert!(parse_time("0001-01-01T00:00:00Z").is_none());
        assert!(parse_time("2026-11-26T17:00:00.123456789Z").is_some());
    }

    #[test]
    fn fingerprint_ignores_the_ticking_uptime() {
        let s = |state, status: &str| ContainerSummary {
            state: Some(state),
            status: Some(status.into()),
            ..ContainerSummary::default()
        };
        use ContainerSummaryStateEnum::*;
        assert_eq!(
            list_fingerprint(&s(RUNNING, "Up 3 minutes (healthy)")),
            list_fingerprint(&s(RUNNING, "Up 4 minutes (healthy)"))
        );
        assert_ne!(
            list_fingerprint(&s(RUNNING, "Up 3 minutes (healthy)")),
            list_fingerprint(&s(RUNNING, "Up 3 minutes (unhealthy)"))
        );
        assert_eq!(
            list_fingerprint(&s(EXITED, "Exited (3) 2 hours ago")),
            "exited(3)"
        );
    }

    #[test]
    fn hostile_names_and_labels_are_sanitised_on_the_way_in() {
        let inspect = ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/evil\x1b]0;pwned\x07".into()),
            config: Some(bollard::models::ContainerConfig {
                labels: Some(HashMap::from([("k\x1b[2J".into(), "v\x1b[31m".into())])),
                env: Some(vec!["SECRET=\x1b[2Jx".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = container(inspect, String::new());
        assert_eq!(c.name, "evil␛]0;pwned␇");
        assert_eq!(c.labels.get("k␛[2J").map(String::as_str), Some("v␛[31m"));
        assert_eq!(c.detail.env[0].1, "␛[2Jx");
    }

    #[test]
    fn engine_and_node_labels_are_split_and_sanitised() {
        let info = SystemInfo {
            labels: Some(vec![
                "subnet=192.168.2.0/24".into(),
                "dc=us-east".into(),
                "note=a=b".into(),
                "bare".into(),
                "evil\x1b]0;x\x07=v\x1b[2J".into(),
            ]),
            swarm: Some(bollard::models::SwarmInfo {
                node_id: Some("n1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let d = daemon_info(info, SystemVersion::default(), "1.41".into());
        let labels: Vec<(&str, &str)> = d
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("bare", ""),
                ("dc", "us-east"),
                ("evil␛]0;x␇", "v␛[2J"),
                ("note", "a=b"),
                ("subnet", "192.168.2.0/24"),
            ]
        );
        assert_eq!(d.node_id, "n1");
        let node = swarm_node(Node {
            id: Some("n1".into()),
            description: Some(bollard::models::NodeDescription {
                hostname: Some("vm\x1b[2J".into()),
                ..Default::default()
            }),
            spec: Some(bollard::models::NodeSpec {
                labels: Some(HashMap::from([("tier".into(), "edge\x07".into())])),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(node.hostname, "vm␛[2J");
        assert_eq!(node.labels["tier"], "edge␇");
    }

    #[test]
    fn swarm_rows_keep_hostile_text_inert_and_read_the_numbers() {
        let node = swarm_node_row(Node {
            id: Some("n1".into()),
            description: Some(bollard::models::NodeDescription {
                hostname: Some("vm\x1b]0;owned\x07".into()),
                resources: Some(bollard::models::ResourceObject {
                    nano_cpus: Some(2_000_000_000),
                    memory_bytes: Some(1 << 30),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            spec: Some(bollard::models::NodeSpec {
                labels: Some(HashMap::from([("dc\x1b[2J".into(), "x".into())])),
                availability: Some(bollard::models::NodeSpecAvailabilityEnum::DRAIN),
                role: Some(bollard::models::NodeSpecRoleEnum::WORKER),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(node.hostname, "vm␛]0;owned␇");
        assert!(node.labels.contains_key("dc␛[2J"));
        assert_eq!(
            (node.role.as_str(), node.availability.as_str()),
            ("worker", "drain")
        );
        assert_eq!(
            (node.nano_cpus, node.memory_bytes),
            (2_000_000_000, 1 << 30)
        );
        let task = swarm_task(Task {
            id: Some("t1".into()),
            status: Some(bollard::models::TaskStatus {
                err: Some("starting container failed: \x1b[31mno\x1b[0m".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(task.error, "starting container failed: ␛[31mno␛[0m");
    }

    fn swarm_event(typ: EventMessageTypeEnum, attrs: &[(&str, &str)]) -> FleetEvent {
        let ev = EventMessage {
            typ: Some(typ),
            action: Some("update".into()),
            actor: Some(bollard::models::EventActor {
                id: Some("x1".into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            time_nano: Some(1),
            ..Default::default()
        };
        event(0, &ev).unwrap()
    }

    #[test]
    fn swarm_events_say_what_changed_and_how_much_it_matters() {
        use bollard::models::EventMessageTypeEnum as T;
        // As Docker 20.10 sends them.
        let e = swarm_event(
            T::NODE,
            &[
                ("name", "lab7"),
                ("availability.new", "drain"),
                ("availability.old", "active"),
            ],
        );
        assert_eq!(
            (e.actor.as_str(), e.details.as_slice()),
            ("lab7", &["availability drain (was active)".to_string()][..])
        );
        assert_eq!(e.severity, Severity::Warning);
        let e = swarm_event(
            T::NODE,
            &[
                ("name", "lab7"),
                ("state.new", "down"),
                ("state.old", "ready"),
            ],
        );
        assert_eq!(e.severity, Severity::Critical);
        let e = swarm_event(
            T::SERVICE,
            &[
                ("name", "web"),
                ("replicas.new", "3"),
                ("replicas.old", "1"),
            ],
        );
        assert_eq!(e.details, ["replicas 3 (was 1)"]);
        assert_eq!(e.severity, Severity::Info);
        let e = swarm_event(
            T::SERVICE,
            &[
                ("name", "web"),
                ("image.new", "busybox:v1@sha256:abc"),
                ("updatestate.new", "rollback_started"),
                ("updatestate.old", "updating"),
            ],
        );
        assert_eq!(e.details, ["image busybox:v1", "update rollback_started"]);
        assert_eq!(e.severity, Severity::Warning);
    }
}
