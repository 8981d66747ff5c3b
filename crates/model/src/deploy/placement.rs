//! Where a deploy goes: one named endpoint, or the least loaded endpoint of a cluster whose
//! labels match the placement rule (e.g. `subnet = "192.168.2.0/24"`) and that meets every
//! constraint (`engine.labels.dc != eu`). A label rule reads the daemon's own engine labels
//! (`docker info`) first and the config's labels where the daemon has none; a constraint says
//! which labels it reads: engine, Swarm node, or config. A host that already runs the service is
//! chosen over the others, so a new revision replaces the old one where it is instead of
//! starting a second copy elsewhere.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{DeploySpec, SpecProblem};
use crate::stats::HostCapacity;
use crate::{ContainerState, Endpoint, EndpointId, Fleet};

/// The spec's own idea of where it runs; `--to` overrides where, never the constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub endpoint: Option<String>,
    pub cluster: Option<String>,
    /// Every one must equal the endpoint's engine label of that name, or its config label when
    /// the daemon has no such engine label.
    pub labels: BTreeMap<String, String>,
    /// Every one must hold, whichever way the host was chosen. Left out of the JSON when empty,
    /// so the specs written before constraints existed serialise as they did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// How replicas share the matching hosts (a service of one container ignores it).
    #[serde(skip_serializing_if = "Strategy::is_spread")]
    pub strategy: Strategy,
}

/// How a service's replicas are laid over the hosts that may take them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Fewest replicas of this service first, then least loaded: one host lost costs least.
    #[default]
    Spread,
    /// Fill the host that already has the most of them (least loaded first when none has).
    Pack,
}

impl Strategy {
    pub const VALID: &'static str = "spread, pack";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "spread" => Some(Self::Spread),
            "pack" => Some(Self::Pack),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spread => "spread",
            Self::Pack => "pack",
        }
    }

    fn is_spread(&self) -> bool {
        *self == Self::Spread
    }
}

/// Which of an endpoint's labels a rule read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    /// The daemon's own (`dockerd --label`, shown by `docker info`).
    Engine,
    /// Its Swarm node's (`docker node update --label-add`), as a manager lists them.
    Node,
    /// The config file's `labels` for the endpoint.
    Config,
}

impl LabelSource {
    const ALL: [Self; 3] = [Self::Engine, Self::Node, Self::Config];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engine => "engine",
            Self::Node => "node",
            Self::Config => "config",
        }
    }
}

/// `engine.labels.KEY == VALUE` and its kin: a label of one source compared with a value,
/// exactly. As in Swarm, a label that is missing is unequal to everything, so `!=` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub source: LabelSource,
    pub key: String,
    /// `==` when true, `!=` when false.
    pub equal: bool,
    pub value: String,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.equal { "==" } else { "!=" };
        write!(
            f,
            "{}.labels.{} {op} {}",
            self.source.as_str(),
            self.key,
            self.value
        )
    }
}

impl Constraint {
    pub const VALID_FORMS: &'static str = "engine.labels.KEY == VALUE, engine.labels.KEY != VALUE, \
         node.labels.KEY == VALUE, node.labels.KEY != VALUE, config.labels.KEY == VALUE, \
         config.labels.KEY != VALUE";

    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "\"{text}\" is not a constraint ({why}); valid forms: {}",
                Self::VALID_FORMS
            )
        };
        let (lhs, equal, rhs) = match (text.split_once("=="), text.split_once("!=")) {
            (Some((l, r)), None) => (l, true, r),
            (None, Some((l, r))) => (l, false, r),
            (None, None) => return Err(bad("no == or !=")),
            (Some(_), Some(_)) => return Err(bad("both == and !=")),
        };
        let (lhs, value) = (lhs.trim(), rhs.trim());
        if value.contains("==") || value.contains("!=") {
            return Err(bad("more than one == or !="));
        }
        let Some((source, key)) = LabelSource::ALL.iter().find_map(|s| {
            lhs.strip_prefix(s.as_str())
                .and_then(|rest| rest.strip_prefix(".labels."))
                .map(|key| (*s, key))
        }) else {
            return Err(bad(&format!(
                "\"{lhs}\" is none of engine.labels.KEY, node.labels.KEY, config.labels.KEY"
            )));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad("the label KEY is empty or has a space"));
        }
        if value.is_empty() {
            return Err(bad("no VALUE"));
        }
        Ok(Self {
            source,
            key: key.to_string(),
            equal,
            value: value.to_string(),
        })
    }

    /// `Ok` when it holds on the endpoint; else what the endpoint has instead, in words.
    fn check(&self, labels: &LabelsOf<'_>) -> Result<(), String> {
        let actual = labels.get(self.source, &self.key);
        if self.equal == (actual == Some(self.value.as_str())) {
            return Ok(());
        }
        let source = self.source.as_str();
        Err(match actual {
            Some(v) => format!("{} has {source} label {}={v}", labels.name, self.key),
            None if self.source == LabelSource::Node && labels.node.is_none() => format!(
                "{} is not a Swarm node whose labels are known (no manager in the config lists it)",
                labels.name
            ),
            None => format!("{} has no {source} label {}", labels.name, self.key),
        })
    }
}

