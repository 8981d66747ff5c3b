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

mod sharing;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::{IpAdd, IpNet, IpSub};

use super::container::{Container, ContainerState};
use super::endpoint::{Endpoint, IpamPool, NetworkInfo};
use super::labels::LABEL_SERVICE;
use super::{EndpointId, Fleet};

pub use sharing::{LOCAL_SUBNETS_LABEL, LanLink, Sharing, parse_local_subnets};

/// The endpoint label naming the LAN subnet a host serves (`labels = { subnet = "192.168.2.0/24" }`).
pub const SUBNET_LABEL: &str = "subnet";

/// Network drivers that put containers straight onto the host's LAN.
const LAN_DRIVERS: [&str; 2] = ["macvlan", "ipvlan"];

// ------------------------------------------------------------------------------- pool spec --

/// An IPAM pool as Docker describes it, parsed: what every count here is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// Normalised to its network address (`192.168.2.7/24` reads as `192.168.2.0/24`).
    pub subnet: IpNet,
    /// The dynamic range, already intersected with the subnet.
    pub ip_range: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// A pool whose description from the daemon cannot be used; it is reported, never guessed at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolSpecError {
    #[error("subnet \"{value}\" is not a prefix like 192.168.2.0/24 or fd00::/64")]
    Subnet { value: String },
    #[error("ip-range \"{value}\" is not a prefix like 192.168.2.0/26")]
    IpRange { value: String },
    #[error("ip-range {range} lies outside subnet {subnet}")]
    IpRangeOutsideSubnet { range: IpNet, subnet: IpNet },
    #[error("gateway \"{value}\" is not an IP address")]
    Gateway { value: String },
    #[error("aux-address {name}=\"{value}\" is not an IP address")]
    AuxAddress { name: String, value: String },
    #[error("{what} {address} is not of the same IP version as subnet {subnet}")]
    WrongFamily {
        what: String,
        address: IpAddr,
        subnet: IpNet,
    },
}

/// Why an address is not handed out although it may lie in the range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reservation {
    /// IPv4 network address (subnets larger than /31).
    Network,
    /// IPv4 broadcast address (subnets larger than /31).
    Broadcast,
    /// IPv6 subnet-router anycast: the subnet's first address.
    SubnetRouterAnycast,
    Gateway,
    /// An `--aux-address NAME=IP`: a device outside Docker's control, e.g. the LAN's router.
    Aux(String),
}

impl fmt::Display for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network => f.write_str("network address"),
            Self::Broadcast => f.write_str("broadcast address"),
            Self::SubnetRouterAnycast => f.write_str("subnet-router anycast address"),
            Self::Gateway => f.write_str("gateway"),
            Self::Aux(name) => write!(f, "aux-address {name}"),
        }
    }
}

impl PoolSpec {
    pub fn parse(pool: &IpamPool) -> Result<Self, PoolSpecError> {
        let subnet = parse_prefix(&pool.subnet).ok_or_else(|| PoolSpecError::Subnet {
            value: pool.subnet.clone(),
        })?;
        let ip_range = match &pool.ip_range {
            None => None,
            Some(text) => {
                let range = parse_prefix(text).ok_or_else(|| PoolSpecError::IpRange {
                    value: text.clone(),
                })?;
                match intersection(&subnet, &range) {
                    Some(inside) => Some(inside),
                    None => return Err(PoolSpecError::IpRangeOutsideSubnet { range, subnet }),
                }
            }
        };
        let same_family = |what: &str, address: IpAddr| {
            if address.is_ipv4() == subnet.addr().is_ipv4() {
                Ok(address)
            } else {
                Err(PoolSpecError::WrongFamily {
                    what: what.to_string(),
                    address,
                    subnet,
                })
            }
        };
        let gateway = match &pool.gateway {
            None => None,
            Some(text) => {
                let address = text.trim().parse().map_err(|_| PoolSpecError::Gateway {
                    value: text.clone(),
                })?;
                Some(same_family("gateway", address)?)
            }
        };
        let mut aux_addresses = BTreeMap::new();
        for (name, text) in &pool.aux_addresses {
            let address = text.trim().parse().map_err(|_| PoolSpecError::AuxAddress {
                name: name.clone(),
                value: text.clone(),
            })?;
            let address = same_family(&format!("aux-address {name}"), address)?;
            aux_addresses.insert(name.clone(), address);
        }
        Ok(Self {
            subnet,
            ip_range,
            gateway,
            aux_addresses,
        })
    }

    pub fn is_ipv6(&self) -> bool {
        matches!(self.subnet, IpNet::V6(_))
    }

    /// Where Docker picks dynamic addresses: the ip-range, or the whole subnet.
    pub fn allocatable_range(&self) -> IpNet {
        self.ip_range.unwrap_or(self.subnet)
    }

    pub fn range_size(&self) -> u128 {
        prefix_size(&self.allocatable_range())
    }

    pub fn in_range(&self, ip: &IpAddr) -> bool {
        self.allocatable_range().contains(ip)
    }

    /// Addresses the subnet itself keeps back, wherever the range is.
    pub fn subnet_reservations(&self) -> Vec<(IpAddr, Reservation)> {
        match self.subnet {
            // RFC 3021 point-to-point and single-host subnets: every address is usable.
            IpNet::V4(net) if net.prefix_len() >= 31 => Vec::new(),
            IpNet::V4(net) => vec![
                (IpAddr::V4(net.network()), Reservation::Network),
                (IpAddr::V4(net.broadcast()), Reservation::Broadcast),
            ],
            IpNet::V6(net) => vec![(IpAddr::V6(net.network()), Reservation::SubnetRouterAnycast)],
        }
    }

    /// Every reservation of the pool — subnet edges, gateway, aux addresses — in or out of the
    /// range, in that order.
    pub fn reservations(&self) -> Vec<(IpAddr, Reservation)> {
        let mut out = self.subnet_reservations();
        out.extend(self.gateway.map(|gw| (gw, Reservation::Gateway)));
        out.extend(
            self.aux_addresses
                .iter()
                .map(|(name, ip)| (*ip, Reservation::Aux(name.clone()))),
        );
        out
    }

    /// The reservations that keep an address of the range from being handed out.
    pub fn reservations_in_range(&self) -> Vec<(IpAddr, Reservation)> {
        let range = self.allocatable_range();
        self.reservations()
            .into_iter()
            .filter(|(ip, _)| range.contains(ip))
            .collect()
    }

    pub fn reservation_of(&self, ip: IpAddr) -> Option<Reservation> {
        self.reservations()
            .into_iter()
            .find_map(|(r_ip, r)| (r_ip == ip).then_some(r))
    }

    /// The gateway or aux address this is, if any (not the subnet's edges).
    fn gateway_or_aux(&self, ip: IpAddr) -> Option<Reservation> {
        if self.gateway == Some(ip) {
            return Some(Reservation::Gateway);
        }
        self.aux_addresses
            .iter()
            .find_map(|(name, aux)| (*aux == ip).then(|| Reservation::Aux(name.clone())))
    }
}

/// A prefix as written, normalised to its network address.
pub fn parse_prefix(text: &str) -> Option<IpNet> {
    text.trim().parse::<IpNet>().ok().map(|net| net.trunc())
}

/// The addresses two prefixes have in common. Prefixes either nest or are disjoint, so it is
/// the smaller one, or nothing.
fn intersection(a: &IpNet, b: &IpNet) -> Option<IpNet> {
    if a.contains(b) {
        Some(*b)
    } else if b.contains(a) {
        Some(*a)
    } else {
        None
    }
}

/// Number of addresses in a prefix. Saturates only for the whole IPv6 space (2^128).
fn prefix_size(net: &IpNet) -> u128 {
    match net {
        IpNet::V4(n) => u128::from(n.broadcast().saturating_sub(n.network())) + 1,
        IpNet::V6(n) => n.broadcast().saturating_sub(n.network()).saturating_add(1),
    }
}

/// The address `offset` places after the start of `net`, if it is still inside.
fn nth_address(net: &IpNet, offset: u128) -> Option<IpAddr> {
    if offset >= prefix_size(net) {
        return None;
    }
    match net {
        IpNet::V4(n) => Some(IpAddr::V4(
            n.network().saturating_add(u32::try_from(offset).ok()?),
        )),
        IpNet::V6(n) => Some(IpAddr::V6(n.network().saturating_add(offset))),
    }
}

/// How far `ip` lies from the start of `net`, if it is inside.
fn offset_in(net: &IpNet, ip: IpAddr) -> Option<u128> {
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V4(a)) if n.contains(&a) => {
            Some(u128::from(a.saturating_sub(n.network())))
        }
        (IpNet::V6(n), IpAddr::V6(a)) if n.contains(&a) => Some(a.saturating_sub(n.network())),
        _ => None,
    }
}

