//! A deploy's container as Docker's create request, and the connect request for each further
//! network. The spec's fields are laid over the carried settings of the revision it replaces
//! (its whole `Config` and `HostConfig`, less what its image provides): a spec file that
//! describes the whole service decides every key it can express; the dashboard form, or a
//! spec for a container fleetdeck did not create, changes only what it sets.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, Mount, MountBindOptions, MountType, MountVolumeOptions,
    NetworkConnectRequest, NetworkingConfig, PortBinding, PortMap, RestartPolicy,
    RestartPolicyNameEnum,
};

use crate::model::deploy::run::check_volume;
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
    // The swap limit the daemon set to twice a memory limit the spec now changes goes with
    // it (the daemon sets it again): kept, a raised limit would exceed it and be refused.
    let new_memory = if spec.complete {
        mine_host.memory
    } else {
        mine_host.memory.or(host.memory)
    };
    if new_memory != host.memory && host.memory_swap == host.memory.map(|m| m * 2) {
        host.memory_swap = None;
    }
    body.image = mine.image;
    let run = &spec.run;
    if spec.complete {
        // The spec says the whole of what it can express: what it leaves out is unset.
        body.cmd = mine.cmd;
        body.env = Some(env_over(
            body.env.take(),
            mine.env.unwrap_or_default(),
            true,
        ))
        .filter(|e| !e.is_empty());
        body.labels = mine.labels;
        body.exposed_ports = mine.exposed_ports;
        // A disabled healthcheck (`--no-healthcheck`) is no key of a spec: it stays unless
        // the spec has a healthcheck of its own.
        let disabled = body
            .healthcheck
            .as_ref()
            .and_then(|h| h.test.as_ref())
            .and_then(|t| t.first())
            .is_some_and(|t| t == "NONE");
        if mine.healthcheck.is_some() || !disabled {
            body.healthcheck = mine.healthcheck;
        }
        host.port_bindings = ports_over(host.port_bindings.take(), mine_host.port_bindings, spec);
        host.restart_policy = mine_host.restart_policy;
        host.nano_cpus = mine_host.nano_cpus;
        host.memory = mine_host.memory;
        host.extra_hosts = mine_host.extra_hosts;
        host.dns = mine_host.dns;
        host.cap_add = mine_host.cap_add;
        host.cap_drop = mine_host.cap_drop;
    } else {
        if mine.cmd.is_some() {
            body.cmd = mine.cmd;
        }
        if let Some(env) = mine.env {
            body.env = Some(env_over(body.env.take(), env, false));
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
    lay_volumes(&mut host, &run.volumes, spec.complete);
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

/// The spec's env over the carried: its keys win in their place (the container's order
/// stays, so an unchanged env reads back the same), new keys come last; a complete spec
/// also unsets the keys it leaves out.
fn env_over(carried: Option<Vec<String>>, env: Vec<String>, complete: bool) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let mut merged = carried.unwrap_or_default();
    if complete {
        let keys: Vec<String> = env.iter().map(|e| key(e)).collect();
        merged.retain(|e| keys.contains(&key(e)));
    }
    for e in env {
        match merged.iter_mut().find(|m| key(m) == key(&e)) {
            Some(m) => *m = e,
            None => merged.push(e),
        }
    }
    merged
}

/// A complete spec's port bindings, and the carried ones that publish a port the spec exposes
/// on a host port Docker picks (`-p 80`): no spec can say that, so it stays.
fn ports_over(
    carried: Option<PortMap>,
    mine: Option<PortMap>,
    spec: &CreateSpec,
) -> Option<PortMap> {
    let mut bindings = mine.unwrap_or_default();
    for (key, list) in carried.unwrap_or_default() {
        let exposed = spec
            .ports
            .iter()
            .any(|p| p.host_port.is_none() && format!("{}/{}", p.container_port, p.proto) == key);
        let picked: Vec<PortBinding> = list
            .into_iter()
            .flatten()
            .filter(|b| b.host_port.as_deref().unwrap_or_default().is_empty())
            .collect();
        if exposed && !picked.is_empty() && !bindings.contains_key(&key) {
            bindings.insert(key, Some(picked));
        }
    }
    (!bindings.is_empty()).then_some(bindings)
}

/// The spec's volumes over the carried binds and mounts. A carried mount (`--mount`) that says
/// what one of the spec's volumes says stays as it is; one at a target the spec mounts
/// something else at gives way, and so does a carried bind. A complete spec also unsets the
/// carried binds and plain mounts it leaves out (it could have listed them); binds and mounts
/// it could not express (tmpfs, options) stay.
fn lay_volumes(host: &mut HostConfig, volumes: &[String], complete: bool) {
    if volumes.is_empty() && !complete {
        return;
    }
    let target = |b: &str| b.split(':').nth(1).unwrap_or_default().to_string();
    let targets: Vec<String> = volumes.iter().map(|v| target(v)).collect();
    let mut said_by_mount: Vec<&String> = Vec::new();
    let mut mounts = host.mounts.take().unwrap_or_default();
    mounts.retain(|m| {
        let plain = mount_as_volume(m);
        if let Some(v) = volumes.iter().find(|v| Some(*v) == plain.as_ref()) {
            said_by_mount.push(v);
            return true;
        }
        let at_target = m
            .target
            .as_deref()
            .is_some_and(|t| targets.iter().any(|s| s == t));
        // Gives way to the spec's volume there; a complete spec unsets what it leaves out.
        let replaced = at_target || (complete && plain.is_some());
        !replaced
    });
    let mut binds: Vec<String> = host
        .binds
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|b| {
            let replaced = targets.contains(&target(b)) || (complete && check_volume(b).is_ok());
            !replaced
        })
        .collect();
    binds.extend(
        volumes
            .iter()
            .filter(|v| !said_by_mount.contains(v))
            .cloned(),
    );
    host.binds = (!binds.is_empty()).then_some(binds);
    host.mounts = (!mounts.is_empty()).then_some(mounts);
}

