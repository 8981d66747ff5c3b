//! The binary's headless commands against the lab: `check` and `snapshot`.

use std::process::Command;

use crate::support::{docker, lab_config, lab_url, sleeper, unique, write_config};

fn fleetdeck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(args)
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("fleetdeck-test-state"),
        )
        .output()
        .expect("fleetdeck runs")
}

#[test]
fn snapshot_shows_containers_of_every_daemon_as_plain_text() {
    let config = lab_config(&["lab1", "lab2", "lab3"]);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &[
            ("lab1", &lab_url(&config, "lab1"), "lab-a"),
            ("lab2", &lab_url(&config, "lab2"), "lab-a"),
            ("lab3", &lab_url(&config, "lab3"), "lab-b"),
        ],
    );
    let names: Vec<(String, &str)> = ["lab1", "lab2", "lab3"]
        .into_iter()
        .map(|ep| {
            let name = unique(&format!("snap-{ep}"));
            sleeper(&config, ep, &name, 300);
            (name, ep)
        })
        .collect();

    let out = fleetdeck(&[
        "--config",
        path.to_str().unwrap(),
        "snapshot",
        "--view",
        "containers",
        "--width",
        "200",
        "--height",
        "400",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains('\x1b'),
        "snapshot output carries no escape codes"
    );
    for (name, ep) in &names {
        let line = text
            .lines()
            .find(|l| l.contains(name.as_str()))
            .unwrap_or_else(|| panic!("{name} missing from snapshot:\n{text}"));
        assert!(line.contains(ep), "{name} shown on {ep}: {line}");
        assert!(line.contains("running"), "{line}");
    }

    let out = fleetdeck(&[
        "--config",
        path.to_str().unwrap(),
        "snapshot",
        "--view",
        "clusters",
        "--width",
        "80",
        "--height",
        "24",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert_eq!(text.lines().count(), 24);
    assert!(text.lines().all(|l| l.chars().count() <= 80));
    assert!(
        text.contains("lab-a · 2/2 up") && text.contains("lab-b · 1/1 up"),
        "{text}"
    );

    for (name, ep) in &names {
        docker(&config, ep, &["rm", "-f", name]);
    }
}

/// `check` exits on its alert rules: this one says a down endpoint is a warning (exit 1), and
/// nothing else counts (the lab's seeded crash loops and unhealthy containers would).
fn only_endpoint_down(path: &std::path::Path) {
    let mut text = std::fs::read_to_string(path).unwrap();
    text.push_str("[[alert]]\nname = \"down\"\nwhen = \"endpoint down\"\nseverity = \"warning\"\n");
    std::fs::write(path, text).unwrap();
}

#[test]
fn check_and_snapshot_report_a_down_endpoint_and_exit_non_zero() {
    let config = lab_config(&["lab1", "lab2"]);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &[
            ("lab1", &lab_url(&config, "lab1"), "lab-a"),
            ("lab2", &lab_url(&config, "lab2"), "lab-a"),
        ],
    );
    only_endpoint_down(&path);
    let out = fleetdeck(&["--config", path.to_str().unwrap(), "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for ep in ["lab1", "lab2"] {
        let line = text.lines().find(|l| l.starts_with(ep)).unwrap();
        assert!(line.contains(" up ") && line.contains("1.41"), "{line}");
    }

    let path = write_config(
        dir.path(),
        &[
            ("lab1", &lab_url(&config, "lab1"), "lab-a"),
            (
                "ghost",
                "unix:///run/fleetdeck-lab/no-such-daemon.sock",
                "lab-a",
            ),
        ],
    );
    only_endpoint_down(&path);
    let out = fleetdeck(&["--config", path.to_str().unwrap(), "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let ghost = text.lines().find(|l| l.starts_with("ghost")).unwrap();
    assert!(
        ghost.contains("down") && ghost.contains("no-such-daemon.sock not found"),
        "{ghost}"
    );

    let out = fleetdeck(&[
        "--config",
        path.to_str().unwrap(),
        "snapshot",
        "--view",
        "clusters",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("endpoint ghost is down"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✖ down"),
        "the picture is still printed: {text}"
    );
}
