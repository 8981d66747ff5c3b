//! Per-host usage: one network's pool on one endpoint, with its allocations and counts.

use super::*;

/// A host's network as a member of a pool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberRef {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub network: String,
}

impl fmt::Display for MemberRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.endpoint_name, self.network)
    }
}

/// One pool of one network on one endpoint, as that daemon's IPAM sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolUsage {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub network: String,
    pub network_id: String,
    pub driver: String,
    pub scope: String,
    /// What the network says ties it to a LAN other hosts may share.
    pub link: Option<LanLink>,
    pub spec: PoolSpec,
    pub counts: PoolCounts,
    /// Every used or claimed address in the subnet, by address.
    pub allocations: Vec<Allocation>,
}

impl PoolUsage {
    pub fn new(endpoint: EndpointId, ep: &Endpoint, net: &NetworkInfo, spec: PoolSpec) -> Self {
        let mut allocations: Vec<Allocation> = ep
            .containers
            .values()
            .flat_map(|c| allocations_of(endpoint, ep.name(), &net.name, &spec.subnet, c))
            .collect();
        allocations.sort_by(|a, b| {
            (a.ip, a.holding, &a.container_name).cmp(&(b.ip, b.holding, &b.container_name))
        });
        let reserved = spec
            .reservations_in_range()
            .into_iter()
            .map(|(ip, _)| ip)
            .collect();
        let (used, claimed) = split_by_holding(&allocations);
        let counts = PoolCounts::tally(&[spec.allocatable_range()], &reserved, &used, &claimed);
        Self {
            endpoint,
            endpoint_name: ep.name().to_string(),
            network: net.name.clone(),
            network_id: net.id.clone(),
            driver: net.driver.clone(),
            scope: net.scope.clone(),
            link: LanLink::of(net),
            spec,
            counts,
            allocations,
        }
    }

    pub fn member(&self) -> MemberRef {
        MemberRef {
            endpoint: self.endpoint,
            endpoint_name: self.endpoint_name.clone(),
            network: self.network.clone(),
        }
    }

    /// Whether the network puts containers straight on the LAN whatever the labels say.
    pub fn is_lan_attached(&self) -> bool {
        LAN_DRIVERS.contains(&self.driver.as_str()) || self.scope == "swarm"
    }

    /// The next `count` addresses of the range this daemon would consider free, lowest first.
    /// Blind to other hosts: for a shared pool ask [`ClusterPool::next_free`].
    pub fn next_free(&self, count: usize) -> Vec<IpAddr> {
        Blocked::for_member(std::slice::from_ref(self), self, None).scan(self, count)
    }

    /// Two members hand out addresses from one allocator: the same network on one host, or one
    /// swarm-wide network seen from several nodes.
    pub(super) fn same_allocator(&self, other: &PoolUsage) -> bool {
        (self.endpoint == other.endpoint && self.network == other.network)
            || (!self.network_id.is_empty() && self.network_id == other.network_id)
    }
}

pub(super) fn split_by_holding(allocations: &[Allocation]) -> (BTreeSet<IpAddr>, BTreeSet<IpAddr>) {
    let of = |holding| {
        allocations
            .iter()
            .filter(|a| a.holding == holding)
            .map(|a| a.ip)
            .collect()
    };
    (of(Holding::Used), of(Holding::Claimed))
}

/// A pool the daemon described in a way that cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPool {
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub network: String,
    pub error: PoolSpecError,
}

impl fmt::Display for BadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}: {}", self.endpoint_name, self.network, self.error)
    }
}

/// Every pool of every network on one endpoint; pools that do not parse come back as errors.
pub fn endpoint_pools(endpoint: EndpointId, ep: &Endpoint) -> Vec<Result<PoolUsage, BadPool>> {
    let mut out = Vec::new();
    for net in &ep.networks {
        for pool in &net.pools {
            out.push(match PoolSpec::parse(pool) {
                Ok(spec) => Ok(PoolUsage::new(endpoint, ep, net, spec)),
                Err(error) => Err(BadPool {
                    endpoint,
                    endpoint_name: ep.name().to_string(),
                    network: net.name.clone(),
                    error,
                }),
            });
        }
    }
    out
}
