//! The [`DeployPlan`]: a spec placed on a host and checked against it (network, fixed or next
//! free IP, port clashes), with everything decided before anything happens.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{
    DeploySpec, DeployTarget, Healthcheck, IpChoice, NetworkAttach, PortSpec, RestartPolicy,
    RevisionInfo, RunOptions, SpecProblem, carry, normalise_image, place, revision, spec_digest,
};
use crate::container::ContainerState;
use crate::ipam::{ClusterPool, Holding, IpamReport};
use crate::{Container, Endpoint, EndpointId, Fleet};

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

/// The network exists on the host, and the address is in its pool and free (cluster-wide on a
/// shared subnet); `ip = "auto"` picks the next free one, or keeps the live revision's.
fn check_network_and_ip(
    spec: &DeploySpec,
    report: &IpamReport,
    endpoint: EndpointId,
    ep: &Endpoint,
    live: Option<&Container>,
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
    live: Option<&Container>,
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
mod tests {
    use super::super::fixtures::*;
    use super::super::{parse_ip, parse_port};
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

    /// The IP pools' view of overlapping ranges is what a deploy's error names.
    #[test]
    fn deploy_names_overlapping_ranges_as_the_cause() {
        use crate::ipam::tests::lan_pools::{OVERLAP, overlapping};
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
