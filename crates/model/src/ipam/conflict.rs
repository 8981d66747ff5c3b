//! Conflicts: two parties on one address, an address in another host's range, overlapping
//! ranges, a host's subnet label that its networks contradict.

use super::*;

/// Something standing on an address: a container, or a pool's own reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupant {
    Container(Allocation),
    Reserved {
        by: MemberRef,
        reservation: Reservation,
    },
}

impl fmt::Display for Occupant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Container(a) => a.fmt(f),
            Self::Reserved { by, reservation } => write!(f, "the {reservation} of {by}"),
        }
    }
}

/// Members that use one subnet, for overlap reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetUse {
    pub subnet: IpNet,
    pub members: Vec<MemberRef>,
}

impl fmt::Display for SubnetUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.members.iter().map(ToString::to_string).collect();
        write!(f, "{} ({})", self.subnet, names.join(", "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelProblem {
    /// The label's value is not a prefix.
    NotASubnet,
    /// No network of the endpoint has the labelled subnet, nor anything like it.
    NoSuchNetwork,
    /// The endpoint's LAN network has another subnet than the label says.
    Differs { network: String, subnet: IpNet },
}

/// A clash an operator must resolve before it bites; each names the hosts and containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Two or more containers hold or claim one address (only one can have it; on a shared
    /// LAN both may, and traffic goes astray).
    DuplicateAddress { ip: IpAddr, holders: Vec<Occupant> },
    /// Two hosts of a shared pool hand out addresses from overlapping ip-ranges: each daemon
    /// may give a container what the other already gave. `overlap` is the smaller range (two
    /// prefixes either nest or are disjoint).
    OverlappingRanges {
        a: MemberRef,
        b: MemberRef,
        overlap: IpNet,
    },
    /// An address taken on one host lies in another host's ip-range, which does not reserve
    /// it: that daemon may hand it out to the next container it starts.
    InOtherHostsRange {
        ip: IpAddr,
        occupant: Occupant,
        range_owner: MemberRef,
        range: IpNet,
    },
    /// A container's address is a gateway or aux address of a pool on the same subnet.
    GatewayOrAuxCollision {
        ip: IpAddr,
        container: Allocation,
        reserved_by: MemberRef,
        reservation: Reservation,
    },
    /// Two subnets of one cluster overlap without being equal, and at least one is a LAN
    /// segment: hosts disagree about which addresses are on-link.
    OverlappingSubnets {
        cluster: String,
        a: SubnetUse,
        b: SubnetUse,
    },
    /// The endpoint's `subnet` label disagrees with the daemon's networks.
    LabelMismatch {
        endpoint: EndpointId,
        endpoint_name: String,
        label: String,
        problem: LabelProblem,
    },
}

impl Conflict {
    /// The address in question, for highlighting rows of a drill-down.
    pub fn address(&self) -> Option<IpAddr> {
        match self {
            Self::DuplicateAddress { ip, .. }
            | Self::InOtherHostsRange { ip, .. }
            | Self::GatewayOrAuxCollision { ip, .. } => Some(*ip),
            Self::OverlappingRanges { .. }
            | Self::OverlappingSubnets { .. }
            | Self::LabelMismatch { .. } => None,
        }
    }

    /// Endpoints involved, ascending, without repeats.
    pub fn endpoints(&self) -> Vec<EndpointId> {
        let of_occupant = |o: &Occupant| match o {
            Occupant::Container(a) => a.endpoint,
            Occupant::Reserved { by, .. } => by.endpoint,
        };
        let mut out: Vec<EndpointId> = match self {
            Self::DuplicateAddress { holders, .. } => holders.iter().map(of_occupant).collect(),
            Self::InOtherHostsRange {
                occupant,
                range_owner,
                ..
            } => vec![of_occupant(occupant), range_owner.endpoint],
            Self::GatewayOrAuxCollision {
                container,
                reserved_by,
                ..
            } => vec![container.endpoint, reserved_by.endpoint],
            Self::OverlappingRanges { a, b, .. } => vec![a.endpoint, b.endpoint],
            Self::OverlappingSubnets { a, b, .. } => a
                .members
                .iter()
                .chain(&b.members)
                .map(|m| m.endpoint)
                .collect(),
            Self::LabelMismatch { endpoint, .. } => vec![*endpoint],
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateAddress { ip, holders } => {
                let names: Vec<String> = holders.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{ip} is taken {} times: {}",
                    names.len(),
                    names.join("; ")
                )
            }
            Self::InOtherHostsRange {
                ip,
                occupant,
                range_owner,
                range,
            } => write!(
                f,
                "{ip}, taken by {occupant}, lies in the ip-range {range} of {range_owner}, \
                 whose daemon may hand it out"
            ),
            Self::GatewayOrAuxCollision {
                ip,
                container,
                reserved_by,
                reservation,
            } => write!(
                f,
                "{container} has {ip}, the {reservation} of {reserved_by}"
            ),
            Self::OverlappingRanges { a, b, overlap } => {
                // Hosts by name; a host with the subnet twice by network too.
                let (a, b) = if a.endpoint == b.endpoint {
                    (a.to_string(), b.to_string())
                } else {
                    (a.endpoint_name.clone(), b.endpoint_name.clone())
                };
                write!(
                    f,
                    "the ip-ranges of {a} and {b} overlap: {overlap}; give each host its own range"
                )
            }
            Self::OverlappingSubnets { cluster, a, b } => {
                write!(f, "in cluster {cluster}, subnet {a} overlaps {b}")
            }
            Self::LabelMismatch {
                endpoint_name,
                label,
                problem,
                ..
            } => match problem {
                LabelProblem::NotASubnet => write!(
                    f,
                    "{endpoint_name} is labelled {SUBNET_LABEL}=\"{label}\", which is not a \
                     subnet like 192.168.2.0/24"
                ),
                LabelProblem::NoSuchNetwork => write!(
                    f,
                    "{endpoint_name} is labelled {SUBNET_LABEL}={label} but none of its \
                     networks has that subnet"
                ),
                LabelProblem::Differs { network, subnet } => write!(
                    f,
                    "{endpoint_name} is labelled {SUBNET_LABEL}={label} but its network \
                     {network} has {subnet}"
                ),
            },
        }
    }
}

