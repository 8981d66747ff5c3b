//! `fleetdeck check` as a monitoring probe against the lab: a container of ours that exits 3
//! makes it exit with the rule's severity and name the alert in `--json`; once the container
//! is gone it exits 0. The rules scope only containers named `fdarc-…`, so other tests'
//! containers on lab1 do not count.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    RemoveOnDrop, docker, fleetdeck, lab_config, lab_url, output_text, unique, write_config,
};

/// A config for lab1 with one rule over our own containers, of `severity`.
fn config_with_rule(dir: &Path, url: &str, severity: &str) -> std::path::PathBuf {
    config_with(dir, url, "fdarc-exit", "exited nonzero", severity)
}

fn config_with(
    dir: &Path,
    url: &str,
    name: &str,
    when: &str,
    severity: &str,
) -> std::path::PathBuf {
    let path = write_config(dir, &[("lab1", url, "lab-a")]);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "[alerts]\ndefaults = false\n\n[[alert]]\nname = \"{name}\"\nscope = \"name:fdarc-\"\n\
         when = \"{when}\"\nseverity = \"{severity}\"\n"
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// `docker run -d --name NAME OPTIONS busybox:local sh -c SCRIPT` on lab1.
fn run_shell(config: &fleetdeck::config::Config, name: &str, options: &[&str], script: &str) {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(options);
    args.extend_from_slice(&["busybox:local", "sh", "-c", script]);
    docker(config, "lab1", &args);
}

fn wait_exited(config: &fleetdeck::config::Config, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = docker(
            config,
            "lab1",
            &["inspect", "-f", "{{.State.Status}}", name],
        );
        if state == "exited" {
            return;
        }
        assert!(Instant::now() < deadline, "{name} still {state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn alerts_check_a_container_exiting_3_fires_with_its_severity_then_clears() {
    let config = lab_config(&["lab1"]);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let url = lab_url(&config, "lab1");
    let critical = config_with_rule(dir.path(), &url, "critical");
    let warning_dir = tempfile::tempdir().unwrap();
    let warning = config_with_rule(warning_dir.path(), &url, "warning");

    // Nothing of ours fails yet: OK.
    let out = fleetdeck(&critical, &audit, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));

    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("fdarc-exit3"));
    run_shell(&config, &name, &[], "exit 3");
    wait_exited(&config, &name);

    let out = fleetdeck(&critical, &audit, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["endpoints"][0]["name"], "lab1");
    assert_eq!(doc["endpoints"][0]["status"], "up");
    let alerts = doc["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{doc:#}");
    let a = &alerts[0];
    assert_eq!(a["rule"], "fdarc-exit");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["state"], "firing");
    assert_eq!(a["subject"], format!("lab1/{name}"));
    assert_eq!(a["endpoint"], "lab1");
    assert_eq!(a["container"], name.as_str());
    assert_eq!(a["value"], 3.0);
    assert!(
        a["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("CRITICAL lab1/{name}: fdarc-exit (Exited (3)")),
        "{a}"
    );

    // The table says the same; a warning rule makes it exit 1.
    let out = fleetdeck(&critical, &audit, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with("CRITICAL"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("fdarc-exit") && row.contains(&name), "{row}");
    let out = fleetdeck(&warning, &audit, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));

    // Removed: OK again.
    docker(&config, "lab1", &["rm", "-f", &name]);
    let out = fleetdeck(&critical, &audit, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["alerts"], serde_json::json!([]));
}

#[test]
fn alerts_check_a_metric_rule_reads_a_round_of_stats() {
    let config = lab_config(&["lab1"]);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let url = lab_url(&config, "lab1");
    let path = config_with(dir.path(), &url, "fdarc-mem", "memory_pct > 50", "warning");
    let mut cleanup = RemoveOnDrop::new(&config, "lab1");
    let name = cleanup.add(unique("fdarc-mem"));
    // 12 MiB of tmpfs pages (memory the cgroup cannot reclaim) under a 16 MiB limit.
    run_shell(
        &config,
        &name,
        &["-m", "16m"],
        "head -c 12582912 /dev/zero > /dev/shm/fill && sleep 300",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let doc = loop {
        let out = fleetdeck(&path, &audit, &["check", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if out.status.code() == Some(1) {
            break doc;
        }
        // The fill may not be done at the first probe.
        assert!(Instant::now() < deadline, "{}", output_text(&out));
    };
    let a = &doc["alerts"][0];
    assert_eq!(a["rule"], "fdarc-mem");
    assert_eq!(a["subject"], format!("lab1/{name}"));
    let value = a["value"].as_f64().unwrap();
    assert!((50.0..=100.0).contains(&value), "{a}");
}