/// What placement can read of one endpoint's labels.
struct LabelsOf<'a> {
    name: &'a str,
    engine: Option<&'a BTreeMap<String, String>>,
    node: Option<&'a BTreeMap<String, String>>,
    config: &'a BTreeMap<String, String>,
}

impl<'a> LabelsOf<'a> {
    fn new(fleet: &'a Fleet, ep: &'a Endpoint) -> Self {
        Self {
            name: ep.name(),
            engine: ep.engine_labels(),
            node: fleet.node_labels(ep),
            config: &ep.spec.labels,
        }
    }

    fn get(&self, source: LabelSource, key: &str) -> Option<&'a str> {
        let map = match source {
            LabelSource::Engine => self.engine,
            LabelSource::Node => self.node,
            LabelSource::Config => Some(self.config),
        };
        map.and_then(|m| m.get(key)).map(String::as_str)
    }

    /// A `labels` rule's view: the engine's label, else the config's, and which it was.
    fn label(&self, key: &str) -> Option<(&'a str, LabelSource)> {
        [LabelSource::Engine, LabelSource::Config]
            .into_iter()
            .find_map(|s| self.get(s, key).map(|v| (v, s)))
    }

    /// `Ok` when the endpoint has every label and meets every constraint; else the first rule
    /// it fails and why.
    fn check(&self, p: &Placement) -> Result<(), String> {
        for (k, want) in &p.labels {
            match self.label(k) {
                Some((v, _)) if v == want => {}
                Some((v, s)) => {
                    return Err(format!("{} has {} label {k}={v}", self.name, s.as_str()));
                }
                None => return Err(format!("{} has no label {k}", self.name)),
            }
        }
        p.constraints.iter().try_for_each(|c| c.check(self))
    }

    /// Which labels the `labels` rule matched: "lab2's engine labels", or both kinds by key.
    fn matched_by(&self, wanted: &BTreeMap<String, String>) -> String {
        let keys_of = |source| {
            wanted
                .keys()
                .filter(|k| self.label(k).is_some_and(|(_, s)| s == source))
                .map(String::as_str)
                .collect::<Vec<_>>()
        };
        let (engine, config) = (keys_of(LabelSource::Engine), keys_of(LabelSource::Config));
        let name = self.name;
        match (engine.is_empty(), config.is_empty()) {
            (_, true) => format!("matched by {name}'s engine labels"),
            (true, _) => format!("matched by {name}'s config labels"),
            _ => format!(
                "matched by {name}'s engine labels ({}) and config labels ({})",
                engine.join(", "),
                config.join(", ")
            ),
        }
    }
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

