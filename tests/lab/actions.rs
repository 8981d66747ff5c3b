//! Actions through the engine's gate against real daemons, checked with the docker CLI: every
//! action on each of lab1 (unix), lab2 and lab3 (TCP); a bulk restart across two endpoints with
//! a container that vanished; rolling restarts that wait for health and stop at a failure; the
//! app loop's way in (`FleetTasks::submit_*`), reporting back as messages.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fleetdeck::audit::{self, AuditLog, Phase};
use fleetdeck::config::Config;
use fleetdeck::engine::gate::{Gate, RollingOptions};
use fleetdeck::engine::targets;
use fleetdeck::model::MsgKind;
use fleetdeck::model::actions::{Action, ActionRequest, ActionResult, Target};

use crate::support::{Harness, RemoveOnDrop, docker, docker_raw, lab_config, unique};

/// A container that stops at once on SIGTERM (exit 0) and exits 3 on SIGHUP. As PID 1 the
/// shell would ignore signals it has no handler for; SIGKILL still kills it (137).
pub const QUICK_STOP: &str = "trap 'exit 0' TERM INT; trap 'exit 3' HUP; sleep 1000000 & wait";

pub fn run_quick(config: &Config, ep: &str, name: &str) -> String {
    docker(
        config,
        ep,
        &[
            "run",
            "-d",
            "--name",
            name,
            "busybox:local",
            "sh",
            "-c",
            QUICK_STOP,
        ],
    )
}

pub fn inspect(config: &Config, ep: &str, name: &str, format: &str) -> String {
    docker(config, ep, &["inspect", "-f", format, name])
}

pub fn status(config: &Config, ep: &str, name: &str) -> String {
    inspect(config, ep, name, "{{.State.Status}}")
}

