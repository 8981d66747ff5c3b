//! Allocations: which address each container holds or claims in a pool.

use super::*;

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
pub(super) fn holds_current_address(state: ContainerState) -> bool {
    matches!(
        state,
        ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
    )
}

/// The addresses `container` uses or claims on network `network` inside `subnet`.
pub(super) fn allocations_of(
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
