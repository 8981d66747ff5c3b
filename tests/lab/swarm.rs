//! Swarm services on lab5, a single-node Swarm manager that `scripts/lab.sh up` (or `swarm`)
//! starts beside the fleet and that no other test sees. An image update and Swarm's own
//! rollback, asked for through fleetdeck and observed with the docker CLI.

use std::process::Command;

use crate::support::{fleetdeck, output_text as text, unique};

const LAB5: &str = "unix:///run/fleetdeck-lab/lab5/docker.sock";

fn d5(args: &[&str]) -> String {
    let out = Command::new("docker")
        .arg("-H")
        .arg(LAB5)
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?} on lab5 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the service and the image tag when dropped.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in [
            vec!["service", "rm", self.0.as_str()],
            vec!["rmi", self.1.as_str()],
        ] {
            let _ = Command::new("docker")
                .arg("-H")
                .arg(LAB5)
                .args(&args)
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_image_update_and_swarms_rollback_are_observed_with_the_docker_cli() {
    let state = Command::new("docker")
        .args(["-H", LAB5, "info", "--format", "{{.Swarm.LocalNodeState}}"])
        .output()
        .expect("the docker CLI runs");
    assert_eq!(
        String::from_utf8_lossy(&state.stdout).trim(),
        "active",
        "lab5 is not an active Swarm manager: run `scripts/lab.sh swarm` (part of `up`)"
    );
    let name = unique("svc");
    let v2 = format!("busybox:{name}-v2");
    let _cleanup = Cleanup(name.clone(), v2.clone());
    // No registry: the new version must exist on the node already.
    d5(&["tag", "busybox:local", &v2]);
    d5(&[
        "service",
        "create",
        "--detach",
        "--name",
        &name,
        "--stop-grace-period",
        "1s",
        // The new version is tagged on lab5 only; lab7, the swarm's worker, lacks it.
        "--constraint",
        "node.role==manager",
        "busybox:local",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config,
        format!("[[endpoint]]\nname = \"lab5\"\nurl = \"{LAB5}\"\n"),
    )
    .unwrap();
    let audit = dir.path().join("audit.jsonl");
    let run = |args: &[&str]| fleetdeck(&config, &audit, args);
    let image = || {
        d5(&[
            "service",
            "inspect",
            "-f",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            &name,
        ])
    };
    let running = || {
        d5(&[
            "service",
            "ps",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Image}} {{.CurrentState}}",
            &name,
        ])
    };

    let out = run(&["service", "ls", "lab5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&name),
        "{}",
        text(&out)
    );

    let target = format!("lab5/{name}");
    let out = run(&[
        "service", "update", &target, "--image", &v2, "--yes", "--wait", "60",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("done: lab5/{name} runs {v2}")),
        "{}",
        text(&out)
    );
    assert!(image().starts_with(&v2), "{}", image());
    assert!(
        running().starts_with(&format!("{v2} Running")),
        "{}",
        running()
    );
    // Swarm keeps the previous spec for its rollback.
    assert!(
        d5(&[
            "service",
            "inspect",
            "-f",
            "{{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}",
            &name
        ])
        .starts_with("busybox:local")
    );

    let out = run(&["service", "rollback", &target, "--yes", "--wait", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(image().starts_with("busybox:local"), "{}", image());
    assert!(
        running().starts_with("busybox:local Running"),
        "{}",
        running()
    );
    assert_eq!(
        d5(&["service", "inspect", "-f", "{{.UpdateStatus.State}}", &name]),
        "rollback_completed"
    );
    // Both changes are on the record.
    let (records, _) = fleetdeck::audit::read(&audit).unwrap();
    let done: Vec<&str> = records
        .iter()
        .filter(|r| r.phase == fleetdeck::audit::Phase::Succeeded)
        .map(|r| r.action.as_str())
        .collect();
    assert_eq!(done, ["service-update", "service-rollback"]);
}
