//! The merged event stream against real daemons: latency, backfill after a disconnect (exactly
//! once), restart-loop detection.

use fleetdeck::model::EndpointSpec;
use fleetdeck::model::Link;
use std::time::Duration;

use crate::support::{
    Harness, Proxy, RemoveOnDrop, daemon_events, daemon_time, docker, docker_raw, lab_config,
    sleeper, unique,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_yields_a_die_event_with_its_exit_code_within_a_second() {
    let config = lab_config(&["lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("lab2 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    let name = unique("die");
    sleeper(&config, "lab2", &name, 300);
    h.wait_for("start event", Duration::from_secs(2), |f| {
        f.events
            .iter()
            .any(|e| e.actor == name && e.action == "start")
    })
    .await;
    docker(&config, "lab2", &["kill", &name]);
    let took = h
        .wait_for(
            "die event with exit code 137",
            Duration::from_secs(1),
            |f| {
                f.events
                    .iter()
                    .any(|e| e.actor == name && e.action == "die" && e.exit_code == Some(137))
            },
        )
        .await;
    eprintln!("die event seen after {took:?}");
    let die = h
        .fleet
        .events
        .iter()
        .find(|e| e.actor == name && e.action == "die")
        .unwrap();
    assert_eq!(die.kind, "container");
    assert!(
        die.details.iter().any(|d| d == "exit 137"),
        "{:?}",
        die.details
    );
    docker(&config, "lab2", &["rm", "-f", &name]);
}

/// `docker stop` on a container that ignores SIGTERM (busybox `sleep` as PID 1): the row reads
/// "stopping" from the daemon's `kill` event, through the grace period, until the `die` after
/// the SIGKILL makes it exited and forgets the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_container_reads_stopping_through_its_grace_period_then_exited() {
    use fleetdeck::model::{ContainerState, Fleet};

    use crate::support::find;

    let config = lab_config(&["lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("lab2 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    let name = unique("stopping");
    sleeper(&config, "lab2", &name, 300);
    h.wait_for("running", Duration::from_secs(5), |f| {
        find(f, "lab2", &name).is_some_and(|c| c.state == ContainerState::Running)
    })
    .await;
    let signal = |f: &Fleet| {
        let ep = &f.endpoints[0];
        let c = find(f, "lab2", &name)?;
        ep.stopping(c, chrono::Utc::now()).map(|s| s.signal)
    };
    let stop = {
        let (config, name) = (config.clone(), name.clone());
        std::thread::spawn(move || docker(&config, "lab2", &["stop", "-t", "3", &name]))
    };
    let took = h
        .wait_for("stopping, SIGTERM", Duration::from_secs(2), |f| {
            signal(f) == Some("SIGTERM")
        })
        .await;
    eprintln!("stopping seen {took:?} into the stop");
    let c = find(&h.fleet, "lab2", &name).unwrap();
    assert_eq!(c.state, ContainerState::Running, "still running meanwhile");
    assert_eq!(
        h.fleet.endpoints[0].state_word(c, chrono::Utc::now()),
        "stopping"
    );
    // The grace period ends in a SIGKILL and the die.
    h.wait_for(
        "exited after the grace period",
        Duration::from_secs(8),
        |f| find(f, "lab2", &name).is_some_and(|c| c.state == ContainerState::Exited),
    )
    .await;
    stop.join().expect("docker stop returns");
    let kills: Vec<_> = h
        .fleet
        .events
        .iter()
        .filter(|e| e.actor == name && e.verb() == "kill")
        .filter_map(|e| e.stop_signal())
        .collect();
    assert_eq!(kills, ["SIGTERM", "SIGKILL"]);
    assert_eq!(signal(&h.fleet), None);
    assert!(
        !h.fleet.endpoints[0]
            .signalled
            .keys()
            .any(|id| find(&h.fleet, "lab2", &name).is_some_and(|c| &c.id == id)),
        "the signal is forgotten on the die"
    );
    docker(&config, "lab2", &["rm", "-f", &name]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_during_a_disconnect_appear_after_reconnect_exactly_once() {
    let mut config = lab_config(&["lab3"]);
    let proxy = Proxy::start("10.203.3.2:2375").await;
    let direct = config.clone();
    config.endpoints[0] = EndpointSpec {
        name: "lab3-via-proxy".into(),
        ..EndpointSpec::from_url(Some("lab3-via-proxy"), &proxy.url()).unwrap()
    };
    let mut h = Harness::start(&config);
    h.wait_for("up through the proxy", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;

    proxy.cut();
    h.wait_for("down after the cut", Duration::from_secs(10), |f| {
        matches!(f.endpoints[0].link, Link::Down { .. })
    })
    .await;
    // Behind the cut the daemon lives on: a container is born and dies.
    let name = unique("gap");
    let run = docker_raw(
        &direct,
        "lab3",
        &[
            "run",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            "exit 5",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(5),
        "docker run passes the exit code on"
    );
    assert!(
        h.fleet.events.iter().all(|e| e.actor != name),
        "nothing can be seen while disconnected"
    );

    proxy.restore();
    h.wait_for(
        "backfilled die of the gap container",
        Duration::from_secs(15),
        |f| {
            f.events
                .iter()
                .any(|e| e.actor == name && e.action == "die")
        },
    )
    .await;
    // Let the live stream run past the boundary, then count.
    let marker = unique("after");
    docker(
        &direct,
        "lab3",
        &["create", "--name", &marker, "busybox:local", "true"],
    );
    h.wait_for("a later live event", Duration::from_secs(5), |f| {
        f.events.iter().any(|e| e.actor == marker)
    })
    .await;
    for action in ["create", "start", "die"] {
        let n = h
            .fleet
            .events
            .iter()
            .filter(|e| e.actor == name && e.action == action)
            .count();
        assert_eq!(n, 1, "{action} of {name} appears exactly once");
    }
    let die = h
        .fleet
        .events
        .iter()
        .find(|e| e.actor == name && e.action == "die")
        .unwrap();
    assert_eq!(die.exit_code, Some(5));
    let ups = h
        .fleet
        .events
        .iter()
        .filter(|e| e.kind == "endpoint" && e.action == "up")
        .count();
    let downs = h
        .fleet
        .events
        .iter()
        .filter(|e| e.kind == "endpoint" && e.action == "down")
        .count();
    assert_eq!(
        (ups, downs),
        (2, 1),
        "the endpoint's own down and up are in the stream"
    );
    docker(&direct, "lab3", &["rm", "-f", &name, &marker]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_dying_again_and_again_is_flagged_as_a_restart_loop() {
    let config = lab_config(&["lab1"]);
    let mut h = Harness::start(&config);
    h.wait_for("lab1 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    let name = unique("loop");
    docker(
        &config,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--restart",
            "always",
            "busybox:local",
            "sh",
            "-c",
            "exit 1",
        ],
    );
    let took = h
        .wait_for("restart loop flagged", Duration::from_secs(15), |f| {
            f.events
                .restart_loops(chrono::Utc::now())
                .iter()
                .any(|l| l.container == name)
        })
        .await;
    eprintln!("restart loop flagged after {took:?}");
    let flagged = h
        .fleet
        .events
        .iter()
        .filter(|e| e.actor == name && e.restart_loop)
        .count();
    assert!(flagged >= 1);
    let triage = fleetdeck::model::triage::triage(&h.fleet, chrono::Utc::now());
    assert!(
        triage
            .iter()
            .any(|t| t.container == name
                && t.problem == fleetdeck::model::triage::Problem::RestartLoop),
        "{triage:#?}"
    );
    docker(&config, "lab1", &["rm", "-f", &name]);
}

/// Healthcheck runs are exec_create/exec_start/exec_die triples, dropped by the engine; a
/// batch of nothing else must not reach the dashboard at all (each woke it for nothing), while
/// the health change they lead to still does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_execs_alone_send_the_dashboard_nothing() {
    use fleetdeck::model::MsgKind;
    let config = lab_config(&["lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("lab2 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    let mut cleanup = RemoveOnDrop::new(&config, "lab2");
    let name = cleanup.add(unique("execs"));
    let since = daemon_time(&config, "lab2");
    docker(
        &config,
        "lab2",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "fleetdeck.test=1",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            "busybox:local",
            "sleep",
            "300",
        ],
    );
    let (mut events, mut empty) = (0, 0);
    let mut count = |m: &fleetdeck::model::Msg| {
        if let MsgKind::Events(batch) = &m.kind {
            events += 1;
            if batch.is_empty() {
                empty += 1;
            }
        }
    };
    h.wait_for_with("healthy", Duration::from_secs(20), &mut count, |f| {
        f.events
            .iter()
            .any(|e| e.actor == name && e.action.starts_with("health_status"))
    })
    .await;
    // A few more healthcheck runs with nothing else happening.
    h.pump_for_with(Duration::from_secs(4), &mut count).await;
    let execs = daemon_events(&config, "lab2", &since, &name, "exec_die");
    assert!(
        execs.lines().count() >= 3,
        "the daemon ran the healthcheck: {execs:?}"
    );
    assert!(events >= 1, "the start and health events came");
    assert_eq!(
        empty, 0,
        "batches of healthcheck execs alone reached the dashboard"
    );
}

/// fleetdeck asks each daemon for every action but a container's `exec_*` (the engine's
/// `EVENT_ACTIONS`, so healthcheck execs stay on the host). Whatever else the daemon reports
/// through the life of a container, a network, a volume and an image tag reaches the event
/// log: compared, event type and action, with the daemon's own unfiltered log of the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_but_a_healthcheck_s_execs_reaches_the_event_log() {
    let config = lab_config(&["lab2"]);
    let mut h = Harness::start(&config);
    h.wait_for("lab2 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    let since = daemon_time(&config, "lab2");
    let token = unique("acts");
    let mut rm = RemoveOnDrop::new(&config, "lab2");
    let (name, renamed) = (rm.add(token.clone()), rm.add(format!("{token}-b")));
    let (net, vol, tag) = (
        format!("{token}-net"),
        format!("{token}-vol"),
        format!("{token}:t"),
    );
    let d = |args: &[&str]| docker(&config, "lab2", args);
    d(&["volume", "create", &vol]);
    d(&["network", "create", &net]);
    d(&[
        "create",
        "--name",
        &name,
        "--label",
        "fleetdeck.test=1",
        "-v",
        &format!("{vol}:/data"),
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        "busybox:local",
        "sleep",
        "300",
    ]);
    d(&["start", &name]);
    h.wait_for("healthy", Duration::from_secs(20), |f| {
        f.events
            .iter()
            .any(|e| e.actor == name && e.action.starts_with("health_status"))
    })
    .await;
    d(&["network", "connect", &net, &name]);
    d(&["pause", &name]);
    d(&["unpause", &name]);
    d(&["rename", &name, &renamed]);
    d(&["update", "--cpu-shares", "512", &renamed]);
    d(&["top", &renamed]);
    d(&["cp", &format!("{renamed}:/etc/hostname"), "-"]);
    d(&["network", "disconnect", &net, &renamed]);
    d(&["restart", "-t", "0", &renamed]);
    d(&["stop", "-t", "0", &renamed]);
    d(&["tag", "busybox:local", &tag]);
    d(&["rmi", &tag]);
    d(&["rm", &renamed]);
    d(&["network", "rm", &net]);
    d(&["volume", "rm", &vol]);
    let until = daemon_time(&config, "lab2");

    // The daemon's own log of the window: type, action verb, and whether it is ours (by the
    // actor's id or name: the container, network, volume or tag named after `token`).
    let log = d(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "{{.Type}}\t{{.Action}}\t{{.Actor.ID}} {{index .Actor.Attributes \"name\"}}",
    ]);
    let mut wanted = std::collections::BTreeSet::new();
    let mut execs = 0;
    for line in log.lines().filter(|l| l.contains(&token)) {
        let mut parts = line.splitn(3, '\t');
        let (kind, action) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let verb = action.split(':').next().unwrap_or("").trim();
        if kind == "container" && verb.starts_with("exec_") {
            execs += 1;
        } else {
            wanted.insert((kind.to_string(), verb.to_string()));
        }
    }
    assert!(execs >= 3, "the healthcheck ran: {log}");
    for must in [
        ("container", "create"),
        ("container", "health_status"),
        ("container", "rename"),
        ("container", "destroy"),
        ("network", "connect"),
        ("volume", "mount"),
        ("image", "tag"),
    ] {
        assert!(
            wanted.contains(&(must.0.to_string(), must.1.to_string())),
            "the daemon logged no {must:?}: {log}"
        );
    }
    let ours = |e: &fleetdeck::model::events::FleetEvent| {
        e.actor.contains(&token) || e.actor_id.contains(&token)
    };
    let missing = |f: &fleetdeck::model::Fleet| -> Vec<(String, String)> {
        wanted
            .iter()
            .filter(|(kind, verb)| {
                !f.events
                    .iter()
                    .any(|e| ours(e) && &e.kind == kind && e.verb() == verb)
            })
            .cloned()
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = missing(&h.fleet);
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "logged by the daemon, not in the event log after 10 s: {left:?}\n{log}"
        );
        let _ = tokio::time::timeout_at(deadline, h.next_msg()).await;
    }
}
