//! Deploys as data: the spec of a service ([`DeploySpec`]), the checks a spec must pass on the
//! host it goes to (image reference, network, fixed or next free IP, port clashes), where it
//! goes ([`placement`]), the [`DeployPlan`] shown before anything happens, and the revision
//! history kept in container labels ([`revision`]). Pure: the engine carries plans out through
//! its gate; the headless commands and the TUI form only call what is here.

pub mod carry;
pub mod form;
pub mod placement;
pub mod replicas;
pub mod revision;
pub mod run;
mod spec;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::container::ContainerState;
use super::ipam::{ClusterPool, Holding, IpamReport};
use super::{Endpoint, EndpointId, Fleet};

pub use placement::{DeployTarget, Placement, place};
pub use revision::{KeptRevision, RevisionInfo};
pub use run::{ExtraNetwork, LogOptions, NetworkAttach, RunOptions};
pub use spec::{
    DeploySpec, Healthcheck, IpChoice, PortSpec, RestartPolicy, SpecProblem, check_image,
    check_name, normalise_image, parse_ip, parse_memory, parse_port,
};

/// What a deploy waits for a new container to be running (and healthy) when the spec does not say.
pub const DEFAULT_WAIT_S: u64 = 60;
/// Stopped revisions kept per service when the config does not say.
pub const DEFAULT_KEEP_REVISIONS: usize = 3;

// ------------------------------------------------------------------------------ the plan --

/// What happens on the chosen host: a new service, or a new revision replacing a live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployKind {
    New,
    /// The container now called `name` is renamed `{name}--r{revision}`, stopped and kept.
    Update {
        old_id: String,
        old_image: String,
        old_revision: u32,
        old_state: ContainerState,
    },
}

/// The container a deploy creates, exactly as the gate sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSpec {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    /// `KEY=value`.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub network: Option<String>,
    pub ipv4: Option<String>,
    pub restart: RestartPolicy,
    pub healthcheck: Option<Healthcheck>,
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
    /// Aliases on `network` (carried over from the running revision).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Joined after the create, before the start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkAttach>,
    #[serde(default, skip_serializing_if = "RunOptions::is_empty")]
    pub run: RunOptions,
    /// The spec describes the whole service (a spec file for a service fleetdeck deployed):
    /// on an update, a key it can express but leaves out is unset, not carried over from the
    /// running revision. Otherwise (the dashboard form; a container fleetdeck did not
    /// create) only what it sets changes.
    #[serde(default)]
    pub complete: bool,
    /// An update: the running revision's own settings, carried into the new container under
    /// the fields above (see `complete`). Filled by the engine when the update is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseConfig>,
}

/// The running revision's own settings as Docker writes them (its `Config` and `HostConfig`,
/// less what its image provides), to create the next revision from: the spec's fields are
/// laid over them, nothing else of them is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseConfig {
    pub config: serde_json::Value,
    pub host_config: serde_json::Value,
}

/// Everything decided before acting: shown to the operator, then carried out by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPlan {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    /// Why this host: "lab-a: subnet=192.168.2.0/24 matches lab1, lab2; lab2 least loaded (3 running)".
    pub placement_reason: String,
    pub name: String,
    pub image: String,
    /// Whether the host lists the image; if not, the engine pulls it first.
    pub image_present: bool,
    pub network: Option<String>,
    pub ip: Option<IpAddr>,
    /// How the address was chosen, for the plan: "fixed", "next free of 192.168.2.0/24", …
    pub ip_reason: String,
    pub kind: DeployKind,
    pub revision: u32,
    pub create: CreateSpec,
    /// Kept revisions removed once the new one runs, (id, name), beyond the number kept.
    pub prune: Vec<(String, String)>,
    pub wait_s: u64,
    /// The operator accepted that the update drops settings of the running revision that
    /// the new container will not have (`--accept-loss`); without it such an update refuses.
    pub accept_loss: bool,
    /// How each of `create.networks` got its address, in the same order.
    pub network_reasons: Vec<String>,
    /// What the engine read of the running revision: every change, field by field, and
    /// what would be lost.
    pub review: carry::Review,
}

impl DeployPlan {
    /// The plan as the operator reads it before saying yes.
    pub fn lines(&self) -> Vec<String> {
        let what = match &self.kind {
            DeployKind::New => format!(
                "deploy {} ({}) to {} as revision {}",
                self.name, self.image, self.endpoint_name, self.revision
            ),
            DeployKind::Update {
                old_image,
                old_revision,
                ..
            } => format!(
                "update {}/{} from revision {old_revision} ({old_image}) to revision {} ({})",
                self.endpoint_name, self.name, self.revision, self.image
            ),
        };
        let mut out = vec![what];
        out.push(format!(
            "  host     {} ({})",
            self.endpoint_name, self.placement_reason
        ));
        out.push(format!(
            "  network  {}",
            self.network.as_deref().unwrap_or("default bridge")
        ));
        out.push(match self.ip {
            Some(ip) => format!("  ip       {ip} ({})", self.ip_reason),
            None => "  ip       dynamic (given by Docker)".to_string(),
        });
        for (i, n) in self.create.networks.iter().enumerate() {
            out.push(format!(
                "  joins    {} ({})",
                n.describe(),
                self.network_reasons
                    .get(i)
                    .map_or("carried from the running container", String::as_str)
            ));
        }
        out.push(format!(
            "  image    {} ({})",
            self.image,
            if self.image_present {
                "present on the host"
            } else {
                "not on the host: will be pulled"
            }
        ));
        if let DeployKind::Update { old_revision, .. } = &self.kind {
            out.push(format!(
                "  keeps    {} stopped, for rollback",
                revision::kept_name(&self.name, *old_revision)
            ));
        }
        if !self.prune.is_empty() {
            let names: Vec<&str> = self.prune.iter().map(|(_, n)| n.as_str()).collect();
            out.push(format!("  prunes   {}", names.join(", ")));
        }
        out.push(format!(
            "  waits    {} s for it to run{}",
            self.wait_s,
            if self.create.healthcheck.is_some() {
                " and be healthy"
            } else {
                ""
            }
        ));
        out.extend(self.review.lines(self.accept_loss));
        out
    }
}

