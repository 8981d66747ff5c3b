//! IP pools against real daemons: the view's counts equal what `docker network inspect` and
//! `docker inspect` imply (computed here independently, with plain integer maths), and a static
//! address given on two hosts of one LAN is flagged within 2 s.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use fleetdeck::model::ipam::{Conflict, IpamReport};

use crate::support::{Harness, docker, lab_config, unique};

fn ip(s: &str) -> u32 {
    u32::from(
        s.parse::<Ipv4Addr>()
            .unwrap_or_else(|_| panic!("not an IPv4 address: {s:?}")),
    )
}

/// Addresses of a CIDR block, as integers.
fn block(cidr: &str) -> (u32, u32) {
    let (addr, len) = cidr.split_once('/').unwrap();
    let len: u32 = len.parse().unwrap();
    let size = 1u32 << (32 - len);
    let base = ip(addr) & !(size - 1);
    (base, base + size - 1)
}

struct Expected {
    range: u128,
    reserved: u128,
    used: u128,
    claimed: u128,
    free: u128,
}

/// What `docker network inspect fleetnet` and `docker inspect` imply for the pool formed by the
/// fleetnet networks of `members` (one LAN shared by those hosts).
fn expected(config: &fleetdeck::config::Config, members: &[&str]) -> Expected {
    let mut range = BTreeSet::new();
    let mut special = BTreeSet::new();
    let mut running = BTreeSet::new();
    let mut stopped_static = BTreeSet::new();
    for ep in members {
        let ipam = docker(
            config,
            ep,
            &[
                "network",
                "inspect",
                "fleetnet",
                "--format",
                "{{json .IPAM.Config}}",
            ],
        );
        let cfg: serde_json::Value = serde_json::from_str(&ipam).unwrap();
        let cfg = &cfg[0];
        let (sub_lo, sub_hi) = block(cfg["Subnet"].as_str().unwrap());
        special.extend([sub_lo, sub_hi, ip(cfg["Gateway"].as_str().unwrap())]);
        for aux in cfg["AuxiliaryAddresses"].as_object().into_iter().flatten() {
            special.insert(ip(aux.1.as_str().unwrap()));
        }
        let (lo, hi) = block(cfg["IPRange"].as_str().unwrap());
        range.extend(lo..=hi);
        let ids = docker(config, ep, &["ps", "-aq", "--filter", "network=fleetnet"]);
        for id in ids.lines() {
            let out = docker(
                config,
                ep,
                &[
                    "inspect",
                    id,
                    "--format",
                    "{{.State.Running}} {{json .NetworkSettings.Networks.fleetnet}}",
                ],
            );
            let (state, net) = out.split_once(' ').unwrap();
            let net: serde_json::Value = serde_json::from_str(net).unwrap();
            if state == "true" {
                running.insert(ip(net["IPAddress"].as_str().unwrap()));
            } else if let Some(fixed) = net["IPAMConfig"]["IPv4Address"]
                .as_str()
                .filter(|s| !s.is_empty())
            {
                stopped_static.insert(ip(fixed));
            }
        }
    }
    let reserved: BTreeSet<u32> = special.intersection(&range).copied().collect();
    let used: BTreeSet<u32> = running
        .iter()
        .filter(|a| range.contains(a) && !reserved.contains(a))
        .copied()
        .collect();
    let claimed = stopped_static
        .iter()
        .filter(|a| range.contains(a) && !reserved.contains(a) && !used.contains(a))
        .count();
    let n = |x: usize| x as u128;
    Expected {
        range: n(range.len()),
        reserved: n(reserved.len()),
        used: n(used.len()),
        claimed: n(claimed),
        free: n(range.len() - reserved.len() - used.len() - claimed),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_counts_match_what_docker_inspect_implies() {
    let _fleetnet = crate::support::FLEETNET.lock().await;
    let config = lab_config(&["lab1", "lab2", "lab3"]);
    // A stopped dynamic container holds nothing; a stopped static one claims its address.
    let dynamic_stopped = unique("dyn-stopped");
    docker(
        &config,
        "lab3",
        &[
            "create",
            "--network",
            "fleetnet",
            "--name",
            &dynamic_stopped,
            "busybox:local",
            "true",
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("synced", Duration::from_secs(20), |f| {
        f.endpoints.iter().all(|e| e.is_up())
    })
    .await;
    let report = IpamReport::from_fleet(&h.fleet);
    for (cluster, subnet, members) in [
        ("lab-a", "192.168.2.0/24", vec!["lab1", "lab2"]),
        ("lab-b", "192.168.3.0/24", vec!["lab3"]),
    ] {
        let pool = report
            .pools
            .iter()
            .find(|p| p.cluster == cluster && p.subnet.to_string() == subnet)
            .unwrap_or_else(|| panic!("no pool {subnet} in {cluster}"));
        assert_eq!(
            pool.members.len(),
            members.len(),
            "{subnet}: one pool across {members:?}"
        );
        let want = expected(&config, &members);
        let c = &pool.counts;
        assert_eq!(
            (c.range_size, c.reserved, c.used, c.claimed, c.free),
            (
                want.range,
                want.reserved,
                want.used,
                want.claimed,
                want.free
            ),
            "{subnet} in {cluster}: (range, reserved, used, claimed, free)"
        );
        assert!(
            c.used > 0 && c.claimed > 0,
            "the fixture exercises used and claimed"
        );
    }
    docker(&config, "lab3", &["rm", "-f", &dynamic_stopped]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_static_ip_on_two_hosts_of_a_lan_is_a_conflict_within_two_seconds() {
    let _fleetnet = crate::support::FLEETNET.lock().await;
    let config = lab_config(&["lab1", "lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("synced", Duration::from_secs(20), |f| {
        f.endpoints.iter().all(|e| e.is_up())
    })
    .await;
    let dup: std::net::IpAddr = "192.168.2.40".parse().unwrap();
    let (a, b) = (unique("dup-a"), unique("dup-b"));
    let run = |ep: &str, name: &str| {
        docker(
            &config,
            ep,
            &[
                "run",
                "-d",
                "--network",
                "fleetnet",
                "--ip",
                "192.168.2.40",
                "--name",
                name,
                "busybox:local",
                "sleep",
                "300",
            ],
        );
    };
    run("lab1", &a);
    run("lab2", &b);
    let second_started = Instant::now();
    h.wait_for("duplicate address flagged", Duration::from_secs(2), |f| {
        IpamReport::from_fleet(f)
            .pools
            .iter()
            .flat_map(|p| p.conflicts.iter())
            .any(|c| matches!(c, Conflict::DuplicateAddress { ip, .. } if *ip == dup))
    })
    .await;
    eprintln!(
        "conflict flagged {:?} after the second container started",
        second_started.elapsed()
    );

    // What a stopped container claims, and what any host holds, is never offered as free.
    let report = IpamReport::from_fleet(&h.fleet);
    let pool = report
        .pools
        .iter()
        .find(|p| p.subnet.to_string() == "192.168.2.0/24")
        .unwrap();
    let lab1 = h.fleet.endpoint_by_name("lab1").unwrap().0;
    let lab2 = h.fleet.endpoint_by_name("lab2").unwrap().0;
    let offered: Vec<std::net::IpAddr> = pool
        .next_free(lab1, 64)
        .into_iter()
        .chain(pool.next_free(lab2, 64))
        .collect();
    assert!(!offered.is_empty());
    for taken in [
        "192.168.2.30",
        "192.168.2.90",
        "192.168.2.40",
        "192.168.2.20",
        "192.168.2.80",
        "192.168.2.14",
        "192.168.2.65",
    ] {
        let taken: std::net::IpAddr = taken.parse().unwrap();
        assert!(!offered.contains(&taken), "{taken} offered as free");
        assert!(
            !pool.is_free_for(lab1, taken) && !pool.is_free_for(lab2, taken),
            "{taken} free?"
        );
    }
    // The triage view lists it.
    let items = fleetdeck::model::triage::triage(&h.fleet, chrono::Utc::now());
    assert!(items.iter().any(
        |i| i.problem == fleetdeck::model::triage::Problem::IpConflict
            && i.container == "192.168.2.40"
    ));
    docker(&config, "lab1", &["rm", "-f", &a]);
    docker(&config, "lab2", &["rm", "-f", &b]);
}
