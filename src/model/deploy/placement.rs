//! Where a deploy goes: one named endpoint, or the least loaded endpoint of a cluster whose
//! labels match the placement rule (e.g. `subnet = "192.168.2.0/24"`). A host that already
//! runs the service is chosen over the others, so a new revision replaces the old one where
//! it is instead of starting a second copy elsewhere.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DeploySpec, SpecProblem};
use crate::model::stats::HostCapacity;
use crate::model::{ContainerState, Endpoint, EndpointId, Fleet};

/// The spec's own idea of where it runs; `--to` overrides it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub endpoint: Option<String>,
    pub cluster: Option<String>,
    /// Every one must equal the endpoint's label of that name.
    pub labels: BTreeMap<String, String>,
}

/// `--to ENDPOINT` or `--to @CLUSTER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployTarget {
    Endpoint(String),
    Cluster(String),
}

impl DeployTarget {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.strip_prefix('@') {
            Some("") => Err(format!("\"{text}\": expected ENDPOINT or @CLUSTER")),
            Some(c) => Ok(Self::Cluster(c.to_string())),
            None if text.is_empty() || text.contains('/') => {
                Err(format!("\"{text}\": expected ENDPOINT or @CLUSTER"))
            }
            None => Ok(Self::Endpoint(text.to_string())),
        }
    }
}

/// The chosen host and, in words, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub endpoint: EndpointId,
    pub reason: String,
}

