//! The running revision's own settings, read from the daemon for [`crate::model::deploy::carry`]:
//! its inspect, less what its image provides (an image's env, command, user, labels or
//! healthcheck are the new image's business, not a setting to carry over).

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, ImageInspect, Mount};

use crate::engine::gate::mount_as_volume;
use crate::model::deploy::run::check_volume;

use crate::model::deploy::BaseConfig;
use crate::model::deploy::carry::OldSetting;
use crate::model::deploy::revision::REVISION_LABELS;

/// Docker's default size of /dev/shm.
const DEFAULT_SHM: i64 = 64 * 1024 * 1024;

/// Every setting the container's operator gave it, in a fixed order.
pub fn old_settings(c: &ContainerInspectResponse, image: Option<&ImageInspect>) -> Vec<OldSetting> {
    let mut out = Vec::new();
    let image_config = image.and_then(|i| i.config.as_ref());
    let config = c.config.as_ref();
    let host = c.host_config.as_ref();
    let mut other = |what: String| out.push(OldSetting::Other(what));

    // Set by the operator when it differs from what the image says.
    let differs = |mine: Option<&Vec<String>>, image: Option<&Vec<String>>| {
        mine.is_some_and(|m| !m.is_empty()) && mine != image
    };
    if let Some(config) = config {
        let user = config.user.as_deref().unwrap_or_default();
        if !user.is_empty() && Some(user) != image_config.and_then(|i| i.user.as_deref()) {
            other(format!("user {user}"));
        }
        let dir = config.working_dir.as_deref().unwrap_or_default();
        if !dir.is_empty() && Some(dir) != image_config.and_then(|i| i.working_dir.as_deref()) {
            other(format!("working dir {dir}"));
        }
        if differs(
            config.entrypoint.as_ref(),
            image_config.and_then(|i| i.entrypoint.as_ref()),
        ) {
            other(format!(
                "entrypoint {}",
                config.entrypoint.as_deref().unwrap_or_default().join(" ")
            ));
        }
        if let Some(hostname) = own_hostname(c) {
            other(format!("hostname {hostname}"));
        }
        if let Some(sig) = config.stop_signal.as_deref().filter(|s| !s.is_empty())
            && Some(sig) != image_config.and_then(|i| i.stop_signal.as_deref())
        {
            other(format!("stop signal {sig}"));
        }
        if let Some(t) = config.stop_timeout {
            other(format!("stop timeout {t} s"));
        }
    }
    if let Some(host) = host {
        for b in host.binds.iter().flatten() {
            if check_volume(b).is_ok() {
                other(format!("bind {b}"));
            }
        }
        for m in host.mounts.iter().flatten() {
            if mount_as_volume(m).is_some() {
                other(describe_mount(m));
            }
        }
        let lists: [(&str, &Option<Vec<String>>); 4] = [
            ("cap_add", &host.cap_add),
            ("cap_drop", &host.cap_drop),
            ("dns", &host.dns),
            ("extra host", &host.extra_hosts),
        ];
        for (what, list) in lists {
            for v in list.iter().flatten() {
                other(format!("{what} {v}"));
            }
        }
        if let Some(log) = &host.log_config
            && log.config.as_ref().is_some_and(|c| !c.is_empty())
        {
            let mut opts: Vec<String> = log
                .config
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            opts.sort();
            other(format!(
                "log driver {} {}",
                log.typ.as_deref().unwrap_or_default(),
                opts.join(",")
            ));
        }
    }
    for what in inexpressible(c, image) {
        other(what);
    }

    // What a deploy can set: the model decides whether the new container keeps it.
    if let Some(config) = config {
        let image_env: Vec<&String> = image_config
            .and_then(|i| i.env.as_ref())
            .map(|e| e.iter().collect())
            .unwrap_or_default();
        for e in config.env.iter().flatten() {
            if !image_env.contains(&e) {
                let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
                out.push(OldSetting::Env { key: key.into() });
            }
        }
        if differs(
            config.cmd.as_ref(),
            image_config.and_then(|i| i.cmd.as_ref()),
        ) {
            out.push(OldSetting::Command(config.cmd.clone().unwrap_or_default()));
        }
        let image_labels: HashMap<String, String> = image_config
            .and_then(|i| i.labels.clone())
            .unwrap_or_default();
        let mut labels: Vec<&String> = config
            .labels
            .iter()
            .flatten()
            .filter(|(k, v)| {
                image_labels.get(*k) != Some(v) && !REVISION_LABELS.contains(&k.as_str())
            })
            .map(|(k, _)| k)
            .collect();
        labels.sort();
        for key in labels {
            out.push(OldSetting::Label { key: key.clone() });
        }
        if let Some(test) = config.healthcheck.as_ref().and_then(|h| h.test.as_ref())
            && test.first().is_some_and(|t| t != "NONE")
            && config.healthcheck != image_config.and_then(|i| i.healthcheck.clone())
        {
            out.push(OldSetting::Healthcheck(test.join(" ")));
        }
    }
    if let Some(host) = host {
        let mut ports: Vec<OldSetting> = host
            .port_bindings
            .iter()
            .flatten()
            .flat_map(|(spec, bindings)| {
                let (port, proto) = spec.split_once('/').unwrap_or((spec.as_str(), "tcp"));
                let port: u16 = port.parse().unwrap_or_default();
                bindings.iter().flatten().map(move |b| OldSetting::Port {
                    container_port: port,
                    proto: proto.to_string(),
                    host_ip: b.host_ip.clone().filter(|ip| !ip.is_empty()),
                    host_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                })
            })
            .collect();
        ports.sort_by_key(|p| p.describe());
        out.extend(ports);
        if let Some(name) = host
            .restart_policy
            .as_ref()
            .and_then(|r| r.name)
            .map(|n| n.to_string())
            .filter(|n| !n.is_empty() && n != "no")
        {
            out.push(OldSetting::Restart(name));
        }
        if let Some(m) = host.memory.filter(|m| *m > 0) {
            out.push(OldSetting::MemoryBytes(m));
        }
        if let Some(n) = host.nano_cpus.filter(|n| *n > 0) {
            out.push(OldSetting::NanoCpus(n));
        }
    }
    let mut networks: Vec<&String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().collect())
        .unwrap_or_default();
    networks.sort();
    for n in networks {
        out.push(OldSetting::Network(n.clone()));
    }
    out
}

