//! The IPAM arithmetic, pool by pool and across hosts, against hand-worked examples.

use super::*;
use crate::EndpointSpec;
use crate::container::NetAttachment;
use crate::container::fixtures::container;
use crate::{Msg, MsgKind, SyncData};

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

fn counts(range_size: u128, reserved: u128, used: u128, claimed: u128, free: u128) -> PoolCounts {
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
            ep.link = crate::Link::Up;
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
            IpNet::V4(n) => n.prefix_len() <= 30 && (*ip == n.network() || *ip == n.broadcast()),
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