/// The rules of a placement in words: its labels, then its constraints.
fn rules_text(p: &Placement) -> String {
    let mut parts: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.extend(p.constraints.iter().map(Constraint::to_string));
    parts.join(", ")
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
            Some((id, ep)) if ep.synced => {
                // The operator named the host; the spec's constraints still bind it.
                let labels = LabelsOf::new(fleet, ep);
                let constraints = &spec.placement.constraints;
                for (i, c) in constraints.iter().enumerate() {
                    if let Err(why) = c.check(&labels) {
                        return Err(SpecProblem::new(
                            &format!("placement.constraints[{i}]"),
                            format!("{c} does not hold on {name} ({key} {name}): {why}"),
                        ));
                    }
                }
                let held = match constraints.len() {
                    0 => String::new(),
                    1 => format!("; {} holds", constraints[0]),
                    _ => format!(
                        "; {} hold",
                        constraints
                            .iter()
                            .map(Constraint::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                Ok(Placed {
                    endpoint: id,
                    reason: format!("{key} {name}{held}"),
                })
            }
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

/// The hosts a service of several replicas may use (`--to`, or the spec's placement): the one
/// named, or every host of the cluster that matches the rules and is up, with the words
/// saying which matched.
pub fn candidates(
    spec: &DeploySpec,
    fleet: &Fleet,
    to: Option<&DeployTarget>,
) -> Result<(Vec<EndpointId>, String), SpecProblem> {
    let cluster = match (to, &spec.placement) {
        (Some(DeployTarget::Cluster(c)), _) => Some((c.clone(), "--to")),
        (Some(DeployTarget::Endpoint(_)), _) => None,
        (
            None,
            Placement {
                endpoint: Some(_), ..
            },
        ) => None,
        (
            None,
            Placement {
                cluster: Some(c), ..
            },
        ) => Some((c.clone(), "placement.cluster")),
        (None, _) => None,
    };
    match cluster {
        Some((cluster, key)) => {
            let (usable, matched) = usable_in_cluster(spec, fleet, &cluster, key)?;
            // Writable hosts only, unless there is nothing else (then the gate refuses, on
            // the record).
            let writable: Vec<EndpointId> = usable
                .iter()
                .filter(|(_, e)| !e.is_read_only())
                .map(|(id, _)| *id)
                .collect();
            let ids = if writable.is_empty() {
                usable.iter().map(|(id, _)| *id).collect()
            } else {
                writable
            };
            Ok((ids, matched))
        }
        None => place(spec, fleet, to).map(|p| (vec![p.endpoint], p.reason)),
    }
}

/// How busy a host is, for spreading replicas: lowest first.
pub(super) fn load_of(fleet: &Fleet, id: EndpointId) -> (usize, u64, u64) {
    fleet
        .endpoints
        .get(id)
        .map_or((usize::MAX, 0, 0), |ep| load(fleet, id, ep))
}

/// Endpoints with their ids.
type Hosts<'f> = Vec<(EndpointId, &'f Endpoint)>;

/// The cluster's hosts that match the rules and are up, and the words saying which matched.
fn usable_in_cluster<'f>(
    spec: &DeploySpec,
    fleet: &'f Fleet,
    cluster: &str,
    key: &str,
) -> Result<(Hosts<'f>, String), SpecProblem> {
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
    let rules = &spec.placement;
    let mut matching: Vec<(EndpointId, &Endpoint)> = Vec::new();
    let mut misses: Vec<String> = Vec::new();
    for (id, ep) in &members {
        match LabelsOf::new(fleet, ep).check(rules) {
            Ok(()) => matching.push((*id, ep)),
            Err(why) => misses.push(why),
        }
    }
    if matching.is_empty() {
        let rule_key = match (rules.labels.is_empty(), rules.constraints.is_empty()) {
            (false, true) => "placement.labels",
            (true, false) => "placement.constraints",
            _ => "placement",
        };
        return Err(SpecProblem::new(
            rule_key,
            format!(
                "no endpoint of cluster {cluster} has {}: {}",
                rules_text(rules),
                misses.join("; ")
            ),
        ));
    }
    let names = |v: &[(EndpointId, &Endpoint)]| {
        v.iter()
            .map(|(_, e)| e.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let matched = if rules.labels.is_empty() && rules.constraints.is_empty() {
        format!("cluster {cluster}")
    } else {
        format!(
            "cluster {cluster}: {} matches {}",
            rules_text(rules),
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
    Ok((usable, matched))
}

fn place_in_cluster(
    spec: &DeploySpec,
    fleet: &Fleet,
    cluster: &str,
    key: &str,
) -> Result<Placed, SpecProblem> {
    let rules = &spec.placement;
    let (usable, matched) = usable_in_cluster(spec, fleet, cluster, key)?;
    // Which labels the chosen host matched by: the daemon's own, or the config's.
    let matched_by = |ep: &Endpoint| {
        if rules.labels.is_empty() {
            String::new()
        } else {
            format!("; {}", LabelsOf::new(fleet, ep).matched_by(&rules.labels))
        }
    };
    // Where the service already runs, the update happens there.
    if let Some((id, ep)) = usable.iter().find(|(_, e)| {
        e.containers
            .values()
            .any(|c| c.name == spec.name && c.state != ContainerState::Removing)
    }) {
        return Ok(Placed {
            endpoint: *id,
            reason: format!(
                "{matched}; {} already runs {}{}",
                ep.name(),
                spec.name,
                matched_by(ep)
            ),
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
        format!("{matched}; the only one up{}", matched_by(ep))
    } else {
        format!(
            "{matched}; {} least loaded ({detail}){}",
            ep.name(),
            matched_by(ep)
        )
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
    use crate::{Link, SwarmNode};

    fn map(labels: &[(&str, &str)]) -> BTreeMap<String, String> {
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rule(cluster: &str, labels: &[(&str, &str)]) -> Placement {
        Placement {
            cluster: Some(cluster.into()),
            labels: map(labels),
            ..Placement::default()
        }
    }

    fn constrained(placement: Placement, constraints: &[&str]) -> DeploySpec {
        DeploySpec {
            placement: Placement {
                constraints: constraints
                    .iter()
                    .map(|c| Constraint::parse(c).unwrap())
                    .collect(),
                ..placement
            },
            ..spec("cart")
        }
    }

    fn engine_labels(fleet: &mut Fleet, endpoint: usize, labels: &[(&str, &str)]) {
        fleet.endpoints[endpoint].info.as_mut().unwrap().labels = map(labels);
    }

    /// The lab's engine labels: lab1 and lab2 share the pool, differ in dc (lab2 is the less
    /// loaded one).
    fn labelled_lab() -> Fleet {
        let mut fleet = lab();
        engine_labels(
            &mut fleet,
            0,
            &[("subnet", "192.168.2.0/24"), ("dc", "us-east")],
        );
        engine_labels(
            &mut fleet,
            1,
            &[("subnet", "192.168.2.0/24"), ("dc", "us-west")],
        );
        fleet
    }

    fn placed(s: &DeploySpec, fleet: &Fleet, to: Option<&DeployTarget>) -> (usize, String) {
        let p = place(s, fleet, to).unwrap();
        (p.endpoint, p.reason)
    }

    #[test]
    fn a_cluster_rule_takes_the_least_loaded_matching_host() {
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "192.168.2.0/24")]),
            ..spec("cart")
        };
        assert_eq!(
            placed(&s, &lab(), None),
            (
                1,
                "cluster lab-a: subnet=192.168.2.0/24 matches lab1, lab2; lab2 least loaded \
                 (2 running); matched by lab2's config labels"
                    .into()
            )
        );
    }

    #[test]
    fn a_label_rule_reads_the_engine_labels_first_and_the_config_where_the_daemon_has_none() {
        let mut fleet = labelled_lab();
        // lab2's daemon says it is elsewhere, whatever the config claims.
        engine_labels(&mut fleet, 1, &[("subnet", "10.9.9.0/24")]);
        fleet.endpoints[0]
            .spec
            .labels
            .insert("role".into(), "web".into());
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "192.168.2.0/24")]),
            ..spec("cart")
        };
        assert_eq!(
            placed(&s, &fleet, None),
            (
                0,
                "cluster lab-a: subnet=192.168.2.0/24 matches lab1; the only one up; matched \
                 by lab1's engine labels"
                    .into()
            )
        );
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "192.168.2.0/24"), ("role", "web")]),
            ..spec("cart")
        };
        assert!(
            placed(&s, &fleet, None)
                .1
                .ends_with("matched by lab1's engine labels (subnet) and config labels (role)")
        );
    }

    #[test]
    fn engine_constraints_pick_one_of_the_hosts_sharing_a_pool() {
        let fleet = labelled_lab();
        let base = rule("lab-a", &[("subnet", "192.168.2.0/24")]);
        // lab1 is the busier one: only the constraint sends the service there.
        let s = constrained(base.clone(), &["engine.labels.dc == us-east"]);
        assert_eq!(
            placed(&s, &fleet, None),
            (
                0,
                "cluster lab-a: subnet=192.168.2.0/24, engine.labels.dc == us-east matches \
                 lab1; the only one up; matched by lab1's engine labels"
                    .into()
            )
        );
        let s = constrained(base, &["engine.labels.dc != us-west"]);
        assert_eq!(placed(&s, &fleet, None).0, 0);
        // With --to @CLUSTER instead of the spec's cluster, and a config label.
        let s = constrained(
            Placement::default(),
            &[
                "engine.labels.dc != us-east",
                "config.labels.subnet == 192.168.2.0/24",
            ],
        );
        let to = DeployTarget::Cluster("lab-a".into());
        assert_eq!(
            placed(&s, &fleet, Some(&to)),
            (
                1,
                "cluster lab-a: engine.labels.dc != us-east, config.labels.subnet == \
                 192.168.2.0/24 matches lab2; the only one up"
                    .into()
            )
        );
    }

    #[test]
    fn node_constraints_read_a_managers_node_list_and_a_standalone_daemon_has_no_node_labels() {
        let mut fleet = labelled_lab();
        // lab1 manages the swarm lab2 is a worker of; lab3 is standalone.
        let info = fleet.endpoints[0].info.as_mut().unwrap();
        info.node_id = "n1".into();
        info.swarm_nodes = vec![
            SwarmNode {
                id: "n1".into(),
                hostname: "h1".into(),
                labels: map(&[("tier", "edge")]),
            },
            SwarmNode {
                id: "n2".into(),
                hostname: "h2".into(),
                labels: map(&[("tier", "core")]),
            },
        ];
        fleet.endpoints[1].info.as_mut().unwrap().node_id = "n2".into();
        assert_eq!(
            fleet.node_labels(&fleet.endpoints[1]),
            Some(&map(&[("tier", "core")]))
        );
        assert_eq!(fleet.node_labels(&fleet.endpoints[2]), None);

        let s = constrained(rule("lab-a", &[]), &["node.labels.tier == edge"]);
        assert_eq!(placed(&s, &fleet, None).0, 0);
        let s = constrained(rule("lab-a", &[]), &["node.labels.tier != edge"]);
        assert_eq!(placed(&s, &fleet, None).0, 1);

        // Like Swarm: without node labels, == fails and != holds.
        let lab3 = DeployTarget::Endpoint("lab3".into());
        let s = constrained(Placement::default(), &["node.labels.tier != edge"]);
        assert_eq!(
            placed(&s, &fleet, Some(&lab3)).1,
            "--to lab3; node.labels.tier != edge holds"
        );
        let s = constrained(Placement::default(), &["node.labels.tier == edge"]);
        assert_eq!(
            place(&s, &fleet, Some(&lab3)).unwrap_err().to_string(),
            "placement.constraints[0]: node.labels.tier == edge does not hold on lab3 (--to \
             lab3): lab3 is not a Swarm node whose labels are known (no manager in the config \
             lists it)"
        );
    }

    #[test]
    fn a_named_host_that_breaks_a_constraint_is_a_plan_error_naming_the_constraint() {
        let fleet = labelled_lab();
        let s = constrained(
            Placement {
                endpoint: Some("lab1".into()),
                ..Placement::default()
            },
            &[
                "config.labels.subnet == 192.168.2.0/24",
                "engine.labels.dc == us-west",
            ],
        );
        assert_eq!(
            place(&s, &fleet, None).unwrap_err().to_string(),
            "placement.constraints[1]: engine.labels.dc == us-west does not hold on lab1 \
             (placement.endpoint lab1): lab1 has engine label dc=us-east"
        );
        let lab2 = DeployTarget::Endpoint("lab2".into());
        assert_eq!(
            placed(&s, &fleet, Some(&lab2)),
            (
                1,
                "--to lab2; config.labels.subnet == 192.168.2.0/24, engine.labels.dc == \
                 us-west hold"
                    .into()
            )
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
    fn no_match_says_what_each_host_has_instead() {
        let s = DeploySpec {
            placement: rule("lab-a", &[("subnet", "10.0.0.0/24")]),
            ..spec("cart")
        };
        assert_eq!(
            place(&s, &lab(), None).unwrap_err().to_string(),
            "placement.labels: no endpoint of cluster lab-a has subnet=10.0.0.0/24: lab1 has \
             config label subnet=192.168.2.0/24; lab2 has config label subnet=192.168.2.0/24"
        );
        let mut fleet = labelled_lab();
        engine_labels(&mut fleet, 1, &[]);
        let s = constrained(rule("lab-a", &[]), &["engine.labels.dc == eu"]);
        assert_eq!(
            place(&s, &fleet, None).unwrap_err().to_string(),
            "placement.constraints: no endpoint of cluster lab-a has engine.labels.dc == eu: \
             lab1 has engine label dc=us-east; lab2 has no engine label dc"
        );
        let s = constrained(rule("lab-a", &[("zone", "a")]), &["engine.labels.dc == eu"]);
        assert_eq!(
            place(&s, &fleet, None).unwrap_err().to_string(),
            "placement: no endpoint of cluster lab-a has zone=a, engine.labels.dc == eu: \
             lab1 has no label zone; lab2 has no label zone"
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

    #[test]
    fn constraints_parse_in_their_six_forms_and_print_back_the_same() {
        for text in [
            "engine.labels.subnet == 192.168.2.0/24",
            "engine.labels.dc != eu",
            "node.labels.com.example.tier == edge",
            "node.labels.dc != eu",
            "config.labels.role == web",
            "config.labels.role != db",
        ] {
            assert_eq!(Constraint::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Constraint::parse("  node.labels.dc!=eu ").unwrap(),
            Constraint {
                source: LabelSource::Node,
                key: "dc".into(),
                equal: false,
                value: "eu".into(),
            }
        );
    }

    #[test]
    fn a_malformed_constraint_says_why_and_lists_the_valid_forms() {
        let forms = Constraint::VALID_FORMS;
        for (text, why) in [
            ("engine.labels.dc = eu", "no == or !="),
            ("engine.labels.dc == a != b", "both == and !="),
            ("engine.labels.dc == a == b", "more than one == or !="),
            ("engine.labels.dc != a != b", "more than one == or !="),
            (
                "engine.label.dc == eu",
                "\"engine.label.dc\" is none of engine.labels.KEY, node.labels.KEY, config.labels.KEY",
            ),
            (
                "labels.dc == eu",
                "\"labels.dc\" is none of engine.labels.KEY, node.labels.KEY, config.labels.KEY",
            ),
            (
                "engine.labels. == eu",
                "the label KEY is empty or has a space",
            ),
            (
                "engine.labels.d c == eu",
                "the label KEY is empty or has a space",
            ),
            ("node.labels.dc != ", "no VALUE"),
        ] {
            assert_eq!(
                Constraint::parse(text).unwrap_err(),
                format!("\"{text}\" is not a constraint ({why}); valid forms: {forms}"),
                "{text}"
            );
        }
        assert_eq!(
            forms,
            "engine.labels.KEY == VALUE, engine.labels.KEY != VALUE, node.labels.KEY == VALUE, \
             node.labels.KEY != VALUE, config.labels.KEY == VALUE, config.labels.KEY != VALUE"
        );
    }

    #[test]
    fn a_spec_without_constraints_serialises_as_before_so_its_digest_is_unchanged() {
        let json = serde_json::to_string(&Placement::default()).unwrap();
        assert_eq!(json, r#"{"endpoint":null,"cluster":null,"labels":{}}"#);
    }
}