/// The hostname the operator gave the container: not the short id Docker gives by default,
/// nor the host's own name, which a container on the host's network stack shows.
pub fn own_hostname(c: &ContainerInspectResponse) -> Option<&str> {
    let hostname = c.config.as_ref()?.hostname.as_deref()?;
    let on_host = c
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.as_deref())
        .is_some_and(|m| m == "host" || m.starts_with("container:"));
    (!hostname.is_empty() && hostname != short_id(c) && !on_host).then_some(hostname)
}

fn short_id(c: &ContainerInspectResponse) -> &str {
    c.id.as_deref()
        .unwrap_or_default()
        .get(..12)
        .unwrap_or_default()
}

/// "mount volume data:/data".
fn describe_mount(m: &Mount) -> String {
    format!(
        "mount {} {}:{}",
        m.typ.map(|t| t.to_string()).unwrap_or_default(),
        m.source.as_deref().unwrap_or_default(),
        m.target.as_deref().unwrap_or_default()
    )
}

/// What the operator gave the container that no deploy spec can say (devices, sysctls,
/// tmpfs, privileged, ulimits, security options, namespace modes, …), one line each, in a
/// fixed order. An update carries them over from the running revision.
pub fn inexpressible(c: &ContainerInspectResponse, image: Option<&ImageInspect>) -> Vec<String> {
    let mut out = Vec::new();
    let image_config = image.and_then(|i| i.config.as_ref());
    if let Some(config) = c.config.as_ref() {
        if config.domainname.as_deref().is_some_and(|d| !d.is_empty()) {
            out.push(format!(
                "domain name {}",
                config.domainname.as_deref().unwrap_or_default()
            ));
        }
        if config.tty == Some(true) {
            out.push("tty (-t)".into());
        }
        if config.open_stdin == Some(true) {
            out.push("open stdin (-i)".into());
        }
        if config.network_disabled == Some(true) {
            out.push("networking disabled".into());
        }
        if let Some(shell) = config.shell.as_ref().filter(|s| !s.is_empty())
            && Some(shell) != image_config.and_then(|i| i.shell.as_ref())
        {
            out.push(format!("shell {}", shell.join(" ")));
        }
        if let Some(h) = &config.healthcheck
            && h.test
                .as_ref()
                .and_then(|t| t.first())
                .is_some_and(|t| t == "NONE")
            && config.healthcheck != image_config.and_then(|i| i.healthcheck.clone())
        {
            out.push("healthcheck disabled (--no-healthcheck)".into());
        }
        // Anonymous volumes (`-v /data`): a spec names each volume it mounts.
        let mounted: Vec<&str> = c
            .mounts
            .iter()
            .flatten()
            .filter(|m| m.name.as_deref().is_some_and(|n| n.len() == 64))
            .filter_map(|m| m.destination.as_deref())
            .collect();
        let from_image = image_config.and_then(|i| i.volumes.as_ref());
        for v in config.volumes.iter().flatten() {
            if !from_image.is_some_and(|i| i.contains(v)) && mounted.contains(&v.as_str()) {
                out.push(format!("anonymous volume {v}"));
            }
        }
    }
    let Some(host) = c.host_config.as_ref() else {
        return out;
    };
    for b in host.binds.iter().flatten() {
        if check_volume(b).is_err() {
            out.push(format!("bind {b}"));
        }
    }
    for m in host.mounts.iter().flatten() {
        if mount_as_volume(m).is_none() {
            out.push(describe_mount(m));
        }
    }
    for v in host.volumes_from.iter().flatten() {
        out.push(format!("volumes from {v}"));
    }
    if let Some(driver) = host.volume_driver.as_deref().filter(|d| !d.is_empty()) {
        out.push(format!("volume driver {driver}"));
    }
    let mut tmpfs: Vec<_> = host.tmpfs.iter().flatten().collect();
    tmpfs.sort();
    for (path, opts) in tmpfs {
        out.push(format!("tmpfs {path} {opts}").trim_end().to_string());
    }
    let lists: [(&str, &Option<Vec<String>>); 6] = [
        ("dns search", &host.dns_search),
        ("dns option", &host.dns_options),
        ("security option", &host.security_opt),
        ("group", &host.group_add),
        ("link", &host.links),
        ("device cgroup rule", &host.device_cgroup_rules),
    ];
    for (what, list) in lists {
        for v in list.iter().flatten() {
            out.push(format!("{what} {v}"));
        }
    }
    for d in host.devices.iter().flatten() {
        out.push(format!(
            "device {}:{}",
            d.path_on_host.as_deref().unwrap_or_default(),
            d.path_in_container.as_deref().unwrap_or_default()
        ));
    }
    for d in host.device_requests.iter().flatten() {
        out.push(format!(
            "device request {} {}",
            d.driver.as_deref().unwrap_or_default(),
            d.capabilities
                .iter()
                .flatten()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    let mut sysctls: Vec<_> = host.sysctls.iter().flatten().collect();
    sysctls.sort();
    for (k, v) in sysctls {
        out.push(format!("sysctl {k}={v}"));
    }
    for u in host.ulimits.iter().flatten() {
        out.push(format!(
            "ulimit {}={}:{}",
            u.name.as_deref().unwrap_or_default(),
            u.soft.unwrap_or_default(),
            u.hard.unwrap_or_default()
        ));
    }
    let flags = [
        ("privileged", host.privileged),
        ("init", host.init),
        ("read-only root filesystem", host.readonly_rootfs),
        ("auto remove", host.auto_remove),
        ("publish all ports", host.publish_all_ports),
        ("oom kill disabled", host.oom_kill_disable),
    ];
    for (what, on) in flags {
        if on == Some(true) {
            out.push(what.to_string());
        }
    }
    // The daemon sets the swap limit to twice the memory limit when only the latter is given.
    let swap = host
        .memory_swap
        .filter(|s| Some(*s) != host.memory.map(|m| m * 2));
    let numbers = [
        ("cpu shares", host.cpu_shares),
        ("cpu quota", host.cpu_quota),
        ("cpu period", host.cpu_period),
        ("cpu realtime period", host.cpu_realtime_period),
        ("cpu realtime runtime", host.cpu_realtime_runtime),
        ("pids limit", host.pids_limit.filter(|p| *p > 0)),
        ("memory reservation", host.memory_reservation),
        ("memory swap", swap),
        (
            "memory swappiness",
            host.memory_swappiness.filter(|s| *s >= 0),
        ),
        ("oom score adjustment", host.oom_score_adj),
        ("shm size", host.shm_size.filter(|s| *s != DEFAULT_SHM)),
        ("blkio weight", host.blkio_weight.map(i64::from)),
    ];
    for (what, n) in numbers {
        if let Some(n) = n.filter(|n| *n != 0) {
            out.push(format!("{what} {n}"));
        }
    }
    let texts = [
        ("cpuset", host.cpuset_cpus.as_deref()),
        ("cpuset mems", host.cpuset_mems.as_deref()),
        ("cgroup parent", host.cgroup_parent.as_deref()),
    ];
    for (what, text) in texts {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            out.push(format!("{what} {t}"));
        }
    }
    let modes = [
        ("pid mode", host.pid_mode.as_deref(), &["", "private"][..]),
        (
            "ipc mode",
            host.ipc_mode.as_deref(),
            &["", "private", "shareable"][..],
        ),
        ("uts mode", host.uts_mode.as_deref(), &[""][..]),
        ("userns mode", host.userns_mode.as_deref(), &[""][..]),
        ("runtime", host.runtime.as_deref(), &["", "runc"][..]),
    ];
    for (what, mode, defaults) in modes {
        if let Some(m) = mode.filter(|m| !defaults.contains(m)) {
            out.push(format!("{what} {m}"));
        }
    }
    if let Some(mode) = host.network_mode.as_deref()
        && (mode == "host" || mode == "none" || mode.starts_with("container:"))
    {
        out.push(format!("network mode {mode}"));
    }
    let mut storage: Vec<_> = host.storage_opt.iter().flatten().collect();
    storage.sort();
    for (k, v) in storage {
        out.push(format!("storage option {k}={v}"));
    }
    out
}

/// The running revision's own settings to create the next one from (an update of a container
/// fleetdeck did not create): its `Config` and `HostConfig` as Docker reports them, less what
/// its image provides (the new image brings its own) and less what the spec always decides
/// (image, network, fleetdeck's revision labels). `Err` when they cannot be written back.
pub fn base_of(
    c: &ContainerInspectResponse,
    image: Option<&ImageInspect>,
) -> Result<BaseConfig, String> {
    let img = image.and_then(|i| i.config.as_ref());
    let mut config = c.config.clone().unwrap_or_default();
    config.image = None;
    let short =
        c.id.as_deref()
            .unwrap_or_default()
            .get(..12)
            .unwrap_or_default();
    if config.hostname.as_deref() == Some(short) {
        config.hostname = None;
    }
    if let (Some(env), Some(image_env)) = (config.env.as_mut(), img.and_then(|i| i.env.as_ref())) {
        env.retain(|e| !image_env.contains(e));
    }
    if config.cmd.as_ref() == img.and_then(|i| i.cmd.as_ref()) {
        config.cmd = None;
    }
    if config.entrypoint.as_ref() == img.and_then(|i| i.entrypoint.as_ref()) {
        config.entrypoint = None;
    }
    if config.user.as_deref().unwrap_or_default()
        == img.and_then(|i| i.user.as_deref()).unwrap_or_default()
    {
        config.user = None;
    }
    if config.working_dir.as_deref().unwrap_or_default()
        == img
            .and_then(|i| i.working_dir.as_deref())
            .unwrap_or_default()
    {
        config.working_dir = None;
    }
    if config.stop_signal.as_deref() == img.and_then(|i| i.stop_signal.as_deref()) {
        config.stop_signal = None;
    }
    if config.healthcheck == img.and_then(|i| i.healthcheck.clone()) {
        config.healthcheck = None;
    }
    if let Some(exposed) = config.exposed_ports.as_mut() {
        let from_image = img
            .and_then(|i| i.exposed_ports.clone())
            .unwrap_or_default();
        exposed.retain(|p| !from_image.contains(p));
    }
    if let Some(volumes) = config.volumes.as_mut() {
        let from_image = img.and_then(|i| i.volumes.clone()).unwrap_or_default();
        volumes.retain(|v| !from_image.contains(v));
    }
    if let Some(labels) = config.labels.as_mut() {
        let from_image: HashMap<String, String> =
            img.and_then(|i| i.labels.clone()).unwrap_or_default();
        labels
            .retain(|k, v| from_image.get(k) != Some(v) && !REVISION_LABELS.contains(&k.as_str()));
    }
    config.on_build = None;
    // Which network it joins first is the spec's to say (the create body decides, keeping a
    // host, none or container: mode when the spec names no network).
    let host = c.host_config.clone().unwrap_or_default();
    Ok(BaseConfig {
        config: serde_json::to_value(&config).map_err(|e| format!("its config: {e}"))?,
        host_config: serde_json::to_value(&host).map_err(|e| format!("its host config: {e}"))?,
    })
}

/// Each network the container is on: its name, its fixed address (the one it was given,
/// not one Docker picked) and the aliases it was given (not the short id, name or hostname
/// Docker adds).
pub fn networks_of(c: &ContainerInspectResponse) -> Vec<(String, Option<String>, Vec<String>)> {
    let short = short_id(c);
    // Docker (20.10) adds the hostname to the aliases of a network joined after the create.
    let hostname = c
        .config
        .as_ref()
        .and_then(|c| c.hostname.as_deref())
        .unwrap_or_default();
    let name = c
        .name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/');
    let mut out: Vec<(String, Option<String>, Vec<String>)> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .map(|(net, ep)| {
            let ip = ep
                .ipam_config
                .as_ref()
                .and_then(|i| i.ipv4_address.clone())
                .filter(|ip| !ip.is_empty());
            let aliases = ep
                .aliases
                .iter()
                .flatten()
                .filter(|a| a.as_str() != short && a.as_str() != name && a.as_str() != hostname)
                .cloned()
                .collect();
            (net.clone(), ip, aliases)
        })
        .collect();
    out.sort();
    out
}

/// The network the container joined when it was created (`NetworkMode`; `default` is the
/// bridge), if it is one it is on.
pub fn primary_network(c: &ContainerInspectResponse) -> Option<String> {
    let mode = c.host_config.as_ref()?.network_mode.as_deref()?;
    let name = if mode == "default" { "bridge" } else { mode };
    networks_of(c)
        .into_iter()
        .map(|(n, _, _)| n)
        .find(|n| n == name)
}

#[cfg(test)]
mod tests {
    use bollard::models::ContainerConfig;

    use super::*;

    #[test]
    fn the_base_keeps_a_replicas_group_and_drops_only_the_revision_labels() {
        let labels: HashMap<String, String> = [
            ("fleetdeck.deploy.group", "cart"),
            ("fleetdeck.deploy.replica", "2"),
            ("fleetdeck.deploy.service", "cart-2"),
            ("fleetdeck.deploy.revision", "4"),
            ("team", "shop"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = ContainerInspectResponse {
            id: Some("0123456789abcdef".into()),
            config: Some(ContainerConfig {
                labels: Some(labels),
                ..Default::default()
            }),
            ..Default::default()
        };
        let base = base_of(&c, None).unwrap();
        let mut kept: Vec<&str> = base.config["Labels"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            ["fleetdeck.deploy.group", "fleetdeck.deploy.replica", "team"]
        );
    }
}
