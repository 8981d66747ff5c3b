//! A service of several replicas on the lab: lab1 and lab2 share 192.168.2.0/24 on "fleetnet"
//! (disjoint ip-ranges) and say so in their own engine labels (`subnet=`). What is asserted is
//! read back with the docker CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

use fleetdeck::config::Config;

use crate::actions::QUICK_STOP;
use crate::crash_safe::{held_at, signal};
use crate::deploy::{Service, fleetnet_ip, fleetnet_pool, inspect, write_spec};
use crate::support::{FLEETNET, docker, docker_raw, output_text as text};

const HOSTS: [&str; 2] = ["lab1", "lab2"];

/// The service's images on both hosts, and everything of it removed from both when dropped.
struct Replicated {
    s: Service,
    v1: String,
    v2: String,
}

impl Replicated {
    fn new(prefix: &str) -> Self {
        let s = Service::new(prefix);
        let (v1, v2) = (s.v1.clone(), s.v2.clone());
        // Service tags its images on lab1; lab2 needs them too (there is no registry).
        for tag in [&v1, &v2] {
            docker(&s.lab, "lab2", &["tag", "busybox:local", tag]);
        }
        Self { s, v1, v2 }
    }

    fn spec(&self, image: &str, extra: &str) -> PathBuf {
        write_spec(
            self.s.dir.path(),
            "svc.toml",
            &format!(
                "name = \"{}\"\nimage = \"{image}\"\ncommand = \"{QUICK_STOP}\"\n\
                 network = \"fleetnet\"\nip = \"auto\"\nreplicas = 3\n{}{extra}\n\
                 [placement]\ncluster = \"lab-a\"\n\
                 constraints = [\"engine.labels.subnet == 192.168.2.0/24\"]\n",
                self.s.name,
                if extra.contains("wait_s") {
                    ""
                } else {
                    "wait_s = 20\n"
                }
            ),
        )
    }

    /// Each replica: where it runs, its image, its state, its address, its id.
    fn replicas(&self) -> BTreeMap<String, (String, String, String, String, String)> {
        let mut out = BTreeMap::new();
        for host in HOSTS {
            let names = docker(
                &self.s.lab,
                host,
                &[
                    "ps",
                    "-a",
                    "--filter",
                    &format!("label=fleetdeck.deploy.group={}", self.s.name),
                    "--format",
                    "{{.Names}}",
                ],
            );
            for name in names.lines().filter(|n| !n.contains("--r")) {
                let lab = &self.s.lab;
                out.insert(
                    name.to_string(),
                    (
                        host.to_string(),
                        inspect(lab, host, name, "{{.Config.Image}}"),
                        inspect(lab, host, name, "{{.State.Status}}"),
                        fleetnet_ip(lab, host, name),
                        inspect(lab, host, name, "{{.Id}}"),
                    ),
                );
            }
        }
        out
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.s.run(args)
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        for host in HOSTS {
            let all = docker_raw(
                &self.s.lab,
                host,
                &[
                    "ps",
                    "-aq",
                    "--filter",
                    &format!("label=fleetdeck.deploy.group={}", self.s.name),
                ],
            );
            let ids = String::from_utf8_lossy(&all.stdout).into_owned();
            let mut args = vec!["rm", "-f"];
            args.extend(ids.split_whitespace());
            if args.len() > 2 {
                let _ = docker_raw(&self.s.lab, host, &args);
            }
        }
        for tag in [&self.v1, &self.v2] {
            let _ = docker_raw(&self.s.lab, "lab2", &["rmi", tag]);
        }
    }
}

