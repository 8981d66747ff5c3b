//! Which networks of a cluster are one LAN segment, and so one pool: what the networks say of
//! themselves, and what the operator's labels say over them.
//!
//! - **Detected.** Networks of two or more hosts that name the same way onto the LAN, with the
//!   same subnet: macvlan/ipvlan networks on a parent interface of one name (`-o parent=eth0`),
//!   or bridge networks on an existing LAN bridge of one name (`-o
//!   com.docker.network.bridge.name=br0`, not the default bridge and not a NATed one). A
//!   swarm-scoped network is one network on every node, so it is always shared.
//! - **Labelled.** A host of the cluster names the subnet in its `subnet` label: every network
//!   of the cluster on that subnet is one pool, whatever its driver (hosts whose parent
//!   interfaces are named differently are joined this way).
//! - **Local.** A host's `local_subnets` label lists subnets whose networks on that host are its
//!   own: they leave any pool, detected or labelled. Everything else is host-local too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;

use super::{ClusterPool, LAN_DRIVERS, PoolUsage, parse_prefix};
use crate::EndpointId;
use crate::endpoint::{Endpoint, NetworkInfo};

/// The endpoint label listing subnets whose networks on that host are never shared
/// (`labels = { local_subnets = "10.77.0.0/24, 10.78.0.0/24" }`).
pub const LOCAL_SUBNETS_LABEL: &str = "local_subnets";

/// The macvlan/ipvlan option naming the host interface the network sits on.
const PARENT_OPTION: &str = "parent";
/// The bridge driver's option naming the Linux bridge; Docker names its own `br-<id>` unless
/// told, so a name given means an existing bridge chosen by the operator.
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";
/// Set on `bridge` (docker0), which every host has alike.
const DEFAULT_BRIDGE_OPTION: &str = "com.docker.network.bridge.default_bridge";
/// Set on docker0 and `docker_gwbridge`: a NATed bridge hides its containers from the LAN.
const MASQUERADE_OPTION: &str = "com.docker.network.bridge.enable_ip_masquerade";

/// What a network says ties it to a LAN that other hosts' networks may be on too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LanLink {
    /// A macvlan or ipvlan network on the host interface of this name.
    Parent(String),
    /// A bridge network on the existing bridge of this name.
    Bridge(String),
    /// A swarm-scoped network: one network, seen from each node.
    Swarm,
}

impl LanLink {
    pub fn of(net: &NetworkInfo) -> Option<Self> {
        let option = |key: &str| {
            net.options
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        if LAN_DRIVERS.contains(&net.driver.as_str()) {
            // Without a parent Docker makes a dummy link of its own: on no LAN.
            if let Some(parent) = option(PARENT_OPTION) {
                return Some(Self::Parent(parent.to_string()));
            }
        }
        if net.driver == "bridge"
            && option(DEFAULT_BRIDGE_OPTION) != Some("true")
            && option(MASQUERADE_OPTION) != Some("true")
        {
            if let Some(bridge) = option(BRIDGE_NAME_OPTION) {
                return Some(Self::Bridge(bridge.to_string()));
            }
        }
        (net.scope == "swarm").then_some(Self::Swarm)
    }
}

impl fmt::Display for LanLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parent(parent) => write!(f, "macvlan/ipvlan on parent {parent} on each host"),
            Self::Bridge(bridge) => write!(f, "bridge on LAN bridge {bridge} on each host"),
            Self::Swarm => f.write_str("one swarm-scoped network"),
        }
    }
}

/// Whether, and why, a pool's networks are one LAN segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sharing {
    /// One host's network on its own.
    Local,
    /// A host of the cluster names the subnet in its `subnet` label.
    Labelled,
    /// The networks themselves say so.
    Detected(LanLink),
}

impl Sharing {
    /// An address taken on any member is taken for all.
    pub fn is_shared(&self) -> bool {
        !matches!(self, Self::Local)
    }
}

/// The subnets in a `local_subnets` label: prefixes separated by commas.
pub fn parse_local_subnets(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            parse_prefix(part).ok_or_else(|| {
                format!(
                    "\"{part}\" is not a subnet; give prefixes like 10.77.0.0/24, separated by \
                     commas"
                )
            })
        })
        .collect()
}

/// The pools of one cluster: `usages` gathered by subnet and segment; `labelled` are the
/// subnets the cluster's hosts name in their `subnet` labels.
pub(super) fn cluster_pools(
    cluster: &str,
    endpoints: &[(EndpointId, &Endpoint)],
    labelled: &BTreeSet<IpNet>,
    usages: Vec<PoolUsage>,
) -> Vec<ClusterPool> {
    // The config refuses a bad label before anything starts.
    let local: BTreeSet<(EndpointId, IpNet)> = endpoints
        .iter()
        .flat_map(|(id, ep)| {
            let label = ep.spec.labels.get(LOCAL_SUBNETS_LABEL);
            let subnets =
                label.map_or_else(Vec::new, |l| parse_local_subnets(l).unwrap_or_default());
            subnets.into_iter().map(move |s| (*id, s))
        })
        .collect();

    let mut pools = Vec::new();
    let mut segments: BTreeMap<(IpNet, Sharing), Vec<PoolUsage>> = BTreeMap::new();
    for usage in usages {
        let subnet = usage.spec.subnet;
        let sharing = if local.contains(&(usage.endpoint, subnet)) {
            Sharing::Local
        } else if labelled.contains(&subnet) {
            Sharing::Labelled
        } else {
            usage.link.clone().map_or(Sharing::Local, Sharing::Detected)
        };
        if sharing.is_shared() {
            segments.entry((subnet, sharing)).or_default().push(usage);
        } else {
            pools.extend(ClusterPool::new(cluster, Sharing::Local, vec![usage]));
        }
    }
    for ((_, sharing), members) in segments {
        let hosts: BTreeSet<EndpointId> = members.iter().map(|m| m.endpoint).collect();
        // Two hosts agreeing is the evidence; a lone network shares with nobody. A swarm
        // network is one network whoever sees it.
        let evident = hosts.len() >= 2
            || matches!(
                sharing,
                Sharing::Labelled | Sharing::Detected(LanLink::Swarm)
            );
        if evident {
            pools.extend(ClusterPool::new(cluster, sharing, members));
        } else {
            for usage in members {
                pools.extend(ClusterPool::new(cluster, Sharing::Local, vec![usage]));
            }
        }
    }
    pools
}
