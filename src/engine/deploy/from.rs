//! `fleetdeck deploy --from ENDPOINT/CONTAINER`: a running container as a deploy spec, the way
//! into fleetdeck for services it did not create. Every key a spec can express is filled from
//! the container's inspect, less what its image provides (as an update's carried base is);
//! what no spec can say is listed beside it, so nothing is silently left out. Only reads.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ImageInspect};
use bollard::query_parameters::InspectContainerOptions;

use super::carry::{inexpressible, networks_of, own_hostname};
use crate::engine::gate::{Gate, mount_as_volume};
use crate::model::EndpointId;
use crate::model::deploy::revision::LABEL_SERVICE;
use crate::model::deploy::run::{
    check_capability, check_dir, check_extra_host, check_hostname, check_signal, check_volume,
};
use crate::model::deploy::{
    DeploySpec, ExtraNetwork, Healthcheck, IpChoice, LogOptions, Placement, PortSpec,
    RestartPolicy, RunOptions, check_image, check_name,
};

/// A running container as a spec, and what the spec does not say as the container has it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecFrom {
    pub spec: DeploySpec,
    /// Settings no spec can express: an update carries them over from the running container.
    pub carried: Vec<String>,
    /// Settings the spec says otherwise than the container has them (a healthcheck in exec
    /// form, run by the shell; a duration rounded to seconds): deploying the spec changes them.
    pub differs: Vec<String>,
}

/// Why a container could not be read as a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromError {
    #[error("no container named \"{0}\"")]
    NoContainer(String),
    #[error("cannot read it: {0}")]
    Unreadable(String),
    /// Read, but no spec can describe it (a name or image reference a spec cannot hold).
    #[error("{0}")]
    NotASpec(String),
}

/// Reads `container` on the endpoint (inspect, its image, the daemon's default log driver)
/// and writes it as a spec placed on `endpoint_name`.
pub async fn read(
    gate: &Gate,
    endpoint: EndpointId,
    endpoint_name: &str,
    container: &str,
    wait_s: u64,
) -> Result<SpecFrom, FromError> {
    const LIMIT: Duration = Duration::from_secs(10);
    let unreadable = |e: String| FromError::Unreadable(e);
    let docker = gate
        .reader(endpoint)
        .await
        .map_err(|e| unreadable(format!("cannot reach {endpoint_name}: {e}")))?;
    let c = match tokio::time::timeout(
        LIMIT,
        docker.inspect_container(container, None::<InspectContainerOptions>),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => return Err(FromError::NoContainer(container.to_string())),
        Ok(Err(e)) => return Err(unreadable(crate::engine::EngineError::from(e).to_string())),
        Err(_) => return Err(unreadable(format!("no answer for {} s", LIMIT.as_secs()))),
    };
    // The image may be gone: then its defaults count as the container's own, the cautious side.
    let image = match c.image.as_deref() {
        Some(id) => tokio::time::timeout(LIMIT, docker.inspect_image(id))
            .await
            .ok()
            .and_then(Result::ok),
        None => None,
    };
    let log_driver = tokio::time::timeout(LIMIT, docker.info())
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|i| i.logging_driver)
        .unwrap_or_else(|| "json-file".into());
    spec_from(&c, image.as_ref(), endpoint_name, &log_driver, wait_s).map_err(FromError::NotASpec)
}