// ------------------------------------------------------------------------------ allocations --

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressKind {
    /// Asked for with `--ip`: the container gets this address on every start.
    Static,
    /// Picked by Docker from the range at start; given up when the container stops.
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holding {
    /// A live container has the address now.
    Used,
    /// A stopped container will take the address back when it starts.
    Claimed,
}

/// One allocated address and who has it: a row of the pool drill-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub ip: IpAddr,
    pub endpoint: EndpointId,
    pub endpoint_name: String,
    pub network: String,
    pub container_id: String,
    pub container_name: String,
    pub state: ContainerState,
    pub kind: AddressKind,
    pub holding: Holding,
    /// The fleetdeck service the container is a revision of (its `fleetdeck.deploy.service`
    /// label): a service's live and kept revisions share its address without clashing.
    pub service: Option<String>,
}

impl fmt::Display for Allocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (self.holding, self.kind) {
            (Holding::Used, AddressKind::Static) => "static",
            (Holding::Used, AddressKind::Dynamic) => "dynamic",
            (Holding::Claimed, _) => "static, claimed",
        };
        write!(
            f,
            "{} on {} ({}, {how})",
            self.container_name, self.endpoint_name, self.state
        )
    }
}

/// Whether a container in this state keeps its current address.
fn holds_current_address(state: ContainerState) -> bool {
    matches!(
        state,
        ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
    )
}

/// The addresses `container` uses or claims on network `network` inside `subnet`.
fn allocations_of(
    endpoint: EndpointId,
    endpoint_name: &str,
    network: &str,
    subnet: &IpNet,
    container: &Container,
) -> Vec<Allocation> {
    let make = |ip, kind, holding| Allocation {
        ip,
        endpoint,
        endpoint_name: endpoint_name.to_string(),
        network: network.to_string(),
        container_id: container.id.clone(),
        container_name: container.name.clone(),
        state: container.state,
        kind,
        holding,
        service: container.labels.get(LABEL_SERVICE).cloned(),
    };
    // Addresses the engine could not parse belong to no pool; there is nothing to count.
    let parse = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| t.trim().parse::<IpAddr>().ok())
            .filter(|ip| subnet.contains(ip))
    };
    let mut out = Vec::new();
    for att in container.networks.iter().filter(|a| a.network == network) {
        let fixed = parse(&att.static_ipv4);
        let mut current = Vec::new();
        if holds_current_address(container.state) {
            current.extend(parse(&att.ipv4));
            current.extend(parse(&att.ipv6));
        }
        for ip in &current {
            let kind = if fixed == Some(*ip) {
                AddressKind::Static
            } else {
                AddressKind::Dynamic
            };
            out.push(make(*ip, kind, Holding::Used));
        }
        if let Some(ip) = fixed.filter(|ip| !current.contains(ip)) {
            out.push(make(ip, AddressKind::Static, Holding::Claimed));
        }
    }
    out
}

// ---------------------------------------------------------------------------------- counts --

/// The range arithmetic of a pool. Over the range, `used + claimed + reserved + free ==
/// range_size` always; `outside_range` is beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub range_size: u128,
    pub reserved: u128,
    pub used: u128,
    pub claimed: u128,
    pub free: u128,
    /// Distinct static addresses in the subnet but outside the range (allowed by Docker, and
    /// the usual place for fixed IPs); not part of the range arithmetic.
    pub outside_range: u128,
}

impl PoolCounts {
    /// Classifies every address of `ranges` (disjoint prefixes) as reserved, used, claimed or
    /// free, in that precedence, without enumerating the ranges.
    fn tally(
        ranges: &[IpNet],
        reserved: &BTreeSet<IpAddr>,
        used: &BTreeSet<IpAddr>,
        claimed: &BTreeSet<IpAddr>,
    ) -> Self {
        let in_range = |ip: &&IpAddr| ranges.iter().any(|r| r.contains(*ip));
        let count = |n: usize| n as u128;
        let reserved_n = count(reserved.iter().filter(in_range).count());
        let used_n = count(
            used.iter()
                .filter(in_range)
                .filter(|ip| !reserved.contains(ip))
                .count(),
        );
        let claimed_n = count(
            claimed
                .iter()
                .filter(in_range)
                .filter(|ip| !reserved.contains(ip) && !used.contains(ip))
                .count(),
        );
        let outside_range = count(
            used.union(claimed)
                .filter(|ip| !ranges.iter().any(|r| r.contains(*ip)))
                .count(),
        );
        let range_size = ranges
            .iter()
            .map(prefix_size)
            .fold(0u128, u128::saturating_add);
        Self {
            range_size,
            reserved: reserved_n,
            used: used_n,
            claimed: claimed_n,
            free: range_size.saturating_sub(reserved_n + used_n + claimed_n),
            outside_range,
        }
    }

    /// Addresses of the range that cannot be handed out.
    pub fn taken(&self) -> u128 {
        self.reserved + self.used + self.claimed
    }

    /// `taken / range_size`, for gauges and sorting by fullness.
    pub fn utilisation(&self) -> f64 {
        if self.range_size == 0 {
            return 0.0;
        }
        self.taken() as f64 / self.range_size as f64
    }
}

/// A count as a person reads it: exact while short, `16.8M` for a /8, `≈2^64` for a /64.
pub fn human_count(n: u128) -> String {
    const SCALES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    if n < 100_000 {
        return n.to_string();
    }
    if n < 1_000_000_000_000_000 {
        let x = n as f64;
        for (scale, unit) in SCALES {
            if x >= scale {
                return format!("{:.1}{unit}", x / scale);
            }
        }
    }
    // Rounded to the nearest power of two: 2^64 - 3 free addresses read as ≈2^64.
    let floor = 127 - n.leading_zeros();
    let round_up = floor > 0 && (n >> (floor - 1)) & 1 == 1;
    format!("≈2^{}", floor + u32::from(round_up))
}

// ------------------------------------------------------------------------- per-host usage --

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
    fn same_allocator(&self, other: &PoolUsage) -> bool {
        (self.endpoint == other.endpoint && self.network == other.network)
            || (!self.network_id.is_empty() && self.network_id == other.network_id)
    }
}

