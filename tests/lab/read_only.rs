//! The read-only gate, proven on the wire: lab3 behind two recording proxies, one configured
//! read-only and one writable. Every action through the gate, through the app loop's way in
//! (`FleetTasks`) and through every headless command reaches the read-only daemon as nothing
//! but GETs, is refused and is audited as refused; the same commands through the writable
//! endpoint do act, and the proxy sees them.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fleetdeck::audit::{self, AuditLog, Phase};
use fleetdeck::config;
use fleetdeck::engine::gate::{Gate, RollingOptions};
use fleetdeck::model::actions::{Action, ActionResult};

use crate::actions::{QUICK_STOP, inspect, request, status, wait_status};
use crate::support::{
    Harness, Proxy, RemoveOnDrop, docker, docker_raw, fleetdeck, lab_config, output_text as text,
    unique,
};

const LAB3: &str = "10.203.3.2:2375";

/// Requests that change something: anything but GET and HEAD.
fn changing(requests: &[String]) -> Vec<&String> {
    requests
        .iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect()
}

fn every_action() -> Vec<Action> {
    vec![
        Action::Start,
        Action::Stop { timeout_s: Some(1) },
        Action::Restart { timeout_s: Some(1) },
        Action::Pause,
        Action::Unpause,
        Action::Kill {
            signal: "SIGKILL".into(),
        },
        Action::Remove {
            volumes: true,
            force: true,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_endpoint_receives_no_state_changing_request_whatever_asks() {
    let lab = lab_config(&["lab3"]);
    let locked = Proxy::start(LAB3).await;
    let open = Proxy::start(LAB3).await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let config_path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config_path,
        format!(
            "[engine]\nrequest_timeout_s = 5\n\n\
             [[endpoint]]\nname = \"ro3\"\nurl = \"{}\"\ncluster = \"locked\"\nread_only = true\n\n\
             [[endpoint]]\nname = \"rw3\"\nurl = \"{}\"\ncluster = \"open\"\n",
            locked.url(),
            open.url()
        ),
    )
    .unwrap();
    let config = config::parse_file(&config_path).unwrap();
    assert!(config.endpoints[0].read_only && !config.endpoints[1].read_only);

    let mut cleanup = RemoveOnDrop::new(&lab, "lab3");
    let name = cleanup.add(unique("ro"));
    docker(
        &lab,
        "lab3",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            QUICK_STOP,
        ],
    );
    let started_at = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    let gate = Arc::new(Gate::new(&config, AuditLog::at(&audit_path)));

    // 1. The gate itself, every action.
    for action in every_action() {
        let what = action.describe();
        let o = gate
            .apply(request(&config, "ro3", &name, action).await)
            .await;
        assert_eq!(
            o.result,
            ActionResult::Refused("endpoint ro3 is read-only".into()),
            "{what}"
        );
    }

    // 2. The app loop's way in: a batch of every action, and a rolling restart.
    let mut h = Harness::start(&config);
    h.tasks.set_gate(gate.clone());
    let mut reqs = Vec::new();
    for action in every_action() {
        reqs.push(request(&config, "ro3", &name, action).await);
    }
    let batch = h.tasks.submit_actions(reqs.clone());
    h.wait_for(
        "every submitted action answered",
        Duration::from_secs(20),
        |f| f.actions.get(batch).is_some_and(|b| b.done() == 7),
    )
    .await;
    let progress = h.fleet.actions.get(batch).unwrap().clone();
    assert_eq!(
        (progress.refused, progress.succeeded, progress.failed),
        (7, 0, 0)
    );
    let rolling = h
        .tasks
        .submit_rolling_restart(reqs[..1].to_vec(), RollingOptions::default());
    h.wait_for(
        "the rolling restart stopped",
        Duration::from_secs(20),
        |f| {
            f.actions
                .get(rolling)
                .and_then(|b| b.note.as_deref())
                .is_some_and(|n| n.starts_with("stopped at"))
        },
    )
    .await;
    assert_eq!(
        h.fleet.actions.get(rolling).unwrap().note.as_deref(),
        Some(format!("stopped at ro3/{name}: restart refused: endpoint ro3 is read-only").as_str())
    );
    let refused_events = h
        .fleet
        .events
        .iter()
        .filter(|e| e.kind == "fleetdeck" && e.details == ["refused: endpoint ro3 is read-only"])
        .count();
    assert_eq!(refused_events, 8, "each refusal is in the event stream");
    drop(h);

    // 3. Every headless command, with --yes (and rm even --force): refused, exit 1.
    let target = format!("ro3/{name}");
    let commands: Vec<Vec<&str>> = vec![
        vec!["start", &target],
        vec!["stop", &target, "--timeout", "1"],
        vec!["restart", &target],
        vec!["pause", &target],
        vec!["unpause", &target],
        vec!["kill", &target, "--signal", "TERM"],
        vec!["rm", &target, "--force", "--volumes"],
        vec!["rolling-restart", &target],
    ];
    for cmd in &commands {
        let mut args = cmd.clone();
        args.push("--yes");
        let out = fleetdeck(&config_path, &audit_path, &args);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("refused: endpoint ro3 is read-only"),
            "{cmd:?}: {}",
            text(&out)
        );
    }
    // The cluster form too.
    let glob = format!("@locked/{name}*");
    let out = fleetdeck(&config_path, &audit_path, &["restart", &glob, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // On the wire: the read-only daemon heard only GETs (and did hear them: the proxy works).
    let heard = locked.requests();
    assert!(
        heard.iter().any(|r| r.contains("/containers/json")),
        "the proxy recorded the listing: {heard:?}"
    );
    assert_eq!(changing(&heard), Vec::<&String>::new(), "all: {heard:?}");
    assert_eq!(status(&lab, "lab3", &name), "running");
    assert_eq!(
        inspect(&lab, "lab3", &name, "{{.State.StartedAt}}"),
        started_at
    );

    // In the audit log: one refused line per attempt, and no attempt ever started on ro3.
    let (records, _) = audit::read(&audit_path).unwrap();
    let ro: Vec<_> = records.iter().filter(|r| r.endpoint == "ro3").collect();
    assert_eq!(ro.len(), 7 + 7 + 1 + commands.len() + 1);
    assert!(ro.iter().all(|r| r.phase == Phase::Refused
        && r.error.as_deref() == Some("endpoint ro3 is read-only")
        && r.container == name));
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["audit", "--endpoint", "ro3", "--file"])
        .arg(&audit_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains("refused: endpoint ro3 is read-only"))
            .count(),
        ro.len(),
        "{table}"
    );

    // --read-only on the command line locks the writable endpoint too, for that run.
    let rw_target = format!("rw3/{name}");
    let out = fleetdeck(
        &config_path,
        &audit_path,
        &["--read-only", "stop", &rw_target, "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: endpoint rw3 is read-only"));
    // Without --yes and without a terminal nothing is done either.
    let out = fleetdeck(&config_path, &audit_path, &["restart", &rw_target]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    assert_eq!(changing(&open.requests()), Vec::<&String>::new());

    // 4. The same commands on the writable endpoint act, and the wire shows it.
    let id = inspect(&lab, "lab3", &name, "{{.Id}}");
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--yes");
        let out = fleetdeck(&config_path, &audit_path, &args);
        (out.status.code(), text(&out))
    };
    let ok = |args: &[&str]| {
        let (code, out) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {out}");
    };
    ok(&["stop", &rw_target, "--timeout", "5"]);
    assert_eq!(status(&lab, "lab3", &name), "exited");
    ok(&["start", &rw_target]);
    assert_eq!(status(&lab, "lab3", &name), "running");
    let before = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    ok(&["restart", &rw_target, "--timeout", "5"]);
    assert!(inspect(&lab, "lab3", &name, "{{.State.StartedAt}}") > before);
    ok(&["pause", &rw_target]);
    assert_eq!(status(&lab, "lab3", &name), "paused");
    ok(&["unpause", &rw_target]);
    assert_eq!(status(&lab, "lab3", &name), "running");
    ok(&["kill", &rw_target]);
    wait_status(&lab, "lab3", &name, "exited").await;
    assert_eq!(inspect(&lab, "lab3", &name, "{{.State.ExitCode}}"), "137");
    ok(&["start", &format!("@open/{name}")]);
    let before = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    ok(&["rolling-restart", &rw_target, "--wait", "20"]);
    assert!(inspect(&lab, "lab3", &name, "{{.State.StartedAt}}") > before);
    let (code, out) = run(&["rm", &rw_target]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the container is running: stop it first, or remove it with force (--force)"),
        "{out}"
    );
    assert_eq!(status(&lab, "lab3", &name), "running");
    ok(&["rm", &rw_target, "--force"]);
    assert!(
        !docker_raw(&lab, "lab3", &["inspect", &name])
            .status
            .success()
    );

    let wire = open.requests();
    for (method, path) in [
        ("POST", "stop"),
        ("POST", "start"),
        ("POST", "restart"),
        ("POST", "pause"),
        ("POST", "unpause"),
        ("POST", "kill"),
    ] {
        let needle = format!("/containers/{id}/{path}");
        assert!(
            wire.iter()
                .any(|r| r.starts_with(&format!("{method} ")) && r.contains(&needle)),
            "{method} {needle} reached the writable daemon: {wire:?}"
        );
    }
    assert!(
        wire.iter()
            .any(|r| r.starts_with("DELETE ") && r.contains(&format!("/containers/{id}"))),
        "{wire:?}"
    );
    // The read-only side still heard nothing but GETs.
    assert_eq!(changing(&locked.requests()), Vec::<&String>::new());
}