/// The container as a spec placed on `endpoint`: each key it can express, less what the
/// image provides; `daemon_log_driver` is left out when the container uses it with no options.
pub fn spec_from(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
    endpoint: &str,
    daemon_log_driver: &str,
    wait_s: u64,
) -> Result<SpecFrom, String> {
    let img = image.and_then(|i| i.config.as_ref());
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let mut carried = inexpressible(c, image);
    let mut differs = Vec::new();

    let labels_all = config.labels.clone().unwrap_or_default();
    let container_name = c
        .name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/');
    let name = labels_all
        .get(LABEL_SERVICE)
        .map_or(container_name, String::as_str)
        .to_string();
    check_name(&name).map_err(|m| format!("its name cannot name a service: {m}"))?;

    let mut image_ref = config.image.clone().unwrap_or_default();
    // Made from an image id (`docker run 50ba40c03f9b`): a tag names it on other hosts too.
    let image_id = image.and_then(|i| i.id.as_deref()).unwrap_or_default();
    let by_id = !image_ref.is_empty()
        && (image_id.starts_with(&image_ref)
            || image_id
                .strip_prefix("sha256:")
                .is_some_and(|id| id.starts_with(&image_ref)));
    if by_id || check_image(&image_ref).is_err() {
        let tag = image
            .and_then(|i| i.repo_tags.as_ref())
            .and_then(|tags| tags.iter().find(|t| check_image(t).is_ok()));
        match tag {
            Some(tag) => {
                differs.push(format!(
                    "image: it runs {image_ref}, written as its tag {tag}"
                ));
                image_ref = tag.clone();
            }
            None if by_id && check_image(&image_ref).is_ok() => {}
            None => {
                return Err(format!(
                    "its image \"{image_ref}\" is no reference a spec can name, and the image has \
                     no tag to name it by"
                ));
            }
        }
    }

    // The operator's own, as `base_of` keeps them: what differs from the image.
    let command = match (&config.cmd, img.and_then(|i| i.cmd.as_ref())) {
        (Some(cmd), from_image) if !cmd.is_empty() && Some(cmd) != from_image => cmd.clone(),
        _ => Vec::new(),
    };
    let image_env: Vec<&String> = img
        .and_then(|i| i.env.as_ref())
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    let mut env = BTreeMap::new();
    for e in config.env.iter().flatten() {
        if image_env.contains(&e) {
            continue;
        }
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                env.insert(k.to_string(), v.to_string());
            }
            _ => differs.push(format!("env: \"{e}\" has no value; left out")),
        }
    }
    let image_labels = img.and_then(|i| i.labels.clone()).unwrap_or_default();
    let labels: BTreeMap<String, String> = labels_all
        .into_iter()
        .filter(|(k, v)| image_labels.get(k) != Some(v) && !k.starts_with("fleetdeck.deploy."))
        .collect();

    let ports = ports_of(c, image, &mut carried);
    let (network, ip, networks) = networks_spec(c, &mut carried, &mut differs);

    let restart = match host.restart_policy.as_ref().and_then(|r| r.name) {
        None => RestartPolicy::No,
        Some(n) => {
            let retries = host
                .restart_policy
                .as_ref()
                .and_then(|r| r.maximum_retry_count)
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok());
            match RestartPolicy::parse(n.as_ref()) {
                Some(RestartPolicy::OnFailure { .. }) => RestartPolicy::OnFailure {
                    max_retries: retries,
                },
                Some(p) => p,
                None => RestartPolicy::No,
            }
        }
    };

    let healthcheck = match &config.healthcheck {
        Some(h) if config.healthcheck.as_ref() != img.and_then(|i| i.healthcheck.as_ref()) => {
            healthcheck_of(h, &mut differs)
        }
        _ => None,
    };

    let run = run_options(c, image, daemon_log_driver, &mut differs);
    Ok(SpecFrom {
        spec: DeploySpec {
            name,
            image: image_ref,
            command,
            env,
            labels,
            ports,
            network,
            ip,
            restart,
            healthcheck,
            nano_cpus: host.nano_cpus.filter(|n| *n > 0),
            memory_bytes: host.memory.filter(|m| *m > 0),
            placement: Placement {
                endpoint: Some(endpoint.to_string()),
                ..Placement::default()
            },
            wait_s,
            networks,
            run,
            // One container: a replica is written as itself (its service's spec says how
            // many there are).
            replicas: None,
            batch: 1,
        },
        carried,
        differs,
    })
}

