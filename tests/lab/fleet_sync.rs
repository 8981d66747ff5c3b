//! The model follows the daemons: full sync, then events.

use std::time::Duration;

use fleetdeck::model::{ContainerState, EndpointSpec};

use crate::support::{Harness, Proxy, docker, find, lab_config, sleeper, unique};

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

/// What a session asks its daemon over time, read off a proxy in front of it: the events it
/// subscribes to are named actions without the healthcheck execs, and each resync reads
/// `docker info` again but not `docker version`, which costs the daemon a fork and exec of
/// `runc` and `docker-init` per call and cannot change under a running daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_subscribes_to_named_actions_and_resyncs_without_the_version() {
    let mut config = lab_config(&["lab3"]);
    let proxy = Proxy::start("10.203.3.2:2375").await;
    config.endpoints[0] = EndpointSpec::from_url(Some("lab3-via-proxy"), &proxy.url()).unwrap();
    config.engine.resync = Duration::from_secs(1);
    let mut h = Harness::start(&config);
    h.wait_for("synced through the proxy", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up() && f.endpoints[0].synced
    })
    .await;
    // "GET /v1.41/info" -> "/info"; "GET /version" (the API version negotiation) -> "/version".
    let path = |line: &str| -> String {
        let target = line.split_whitespace().nth(1).unwrap_or("");
        let path = target.split('?').next().unwrap_or("");
        match path.strip_prefix("/v1.") {
            Some(rest) => rest.find('/').map_or(path, |i| &rest[i..]).to_string(),
            None => path.to_string(),
        }
    };
    let count = |what: &str| proxy.requests().iter().filter(|r| path(r) == what).count();
    // The stats collector negotiates the API version on its own connection: once it has read
    // a round, every connection has been opened.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !proxy.requests().iter().any(|r| r.contains("/stats?")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stats round within 15 s: {:#?}",
            proxy.requests()
        );
        h.pump_for(Duration::from_millis(100)).await;
    }
    let (versions, infos) = (count("/version"), count("/info"));
    assert!(versions >= 1 && infos >= 1, "{:#?}", proxy.requests());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while count("/info") < infos + 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "three resyncs within 15 s at 1 s: {:#?}",
            proxy.requests()
        );
        h.pump_for(Duration::from_millis(200)).await;
    }
    assert_eq!(
        count("/version"),
        versions,
        "a resync asked for the version again: {:#?}",
        proxy.requests()
    );

    let subscriptions: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| path(r) == "/events")
        .map(|r| percent_decoded(r))
        .collect();
    assert!(!subscriptions.is_empty(), "{:#?}", proxy.requests());
    for s in &subscriptions {
        assert!(
            s.contains(r#""event":["#)
                && s.contains(r#""health_status""#)
                && s.contains(r#""die""#),
            "the subscription names its actions: {s}"
        );
        assert!(!s.contains("exec_"), "healthcheck execs asked for: {s}");
    }
}

/// `%7B%22event%22` -> `{"event"`.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