/// Waits until the container is in `want` (a signal is delivered asynchronously: `kill`
/// returns before the container has died of it).
pub async fn wait_status(config: &Config, ep: &str, name: &str, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = status(config, ep, name);
        if now == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{ep}/{name} still {now}, not {want}, after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn gate_with_audit(config: &Config) -> (Gate, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    (Gate::new(config, AuditLog::at(&path)), dir, path)
}

/// The request for `ENDPOINT/NAME`, resolved the way the headless commands do.
pub async fn request(config: &Config, ep: &str, name: &str, action: Action) -> ActionRequest {
    let target = Target::parse(&format!("{ep}/{name}")).unwrap();
    let resolved = targets::resolve(config, &[target]).await.unwrap();
    assert_eq!(resolved.matches.len(), 1, "{ep}/{name}");
    resolved.matches[0].request(action)
}

async fn apply_ok(gate: &Gate, req: ActionRequest) {
    let what = format!("{} {}", req.action.verb(), req.container);
    let o = gate.apply(req).await;
    assert_eq!(o.result, ActionResult::Succeeded, "{what}");
}

/// Start, stop, restart, pause, unpause, kill (with a chosen signal), rm refused on a running
/// container without force, rm forced: each checked with `docker inspect`, each audited.
async fn every_action_acts_on(ep: &str) {
    let config = lab_config(&[ep]);
    let (gate, _dir, audit_path) = gate_with_audit(&config);
    let mut cleanup = RemoveOnDrop::new(&config, ep);
    let name = cleanup.add(unique(&format!("act-{ep}")));
    docker(
        &config,
        ep,
        &[
            "create",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            QUICK_STOP,
        ],
    );
    let req = |action| request(&config, ep, &name, action);

    apply_ok(&gate, req(Action::Start).await).await;
    assert_eq!(status(&config, ep, &name), "running");

    apply_ok(&gate, req(Action::Stop { timeout_s: Some(5) }).await).await;
    assert_eq!(status(&config, ep, &name), "exited");
    assert_eq!(inspect(&config, ep, &name, "{{.State.ExitCode}}"), "0");

    apply_ok(&gate, req(Action::Start).await).await;
    let before = inspect(&config, ep, &name, "{{.State.StartedAt}}");
    apply_ok(&gate, req(Action::Restart { timeout_s: Some(5) }).await).await;
    let after = inspect(&config, ep, &name, "{{.State.StartedAt}}");
    assert_eq!(status(&config, ep, &name), "running");
    assert!(
        after > before,
        "StartedAt moved on restart: {before} → {after}"
    );

    apply_ok(&gate, req(Action::Pause).await).await;
    assert_eq!(status(&config, ep, &name), "paused");
    apply_ok(&gate, req(Action::Unpause).await).await;
    assert_eq!(status(&config, ep, &name), "running");

    // The chosen signal arrives: SIGHUP's handler exits 3, where SIGTERM's would exit 0.
    apply_ok(
        &gate,
        req(Action::Kill {
            signal: "SIGHUP".into(),
        })
        .await,
    )
    .await;
    wait_status(&config, ep, &name, "exited").await;
    assert_eq!(inspect(&config, ep, &name, "{{.State.ExitCode}}"), "3");

    apply_ok(&gate, req(Action::Start).await).await;
    let o = gate
        .apply(
            req(Action::Remove {
                volumes: false,
                force: false,
            })
            .await,
        )
        .await;
    assert_eq!(
        o.result,
        ActionResult::Failed(
            "the container is running: stop it first, or remove it with force (--force)".into()
        )
    );
    assert_eq!(status(&config, ep, &name), "running", "not removed");

    apply_ok(
        &gate,
        req(Action::Remove {
            volumes: true,
            force: true,
        })
        .await,
    )
    .await;
    let gone = docker_raw(&config, ep, &["inspect", &name]);
    assert!(!gone.status.success(), "{name} removed");

    // Ten attempts, each a started line and its result, linked by the attempt id.
    let (records, torn) = audit::read(&audit_path).unwrap();
    assert_eq!(torn, 0);
    let entries = audit::merge(records.clone());
    let actions: Vec<_> = entries
        .iter()
        .map(|e| (e.first.action.as_str(), e.result_text()))
        .collect();
    let ok = |a: &'static str| (a, "ok".to_string());
    assert_eq!(
        actions,
        [
            ok("start"),
            ok("stop"),
            ok("start"),
            ok("restart"),
            ok("pause"),
            ok("unpause"),
            ok("kill"),
            ok("start"),
            (
                "rm",
                "failed: the container is running: stop it first, or remove it with force (--force)"
                    .to_string()
            ),
            ok("rm"),
        ]
    );
    assert_eq!(records.len(), 20);
    assert!(entries.iter().all(|e| e.first.phase == Phase::Started
        && e.first.endpoint == ep
        && e.first.container == name));
    assert_eq!(entries[6].first.params["signal"], "SIGHUP");
    assert_eq!(entries[9].first.params["volumes"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_acts_on_a_container_of_lab1_over_unix() {
    every_action_acts_on("lab1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_acts_on_a_container_of_lab2_over_tcp() {
    every_action_acts_on("lab2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_acts_on_a_container_of_lab3_over_tcp() {
    every_action_acts_on("lab3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_restart_across_two_endpoints_reports_the_failure_and_restarts_the_rest() {
    let config = lab_config(&["lab1", "lab2"]);
    let (gate, _dir, audit_path) = gate_with_audit(&config);
    let prefix = unique("bulk");
    let mut cleanups = [
        RemoveOnDrop::new(&config, "lab1"),
        RemoveOnDrop::new(&config, "lab2"),
    ];
    let mut started = Vec::new();
    for (ep, cleanup) in ["lab1", "lab2"].into_iter().zip(&mut cleanups) {
        for n in ["a", "b"] {
            let name = cleanup.add(format!("{prefix}-{n}"));
            run_quick(&config, ep, &name);
            started.push((
                ep,
                name.clone(),
                inspect(&config, ep, &name, "{{.State.StartedAt}}"),
            ));
        }
    }
    let target = Target::parse(&format!("@lab-a/{prefix}-*")).unwrap();
    let resolved = targets::resolve(&config, &[target]).await.unwrap();
    assert_eq!(resolved.matches.len(), 4);
    let reqs: Vec<_> = resolved
        .matches
        .iter()
        .map(|m| m.request(Action::Restart { timeout_s: Some(5) }))
        .collect();
    // Removed behind fleetdeck's back, between the plan and the action.
    let vanished = format!("{prefix}-b");
    docker(&config, "lab2", &["rm", "-f", &vanished]);

    let outcomes = gate.bulk(reqs, 2).await;
    assert_eq!(outcomes.len(), 4);
    for o in &outcomes {
        if o.endpoint_name == "lab2" && o.request.container == vanished {
            assert_eq!(
                o.result,
                ActionResult::Failed("no such container (removed since it was listed?)".into()),
                "{}",
                o.line()
            );
        } else {
            assert_eq!(o.result, ActionResult::Succeeded, "{}", o.line());
        }
    }
    for (ep, name, before) in &started {
        if *ep == "lab2" && *name == vanished {
            continue;
        }
        let after = inspect(&config, ep, name, "{{.State.StartedAt}}");
        assert!(after > *before, "{ep}/{name} restarted: {before} → {after}");
        assert_eq!(status(&config, ep, name), "running");
    }
    let (records, _) = audit::read(&audit_path).unwrap();
    let entries = audit::merge(records);
    assert_eq!(entries.len(), 4, "one audited attempt per container");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.result_text().starts_with("failed"))
            .count(),
        1
    );
}

/// A container whose healthcheck (`test -f /tmp/ok`) passes only 2 s after each start:
/// `/tmp/ok` is removed at start and created 2 s later (the writable layer survives a
/// restart, so the removal matters). Probed every second; `retries` failures in a row make
/// it unhealthy.
fn run_slow_to_health(config: &Config, ep: &str, name: &str, health_cmd: &str, retries: &str) {
    docker(
        config,
        ep,
        &[
            "run",
            "-d",
            "--name",
            name,
            "--health-cmd",
            health_cmd,
            "--health-interval",
            "1s",
            "--health-retries",
            retries,
            "busybox:local",
            "sh",
            "-c",
            "rm -f /tmp/ok; trap 'exit 0' TERM INT; (sleep 2; touch /tmp/ok) & sleep 1000000 & wait",
        ],
    );
}

/// Times (ns since the epoch) of a container's events since `since` (s since the epoch).
fn events(config: &Config, ep: &str, name: &str, since: i64) -> Vec<(i64, String)> {
    let until = chrono::Utc::now().timestamp() + 1;
    docker(
        config,
        ep,
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            &format!("container={name}"),
            "--format",
            "{{.TimeNano}} {{.Action}}",
        ],
    )
    .lines()
    .filter_map(|l| {
        let (t, a) = l.split_once(' ')?;
        Some((t.parse().ok()?, a.to_string()))
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_waits_for_each_container_to_be_healthy_before_the_next() {
    let config = lab_config(&["lab3"]);
    let (gate, _dir, _audit) = gate_with_audit(&config);
    let prefix = unique("roll");
    let mut cleanup = RemoveOnDrop::new(&config, "lab3");
    let first = cleanup.add(format!("{prefix}-1"));
    let second = cleanup.add(format!("{prefix}-2"));
    for name in [&first, &second] {
        run_slow_to_health(&config, "lab3", name, "test -f /tmp/ok", "3");
    }
    let since = chrono::Utc::now().timestamp() - 1;
    let reqs = vec![
        request(&config, "lab3", &first, Action::Start).await,
        request(&config, "lab3", &second, Action::Start).await,
    ];
    let mut steps = Vec::new();
    let outcome = gate
        .rolling_restart(
            reqs,
            RollingOptions {
                batch: 1,
                ready_timeout: Duration::from_secs(30),
                stop_timeout_s: Some(5),
                poll: Duration::from_millis(200),
            },
            |step| {
                steps.push(format!("{step:?}"));
                async {}
            },
        )
        .await;
    assert!(outcome.is_ok(), "{:?}", outcome.stopped);
    assert_eq!(outcome.ready, 2);
    assert_eq!(outcome.restarted.len(), 2);
    assert!(
        outcome
            .restarted
            .iter()
            .all(|o| o.request.action == Action::Restart { timeout_s: Some(5) }),
        "every request is made a restart"
    );

    // The daemon's own record: the second container was started only after the first one
    // reported healthy in its new run.
    let first_events = events(&config, "lab3", &first, since);
    let second_events = events(&config, "lab3", &second, since);
    let first_start = first_events
        .iter()
        .filter(|(_, a)| a == "start")
        .map(|(t, _)| *t)
        .next_back()
        .unwrap_or_else(|| panic!("{first} restarted: {first_events:?}"));
    let first_healthy = first_events
        .iter()
        .find(|(t, a)| *t > first_start && a == "health_status: healthy")
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("{first} healthy after its restart: {first_events:?}"));
    let second_start = second_events
        .iter()
        .filter(|(_, a)| a == "start")
        .map(|(t, _)| *t)
        .next_back()
        .unwrap_or_else(|| panic!("{second} restarted: {second_events:?}"));
    assert!(
        second_start > first_healthy,
        "second started {} ms after the first was healthy",
        (second_start - first_healthy) / 1_000_000
    );
    assert!(
        first_healthy - first_start > 1_500_000_000,
        "health really took its 2 s, so the wait was real"
    );
    // And StartedAt agrees with the events.
    let started_at = inspect(&config, "lab3", &second, "{{.State.StartedAt}}");
    let started_at = chrono::DateTime::parse_from_rfc3339(&started_at).unwrap();
    assert!(started_at.timestamp_nanos_opt().unwrap() > first_healthy);
    assert!(steps.iter().any(|s| s.contains("Ready")), "{steps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_stops_at_an_unhealthy_container_and_says_where() {
    let config = lab_config(&["lab2"]);
    let (gate, _dir, _audit) = gate_with_audit(&config);
    let prefix = unique("rollbad");
    let mut cleanup = RemoveOnDrop::new(&config, "lab2");
    let bad = cleanup.add(format!("{prefix}-bad"));
    let good = cleanup.add(format!("{prefix}-good"));
    run_slow_to_health(&config, "lab2", &bad, "false", "1");
    run_slow_to_health(&config, "lab2", &good, "test -f /tmp/ok", "3");
    let good_before = inspect(&config, "lab2", &good, "{{.State.StartedAt}}");
    let reqs = vec![
        request(&config, "lab2", &bad, Action::Start).await,
        request(&config, "lab2", &good, Action::Start).await,
    ];
    let outcome = gate
        .rolling_restart(
            reqs,
            RollingOptions {
                ready_timeout: Duration::from_secs(20),
                poll: Duration::from_millis(200),
                ..RollingOptions::default()
            },
            |_| async {},
        )
        .await;
    let stop = outcome.stopped.clone().expect("stopped");
    assert_eq!(stop.request.container, bad);
    assert!(
        stop.line().starts_with(&format!(
            "stopped at lab2/{bad}: unhealthy after the restart"
        )),
        "{}",
        stop.line()
    );
    assert_eq!(outcome.restarted.len(), 1);
    assert_eq!(outcome.not_attempted.len(), 1);
    assert_eq!(outcome.not_attempted[0].container, good);
    assert_eq!(
        inspect(&config, "lab2", &good, "{{.State.StartedAt}}"),
        good_before,
        "the next container was left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_submitted_from_the_app_loop_report_back_as_messages() {
    let config = lab_config(&["lab2"]);
    let (gate, _dir, _audit) = gate_with_audit(&config);
    let mut cleanup = RemoveOnDrop::new(&config, "lab2");
    let name = cleanup.add(unique("submit"));
    run_quick(&config, "lab2", &name);
    let mut h = Harness::start(&config);
    h.tasks.set_gate(Arc::new(gate));
    h.wait_for("lab2 synced", Duration::from_secs(20), |f| {
        crate::support::find(f, "lab2", &name).is_some()
    })
    .await;
    let before = inspect(&config, "lab2", &name, "{{.State.StartedAt}}");
    let req = request(
        &config,
        "lab2",
        &name,
        Action::Restart { timeout_s: Some(5) },
    )
    .await;
    let batch = h.tasks.submit_actions(vec![req.clone()]);
    h.wait_for("the restart's result", Duration::from_secs(20), |f| {
        f.actions.get(batch).is_some_and(|b| b.done() == 1)
    })
    .await;
    assert_eq!(
        h.fleet.actions.get(batch).unwrap().status_line(),
        "restart 1/1: 1 ok"
    );
    let ev = h
        .fleet
        .events
        .iter()
        .find(|e| e.kind == "fleetdeck" && e.actor == name)
        .expect("the action is in the event stream");
    assert_eq!(
        (ev.action.as_str(), ev.details.as_slice()),
        ("restart", &["ok".to_string()][..])
    );
    assert!(inspect(&config, "lab2", &name, "{{.State.StartedAt}}") > before);

    let rolling = h.tasks.submit_rolling_restart(
        vec![req],
        RollingOptions {
            poll: Duration::from_millis(200),
            ..RollingOptions::default()
        },
    );
    let mut notes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !notes
        .iter()
        .any(|n: &String| n.starts_with("running after"))
    {
        let msg = tokio::time::timeout_at(deadline, h.next_msg())
            .await
            .expect("rolling restart reports within 30 s");
        if let MsgKind::ActionNote { batch, text, .. } = &msg.kind
            && *batch == rolling
        {
            notes.push(text.clone());
        }
    }
    assert_eq!(notes[0], "rolling restart of 1 container, 1 at a time");
}

#[test]
fn ctrl_c_during_a_rolling_restart_finishes_the_batch_under_way_and_starts_no_other() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let config = lab_config(&["lab3"]);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config_path = crate::support::write_config(
        dir.path(),
        &[("lab3", &crate::support::lab_url(&config, "lab3"), "lab-b")],
    );
    let prefix = unique("roll-int");
    let mut cleanup = RemoveOnDrop::new(&config, "lab3");
    let first = cleanup.add(format!("{prefix}-1"));
    let second = cleanup.add(format!("{prefix}-2"));
    for name in [&first, &second] {
        run_slow_to_health(&config, "lab3", name, "test -f /tmp/ok", "5");
    }
    let second_started = inspect(&config, "lab3", &second, "{{.State.StartedAt}}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .arg("--config")
        .arg(&config_path)
        .args(["rolling-restart", &format!("lab3/{prefix}-*"), "--yes"])
        .env("FLEETDECK_AUDIT", &audit)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no wait line ({e}): {lines:?}"));
        let waiting = line.contains("waiting until running and healthy");
        lines.push(line);
        if waiting {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    lines.extend(rx.try_iter());
    let report = format!("{lines:#?}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{report}");
    // The first was restarted and waited for; the second was never touched.
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&first) && l.contains("healthy after")),
        "{report}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("not restarted: ") && l.contains(&second)),
        "{report}"
    );
    assert_eq!(
        inspect(&config, "lab3", &second, "{{.State.StartedAt}}"),
        second_started
    );
    assert_eq!(status(&config, "lab3", &first), "running");
}
