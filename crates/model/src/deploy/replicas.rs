//! A service of several replicas: `NAME-1`…`NAME-n`, each a container deployed, kept and
//! rolled back like a service of one (its own revisions, journal record and lock), laid over
//! the hosts its placement matches and rolled over one batch at a time. Each replica with
//! `ip = "auto"` takes its own address from the pool: never one another replica, or anything
//! else on any host of a shared pool, has.

use std::collections::BTreeMap;

use super::placement::{Strategy, candidates, load_of};
use super::revision::{LABEL_DIGEST, LABEL_IMAGE, LABEL_SERVICE, REVISION_SEPARATOR};
use super::{
    DeployKind, DeployPlan, DeploySpec, DeployTarget, Deployer, SpecProblem, plan, spec_digest,
};
use crate::container::NetAttachment;
use crate::{Container, ContainerState, EndpointId, Fleet};

/// The label naming the service a replica belongs to; its own `fleetdeck.deploy.service` is
/// the replica's name.
pub const LABEL_GROUP: &str = "fleetdeck.deploy.group";
/// The replica's number, 1…n.
pub const LABEL_REPLICA: &str = "fleetdeck.deploy.replica";

/// `cart-2`.
pub fn replica_name(service: &str, index: u32) -> String {
    format!("{service}-{index}")
}

/// The replica number of `name` in `service` (`cart-2` → 2), if it is one.
pub fn replica_index(service: &str, name: &str) -> Option<u32> {
    name.strip_prefix(service)?
        .strip_prefix('-')?
        .parse()
        .ok()
        .filter(|i| *i > 0)
}

/// A replica that runs (or stands) under its name somewhere in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub index: u32,
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub id: String,
    pub name: String,
}

/// The replicas of `service` in the fleet, by number: containers called `NAME-i` that carry
/// the service's group label (kept revisions, `NAME-i--rN`, are not replicas).
pub fn replicas_of(fleet: &Fleet, service: &str) -> Vec<Replica> {
    let mut out: Vec<Replica> = Vec::new();
    for (id, ep) in fleet.endpoints.iter().enumerate() {
        for c in ep.containers.values() {
            if c.state == ContainerState::Removing
                || c.labels.get(LABEL_GROUP).map(String::as_str) != Some(service)
                || c.name.contains(REVISION_SEPARATOR)
            {
                continue;
            }
            if let Some(index) = replica_index(service, &c.name) {
                out.push(Replica {
                    index,
                    endpoint: id,
                    endpoint_name: ep.name().to_string(),
                    id: c.id.clone(),
                    name: c.name.clone(),
                });
            }
        }
    }
    out.sort_by_key(|r| (r.index, r.endpoint));
    out
}

/// A replica beyond the wanted count, removed once every other replica is up: it and its
/// kept revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    /// (id, name): the replica first, then its kept revisions.
    pub containers: Vec<(String, String)>,
}

/// Everything decided for a service of several replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    pub name: String,
    pub replicas: u32,
    pub batch: u32,
    pub strategy: Strategy,
    /// Which hosts may take replicas, and why.
    pub hosts_reason: String,
    /// One plan per replica to deploy, by number.
    pub members: Vec<DeployPlan>,
    /// Replicas that already run this very spec, left as they are: (name, host).
    pub current: Vec<(String, String)>,
    /// Replicas beyond `replicas`, removed last.
    pub remove: Vec<Removal>,
}

impl ServicePlan {
    pub fn lines(&self) -> Vec<String> {
        let mut hosts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let all = self
            .current
            .iter()
            .map(|(n, h)| (n.as_str(), h.as_str()))
            .chain(
                self.members
                    .iter()
                    .map(|m| (m.name.as_str(), m.endpoint_name.as_str())),
            );
        for (name, host) in all {
            hosts.entry(host).or_default().push(name);
        }
        for names in hosts.values_mut() {
            names.sort_by_key(|n| n.rsplit_once('-').and_then(|(_, i)| i.parse::<u32>().ok()));
        }
        let spread: Vec<String> = hosts
            .iter()
            .map(|(h, names)| format!("{h}: {}", names.join(", ")))
            .collect();
        let mut out = vec![
            format!(
                "service {}: {} replica{} ({}; {}), {} at a time",
                self.name,
                self.replicas,
                if self.replicas == 1 { "" } else { "s" },
                self.strategy.as_str(),
                spread.join("; "),
                self.batch
            ),
            format!("  hosts    {}", self.hosts_reason),
        ];
        for (name, host) in &self.current {
            out.push(format!(
                "  keeps    {name} on {host}: it runs this spec already"
            ));
        }
        for m in &self.members {
            out.extend(m.lines().into_iter().map(|l| format!("  {l}")));
        }
        for r in &self.remove {
            let names: Vec<&str> = r.containers.iter().map(|(_, n)| n.as_str()).collect();
            out.push(format!(
                "  removes  {} on {} (scaled down)",
                names.join(", "),
                r.endpoint_name
            ));
        }
        out
    }

