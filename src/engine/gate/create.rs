//! A deploy's container as Docker's create request, and the connect request for each further
//! network. The spec's fields are laid over the carried settings of the revision it replaces
//! (its whole `Config` and `HostConfig`, less what its image provides): a spec file that
//! describes the whole service decides every key it can express; the dashboard form, or a
//! spec for a container fleetdeck did not create, changes only what it sets.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, NetworkConnectRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};

use crate::model::deploy::{CreateSpec, RestartPolicy as Policy};

/// The body of a create: the spec alone for a new service; for an update, the spec laid over
/// the running revision's settings.
pub fn create_body(spec: &CreateSpec) -> Result<ContainerCreateBody, String> {
    let mine = spec_body(spec);
    let Some(base) = &spec.base else {
        return Ok(mine);
    };
    let mut body: ContainerCreateBody = serde_json::from_value(base.config.clone())
        .map_err(|e| format!("the carried config does not read back: {e}"))?;
    let mut host: HostConfig = serde_json::from_value(base.host_config.clone())
        .map_err(|e| format!("the carried host config does not read back: {e}"))?;
    let mine_host = mine.host_config.clone().unwrap_or_default();
    body.image = mine.image;
    let run = &spec.run;
    if spec.complete {
        // The spec says the whole of what it can express: what it leaves out is unset.
        body.cmd = mine.cmd;
        body.env = mine.env;
        body.labels = mine.labels;
        body.exposed_ports = mine.exposed_ports;
        body.healthcheck = mine.healthcheck;
        host.port_bindings = mine_host.port_bindings;
        host.restart_policy = mine_host.restart_policy;
        host.nano_cpus = mine_host.nano_cpus;
        host.memory = mine_host.memory;
        host.binds = mine_host.binds;
        host.extra_hosts = mine_host.extra_hosts;
        host.dns = mine_host.dns;
        host.cap_add = mine_host.cap_add;
        host.cap_drop = mine_host.cap_drop;
    } else {
        if mine.cmd.is_some() {
            body.cmd = mine.cmd;
        }
        // Env: the spec's keys win, the rest stays.
        if let Some(env) = mine.env {
            let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
            let set: Vec<String> = env.iter().map(|e| key(e)).collect();
            let mut merged: Vec<String> = body
                .env
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| !set.contains(&key(e)))
                .collect();
            merged.extend(env);
            body.env = Some(merged);
        }
        let mut labels = body.labels.take().unwrap_or_default();
        labels.extend(mine.labels.unwrap_or_default());
        body.labels = Some(labels);
        if let Some(exposed) = mine.exposed_ports {
            let mut all = body.exposed_ports.take().unwrap_or_default();
            for p in exposed {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            body.exposed_ports = Some(all);
        }
        if mine.healthcheck.is_some() {
            body.healthcheck = mine.healthcheck;
        }
        if let Some(bindings) = mine_host.port_bindings {
            host.port_bindings
                .get_or_insert_with(Default::default)
                .extend(bindings);
        }
        // "no" is what a spec without `restart` says: the running one's policy stays.
        if mine_host.restart_policy.as_ref().and_then(|r| r.name) != Some(RestartPolicyNameEnum::NO)
        {
            host.restart_policy = mine_host.restart_policy;
        }
        if mine_host.nano_cpus.is_some() {
            host.nano_cpus = mine_host.nano_cpus;
        }
        if mine_host.memory.is_some() {
            host.memory = mine_host.memory;
        }
        // A volume of the spec takes the place of the carried one at the same target.
        if let Some(binds) = mine_host.binds {
            let target = |b: &str| b.split(':').nth(1).unwrap_or_default().to_string();
            let targets: Vec<String> = binds.iter().map(|b| target(b)).collect();
            let mut all: Vec<String> = host
                .binds
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|b| !targets.contains(&target(b)))
                .collect();
            all.extend(binds);
            host.binds = Some(all);
        }
        let lists = [
            (&mut host.extra_hosts, mine_host.extra_hosts),
            (&mut host.dns, mine_host.dns),
            (&mut host.cap_add, mine_host.cap_add),
            (&mut host.cap_drop, mine_host.cap_drop),
        ];
        for (carried, set) in lists {
            if set.is_some() {
                *carried = set;
            }
        }
    }
    // One value each: the spec's when it sets one, else the running revision's (a spec that
    // leaves out its user does not reset the container's).
    if run.user.is_some() {
        body.user = mine.user;
    }
    if run.working_dir.is_some() {
        body.working_dir = mine.working_dir;
    }
    if run.entrypoint.is_some() {
        body.entrypoint = mine.entrypoint;
    }
    if run.hostname.is_some() {
        body.hostname = mine.hostname;
    }
    if run.stop_signal.is_some() {
        body.stop_signal = mine.stop_signal;
    }
    if run.stop_timeout_s.is_some() {
        body.stop_timeout = mine.stop_timeout;
    }
    if run.log.is_some() {
        host.log_config = mine_host.log_config;
    }
    // Which network it joins first is the spec's to say, unless the running revision has
    // no network of its own (host, none, another container's) and the spec names none.
    let carried_mode = host.network_mode.take();
    host.network_mode = match (&spec.network, carried_mode) {
        (None, Some(m)) if m == "host" || m == "none" || m.starts_with("container:") => Some(m),
        _ => mine_host.network_mode,
    };
    body.host_config = Some(host);
    body.networking_config = mine.networking_config;
    Ok(body)
}