/// Published ports, then the ones only exposed (less what the image exposes), in port order.
fn ports_of(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
    carried: &mut Vec<String>,
) -> Vec<PortSpec> {
    let split = |key: &str| -> Option<(u16, String)> {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        Some((port.parse().ok().filter(|p| *p > 0)?, proto.to_string()))
    };
    let mut out: Vec<PortSpec> = Vec::new();
    let mut bindings: Vec<_> = c
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
        .into_iter()
        .flatten()
        .collect();
    bindings.sort_by_key(|(k, _)| split(k));
    for (key, list) in bindings {
        let Some((port, proto)) = split(key) else {
            carried.push(format!("port {key}"));
            continue;
        };
        for b in list.iter().flatten() {
            let host_ip = b.host_ip.clone().filter(|ip| !ip.is_empty());
            let host_port: Option<u16> = b.host_port.as_deref().and_then(|p| p.parse().ok());
            let Some(host_port) = host_port.filter(|p| *p > 0) else {
                carried.push(format!(
                    "port {}{port}/{proto} published on a host port Docker picks",
                    host_ip
                        .as_deref()
                        .map(|ip| format!("{ip}::"))
                        .unwrap_or_default()
                ));
                if !out
                    .iter()
                    .any(|p| p.container_port == port && p.proto == proto)
                {
                    out.push(PortSpec {
                        host_ip: None,
                        host_port: None,
                        container_port: port,
                        proto: proto.clone(),
                    });
                }
                continue;
            };
            // A spec publishes a host port once per protocol.
            if out
                .iter()
                .any(|p| p.host_port == Some(host_port) && p.proto == proto)
            {
                carried.push(format!(
                    "port {}{host_port}:{port}/{proto} (host port {host_port} published twice)",
                    host_ip
                        .as_deref()
                        .map(|ip| format!("{ip}:"))
                        .unwrap_or_default()
                ));
                continue;
            }
            out.push(PortSpec {
                host_ip,
                host_port: Some(host_port),
                container_port: port,
                proto: proto.clone(),
            });
        }
    }
    let from_image = image
        .and_then(|i| i.config.as_ref())
        .and_then(|i| i.exposed_ports.clone())
        .unwrap_or_default();
    let mut exposed: Vec<(u16, String)> = c
        .config
        .as_ref()
        .and_then(|c| c.exposed_ports.as_ref())
        .into_iter()
        .flatten()
        .filter(|p| !from_image.contains(p))
        .filter_map(|p| split(p))
        .filter(|(port, proto)| {
            !out.iter()
                .any(|p| p.container_port == *port && p.proto == *proto)
        })
        .collect();
    exposed.sort();
    out.extend(exposed.into_iter().map(|(port, proto)| PortSpec {
        host_ip: None,
        host_port: None,
        container_port: port,
        proto,
    }));
    out
}

/// The first network (Docker's default bridge: none), its fixed address, and the others.
fn networks_spec(
    c: &ContainerInspectResponse,
    carried: &mut Vec<String>,
    differs: &mut Vec<String>,
) -> (Option<String>, IpChoice, Vec<ExtraNetwork>) {
    let all = networks_of(c);
    let mode = c
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.clone())
        .unwrap_or_default();
    // `--network ID` keeps the id as the mode: the network's name is what a spec says.
    let endpoints = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref());
    let primary = match mode.as_str() {
        "" | "default" | "bridge" | "host" | "none" => None,
        m if m.starts_with("container:") => None,
        m => all
            .iter()
            .map(|(n, _, _)| n.clone())
            .find(|n| n == m)
            .or_else(|| {
                endpoints.and_then(|eps| {
                    eps.iter()
                        .find(|(_, ep)| {
                            ep.network_id.as_deref().is_some_and(|id| id.starts_with(m))
                        })
                        .map(|(n, _)| n.clone())
                })
            }),
    };
    let first = primary.as_deref().unwrap_or(match mode.as_str() {
        "" | "default" => "bridge",
        m => m,
    });
    let fixed = |net: &str, ip: &Option<String>, key: &str, differs: &mut Vec<String>| match ip
        .as_deref()
        .map(str::parse::<IpAddr>)
    {
        Some(Ok(ip @ IpAddr::V4(_))) => IpChoice::Fixed(ip),
        Some(_) => {
            differs.push(format!(
                "{key}: the fixed address {} on {net} is not IPv4; written as dynamic",
                ip.as_deref().unwrap_or_default()
            ));
            IpChoice::Dynamic
        }
        None => IpChoice::Dynamic,
    };
    let mut ip = IpChoice::Dynamic;
    let mut networks = Vec::new();
    for (net, address, aliases) in &all {
        if net == first {
            if primary.is_some() {
                ip = fixed(net, address, "ip", differs);
            }
            if !aliases.is_empty() {
                carried.push(format!("aliases {} on network {net}", aliases.join(", ")));
            }
            continue;
        }
        if net == "host" || net == "none" {
            continue;
        }
        let key = format!("networks[{}]", networks.len());
        let (good, bad): (Vec<String>, Vec<String>) = aliases
            .iter()
            .cloned()
            .partition(|a| check_hostname(a).is_ok());
        if !bad.is_empty() {
            differs.push(format!(
                "{key}: aliases {} on {net} are no names a spec can give; left out",
                bad.join(", ")
            ));
        }
        networks.push(ExtraNetwork {
            name: net.clone(),
            ip: fixed(net, address, &key, differs),
            aliases: good,
        });
    }
    (primary, ip, networks)
}