/// Who deploys and when, written into the new container's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployer {
    pub who: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Places `spec` (on `to`, or where its placement says), checks it against that host and
/// decides everything: host, network, IP, image, revision, what is kept and pruned. All
/// problems at once, each tied to its key.
pub fn plan(
    spec: &DeploySpec,
    fleet: &Fleet,
    to: Option<&DeployTarget>,
    keep_revisions: usize,
    deployer: &Deployer,
) -> Result<DeployPlan, Vec<SpecProblem>> {
    let placed = place(spec, fleet, to).map_err(|p| vec![p])?;
    let endpoint = placed.endpoint;
    let Some(ep) = fleet.endpoints.get(endpoint) else {
        return Err(vec![SpecProblem::new("placement", "no such endpoint")]);
    };
    let report = IpamReport::from_fleet(fleet);
    let mut problems = Vec::new();

    let live = ep
        .containers
        .values()
        .find(|c| c.name == spec.name && c.state != ContainerState::Removing);
    let kind = match live {
        None => DeployKind::New,
        Some(c) => DeployKind::Update {
            old_id: c.id.clone(),
            old_image: c.image.clone(),
            old_revision: revision::revision_of(c).unwrap_or(0),
            old_state: c.state,
        },
    };
    let replaced = live.map(|c| c.id.as_str());

    // Network and address.
    let (ip, ip_reason) = match check_network_and_ip(spec, &report, endpoint, ep, live) {
        Ok(pair) => pair,
        Err(p) => {
            problems.push(p);
            (None, String::new())
        }
    };
    // Further networks, each with its own address.
    let mut attach = Vec::new();
    let mut network_reasons = Vec::new();
    for (i, n) in spec.networks.iter().enumerate() {
        let key = format!("networks[{i}]");
        if spec.network.as_deref() == Some(n.name.as_str())
            || spec.networks[..i].iter().any(|m| m.name == n.name)
        {
            problems.push(SpecProblem::new(
                &key,
                format!("network {} is joined twice", n.name),
            ));
            continue;
        }
        match address_on(&report, endpoint, ep, live, &n.name, n.ip, &spec.name, &key) {
            Ok((ip, reason)) => {
                attach.push(NetworkAttach {
                    name: n.name.clone(),
                    ipv4: ip.map(|ip| ip.to_string()),
                    aliases: n.aliases.clone(),
                });
                network_reasons.push(if reason.is_empty() {
                    "dynamic (given by Docker)".to_string()
                } else {
                    reason
                });
            }
            Err(p) => problems.push(p),
        }
    }
    // Ports.
    problems.extend(port_clashes(&spec.ports, ep, replaced));

    if !problems.is_empty() {
        return Err(problems);
    }

    let kept = revision::kept_revisions(ep, &spec.name);
    let newest_kept = kept.iter().map(|k| k.revision).max().unwrap_or(0);
    let old_revision = match &kind {
        DeployKind::Update { old_revision, .. } => *old_revision,
        DeployKind::New => 0,
    };
    let new_revision = old_revision.max(newest_kept) + 1;
    let prune = match &kind {
        // The old revision joins the kept ones, newest first; beyond `keep_revisions` go.
        DeployKind::Update { .. } => kept
            .iter()
            .skip(keep_revisions.saturating_sub(1))
            .map(|k| (k.id.clone(), k.name.clone()))
            .collect(),
        DeployKind::New => Vec::new(),
    };

    let image_present = image_on(ep, &spec.image);
    let mut labels = spec.labels.clone();
    labels.extend(
        RevisionInfo {
            service: spec.name.clone(),
            revision: new_revision,
            image: spec.image.clone(),
            spec_digest: spec_digest(spec),
            at: deployer.at,
            by: deployer.who.clone(),
        }
        .labels(),
    );
    let create = CreateSpec {
        name: spec.name.clone(),
        image: spec.image.clone(),
        command: spec.command.clone(),
        env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels,
        ports: spec.ports.clone(),
        network: spec.network.clone(),
        ipv4: ip.map(|ip| ip.to_string()),
        restart: spec.restart.clone(),
        healthcheck: spec.healthcheck.clone(),
        nano_cpus: spec.nano_cpus,
        memory_bytes: spec.memory_bytes,
        aliases: Vec::new(),
        networks: attach,
        run: spec.run.clone(),
        complete: true,
        base: None,
    };
    Ok(DeployPlan {
        endpoint,
        endpoint_name: ep.name().to_string(),
        placement_reason: placed.reason,
        name: spec.name.clone(),
        image: spec.image.clone(),
        image_present,
        network: spec.network.clone(),
        ip,
        ip_reason,
        kind,
        revision: new_revision,
        create,
        prune,
        wait_s: spec.wait_s,
        accept_loss: false,
        network_reasons,
        review: if live.is_some() {
            carry::Review::Pending
        } else {
            carry::Review::NotNeeded
        },
    })
}

