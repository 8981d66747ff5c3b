//! IP-pool arithmetic: how full each Docker IPAM pool is, who holds which address, what clashes
//! between hosts that share a LAN, and which addresses are safe to hand out next. Pure: it reads
//! the [`Fleet`] and never talks to Docker or draws anything.
//!
//! # Docker's rules, as implemented here (libnetwork's default IPAM)
//!
//! - **Subnet and range.** A pool has a subnet and may have an `--ip-range` inside it. Docker
//!   hands out *dynamic* addresses only from the range (the whole subnet when there is none), but
//!   a static `--ip` may be anywhere in the subnet. So the arithmetic — range size, reserved,
//!   used, claimed, free — is over the allocatable range; static addresses placed outside it are
//!   counted apart, in [`PoolCounts::outside_range`].
//! - **Network and broadcast.** On IPv4 the network and broadcast addresses of the *subnet* are
//!   never handed out — except on a /31 or /32, where Docker (as RFC 3021 does for point-to-point
//!   links) reserves neither and every address is usable. They are reserved *in the range* only
//!   when the range reaches the subnet's edge: `.0/26` holds the network address, `.192/26` the
//!   broadcast, a range in the middle neither.
//! - **IPv6.** The subnet-router anycast address (the subnet's first address) is reserved on every
//!   IPv6 subnet, even a /127 or /128, because Docker does so; there is no broadcast. Counts are
//!   `u128` and nothing here ever walks a range address by address: a /64 is 2^64 addresses.
//!   (Docker's bitmap also stops one short of 2^64; no count shown to a human can tell.)
//! - **Gateway and aux addresses.** Docker marks them taken in the pool; they only keep an
//!   address of the *range* from being handed out when they lie in it, so they count as reserved
//!   only there. That keeps `used + claimed + reserved + free == range size` exact.
//! - **Used and claimed.** A running, paused or restarting container holds its current address:
//!   *used*. A stopped (created, exited, dead) container that was given a static address (`--ip`,
//!   IPAMConfig) takes it back on start: *claimed*. A stopped container without one holds
//!   nothing. A running container on its static address is used, and counted once.
//! - **Precedence.** Each address of a range is exactly one of reserved, used, claimed or free, in
//!   that order: a container sitting on a gateway counts as reserved there, and the clash is
//!   reported as a [`Conflict`].
//!
//! # Pools shared across hosts
//!
//! Hosts bridged onto one LAN (a `br0` bridge, macvlan, ipvlan) each run their own IPAM over the
//! same subnet, and no daemon knows what the others handed out. Within a cluster such networks
//! are one [`ClusterPool`]: its counts are over the union of the members' ranges, an address
//! taken on any host is taken for all, and [`ClusterPool::next_free`] never offers an address
//! that another host holds, claims, reserves, or may hand out from its own range.
//!
//! Which networks are one segment is decided in [`sharing`]: detected from the networks
//! themselves (macvlan/ipvlan on a parent interface of one name, bridges on a LAN bridge of one
//! name, swarm-scoped networks), forced by a host's `subnet` label, or refused by its
//! `local_subnets` label. Everything else is host-local: the default `bridge` 172.17.0.0/16 on
//! every host, or compose networks, are separate NATed islands that merely look alike, so equal
//! subnets there are separate pools and never a clash.
//!
//! In a shared pool the gateway and aux addresses the hosts declare alike are the pool's own
//! (the LAN's router, say): Docker keeps each of them back on every host that declares it, so
//! they clash with nothing. Containers still clash with each other and with a gateway or aux
//! address, and two hosts whose ip-ranges overlap are named as such
//! ([`Conflict::OverlappingRanges`]): each daemon may hand out what the other does.
//!
//! Networks with the same (non-empty) network ID on several hosts are one allocator — a swarm
//! overlay is managed centrally — so their ranges never count as "another host's range".

mod allocation;
mod cluster;
mod conflict;
mod counts;
mod sharing;
mod spec;
mod usage;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::{IpAdd, IpNet, IpSub};

use super::container::{Container, ContainerState};
use super::endpoint::{Endpoint, IpamPool, NetworkInfo};
use super::labels::LABEL_SERVICE;
use super::{EndpointId, Fleet};

pub use allocation::*;
pub use cluster::*;
pub use conflict::*;
pub use counts::*;
pub use sharing::{LOCAL_SUBNETS_LABEL, LanLink, Sharing, parse_local_subnets};
pub use spec::*;
pub use usage::*;

/// The endpoint label naming the LAN subnet a host serves (`labels = { subnet = "192.168.2.0/24" }`).
pub const SUBNET_LABEL: &str = "subnet";

/// Network drivers that put containers straight onto the host's LAN.
const LAN_DRIVERS: [&str; 2] = ["macvlan", "ipvlan"];

/// The IPAM picture of the whole fleet: every pool, grouped per cluster, with its conflicts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IpamReport {
    /// Clusters in configured order; within one, by subnet, then first member.
    pub pools: Vec<ClusterPool>,
    pub bad_pools: Vec<BadPool>,
    /// Conflicts between subnets and with labels; address clashes live in each pool.
    pub conflicts: Vec<Conflict>,
}