fn split_by_holding(allocations: &[Allocation]) -> (BTreeSet<IpAddr>, BTreeSet<IpAddr>) {
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

// ------------------------------------------------------------------------------- conflicts --

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
fn pool_conflicts(members: &[PoolUsage]) -> Vec<Conflict> {
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
fn contending_parties(containers: &[&Allocation]) -> usize {
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

// ---------------------------------------------------------------------------- cluster pools --

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
struct Blocked {
    addresses: BTreeSet<IpAddr>,
    /// Ranges of other allocators, aggregated.
    ranges: Vec<IpNet>,
}

impl Blocked {
    /// With `service`, addresses only that service's kept revisions on the target's host claim
    /// are not blocked.
    fn for_member(members: &[PoolUsage], target: &PoolUsage, service: Option<&str>) -> Self {
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
    fn scan(&self, target: &PoolUsage, count: usize) -> Vec<IpAddr> {
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

// --------------------------------------------------------------------------------- report --

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::EndpointSpec;
    use crate::model::container::NetAttachment;
    use crate::model::container::fixtures::container;
    use crate::model::{Msg, MsgKind, SyncData};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn prefix(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn pool(
        subnet: &str,
        range: Option<&str>,
        gateway: Option<&str>,
        aux: &[(&str, &str)],
    ) -> IpamPool {
        IpamPool {
            subnet: subnet.into(),
            ip_range: range.map(Into::into),
            gateway: gateway.map(Into::into),
            aux_addresses: aux
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn network(name: &str, driver: &str, pools: Vec<IpamPool>) -> NetworkInfo {
        NetworkInfo {
            name: name.into(),
            driver: driver.into(),
            scope: "local".into(),
            pools,
            ..NetworkInfo::default()
        }
    }

    /// A network with one driver option, e.g. a macvlan's `parent`.
    fn lan_network(
        name: &str,
        driver: &str,
        option: &str,
        value: &str,
        pools: Vec<IpamPool>,
    ) -> NetworkInfo {
        let mut net = network(name, driver, pools);
        net.options.insert(option.into(), value.into());
        net
    }

    /// A container on `net` with its current address (`ip`) and its `--ip` (`fixed`).
    fn on(
        net: &str,
        id: &str,
        state: ContainerState,
        ip: Option<&str>,
        fixed: Option<&str>,
    ) -> Container {
        let mut c = container(id, id, state);
        c.networks.push(NetAttachment {
            network: net.into(),
            ipv4: ip.filter(|s| !s.contains(':')).map(Into::into),
            ipv6: ip.filter(|s| s.contains(':')).map(Into::into),
            static_ipv4: fixed.map(Into::into),
            ..NetAttachment::default()
        });
        c
    }

    fn running(net: &str, id: &str, ip: &str) -> Container {
        on(net, id, ContainerState::Running, Some(ip), None)
    }

    fn running_static(net: &str, id: &str, ip: &str) -> Container {
        on(net, id, ContainerState::Running, Some(ip), Some(ip))
    }

    fn stopped_static(net: &str, id: &str, ip: &str) -> Container {
        on(net, id, ContainerState::Exited, None, Some(ip))
    }

    struct Host {
        name: &'static str,
        cluster: &'static str,
        subnet_label: Option<String>,
        networks: Vec<NetworkInfo>,
        containers: Vec<Container>,
        synced: bool,
    }

    fn host(name: &'static str, cluster: &'static str, subnet_label: Option<&str>) -> Host {
        Host {
            name,
            cluster,
            subnet_label: subnet_label.map(Into::into),
            networks: Vec::new(),
            containers: Vec::new(),
            synced: true,
        }
    }

    fn fleet(hosts: Vec<Host>) -> Fleet {
        let specs = hosts.iter().map(|h| {
            let mut s = EndpointSpec::from_url(Some(h.name), "tcp://h:2375").unwrap();
            s.cluster = h.cluster.into();
            if let Some(label) = &h.subnet_label {
                s.labels.insert(SUBNET_LABEL.into(), label.clone());
            }
            s
        });
        let mut f = Fleet::new(specs.collect::<Vec<_>>());
        for (i, h) in hosts.into_iter().enumerate() {
            if !h.synced {
                continue;
            }
            f.apply(Msg {
                endpoint: i,
                at: chrono::DateTime::from_timestamp(1_000_000, 0).unwrap(),
                kind: MsgKind::Synced(Box::new(SyncData {
                    containers: h.containers,
                    networks: h.networks,
                    ..SyncData::default()
                })),
            });
        }
        f
    }

    /// One host, one network "n" with one pool: the daemon's own view of it.
    fn usage(p: IpamPool, containers: Vec<Container>) -> PoolUsage {
        let mut h = host("solo", "default", None);
        h.networks = vec![network("n", "bridge", vec![p])];
        h.containers = containers;
        let report = IpamReport::from_fleet(&fleet(vec![h]));
        assert!(report.bad_pools.is_empty(), "{:?}", report.bad_pools);
        assert_eq!(report.pools.len(), 1);
        report.pools[0].members[0].clone()
    }

    fn counts(
        range_size: u128,
        reserved: u128,
        used: u128,
        claimed: u128,
        free: u128,
    ) -> PoolCounts {
        PoolCounts {
            range_size,
            reserved,
            used,
            claimed,
            free,
            outside_range: 0,
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| ip(s)).collect()
    }

    #[test]
    fn a_slash_30_keeps_one_address_after_network_broadcast_and_gateway() {
        let u = usage(pool("10.0.0.0/30", None, Some("10.0.0.1"), &[]), vec![]);
        assert_eq!(u.counts, counts(4, 3, 0, 0, 1));
        assert_eq!(u.next_free(5), ips(&["10.0.0.2"]));
    }

    #[test]
    fn a_slash_31_reserves_neither_end_like_rfc_3021() {
        let u = usage(pool("10.0.0.0/31", None, None, &[]), vec![]);
        assert_eq!(u.counts, counts(2, 0, 0, 0, 2));
        assert_eq!(u.next_free(3), ips(&["10.0.0.0", "10.0.0.1"]));
        assert!(u.spec.subnet_reservations().is_empty());

        let u = usage(pool("10.0.0.0/31", None, Some("10.0.0.0"), &[]), vec![]);
        assert_eq!(u.counts, counts(2, 1, 0, 0, 1));
        assert_eq!(u.next_free(3), ips(&["10.0.0.1"]));
    }

    #[test]
    fn a_slash_32_is_one_usable_address() {
        let u = usage(pool("10.0.0.7/32", None, None, &[]), vec![]);
        assert_eq!(u.counts, counts(1, 0, 0, 0, 1));
        assert_eq!(u.next_free(2), ips(&["10.0.0.7"]));

        let u = usage(
            pool("10.0.0.7/32", None, None, &[]),
            vec![running("n", "only", "10.0.0.7")],
        );
        assert_eq!(u.counts, counts(1, 0, 1, 0, 0));
        assert!(u.next_free(1).is_empty());
    }

    #[test]
    fn a_range_at_the_start_of_the_subnet_holds_the_network_address() {
        let u = usage(
            pool(
                "192.168.2.0/24",
                Some("192.168.2.0/26"),
                Some("192.168.2.1"),
                &[],
            ),
            vec![],
        );
        assert_eq!(u.counts, counts(64, 2, 0, 0, 62));
        assert_eq!(
            u.spec.reservations_in_range(),
            vec![
                (ip("192.168.2.0"), Reservation::Network),
                (ip("192.168.2.1"), Reservation::Gateway)
            ]
        );
        assert_eq!(u.next_free(2), ips(&["192.168.2.2", "192.168.2.3"]));
    }

    #[test]
    fn a_range_at_the_end_of_the_subnet_holds_the_broadcast_address() {
        let u = usage(
            pool(
                "192.168.2.0/24",
                Some("192.168.2.192/26"),
                Some("192.168.2.1"),
                &[],
            ),
            vec![],
        );
        // The gateway lies below the range, so only the broadcast is reserved in it.
        assert_eq!(u.counts, counts(64, 1, 0, 0, 63));
        let free = u.next_free(100);
        assert_eq!(free.len(), 63);
        assert_eq!(free.first(), Some(&ip("192.168.2.192")));
        assert_eq!(free.last(), Some(&ip("192.168.2.254")));
    }

    #[test]
    fn a_range_in_the_middle_reserves_no_subnet_edge() {
        let u = usage(
            pool("192.168.2.0/24", Some("192.168.2.64/26"), None, &[]),
            vec![],
        );
        assert_eq!(u.counts, counts(64, 0, 0, 0, 64));
        assert_eq!(u.next_free(1), ips(&["192.168.2.64"]));
    }

    #[test]
    fn gateway_and_aux_addresses_outside_the_range_are_not_reserved_in_it() {
        let u = usage(
            pool(
                "192.168.2.0/24",
                Some("192.168.2.64/26"),
                Some("192.168.2.1"),
                &[("router", "192.168.2.254"), ("printer", "192.168.2.70")],
            ),
            vec![],
        );
        assert_eq!(u.counts, counts(64, 1, 0, 0, 63));
        assert_eq!(
            u.spec.reservations_in_range(),
            vec![(ip("192.168.2.70"), Reservation::Aux("printer".into()))]
        );
        // Still known as reservations: a static --ip cannot take them.
        assert_eq!(u.spec.reservations().len(), 5);
        assert_eq!(
            u.spec.reservation_of(ip("192.168.2.254")),
            Some(Reservation::Aux("router".into()))
        );
        assert!(!u.next_free(64).contains(&ip("192.168.2.70")));
    }

    #[test]
    fn an_ipv6_slash_64_is_counted_never_listed() {
        let u = usage(
            pool("fd00:2::/64", None, Some("fd00:2::1"), &[]),
            vec![running("n", "web", "fd00:2::2")],
        );
        let size = 1u128 << 64;
        assert_eq!(u.counts, counts(size, 2, 1, 0, size - 3));
        assert_eq!(
            u.next_free(3),
            ips(&["fd00:2::3", "fd00:2::4", "fd00:2::5"])
        );
        assert_eq!(human_count(u.counts.free), "≈2^64");
        assert!(u.counts.utilisation() > 0.0 && u.counts.utilisation() < 1e-15);
        assert_eq!(
            u.spec.subnet_reservations(),
            vec![(ip("fd00:2::"), Reservation::SubnetRouterAnycast)]
        );
    }

    #[test]
    fn an_ipv6_slash_120_reserves_only_the_subnet_router_anycast() {
        let u = usage(pool("fd00::100/120", None, None, &[]), vec![]);
        assert_eq!(u.counts, counts(256, 1, 0, 0, 255));
        assert_eq!(u.next_free(1), ips(&["fd00::101"]));
        let free = u.next_free(1000);
        assert_eq!(free.len(), 255);
        assert_eq!(free.last(), Some(&ip("fd00::1ff")));
    }

    #[test]
    fn an_ipv6_slash_128_has_nothing_to_hand_out() {
        let u = usage(pool("fd00::9/128", None, None, &[]), vec![]);
        assert_eq!(u.counts, counts(1, 1, 0, 0, 0));
        assert!(u.next_free(1).is_empty());
    }

    #[test]
    fn used_and_claimed_follow_container_state_and_static_addresses() {
        let u = usage(
            pool("10.9.0.0/24", None, Some("10.9.0.1"), &[]),
            vec![
                running_static("n", "fixed-up", "10.9.0.10"),
                running("n", "dyn-up", "10.9.0.11"),
                stopped_static("n", "fixed-down", "10.9.0.12"),
                on("n", "dyn-down", ContainerState::Exited, None, None),
                on(
                    "n",
                    "paused",
                    ContainerState::Paused,
                    Some("10.9.0.13"),
                    None,
                ),
                on(
                    "n",
                    "created",
                    ContainerState::Created,
                    None,
                    Some("10.9.0.14"),
                ),
                // Restarting between runs: no address now, takes its static one back.
                on(
                    "n",
                    "looping",
                    ContainerState::Restarting,
                    None,
                    Some("10.9.0.15"),
                ),
                on(
                    "other",
                    "elsewhere",
                    ContainerState::Running,
                    Some("10.9.0.16"),
                    None,
                ),
            ],
        );
        assert_eq!(u.counts, counts(256, 3, 3, 3, 247));
        let rows: Vec<(&str, IpAddr, AddressKind, Holding)> = u
            .allocations
            .iter()
            .map(|a| (a.container_name.as_str(), a.ip, a.kind, a.holding))
            .collect();
        use AddressKind::{Dynamic, Static};
        use Holding::{Claimed, Used};
        assert_eq!(
            rows,
            vec![
                ("fixed-up", ip("10.9.0.10"), Static, Used),
                ("dyn-up", ip("10.9.0.11"), Dynamic, Used),
                ("fixed-down", ip("10.9.0.12"), Static, Claimed),
                ("paused", ip("10.9.0.13"), Dynamic, Used),
                ("created", ip("10.9.0.14"), Static, Claimed),
                ("looping", ip("10.9.0.15"), Static, Claimed),
            ]
        );
        assert_eq!(
            u.allocations[2].to_string(),
            "fixed-down on solo (exited, static, claimed)"
        );
    }

    #[test]
    fn a_static_address_outside_the_range_is_counted_apart() {
        let u = usage(
            pool("10.9.0.0/24", Some("10.9.0.0/26"), Some("10.9.0.1"), &[]),
            vec![
                running_static("n", "pinned", "10.9.0.100"),
                stopped_static("n", "parked", "10.9.0.101"),
            ],
        );
        assert_eq!(u.counts.outside_range, 2);
        assert_eq!((u.counts.used, u.counts.claimed, u.counts.free), (0, 0, 62));
        assert_eq!(u.allocations.len(), 2);
    }

    #[test]
    fn a_container_on_the_gateway_counts_once_as_reserved_and_is_flagged() {
        let mut h = host("solo", "default", None);
        h.networks = vec![network(
            "n",
            "bridge",
            vec![pool("10.9.0.0/29", None, Some("10.9.0.1"), &[])],
        )];
        h.containers = vec![running_static("n", "squatter", "10.9.0.1")];
        let report = IpamReport::from_fleet(&fleet(vec![h]));
        let p = &report.pools[0];
        assert_eq!(p.members[0].counts, counts(8, 3, 0, 0, 5));
        assert_eq!(p.conflicts.len(), 1);
        assert_eq!(
            p.conflicts[0].to_string(),
            "squatter on solo (running, static) has 10.9.0.1, the gateway of solo/n"
        );
    }

    #[test]
    fn unparsable_pools_are_reported_and_the_rest_still_counted() {
        let mut h = host("lab1", "default", None);
        h.networks = vec![network(
            "n",
            "bridge",
            vec![
                pool("banana", None, None, &[]),
                pool("10.1.0.0/24", None, None, &[]),
            ],
        )];
        let report = IpamReport::from_fleet(&fleet(vec![h]));
        assert_eq!(report.pools.len(), 1);
        assert_eq!(report.bad_pools.len(), 1);
        assert_eq!(
            report.bad_pools[0].to_string(),
            "lab1/n: subnet \"banana\" is not a prefix like 192.168.2.0/24 or fd00::/64"
        );
    }

    #[test]
    fn pool_spec_errors_name_the_bad_value() {
        let err = |p: IpamPool| PoolSpec::parse(&p).unwrap_err().to_string();
        assert_eq!(
            err(pool("10.0.0.0/24", Some("10.0.1.0/26"), None, &[])),
            "ip-range 10.0.1.0/26 lies outside subnet 10.0.0.0/24"
        );
        assert_eq!(
            err(pool("10.0.0.0/24", Some("10.0.0.0"), None, &[])),
            "ip-range \"10.0.0.0\" is not a prefix like 192.168.2.0/26"
        );
        assert_eq!(
            err(pool("10.0.0.0/24", None, Some("10.0.0.300"), &[])),
            "gateway \"10.0.0.300\" is not an IP address"
        );
        assert_eq!(
            err(pool("10.0.0.0/24", None, None, &[("router", "x")])),
            "aux-address router=\"x\" is not an IP address"
        );
        assert_eq!(
            err(pool("10.0.0.0/24", None, Some("fd00::1"), &[])),
            "gateway fd00::1 is not of the same IP version as subnet 10.0.0.0/24"
        );
    }

    #[test]
    fn pool_specs_are_normalised() {
        let spec = PoolSpec::parse(&pool("10.0.0.9/24", Some("10.0.0.0/16"), None, &[])).unwrap();
        assert_eq!(spec.subnet, prefix("10.0.0.0/24"));
        // A range wider than the subnet is the subnet.
        assert_eq!(spec.allocatable_range(), prefix("10.0.0.0/24"));
        assert!(!spec.is_ipv6());
    }

    // ---------------------------------------------------------------- shared pools --

    /// Two hosts bridged onto 192.168.2.0/24 as in the lab (disjoint ranges, gateways .14 and
    /// .15, the LAN router as aux .254), each with a default bridge that looks alike, and a
    /// third host on its own subnet in another cluster.
    fn lab() -> Vec<Host> {
        let fleetnet = |range, gw| {
            network(
                "fleetnet",
                "bridge",
                vec![pool(
                    "192.168.2.0/24",
                    Some(range),
                    Some(gw),
                    &[("DefaultGatewayIPv4", "192.168.2.254")],
                )],
            )
        };
        let bridge = network(
            "bridge",
            "bridge",
            vec![pool("172.17.0.0/16", None, Some("172.17.0.1"), &[])],
        );
        let mut lab1 = host("lab1", "lab-a", Some("192.168.2.0/24"));
        lab1.networks = vec![bridge.clone(), fleetnet("192.168.2.0/26", "192.168.2.14")];
        lab1.containers = vec![
            running_static("fleetnet", "web-1", "192.168.2.20"),
            running("fleetnet", "web-2", "192.168.2.1"),
            stopped_static("fleetnet", "stopped-static", "192.168.2.30"),
            running("bridge", "db", "172.17.0.2"),
        ];
        let mut lab2 = host("lab2", "lab-a", Some("192.168.2.0/24"));
        lab2.networks = vec![bridge, fleetnet("192.168.2.64/26", "192.168.2.15")];
        lab2.containers = vec![
            running_static("fleetnet", "web-1", "192.168.2.80"),
            running("fleetnet", "web-2", "192.168.2.64"),
            stopped_static("fleetnet", "stopped-static", "192.168.2.90"),
            running("bridge", "db", "172.17.0.2"),
        ];
        let mut lab3 = host("lab3", "lab-b", Some("192.168.3.0/24"));
        lab3.networks = vec![network(
            "fleetnet",
            "bridge",
            vec![pool(
                "192.168.3.0/24",
                Some("192.168.3.0/25"),
                Some("192.168.3.1"),
                &[("DefaultGatewayIPv4", "192.168.3.254")],
            )],
        )];
        vec![lab1, lab2, lab3]
    }

    fn shared_pool(report: &IpamReport) -> &ClusterPool {
        report
            .pools
            .iter()
            .find(|p| p.subnet == prefix("192.168.2.0/24"))
            .unwrap()
    }

    #[test]
    fn hosts_on_a_labelled_subnet_share_one_pool_and_lookalike_bridges_do_not() {
        let report = IpamReport::from_fleet(&fleet(lab()));
        let summary: Vec<(&str, String, bool, usize)> = report
            .pools
            .iter()
            .map(|p| {
                (
                    p.cluster.as_str(),
                    p.subnet.to_string(),
                    p.is_shared(),
                    p.members.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("lab-a", "172.17.0.0/16".into(), false, 1),
                ("lab-a", "172.17.0.0/16".into(), false, 1),
                ("lab-a", "192.168.2.0/24".into(), true, 2),
                ("lab-b", "192.168.3.0/24".into(), true, 1),
            ]
        );
        // 172.17.0.2 on both hosts is two NATed islands, not a clash.
        assert!(report.pools[0].conflicts.is_empty() && report.pools[1].conflicts.is_empty());
        assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);

        let p = shared_pool(&report);
        let [lab1, lab2] = &p.members[..] else {
            panic!()
        };
        // Each daemon's own view: lab1 reserves .0 and .14; lab2's gateway lies below its range.
        assert_eq!(lab1.counts, counts(64, 2, 2, 1, 59));
        assert_eq!(lab2.counts, counts(64, 0, 2, 1, 61));
        // The LAN's view: lab2's gateway .15 inside lab1's range is taken too.
        assert_eq!(p.counts, counts(128, 3, 4, 2, 119));
        assert_eq!(p.allocations().len(), 6);
        assert_eq!(report.pools_of(1, "fleetnet").count(), 1);
        assert_eq!(report.pools_in("lab-b").count(), 1);
    }

    #[test]
    fn another_hosts_gateway_inside_my_range_is_flagged() {
        let report = IpamReport::from_fleet(&fleet(lab()));
        let p = shared_pool(&report);
        let messages: Vec<String> = p.conflicts.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "192.168.2.15, taken by the gateway of lab2/fleetnet, lies in the ip-range \
                 192.168.2.0/26 of lab1/fleetnet, whose daemon may hand it out"
            ]
        );
        assert_eq!(p.conflicts[0].endpoints(), vec![0, 1]);
        assert_eq!(p.conflicts[0].address(), Some(ip("192.168.2.15")));
        assert_eq!(report.conflict_count(), 1);
    }

    #[test]
    fn next_free_skips_other_hosts_claims_gateways_and_ranges() {
        let mut hosts = lab();
        hosts[1]
            .containers
            .push(stopped_static("fleetnet", "intruder", "192.168.2.2"));
        let report = IpamReport::from_fleet(&fleet(hosts));
        let p = shared_pool(&report);

        // lab1 alone would offer .2, which lab2's stopped container will take back.
        assert_eq!(p.members[0].next_free(1), ips(&["192.168.2.2"]));
        assert_eq!(
            p.next_free(0, 3),
            ips(&["192.168.2.3", "192.168.2.4", "192.168.2.5"])
        );
        let twenty = p.next_free(0, 20);
        assert_eq!(twenty.len(), 20);
        for taken in [
            "192.168.2.14",
            "192.168.2.15",
            "192.168.2.20",
            "192.168.2.30",
        ] {
            assert!(!twenty.contains(&ip(taken)), "{taken} offered");
        }
        assert_eq!(twenty.last(), Some(&ip("192.168.2.25")));
        assert_eq!(p.next_free(1, 1), ips(&["192.168.2.65"]));
        // lab3 is in another cluster: it has no say here.
        assert!(p.next_free(2, 1).is_empty());

        assert!(!p.is_free_for(0, ip("192.168.2.15")));
        assert!(
            !p.is_free_for(0, ip("192.168.2.100")),
            "lab2 may hand it out"
        );
        assert!(!p.is_free_for(0, ip("192.168.2.254")), "the LAN router");
        assert!(!p.is_free_for(0, ip("192.168.2.255")), "broadcast");
        assert!(!p.is_free_for(0, ip("192.168.3.7")), "another subnet");
        assert!(
            p.is_free_for(0, ip("192.168.2.200")),
            "a static outside every range"
        );
        assert!(p.is_free_for(0, ip("192.168.2.3")));
    }

    #[test]
    fn one_address_on_two_hosts_is_a_duplicate() {
        let mut hosts = lab();
        hosts[0]
            .containers
            .push(running_static("fleetnet", "web-3", "192.168.2.200"));
        hosts[1]
            .containers
            .push(stopped_static("fleetnet", "job", "192.168.2.200"));
        let report = IpamReport::from_fleet(&fleet(hosts));
        let dup: Vec<String> = shared_pool(&report)
            .conflicts
            .iter()
            .filter(|c| matches!(c, Conflict::DuplicateAddress { .. }))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            dup,
            vec![
                "192.168.2.200 is taken 2 times: web-3 on lab1 (running, static); \
                 job on lab2 (exited, static, claimed)"
            ]
        );
    }

    #[test]
    fn a_container_inside_another_hosts_range_is_flagged() {
        let mut hosts = lab();
        hosts[1]
            .containers
            .push(running_static("fleetnet", "stray", "192.168.2.40"));
        let report = IpamReport::from_fleet(&fleet(hosts));
        let stray = shared_pool(&report)
            .conflicts
            .iter()
            .find(|c| c.address() == Some(ip("192.168.2.40")))
            .unwrap();
        assert_eq!(
            stray.to_string(),
            "192.168.2.40, taken by stray on lab2 (running, static), lies in the ip-range \
             192.168.2.0/26 of lab1/fleetnet, whose daemon may hand it out"
        );
    }

    #[test]
    fn a_container_on_any_hosts_gateway_or_aux_address_is_flagged() {
        let mut hosts = lab();
        hosts[0].containers.push(running_static(
            "fleetnet",
            "router-squatter",
            "192.168.2.254",
        ));
        hosts[0]
            .containers
            .push(stopped_static("fleetnet", "gw-squatter", "192.168.2.15"));
        let report = IpamReport::from_fleet(&fleet(hosts));
        let collisions: Vec<String> = shared_pool(&report)
            .conflicts
            .iter()
            .filter(|c| matches!(c, Conflict::GatewayOrAuxCollision { .. }))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            collisions,
            vec![
                "gw-squatter on lab1 (exited, static, claimed) has 192.168.2.15, the gateway of lab2/fleetnet",
                "router-squatter on lab1 (running, static) has 192.168.2.254, the aux-address \
                 DefaultGatewayIPv4 of lab1/fleetnet",
                "router-squatter on lab1 (running, static) has 192.168.2.254, the aux-address \
                 DefaultGatewayIPv4 of lab2/fleetnet",
            ]
        );
    }

    #[test]
    fn two_hosts_declaring_one_gateway_share_it_without_a_conflict() {
        // Once reported as "192.168.2.14 is taken 2 times: the gateway of lab1/fleetnet; the
        // gateway of lab2/fleetnet": the shared LAN's own gateway, declared alike on each host.
        let mut hosts = lab();
        hosts[1].networks[1].pools[0].gateway = Some("192.168.2.14".into());
        let report = IpamReport::from_fleet(&fleet(hosts));
        let p = shared_pool(&report);
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
        assert_eq!(report.conflict_count(), 0);
    }

    #[test]
    fn macvlan_networks_on_one_subnet_and_parent_are_shared_without_labels() {
        let macvlan = |range| {
            lan_network(
                "lan",
                "macvlan",
                "parent",
                "eth0",
                vec![pool("10.1.0.0/24", Some(range), Some("10.1.0.1"), &[])],
            )
        };
        let mut a = host("a", "dc", None);
        a.networks = vec![macvlan("10.1.0.0/25")];
        a.containers = vec![running("lan", "x", "10.1.0.2")];
        let mut b = host("b", "dc", None);
        b.networks = vec![macvlan("10.1.0.128/25")];
        b.containers = vec![running("lan", "y", "10.1.0.128")];
        let report = IpamReport::from_fleet(&fleet(vec![a, b]));
        assert_eq!(report.pools.len(), 1);
        let p = &report.pools[0];
        assert_eq!(p.sharing, Sharing::Detected(LanLink::Parent("eth0".into())));
        // One router for all: the same macvlan gateway on both hosts is no clash.
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
        // Network, broadcast and the router.
        assert_eq!(p.counts, counts(256, 3, 2, 0, 251));
        assert_eq!(p.next_free(1, 1), ips(&["10.1.0.129"]));
    }

    #[test]
    fn a_swarm_overlay_seen_from_two_nodes_is_one_allocator() {
        let overlay = NetworkInfo {
            id: "ov1".into(),
            scope: "swarm".into(),
            ..network(
                "mesh",
                "overlay",
                vec![pool("10.0.9.0/24", None, Some("10.0.9.1"), &[])],
            )
        };
        let mut a = host("node1", "swarm", None);
        a.networks = vec![overlay.clone()];
        a.containers = vec![running("mesh", "t1", "10.0.9.2")];
        let mut b = host("node2", "swarm", None);
        b.networks = vec![overlay];
        b.containers = vec![running("mesh", "t2", "10.0.9.3")];
        let report = IpamReport::from_fleet(&fleet(vec![a, b]));
        let p = &report.pools[0];
        assert_eq!(p.sharing, Sharing::Detected(LanLink::Swarm));
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
        assert_eq!(p.counts.used, 2);
        assert_eq!(p.next_free(0, 1), ips(&["10.0.9.4"]));
    }

    #[test]
    fn overlapping_unequal_subnets_in_a_cluster_are_flagged_when_one_is_on_the_lan() {
        let mut hosts = lab();
        hosts[1].networks.push(network(
            "wide",
            "bridge",
            vec![pool("192.168.2.0/23", None, None, &[])],
        ));
        // Host-local lookalikes that overlap never meet: no conflict for these.
        hosts[0].networks.push(network(
            "app",
            "bridge",
            vec![pool("172.18.0.0/16", None, None, &[])],
        ));
        hosts[1].networks.push(network(
            "app",
            "bridge",
            vec![pool("172.18.5.0/24", None, None, &[])],
        ));
        let report = IpamReport::from_fleet(&fleet(hosts));
        let messages: Vec<String> = report.conflicts.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "in cluster lab-a, subnet 192.168.2.0/23 (lab2/wide) overlaps \
                 192.168.2.0/24 (lab1/fleetnet, lab2/fleetnet)"
            ]
        );
        assert_eq!(report.subnet_conflicts_of(shared_pool(&report)).count(), 1);
        assert_eq!(report.conflicts[0].endpoints(), vec![0, 1]);
    }

    #[test]
    fn subnet_labels_that_disagree_with_the_daemon_are_flagged() {
        let lan = |subnet| network("fleetnet", "bridge", vec![pool(subnet, None, None, &[])]);
        let mut wrong = host("wrong", "c", Some("10.3.0.0/24"));
        wrong.networks = vec![lan("10.2.0.0/24")];
        let mut narrow = host("narrow", "c", Some("10.2.0.0/25"));
        narrow.networks = vec![lan("10.2.0.0/24")];
        let mut vlan = host("vlan", "c", Some("10.4.0.0/24"));
        vlan.networks = vec![network(
            "lan",
            "macvlan",
            vec![pool("10.5.0.0/24", None, None, &[])],
        )];
        let nonsense = host("nonsense", "c", Some("banana"));
        let mut unknown = host("unknown", "c", Some("10.9.0.0/24"));
        unknown.synced = false;
        let mut right = host("right", "c", Some("10.2.0.0/24"));
        right.networks = vec![lan("10.2.0.0/24")];
        let report =
            IpamReport::from_fleet(&fleet(vec![wrong, narrow, vlan, nonsense, unknown, right]));
        let labels: Vec<String> = report
            .conflicts
            .iter()
            .filter(|c| matches!(c, Conflict::LabelMismatch { .. }))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            labels,
            vec![
                "wrong is labelled subnet=10.3.0.0/24 but none of its networks has that subnet",
                "narrow is labelled subnet=10.2.0.0/25 but its network fleetnet has 10.2.0.0/24",
                "vlan is labelled subnet=10.4.0.0/24 but its network lan has 10.5.0.0/24",
                "nonsense is labelled subnet=\"banana\", which is not a subnet like 192.168.2.0/24",
            ]
        );
    }

    #[test]
    fn utilisation_and_human_counts() {
        let c = counts(256, 3, 60, 1, 192);
        assert!((c.utilisation() - 0.25).abs() < 1e-12);
        assert_eq!(c.taken(), 64);
        assert_eq!(PoolCounts::default().utilisation(), 0.0);
        assert_eq!(human_count(254), "254");
        assert_eq!(human_count(99_999), "99999");
        assert_eq!(human_count(100_000), "100.0k");
        assert_eq!(human_count(16_777_214), "16.8M");
        assert_eq!(human_count((1 << 64) - 3), "≈2^64");
        assert_eq!(human_count((1 << 63) + 1), "≈2^63");
        assert_eq!(human_count(u128::MAX), "≈2^128");
    }

    // ------------------------------------------------- pools recognised from the networks --

    pub(crate) mod lan_pools {
        use super::*;

        const SUBNET: &str = "10.77.0.0/24";
        const BRIDGE_NAME: &str = "com.docker.network.bridge.name";

        /// A network "lan" on 10.77.0.0/24 with the LAN's router as gateway (.1) and aux (.254).
        fn lan(driver: &str, option: Option<(&str, &str)>, range: &str) -> NetworkInfo {
            let p = pool(
                SUBNET,
                Some(range),
                Some("10.77.0.1"),
                &[("router", "10.77.0.254")],
            );
            match option {
                Some((key, value)) => lan_network("lan", driver, key, value, vec![p]),
                None => network("lan", driver, vec![p]),
            }
        }

        fn macvlan(parent: &str, range: &str) -> NetworkInfo {
            lan("macvlan", Some(("parent", parent)), range)
        }

        /// Hosts d1, d2, … of cluster "lab", one network each.
        fn hosts(networks: Vec<NetworkInfo>) -> Vec<Host> {
            const NAMES: [&str; 4] = ["d1", "d2", "d3", "d4"];
            networks
                .into_iter()
                .zip(NAMES)
                .map(|(net, name)| {
                    let mut h = host(name, "lab", None);
                    h.networks = vec![net];
                    h
                })
                .collect()
        }

        /// (sharing, members as "host/network") of each pool on the subnet.
        fn pools_of(report: &IpamReport) -> Vec<(Sharing, Vec<String>)> {
            report
                .pools
                .iter()
                .filter(|p| p.subnet == prefix(SUBNET))
                .map(|p| {
                    let members = p.members.iter().map(|m| m.member().to_string()).collect();
                    (p.sharing.clone(), members)
                })
                .collect()
        }

        /// How each pool on the subnet is shared, without its members.
        fn sharing_of(report: &IpamReport) -> Vec<Sharing> {
            pools_of(report).into_iter().map(|(s, _)| s).collect()
        }

        fn parent(name: &str) -> Sharing {
            Sharing::Detected(LanLink::Parent(name.into()))
        }

        fn messages(pool: &ClusterPool) -> Vec<String> {
            pool.conflicts.iter().map(ToString::to_string).collect()
        }

        #[test]
        fn macvlan_networks_with_one_subnet_and_parent_name_are_one_detected_pool() {
            let report = IpamReport::from_fleet(&fleet(hosts(vec![
                macvlan("lan0", "10.77.0.0/26"),
                lan("ipvlan", Some(("parent", "lan0")), "10.77.0.64/26"),
            ])));
            assert_eq!(
                pools_of(&report),
                vec![(parent("lan0"), vec!["d1/lan".into(), "d2/lan".into()])]
            );
            // The router, declared alike as gateway and aux by both hosts, is the pool's own.
            assert!(
                report.pools[0].conflicts.is_empty(),
                "{:?}",
                report.pools[0].conflicts
            );
            assert_eq!(report.conflict_count(), 0);
        }

        #[test]
        fn lan_networks_that_name_no_common_link_stay_host_local() {
            let mut all = hosts(vec![
                macvlan("lan0", "10.77.0.0/26"),
                macvlan("eth1", "10.77.0.64/26"),
                lan("macvlan", None, "10.77.0.128/26"),
                lan("bridge", None, "10.77.0.192/26"),
            ]);
            // The same address on each: four islands, no clash.
            for h in &mut all {
                let name = format!("{}-x", h.name);
                h.containers = vec![running_static("lan", &name, "10.77.0.9")];
            }
            let report = IpamReport::from_fleet(&fleet(all));
            assert_eq!(sharing_of(&report), vec![Sharing::Local; 4]);
            assert_eq!(report.conflict_count(), 0);
        }

        #[test]
        fn a_lone_lan_network_shares_with_nobody_and_clusters_never_meet() {
            let mut all = hosts(vec![
                macvlan("lan0", "10.77.0.0/26"),
                macvlan("lan0", "10.77.0.64/26"),
            ]);
            all[1].cluster = "other";
            let report = IpamReport::from_fleet(&fleet(all));
            assert_eq!(sharing_of(&report), vec![Sharing::Local, Sharing::Local]);
        }

        #[test]
        fn bridges_on_one_named_lan_bridge_are_one_detected_pool_and_docker_bridges_are_not() {
            let named = |name: &str, range: &str| lan("bridge", Some((BRIDGE_NAME, name)), range);
            let report = IpamReport::from_fleet(&fleet(hosts(vec![
                named("br0", "10.77.0.0/26"),
                named("br0", "10.77.0.64/26"),
                named("br1", "10.77.0.128/26"),
            ])));
            assert_eq!(
                pools_of(&report),
                vec![
                    (
                        Sharing::Detected(LanLink::Bridge("br0".into())),
                        vec!["d1/lan".into(), "d2/lan".into()]
                    ),
                    (Sharing::Local, vec!["d3/lan".into()]),
                ]
            );

            // docker0 and docker_gwbridge carry a bridge name on every host, alike: NATed
            // islands, never a LAN.
            let docker_bridge = |extra: (&str, &str)| {
                let mut net = lan("bridge", Some((BRIDGE_NAME, "docker0")), "10.77.0.0/26");
                net.options.insert(extra.0.into(), extra.1.into());
                net
            };
            for extra in [
                ("com.docker.network.bridge.default_bridge", "true"),
                ("com.docker.network.bridge.enable_ip_masquerade", "true"),
            ] {
                let report = IpamReport::from_fleet(&fleet(hosts(vec![
                    docker_bridge(extra),
                    docker_bridge(extra),
                ])));
                assert_eq!(
                    sharing_of(&report),
                    vec![Sharing::Local, Sharing::Local],
                    "{extra:?}"
                );
            }
        }

        #[test]
        fn a_subnet_label_joins_what_detection_keeps_apart() {
            let mut all = hosts(vec![
                macvlan("eth0", "10.77.0.0/26"),
                macvlan("ens3", "10.77.0.64/26"),
            ]);
            all[0].subnet_label = Some(SUBNET.into());
            let report = IpamReport::from_fleet(&fleet(all));
            assert_eq!(
                pools_of(&report),
                vec![(Sharing::Labelled, vec!["d1/lan".into(), "d2/lan".into()])]
            );
        }

        #[test]
        fn a_local_subnets_label_keeps_a_hosts_network_out_of_any_pool() {
            let with_local = |fleet: &mut Fleet, endpoint: usize| {
                fleet.endpoints[endpoint].spec.labels.insert(
                    LOCAL_SUBNETS_LABEL.into(),
                    format!("10.99.0.0/16, {SUBNET}"),
                );
            };
            let mut detected = fleet(hosts(vec![
                macvlan("lan0", "10.77.0.0/26"),
                macvlan("lan0", "10.77.0.64/26"),
                macvlan("lan0", "10.77.0.128/26"),
            ]));
            with_local(&mut detected, 2);
            assert_eq!(
                pools_of(&IpamReport::from_fleet(&detected)),
                vec![
                    (parent("lan0"), vec!["d1/lan".into(), "d2/lan".into()]),
                    (Sharing::Local, vec!["d3/lan".into()]),
                ]
            );
            // Of two hosts, one labelled is enough: the other has nobody left to share with.
            with_local(&mut detected, 1);
            assert_eq!(
                sharing_of(&IpamReport::from_fleet(&detected)),
                vec![Sharing::Local; 3]
            );

            // It beats another host's subnet label too, for its own network.
            let mut labelled = hosts(vec![
                lan("bridge", None, "10.77.0.0/26"),
                lan("bridge", None, "10.77.0.64/26"),
            ]);
            labelled[0].subnet_label = Some(SUBNET.into());
            let mut labelled = fleet(labelled);
            with_local(&mut labelled, 1);
            assert_eq!(
                pools_of(&IpamReport::from_fleet(&labelled)),
                vec![
                    (Sharing::Labelled, vec!["d1/lan".into()]),
                    (Sharing::Local, vec!["d2/lan".into()]),
                ]
            );
        }

        #[test]
        fn local_subnets_labels_parse_or_name_the_bad_part() {
            assert_eq!(
                parse_local_subnets(" 10.77.0.9/24 ,fd00::/64,"),
                Ok(vec![prefix("10.77.0.0/24"), prefix("fd00::/64")])
            );
            assert_eq!(
                parse_local_subnets("10.77.0.0/24, lan0"),
                Err(
                    "\"lan0\" is not a subnet; give prefixes like 10.77.0.0/24, separated by \
                     commas"
                        .into()
                )
            );
        }

        #[test]
        fn in_a_detected_pool_containers_still_clash_with_each_other_and_with_gateways() {
            let mut all = hosts(vec![
                macvlan("lan0", "10.77.0.0/26"),
                macvlan("lan0", "10.77.0.64/26"),
            ]);
            all[0].containers = vec![running_static("lan", "a", "10.77.0.10")];
            all[1].containers = vec![
                stopped_static("lan", "b", "10.77.0.10"),
                running_static("lan", "on-router", "10.77.0.254"),
                running_static("lan", "stray", "10.77.0.20"),
            ];
            let report = IpamReport::from_fleet(&fleet(all));
            assert_eq!(pools_of(&report)[0].0, parent("lan0"));
            assert_eq!(
                messages(&report.pools[0]),
                vec![
                    "10.77.0.10 is taken 2 times: a on d1 (running, static); \
                     b on d2 (exited, static, claimed)",
                    "10.77.0.10, taken by b on d2 (exited, static, claimed), lies in the \
                     ip-range 10.77.0.0/26 of d1/lan, whose daemon may hand it out",
                    "10.77.0.20, taken by stray on d2 (running, static), lies in the ip-range \
                     10.77.0.0/26 of d1/lan, whose daemon may hand it out",
                    "on-router on d2 (running, static) has 10.77.0.254, the aux-address router \
                     of d1/lan",
                    "on-router on d2 (running, static) has 10.77.0.254, the aux-address router \
                     of d2/lan",
                ]
            );
        }

        /// d1 hands out 10.77.0.128/26, d2 all of 10.77.0.128/25 around it.
        pub(crate) fn overlapping() -> Fleet {
            let mut all = hosts(vec![
                macvlan("lan0", "10.77.0.128/26"),
                macvlan("lan0", "10.77.0.128/25"),
            ]);
            all[0].containers = vec![running("lan", "a", "10.77.0.130")];
            all[1].containers = vec![
                running("lan", "b", "10.77.0.140"),
                running("lan", "c", "10.77.0.200"),
            ];
            let mut f = fleet(all);
            for ep in &mut f.endpoints {
                ep.link = crate::model::Link::Up;
            }
            f
        }

        pub(crate) const OVERLAP: &str =
            "the ip-ranges of d1 and d2 overlap: 10.77.0.128/26; give each host its own range";

        #[test]
        fn overlapping_ranges_are_one_named_problem_not_one_per_address() {
            let report = IpamReport::from_fleet(&overlapping());
            let p = &report.pools[0];
            assert_eq!(p.sharing, parent("lan0"));
            assert_eq!(messages(p), vec![OVERLAP]);
            assert_eq!(p.conflicts[0].endpoints(), vec![0, 1]);
            assert_eq!(p.conflicts[0].address(), None);
            assert!(
                p.next_free(0, 1).is_empty(),
                "d2 may hand out all of d1's range"
            );
            assert_eq!(
                p.range_overlap_on(0, None)
                    .map(ToString::to_string)
                    .as_deref(),
                Some(OVERLAP)
            );
            assert!(p.range_overlap_on(1, Some(ip("10.77.0.200"))).is_none());
        }

        #[test]
        fn ranges_of_one_swarm_network_never_overlap() {
            let overlay = NetworkInfo {
                id: "ov1".into(),
                scope: "swarm".into(),
                ..network(
                    "mesh",
                    "overlay",
                    vec![pool(SUBNET, None, Some("10.77.0.1"), &[])],
                )
            };
            let report = IpamReport::from_fleet(&fleet(hosts(vec![overlay.clone(), overlay])));
            assert!(
                report.pools[0].conflicts.is_empty(),
                "{:?}",
                report.pools[0].conflicts
            );
        }
    }

    // ------------------------------------------------------------------- properties --

    mod properties {
        use std::net::{Ipv4Addr, Ipv6Addr};

        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::*;

        /// One host's network on a subnet: the pool and who sits where.
        #[derive(Debug, Clone)]
        struct Side {
            range: Option<IpNet>,
            gateway: Option<IpAddr>,
            aux: Vec<IpAddr>,
            /// Running containers, dynamic and static.
            up: Vec<(IpAddr, bool)>,
            /// Stopped containers with a static address.
            claimed: Vec<IpAddr>,
        }

        impl Side {
            fn pool(&self, subnet: IpNet) -> IpamPool {
                IpamPool {
                    subnet: subnet.to_string(),
                    ip_range: self.range.map(|r| r.to_string()),
                    gateway: self.gateway.map(|g| g.to_string()),
                    aux_addresses: self
                        .aux
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (format!("aux{i}"), a.to_string()))
                        .collect(),
                }
            }

            fn containers(&self, tag: &str) -> Vec<Container> {
                let mut out = Vec::new();
                for (i, (ip, fixed)) in self.up.iter().enumerate() {
                    let ip = ip.to_string();
                    let id = format!("{tag}-up-{i}");
                    out.push(if *fixed {
                        running_static("n", &id, &ip)
                    } else {
                        running("n", &id, &ip)
                    });
                }
                for (i, ip) in self.claimed.iter().enumerate() {
                    out.push(stopped_static(
                        "n",
                        &format!("{tag}-down-{i}"),
                        &ip.to_string(),
                    ));
                }
                out
            }

            fn range_or(&self, subnet: IpNet) -> IpNet {
                self.range.unwrap_or(subnet)
            }

            fn gateway_and_aux(&self) -> impl Iterator<Item = IpAddr> + '_ {
                self.gateway.iter().copied().chain(self.aux.iter().copied())
            }

            fn holds(&self, ip: &IpAddr) -> bool {
                self.up.iter().any(|(a, _)| a == ip) || self.claimed.contains(ip)
            }
        }

        /// An address of `subnet` picked by a random number.
        fn pick(subnet: &IpNet, n: u128) -> IpAddr {
            nth_address(subnet, n % prefix_size(subnet)).unwrap()
        }

        fn v4_subnet() -> impl Strategy<Value = IpNet> {
            (any::<u32>(), 20u8..=32).prop_map(|(base, len)| {
                IpNet::new(IpAddr::V4(Ipv4Addr::from(base)), len)
                    .unwrap()
                    .trunc()
            })
        }

        fn v6_subnet() -> impl Strategy<Value = IpNet> {
            (any::<u128>(), 56u8..=128).prop_map(|(base, len)| {
                IpNet::new(IpAddr::V6(Ipv6Addr::from(base)), len)
                    .unwrap()
                    .trunc()
            })
        }

        /// A random side on `subnet`: range anywhere inside (or none), gateway, aux addresses
        /// and containers on random addresses of the subnet, collisions included.
        fn side(subnet: IpNet, max_up: usize) -> impl Strategy<Value = Side> {
            let max_len = subnet.max_prefix_len();
            (
                proptest::option::of((any::<u64>(), 0u8..=6)),
                proptest::option::of(any::<u64>()),
                vec(any::<u64>(), 0..3),
                vec((any::<u64>(), any::<bool>()), 0..max_up),
                vec(any::<u64>(), 0..max_up),
            )
                .prop_map(move |(range, gw, aux, up, claimed)| {
                    let at = |n: u64| pick(&subnet, u128::from(n));
                    Side {
                        range: range.map(|(n, extra)| {
                            let len = (subnet.prefix_len() + extra).min(max_len);
                            IpNet::new(at(n), len).unwrap().trunc()
                        }),
                        gateway: gw.map(at),
                        aux: aux.into_iter().map(at).collect(),
                        up: up.into_iter().map(|(n, fixed)| (at(n), fixed)).collect(),
                        claimed: claimed.into_iter().map(at).collect(),
                    }
                })
        }

        /// Hosts "a" and "b", both labelled with `subnet`, each with its side of it.
        fn shared_fleet(subnet: IpNet, sides: &[Side]) -> IpamReport {
            let hosts = sides
                .iter()
                .zip(["a", "b"])
                .map(|(side, name)| {
                    let mut h = host(name, "c", Some(&subnet.to_string()));
                    h.networks = vec![network("n", "bridge", vec![side.pool(subnet)])];
                    h.containers = side.containers(name);
                    h
                })
                .collect();
            let report = IpamReport::from_fleet(&fleet(hosts));
            assert!(report.bad_pools.is_empty(), "{:?}", report.bad_pools);
            report
        }

        /// The subnet edges Docker never hands out, written out independently.
        fn is_edge(subnet: &IpNet, ip: &IpAddr) -> bool {
            match subnet {
                IpNet::V4(n) => {
                    n.prefix_len() <= 30 && (*ip == n.network() || *ip == n.broadcast())
                }
                IpNet::V6(n) => *ip == n.network(),
            }
        }

        /// Classifies every address of `ranges` by brute force.
        fn oracle_counts(subnet: &IpNet, ranges: &[IpNet], sides: &[Side]) -> PoolCounts {
            let mut c = PoolCounts::default();
            let reserved = |ip: &IpAddr| {
                is_edge(subnet, ip) || sides.iter().any(|s| s.gateway_and_aux().any(|r| r == *ip))
            };
            let used = |ip: &IpAddr| sides.iter().any(|s| s.up.iter().any(|(a, _)| a == ip));
            let claimed = |ip: &IpAddr| sides.iter().any(|s| s.claimed.contains(ip));
            for ip in subnet.hosts_all() {
                let in_range = ranges.iter().any(|r| r.contains(&ip));
                if !in_range {
                    if used(&ip) || claimed(&ip) {
                        c.outside_range += 1;
                    }
                    continue;
                }
                c.range_size += 1;
                if reserved(&ip) {
                    c.reserved += 1;
                } else if used(&ip) {
                    c.used += 1;
                } else if claimed(&ip) {
                    c.claimed += 1;
                } else {
                    c.free += 1;
                }
            }
            c
        }

        /// Every address of a (small) subnet, edges included.
        trait AllAddresses {
            fn hosts_all(&self) -> Vec<IpAddr>;
        }

        impl AllAddresses for IpNet {
            fn hosts_all(&self) -> Vec<IpAddr> {
                (0..prefix_size(self))
                    .filter_map(|i| nth_address(self, i))
                    .collect()
            }
        }

        fn sum(c: &PoolCounts) -> u128 {
            c.used + c.claimed + c.reserved + c.free
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn one_hosts_counts_and_next_free_match_brute_force(
                (subnet, side) in v4_subnet().prop_flat_map(|s| (Just(s), side(s, 24))),
                ask in 0usize..80,
            ) {
                let report = shared_fleet(subnet, std::slice::from_ref(&side));
                let member = &report.pools[0].members[0];
                let range = side.range_or(subnet);
                prop_assert_eq!(sum(&member.counts), member.counts.range_size);
                prop_assert_eq!(member.counts, oracle_counts(&subnet, &[range], std::slice::from_ref(&side)));

                let expected: Vec<IpAddr> = range
                    .hosts_all()
                    .into_iter()
                    .filter(|ip| !is_edge(&subnet, ip) && !side.gateway_and_aux().any(|r| r == *ip) && !side.holds(ip))
                    .take(ask)
                    .collect();
                prop_assert_eq!(member.next_free(ask), expected.clone());
                prop_assert_eq!(report.pools[0].next_free(0, ask), expected);
            }

            #[test]
            fn a_shared_pools_counts_and_next_free_match_brute_force(
                (subnet, sides) in v4_subnet().prop_flat_map(|s| (Just(s), vec(side(s, 12), 2))),
                ask in 0usize..80,
                probes in vec(any::<u64>(), 16),
            ) {
                let report = shared_fleet(subnet, &sides);
                prop_assert_eq!(report.pools.len(), 1);
                let pool = &report.pools[0];
                let ranges = IpNet::aggregate(&sides.iter().map(|s| s.range_or(subnet)).collect());
                prop_assert_eq!(sum(&pool.counts), pool.counts.range_size);
                prop_assert_eq!(pool.counts, oracle_counts(&subnet, &ranges, &sides));
                for m in &pool.members {
                    prop_assert_eq!(sum(&m.counts), m.counts.range_size);
                }

                // Free for host a: nobody's edge, gateway, aux or container, and not in b's range.
                let free_for_a = |ip: &IpAddr| {
                    subnet.contains(ip)
                        && !is_edge(&subnet, ip)
                        && !sides.iter().any(|s| s.gateway_and_aux().any(|r| r == *ip) || s.holds(ip))
                        && !sides[1].range_or(subnet).contains(ip)
                };
                let expected: Vec<IpAddr> = sides[0]
                    .range_or(subnet)
                    .hosts_all()
                    .into_iter()
                    .filter(free_for_a)
                    .take(ask)
                    .collect();
                prop_assert_eq!(pool.next_free(0, ask), expected);

                let taken = sides.iter().flat_map(|s| s.up.iter().map(|(ip, _)| *ip).chain(s.claimed.iter().copied()).chain(s.gateway_and_aux()));
                let probes = probes.iter().map(|n| pick(&subnet, u128::from(*n)));
                for ip in taken.chain(probes) {
                    prop_assert_eq!(pool.is_free_for(0, ip), free_for_a(&ip), "{}", ip);
                }
            }

            #[test]
            fn ipv6_counts_add_up_and_next_free_takes_nothing_taken(
                (subnet, side) in v6_subnet().prop_flat_map(|s| (Just(s), side(s, 24))),
                ask in 0usize..40,
            ) {
                let report = shared_fleet(subnet, std::slice::from_ref(&side));
                let pool = &report.pools[0];
                let member = &pool.members[0];
                let range = side.range_or(subnet);
                let c = member.counts;
                prop_assert_eq!(c.range_size, 1u128 << (128 - u32::from(range.prefix_len())));
                prop_assert_eq!(sum(&c), c.range_size);

                let free = pool.next_free(0, ask);
                prop_assert_eq!(free.len() as u128, c.free.min(ask as u128));
                prop_assert!(free.windows(2).all(|w| w[0] < w[1]));
                for ip in &free {
                    prop_assert!(range.contains(ip));
                    prop_assert!(!is_edge(&subnet, ip));
                    prop_assert!(!side.holds(ip) && !side.gateway_and_aux().any(|r| r == *ip));
                    prop_assert!(pool.is_free_for(0, *ip));
                }
            }
        }
    }
}