/// Whether the host lists the image among its tags.
pub fn image_on(ep: &Endpoint, image: &str) -> bool {
    let wanted = normalise_image(image);
    ep.images
        .iter()
        .any(|i| i.tags.iter().any(|t| normalise_image(t) == wanted) || i.id == image)
}

/// A short digest of the spec: two deploys of the same spec carry the same digest.
pub fn spec_digest(spec: &DeploySpec) -> String {
    use sha2::{Digest, Sha256};
    // Placement is where, not what: moving a service does not change its digest.
    let mut what = spec.clone();
    what.placement = Placement::default();
    let json = serde_json::to_vec(&what).unwrap_or_default();
    let hash = Sha256::digest(&json);
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The network exists on the host, and the address is in its pool and free (cluster-wide on a
/// shared subnet); `ip = "auto"` picks the next free one, or keeps the live revision's.
fn check_network_and_ip(
    spec: &DeploySpec,
    report: &IpamReport,
    endpoint: EndpointId,
    ep: &Endpoint,
    live: Option<&super::Container>,
) -> Result<(Option<IpAddr>, String), SpecProblem> {
    let Some(network) = &spec.network else {
        return match spec.ip {
            IpChoice::Dynamic => Ok((None, String::new())),
            _ => Err(SpecProblem::new(
                "ip",
                "a fixed or auto address needs a network (set network = \"…\")",
            )),
        };
    };
    address_on(
        report, endpoint, ep, live, network, spec.ip, &spec.name, "ip",
    )
}

/// The address `choice` gives the service on `network` of the host: `key` is the spec key
/// a problem is tied to.
#[allow(clippy::too_many_arguments)] // each is one fact of the plan; a struct would only rename them
fn address_on(
    report: &IpamReport,
    endpoint: EndpointId,
    ep: &Endpoint,
    live: Option<&super::Container>,
    network: &str,
    choice: IpChoice,
    service: &str,
    key: &str,
) -> Result<(Option<IpAddr>, String), SpecProblem> {
    check_network(ep, network)
        .map_err(|p| SpecProblem::new(if key == "ip" { "network" } else { key }, p.message))?;
    if choice == IpChoice::Dynamic {
        return Ok((None, String::new()));
    }
    let pool = report
        .pools_of(endpoint, network)
        .find(|p| p.subnet.addr().is_ipv4())
        .ok_or_else(|| {
            SpecProblem::new(
                key,
                format!(
                    "network {network} on {} has no IPv4 pool to take an address from",
                    ep.name()
                ),
            )
        })?;
    // The live revision's own address is free for its successor.
    let live_ip: Option<IpAddr> = live.and_then(|c| {
        c.networks
            .iter()
            .find(|n| n.network == network)
            .and_then(|n| n.static_ipv4.as_deref().or(n.ipv4.as_deref()))
            .and_then(|ip| ip.parse().ok())
    });
    match choice {
        IpChoice::Fixed(ip) => {
            if Some(ip) != live_ip {
                check_address(pool, endpoint, ep.name(), network, ip, service)
                    .map_err(|p| SpecProblem::new(key, p.message))?;
            }
            Ok((Some(ip), "fixed".into()))
        }
        IpChoice::Auto => {
            if let Some(ip) = live_ip {
                return Ok((Some(ip), format!("auto: kept from the running {service}")));
            }
            let free = pool.next_free(endpoint, 1);
            let range = pool
                .member_on(endpoint)
                .map(|m| m.spec.allocatable_range().to_string())
                .unwrap_or_default();
            match free.first() {
                Some(ip) => Ok((
                    Some(*ip),
                    format!(
                        "auto: next free of {range}{}",
                        if pool.is_shared() {
                            format!(", {} shared across cluster {}", pool.subnet, pool.cluster)
                        } else {
                            String::new()
                        }
                    ),
                )),
                None => {
                    let exhausted = format!(
                        "no free address left in {network}'s range {range} on {}",
                        ep.name()
                    );
                    // Another host's range over this one takes it all: say that, the cause.
                    Err(SpecProblem::new(
                        key,
                        match pool.range_overlap_on(endpoint, None) {
                            Some(overlap) => format!("{overlap} ({exhausted})"),
                            None => exhausted,
                        },
                    ))
                }
            }
        }
        IpChoice::Dynamic => Ok((None, String::new())),
    }
}

/// The network is one of the host's.
pub fn check_network(ep: &Endpoint, network: &str) -> Result<(), SpecProblem> {
    if ep.networks.iter().any(|n| n.name == network) {
        return Ok(());
    }
    let names: Vec<&str> = ep.networks.iter().map(|n| n.name.as_str()).collect();
    Err(SpecProblem::new(
        "network",
        format!(
            "{} has no network \"{network}\"; its networks: {}",
            ep.name(),
            if names.is_empty() {
                "none listed (not synced yet?)".to_string()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// A fixed address lies in the pool's subnet and nobody on the pool uses, claims or reserves
/// it, nor may another host's daemon hand it out. `service`'s own kept (stopped) revisions on
/// the endpoint do not count: after a deploy was cut short they may be all that is left of it.
pub fn check_address(
    pool: &ClusterPool,
    endpoint: EndpointId,
    endpoint_name: &str,
    network: &str,
    ip: IpAddr,
    service: &str,
) -> Result<(), SpecProblem> {
    let problem = |m: String| Err(SpecProblem::new("ip", m));
    let Some(member) = pool.member_on(endpoint) else {
        return problem(format!("network {network} on {endpoint_name} has no pool"));
    };
    if !member.spec.subnet.contains(&ip) {
        return problem(format!(
            "{ip} is outside the pool of network {network} on {endpoint_name} \
             (subnet {}, range {})",
            member.spec.subnet,
            member.spec.allocatable_range()
        ));
    }
    if pool.is_free_for_service(endpoint, ip, service) {
        return Ok(());
    }
    for m in &pool.members {
        if let Some(r) = m.spec.reservation_of(ip) {
            return problem(format!(
                "{ip} is taken: the {r} of {}/{}",
                m.endpoint_name, m.network
            ));
        }
    }
    if let Some(a) = pool
        .allocations()
        .into_iter()
        .find(|a| a.ip == ip && !a.is_kept_revision_of(endpoint, service))
    {
        let how = match a.holding {
            Holding::Used => "used by",
            Holding::Claimed => "claimed by the stopped",
        };
        return problem(format!(
            "{ip} is taken: {how} {}/{}",
            a.endpoint_name, a.container_name
        ));
    }
    if let Some(m) = pool
        .members
        .iter()
        .find(|m| m.endpoint != endpoint && m.spec.allocatable_range().contains(&ip))
    {
        // In this host's range too: the ranges overlap, which is the thing to fix.
        if let Some(overlap) = pool.range_overlap_on(endpoint, Some(ip)) {
            return problem(overlap.to_string());
        }
        return problem(format!(
            "{ip} lies in {}'s ip-range {} of {}, which that daemon hands out",
            m.endpoint_name,
            m.spec.allocatable_range(),
            m.network
        ));
    }
    problem(format!("{ip} is not free on {network}"))
}

/// Host ports the spec publishes that a live container of the host already publishes.
/// `replaced` (the revision being replaced) is stopped first, so it clashes with nothing.
pub fn port_clashes(ports: &[PortSpec], ep: &Endpoint, replaced: Option<&str>) -> Vec<SpecProblem> {
    let any = |ip: Option<&str>| ip.is_none_or(|ip| ip.is_empty() || ip == "0.0.0.0" || ip == "::");
    let mut out = Vec::new();
    for p in ports {
        let Some(host_port) = p.host_port else {
            continue;
        };
        let holder = ep.containers.values().find(|c| {
            Some(c.id.as_str()) != replaced
                && matches!(
                    c.state,
                    ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
                )
                && c.ports.iter().any(|b| {
                    b.public == Some(host_port)
                        && b.proto == p.proto
                        && (any(b.host_ip.as_deref())
                            || any(p.host_ip.as_deref())
                            || b.host_ip == p.host_ip)
                })
        });
        if let Some(c) = holder {
            out.push(SpecProblem::new(
                "ports",
                format!(
                    "host port {host_port}/{} on {} is already published by {}",
                    p.proto,
                    ep.name(),
                    c.name
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A small lab-like fleet: lab1 and lab2 share 192.168.2.0/24 on "fleetnet" with disjoint
    //! ranges, lab3 is in another cluster.
    use super::*;
    use crate::model::EndpointSpec;
    use crate::model::container::fixtures::container;
    use crate::model::container::{NetAttachment, PortBinding};
    use crate::model::endpoint::{DaemonInfo, IpamPool, NetworkInfo};
    use crate::model::{ImageInfo, Link};

    pub fn endpoint_spec(name: &str, cluster: &str, labels: &[(&str, &str)]) -> EndpointSpec {
        let mut s = EndpointSpec::from_url(Some(name), "tcp://192.0.2.1:2375").unwrap();
        s.cluster = cluster.into();
        s.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s
    }

    fn fleetnet(range: &str, gw: &str) -> NetworkInfo {
        NetworkInfo {
            id: format!("id-{range}"),
            name: "fleetnet".into(),
            driver: "bridge".into(),
            scope: "local".into(),
            pools: vec![IpamPool {
                subnet: "192.168.2.0/24".into(),
                ip_range: Some(range.into()),
                gateway: Some(gw.into()),
                aux_addresses: [("DefaultGatewayIPv4".to_string(), "192.168.2.254".into())].into(),
            }],
            ..NetworkInfo::default()
        }
    }

    fn bridge() -> NetworkInfo {
        NetworkInfo {
            id: "bridge".into(),
            name: "bridge".into(),
            driver: "bridge".into(),
            scope: "local".into(),
            pools: vec![IpamPool {
                subnet: "172.17.0.0/16".into(),
                gateway: Some("172.17.0.1".into()),
                ..IpamPool::default()
            }],
            ..NetworkInfo::default()
        }
    }

    pub fn on_fleetnet(
        id: &str,
        name: &str,
        state: ContainerState,
        ip: &str,
        fixed: bool,
    ) -> crate::model::Container {
        let mut c = container(id, name, state);
        c.networks = vec![NetAttachment {
            network: "fleetnet".into(),
            ipv4: (state == ContainerState::Running).then(|| ip.to_string()),
            static_ipv4: fixed.then(|| ip.to_string()),
            ..NetAttachment::default()
        }];
        c
    }

    fn up(ep: &mut Endpoint, running: usize) {
        ep.link = Link::Up;
        ep.synced = true;
        ep.info = Some(DaemonInfo {
            cpus: 2,
            memory_bytes: 1 << 33,
            ..DaemonInfo::default()
        });
        ep.images = vec![ImageInfo {
            id: "sha256:aaaa".into(),
            tags: vec!["busybox:local".into()],
            ..ImageInfo::default()
        }];
        for i in 0..running {
            let c = container(
                &format!("{}-busy-{i}", ep.name()),
                &format!("busy-{i}"),
                ContainerState::Running,
            );
            ep.containers.insert(c.id.clone(), c);
        }
    }

    /// lab1 (range .0/26, 3 running besides web-1 .20 and db on 5432), lab2 (range .64/26,
    /// 1 running: .64 used), lab3 (cluster lab-b).
    pub fn lab() -> Fleet {
        let mut fleet = Fleet::new([
            endpoint_spec("lab1", "lab-a", &[("subnet", "192.168.2.0/24")]),
            endpoint_spec("lab2", "lab-a", &[("subnet", "192.168.2.0/24")]),
            endpoint_spec("lab3", "lab-b", &[("subnet", "192.168.3.0/24")]),
        ]);
        let [lab1, lab2, lab3] = &mut fleet.endpoints[..] else {
            unreachable!()
        };
        up(lab1, 3);
        lab1.networks = vec![bridge(), fleetnet("192.168.2.0/26", "192.168.2.14")];
        let web = on_fleetnet("w1", "web-1", ContainerState::Running, "192.168.2.20", true);
        let mut db = container("db1", "db", ContainerState::Running);
        db.ports = vec![PortBinding {
            private: 5432,
            public: Some(5432),
            host_ip: Some("0.0.0.0".into()),
            proto: "tcp".into(),
        }];
        // A stopped container on lab1 claims an address of lab2's range.
        let claim = on_fleetnet(
            "c1",
            "claims-66",
            ContainerState::Exited,
            "192.168.2.66",
            true,
        );
        for c in [web, db, claim] {
            lab1.containers.insert(c.id.clone(), c);
        }
        up(lab2, 1);
        lab2.networks = vec![bridge(), fleetnet("192.168.2.64/26", "192.168.2.65")];
        let dynamic = on_fleetnet(
            "d2",
            "web-2",
            ContainerState::Running,
            "192.168.2.64",
            false,
        );
        lab2.containers.insert(dynamic.id.clone(), dynamic);
        up(lab3, 0);
        lab3.networks = vec![bridge()];
        fleet
    }

    pub fn spec(name: &str) -> DeploySpec {
        DeploySpec {
            name: name.into(),
            image: "busybox:local".into(),
            command: vec![],
            env: BTreeMap::new(),
            labels: BTreeMap::new(),
            ports: vec![],
            network: Some("fleetnet".into()),
            ip: IpChoice::Auto,
            restart: RestartPolicy::No,
            healthcheck: None,
            nano_cpus: None,
            memory_bytes: None,
            placement: Placement::default(),
            wait_s: DEFAULT_WAIT_S,
            networks: Vec::new(),
            run: RunOptions::default(),
            replicas: None,
            batch: 1,
        }
    }

    pub fn labels_for(service: &str, revision: u32, image: &str) -> BTreeMap<String, String> {
        RevisionInfo {
            service: service.into(),
            revision,
            image: image.into(),
            spec_digest: "abc".into(),
            at: deployer().at,
            by: "ops@deck".into(),
        }
        .labels()
    }

    /// On lab1: `service` live at revision `live` (busybox:vN, .30) and stopped kept revisions.
    pub fn with_history(fleet: &mut Fleet, service: &str, live: u32, kept: &[u32]) {
        let lab1 = &mut fleet.endpoints[0];
        let ip = "192.168.2.30";
        let mut c = on_fleetnet("live", service, ContainerState::Running, ip, true);
        c.labels = labels_for(service, live, &format!("busybox:v{live}"));
        c.image = format!("busybox:v{live}");
        lab1.containers.insert(c.id.clone(), c);
        for r in kept {
            let name = revision::kept_name(service, *r);
            let mut k = on_fleetnet(&format!("k{r}"), &name, ContainerState::Exited, ip, true);
            k.labels = labels_for(service, *r, &format!("busybox:v{r}"));
            lab1.containers.insert(k.id.clone(), k);
        }
    }

    pub fn deployer() -> Deployer {
        use chrono::TimeZone;
        Deployer {
            who: "ops@deck".into(),
            at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
                .single()
                .unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn to(text: &str) -> DeployTarget {
        DeployTarget::parse(text).unwrap()
    }

    fn problems(spec: &DeploySpec, target: &str) -> Vec<String> {
        plan(spec, &lab(), Some(&to(target)), 3, &deployer())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn image_references_follow_dockers_grammar() {
        for ok in [
            "busybox",
            "busybox:local",
            "library/busybox:1.36.1",
            "registry.local:5000/shop/cart:2.1",
            "localhost/a_b__c-d.e:tag",
            "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_image("Busybox:1"),
            Err(
                "\"Busybox:1\" is not an image reference; expected [REGISTRY/]NAME[:TAG][@DIGEST] \
                 with a lowercase name, e.g. busybox:1.36 or registry.local:5000/shop/cart:2.1"
                    .into()
            )
        );
        for bad in [
            "busy box",
            "busybox:",
            ":tag",
            "a//b",
            "busybox@sha256:12",
            "-x",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_image(""),
            Err("missing: say which image to run, e.g. busybox:1.36".into())
        );
    }

    #[test]
    fn image_names_are_normalised_as_the_daemon_lists_them() {
        assert_eq!(normalise_image("busybox"), "busybox:latest");
        assert_eq!(normalise_image("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(normalise_image("reg:5000/app"), "reg:5000/app:latest");
        assert_eq!(normalise_image("reg:5000/app:2"), "reg:5000/app:2");
    }

    #[test]
    fn ports_ips_sizes_and_policies_parse_with_exact_messages() {
        assert_eq!(
            parse_port("127.0.0.1:8080:80/udp").unwrap().to_string(),
            "127.0.0.1:8080:80/udp"
        );
        assert_eq!(parse_port("8080:80").unwrap().host_port, Some(8080));
        assert_eq!(parse_port("80").unwrap().host_port, None);
        assert_eq!(
            parse_port("80:http"),
            Err(
                "\"80:http\" is not a port; expected [HOST_IP:]HOST_PORT:CONTAINER_PORT\
                 [/tcp|udp|sctp] or CONTAINER_PORT, e.g. 8080:80"
                    .into()
            )
        );
        assert!(parse_port("8080:80/icmp").is_err());
        assert!(parse_port("0:80").is_err());
        assert_eq!(parse_ip("auto"), Ok(IpChoice::Auto));
        assert_eq!(
            parse_ip("192.168.2.300"),
            Err(
                "\"192.168.2.300\" is neither \"auto\" nor an IPv4 address like 192.168.2.30"
                    .into()
            )
        );
        assert!(parse_ip("fd00::1").is_err());
        assert_eq!(parse_memory("512m"), Ok(512 << 20));
        assert_eq!(parse_memory("2GB"), Ok(2 << 30));
        assert!(parse_memory("lots").is_err());
        assert_eq!(
            RestartPolicy::parse("on-failure:5"),
            Some(RestartPolicy::OnFailure {
                max_retries: Some(5)
            })
        );
        assert_eq!(RestartPolicy::parse("sometimes"), None);
        assert!(check_name("cart--r3").is_err());
        assert!(check_name("cart-2").is_ok());
    }

    #[test]
    fn auto_takes_the_next_address_nobody_on_the_lan_uses_or_claims() {
        let p = plan(&spec("cart"), &lab(), Some(&to("lab2")), 3, &deployer()).unwrap();
        // .64 is used on lab2, .65 is lab2's gateway, .66 is claimed by a stopped lab1 container.
        assert_eq!(p.ip, Some("192.168.2.67".parse().unwrap()));
        assert_eq!(p.kind, DeployKind::New);
        assert_eq!(p.revision, 1);
        assert_eq!(p.create.ipv4.as_deref(), Some("192.168.2.67"));
        assert_eq!(p.create.labels["fleetdeck.deploy.revision"], "1");
        assert_eq!(p.create.labels["fleetdeck.deploy.by"], "ops@deck");
        assert_eq!(
            p.lines(),
            vec![
                "deploy cart (busybox:local) to lab2 as revision 1",
                "  host     lab2 (--to lab2)",
                "  network  fleetnet",
                "  ip       192.168.2.67 (auto: next free of 192.168.2.64/26, \
                 192.168.2.0/24 shared across cluster lab-a)",
                "  image    busybox:local (present on the host)",
                "  waits    60 s for it to run",
            ]
        );
    }

    #[test]
    fn fixed_addresses_outside_the_pool_or_taken_are_refused_with_the_holder() {
        let with_ip = |ip: &str| DeploySpec {
            ip: parse_ip(ip).unwrap(),
            ..spec("cart")
        };
        assert_eq!(
            problems(&with_ip("192.168.3.5"), "lab1"),
            [
                "ip: 192.168.3.5 is outside the pool of network fleetnet on lab1 \
              (subnet 192.168.2.0/24, range 192.168.2.0/26)"
            ]
        );
        assert_eq!(
            problems(&with_ip("192.168.2.20"), "lab1"),
            ["ip: 192.168.2.20 is taken: used by lab1/web-1"]
        );
        assert_eq!(
            problems(&with_ip("192.168.2.66"), "lab2"),
            ["ip: 192.168.2.66 is taken: claimed by the stopped lab1/claims-66"]
        );
        assert_eq!(
            problems(&with_ip("192.168.2.65"), "lab1"),
            ["ip: 192.168.2.65 is taken: the gateway of lab2/fleetnet"]
        );
        assert_eq!(
            problems(&with_ip("192.168.2.70"), "lab1"),
            [
                "ip: 192.168.2.70 lies in lab2's ip-range 192.168.2.64/26 of fleetnet, \
              which that daemon hands out"
            ]
        );
        // Outside both ranges but inside the subnet: a static address may live there.
        let p = plan(
            &with_ip("192.168.2.200"),
            &lab(),
            Some(&to("lab1")),
            3,
            &deployer(),
        );
        assert_eq!(p.unwrap().ip_reason, "fixed");
    }

    #[test]
    fn unknown_networks_and_port_clashes_are_named() {
        let s = DeploySpec {
            network: Some("nope".into()),
            ports: vec![parse_port("5432:5432").unwrap(), parse_port("80").unwrap()],
            ..spec("cart")
        };
        assert_eq!(
            problems(&s, "lab1"),
            [
                "network: lab1 has no network \"nope\"; its networks: bridge, fleetnet",
                "ports: host port 5432/tcp on lab1 is already published by db",
            ]
        );
        // The same port as UDP, or on lab2, is fine.
        let udp = DeploySpec {
            ports: vec![parse_port("5432:5432/udp").unwrap()],
            ..spec("cart")
        };
        assert!(plan(&udp, &lab(), Some(&to("lab1")), 3, &deployer()).is_ok());
        let s = DeploySpec {
            ip: IpChoice::Auto,
            network: None,
            ..spec("cart")
        };
        assert_eq!(
            problems(&s, "lab1"),
            ["ip: a fixed or auto address needs a network (set network = \"…\")"]
        );
    }

    #[test]
    fn an_update_keeps_the_address_and_the_old_revision_and_prunes_beyond_n() {
        let mut fleet = lab();
        with_history(&mut fleet, "cart", 4, &[1, 2, 3]);
        let s = DeploySpec {
            image: "busybox:v5".into(),
            ports: vec![parse_port("5432:5432").unwrap()],
            ..spec("cart")
        };
        // The live revision publishing nothing, db still clashes; without the port, fine.
        assert!(plan(&s, &fleet, Some(&to("lab1")), 2, &deployer()).is_err());
        let s = DeploySpec { ports: vec![], ..s };
        let p = plan(&s, &fleet, Some(&to("lab1")), 2, &deployer()).unwrap();
        assert_eq!(p.ip, Some("192.168.2.30".parse().unwrap()));
        assert_eq!(p.revision, 5);
        assert_eq!(
            p.kind,
            DeployKind::Update {
                old_id: "live".into(),
                old_image: "busybox:v4".into(),
                old_revision: 4,
                old_state: ContainerState::Running,
            }
        );
        // Keep 2: cart--r4 (the old one) and cart--r3; r2 and r1 go.
        assert_eq!(
            p.prune,
            vec![
                ("k2".to_string(), "cart--r2".to_string()),
                ("k1".to_string(), "cart--r1".to_string())
            ]
        );
        assert!(!p.image_present);
        let lines = p.lines();
        assert_eq!(
            lines[0],
            "update lab1/cart from revision 4 (busybox:v4) to revision 5 (busybox:v5)"
        );
        assert!(lines.contains(&"  keeps    cart--r4 stopped, for rollback".to_string()));
        assert!(lines.contains(&"  prunes   cart--r2, cart--r1".to_string()));
        assert!(lines.contains(&"  image    busybox:v5 (not on the host: will be pulled)".into()));
        // A fixed address equal to the live one's is its own, not taken.
        let s = DeploySpec {
            ip: IpChoice::Fixed("192.168.2.30".parse().unwrap()),
            ..s
        };
        assert!(plan(&s, &fleet, Some(&to("lab1")), 2, &deployer()).is_ok());
    }

    #[test]
    fn a_redeploy_may_take_the_address_its_own_kept_revision_claims() {
        // The state a kill mid-update can leave: no container named cart, only stopped
        // revisions, one of them claiming the address the spec asks for.
        let mut fleet = lab();
        with_history(&mut fleet, "cart", 2, &[1]);
        fleet.endpoints[0].containers.remove("live");
        let fixed = DeploySpec {
            ip: IpChoice::Fixed("192.168.2.30".parse().unwrap()),
            ..spec("cart")
        };
        let p = plan(&fixed, &fleet, Some(&to("lab1")), 3, &deployer()).unwrap();
        assert_eq!(p.ip, Some("192.168.2.30".parse().unwrap()));
        assert_eq!(p.revision, 2, "numbering goes on after the kept revision");
        // Another service may not take it.
        let thief = DeploySpec {
            ip: IpChoice::Fixed("192.168.2.30".parse().unwrap()),
            ..spec("shop")
        };
        assert_eq!(
            plan(&thief, &fleet, Some(&to("lab1")), 3, &deployer())
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["ip: 192.168.2.30 is taken: claimed by the stopped lab1/cart--r1"]
        );
    }

    #[test]
    fn the_spec_digest_ignores_placement_but_not_the_image() {
        let a = spec("cart");
        let mut b = a.clone();
        b.placement.endpoint = Some("lab2".into());
        assert_eq!(spec_digest(&a), spec_digest(&b));
        b.image = "busybox:v2".into();
        assert_ne!(spec_digest(&a), spec_digest(&b));
        assert_eq!(spec_digest(&a).len(), 12);
    }

    // ------------------------------------- the IP pools and a deployed service's revisions --

    mod kept_revisions_in_the_pools {
        use ipnet::IpNet;

        use crate::model::deploy::fixtures::{lab, labels_for, on_fleetnet, with_history};
        use crate::model::ipam::{Conflict, Holding, IpamReport};
        use crate::model::{Container, ContainerState, Fleet};

        fn ip(s: &str) -> std::net::IpAddr {
            s.parse().unwrap()
        }

        fn duplicates(fleet: &Fleet) -> Vec<String> {
            IpamReport::from_fleet(fleet)
                .pools
                .iter()
                .flat_map(|p| &p.conflicts)
                .filter(|c| matches!(c, Conflict::DuplicateAddress { .. }))
                .map(ToString::to_string)
                .collect()
        }

        fn labelled(
            id: &str,
            name: &str,
            state: ContainerState,
            service: &str,
            revision: u32,
        ) -> Container {
            let mut c = on_fleetnet(id, name, state, "192.168.2.30", true);
            c.labels = labels_for(service, revision, "busybox:v1");
            c
        }

        #[test]
        fn a_service_and_its_kept_revisions_on_one_address_are_one_holder() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[1, 2]);
            assert_eq!(duplicates(&fleet), Vec::<String>::new());
            // The pool still shows every revision holding or claiming the address.
            let report = IpamReport::from_fleet(&fleet);
            let pool = report
                .pools
                .iter()
                .find(|p| p.subnet == "192.168.2.0/24".parse::<IpNet>().unwrap())
                .unwrap();
            let holders: Vec<(&str, Holding, Option<&str>)> = pool
                .allocations()
                .into_iter()
                .filter(|a| a.ip == ip("192.168.2.30"))
                .map(|a| (a.container_name.as_str(), a.holding, a.service.as_deref()))
                .collect();
            assert_eq!(holders.len(), 3, "{holders:?}");
            assert!(holders.contains(&("fdsvc--r2", Holding::Claimed, Some("fdsvc"))));
            assert!(holders.contains(&("fdsvc", Holding::Used, Some("fdsvc"))));
        }

        #[test]
        fn kept_revisions_alone_after_the_live_one_is_lost_are_one_holder() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[1, 2]);
            fleet.endpoints[0].containers.remove("live");
            assert_eq!(duplicates(&fleet), Vec::<String>::new());
        }

        #[test]
        fn two_running_containers_of_one_service_on_one_address_still_conflict() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[2]);
            let twin = labelled("twin", "fdsvc--r2b", ContainerState::Running, "fdsvc", 2);
            fleet.endpoints[0].containers.insert(twin.id.clone(), twin);
            assert_eq!(duplicates(&fleet).len(), 1);
        }

        #[test]
        fn a_kept_revision_of_another_service_on_the_address_still_conflicts() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[]);
            let other = labelled("o1", "cart--r1", ContainerState::Exited, "cart", 1);
            fleet.endpoints[0]
                .containers
                .insert(other.id.clone(), other);
            assert_eq!(
                duplicates(&fleet),
                [
                    "192.168.2.30 is taken 2 times: fdsvc on lab1 (running, static); \
                  cart--r1 on lab1 (exited, static, claimed)"
                ]
            );
        }

        #[test]
        fn the_same_service_on_another_host_of_the_lan_still_conflicts() {
            let mut fleet = lab();
            with_history(&mut fleet, "fdsvc", 3, &[]);
            let elsewhere = labelled("e1", "fdsvc--r1", ContainerState::Exited, "fdsvc", 1);
            fleet.endpoints[1]
                .containers
                .insert(elsewhere.id.clone(), elsewhere);
            assert_eq!(duplicates(&fleet).len(), 1);
        }
    }

    // ------------------------------------------------------------------ single pools --

    /// The IP pools' view of overlapping ranges is what a deploy's error names.
    #[test]
    fn deploy_names_overlapping_ranges_as_the_cause() {
        use crate::model::ipam::tests::lan_pools::{OVERLAP, overlapping};
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let fleet = overlapping();
        let to = DeployTarget::Endpoint("d1".into());
        let ip_problem = |choice: IpChoice| {
            let mut s = spec("svc");
            s.network = Some("lan".into());
            s.ip = choice;
            let problems = plan(&s, &fleet, Some(&to), 3, &deployer())
                .err()
                .unwrap_or_default();
            problems
                .into_iter()
                .find(|p| p.key == "ip")
                .map(|p| p.message)
        };
        assert_eq!(
            ip_problem(IpChoice::Auto),
            Some(format!(
                "{OVERLAP} (no free address left in lan's range 10.77.0.128/26 on d1)"
            ))
        );
        assert_eq!(
            ip_problem(IpChoice::Fixed(ip("10.77.0.150"))),
            Some(OVERLAP.to_string())
        );
        // Outside the overlap, the plain reasons stand.
        assert_eq!(
            ip_problem(IpChoice::Fixed(ip("10.77.0.140"))),
            Some("10.77.0.140 is taken: used by d2/b".to_string())
        );
    }
}