/// `[healthcheck]`: the shell command, durations in whole seconds (0: Docker's default).
fn healthcheck_of(
    h: &bollard::models::HealthConfig,
    differs: &mut Vec<String>,
) -> Option<Healthcheck> {
    let test = h.test.as_deref().unwrap_or_default();
    let command = match test.split_first() {
        Some((kind, rest)) if kind == "CMD-SHELL" => rest.join(" "),
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => {
            let line = rest
                .iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" ");
            differs.push(format!(
                "healthcheck: runs {rest:?} directly; the spec runs `{line}` by the shell"
            ));
            line
        }
        // NONE (disabled) is listed with what no spec can say; nothing else is a check.
        _ => return None,
    };
    if command.trim().is_empty() {
        return None;
    }
    let mut secs = |what: &str, ns: Option<i64>| -> u64 {
        let ns = u64::try_from(ns.unwrap_or_default()).unwrap_or_default();
        let s = ns.div_ceil(1_000_000_000);
        if ns % 1_000_000_000 != 0 {
            differs.push(format!(
                "healthcheck: {what} {} ms, written as {s} s",
                ns / 1_000_000
            ));
        }
        s
    };
    let interval_s = secs("interval", h.interval);
    let timeout_s = secs("timeout", h.timeout);
    let start_period_s = secs("start period", h.start_period);
    if h.start_interval.is_some_and(|s| s > 0) {
        differs.push(format!(
            "healthcheck: start interval {} ms, which a spec cannot set",
            h.start_interval.unwrap_or_default() / 1_000_000
        ));
    }
    Some(Healthcheck {
        command,
        interval_s,
        timeout_s,
        retries: h
            .retries
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or_default(),
        start_period_s,
    })
}