/// The clashes among the members of one pool: duplicate containers, collisions with gateways
/// and aux addresses, overlapping ranges, and addresses inside another allocator's range.
/// Gateways and aux addresses never clash with each other: the ones hosts declare alike are
/// the pool's own, and each host keeps all of its own back.
pub(super) fn pool_conflicts(members: &[PoolUsage]) -> Vec<Conflict> {
    let mut out = Vec::new();
    let allocations = || members.iter().flat_map(|m| &m.allocations);

    let mut by_ip: BTreeMap<IpAddr, Vec<&Allocation>> = BTreeMap::new();
    let mut seen: BTreeSet<(IpAddr, EndpointId, &str)> = BTreeSet::new();
    for a in allocations() {
        if seen.insert((a.ip, a.endpoint, a.container_id.as_str())) {
            by_ip.entry(a.ip).or_default().push(a);
        }
    }
    for (ip, containers) in by_ip {
        if contending_parties(&containers) >= 2 {
            out.push(Conflict::DuplicateAddress {
                ip,
                holders: containers
                    .into_iter()
                    .map(|a| Occupant::Container(a.clone()))
                    .collect(),
            });
        }
    }

    for (i, a) in members.iter().enumerate() {
        for b in members[i + 1..].iter().filter(|b| !b.same_allocator(a)) {
            let (ra, rb) = (a.spec.allocatable_range(), b.spec.allocatable_range());
            if let Some(overlap) = intersection(&ra, &rb) {
                out.push(Conflict::OverlappingRanges {
                    a: a.member(),
                    b: b.member(),
                    overlap,
                });
            }
        }
    }

    for a in allocations() {
        for m in members {
            if let Some(reservation) = m.spec.gateway_or_aux(a.ip) {
                out.push(Conflict::GatewayOrAuxCollision {
                    ip: a.ip,
                    container: a.clone(),
                    reserved_by: m.member(),
                    reservation,
                });
            }
        }
    }

    for owner in members {
        let range = owner.spec.allocatable_range();
        for other in members.iter().filter(|m| !m.same_allocator(owner)) {
            let occupants = other
                .allocations
                .iter()
                .map(|a| (a.ip, Occupant::Container(a.clone())))
                .chain(
                    other
                        .spec
                        .gateway
                        .map(|gw| (gw, Reservation::Gateway))
                        .into_iter()
                        .chain(
                            other
                                .spec
                                .aux_addresses
                                .iter()
                                .map(|(n, ip)| (*ip, Reservation::Aux(n.clone()))),
                        )
                        .map(|(ip, reservation)| {
                            (
                                ip,
                                Occupant::Reserved {
                                    by: other.member(),
                                    reservation,
                                },
                            )
                        }),
                );
            // An address in both ranges lies where they overlap: OverlappingRanges names that
            // once, rather than once for every address there.
            let own_range = other.spec.allocatable_range();
            for (ip, occupant) in occupants {
                if range.contains(&ip)
                    && !own_range.contains(&ip)
                    && owner.spec.reservation_of(ip).is_none()
                {
                    out.push(Conflict::InOtherHostsRange {
                        ip,
                        occupant,
                        range_owner: owner.member(),
                        range,
                    });
                }
            }
        }
    }
    out.sort_by_key(Conflict::address);
    out
}

/// How many parties contend for one address. A deployed service's revisions on one host (the
/// live `NAME` and the stopped `NAME--rN` kept for rollback, all labelled as the service) are
/// one party: only one of them runs at a time, and a deploy or rollback hands the address from
/// one to the next. Each one that holds the address *now* still counts: two running revisions
/// on one address are a real clash. Containers of no service are a party each.
pub(super) fn contending_parties(containers: &[&Allocation]) -> usize {
    let mut services: BTreeMap<(EndpointId, &str), usize> = BTreeMap::new();
    let mut parties = 0;
    for a in containers {
        match a.service.as_deref() {
            Some(service) => {
                *services.entry((a.endpoint, service)).or_default() +=
                    usize::from(a.holding == Holding::Used)
            }
            None => parties += 1,
        }
    }
    parties + services.values().map(|used| (*used).max(1)).sum::<usize>()
}
