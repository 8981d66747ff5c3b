//! Partitions and slow daemons. A partition is made the way real ones behave: packets to the
//! daemon's address are dropped (`iptables -I OUTPUT -d ADDR -j DROP`), so connections hang
//! rather than fail. The daemon cut off is lab6 (reached over mutual TLS): only the lab6 tests
//! use it and they take turns, so tests running meanwhile keep their daemons. The rule is
//! removed on drop.

use std::process::Command;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{self, App};
use fleetdeck::model::EndpointSpec;
use fleetdeck::model::Link;
use fleetdeck::ui::Theme;

use crate::support::{
    Harness, Proxy, RemoveOnDrop, TimedKeys, docker, docker_raw, find, lab_config, sleeper, unique,
};

/// Drops every packet to `addr` until dropped itself.
pub struct Blackhole {
    addr: String,
}

impl Blackhole {
    pub fn new(addr: &str) -> Self {
        let out = Command::new("iptables")
            .args(["-I", "OUTPUT", "-d", addr, "-j", "DROP"])
            .output()
            .expect("iptables runs");
        assert!(
            out.status.success(),
            "iptables: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            addr: addr.to_string(),
        }
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        let _ = Command::new("iptables")
            .args(["-D", "OUTPUT", "-d", &self.addr, "-j", "DROP"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_daemon_is_down_in_bounded_time_and_backfills_once_the_rule_is_lifted() {
    let _turn = crate::remote::LAB6.lock().await;
    let mut config = lab_config(&["lab1", "lab2"]);
    let ca = format!("{}/ca.pem", crate::remote::TLS_DIR);
    config.endpoints.push(crate::remote::tls_spec(
        "lab6",
        crate::remote::LAB6_TLS,
        &ca,
        true,
    ));
    config.engine.down_after = Duration::from_secs(6);
    let mut h = Harness::start(&config);
    h.wait_for("three daemons up", Duration::from_secs(30), |f| {
        f.endpoints.iter().all(|e| e.is_up())
    })
    .await;
    let mut on_lab2 = RemoveOnDrop::new(&config, "lab2");
    // lab6 over its unix socket: the docker CLI still reaches it behind the partition.
    let lab6_direct = crate::remote::lab6_direct();
    let mut on_lab6 = RemoveOnDrop::new(&lab6_direct, "lab6");
    let during = on_lab2.add(unique("during"));
    let gap = on_lab6.add(unique("gap"));

    let cut = Blackhole::new("10.203.6.2");
    let down_after = h
        .wait_for("lab6 down", Duration::from_secs(15), |f| {
            matches!(f.endpoints[2].link, Link::Down { .. })
        })
        .await;
    let Link::Down { reason, .. } = &h.fleet.endpoints[2].link else {
        unreachable!()
    };
    eprintln!("lab6 down after {down_after:?}: {reason}");
    assert!(reason.starts_with("no answer for"), "reason: {reason}");
    assert!(
        down_after <= Duration::from_secs(6) + Duration::from_millis(1500),
        "down within the configured 6 s (took {down_after:?})"
    );
    assert!(h.fleet.endpoints[2].is_stale(), "its rows are shown stale");
    assert!(h.fleet.endpoints[0].is_up() && h.fleet.endpoints[1].is_up());

    // The others keep updating.
    sleeper(&config, "lab2", &during, 300);
    let seen = h
        .wait_for(
            "a container started on lab2 during the partition",
            Duration::from_secs(5),
            |f| find(f, "lab2", &during).is_some(),
        )
        .await;
    eprintln!("lab2's new container seen after {seen:?}");
    // Behind the partition, lab6 lives on: a container is born and dies.
    let run = docker_raw(
        &lab6_direct,
        "lab6",
        &["run", "--name", &gap, "busybox:local", "sh", "-c", "exit 7"],
    );
    assert_eq!(run.status.code(), Some(7));
    assert!(h.fleet.events.iter().all(|e| e.actor != gap));
    drop(cut);

    let back = h
        .wait_for(
            "lab6 back with the missed die event",
            Duration::from_secs(30),
            |f| {
                f.endpoints[2].is_up()
                    && f.events.iter().any(|e| e.actor == gap && e.action == "die")
            },
        )
        .await;
    eprintln!("lab6 back and backfilled {back:?} after the rule was lifted");
    // Run the live stream past the boundary, then count.
    let marker = on_lab6.add(unique("after"));
    docker(
        &lab6_direct,
        "lab6",
        &["create", "--name", &marker, "busybox:local", "true"],
    );
    h.wait_for("a later live event", Duration::from_secs(10), |f| {
        f.events.iter().any(|e| e.actor == marker)
    })
    .await;
    let dies = h
        .fleet
        .events
        .iter()
        .filter(|e| e.actor == gap && e.action == "die")
        .count();
    assert_eq!(dies, 1, "the missed event appears exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_taking_two_seconds_per_request_slows_neither_the_others_nor_the_keys() {
    let mut config = lab_config(&["lab1", "lab2"]);
    let slow = Proxy::start_delayed("10.203.2.2:2375", Duration::from_secs(2)).await;
    config.endpoints[1] = EndpointSpec::from_url(Some("lab2-slow"), &slow.url()).unwrap();
    let mut h = Harness::start(&config);
    h.wait_for("lab1 up", Duration::from_secs(20), |f| {
        f.endpoints[0].is_up()
    })
    .await;
    h.wait_for("the slow daemon up too", Duration::from_secs(60), |f| {
        f.endpoints[1].is_up()
    })
    .await;
    h.wait_for(
        "the slow daemon's latency measured",
        Duration::from_secs(10),
        |f| {
            f.endpoints[1]
                .latency
                .is_some_and(|l| l >= Duration::from_secs(2))
        },
    )
    .await;

    // lab1's updates, while the slow daemon is being pinged and resynced.
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let name = cleanup.add(unique("quick"));
        let started = Instant::now();
        sleeper(&config, "lab1", &name, 300);
        let cli = started.elapsed();
        h.wait_for("lab1's container", Duration::from_secs(10), |f| {
            find(f, "lab1", &name).is_some()
        })
        .await;
        // What the dashboard added on top of the docker CLI's own round trip.
        worst = worst.max(started.elapsed().saturating_sub(cli));
    }
    eprintln!("lab1 updates: worst {worst:?} after the CLI returned");
    assert!(
        worst < Duration::from_secs(1),
        "lab1's updates do not wait for the slow daemon (worst {worst:?})"
    );

    // Keys, through the real app loop, while the slow daemon keeps answering slowly.
    let before = slow.requests().len();
    let (fleet, rx, mut tasks) = h.into_parts();
    let mut app = App::new(&config, Theme::dark());
    app.fleet = fleet;
    let (key_tx, key_rx) = tokio::sync::mpsc::unbounded_channel();
    let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let input = TimedKeys {
        rx: key_rx,
        waits: waits.clone(),
    };
    let keys = tokio::spawn(async move {
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let code = if i % 2 == 0 {
                KeyCode::Down
            } else {
                KeyCode::Up
            };
            let _ = key_tx.send((
                Instant::now(),
                Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            ));
        }
        let _ = key_tx.send((
            Instant::now(),
            Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
        ));
    });
    let effects = app::Effects::new(Some(&mut tasks), None);
    crate::support::run_dashboard(&mut app, input, rx, effects, (120, 40)).await;
    keys.await.unwrap();
    let waits = waits.lock().unwrap();
    let worst_key = waits.iter().max().copied().unwrap_or_default();
    let during = slow.requests().len() - before;
    eprintln!(
        "{} keys, worst wait {worst_key:?}; the slow daemon got {during} requests meanwhile",
        waits.len()
    );
    assert_eq!(waits.len(), 41);
    assert!(during >= 2, "the slow daemon was being talked to meanwhile");
    assert!(
        worst_key < Duration::from_millis(250),
        "keys are answered at once (worst {worst_key:?})"
    );
}
