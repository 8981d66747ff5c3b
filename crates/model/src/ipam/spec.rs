//! Pool specs: an IPAM pool as Docker describes it, parsed, and the prefix arithmetic
//! every count is computed with.

use super::*;

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
    pub(super) fn gateway_or_aux(&self, ip: IpAddr) -> Option<Reservation> {
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
pub(super) fn intersection(a: &IpNet, b: &IpNet) -> Option<IpNet> {
    if a.contains(b) {
        Some(*b)
    } else if b.contains(a) {
        Some(*a)
    } else {
        None
    }
}

/// Number of addresses in a prefix. Saturates only for the whole IPv6 space (2^128).
pub(super) fn prefix_size(net: &IpNet) -> u128 {
    match net {
        IpNet::V4(n) => u128::from(n.broadcast().saturating_sub(n.network())) + 1,
        IpNet::V6(n) => n.broadcast().saturating_sub(n.network()).saturating_add(1),
    }
}

/// The address `offset` places after the start of `net`, if it is still inside.
pub(super) fn nth_address(net: &IpNet, offset: u128) -> Option<IpAddr> {
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
pub(super) fn offset_in(net: &IpNet, ip: IpAddr) -> Option<u128> {
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V4(a)) if n.contains(&a) => {
            Some(u128::from(a.saturating_sub(n.network())))
        }
        (IpNet::V6(n), IpAddr::V6(a)) if n.contains(&a) => Some(a.saturating_sub(n.network())),
        _ => None,
    }
}