/// An argument as the shell reads it back: quoted unless it is plain.
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The `docker run` options a spec can say (volumes, user, …), each as a spec accepts it.
fn run_options(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
    daemon_log_driver: &str,
    differs: &mut Vec<String>,
) -> RunOptions {
    let img = image.and_then(|i| i.config.as_ref());
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let mut volumes = Vec::new();
    // A bind with options a spec cannot say (`:z`, propagation) is listed with what no spec
    // can express: updates carry it over.
    volumes.extend(
        host.binds
            .iter()
            .flatten()
            .filter(|b| check_volume(b).is_ok())
            .cloned(),
    );
    volumes.extend(host.mounts.iter().flatten().filter_map(mount_as_volume));

    let own = |mine: Option<&String>, image: Option<&String>| {
        mine.filter(|m| !m.is_empty())
            .filter(|m| Some(m.as_str()) != image.map(String::as_str).filter(|i| !i.is_empty()))
            .cloned()
    };
    let user = own(config.user.as_ref(), img.and_then(|i| i.user.as_ref()))
        .and_then(|u| checked(differs, "user", &u, |_| Ok(())));
    let working_dir = own(
        config.working_dir.as_ref(),
        img.and_then(|i| i.working_dir.as_ref()),
    )
    .and_then(|d| checked(differs, "working_dir", &d, check_dir));
    let entrypoint = config
        .entrypoint
        .clone()
        .filter(|e| !e.is_empty())
        .filter(|e| Some(e) != img.and_then(|i| i.entrypoint.as_ref()));
    let hostname = own_hostname(c).and_then(|h| checked(differs, "hostname", h, check_hostname));
    let stop_signal = own(
        config.stop_signal.as_ref(),
        img.and_then(|i| i.stop_signal.as_ref()),
    )
    .and_then(|s| checked(differs, "stop_signal", &s, check_signal));
    let stop_timeout_s = match config.stop_timeout {
        Some(t) if (0..=3600).contains(&t) => Some(t),
        Some(t) => {
            differs.push(format!(
                "stop_timeout_s: {t} s is beyond a spec's 0 to 3600; left out"
            ));
            None
        }
        None => None,
    };
    fn ip(t: &str) -> Result<(), String> {
        t.parse::<IpAddr>()
            .map(|_| ())
            .map_err(|_| format!("\"{t}\" is not an IP address"))
    }
    // Newer clients keep `--add-host db=10.0.0.5` as it is typed.
    let extra_hosts: Option<Vec<String>> = host.extra_hosts.as_ref().map(|hosts| {
        hosts
            .iter()
            .map(|h| match h.split_once('=') {
                Some((name, addr)) if !h.contains(':') || addr.contains(':') => {
                    format!("{name}:{addr}")
                }
                _ => h.clone(),
            })
            .collect()
    });
    let extra_hosts = list(differs, "extra_hosts", &extra_hosts, check_extra_host);
    let dns = list(differs, "dns", &host.dns, ip);
    let caps = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map(|v| v.iter().map(|c| c.trim().to_ascii_uppercase()).collect())
    };
    let cap_add = list(differs, "cap_add", &caps(&host.cap_add), check_capability);
    let cap_drop = list(differs, "cap_drop", &caps(&host.cap_drop), check_capability);
    let log = host.log_config.as_ref().and_then(|l| {
        let driver = l.typ.clone().filter(|t| !t.trim().is_empty())?;
        let options: BTreeMap<String, String> =
            l.config.clone().unwrap_or_default().into_iter().collect();
        (driver != daemon_log_driver || !options.is_empty()).then_some(LogOptions {
            driver: driver.trim().to_string(),
            options,
        })
    });
    RunOptions {
        volumes,
        user,
        working_dir,
        entrypoint,
        hostname,
        extra_hosts,
        dns,
        cap_add,
        cap_drop,
        log,
        stop_signal,
        stop_timeout_s,
    }
}

/// `value` as the spec's `check` accepts it; refused, it is left out and said in `differs`.
fn checked(
    differs: &mut Vec<String>,
    key: &str,
    value: &str,
    check: fn(&str) -> Result<(), String>,
) -> Option<String> {
    let value = value.trim();
    match check(value) {
        Ok(()) if !value.is_empty() => Some(value.to_string()),
        Ok(()) => None,
        Err(m) => {
            differs.push(format!("{key}: {m}; left out"));
            None
        }
    }
}

