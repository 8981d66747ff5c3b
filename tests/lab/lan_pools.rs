//! LAN pools recognised from the networks themselves, on real daemons: macvlan networks on
//! lab1 and lab3 with one subnet and one parent interface (`fdlanN`, which `scripts/lab.sh`
//! makes in every daemon's namespace) are one shared pool without any `subnet` label. The
//! config puts the two in a cluster of their own, so other tests' views of lab1 and lab3 never
//! see it. Docker takes one macvlan network per parent: each test has its own.

use std::net::IpAddr;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::config::Config;
use fleetdeck::model::Fleet;
use fleetdeck::model::ipam::{ClusterPool, Conflict, IpamReport, LanLink, Sharing};
use fleetdeck::model::triage::{Problem, triage};

use crate::support::{
    Harness, RemoveOnDrop, docker, docker_raw, lab_config, lab_url, unique, write_config,
};

const CLUSTER: &str = "lan-test";

/// lab1 and lab3 in a cluster of their own, without labels.
fn lan_config() -> Config {
    let mut config = lab_config(&["lab1", "lab3"]);
    for ep in &mut config.endpoints {
        ep.cluster = CLUSTER.into();
        ep.labels.clear();
    }
    config
}

/// A network on one daemon, removed with every container on it when dropped, and before it is
/// made, should a killed run have left it behind.
struct LanNet {
    config: Config,
    endpoint: &'static str,
    name: &'static str,
}

impl LanNet {
    fn create(config: &Config, endpoint: &'static str, name: &'static str, args: &[&str]) -> Self {
        let net = Self {
            config: config.clone(),
            endpoint,
            name,
        };
        net.remove();
        let mut create = vec!["network", "create"];
        create.extend(args);
        create.push(name);
        docker(config, endpoint, &create);
        net
    }

    fn remove(&self) {
        let filter = format!("network={}", self.name);
        let out = docker_raw(
            &self.config,
            self.endpoint,
            &["ps", "-aq", "--filter", &filter],
        );
        let ids = String::from_utf8_lossy(&out.stdout).into_owned();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut rm = vec!["rm", "-f"];
            rm.extend(ids);
            let _ = docker_raw(&self.config, self.endpoint, &rm);
        }
        let _ = docker_raw(&self.config, self.endpoint, &["network", "rm", self.name]);
    }
}

impl Drop for LanNet {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The same network on lab1 and lab3: one driver and options (`driver`), subnet, gateway and
/// aux address, each host with its own `--ip-range`.
fn lan_on_both(
    config: &Config,
    name: &'static str,
    driver: &[&str],
    subnet: &str,
    ranges: [&str; 2],
) -> [LanNet; 2] {
    let prefix = subnet.trim_end_matches(".0/24");
    let gateway = format!("{prefix}.1");
    let aux = format!("router={prefix}.254");
    [("lab1", ranges[0]), ("lab3", ranges[1])].map(|(endpoint, range)| {
        let mut args = driver.to_vec();
        args.extend([
            "--subnet",
            subnet,
            "--ip-range",
            range,
            "--gateway",
            &gateway,
            "--aux-address",
            &aux,
        ]);
        LanNet::create(config, endpoint, name, &args)
    })
}

fn pool_on<'a>(report: &'a IpamReport, subnet: &str) -> Option<&'a ClusterPool> {
    report
        .pools
        .iter()
        .find(|p| p.cluster == CLUSTER && p.subnet.to_string() == subnet)
}

/// Both hosts' networks on `subnet`, gathered into one pool.
fn both_in_one_pool(fleet: &Fleet, subnet: &str) -> bool {
    pool_on(&IpamReport::from_fleet(fleet), subnet).is_some_and(|p| p.members.len() == 2)
}

