//! Writes that are cut short, on the lab: an update stopped by SIGKILL or by Ctrl-C at each of
//! its steps (held there by `FLEETDECK_FAILPOINT`, so every step is hit exactly), then the
//! service checked with the docker CLI. After a kill, `fleetdeck deploy --resume` finishes the
//! update and `fleetdeck rollback` undoes it; after a Ctrl-C, fleetdeck itself puts the old
//! revision back. Either way the service runs, on its address, and the audit log says what
//! happened to the interrupted deploy.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fleetdeck::audit::{self, AuditRecord, Phase};

use crate::actions::QUICK_STOP;
use crate::deploy::{Service, fleetnet_ip, inspect, write_spec};
use crate::support::{FLEETNET, output_text as text};

/// The points an update passes between its state-changing steps.
const UPDATE_STEPS: [&str; 4] = [
    "deploy:before-stop",   // renamed aside, still running
    "deploy:before-create", // renamed and stopped
    "deploy:before-start",  // the new one created
    "deploy:before-wait",   // the new one started, not yet verified
];

/// A `fleetdeck deploy` held at `failpoint`, once it says it got there.
fn deploy_held_at(s: &Service, spec: &std::path::Path, failpoint: &str) -> Child {
    held_at(
        s,
        &["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"],
        failpoint,
    )
}

/// `fleetdeck ARGS` held at `failpoint`, once it says it got there.
pub(crate) fn held_at(s: &Service, args: &[&str], failpoint: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .env("FLEETDECK_AUDIT", &s.audit)
        .env("XDG_STATE_HOME", s.audit.parent().unwrap())
        .arg("--config")
        .arg(&s.config)
        .args(args)
        .env("FLEETDECK_FAILPOINT", failpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fleetdeck runs");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end: a closed pipe would fail fleetdeck's later lines.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains(&format!("failpoint {failpoint} reached")) => break,
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!("{failpoint} not reached ({e}); stderr so far: {seen:?}");
            }
        }
    }
    child
}

pub(crate) fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// The container now called `name`: its image and state.
fn service_state(s: &Service) -> (String, String) {
    (
        inspect(&s.lab, "lab1", &s.name, "{{.Config.Image}}"),
        inspect(&s.lab, "lab1", &s.name, "{{.State.Status}}"),
    )
}

fn journal_files(s: &Service) -> Vec<String> {
    let dir = s.audit.parent().unwrap().join("journal");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // Records only, not the services' lock files.
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default()
}