/// A mount (`--mount`) as a spec's `volumes` entry, `SOURCE:TARGET[:ro]`, when it is one: a
/// named volume or a host path with no options. `None` for tmpfs, anonymous volumes,
/// propagation, volume driver options and the like, which a spec cannot say.
pub fn mount_as_volume(m: &Mount) -> Option<String> {
    if !matches!(m.typ, Some(MountType::BIND | MountType::VOLUME)) {
        return None;
    }
    let source = m.source.as_deref().filter(|s| !s.is_empty())?;
    let target = m.target.as_deref().filter(|t| !t.is_empty())?;
    let plain = m
        .consistency
        .as_deref()
        .is_none_or(|c| c.is_empty() || c == "default")
        && m.bind_options
            .as_ref()
            .is_none_or(|o| *o == MountBindOptions::default())
        && m.volume_options
            .as_ref()
            .is_none_or(|o| *o == MountVolumeOptions::default())
        && m.tmpfs_options.is_none()
        && m.image_options.is_none();
    let text = if m.read_only == Some(true) {
        format!("{source}:{target}:ro")
    } else {
        format!("{source}:{target}")
    };
    (plain && check_volume(&text).is_ok()).then_some(text)
}

/// A capability as the daemon keeps it (20.10 and later write `CAP_NET_ADMIN` for
/// `--cap-add net_admin`): sent that way, the next revision reads back the same.
fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
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
    let caps = |v: &Vec<String>| (!v.is_empty()).then(|| v.iter().map(|c| capability(c)).collect());
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
            cap_add: caps(&run.cap_add),
            cap_drop: caps(&run.cap_drop),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::deploy::{BaseConfig, PortSpec, RunOptions};

    fn spec(volumes: &[&str], complete: bool) -> CreateSpec {
        CreateSpec {
            name: "web".into(),
            image: "busybox:2".into(),
            command: Vec::new(),
            env: Vec::new(),
            labels: Default::default(),
            ports: Vec::new(),
            network: None,
            ipv4: None,
            restart: Policy::No,
            healthcheck: None,
            nano_cpus: None,
            memory_bytes: None,
            aliases: Vec::new(),
            networks: Vec::new(),
            run: RunOptions {
                volumes: volumes.iter().map(ToString::to_string).collect(),
                ..Default::default()
            },
            complete,
            base: Some(BaseConfig {
                config: json!({"Healthcheck": {"Test": ["NONE"]}}),
                host_config: json!({
                    "Binds": ["aa:/a", "/srv/z:/z:z", "keep:/keep"],
                    "Mounts": [
                        {"Type": "volume", "Source": "v2", "Target": "/d2"},
                        {"Type": "bind", "Source": "/mnt", "Target": "/m",
                         "BindOptions": {"Propagation": "rshared"}},
                        {"Type": "bind", "Source": "/old", "Target": "/swap"}
                    ],
                    "PortBindings": {"81/tcp": [{"HostIp": "", "HostPort": ""}]}
                }),
            }),
        }
    }

    fn volumes_of(body: &ContainerCreateBody) -> (Vec<String>, Vec<String>) {
        let host = body.host_config.clone().unwrap_or_default();
        let mounts = host
            .mounts
            .iter()
            .flatten()
            .map(|m| m.target.clone().unwrap_or_default())
            .collect();
        (host.binds.unwrap_or_default(), mounts)
    }

    #[test]
    fn a_carried_mount_the_spec_names_stays_a_mount_and_one_at_its_target_gives_way() {
        let body = create_body(&spec(&["v2:/d2", "b:/a", "/new:/swap"], false)).unwrap();
        assert_eq!(
            volumes_of(&body),
            (
                vec![
                    "/srv/z:/z:z".to_string(),
                    "keep:/keep".into(),
                    "b:/a".into(),
                    "/new:/swap".into()
                ],
                vec!["/d2".to_string(), "/m".into()]
            )
        );
    }

    #[test]
    fn a_complete_spec_unsets_the_volumes_it_leaves_out_but_not_what_it_cannot_say() {
        let body = create_body(&spec(&["v2:/d2"], true)).unwrap();
        assert_eq!(
            volumes_of(&body),
            (
                vec!["/srv/z:/z:z".to_string()],
                vec!["/d2".to_string(), "/m".into()]
            )
        );
        // A disabled healthcheck and a port on a host port Docker picks: no key says them.
        let mut s = spec(&[], true);
        s.ports = vec![PortSpec {
            host_ip: None,
            host_port: None,
            container_port: 81,
            proto: "tcp".into(),
        }];
        let body = create_body(&s).unwrap();
        assert_eq!(
            body.healthcheck.and_then(|h| h.test),
            Some(vec!["NONE".to_string()])
        );
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(
            bindings["81/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("")
        );
        // Not exposed by the spec any more: gone.
        let body = create_body(&spec(&[], true)).unwrap();
        assert_eq!(body.host_config.unwrap().port_bindings, None);
    }

    #[test]
    fn the_spec_env_takes_the_place_of_the_carried_keys() {
        let mut s = spec(&[], false);
        s.base = Some(BaseConfig {
            config: json!({"Env": ["MODE=prod", "DB_PASSWORD=x", "KEEP=1"]}),
            host_config: json!({}),
        });
        s.env = vec!["DB_PASSWORD=y".into(), "MODE=test".into(), "NEW=2".into()];
        assert_eq!(
            create_body(&s).unwrap().env.unwrap(),
            ["MODE=test", "DB_PASSWORD=y", "KEEP=1", "NEW=2"]
        );
        s.complete = true;
        assert_eq!(
            create_body(&s).unwrap().env.unwrap(),
            ["MODE=test", "DB_PASSWORD=y", "NEW=2"]
        );
    }

    #[test]
    fn the_swap_the_daemon_derived_from_a_changed_memory_limit_goes_with_it() {
        let mut s = spec(&[], true);
        s.base = Some(BaseConfig {
            config: json!({}),
            host_config: json!({"Memory": 67108864, "MemorySwap": 134217728}),
        });
        s.memory_bytes = Some(512 << 20);
        let host = create_body(&s).unwrap().host_config.unwrap();
        assert_eq!((host.memory, host.memory_swap), (Some(512 << 20), None));
        s.memory_bytes = Some(64 << 20);
        let host = create_body(&s).unwrap().host_config.unwrap();
        assert_eq!(host.memory_swap, Some(134217728), "unchanged: kept");
    }

    #[test]
    fn capabilities_are_sent_as_the_daemon_keeps_them() {
        let mut s = spec(&[], false);
        s.base = None;
        s.run.cap_add = vec!["net_admin".into(), "CAP_SYS_TIME".into(), "ALL".into()];
        s.run.cap_drop = vec!["MKNOD".into()];
        let host = create_body(&s).unwrap().host_config.unwrap();
        assert_eq!(
            host.cap_add.unwrap(),
            ["CAP_NET_ADMIN", "CAP_SYS_TIME", "ALL"]
        );
        assert_eq!(host.cap_drop.unwrap(), ["CAP_MKNOD"]);
    }

    #[test]
    fn only_plain_bind_and_volume_mounts_read_as_volumes() {
        let mount = |v: serde_json::Value| serde_json::from_value::<Mount>(v).unwrap();
        assert_eq!(
            mount_as_volume(&mount(
                json!({"Type": "bind", "Source": "/tmp", "Target": "/t", "ReadOnly": true})
            ))
            .as_deref(),
            Some("/tmp:/t:ro")
        );
        for other in [
            json!({"Type": "tmpfs", "Target": "/t"}),
            json!({"Type": "volume", "Source": "", "Target": "/anon"}),
            json!({"Type": "volume", "Source": "v", "Target": "/v", "VolumeOptions": {"NoCopy": true}}),
        ] {
            assert_eq!(mount_as_volume(&mount(other.clone())), None, "{other}");
        }
    }
}