/// The body of a create from the spec alone.
fn spec_body(spec: &CreateSpec) -> ContainerCreateBody {
    let secs = |s: u64| i64::try_from(s.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX);
    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.proto);
        exposed.push(key.clone());
        if let Some(host_port) = p.host_port {
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: p.host_ip.clone(),
                    host_port: Some(host_port.to_string()),
                });
        }
    }
    let restart = RestartPolicy {
        name: Some(match spec.restart {
            Policy::No => RestartPolicyNameEnum::NO,
            Policy::Always => RestartPolicyNameEnum::ALWAYS,
            Policy::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
            Policy::OnFailure { .. } => RestartPolicyNameEnum::ON_FAILURE,
        }),
        maximum_retry_count: match spec.restart {
            Policy::OnFailure {
                max_retries: Some(n),
            } => Some(i64::from(n)),
            _ => None,
        },
    };
    let networking_config = spec.network.as_ref().map(|net| NetworkingConfig {
        endpoints_config: Some(
            [(
                net.clone(),
                EndpointSettings {
                    ipam_config: spec.ipv4.as_ref().map(|ip| EndpointIpamConfig {
                        ipv4_address: Some(ip.clone()),
                        ..Default::default()
                    }),
                    aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                    ..Default::default()
                },
            )]
            .into(),
        ),
    });
    let run = &spec.run;
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
        env: (!spec.env.is_empty()).then(|| spec.env.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), h.command.clone()]),
            interval: Some(secs(h.interval_s)),
            timeout: Some(secs(h.timeout_s)),
            retries: Some(i64::from(h.retries)),
            start_period: Some(secs(h.start_period_s)),
            start_interval: None,
        }),
        user: run.user.clone(),
        working_dir: run.working_dir.clone(),
        entrypoint: run.entrypoint.clone(),
        hostname: run.hostname.clone(),
        stop_signal: run.stop_signal.clone(),
        stop_timeout: run.stop_timeout_s,
        host_config: Some(HostConfig {
            network_mode: spec.network.clone(),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            restart_policy: Some(restart),
            nano_cpus: spec.nano_cpus,
            memory: spec.memory_bytes,
            binds: list(&run.volumes),
            extra_hosts: list(&run.extra_hosts),
            dns: list(&run.dns),
            cap_add: list(&run.cap_add),
            cap_drop: list(&run.cap_drop),
            log_config: run.log.as_ref().map(|l| HostConfigLogConfig {
                typ: Some(l.driver.clone()),
                config: Some(l.options.clone().into_iter().collect()),
            }),
            ..Default::default()
        }),
        networking_config,
        ..Default::default()
    }
}

/// Joining `container` to a further network, with its fixed address and aliases.
pub fn connect_request(
    container: &str,
    ipv4: Option<&str>,
    aliases: &[String],
) -> NetworkConnectRequest {
    NetworkConnectRequest {
        container: container.to_string(),
        endpoint_config: Some(EndpointSettings {
            ipam_config: ipv4.map(|ip| EndpointIpamConfig {
                ipv4_address: Some(ip.to_string()),
                ..Default::default()
            }),
            aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
            ..Default::default()
        }),
    }
}
