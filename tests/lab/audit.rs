//! The audit trail from the binary: one record per attempt (a started line and its result, or
//! one refused line), and a fleetdeck killed in the middle of a request leaves its started line,
//! which `fleetdeck audit` shows as interrupted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck::audit::{self, Phase};

use crate::actions::run_quick;
use crate::support::{RemoveOnDrop, lab_config, lab_url, sleeper, unique, write_config};

fn fleetdeck(config: &Path, audit: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetdeck"));
    cmd.arg("--config")
        .arg(config)
        .env("FLEETDECK_AUDIT", audit)
        .env("XDG_STATE_HOME", audit.parent().unwrap());
    cmd
}

#[test]
fn every_attempt_is_audited_and_a_killed_fleetdeck_leaves_an_interrupted_record() {
    let lab = lab_config(&["lab2"]);
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("state/audit.jsonl");
    let config_path = write_config(dir.path(), &[("lab2", &lab_url(&lab, "lab2"), "lab-a")]);

    // One that works, one refused (--read-only), one the daemon rejects.
    let mut cleanup = RemoveOnDrop::new(&lab, "lab2");
    let quick = cleanup.add(unique("audit-ok"));
    run_quick(&lab, "lab2", &quick);
    let target = format!("lab2/{quick}");
    let out = fleetdeck(&config_path, &audit_path)
        .args(["restart", &target, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = fleetdeck(&config_path, &audit_path)
        .args(["--read-only", "kill", &target, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = fleetdeck(&config_path, &audit_path)
        .args(["rm", &target, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let (records, _) = audit::read(&audit_path).unwrap();
    let phases: Vec<_> = records
        .iter()
        .map(|r| (r.action.as_str(), r.phase))
        .collect();
    assert_eq!(
        phases,
        [
            ("restart", Phase::Started),
            ("restart", Phase::Succeeded),
            ("kill", Phase::Refused),
            ("rm", Phase::Started),
            ("rm", Phase::Failed),
        ]
    );
    assert_eq!(records[0].attempt, records[1].attempt);
    assert_ne!(records[1].attempt, records[3].attempt);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    for r in &records {
        assert_eq!(r.host, host.trim());
        assert!(!r.user.is_empty());
        assert_eq!(r.endpoint, "lab2");
        assert_eq!(r.container, quick);
        assert_eq!(r.container_id.len(), 64);
        assert!(r.time().is_some(), "{}", r.time);
    }
    assert_eq!(records[2].params["signal"], "SIGKILL");

    // `sleep` as PID 1 ignores SIGTERM: a stop waits out its whole timeout.
    let stubborn = cleanup.add(unique("audit-stubborn"));
    sleeper(&lab, "lab2", &stubborn, 1000000);
    let mut child = fleetdeck(&config_path, &audit_path)
        .args([
            "stop",
            &format!("lab2/{stubborn}"),
            "--timeout",
            "30",
            "--yes",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (records, _) = audit::read(&audit_path).unwrap();
        if records
            .iter()
            .any(|r| r.container == stubborn && r.phase == Phase::Started)
        {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "fleetdeck ended before it started the stop"
        );
        assert!(Instant::now() < deadline, "no started record within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.try_wait().unwrap().is_none(), "the stop is in flight");
    child.kill().unwrap(); // SIGKILL: no chance to write anything more
    child.wait().unwrap();

    let (records, torn) = audit::read(&audit_path).unwrap();
    assert_eq!(torn, 0);
    let entries = audit::merge(records);
    let stop = entries
        .iter()
        .find(|e| e.first.container == stubborn)
        .unwrap();
    assert!(stop.is_interrupted(), "{stop:?}");
    assert_eq!(stop.first.params["timeout_s"], 30);

    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["audit", "--container", &stubborn])
        .env("FLEETDECK_AUDIT", &audit_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<_> = table.lines().collect();
    assert_eq!(lines.len(), 2, "header and the one attempt:\n{table}");
    assert!(lines[0].starts_with("TIME"));
    assert!(
        lines[1].contains("lab2")
            && lines[1].contains("stop timeout_s=30")
            && lines[1].ends_with("interrupted (no result recorded)"),
        "{table}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["audit", "--since", "1h", "--file"])
        .arg(&audit_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 1 + 4, "{table}");
    for result in [
        "ok",
        "refused: endpoint lab2 is read-only",
        "failed: the container is running",
    ] {
        assert!(table.contains(result), "{result}: {table}");
    }
}

#[test]
fn a_write_that_only_dash_dash_write_allows_is_recorded_as_that_override() {
    let lab = lab_config(&["lab2"]);
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("state/audit.jsonl");
    let config_path = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config_path,
        format!(
            "read_only = true\n\n[[endpoint]]\nname = \"lab2\"\nurl = \"{}\"\n",
            lab_url(&lab, "lab2")
        ),
    )
    .unwrap();
    let mut cleanup = RemoveOnDrop::new(&lab, "lab2");
    let quick = cleanup.add(unique("audit-ovr"));
    run_quick(&lab, "lab2", &quick);
    let target = format!("lab2/{quick}");

    // Without the flag: refused, no override. With it: done, and the record says why it was
    // allowed on an endpoint the config makes read-only.
    let out = fleetdeck(&config_path, &audit_path)
        .args(["restart", &target, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = fleetdeck(&config_path, &audit_path)
        .args(["--write", "restart", &target, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (records, _) = audit::read(&audit_path).unwrap();
    let seen: Vec<(Phase, Option<&str>)> = records
        .iter()
        .map(|r| (r.phase, r.override_by.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (Phase::Refused, None),
            (Phase::Started, Some("--write")),
            (Phase::Succeeded, Some("--write")),
        ]
    );
    let raw = std::fs::read_to_string(&audit_path).unwrap();
    assert!(raw.contains("\"override\":\"--write\""), "{raw}");
    // And `fleetdeck audit` shows it.
    let out = fleetdeck(&config_path, &audit_path)
        .args(["audit"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("restart (override --write)"),
        "{out:?}"
    );
}