    /// The members in the batches they are rolled over in.
    pub fn batches(&self) -> impl Iterator<Item = &[DeployPlan]> {
        self.members.chunks(self.batch.max(1) as usize)
    }
}

/// Places and plans every replica of `spec` (which has `replicas`): one that runs stays on
/// its host and is updated there; a new one goes where the strategy says among the hosts the
/// placement matches, and takes an address no other replica (or anything else) has. All
/// problems at once, each tied to its replica and key.
pub fn plan_service(
    spec: &DeploySpec,
    fleet: &Fleet,
    to: Option<&DeployTarget>,
    keep_revisions: usize,
    deployer: &Deployer,
) -> Result<ServicePlan, Vec<SpecProblem>> {
    let wanted = spec.replicas.unwrap_or(1).max(1);
    let (hosts, hosts_reason) = candidates(spec, fleet, to).map_err(|p| vec![p])?;
    // A host that cannot be listed may hold replicas: planning without them would start a
    // second NAME-i and hand out the addresses they hold.
    let clusters: Vec<&str> = hosts
        .iter()
        .filter_map(|h| fleet.endpoints.get(*h).map(|e| e.cluster()))
        .collect();
    let unseen: Vec<String> = fleet
        .endpoints
        .iter()
        .filter(|e| clusters.contains(&e.cluster()) && !(e.synced && e.is_up()))
        .map(|e| e.name().to_string())
        .collect();
    if !unseen.is_empty() {
        return Err(vec![SpecProblem::new(
            "placement",
            format!(
                "{} of cluster {} cannot be listed now, and may run replicas of {}: try again \
                 when {} up",
                unseen.join(", "),
                clusters.first().copied().unwrap_or_default(),
                spec.name,
                if unseen.len() == 1 {
                    "it is"
                } else {
                    "they are"
                }
            ),
        )]);
    }
    let existing = replicas_of(fleet, &spec.name);
    let mut doubles: Vec<String> = Vec::new();
    for (i, r) in existing.iter().enumerate() {
        if let Some(other) = existing[..i].iter().find(|o| o.index == r.index) {
            doubles.push(format!(
                "{} runs on both {} and {}",
                r.name, other.endpoint_name, r.endpoint_name
            ));
        }
    }
    if !doubles.is_empty() {
        return Err(vec![SpecProblem::new(
            "replicas",
            format!(
                "{}: remove one by hand (fleetdeck never starts a replica twice)",
                doubles.join("; ")
            ),
        )]);
    }
    // What the plans see: the fleet, plus the addresses given to replicas planned before.
    let mut work = fleet.clone();
    let mut count: BTreeMap<EndpointId, usize> = hosts.iter().map(|h| (*h, 0)).collect();
    for r in existing.iter().filter(|r| r.index <= wanted) {
        *count.entry(r.endpoint).or_default() += 1;
    }
    let mut members = Vec::new();
    let mut current = Vec::new();
    let mut problems = Vec::new();
    for index in 1..=wanted {
        let name = replica_name(&spec.name, index);
        let host = match existing.iter().find(|r| r.index == index) {
            Some(r) => r.endpoint,
            None => {
                let pick = match spec.placement.strategy {
                    Strategy::Spread => hosts
                        .iter()
                        .min_by_key(|h| (count.get(h).copied().unwrap_or(0), load_of(&work, **h))),
                    Strategy::Pack => hosts.iter().min_by_key(|h| {
                        (
                            usize::MAX - count.get(h).copied().unwrap_or(0),
                            load_of(&work, **h),
                        )
                    }),
                };
                let Some(h) = pick.copied() else {
                    problems.push(SpecProblem::new("placement", "no host to place it on"));
                    break;
                };
                *count.entry(h).or_default() += 1;
                h
            }
        };
        let host_name = fleet
            .endpoints
            .get(host)
            .map(|e| e.name().to_string())
            .unwrap_or_default();
        let mut one = spec.clone();
        one.name = name.clone();
        one.labels
            .insert(LABEL_GROUP.to_string(), spec.name.clone());
        one.labels
            .insert(LABEL_REPLICA.to_string(), index.to_string());
        // A replica that runs this very spec already is left alone: a rollout resumed after
        // an interruption goes on from where it stopped.
        let live = existing
            .iter()
            .find(|r| r.index == index)
            .and_then(|r| fleet.endpoints.get(r.endpoint)?.containers.get(&r.id));
        if let Some(c) = live
            && c.state == ContainerState::Running
            && c.labels.get(LABEL_DIGEST) == Some(&spec_digest(&one))
            && c.labels.get(LABEL_IMAGE) == Some(&one.image)
        {
            current.push((name, host_name));
            continue;
        }
        let target = DeployTarget::Endpoint(host_name.clone());
        match plan(&one, &work, Some(&target), keep_revisions, deployer) {
            Ok(mut p) => {
                p.placement_reason = match &p.kind {
                    DeployKind::Update { .. } => format!("{host_name} runs {name}"),
                    DeployKind::New => format!(
                        "{}: {host_name} had the {} of {}'s replicas",
                        spec.placement.strategy.as_str(),
                        match spec.placement.strategy {
                            Strategy::Spread => "fewest",
                            Strategy::Pack => "most",
                        },
                        spec.name
                    ),
                };
                // Every member's addresses, an updated one's too (a new network or a new
                // `[[networks]]` entry hands it one), are taken for the plans after it.
                claim(&mut work, &p);
                members.push(p);
            }
            Err(ps) => problems.extend(ps.into_iter().map(|p| SpecProblem {
                key: format!("{name}: {}", p.key),
                message: p.message,
            })),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let remove = existing
        .iter()
        .filter(|r| r.index > wanted)
        .map(|r| {
            let mut containers = vec![(r.id.clone(), r.name.clone())];
            if let Some(ep) = fleet.endpoints.get(r.endpoint) {
                containers.extend(
                    super::revision::kept_revisions(ep, &r.name)
                        .into_iter()
                        .map(|k| (k.id, k.name)),
                );
            }
            Removal {
                endpoint: r.endpoint,
                endpoint_name: r.endpoint_name.clone(),
                containers,
            }
        })
        .collect();
    Ok(ServicePlan {
        name: spec.name.clone(),
        replicas: wanted,
        batch: spec.batch.clamp(1, wanted),
        strategy: spec.placement.strategy,
        hosts_reason,
        members,
        current,
        remove,
    })
}

/// Marks the addresses (and host ports) a planned new replica will take as taken, for the
/// plans after it.
fn claim(work: &mut Fleet, p: &DeployPlan) {
    let Some(ep) = work.endpoints.get_mut(p.endpoint) else {
        return;
    };
    let mut networks = Vec::new();
    if let (Some(net), Some(ip)) = (&p.create.network, &p.create.ipv4) {
        networks.push((net.clone(), ip.clone()));
    }
    networks.extend(
        p.create
            .networks
            .iter()
            .filter_map(|n| n.ipv4.clone().map(|ip| (n.name.clone(), ip))),
    );
    let id = format!("planned:{}", p.name);
    ep.containers.insert(
        id.clone(),
        Container {
            id,
            name: p.name.clone(),
            image: p.image.clone(),
            // Running: what it will be, so its host ports count as published too.
            state: ContainerState::Running,
            health: Default::default(),
            created: None,
            started_at: None,
            finished_at: None,
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            labels: [(LABEL_SERVICE.to_string(), p.name.clone())].into(),
            networks: networks
                .into_iter()
                .map(|(network, ip)| NetAttachment {
                    network,
                    ipv4: Some(ip.clone()),
                    ipv6: None,
                    static_ipv4: Some(ip),
                    gateway: None,
                    mac: None,
                })
                .collect(),
            ports: p
                .create
                .ports
                .iter()
                .map(|port| crate::container::PortBinding {
                    private: port.container_port,
                    public: port.host_port,
                    host_ip: port.host_ip.clone(),
                    proto: port.proto.clone(),
                })
                .collect(),
            detail: Default::default(),
            list_status: String::new(),
        },
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::fixtures::*;
    use super::*;
    use crate::deploy::Placement;

    fn service(n: u32, strategy: Strategy) -> DeploySpec {
        DeploySpec {
            replicas: Some(n),
            placement: Placement {
                cluster: Some("lab-a".into()),
                strategy,
                ..Placement::default()
            },
            ..spec("cart")
        }
    }

    #[test]
    fn spread_lays_replicas_over_the_hosts_with_distinct_addresses() {
        let fleet = lab();
        let p = plan_service(&service(3, Strategy::Spread), &fleet, None, 2, &deployer()).unwrap();
        let names: Vec<&str> = p.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["cart-1", "cart-2", "cart-3"]);
        // lab2 is less loaded: it gets the first, then they alternate.
        let hosts: Vec<&str> = p.members.iter().map(|m| m.endpoint_name.as_str()).collect();
        assert_eq!(hosts, ["lab2", "lab1", "lab2"]);
        let ips: BTreeSet<String> = p
            .members
            .iter()
            .map(|m| m.ip.unwrap().to_string())
            .collect();
        assert_eq!(ips.len(), 3, "{ips:?}");
        for m in &p.members {
            let ip = m.ip.unwrap().to_string();
            let in_range = if m.endpoint_name == "lab1" {
                ip.as_str() < "192.168.2.64"
            } else {
                ip.as_str() >= "192.168.2.64"
            };
            assert!(in_range, "{} on {}", ip, m.endpoint_name);
            assert_eq!(m.create.labels[LABEL_GROUP], "cart");
        }
        assert!(p.remove.is_empty());
        let text = p.lines().join("\n");
        assert!(
            text.starts_with(
                "service cart: 3 replicas (spread; lab1: cart-2; lab2: cart-1, cart-3), 1 at a time"
            ),
            "{text}"
        );
    }

    #[test]
    fn pack_fills_one_host_first() {
        let fleet = lab();
        let p = plan_service(&service(2, Strategy::Pack), &fleet, None, 2, &deployer()).unwrap();
        let hosts: Vec<&str> = p.members.iter().map(|m| m.endpoint_name.as_str()).collect();
        assert_eq!(hosts, ["lab2", "lab2"]);
        assert_ne!(p.members[0].ip, p.members[1].ip);
    }

    #[test]
    fn a_running_replica_is_updated_where_it_is_and_extra_ones_are_removed() {
        let mut fleet = lab();
        for (i, host) in [(1, 0), (2, 0), (3, 1)] {
            let mut c = on_fleetnet(
                &format!("r{i}"),
                &format!("cart-{i}"),
                ContainerState::Running,
                &format!("192.168.2.{}", 30 + i),
                true,
            );
            c.labels = labels_for(&format!("cart-{i}"), 1, "busybox:local");
            c.labels.insert(LABEL_GROUP.into(), "cart".into());
            fleet.endpoints[host].containers.insert(c.id.clone(), c);
        }
        let p = plan_service(&service(2, Strategy::Spread), &fleet, None, 2, &deployer()).unwrap();
        let placed: Vec<(&str, &str, String)> = p
            .members
            .iter()
            .map(|m| {
                (
                    m.name.as_str(),
                    m.endpoint_name.as_str(),
                    m.ip.unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            placed,
            [
                ("cart-1", "lab1", "192.168.2.31".to_string()),
                ("cart-2", "lab1", "192.168.2.32".to_string())
            ]
        );
        assert!(
            p.members
                .iter()
                .all(|m| matches!(m.kind, DeployKind::Update { .. }))
        );
        assert_eq!(p.remove.len(), 1);
        assert_eq!(p.remove[0].containers[0].1, "cart-3");
        assert!(
            p.lines()
                .join("\n")
                .contains("removes  cart-3 on lab2 (scaled down)")
        );
        assert_eq!(replica_index("cart", "cart-12"), Some(12));
        assert_eq!(replica_index("cart", "cart-x"), None);
        assert_eq!(replica_index("cart", "cartx-1"), None);
    }

    #[test]
    fn two_replicas_on_one_host_cannot_publish_the_same_host_port() {
        let fleet = lab();
        let mut s = service(2, Strategy::Pack);
        s.ports = vec![crate::deploy::parse_port("8080:80").unwrap()];
        let problems = plan_service(&s, &fleet, None, 2, &deployer()).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "cart-2: ports: host port 8080/tcp on lab2 is already published by cart-1"
        );
    }

    #[test]
    fn a_host_of_the_cluster_that_cannot_be_listed_stops_the_plan() {
        let mut fleet = lab();
        fleet.endpoints[1].synced = false;
        let problems =
            plan_service(&service(3, Strategy::Spread), &fleet, None, 2, &deployer()).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "placement: lab2 of cluster lab-a cannot be listed now, and may run replicas of cart: \
             try again when it is up"
        );
    }

    #[test]
    fn one_replica_on_two_hosts_is_refused() {
        let mut fleet = lab();
        for (id, host) in [("a", 0), ("b", 1)] {
            let mut c = on_fleetnet(id, "cart-1", ContainerState::Running, "192.168.2.31", true);
            c.labels.insert(LABEL_GROUP.into(), "cart".into());
            fleet.endpoints[host].containers.insert(c.id.clone(), c);
        }
        let problems =
            plan_service(&service(2, Strategy::Spread), &fleet, None, 2, &deployer()).unwrap_err();
        assert!(
            problems[0]
                .to_string()
                .starts_with("replicas: cart-1 runs on both lab1 and lab2"),
            "{problems:?}"
        );
    }
}