fn conflicts_on(fleet: &Fleet, subnet: &str) -> Vec<String> {
    pool_on(&IpamReport::from_fleet(fleet), subnet)
        .map(|p| p.conflicts.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// Triage's IP conflict lines about `subnet`'s addresses or naming it.
fn triage_on(fleet: &Fleet, prefix: &str) -> Vec<String> {
    triage(fleet, chrono::Utc::now())
        .into_iter()
        .filter(|i| i.problem == Problem::IpConflict && i.detail.contains(prefix))
        .map(|i| i.detail)
        .collect()
}

fn run_on(config: &Config, endpoint: &str, network: &str, name: &str, ip: &str) {
    docker(
        config,
        endpoint,
        &[
            "run",
            "-d",
            "--network",
            network,
            "--ip",
            ip,
            "--name",
            name,
            "busybox:local",
            "sleep",
            "300",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macvlan_networks_on_one_lan_are_one_pool_whose_gateway_is_no_conflict_but_twins_are() {
    const SUBNET: &str = "10.77.101.0/24";
    const PARENT: &str = "fdlan0";
    let config = lan_config();
    let _nets = lan_on_both(
        &config,
        "fdlan-detect",
        &["-d", "macvlan", "-o", &format!("parent={PARENT}")],
        SUBNET,
        ["10.77.101.0/26", "10.77.101.64/26"],
    );
    let mut h = Harness::start(&config);
    h.wait_for("one pool on both hosts", Duration::from_secs(20), |f| {
        both_in_one_pool(f, SUBNET)
    })
    .await;
    let report = IpamReport::from_fleet(&h.fleet);
    let pool = pool_on(&report, SUBNET).unwrap();
    assert_eq!(
        pool.sharing,
        Sharing::Detected(LanLink::Parent(PARENT.into()))
    );
    assert!(pool.is_shared());
    // Gateway .1 and aux .254, declared alike on both hosts: the pool's own.
    assert_eq!(conflicts_on(&h.fleet, SUBNET), Vec::<String>::new());
    assert_eq!(triage_on(&h.fleet, "10.77.101."), Vec::<String>::new());
    let router: IpAddr = "10.77.101.254".parse().unwrap();
    assert!(!pool.is_free_for(0, router) && !pool.is_free_for(1, router));

    // One static address on both hosts: each daemon allows it, the LAN does not.
    let (mut on1, mut on3) = (
        RemoveOnDrop::new(&config, "lab1"),
        RemoveOnDrop::new(&config, "lab3"),
    );
    let (a, b) = (on1.add(unique("lan-a")), on3.add(unique("lan-b")));
    run_on(&config, "lab1", "fdlan-detect", &a, "10.77.101.10");
    run_on(&config, "lab3", "fdlan-detect", &b, "10.77.101.10");
    let twin: IpAddr = "10.77.101.10".parse().unwrap();
    let flagged = h
        .wait_for("the twin address flagged", Duration::from_secs(5), |f| {
            pool_on(&IpamReport::from_fleet(f), SUBNET).is_some_and(|p| {
                p.conflicts
                    .iter()
                    .any(|c| matches!(c, Conflict::DuplicateAddress { ip, .. } if *ip == twin))
            })
        })
        .await;
    eprintln!("duplicate flagged {flagged:?} after the second container was started");
    // Flagged as soon as the second is created (it claims the address); both running next.
    let duplicate = format!(
        "10.77.101.10 is taken 2 times: {a} on lab1 (running, static); {b} on lab3 (running, static)"
    );
    h.wait_for("both twins running", Duration::from_secs(10), |f| {
        conflicts_on(f, SUBNET).contains(&duplicate)
    })
    .await;
    let conflicts = conflicts_on(&h.fleet, SUBNET);
    assert!(conflicts.contains(&duplicate), "{conflicts:#?}");
    // .10 also lies in lab1's range, which lab3's container does not keep lab1 from handing out.
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    assert!(triage_on(&h.fleet, "10.77.101.").contains(&duplicate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridges_on_a_named_lan_bridge_with_one_gateway_are_one_pool_without_a_false_conflict() {
    // The set-up of the issue: two hosts declare one LAN subnet, gateway and aux address on a
    // bridge of one name (each daemon has its own namespace, so each its own fdlanbr).
    const SUBNET: &str = "10.77.103.0/24";
    let config = lan_config();
    let _nets = lan_on_both(
        &config,
        "fdlan-bridge",
        &[
            "-d",
            "bridge",
            "-o",
            "com.docker.network.bridge.name=fdlanbr",
        ],
        SUBNET,
        ["10.77.103.0/26", "10.77.103.64/26"],
    );
    let mut h = Harness::start(&config);
    h.wait_for("one pool on both hosts", Duration::from_secs(20), |f| {
        both_in_one_pool(f, SUBNET)
    })
    .await;
    let report = IpamReport::from_fleet(&h.fleet);
    assert_eq!(
        pool_on(&report, SUBNET).map(|p| &p.sharing),
        Some(&Sharing::Detected(LanLink::Bridge("fdlanbr".into())))
    );
    assert_eq!(conflicts_on(&h.fleet, SUBNET), Vec::<String>::new());
    assert_eq!(triage_on(&h.fleet, "10.77.103."), Vec::<String>::new());
}

/// The dashboard's drill-down of the pool on `subnet`, as text.
fn pool_detail(config: &Config, fleet: &Fleet, subnet: &str) -> String {
    let mut app = fleetdeck::app::App::new(config, fleetdeck::ui::Theme::monochrome());
    app.fleet = fleet.clone();
    let key = |app: &mut fleetdeck::app::App, code| {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    };
    key(&mut app, KeyCode::Char('6'));
    key(&mut app, KeyCode::Char('/'));
    for c in subnet.chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let (w, h) = (120, 40);
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("test terminal");
    app.prepare_frame(w, h);
    term.draw(|f| app.draw(f)).expect("draws");
    fleetdeck::ui::buffer_to_text(term.backend().buffer())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_ip_ranges_are_named_in_the_pool_detail_triage_and_by_deploy() {
    const SUBNET: &str = "10.77.102.0/24";
    const PARENT: &str = "fdlan1";
    const OVERLAP: &str = "the ip-ranges of lab1 and lab3 overlap: 10.77.102.128/26; give each \
                           host its own range";
    let config = lan_config();
    // lab3 hands out all of .128/25, lab1's .128/26 included.
    let _nets = lan_on_both(
        &config,
        "fdlan-overlap",
        &["-d", "macvlan", "-o", &format!("parent={PARENT}")],
        SUBNET,
        ["10.77.102.128/26", "10.77.102.128/25"],
    );
    let mut h = Harness::start(&config);
    h.wait_for("one pool on both hosts", Duration::from_secs(20), |f| {
        both_in_one_pool(f, SUBNET)
    })
    .await;
    assert_eq!(conflicts_on(&h.fleet, SUBNET), vec![OVERLAP]);
    assert_eq!(triage_on(&h.fleet, "10.77.102."), vec![OVERLAP]);

    let detail = pool_detail(&config, &h.fleet, SUBNET);
    assert!(detail.contains("shared (detected)"), "{detail}");
    assert!(
        detail.contains(&format!("detected: macvlan/ipvlan on parent {PARENT}")),
        "{detail}"
    );
    assert!(detail.contains(&format!("✖ {OVERLAP}")), "{detail}");

    // Deploy with ip = "auto" on lab1: the overlap is the cause, and nothing is created.
    let dir = tempfile::tempdir().unwrap();
    let (url1, url3) = (lab_url(&config, "lab1"), lab_url(&config, "lab3"));
    let file = write_config(
        dir.path(),
        &[("lab1", &url1, CLUSTER), ("lab3", &url3, CLUSTER)],
    );
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("lan-svc"));
    let spec = dir.path().join("svc.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"{name}\"\nimage = \"busybox:local\"\ncommand = \"sleep 300\"\n\
             network = \"fdlan-overlap\"\nip = \"auto\"\n"
        ),
    )
    .unwrap();
    let out = crate::support::fleetdeck(
        &file,
        &dir.path().join("audit.jsonl"),
        &["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"],
    );
    let text = crate::support::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "ip: {OVERLAP} (no free address left in fdlan-overlap's range 10.77.102.128/26 on \
             lab1)"
        )),
        "{text}"
    );
    let filter = format!("name={name}");
    assert_eq!(
        docker(&config, "lab1", &["ps", "-aq", "--filter", &filter]),
        "",
        "nothing was created"
    );
}
