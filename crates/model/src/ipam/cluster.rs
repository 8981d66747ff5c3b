//! Cluster pools: one LAN subnet across the hosts of a cluster, and the next address that no
//! host holds, claims, reserves or may hand out.

use super::*;

/// A subnet of a cluster with every host network on it. Shared (LAN) pools gather all hosts
/// on that segment; a host-local pool has exactly one member.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPool {
    pub cluster: String,
    pub subnet: IpNet,
    /// Whether, and why, this is a LAN segment shared by the cluster's hosts (see [`sharing`]).
    pub sharing: Sharing,
    /// By endpoint, then network name.
    pub members: Vec<PoolUsage>,
    /// Over the union of the members' ranges, counting what any host takes as taken for all.
    pub counts: PoolCounts,
    /// Address clashes inside this pool, by address.
    pub conflicts: Vec<Conflict>,
}

impl ClusterPool {
    /// Gathers `members` (networks with one subnet) into a pool; `None` when there are none.
    pub fn new(cluster: &str, sharing: Sharing, mut members: Vec<PoolUsage>) -> Option<Self> {
        members.sort_by(|a, b| (a.endpoint, &a.network).cmp(&(b.endpoint, &b.network)));
        let subnet = members.first()?.spec.subnet;
        let ranges =
            IpNet::aggregate(&members.iter().map(|m| m.spec.allocatable_range()).collect());
        // Every reservation anywhere counts: another host's gateway inside my range is not
        // free on the LAN even though my daemon would hand it out.
        let reserved: BTreeSet<IpAddr> = members
            .iter()
            .flat_map(|m| m.spec.reservations())
            .map(|(ip, _)| ip)
            .collect();
        let mut used = BTreeSet::new();
        let mut claimed = BTreeSet::new();
        for m in &members {
            let (u, c) = split_by_holding(&m.allocations);
            used.extend(u);
            claimed.extend(c);
        }
        let counts = PoolCounts::tally(&ranges, &reserved, &used, &claimed);
        let conflicts = pool_conflicts(&members);
        Some(Self {
            cluster: cluster.to_string(),
            subnet,
            sharing,
            members,
            counts,
            conflicts,
        })
    }

    pub fn is_shared(&self) -> bool {
        self.sharing.is_shared()
    }

    /// Where `endpoint`'s ip-range overlaps another host's (at `ip`, if given): why no address
    /// there is safe to take.
    pub fn range_overlap_on(&self, endpoint: EndpointId, ip: Option<IpAddr>) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| {
            matches!(c, Conflict::OverlappingRanges { a, b, overlap }
                if (a.endpoint == endpoint || b.endpoint == endpoint)
                    && ip.is_none_or(|ip| overlap.contains(&ip)))
        })
    }

    /// The member on `endpoint` (the first, should one host have the subnet twice).
    pub fn member_on(&self, endpoint: EndpointId) -> Option<&PoolUsage> {
        self.members.iter().find(|m| m.endpoint == endpoint)
    }

    /// Every allocation of every member, by address: the drill-down.
    pub fn allocations(&self) -> Vec<&Allocation> {
        let mut all: Vec<&Allocation> = self.members.iter().flat_map(|m| &m.allocations).collect();
        all.sort_by_key(|a| (a.ip, a.endpoint, a.holding));
        all
    }

    /// The next `count` addresses of `endpoint`'s ip-range, lowest first, that no member of the
    /// pool uses, claims or reserves and that lie in no other host's range. Empty when the
    /// endpoint has no network in this pool. Cost grows with `count` and with what is taken,
    /// never with the size of the range.
    pub fn next_free(&self, endpoint: EndpointId, count: usize) -> Vec<IpAddr> {
        match self.member_on(endpoint) {
            Some(target) => Blocked::for_member(&self.members, target, None).scan(target, count),
            None => Vec::new(),
        }
    }

    /// Whether `ip` may be given to a new container on `endpoint` with `--ip`: in its subnet
    /// (a static address need not be in the range), and taken by nobody on the pool.
    pub fn is_free_for(&self, endpoint: EndpointId, ip: IpAddr) -> bool {
        self.member_on(endpoint).is_some_and(|target| {
            target.spec.subnet.contains(&ip)
                && !Blocked::for_member(&self.members, target, None).blocks(&ip)
        })
    }

    /// [`Self::is_free_for`] for a new revision of `service`: an address only the service's
    /// own stopped revisions on `endpoint` claim is its to take (the kept revision stays
    /// stopped while the new one runs, as after any update).
    pub fn is_free_for_service(&self, endpoint: EndpointId, ip: IpAddr, service: &str) -> bool {
        self.member_on(endpoint).is_some_and(|target| {
            target.spec.subnet.contains(&ip)
                && !Blocked::for_member(&self.members, target, Some(service)).blocks(&ip)
        })
    }
}

impl Allocation {
    /// A stopped revision of `service` on `endpoint` that claims its address for a restart.
    pub fn is_kept_revision_of(&self, endpoint: EndpointId, service: &str) -> bool {
        self.endpoint == endpoint
            && self.holding == Holding::Claimed
            && self.service.as_deref() == Some(service)
    }
}

/// What keeps addresses from being offered to one member.
pub(super) struct Blocked {
    addresses: BTreeSet<IpAddr>,
    /// Ranges of other allocators, aggregated.
    ranges: Vec<IpNet>,
}

impl Blocked {
    /// With `service`, addresses only that service's kept revisions on the target's host claim
    /// are not blocked.
    pub(super) fn for_member(
        members: &[PoolUsage],
        target: &PoolUsage,
        service: Option<&str>,
    ) -> Self {
        let mut addresses = BTreeSet::new();
        for m in members {
            addresses.extend(m.spec.reservations().into_iter().map(|(ip, _)| ip));
            addresses.extend(
                m.allocations
                    .iter()
                    .filter(|a| !service.is_some_and(|s| a.is_kept_revision_of(target.endpoint, s)))
                    .map(|a| a.ip),
            );
        }
        let ranges = members
            .iter()
            .filter(|m| !m.same_allocator(target))
            .map(|m| m.spec.allocatable_range())
            .collect();
        Self {
            addresses,
            ranges: IpNet::aggregate(&ranges),
        }
    }

    fn blocks(&self, ip: &IpAddr) -> bool {
        self.addresses.contains(ip) || self.ranges.iter().any(|r| r.contains(ip))
    }

    /// Walks the target's range upwards. Each step either yields an address, passes one
    /// blocked address, or jumps a whole foreign range, so a /64 costs no more than a /30.
    pub(super) fn scan(&self, target: &PoolUsage, count: usize) -> Vec<IpAddr> {
        let range = target.spec.allocatable_range();
        let size = prefix_size(&range);
        let mut out = Vec::with_capacity(count.min(256));
        let mut offset: u128 = 0;
        while out.len() < count {
            let Some(ip) = nth_address(&range, offset) else {
                break;
            };
            if let Some(foreign) = self.ranges.iter().find(|r| r.contains(&ip)) {
                offset = offset_in(&range, foreign.broadcast()).map_or(size, |o| o + 1);
                continue;
            }
            if !self.addresses.contains(&ip) {
                out.push(ip);
            }
            offset += 1;
        }
        out
    }
}