/// How busy a host is, compared lowest first: running containers, then CPU and memory in use
/// (from the stats model, when it has samples).
fn load(fleet: &Fleet, id: EndpointId, ep: &Endpoint) -> (usize, u64, u64) {
    let host = ep.info.as_ref().map(HostCapacity::from).unwrap_or_default();
    let usage = fleet.stats.endpoint_usage(id, host);
    let per_mille = |x: Option<f64>| (x.unwrap_or(0.0) * 1000.0) as u64;
    (
        ep.counts().running,
        per_mille(usage.cpu_of_host()),
        per_mille(usage.mem_of_host()),
    )
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn place(
    spec: &DeploySpec,
    fleet: &Fleet,
    to: Option<&DeployTarget>,
) -> Result<Placed, SpecProblem> {
    let (target, key) = match (to, &spec.placement) {
        (Some(t), _) => (t.clone(), "--to"),
        (
            None,
            Placement {
                endpoint: Some(e), ..
            },
        ) => (DeployTarget::Endpoint(e.clone()), "placement.endpoint"),
        (
            None,
            Placement {
                cluster: Some(c), ..
            },
        ) => (DeployTarget::Cluster(c.clone()), "placement.cluster"),
        (None, _) => {
            return Err(SpecProblem::new(
                "placement",
                "say where it runs: placement.endpoint, placement.cluster, or --to ENDPOINT|@CLUSTER",
            ));
        }
    };
    match target {
        DeployTarget::Endpoint(name) => match fleet.endpoint_by_name(&name) {
            Some((id, ep)) if ep.synced => Ok(Placed {
                endpoint: id,
                reason: format!("{key} {name}"),
            }),
            Some((_, ep)) => Err(SpecProblem::new(
                key,
                format!(
                    "{name} could not be listed{}",
                    ep.last_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            )),
            None => {
                let names: Vec<&str> = fleet.endpoints.iter().map(Endpoint::name).collect();
                Err(SpecProblem::new(
                    key,
                    format!("no endpoint \"{name}\"; endpoints: {}", names.join(", ")),
                ))
            }
        },
        DeployTarget::Cluster(cluster) => place_in_cluster(spec, fleet, &cluster, key),
    }
}

fn place_in_cluster(
    spec: &DeploySpec,
    fleet: &Fleet,
    cluster: &str,
    key: &str,
) -> Result<Placed, SpecProblem> {
    let members: Vec<(EndpointId, &Endpoint)> = fleet
        .endpoints
        .iter()
        .enumerate()
        .filter(|(_, e)| e.cluster() == cluster)
        .collect();
    if members.is_empty() {
        return Err(SpecProblem::new(
            key,
            format!(
                "no cluster \"{cluster}\"; clusters: {}",
                fleet.clusters().join(", ")
            ),
        ));
    }
    let wanted = &spec.placement.labels;
    let matching: Vec<(EndpointId, &Endpoint)> = members
        .iter()
        .copied()
        .filter(|(_, e)| wanted.iter().all(|(k, v)| e.spec.labels.get(k) == Some(v)))
        .collect();
    if matching.is_empty() {
        let seen: Vec<String> = members
            .iter()
            .map(|(_, e)| format!("{}: {}", e.name(), labels_text(&e.spec.labels)))
            .collect();
        return Err(SpecProblem::new(
            "placement.labels",
            format!(
                "no endpoint of cluster {cluster} has {}; their labels: {}",
                labels_text(wanted),
                seen.join("; ")
            ),
        ));
    }
    let names = |v: &[(EndpointId, &Endpoint)]| {
        v.iter()
            .map(|(_, e)| e.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let matched = if wanted.is_empty() {
        format!("cluster {cluster}")
    } else {
        format!(
            "cluster {cluster}: {} matches {}",
            labels_text(wanted),
            names(&matching)
        )
    };
    let usable: Vec<(EndpointId, &Endpoint)> = matching
        .iter()
        .copied()
        .filter(|(_, e)| e.synced && e.is_up())
        .collect();
    if usable.is_empty() {
        return Err(SpecProblem::new(
            key,
            format!("{matched}, but none of them is up"),
        ));
    }
    // Where the service already runs, the update happens there.
    if let Some((id, ep)) = usable.iter().find(|(_, e)| {
        e.containers
            .values()
            .any(|c| c.name == spec.name && c.state != ContainerState::Removing)
    }) {
        return Ok(Placed {
            endpoint: *id,
            reason: format!("{matched}; {} already runs {}", ep.name(), spec.name),
        });
    }
    // Writable hosts first: a read-only one is chosen only when there is nothing else, and
    // then the gate refuses, on the record.
    let best = usable
        .iter()
        .min_by_key(|(id, e)| (e.is_read_only(), load(fleet, *id, e), e.name().to_string()))
        .copied();
    let Some((id, ep)) = best else {
        return Err(SpecProblem::new(
            key,
            format!("{matched}, but none is usable"),
        ));
    };
    let (running, cpu, mem) = load(fleet, id, ep);
    let detail = if cpu > 0 || mem > 0 {
        format!(
            "{running} running, CPU {:.0}%, memory {:.0}%",
            cpu as f64 / 10.0,
            mem as f64 / 10.0
        )
    } else {
        format!("{running} running")
    };
    let reason = if usable.len() == 1 {
        format!("{matched}; the only one up")
    } else {
        format!("{matched}; {} least loaded ({detail})", ep.name())
    };
    Ok(Placed {
        endpoint: id,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::model::Link;

    fn rule(cluster: &str, labels: &[(&str, &str)]) -> Placement {
        Placement {
            endpoint: None,
            cluster: Some(cluster.into()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_cluster_rule_takes_the_least_loaded_matching_host() {
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "192.168.2.0/24")]),
            ..spec("cart")
        };
        let placed = place(&s, &lab(), None).unwrap();
        assert_eq!(placed.endpoint, 1);
        assert_eq!(
            placed.reason,
            "cluster lab-a: subnet=192.168.2.0/24 matches lab1, lab2; lab2 least loaded (2 running)"
        );
    }

    #[test]
    fn the_host_already_running_the_service_wins_and_down_hosts_never_do() {
        let mut fleet = lab();
        let c = on_fleetnet("x", "cart", ContainerState::Running, "192.168.2.31", true);
        fleet.endpoints[0].containers.insert(c.id.clone(), c);
        let s = DeploySpec {
            placement: rule("lab-a", &[]),
            ..spec("cart")
        };
        assert_eq!(place(&s, &fleet, None).unwrap().endpoint, 0);
        fleet.endpoints[0].link = Link::Down {
            reason: "gone".into(),
            retry_in: std::time::Duration::ZERO,
        };
        let placed = place(&s, &fleet, None).unwrap();
        assert_eq!(
            (placed.endpoint, placed.reason.as_str()),
            (1, "cluster lab-a; the only one up")
        );
    }

    #[test]
    fn no_match_says_what_the_hosts_have() {
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "10.0.0.0/24")]),
            ..spec("cart")
        };
        assert_eq!(
            place(&s, &lab(), None).unwrap_err().to_string(),
            "placement.labels: no endpoint of cluster lab-a has subnet=10.0.0.0/24; their labels: \
             lab1: subnet=192.168.2.0/24; lab2: subnet=192.168.2.0/24"
        );
        assert_eq!(
            place(
                &spec("cart"),
                &lab(),
                Some(&DeployTarget::Cluster("x".into()))
            )
            .unwrap_err()
            .to_string(),
            "--to: no cluster \"x\"; clusters: lab-a, lab-b"
        );
        assert_eq!(
            place(&spec("cart"), &lab(), None).unwrap_err().to_string(),
            "placement: say where it runs: placement.endpoint, placement.cluster, or --to ENDPOINT|@CLUSTER"
        );
        assert_eq!(
            place(
                &spec("cart"),
                &lab(),
                Some(&DeployTarget::Endpoint("lab9".into()))
            )
            .unwrap_err()
            .to_string(),
            "--to: no endpoint \"lab9\"; endpoints: lab1, lab2, lab3"
        );
        assert_eq!(
            DeployTarget::parse("@lab-a"),
            Ok(DeployTarget::Cluster("lab-a".into()))
        );
        assert!(DeployTarget::parse("lab1/web").is_err());
    }
}