impl IpamReport {
    pub fn from_fleet(fleet: &Fleet) -> Self {
        let mut report = Self::default();
        for cluster in fleet.clusters() {
            let endpoints: Vec<(EndpointId, &Endpoint)> = fleet
                .endpoints
                .iter()
                .enumerate()
                .filter(|(_, e)| e.cluster() == cluster)
                .collect();
            let mut usages = Vec::new();
            for (id, ep) in &endpoints {
                for pool in endpoint_pools(*id, ep) {
                    match pool {
                        Ok(usage) => usages.push(usage),
                        Err(bad) => report.bad_pools.push(bad),
                    }
                }
            }
            let labelled: BTreeSet<IpNet> = endpoints
                .iter()
                .filter_map(|(_, ep)| label_subnet(ep).and_then(parse_prefix))
                .collect();
            let mut pools = sharing::cluster_pools(cluster, &endpoints, &labelled, usages);
            pools.sort_by(|a, b| {
                (a.subnet, a.members.first().map(PoolUsage::member))
                    .cmp(&(b.subnet, b.members.first().map(PoolUsage::member)))
            });
            let usages: Vec<&PoolUsage> = pools.iter().flat_map(|p| &p.members).collect();
            // On a LAN: what a label names, what macvlan/ipvlan/swarm networks carry (even on
            // one host), and every shared pool.
            let lan: BTreeSet<IpNet> = labelled
                .into_iter()
                .chain(
                    usages
                        .iter()
                        .filter(|u| u.is_lan_attached())
                        .map(|u| u.spec.subnet),
                )
                .chain(pools.iter().filter(|p| p.is_shared()).map(|p| p.subnet))
                .collect();
            report
                .conflicts
                .extend(overlapping_subnets(cluster, &usages, &lan));
            for (id, ep) in &endpoints {
                report.conflicts.extend(label_mismatch(*id, ep, &usages));
            }
            report.pools.extend(pools);
        }
        report
    }

    pub fn pools_in<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = &'a ClusterPool> {
        self.pools.iter().filter(move |p| p.cluster == cluster)
    }

    /// The pools (IPv4, IPv6, …) a network of an endpoint belongs to: where a deploy form asks
    /// for the next free address.
    pub fn pools_of<'a>(
        &'a self,
        endpoint: EndpointId,
        network: &'a str,
    ) -> impl Iterator<Item = &'a ClusterPool> {
        self.pools.iter().filter(move |p| {
            p.members
                .iter()
                .any(|m| m.endpoint == endpoint && m.network == network)
        })
    }

    /// The subnet-level conflicts that concern `pool` (overlaps with its subnet in its cluster).
    pub fn subnet_conflicts_of<'a>(
        &'a self,
        pool: &'a ClusterPool,
    ) -> impl Iterator<Item = &'a Conflict> {
        self.conflicts.iter().filter(move |c| match c {
            Conflict::OverlappingSubnets { cluster, a, b } => {
                *cluster == pool.cluster && (a.subnet == pool.subnet || b.subnet == pool.subnet)
            }
            _ => false,
        })
    }

    pub fn conflict_count(&self) -> usize {
        self.conflicts.len() + self.pools.iter().map(|p| p.conflicts.len()).sum::<usize>()
    }
}

fn label_subnet(ep: &Endpoint) -> Option<&str> {
    ep.spec.labels.get(SUBNET_LABEL).map(String::as_str)
}

/// Pairs of distinct overlapping subnets in a cluster, at least one of them on the LAN
/// (host-local networks overlapping each other across hosts never meet).
fn overlapping_subnets(
    cluster: &str,
    usages: &[&PoolUsage],
    lan: &BTreeSet<IpNet>,
) -> Vec<Conflict> {
    let mut by_subnet: BTreeMap<IpNet, Vec<MemberRef>> = BTreeMap::new();
    for u in usages {
        by_subnet.entry(u.spec.subnet).or_default().push(u.member());
    }
    let subnets: Vec<(&IpNet, &Vec<MemberRef>)> = by_subnet.iter().collect();
    let mut out = Vec::new();
    for (i, (a, a_members)) in subnets.iter().enumerate() {
        for (b, b_members) in &subnets[i + 1..] {
            if intersection(a, b).is_some() && (lan.contains(a) || lan.contains(b)) {
                out.push(Conflict::OverlappingSubnets {
                    cluster: cluster.to_string(),
                    a: SubnetUse {
                        subnet: **a,
                        members: (*a_members).clone(),
                    },
                    b: SubnetUse {
                        subnet: **b,
                        members: (*b_members).clone(),
                    },
                });
            }
        }
    }
    out
}

/// Checks an endpoint's `subnet` label against its networks. Skipped until the first sync:
/// before it the daemon's networks are unknown, not absent.
fn label_mismatch(id: EndpointId, ep: &Endpoint, usages: &[&PoolUsage]) -> Option<Conflict> {
    let label = label_subnet(ep)?;
    if !ep.synced {
        return None;
    }
    let conflict = |problem| Conflict::LabelMismatch {
        endpoint: id,
        endpoint_name: ep.name().to_string(),
        label: label.to_string(),
        problem,
    };
    let Some(wanted) = parse_prefix(label) else {
        return Some(conflict(LabelProblem::NotASubnet));
    };
    let own: Vec<&PoolUsage> = usages
        .iter()
        .copied()
        .filter(|u| u.endpoint == id)
        .collect();
    if own.iter().any(|u| u.spec.subnet == wanted) {
        return None;
    }
    // Name the network that most likely was meant: one overlapping the label, else one on the LAN.
    let nearest = own
        .iter()
        .find(|u| u.spec.subnet.contains(&wanted) || wanted.contains(&u.spec.subnet))
        .or_else(|| own.iter().find(|u| u.is_lan_attached()));
    Some(conflict(match nearest {
        Some(u) => LabelProblem::Differs {
            network: u.network.clone(),
            subnet: u.spec.subnet,
        },
        None => LabelProblem::NoSuchNetwork,
    }))
}