/// Every replica runs `image`, each at its own address inside its host's ip-range.
fn all_on(
    lab: &Config,
    r: &BTreeMap<String, (String, String, String, String, String)>,
    image: &str,
) {
    assert_eq!(r.len(), 3, "{r:#?}");
    let mut ips = BTreeSet::new();
    for (name, (host, img, state, ip, _)) in r {
        assert_eq!(img, image, "{name}: {r:#?}");
        assert_eq!(state, "running", "{name}: {r:#?}");
        let ip: Ipv4Addr = ip.parse().unwrap_or_else(|_| panic!("{name}: {r:#?}"));
        let (_, range) = fleetnet_pool(lab, host);
        assert!(range.contains(&ip), "{name} {ip} outside {host}'s {range}");
        ips.insert(ip);
    }
    assert_eq!(ips.len(), 3, "distinct addresses: {r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_spread_over_two_hosts_roll_over_in_batches_and_roll_back_together() {
    let _fleetnet = FLEETNET.lock().await;
    let r = Replicated::new("svc");
    let (lab, name) = (&r.s.lab, &r.s.name);

    // Three replicas over lab1 and lab2, by their engine labels, each with its own address.
    let out = r.run(&["deploy", r.spec(&r.v1, "").to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("service {name}: 3 replicas (spread; ")),
        "{}",
        text(&out)
    );
    let first = r.replicas();
    all_on(lab, &first, &r.v1);
    let hosts: BTreeSet<&str> = first.values().map(|(h, ..)| h.as_str()).collect();
    assert_eq!(hosts.len(), 2, "spread over both hosts: {first:#?}");

    // An update: every replica, one at a time, each keeping its host and address.
    let out = r.run(&["deploy", r.spec(&r.v2, "").to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second = r.replicas();
    all_on(lab, &second, &r.v2);
    for (n, (host, _, _, ip, _)) in &second {
        assert_eq!((host, ip), (&first[n].0, &first[n].3), "{n} kept its place");
    }

    // Rollback of the service: every replica back on v1.
    let out = r.run(&["rollback", name, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let third = r.replicas();
    all_on(lab, &third, &r.v1);

    // An update whose image fails its healthcheck: the first batch is rolled back, the
    // rollout stops, and the others are never touched.
    let failing = r.spec(
        &r.v2,
        "wait_s = 8\n[healthcheck]\ncommand = \"false\"\ninterval_s = 1\ntimeout_s = 1\nretries = 1\n",
    );
    let out = r.run(&["deploy", failing.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains(&format!("ROLLED BACK: {name}-1 on "))
            && report.contains("batch 1 of 3")
            && report.contains(&format!("{name}-2, {name}-3 as they were")),
        "{report}"
    );
    let fourth = r.replicas();
    all_on(lab, &fourth, &r.v1);
    for n in [format!("{name}-2"), format!("{name}-3")] {
        assert_eq!(fourth[&n].4, third[&n].4, "{n} was not touched");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_killed_mid_replica_is_finished_by_deploy_or_undone_by_rollback() {
    let _fleetnet = FLEETNET.lock().await;
    let r = Replicated::new("svc-kill");
    let (lab, name) = (&r.s.lab, &r.s.name);
    let out = r.run(&["deploy", r.spec(&r.v1, "").to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = r.replicas();
    all_on(lab, &before, &r.v1);

    // Killed between the first replica's create and start.
    let v2 = r.spec(&r.v2, "");
    let child = held_at(
        &r.s,
        &["deploy", v2.to_str().unwrap(), "--yes"],
        "deploy:before-start",
    );
    signal(&child, libc::SIGKILL);
    let _ = child.wait_with_output();
    let cut = r.replicas();
    let untouched: Vec<&String> = cut
        .iter()
        .filter(|(n, v)| v.4 == before[*n].4)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(untouched.len(), 2, "one replica was under way: {cut:#?}");

    // The next deploy finishes that replica, then the others.
    let out = r.run(&["deploy", v2.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("first, the interrupted deploy"),
        "{}",
        text(&out)
    );
    let after = r.replicas();
    all_on(lab, &after, &r.v2);
    for (n, (host, _, _, ip, _)) in &after {
        assert_eq!(
            (host, ip),
            (&before[n].0, &before[n].3),
            "{n} kept its place"
        );
    }

    // Killed again, on the way back to v1; rollback undoes what it did and no more.
    let v1 = r.spec(&r.v1, "");
    let child = held_at(
        &r.s,
        &["deploy", v1.to_str().unwrap(), "--yes"],
        "deploy:before-start",
    );
    signal(&child, libc::SIGKILL);
    let _ = child.wait_with_output();
    let out = r.run(&["rollback", name, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let back = r.replicas();
    all_on(lab, &back, &r.v2);
    for (n, v) in &back {
        if n != &format!("{name}-1") {
            assert_eq!(v.4, after[n].4, "{n} was not touched");
        }
    }
}
