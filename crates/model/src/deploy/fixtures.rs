//! A small lab-like fleet: lab1 and lab2 share 192.168.2.0/24 on "fleetnet" with disjoint
//! ranges, lab3 is in another cluster.

use std::collections::BTreeMap;

use super::{
    DEFAULT_WAIT_S, DeploySpec, Deployer, IpChoice, Placement, RestartPolicy, RevisionInfo,
    RunOptions, revision,
};
use crate::EndpointSpec;
use crate::container::fixtures::container;
use crate::container::{NetAttachment, PortBinding};
use crate::endpoint::{DaemonInfo, IpamPool, NetworkInfo};
use crate::{ContainerState, Endpoint, Fleet, ImageInfo, Link};

pub fn endpoint_spec(name: &str, cluster: &str, labels: &[(&str, &str)]) -> EndpointSpec {
    let mut s = EndpointSpec::from_url(Some(name), "tcp://192.0.2.1:2375").unwrap();
    s.cluster = cluster.into();
    s.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    s
}

fn fleetnet(range: &str, gw: &str) -> NetworkInfo {
    NetworkInfo {
        id: format!("id-{range}"),
        name: "fleetnet".into(),
        driver: "bridge".into(),
        scope: "local".into(),
        pools: vec![IpamPool {
            subnet: "192.168.2.0/24".into(),
            ip_range: Some(range.into()),
            gateway: Some(gw.into()),
            aux_addresses: [("DefaultGatewayIPv4".to_string(), "192.168.2.254".into())].into(),
        }],
        ..NetworkInfo::default()
    }
}

fn bridge() -> NetworkInfo {
    NetworkInfo {
        id: "bridge".into(),
        name: "bridge".into(),
        driver: "bridge".into(),
        scope: "local".into(),
        pools: vec![IpamPool {
            subnet: "172.17.0.0/16".into(),
            gateway: Some("172.17.0.1".into()),
            ..IpamPool::default()
        }],
        ..NetworkInfo::default()
    }
}

pub fn on_fleetnet(
    id: &str,
    name: &str,
    state: ContainerState,
    ip: &str,
    fixed: bool,
) -> crate::Container {
    let mut c = container(id, name, state);
    c.networks = vec![NetAttachment {
        network: "fleetnet".into(),
        ipv4: (state == ContainerState::Running).then(|| ip.to_string()),
        static_ipv4: fixed.then(|| ip.to_string()),
        ..NetAttachment::default()
    }];
    c
}

fn up(ep: &mut Endpoint, running: usize) {
    ep.link = Link::Up;
    ep.synced = true;
    ep.info = Some(DaemonInfo {
        cpus: 2,
        memory_bytes: 1 << 33,
        ..DaemonInfo::default()
    });
    ep.images = vec![ImageInfo {
        id: "sha256:aaaa".into(),
        tags: vec!["busybox:local".into()],
        ..ImageInfo::default()
    }];
    for i in 0..running {
        let c = container(
            &format!("{}-busy-{i}", ep.name()),
            &format!("busy-{i}"),
            ContainerState::Running,
        );
        ep.containers.insert(c.id.clone(), c);
    }
}

/// lab1 (range .0/26, 3 running besides web-1 .20 and db on 5432), lab2 (range .64/26,
/// 1 running: .64 used), lab3 (cluster lab-b).
pub fn lab() -> Fleet {
    let mut fleet = Fleet::new([
        endpoint_spec("lab1", "lab-a", &[("subnet", "192.168.2.0/24")]),
        endpoint_spec("lab2", "lab-a", &[("subnet", "192.168.2.0/24")]),
        endpoint_spec("lab3", "lab-b", &[("subnet", "192.168.3.0/24")]),
    ]);
    let [lab1, lab2, lab3] = &mut fleet.endpoints[..] else {
        unreachable!()
    };
    up(lab1, 3);
    lab1.networks = vec![bridge(), fleetnet("192.168.2.0/26", "192.168.2.14")];
    let web = on_fleetnet("w1", "web-1", ContainerState::Running, "192.168.2.20", true);
    let mut db = container("db1", "db", ContainerState::Running);
    db.ports = vec![PortBinding {
        private: 5432,
        public: Some(5432),
        host_ip: Some("0.0.0.0".into()),
        proto: "tcp".into(),
    }];
    // A stopped container on lab1 claims an address of lab2's range.
    let claim = on_fleetnet(
        "c1",
        "claims-66",
        ContainerState::Exited,
        "192.168.2.66",
        true,
    );
    for c in [web, db, claim] {
        lab1.containers.insert(c.id.clone(), c);
    }
    up(lab2, 1);
    lab2.networks = vec![bridge(), fleetnet("192.168.2.64/26", "192.168.2.65")];
    let dynamic = on_fleetnet(
        "d2",
        "web-2",
        ContainerState::Running,
        "192.168.2.64",
        false,
    );
    lab2.containers.insert(dynamic.id.clone(), dynamic);
    up(lab3, 0);
    lab3.networks = vec![bridge()];
    fleet
}

pub fn spec(name: &str) -> DeploySpec {
    DeploySpec {
        name: name.into(),
        image: "busybox:local".into(),
        command: vec![],
        env: BTreeMap::new(),
        labels: BTreeMap::new(),
        ports: vec![],
        network: Some("fleetnet".into()),
        ip: IpChoice::Auto,
        restart: RestartPolicy::No,
        healthcheck: None,
        nano_cpus: None,
        memory_bytes: None,
        placement: Placement::default(),
        wait_s: DEFAULT_WAIT_S,
        networks: Vec::new(),
        run: RunOptions::default(),
        replicas: None,
        batch: 1,
    }
}

pub fn labels_for(service: &str, revision: u32, image: &str) -> BTreeMap<String, String> {
    RevisionInfo {
        service: service.into(),
        revision,
        image: image.into(),
        spec_digest: "abc".into(),
        at: deployer().at,
        by: "ops@deck".into(),
    }
    .labels()
}

/// On lab1: `service` live at revision `live` (busybox:vN, .30) and stopped kept revisions.
pub fn with_history(fleet: &mut Fleet, service: &str, live: u32, kept: &[u32]) {
    let lab1 = &mut fleet.endpoints[0];
    let ip = "192.168.2.30";
    let mut c = on_fleetnet("live", service, ContainerState::Running, ip, true);
    c.labels = labels_for(service, live, &format!("busybox:v{live}"));
    c.image = format!("busybox:v{live}");
    lab1.containers.insert(c.id.clone(), c);
    for r in kept {
        let name = revision::kept_name(service, *r);
        let mut k = on_fleetnet(&format!("k{r}"), &name, ContainerState::Exited, ip, true);
        k.labels = labels_for(service, *r, &format!("busybox:v{r}"));
        lab1.containers.insert(k.id.clone(), k);
    }
}

pub fn deployer() -> Deployer {
    use chrono::TimeZone;
    Deployer {
        who: "ops@deck".into(),
        at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .single()
            .unwrap(),
    }
}
