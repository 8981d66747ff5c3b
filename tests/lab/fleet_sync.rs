//! The model follows the daemons: full sync, then events.

use std::time::Duration;

use fleetdeck::model::ContainerState;

use crate::support::{Harness, docker, find, lab_config, sleeper, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_every_daemon_are_in_the_model() {
    let config = lab_config(&["lab1", "lab2", "lab3"]);
    let mut h = Harness::start(&config);
    // Up once listed; the inspects (healthcheck, static IPs) follow.
    h.wait_for(
        "all three endpoints synced, every container inspected",
        Duration::from_secs(20),
        |f| {
            f.endpoints
                .iter()
                .all(|e| e.is_up() && e.synced && e.details_pending() == 0)
        },
    )
    .await;
    for ep in &config.endpoints {
        let listed = docker(
            &config,
            &ep.name,
            // The lab's own containers: other tests create, rename and remove theirs on the
            // same daemons while this one compares.
            &[
                "ps",
                "-a",
                "--filter",
                "label=fleetdeck.lab=seed",
                "--format",
                "{{.ID}} {{.Names}} {{.State}}",
            ],
        );
        assert!(
            !listed.trim().is_empty(),
            "{} has seeded containers",
            ep.name
        );
        let (_, model) = h
            .fleet
            .endpoint_by_name(&ep.name)
            .expect("endpoint in model");
        for line in listed.lines() {
            let mut parts = line.split_whitespace();
            let (id, name, state) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            // The seeded containers are older than the test: the sync has them all.
            if let Some(c) = model.containers.values().find(|c| c.id.starts_with(id)) {
                assert_eq!(c.name, name);
                assert_eq!(c.state.as_str(), state, "{} on {}", name, ep.name);
            } else {
                panic!("{name} ({id}) on {} is missing from the model", ep.name);
            }
        }
        let info = model.info.as_ref().expect("daemon info");
        assert_eq!(
            info.api_version, "1.41",
            "API negotiated down to Debian's engine"
        );
        assert!(info.cpus > 0 && info.memory_bytes > 0);
        assert!(!model.networks.is_empty() && !model.images.is_empty());
    }
    // The seeded fixture carries what the views need: a static IP, a healthcheck, an exit code.
    let web = find(&h.fleet, "lab1", "web-1").expect("seeded web-1 on lab1");
    let fleetnet = web
        .networks
        .iter()
        .find(|n| n.network == "fleetnet")
        .expect("web-1 on fleetnet");
    assert_eq!(fleetnet.ipv4.as_deref(), Some("192.168.2.20"));
    assert_eq!(fleetnet.static_ipv4.as_deref(), Some("192.168.2.20"));
    let batch = find(&h.fleet, "lab2", "batch").expect("seeded batch on lab2");
    assert_eq!(batch.state, ContainerState::Exited);
    assert_eq!(batch.exit_code, Some(3));
    let worker = find(&h.fleet, "lab3", "worker").expect("seeded worker on lab3");
    assert!(!worker.detail.healthcheck.is_empty());
}

/// Start, kill and remove with the docker CLI, on a unix-socket endpoint and a TCP one: each
/// change shows in the model within 2 s, with no refresh asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_changes_reach_the_model_within_two_seconds() {
    let config = lab_config(&["lab1", "lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("endpoints synced", Duration::from_secs(20), |f| {
        f.endpoints.iter().all(|e| e.is_up())
    })
    .await;
    let limit = Duration::from_secs(2);
    for endpoint in ["lab1", "lab2"] {
        let name = unique("evt");
        sleeper(&config, endpoint, &name, 300);
        let took = h
            .wait_for(&format!("{name} running on {endpoint}"), limit, |f| {
                find(f, endpoint, &name).is_some_and(|c| c.state == ContainerState::Running)
            })
            .await;
        eprintln!("{endpoint}: start seen after {took:?}");

        docker(&config, endpoint, &["kill", &name]);
        let took = h
            .wait_for(&format!("{name} exited on {endpoint}"), limit, |f| {
                find(f, endpoint, &name)
                    .is_some_and(|c| c.state == ContainerState::Exited && c.exit_code == Some(137))
            })
            .await;
        eprintln!("{endpoint}: kill seen after {took:?}");

        docker(&config, endpoint, &["rm", &name]);
        let took = h
            .wait_for(&format!("{name} gone from {endpoint}"), limit, |f| {
                find(f, endpoint, &name).is_none()
            })
            .await;
        eprintln!("{endpoint}: removal seen after {took:?}");
    }
}