/// The dashboard's side, driven key by key through the real app (`App::handle_key`, then
/// `Effects::run`, as the loop does), fed by the real engine.
mod keys {
    use std::time::Duration;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use fleetdeck::app::{App, Effects};
    use fleetdeck::model::Msg;
    use fleetdeck::model::actions::BatchProgress;
    use tokio::sync::mpsc;

    pub struct Dash<'a> {
        pub app: App,
        pub effects: Effects<'a>,
        pub rx: mpsc::Receiver<Msg>,
    }

    impl Dash<'_> {
        pub fn key(&mut self, code: KeyCode) {
            self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
            self.effects.run(&mut self.app);
        }

        pub fn press(&mut self, keys: &str) {
            for c in keys.chars() {
                self.key(KeyCode::Char(c));
            }
        }

        /// `/TEXT` Enter: only matching rows are shown, the first selected.
        pub fn filter(&mut self, text: &str) {
            self.key(KeyCode::Esc);
            self.press("/");
            self.press(text);
            self.key(KeyCode::Enter);
        }

        /// Applies engine messages until `pred` holds (20 s at most).
        pub async fn settle(&mut self, what: &str, pred: impl Fn(&App) -> bool) {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while !pred(&self.app) {
                match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(msg)) => {
                        self.effects.apply(&mut self.app, msg);
                    }
                    Ok(None) => panic!("engine stopped while waiting for {what}"),
                    Err(_) => panic!(
                        "timed out waiting for {what}; status line: {:?}",
                        self.app.view.message
                    ),
                }
            }
        }

        /// Presses an action key (and `y` when it asks), then waits until the batch it
        /// submitted has every result.
        pub async fn act(&mut self, keys: &str) -> BatchProgress {
            let before = self.app.fleet.actions.latest().map(|b| b.batch);
            self.press(keys);
            self.settle(&format!("the results of {keys:?}"), |app| {
                app.fleet
                    .actions
                    .latest()
                    .is_some_and(|b| Some(b.batch) != before && b.done() == b.total)
            })
            .await;
            self.app.fleet.actions.latest().cloned().unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_key_is_refused_on_a_read_only_endpoint_and_acts_on_a_writable_one() {
    use crossterm::event::KeyCode;
    use fleetdeck::app::{App, Effects};
    use fleetdeck::model::ContainerState;
    use fleetdeck::ui::Theme;

    let lab = lab_config(&["lab3"]);
    let locked = Proxy::start(LAB3).await;
    let open = Proxy::start(LAB3).await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let config_path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config_path,
        format!(
            "[engine]\nrequest_timeout_s = 5\nresync_s = 30\n\n\
             [[endpoint]]\nname = \"ro3\"\nurl = \"{}\"\nread_only = true\n\n\
             [[endpoint]]\nname = \"rw3\"\nurl = \"{}\"\n",
            locked.url(),
            open.url()
        ),
    )
    .unwrap();
    let config = config::parse_file(&config_path).unwrap();
    let mut cleanup = RemoveOnDrop::new(&lab, "lab3");
    let name = cleanup.add(unique("keys"));
    docker(
        &lab,
        "lab3",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "busybox:local",
            "sh",
            "-c",
            QUICK_STOP,
        ],
    );

    let (_, rx, mut tasks) = Harness::start(&config).into_parts();
    tasks.set_gate(Arc::new(Gate::new(&config, AuditLog::at(&audit_path))));
    let mut d = keys::Dash {
        app: App::new(&config, Theme::dark()),
        effects: Effects::new(Some(&mut tasks), None),
        rx,
    };
    d.settle("the container seen through both endpoints", |app| {
        ["ro3", "rw3"].iter().all(|ep| {
            app.fleet
                .endpoint_by_name(ep)
                .is_some_and(|(_, e)| e.containers.values().any(|c| c.name == name))
        })
    })
    .await;
    d.press("2");

    // Read-only: every action key says why it is refused, offers no confirmation, and the
    // gate writes each refusal to the audit log (the wire check is at the end).
    d.filter(&format!("ep:ro3 {name}"));
    let keys = ["u", "x", "r", "p", "K", "D", "R"];
    for k in keys {
        d.press(k);
        assert!(d.app.view.confirm.is_none(), "{k}: no confirmation offered");
        let msg = d.app.view.message.clone().unwrap_or_default();
        assert!(
            msg.contains("refused") && msg.contains("ro3 is read-only"),
            "{k}: {msg}"
        );
        d.press("y");
    }
    let refusals = || {
        fleetdeck::audit::read(&audit_path)
            .unwrap()
            .0
            .into_iter()
            .filter(|r| r.endpoint == "ro3" && r.phase == fleetdeck::audit::Phase::Refused)
            .count()
    };
    d.settle("every refused key audited and reported", |app| {
        refusals() == keys.len()
            && app
                .fleet
                .actions
                .batches()
                .filter(|b| b.refused == 1 && b.done() == b.total)
                .count()
                == keys.len()
    })
    .await;

    // Marked on both endpoints: the read-only one is refused by the gate, the other acts.
    d.filter(&name);
    d.press("  ");
    let before = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    d.press("r");
    let confirm = d.app.view.confirm.clone().expect("restart asks first");
    assert_eq!(confirm.items.len(), 2);
    let b = d.act("y").await;
    assert_eq!((b.succeeded, b.refused, b.failed), (1, 1, 0), "{b:?}");
    assert!(inspect(&lab, "lab3", &name, "{{.State.StartedAt}}") > before);

    // Writable: each key acts, seen by the model and by the docker CLI.
    d.filter(&format!("ep:rw3 {name}"));
    let wait_state = |want: ContainerState| {
        let name = name.clone();
        move |app: &App| {
            app.fleet
                .endpoint_by_name("rw3")
                .and_then(|(_, e)| e.containers.values().find(|c| c.name == name))
                .is_some_and(|c| c.state == want)
        }
    };
    assert_eq!(d.act("xy").await.succeeded, 1);
    d.settle("stopped", wait_state(ContainerState::Exited))
        .await;
    assert_eq!(status(&lab, "lab3", &name), "exited");
    assert_eq!(d.act("u").await.succeeded, 1, "start needs no confirmation");
    d.settle("started", wait_state(ContainerState::Running))
        .await;
    let before = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    assert_eq!(d.act("ry").await.succeeded, 1);
    assert!(inspect(&lab, "lab3", &name, "{{.State.StartedAt}}") > before);
    assert_eq!(d.act("py").await.succeeded, 1);
    d.settle("paused", wait_state(ContainerState::Paused)).await;
    assert_eq!(status(&lab, "lab3", &name), "paused");
    assert_eq!(d.act("p").await.succeeded, 1, "p on a paused one unpauses");
    d.settle("unpaused", wait_state(ContainerState::Running))
        .await;
    assert_eq!(d.act("Ky").await.succeeded, 1);
    d.settle("killed", wait_state(ContainerState::Exited)).await;
    assert_eq!(inspect(&lab, "lab3", &name, "{{.State.ExitCode}}"), "137");
    assert_eq!(d.act("u").await.succeeded, 1);
    d.settle("started again", wait_state(ContainerState::Running))
        .await;
    let before = inspect(&lab, "lab3", &name, "{{.State.StartedAt}}");
    assert_eq!(d.act("Ry").await.succeeded, 1);
    d.settle("the rolling restart done", |app| {
        app.fleet
            .actions
            .latest()
            .and_then(|b| b.note.as_deref())
            .is_some_and(|n| n.starts_with("running after"))
    })
    .await;
    assert!(inspect(&lab, "lab3", &name, "{{.State.StartedAt}}") > before);
    let b = d.act("Dy").await;
    assert_eq!(
        b.failed, 1,
        "rm of a running container without force: {b:?}"
    );
    assert!(
        b.last_problem.as_deref().unwrap_or("").contains("--force"),
        "{b:?}"
    );
    assert_eq!(status(&lab, "lab3", &name), "running");
    assert_eq!(d.act("xy").await.succeeded, 1);
    d.settle("stopped before removal", wait_state(ContainerState::Exited))
        .await;
    assert_eq!(d.act("Dy").await.succeeded, 1);
    assert!(
        !docker_raw(&lab, "lab3", &["inspect", &name])
            .status
            .success()
    );
    d.key(KeyCode::Esc);

    // The wire: the read-only daemon heard only GETs; the writable one heard the actions.
    assert_eq!(changing(&locked.requests()), Vec::<&String>::new());
    let wire = open.requests();
    for verb in ["start", "stop", "restart", "pause", "unpause", "kill"] {
        assert!(
            wire.iter().any(|r| r.starts_with("POST ")
                && (r.ends_with(&format!("/{verb}")) || r.contains(&format!("/{verb}?")))),
            "{verb} reached the writable daemon: {wire:?}"
        );
    }
    assert!(wire.iter().any(|r| r.starts_with("DELETE /")), "{wire:?}");
    // Every attempt on the read-only endpoint is on record as refused: the seven keys refused
    // on a read-only selection and the read-only half of the mixed batch.
    let (records, _) = audit::read(&audit_path).unwrap();
    let ro: Vec<_> = records.iter().filter(|r| r.endpoint == "ro3").collect();
    assert_eq!(ro.len(), keys.len() + 1, "{ro:?}");
    assert!(ro.iter().all(|r| r.phase == Phase::Refused), "{ro:?}");
}
