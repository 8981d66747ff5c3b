//! The Swarm views against the lab's swarm: lab5 (manager, node labels dc=swarm-east,
//! tier=edge) and lab7 (worker, dc=swarm-west, tier=core), reached through lab5 only. The
//! model the real engine feeds shows the nodes and services; scale, an image update Swarm
//! rolls back, drain and activate go through `FleetTasks` (the dashboard's way in) and the
//! gate, and are followed until Swarm has got there; on a read-only endpoint every one of them
//! is refused and a recording proxy sees nothing but GETs. Services are named `swv-…` and
//! removed at the end of each test (also when it fails).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fleetdeck::audit::{self, AuditLog, Phase};
use fleetdeck::config::{self, Config};
use fleetdeck::engine::gate::Gate;
use fleetdeck::model::actions::{Action, ActionRequest, ActionResult};
use fleetdeck::model::swarm::Availability;
use fleetdeck::model::{Fleet, View};

use crate::actions::QUICK_STOP;
use crate::support::{Harness, Proxy, unique};

pub const LAB5: &str = "unix:///run/fleetdeck-lab/lab5/docker.sock";
const LAB7: &str = "unix:///run/fleetdeck-lab/lab7/docker.sock";
const LAB5_TCP: &str = "10.203.5.2:2375";

pub fn dk(host: &str, args: &[&str]) -> String {
    let out = Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} on {host} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Undoes what a test made on the swarm, also when it panics: services removed, image tags
/// dropped on both nodes, lab7 active again.
#[derive(Default)]
pub struct Cleanup {
    pub services: Vec<String>,
    tags: Vec<String>,
    reactivate: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let run = |host: &str, args: &[&str]| {
            let _ = Command::new("docker")
                .arg("-H")
                .arg(host)
                .args(args)
                .output();
        };
        if self.reactivate {
            run(
                LAB5,
                &["node", "update", "--availability", "active", "lab7"],
            );
        }
        for s in &self.services {
            run(LAB5, &["service", "rm", s]);
        }
        for t in &self.tags {
            run(LAB5, &["rmi", "-f", t]);
            run(LAB7, &["rmi", "-f", t]);
        }
    }
}

/// A config with lab5 as endpoint `sw5` (a manager: the swarm is read through it).
pub fn config_for(url: &str, read_only: bool) -> (tempfile::TempDir, Config) {
    assert_eq!(
        dk(LAB5, &["info", "--format", "{{.Swarm.Nodes}}"]),
        "2",
        "lab5's swarm lacks its worker lab7: run `scripts/lab.sh swarm`"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &path,
        format!(
            "[engine]\nrequest_timeout_s = 5\n\n[[endpoint]]\nname = \"sw5\"\nurl = \"{url}\"\n\
             cluster = \"swarm\"\nread_only = {read_only}\n"
        ),
    )
    .unwrap();
    let config = config::parse_file(&path).unwrap();
    (dir, config)
}

pub fn create_service(cleanup: &mut Cleanup, name: &str, image: &str, extra: &[&str]) -> String {
    cleanup.services.push(name.to_string());
    let mut args = vec![
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--stop-grace-period",
        "1s",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[image, "sh", "-c", QUICK_STOP]);
    dk(LAB5, &args);
    dk(LAB5, &["service", "inspect", "-f", "{{.ID}}", name])
}

/// (running, desired) replicas of a service in the model, by name.
fn replicas(f: &Fleet, name: &str) -> Option<(usize, usize)> {
    let swarms = f.swarms();
    let w = swarms.first()?;
    let s = w.state.services.iter().find(|s| s.name == name)?;
    Some(w.state.replicas(s))
}

fn request(id: &str, name: &str, action: Action) -> ActionRequest {
    ActionRequest {
        endpoint: 0,
        container_id: id.to_string(),
        container: name.to_string(),
        action,
    }
}