/// Each of `values` that the spec's `check` accepts (see [`checked`]).
fn list(
    differs: &mut Vec<String>,
    key: &str,
    values: &Option<Vec<String>>,
    check: fn(&str) -> Result<(), String>,
) -> Vec<String> {
    values
        .iter()
        .flatten()
        .filter_map(|v| checked(differs, key, v, check))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::config::deploy::parse_spec;
    use crate::config::deploy::write::spec_toml;

    const ID: &str = "807e54e1017a0123456789abcdef0123456789abcdef0123456789abcdef0123";

    fn image() -> ImageInspect {
        serde_json::from_value(json!({
            "Id": "sha256:50ba40c03f9b",
            "RepoTags": ["busybox:local"],
            "Config": {
                "Cmd": ["sh"],
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Labels": {"org.image": "busybox"},
                "ExposedPorts": {"8443/tcp": {}},
            }
        }))
        .unwrap()
    }

    /// What the lab's daemon (20.10) says of `docker run` with most options, then a
    /// `docker network connect --ip 10.251.9.7 --alias al1 probe-net`.
    fn by_hand() -> serde_json::Value {
        json!({
            "Id": ID,
            "Name": "/probe-x",
            "Image": "sha256:50ba40c03f9b",
            "Config": {
                "Hostname": "byhand",
                "User": "1000",
                "ExposedPorts": {"80/tcp": {}, "81/tcp": {}, "8443/tcp": {}, "9000/udp": {}},
                "Env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "MODE=prod",
                    "DB_PASSWORD=hunter2"
                ],
                "Cmd": ["sleep", "600"],
                "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000},
                "Image": "busybox:local",
                "WorkingDir": "/tmp",
                "Entrypoint": ["env"],
                "Labels": {"team": "shop", "org.image": "busybox", "fleetdeck.deploy.revision": "3"},
                "StopSignal": "SIGQUIT",
                "StopTimeout": 7
            },
            "HostConfig": {
                "Binds": ["probevol:/data", "/srv/conf:/etc/conf:ro", "/srv/z:/z:z"],
                "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}},
                "NetworkMode": "fleetnet",
                "PortBindings": {
                    "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18189"}],
                    "81/tcp": [{"HostIp": "", "HostPort": ""}]
                },
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                "CapAdd": ["CAP_NET_ADMIN"],
                "CapDrop": ["CAP_MKNOD"],
                "Dns": ["10.9.9.53"],
                "DnsSearch": [],
                "ExtraHosts": ["db.internal:10.9.9.9"],
                "IpcMode": "private",
                "CgroupnsMode": "host",
                "ShmSize": 67108864,
                "Runtime": "runc",
                "Memory": 67108864,
                "MemorySwap": 134217728,
                "NanoCpus": 290000000,
                "Tmpfs": {"/scratch": ""},
                "Mounts": [
                    {"Type": "volume", "Source": "probevol2", "Target": "/d2"},
                    {"Type": "bind", "Source": "/tmp", "Target": "/t2", "ReadOnly": true},
                    {"Type": "bind", "Source": "/mnt", "Target": "/m",
                     "BindOptions": {"Propagation": "rshared"}}
                ],
                "MaskedPaths": ["/proc/kcore"],
                "ReadonlyPaths": ["/proc/sys"]
            },
            "NetworkSettings": {
                "Networks": {
                    "fleetnet": {
                        "IPAMConfig": {"IPv4Address": "192.168.2.40"},
                        "Aliases": ["807e54e1017a", "probe-x", "web"],
                        "NetworkID": "d1a9997cf196"
                    },
                    "probe-net": {
                        "IPAMConfig": {"IPv4Address": "10.251.9.7"},
                        "Aliases": ["al1", "807e54e1017a", "byhand"],
                        "NetworkID": "dc04b12cc178"
                    },
                    "metrics": {"IPAMConfig": null, "Aliases": null, "NetworkID": "aa"}
                }
            }
        })
    }

    fn read(value: serde_json::Value) -> SpecFrom {
        let c: ContainerInspectResponse = serde_json::from_value(value).unwrap();
        spec_from(&c, Some(&image()), "lab1", "json-file", 60).unwrap()
    }

    #[test]
    fn a_container_made_by_hand_reads_as_a_spec_less_what_its_image_provides() {
        let f = read(by_hand());
        let s = &f.spec;
        assert_eq!(s.name, "probe-x");
        assert_eq!(s.image, "busybox:local");
        assert_eq!(s.command, ["sleep", "600"]);
        assert_eq!(
            s.env,
            BTreeMap::from([
                ("DB_PASSWORD".to_string(), "hunter2".to_string()),
                ("MODE".into(), "prod".into())
            ])
        );
        assert_eq!(s.labels, BTreeMap::from([("team".into(), "shop".into())]));
        let ports: Vec<String> = s.ports.iter().map(ToString::to_string).collect();
        assert_eq!(ports, ["127.0.0.1:18189:80/tcp", "81/tcp", "9000/udp"]);
        assert_eq!(s.network.as_deref(), Some("fleetnet"));
        assert_eq!(s.ip, IpChoice::Fixed("192.168.2.40".parse().unwrap()));
        assert_eq!(
            s.networks,
            [
                ExtraNetwork {
                    name: "metrics".into(),
                    ip: IpChoice::Dynamic,
                    aliases: vec![],
                },
                ExtraNetwork {
                    name: "probe-net".into(),
                    ip: IpChoice::Fixed("10.251.9.7".parse().unwrap()),
                    aliases: vec!["al1".into()],
                }
            ]
        );
        assert_eq!(
            s.restart,
            RestartPolicy::OnFailure {
                max_retries: Some(2)
            }
        );
        assert_eq!(
            s.healthcheck,
            Some(Healthcheck {
                command: "true".into(),
                interval_s: 2,
                timeout_s: 0,
                retries: 0,
                start_period_s: 0,
            })
        );
        assert_eq!(s.nano_cpus, Some(290_000_000));
        assert_eq!(s.memory_bytes, Some(64 << 20));
        assert_eq!(s.placement.endpoint.as_deref(), Some("lab1"));
        let run = &s.run;
        assert_eq!(
            run.volumes,
            [
                "probevol:/data",
                "/srv/conf:/etc/conf:ro",
                "probevol2:/d2",
                "/tmp:/t2:ro"
            ]
        );
        assert_eq!(run.user.as_deref(), Some("1000"));
        assert_eq!(run.working_dir.as_deref(), Some("/tmp"));
        assert_eq!(run.entrypoint.as_deref(), Some(&["env".to_string()][..]));
        assert_eq!(run.hostname.as_deref(), Some("byhand"));
        assert_eq!(run.extra_hosts, ["db.internal:10.9.9.9"]);
        assert_eq!(run.dns, ["10.9.9.53"]);
        assert_eq!(run.cap_add, ["CAP_NET_ADMIN"]);
        assert_eq!(run.cap_drop, ["CAP_MKNOD"]);
        assert_eq!(
            run.log,
            Some(LogOptions {
                driver: "json-file".into(),
                options: BTreeMap::from([("max-size".into(), "1m".into())]),
            })
        );
        assert_eq!(run.stop_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(run.stop_timeout_s, Some(7));
        // What no spec can say is named; the daemon's own defaults (ipc, cgroupns, runtime,
        // shm, swap, masked paths) are not the operator's and are not.
        assert_eq!(
            f.carried,
            [
                "bind /srv/z:/z:z",
                "mount bind /mnt:/m",
                "tmpfs /scratch",
                "port 81/tcp published on a host port Docker picks",
                "aliases web on network fleetnet",
            ]
        );
        assert!(f.differs.is_empty(), "{:?}", f.differs);
    }

    #[test]
    fn the_written_spec_reads_back_as_the_same_spec() {
        let mut value = by_hand();
        // Text a container may hold: quotes, backslashes, newlines, escapes, bidi, non-ASCII.
        value["Config"]["Env"] = json!([
            "QUOTE=say \"hi\" \\ bye",
            "LINES=a\nb\tc",
            "ESC=\u{1b}]0;pwned\u{7}\u{9b}2J",
            "BIDI=abc\u{202e}cba",
            "UTF=grüße ✓",
            "EMPTY=",
            "lower.dotted=1"
        ]);
        value["Config"]["Labels"] = json!({"com.docker.compose.project": "shop", "a b": "c=d"});
        value["Config"]["Cmd"] = json!(["sh", "-c", "echo '$HOME' \"x\""]);
        let f = read(value);
        let text = spec_toml(&f.spec, 60, &["made \u{1b}[2J here\nsecond line".into()]);
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{text}"
        );
        assert!(
            text.starts_with("# made ␛[2J here\n# second line\nname = \"probe-x\"\n"),
            "{text}"
        );
        let back = parse_spec(&text, Path::new("probe-x.toml"), 60)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, f.spec, "{text}");
        assert_eq!(back.env["ESC"], "\u{1b}]0;pwned\u{7}\u{9b}2J");
    }

    #[test]
    fn what_no_spec_can_say_is_listed_and_what_it_says_otherwise_is_named() {
        let mut value = by_hand();
        value["HostConfig"]["NetworkMode"] = json!("host");
        value["HostConfig"]["Privileged"] = json!(true);
        value["HostConfig"]["Sysctls"] = json!({"net.core.somaxconn": "1024"});
        value["HostConfig"]["Devices"] = json!([{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}]);
        value["HostConfig"]["Ulimits"] = json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}]);
        value["HostConfig"]["SecurityOpt"] = json!(["seccomp=unconfined"]);
        value["HostConfig"]["PidMode"] = json!("host");
        value["HostConfig"]["LogConfig"] = json!({"Type": "json-file", "Config": {}});
        value["NetworkSettings"]["Networks"] = json!({"host": {"NetworkID": "91bf"}});
        value["Config"]["Healthcheck"] = json!({
            "Test": ["CMD", "curl", "-f", "http://localhost/it's"],
            "Interval": 1_500_000_000u64,
        });
        value["Config"]["Env"] = json!(["LONELY"]);
        value["HostConfig"]["CapAdd"] = json!(["net_admin"]);
        let f = read(value);
        assert_eq!(f.spec.network, None);
        assert!(f.spec.networks.is_empty());
        assert_eq!(
            f.spec.run.hostname, None,
            "the host's own name on its network stack"
        );
        assert_eq!(
            f.spec.run.log, None,
            "the daemon's default driver, no options"
        );
        assert_eq!(f.spec.run.cap_add, ["NET_ADMIN"]);
        assert!(f.spec.env.is_empty());
        assert_eq!(
            f.spec
                .healthcheck
                .as_ref()
                .map(|h| (h.command.as_str(), h.interval_s)),
            Some(("curl -f 'http://localhost/it'\\''s'", 2))
        );
        for expected in [
            "privileged",
            "sysctl net.core.somaxconn=1024",
            "device /dev/fuse:/dev/fuse",
            "ulimit nofile=1024:2048",
            "security option seccomp=unconfined",
            "pid mode host",
            "network mode host",
        ] {
            assert!(
                f.carried.iter().any(|c| c == expected),
                "{expected}: {:?}",
                f.carried
            );
        }
        assert_eq!(
            f.differs,
            [
                "env: \"LONELY\" has no value; left out",
                "healthcheck: runs [\"curl\", \"-f\", \"http://localhost/it's\"] directly; the spec \
                 runs `curl -f 'http://localhost/it'\\''s'` by the shell",
                "healthcheck: interval 1500 ms, written as 2 s",
            ]
        );
        let text = spec_toml(&f.spec, 60, &[]);
        parse_spec(&text, Path::new("x.toml"), 60).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }

    #[test]
    fn a_fleetdeck_service_is_named_by_its_label_and_an_image_by_id_by_its_tag() {
        let mut value = by_hand();
        value["Name"] = json!("/cart--r3");
        value["Config"]["Labels"]["fleetdeck.deploy.service"] = json!("cart");
        value["Config"]["Image"] = json!("sha256:50ba40c03f9b");
        let f = read(value);
        assert_eq!(f.spec.name, "cart");
        assert_eq!(f.spec.image, "busybox:local");
        assert!(!f.spec.labels.keys().any(|k| k.starts_with("fleetdeck.")));
        assert_eq!(
            f.differs,
            ["image: it runs sha256:50ba40c03f9b, written as its tag busybox:local"]
        );

        let mut value = by_hand();
        value["Name"] = json!("/_odd");
        let c: ContainerInspectResponse = serde_json::from_value(value).unwrap();
        assert!(
            spec_from(&c, None, "lab1", "json-file", 60)
                .unwrap_err()
                .starts_with("its name cannot name a service: ")
        );
    }

    #[test]
    fn without_its_image_the_container_says_everything_itself() {
        let c: ContainerInspectResponse = serde_json::from_value(by_hand()).unwrap();
        let f = spec_from(&c, None, "lab1", "json-file", 60).unwrap();
        assert!(f.spec.env.contains_key("PATH"));
        assert_eq!(
            f.spec.labels.get("org.image").map(String::as_str),
            Some("busybox")
        );
        assert!(f.spec.ports.iter().any(|p| p.container_port == 8443));
    }
}
