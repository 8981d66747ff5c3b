//! The session's sync in two halves: the list puts every container on screen at once, the
//! inspects that follow bring what only inspect knows. What is reliable to check: the list's
//! rows say the same as the inspects about what both carry, and after the sync every
//! container has its inspect-only fields.

use std::time::{Duration, Instant};

use fleetdeck::model::{Container, ContainerState, Health, MsgKind};

use crate::support::{Harness, RemoveOnDrop, docker, lab_config, unique};

/// Polls `docker inspect -f FORMAT NAME` on lab2 until it prints `want`, or panics at `limit`.
fn wait_inspect(config: &fleetdeck::config::Config, name: &str, format: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = docker(config, "lab2", &["inspect", "-f", format, name]);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {format} is {got:?}, waited for {want:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_list_rows_agree_with_inspect_and_the_inspects_bring_the_details() {
    let config = lab_config(&["lab2"]);
    let mut mine = RemoveOnDrop::new(&config, "lab2");
    let crash = mine.add(unique("sync-crash"));
    let sick = mine.add(unique("sync-sick"));
    let run = |args: String| {
        docker(
            &config,
            "lab2",
            &args.split_whitespace().collect::<Vec<_>>(),
        );
    };
    run(format!(
        "run -d --name {crash} --restart on-failure:2 busybox:local false"
    ));
    run(format!(
        "run -d --name {sick} --health-cmd false --health-interval 1s --health-retries 1 \
         busybox:local sleep 600"
    ));
    // Settled before fleetdeck looks: two restarts done and exited, the healthcheck failed.
    wait_inspect(
        &config,
        &crash,
        "{{.RestartCount}} {{.State.Status}}",
        "2 exited",
    );
    wait_inspect(&config, &sick, "{{.State.Health.Status}}", "unhealthy");

    let mut h = Harness::start(&config);
    let mut listed: Option<Vec<Container>> = None;
    h.wait_for_with(
        "lab2 listed, then every inspect in",
        Duration::from_secs(30),
        |m| {
            if let MsgKind::Listed(sync) = &m.kind {
                listed = Some(sync.containers.clone());
            }
        },
        |f| f.endpoints[0].synced && f.endpoints[0].details_pending() == 0,
    )
    .await;
    let listed = listed.expect("the session sent the list before the inspects");
    let ep = &h.fleet.endpoints[0];

    // What the list carries is what inspect says, for the lab's seeded containers and ours
    // (other tests' containers come and go meanwhile; a crash loop changes between the two).
    let ours = |c: &Container| {
        c.name == crash
            || c.name == sick
            || c.labels.get("fleetdeck.lab").map(String::as_str) == Some("seed")
    };
    let mut compared = 0;
    for row in listed.iter().filter(|c| ours(c)) {
        let full = ep
            .containers
            .get(&row.id)
            .expect("listed container inspected");
        if full.state == ContainerState::Restarting || row.state == ContainerState::Restarting {
            continue;
        }
        assert_eq!(row.name, full.name);
        assert_eq!(row.state, full.state, "{}", row.name);
        assert_eq!(row.ips(), full.ips(), "{}", row.name);
        let statics = |c: &Container| -> Vec<_> {
            c.networks
                .iter()
                .map(|n| (n.network.clone(), n.static_ipv4.clone()))
                .collect()
        };
        assert_eq!(
            statics(row),
            statics(full),
            "{}: static addresses",
            row.name
        );
        assert_eq!(row.health, full.health, "{}: health", row.name);
        if full.state == ContainerState::Exited {
            assert_eq!(row.exit_code, full.exit_code, "{}: exit code", row.name);
        }
        assert_eq!(row.labels, full.labels, "{}", row.name);
        compared += 1;
    }
    assert!(compared >= 4, "compared {compared} containers");
    assert!(
        listed
            .iter()
            .any(|c| c.networks.iter().any(|n| n.static_ipv4.is_some())),
        "the seeded static addresses come with the list"
    );

    // After the sync, the inspect-only fields are there.
    let by_name = |name: &str| ep.containers.values().find(|c| c.name == name).unwrap();
    let crashed = by_name(&crash);
    assert_eq!(crashed.restart_count, 2);
    assert_eq!(crashed.exit_code, Some(1));
    assert!(crashed.finished_at.is_some() && crashed.started_at.is_some());
    assert_eq!(crashed.detail.restart_policy, "on-failure:2");
    let unhealthy = by_name(&sick);
    assert_eq!(unhealthy.health, Health::Unhealthy);
    assert!(!unhealthy.detail.healthcheck.is_empty());
    // The list alone had none of them.
    let listed_crash = listed.iter().find(|c| c.name == crash).unwrap();
    assert_eq!(listed_crash.restart_count, 0);
    assert!(listed_crash.detail.restart_policy.is_empty());
    assert_eq!(listed_crash.exit_code, Some(1), "read from the status text");
}