/// The result lines of the deploy records, in file order.
fn deploy_results(s: &Service) -> Vec<AuditRecord> {
    let (records, _) = audit::read(&s.audit).unwrap();
    records
        .into_iter()
        .filter(|r| r.action == "deploy" && r.phase != Phase::Started)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_killed_at_any_step_is_finished_by_resume_or_undone_by_rollback() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-kill");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    let target = format!("lab1/{}", s.name);
    // Each step twice: once finished, once undone. The service alternates between v1 and v2.
    let mut current = s.v1.clone();
    for (i, failpoint) in UPDATE_STEPS.iter().flat_map(|f| [f, f]).enumerate() {
        let finish = i % 2 == 0;
        let next = if current == s.v1 { &s.v2 } else { &s.v1 };
        let spec = s.spec(next, QUICK_STOP);
        let mut child = deploy_held_at(&s, &spec, failpoint);
        signal(&child, libc::SIGKILL);
        let _ = child.wait();
        assert_eq!(
            journal_files(&s).len(),
            1,
            "{failpoint}: the journal holds it"
        );

        // While it is unfinished, a new deploy of the service is refused, naming both ways out.
        let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{failpoint}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("fleetdeck deploy --resume {target}"))
                && stderr.contains(&format!("fleetdeck rollback {target}")),
            "{failpoint}: {}",
            text(&out)
        );

        let out = if finish {
            s.run(&["deploy", "--resume", &target, "--yes"])
        } else {
            s.run(&["rollback", &target, "--yes"])
        };
        assert_eq!(out.status.code(), Some(0), "{failpoint}: {}", text(&out));
        if finish {
            current = next.clone();
        }
        assert_eq!(
            service_state(&s),
            (current.clone(), "running".to_string()),
            "{failpoint} ({}): {}",
            if finish { "resume" } else { "rollback" },
            text(&out)
        );
        assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip, "{failpoint}");
        assert!(journal_files(&s).is_empty(), "{failpoint}: journal closed");
        // The killed deploy's record is completed as interrupted, naming what ended it.
        let last = deploy_results(&s).pop().expect("a deploy result line");
        assert_eq!(last.phase, Phase::Interrupted, "{failpoint}: {last:?}");
        let note = last.error.unwrap_or_default();
        assert!(
            note.contains(if finish {
                "finished later"
            } else {
                "undone later"
            }),
            "{failpoint}: {note}"
        );
    }
    // Only the kept revisions the config allows are left; nothing runs beside the service.
    let running = crate::support::docker(
        &s.lab,
        "lab1",
        &[
            "ps",
            "--filter",
            &format!("label=fleetdeck.deploy.service={}", s.name),
            "--format",
            "{{.Names}}",
        ],
    );
    assert_eq!(running, s.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_an_update_puts_the_old_revision_back_at_any_step() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-int");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    let old_id = inspect(&s.lab, "lab1", &s.name, "{{.Id}}");
    // The new revision's healthcheck never passes within the wait: Ctrl-C lands while
    // fleetdeck waits for it, as well as at each step before.
    let slow = write_spec(
        s.dir.path(),
        "slow.toml",
        &format!(
            "name = \"{}\"\nimage = \"{}\"\ncommand = \"{QUICK_STOP}\"\nnetwork = \"fleetnet\"\n\
             ip = \"auto\"\nwait_s = 60\n\n[healthcheck]\ncommand = \"sleep 30\"\ninterval_s = 40\n",
            s.name, s.v2
        ),
    );
    for failpoint in UPDATE_STEPS
        .iter()
        .chain(&["deploy:none (waiting for health)"])
    {
        let child = if failpoint.starts_with("deploy:none") {
            // No failpoint: wait for the "waiting up to" line on stdout instead.
            let mut child = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
                .arg("--config")
                .arg(&s.config)
                .args(["deploy", slow.to_str().unwrap(), "--to", "lab1", "--yes"])
                .env("FLEETDECK_AUDIT", &s.audit)
                .env("XDG_STATE_HOME", s.audit.parent().unwrap())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("waiting up to") {
                        let _ = tx.send(());
                    }
                }
            });
            rx.recv_timeout(Duration::from_secs(30))
                .expect("the deploy waits for the new revision");
            child
        } else {
            deploy_held_at(&s, &slow, failpoint)
        };
        signal(&child, libc::SIGINT);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{failpoint}: {}", text(&out));
        // One of the two streams was read by the test as it went; the other has the report.
        let report = text(&out);
        assert!(
            report.contains("INTERRUPTED: ") && report.contains("interrupted by SIGINT"),
            "{failpoint}: {}",
            text(&out)
        );
        // The old revision, by id, runs under its name on its address; nothing is left over.
        assert_eq!(
            inspect(&s.lab, "lab1", &s.name, "{{.Id}}"),
            old_id,
            "{failpoint}"
        );
        assert_eq!(
            service_state(&s),
            (s.v1.clone(), "running".to_string()),
            "{failpoint}"
        );
        assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip, "{failpoint}");
        assert!(journal_files(&s).is_empty(), "{failpoint}: journal closed");
        let last = deploy_results(&s).pop().expect("a deploy result line");
        assert_eq!(last.phase, Phase::Interrupted, "{failpoint}: {last:?}");
        let all = crate::support::docker(
            &s.lab,
            "lab1",
            &[
                "ps",
                "-a",
                "--filter",
                &format!("label=fleetdeck.deploy.service={}", s.name),
                "--format",
                "{{.Names}}",
            ],
        );
        assert_eq!(all, s.name, "{failpoint}: no new or kept container is left");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_a_service_left_without_its_name_even_with_no_journal() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-nojournal");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    // Killed with the old revision renamed aside and still running, then the journal lost
    // (another operator's machine, a wiped state dir): the daemon's labels are enough.
    for failpoint in ["deploy:before-stop", "deploy:before-create"] {
        let spec = s.spec(&s.v2, QUICK_STOP);
        let mut child = deploy_held_at(&s, &spec, failpoint);
        signal(&child, libc::SIGKILL);
        let _ = child.wait();
        std::fs::remove_dir_all(s.audit.parent().unwrap().join("journal")).unwrap();
        let out = s.run(&["rollback", &format!("lab1/{}", s.name), "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{failpoint}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("no container has its name"),
            "{failpoint}: {}",
            text(&out)
        );
        assert_eq!(
            service_state(&s),
            (s.v1.clone(), "running".to_string()),
            "{failpoint}"
        );
        assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip, "{failpoint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_an_unfinished_deploy_and_b_on_its_service_undoes_it() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-tui");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    let old_id = inspect(&s.lab, "lab1", &s.name, "{{.Id}}");
    // Killed with the old revision renamed aside and stopped.
    let spec = s.spec(&s.v2, QUICK_STOP);
    let mut child = deploy_held_at(&s, &spec, "deploy:before-create");
    signal(&child, libc::SIGKILL);
    let _ = child.wait();

    let lab = crate::support::lab_config(&["lab1"]);
    let mut h = crate::support::Harness::start(&lab);
    // The dashboard's gate with the same state dir as the killed deploy.
    h.tasks.replace_gate(fleetdeck::engine::gate::Gate::new(
        &lab,
        fleetdeck::audit::AuditLog::at(&s.audit),
    ));
    let mut app = fleetdeck::app::App::new(&lab, fleetdeck::ui::Theme::monochrome());
    let journal = fleetdeck::journal::Journal::beside(h.tasks.gate().audit().path());
    let ours: Vec<_> = journal
        .pending()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.service == s.name)
        .collect();
    assert_eq!(ours.len(), 1, "the killed deploy is in the journal");
    app.set_unfinished(ours);
    let said = app.view.message.clone().unwrap_or_default();
    assert!(
        said.starts_with("UNFINISHED deploy of lab1/")
            && said.contains("press d to finish it, b to undo it"),
        "{said}"
    );
    let kept = format!("{}--r1", s.name);
    h.wait_for_with(
        "the kept revision listed",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| crate::support::find(f, "lab1", &kept).is_some(),
    )
    .await;
    // The service has no row of its own now: its kept revision's row stands for it.
    let key = |app: &mut fleetdeck::app::App, c: char| {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    };
    key(&mut app, '2');
    key(&mut app, '/');
    for c in format!("name:{kept}").chars() {
        key(&mut app, c);
    }
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    key(&mut app, 'b');
    let plan = app
        .view
        .plan
        .as_ref()
        .map(|p| p.lines())
        .unwrap_or_default();
    assert!(
        plan.first()
            .is_some_and(|l| l.starts_with("unfinished: deploy of lab1/"))
            && plan.iter().any(|l| l.contains("undo     revision 1")),
        "{plan:?} {:?}",
        app.view.message
    );
    key(&mut app, 'y');
    let batch = match app.commands.pop() {
        Some(fleetdeck::app::Command::Recover { entry, how }) => {
            assert_eq!(how, fleetdeck::journal::Recovery::Undo);
            h.tasks.submit_recover(*entry, how)
        }
        other => panic!("expected a recovery, got {other:?}"),
    };
    h.wait_for_with(
        "the undo done",
        Duration::from_secs(40),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            f.actions
                .get(batch)
                .and_then(|b| b.note.as_deref())
                .is_some_and(|n| n.starts_with("undone:") || n.contains("FAILED"))
        },
    )
    .await;
    assert_eq!(inspect(&s.lab, "lab1", &s.name, "{{.Id}}"), old_id);
    assert_eq!(service_state(&s), (s.v1.clone(), "running".to_string()));
    assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip);
    assert!(journal.find("lab1", &s.name).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once_and_the_journal_lets_rollback_finish_the_reversal() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-twice");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    let slow = write_spec(
        s.dir.path(),
        "slow.toml",
        &format!(
            "name = \"{}\"\nimage = \"{}\"\ncommand = \"{QUICK_STOP}\"\nnetwork = \"fleetnet\"\n\
             ip = \"auto\"\nwait_s = 60\n\n[healthcheck]\ncommand = \"sleep 30\"\ninterval_s = 40\n",
            s.name, s.v2
        ),
    );
    // Both streams, line by line, into one channel.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .arg("--config")
        .arg(&s.config)
        .args(["deploy", slow.to_str().unwrap(), "--to", "lab1", "--yes"])
        .env("FLEETDECK_AUDIT", &s.audit)
        .env("XDG_STATE_HOME", s.audit.parent().unwrap())
        .env("FLEETDECK_FAILPOINT", "deploy:before-restore")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |what: &str| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no \"{what}\" ({e}): {seen:#?}"));
        let found = line.contains(what);
        seen.push(line);
        if found {
            break;
        }
    };
    // The first Ctrl-C while it waits for the new revision; the second while it puts the old
    // one back (held there, with the new one still under the name).
    wait_for("waiting up to");
    signal(&child, libc::SIGINT);
    wait_for("failpoint deploy:before-restore reached");
    signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    wait_for("exiting now");
    assert_eq!(journal_files(&s).len(), 1, "the journal keeps it");
    assert_eq!(
        inspect(&s.lab, "lab1", &s.name, "{{.Config.Image}}"),
        s.v2,
        "cut short with the new revision still under the name"
    );

    let out = s.run(&["rollback", &format!("lab1/{}", s.name), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(service_state(&s), (s.v1.clone(), "running".to_string()));
    assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip);
    assert!(journal_files(&s).is_empty());
    let last = deploy_results(&s).pop().expect("a deploy result line");
    assert_eq!(last.phase, Phase::Interrupted, "{last:?}");
    assert!(
        last.error
            .as_deref()
            .unwrap_or_default()
            .contains("undone later"),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_kept_revision_on_its_address_is_not_an_ip_conflict_in_triage() {
    use fleetdeck::model::triage::{Problem, triage};
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-triage");
    s.deploy_ok(&s.v1, QUICK_STOP);
    s.deploy_ok(&s.v2, QUICK_STOP);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);
    let kept = format!("{}--r1", s.name);
    // The kept revision claims the live one's address, as the daemon itself reports it.
    assert_eq!(
        inspect(
            &s.lab,
            "lab1",
            &kept,
            "{{with index .NetworkSettings.Networks \"fleetnet\"}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}"
        ),
        ip
    );
    let config = fleetdeck::config::parse_file(&s.config).unwrap();
    let mut fleet = fleetdeck::model::Fleet::new(config.endpoints.iter().cloned());
    for msg in fleetdeck::engine::sync_all_once(&config).await {
        fleet.apply(msg);
    }
    assert!(fleet.endpoints.iter().all(|e| e.synced));
    let about_ours: Vec<String> = triage(&fleet, chrono::Utc::now())
        .into_iter()
        .filter(|t| t.problem == Problem::IpConflict && t.detail.contains(&s.name))
        .map(|t| t.detail)
        .collect();
    assert!(about_ours.is_empty(), "{about_ours:?}");

    // A container of another service holding the same address is still a conflict.
    let mut cleanup = crate::support::RemoveOnDrop::new(&s.lab, "lab1");
    let intruder = cleanup.add(format!("{}-other", s.name));
    crate::support::docker(
        &s.lab,
        "lab1",
        &[
            "create",
            "--name",
            &intruder,
            "--network",
            "fleetnet",
            "--ip",
            &ip,
            "busybox:local",
            "true",
        ],
    );
    let mut fleet = fleetdeck::model::Fleet::new(config.endpoints.iter().cloned());
    for msg in fleetdeck::engine::sync_all_once(&config).await {
        fleet.apply(msg);
    }
    let conflicts: Vec<String> = triage(&fleet, chrono::Utc::now())
        .into_iter()
        .filter(|t| t.problem == Problem::IpConflict && t.detail.contains(&intruder))
        .map(|t| t.detail)
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_second_fleetdeck_touches_a_service_while_a_deploy_of_it_is_under_way() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("crash-busy");
    s.deploy_ok(&s.v1, QUICK_STOP);
    let spec = s.spec(&s.v2, QUICK_STOP);
    let child = deploy_held_at(&s, &spec, "deploy:before-create");
    let target = format!("lab1/{}", s.name);
    // Alive and held: its journal record is there, but it is no unfinished one to take over.
    for args in [
        vec!["rollback", target.as_str(), "--yes"],
        vec!["deploy", "--resume", target.as_str(), "--yes"],
        vec!["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"],
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("under way in another fleetdeck process"),
            "{args:?}: {}",
            text(&out)
        );
    }
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(service_state(&s), (s.v1.clone(), "running".to_string()));
    assert!(journal_files(&s).is_empty());
}