/// Submits a Swarm action the dashboard's way and waits for its last word.
async fn act(h: &mut Harness, req: ActionRequest, limit: Duration) -> String {
    let batch = h.tasks.submit_swarm(req);
    let what = format!("the end of batch {batch}");
    h.wait_for(&what, limit, |f| {
        f.actions
            .get(batch)
            .and_then(|b| b.note.as_deref())
            .is_some_and(|n| {
                n.starts_with("done:") || n.starts_with("FAILED:") || n.starts_with("refused:")
            })
    })
    .await;
    let end = h
        .fleet
        .actions
        .get(batch)
        .and_then(|b| b.note.clone())
        .unwrap_or_default();
    // What the follower said on the way, for a failure's report.
    let said: Vec<String> = h
        .fleet
        .events
        .iter()
        .filter(|e| e.kind == "fleetdeck")
        .map(|e| format!("{} {}", e.action, e.details.join(" ")))
        .collect();
    eprintln!("{}", said.join("\n"));
    end
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_nodes_shows_both_nodes_with_their_labels() {
    let (_dir, config) = config_for(LAB5, false);
    let mut h = Harness::start(&config);
    h.wait_for(
        "the swarm read with 2 nodes",
        Duration::from_secs(20),
        |f| f.swarms().first().is_some_and(|w| w.state.nodes.len() == 2),
    )
    .await;
    let swarms = h.fleet.swarms();
    assert_eq!(swarms.len(), 1, "one swarm, shown once");
    let nodes = &swarms[0].state.nodes;
    let worker = nodes.iter().find(|n| n.hostname == "lab7").expect("lab7");
    let manager = nodes
        .iter()
        .find(|n| n.hostname != "lab7")
        .expect("lab5's node");
    let labels = |n: &fleetdeck::model::swarm::SwarmNodeRow| {
        n.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(worker), ["dc=swarm-west", "tier=core"]);
    assert_eq!(labels(manager), ["dc=swarm-east", "tier=edge"]);
    assert_eq!(
        (worker.role.as_str(), manager.role.as_str()),
        ("worker", "manager")
    );
    assert!(manager.leader);
    assert!(nodes.iter().all(|n| n.state == "ready" && n.nano_cpus > 0));
    // And the view draws them, labels and all.
    let text = fleetdeck::headless::render_fleet(
        &h.fleet,
        &fleetdeck::model::alerts::Alerts::default(),
        View::Nodes,
        200,
        20,
        &fleetdeck::ui::Theme::monochrome(),
    );
    assert!(text.contains("dc=swarm-west, tier=core"), "{text}");
    assert!(text.contains("dc=swarm-east, tier=edge"), "{text}");
    assert!(text.contains("via sw5"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_scale_one_to_three_and_back_to_one_converges() {
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-scale");
    // A healthcheck, which must survive the spec's trip through fleetdeck (bollard's typed
    // spec misnames it; the gate reads the spec raw).
    let id = create_service(
        &mut cleanup,
        &name,
        "busybox:local",
        &[
            "--replicas",
            "1",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("the service runs 1/1", Duration::from_secs(30), |f| {
        replicas(f, &name) == Some((1, 1))
    })
    .await;

    for n in [3, 1] {
        let end = act(
            &mut h,
            request(&id, &name, Action::ServiceScale { replicas: n }),
            Duration::from_secs(90),
        )
        .await;
        assert_eq!(end, format!("done: {name} runs {n} of {n} replicas"));
        let want = n as usize;
        h.wait_for("the model converged", Duration::from_secs(10), |f| {
            replicas(f, &name) == Some((want, want))
        })
        .await;
        let spec = dk(
            LAB5,
            &[
                "service",
                "inspect",
                "-f",
                "{{.Spec.Mode.Replicated.Replicas}}",
                &name,
            ],
        );
        assert_eq!(spec, n.to_string());
        let check = dk(
            LAB5,
            &[
                "service",
                "inspect",
                "-f",
                "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}",
                &name,
            ],
        );
        assert_eq!(check, r#"["CMD-SHELL","true"]"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_an_update_failing_its_healthcheck_is_rolled_back_and_the_model_says_so() {
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-roll");
    // v1 has /ok, which the service's healthcheck wants; busybox:local (the "new" image)
    // lacks it. No registry: v1 is made on both nodes.
    let v1 = format!("busybox:{name}-ok");
    cleanup.tags.push(v1.clone());
    for host in [LAB5, LAB7] {
        let maker = format!("{name}-mk");
        dk(
            host,
            &["run", "--name", &maker, "busybox:local", "touch", "/ok"],
        );
        dk(host, &["commit", &maker, &v1]);
        dk(host, &["rm", &maker]);
    }
    let id = create_service(
        &mut cleanup,
        &name,
        &v1,
        &[
            "--replicas",
            "1",
            "--health-cmd",
            "test -e /ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--health-timeout",
            "1s",
            "--update-failure-action",
            "rollback",
            "--update-monitor",
            "5s",
            "--update-max-failure-ratio",
            "0",
        ],
    );
    let mut h = Harness::start(&config);
    h.wait_for("v1 runs", Duration::from_secs(30), |f| {
        replicas(f, &name) == Some((1, 1))
    })
    .await;

    let end = act(
        &mut h,
        request(
            &id,
            &name,
            Action::ServiceUpdate {
                image: "busybox:local".into(),
            },
        ),
        Duration::from_secs(120),
    )
    .await;
    assert!(
        end.starts_with("FAILED: Swarm is rolling the update back"),
        "{end}"
    );
    h.wait_for(
        "the services model says rolled back",
        Duration::from_secs(120),
        |f| {
            let swarms = f.swarms();
            swarms.first().is_some_and(|w| {
                w.state.services.iter().any(|s| {
                    s.name == name
                        && w.state.update_text(s) == "rolled back"
                        && s.image == v1
                        && w.state.replicas(s) == (1, 1)
                })
            })
        },
    )
    .await;
    assert_eq!(
        dk(
            LAB5,
            &["service", "inspect", "-f", "{{.UpdateStatus.State}}", &name]
        ),
        "rollback_completed"
    );
    let text = fleetdeck::headless::render_fleet(
        &h.fleet,
        &fleetdeck::model::alerts::Alerts::default(),
        View::Services,
        200,
        20,
        &fleetdeck::ui::Theme::monochrome(),
    );
    let row = text.lines().find(|l| l.contains(&name)).unwrap_or_default();
    assert!(row.contains("rolled back"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_a_drained_worker_hands_its_tasks_to_the_manager_then_comes_back() {
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-drain");
    let id = create_service(&mut cleanup, &name, "busybox:local", &["--replicas", "2"]);
    let mut h = Harness::start(&config);
    let on = |f: &Fleet, host: &str| -> usize {
        let swarms = f.swarms();
        let Some(w) = swarms.first() else { return 0 };
        w.state
            .tasks
            .iter()
            .filter(|t| t.service_id == id && t.is_running())
            .filter(|t| (w.state.node_name(&t.node_id) == "lab7") == (host == "lab7"))
            .count()
    };
    h.wait_for(
        "a task runs on each node (Swarm spreads them)",
        Duration::from_secs(30),
        |f| on(f, "lab7") == 1 && on(f, "manager") == 1,
    )
    .await;
    let worker = {
        let swarms = h.fleet.swarms();
        let n = swarms[0].state.nodes.iter().find(|n| n.hostname == "lab7");
        n.expect("lab7 in the model").id.clone()
    };

    cleanup.reactivate = true;
    let drain = request(
        &worker,
        "lab7",
        Action::NodeAvailability {
            availability: Availability::Drain,
        },
    );
    let end = act(&mut h, drain, Duration::from_secs(90)).await;
    assert!(end.starts_with("done: lab7 is drained"), "{end}");
    h.wait_for("both tasks on the manager", Duration::from_secs(10), |f| {
        on(f, "lab7") == 0 && on(f, "manager") == 2
    })
    .await;
    assert_eq!(
        dk(
            LAB5,
            &["node", "inspect", "-f", "{{.Spec.Availability}}", "lab7"]
        ),
        "drain"
    );

    let activate = request(
        &worker,
        "lab7",
        Action::NodeAvailability {
            availability: Availability::Active,
        },
    );
    let end = act(&mut h, activate, Duration::from_secs(30)).await;
    assert_eq!(end, "done: lab7 is active");
    assert_eq!(
        dk(
            LAB5,
            &["node", "inspect", "-f", "{{.Spec.Availability}}", "lab7"]
        ),
        "active"
    );
    cleanup.reactivate = false;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_every_swarm_action_is_refused_on_a_read_only_endpoint() {
    let proxy = Proxy::start(LAB5_TCP).await;
    let (dir, config) = config_for(&proxy.url(), true);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-ro");
    let id = create_service(&mut cleanup, &name, "busybox:local", &["--replicas", "1"]);
    let node = dk(LAB5, &["node", "inspect", "-f", "{{.ID}}", "lab7"]);
    let audit_path = dir.path().join("audit.jsonl");
    let gate = Arc::new(Gate::new(&config, AuditLog::at(&audit_path)));
    let service_actions = [
        Action::ServiceScale { replicas: 3 },
        Action::ServiceUpdate {
            image: "busybox:other".into(),
        },
        Action::ServiceForceUpdate,
        Action::ServiceRollback,
    ];
    let node_actions = [
        Availability::Drain,
        Availability::Pause,
        Availability::Active,
    ]
    .map(|availability| Action::NodeAvailability { availability });
    let every: Vec<ActionRequest> = service_actions
        .into_iter()
        .map(|a| request(&id, &name, a))
        .chain(node_actions.into_iter().map(|a| request(&node, "lab7", a)))
        .collect();

    // The gate itself.
    for req in &every {
        let o = gate.apply(req.clone()).await;
        assert_eq!(
            o.result,
            ActionResult::Refused("endpoint sw5 is read-only".into()),
            "{}",
            req.action.describe()
        );
    }
    // The dashboard's way in: each followed action ends refused.
    let mut h = Harness::start(&config);
    h.tasks.set_gate(gate.clone());
    h.wait_for(
        "the swarm read through the proxy",
        Duration::from_secs(20),
        |f| replicas(f, &name).is_some(),
    )
    .await;
    for req in every.clone() {
        let what = req.action.describe();
        let end = act(&mut h, req, Duration::from_secs(20)).await;
        assert_eq!(end, "refused: endpoint sw5 is read-only", "{what}");
    }

    let requests = proxy.requests();
    let changing: Vec<&String> = requests
        .iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect();
    assert!(changing.is_empty(), "state-changing requests: {changing:?}");
    assert!(
        requests.iter().any(|r| r.contains("/services")),
        "the proxy saw the swarm read: {requests:?}"
    );
    let (records, _) = audit::read(&audit_path).unwrap();
    let refused = records.iter().filter(|r| r.phase == Phase::Refused).count();
    assert_eq!(refused, every.len() * 2, "each refusal on the record");
    assert_eq!(
        dk(
            LAB5,
            &[
                "service",
                "inspect",
                "-f",
                "{{.Spec.Mode.Replicated.Replicas}}",
                &name
            ]
        ),
        "1"
    );
    // lab7's availability is not asserted: the drain test may be moving it meanwhile; the
    // proxy saw no write, which is what matters.
}

/// lab5 twice, once behind a proxy the test cuts: two manager endpoints of one swarm (they
/// say the same cluster ID). The swarm shows once, read through the first; cut off, the
/// second's reading takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_two_managers_of_one_swarm_show_it_once_and_fail_over() {
    let proxy = Proxy::start(LAB5_TCP).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &path,
        format!(
            "[engine]\nrequest_timeout_s = 5\nping_s = 1\ndown_after_s = 3\n\n\
             [[endpoint]]\nname = \"sw5a\"\nurl = \"{}\"\ncluster = \"swarm\"\n\n\
             [[endpoint]]\nname = \"sw5b\"\nurl = \"{LAB5}\"\ncluster = \"swarm\"\n",
            proxy.url()
        ),
    )
    .unwrap();
    let config = config::parse_file(&path).unwrap();
    let mut h = Harness::start(&config);
    h.wait_for(
        "both managers read the swarm",
        Duration::from_secs(20),
        |f| f.endpoints.iter().all(|e| e.swarm.is_some()),
    )
    .await;
    let swarms = h.fleet.swarms();
    assert_eq!(swarms.len(), 1, "one swarm, shown once");
    assert_eq!(
        (swarms[0].endpoint, swarms[0].managers.as_slice()),
        (0, &[0, 1][..])
    );
    drop(swarms);
    proxy.cut();
    h.wait_for(
        "sw5b's reading in sw5a's place",
        Duration::from_secs(20),
        |f| {
            let swarms = f.swarms();
            !f.endpoints[0].is_up()
                && swarms.len() == 1
                && swarms[0].endpoint == 1
                && !swarms[0].stale
                && swarms[0].state.nodes.len() == 2
        },
    )
    .await;
    let text = fleetdeck::headless::render_fleet(
        &h.fleet,
        &fleetdeck::model::alerts::Alerts::default(),
        View::Nodes,
        200,
        20,
        &fleetdeck::ui::Theme::monochrome(),
    );
    assert!(text.contains("via sw5b (managers: sw5a, sw5b)"), "{text}");
}

/// `l` on a service: its logs, every task's merged by the manager (also the one on lab7),
/// through the log view's tail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_a_services_logs_bring_every_tasks_lines() {
    use fleetdeck::model::MsgKind;
    use fleetdeck::model::logs::{LogSource, SERVICE_SOURCE};
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-logs");
    cleanup.services.push(name.clone());
    dk(
        LAB5,
        &[
            "service",
            "create",
            "--detach",
            "--name",
            &name,
            "--replicas",
            "2",
            "--stop-grace-period",
            "1s",
            "--hostname",
            "task-{{.Task.Slot}}",
            "busybox:local",
            "sh",
            "-c",
            &format!("echo swv-says-$(hostname); {QUICK_STOP}"),
        ],
    );
    let id = dk(LAB5, &["service", "inspect", "-f", "{{.ID}}", &name]);
    let mut h = Harness::start(&config);
    h.wait_for("both tasks run", Duration::from_secs(30), |f| {
        replicas(f, &name) == Some((2, 2))
    })
    .await;
    h.tasks.open_tail(
        7,
        &[LogSource {
            endpoint: 0,
            container_id: format!("{SERVICE_SOURCE}{id}"),
            tag: format!("sw5/{name}"),
        }],
        100,
    );
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let got = lines.clone();
    h.wait_for_with(
        "a line from each task",
        Duration::from_secs(30),
        move |msg| {
            if let MsgKind::Log { tail: 7, lines } = &msg.kind {
                seen.lock()
                    .unwrap()
                    .extend(lines.iter().map(|l| l.text.clone()));
            }
        },
        move |_| {
            let lines = got.lock().unwrap();
            ["swv-says-task-1", "swv-says-task-2"]
                .iter()
                .all(|want| lines.iter().any(|l| l.contains(want)))
        },
    )
    .await;
    h.tasks.close_tail(7);
}

/// `r` on a service: Swarm's restart (a forced update) replaces every task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_views_a_forced_update_replaces_every_task() {
    let (_dir, config) = config_for(LAB5, false);
    let mut cleanup = Cleanup::default();
    let name = unique("swv-force");
    let id = create_service(&mut cleanup, &name, "busybox:local", &["--replicas", "2"]);
    let mut h = Harness::start(&config);
    h.wait_for("2/2 run", Duration::from_secs(30), |f| {
        replicas(f, &name) == Some((2, 2))
    })
    .await;
    let running = |f: &Fleet| -> Vec<String> {
        let swarms = f.swarms();
        let mut ids: Vec<String> = swarms[0]
            .state
            .tasks
            .iter()
            .filter(|t| t.service_id == id && t.is_running())
            .map(|t| t.id.clone())
            .collect();
        ids.sort();
        ids
    };
    let before = running(&h.fleet);
    let end = act(
        &mut h,
        request(&id, &name, Action::ServiceForceUpdate),
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(end, format!("done: {name}: every task replaced, 2 running"));
    h.wait_for("two new tasks run", Duration::from_secs(10), |f| {
        let now = running(f);
        now.len() == 2 && now.iter().all(|t| !before.contains(t))
    })
    .await;
    assert_eq!(
        dk(
            LAB5,
            &[
                "service",
                "inspect",
                "-f",
                "{{.Spec.TaskTemplate.ForceUpdate}}",
                &name
            ]
        ),
        "1"
    );
}
