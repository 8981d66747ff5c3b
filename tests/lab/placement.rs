//! Placement by the daemons' own labels, through the real binary. `scripts/lab.sh` starts lab1
//! and lab2 (one pool, 192.168.2.0/24) with engine labels subnet=192.168.2.0/24 and dc=us-east
//! / dc=us-west, while the config written here says dc=lab for both: a service can only land
//! where the test expects if the daemons' labels are what placement read. lab5, the Swarm
//! manager, has node labels tier=edge, dc=swarm-east. Where a service landed is read back with
//! the docker CLI.

use std::path::{Path, PathBuf};
use std::process::Output;

use fleetdeck::config::Config;

use crate::deploy::{fleetnet_ip, inspect, write_spec};
use crate::support::{
    FLEETNET, RemoveOnDrop, docker, fleetdeck, lab_config, lab_url, output_text as text, unique,
};

const LAB5: &str = "unix:///run/fleetdeck-lab/lab5/docker.sock";

/// lab1 and lab2 in cluster lab-a with the lab config's labels (subnet, dc = "lab"), and
/// lab5 alone in cluster swarm.
fn write_config(dir: &Path, lab: &Config) -> PathBuf {
    let mut text = String::from("[engine]\nrequest_timeout_s = 5\n\n");
    for (name, url, cluster) in [
        ("lab1", lab_url(lab, "lab1"), "lab-a"),
        ("lab2", lab_url(lab, "lab2"), "lab-a"),
        ("lab5", LAB5.to_string(), "swarm"),
    ] {
        text.push_str(&format!(
            "[[endpoint]]\nname = \"{name}\"\nurl = \"{url}\"\ncluster = \"{cluster}\"\n\
             labels = {{ subnet = \"192.168.2.0/24\", dc = \"lab\" }}\n\n"
        ));
    }
    let path = dir.join("fleetdeck.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The lab must have been started with the engine labels these tests rely on.
fn assert_engine_labels(lab: &Config) {
    for (endpoint, dc) in [("lab1", "us-east"), ("lab2", "us-west")] {
        let labels = docker(lab, endpoint, &["info", "--format", "{{.Labels}}"]);
        assert!(
            labels.contains("subnet=192.168.2.0/24") && labels.contains(&format!("dc={dc}")),
            "{endpoint}'s engine labels are {labels}: restart the lab (scripts/lab.sh down && \
             scripts/lab.sh up) so its daemons carry the labels scripts/lab.sh gives them"
        );
    }
}

/// Whether a container of that name exists on the endpoint, running or not.
fn exists(lab: &Config, endpoint: &str, name: &str) -> bool {
    !docker(
        lab,
        endpoint,
        &["ps", "-aq", "--filter", &format!("name=^/{name}$")],
    )
    .is_empty()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_placed_by_engine_labels_lands_on_the_daemon_that_carries_them() {
    let lab = lab_config(&["lab1", "lab2"]);
    assert_engine_labels(&lab);
    let _fleetnet = FLEETNET.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &lab);
    let audit = dir.path().join("audit.jsonl");
    let mut on_lab1 = RemoveOnDrop::new(&lab, "lab1");
    let mut on_lab2 = RemoveOnDrop::new(&lab, "lab2");
    // Deploys a sleeper named PREFIX-… with the spec's REST, insists it worked; it is removed
    // from both hosts at the end, wherever it landed.
    let mut deploy_ok = |prefix: &str, rest: &str| {
        let name = on_lab1.add(unique(prefix));
        on_lab2.add(name.clone());
        let spec = write_spec(
            dir.path(),
            &format!("{prefix}.toml"),
            &format!(
                "name = \"{name}\"\nimage = \"busybox:local\"\ncommand = \"sleep 600\"\n\
                 wait_s = 20\n{rest}"
            ),
        );
        let out = fleetdeck(
            &config,
            &audit,
            &["deploy", spec.to_str().unwrap(), "--yes"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (name, stdout(&out))
    };

    // On the shared pool, a constraint picks lab2 whichever host is less loaded.
    let (west, printed) = deploy_ok(
        "place-west",
        "network = \"fleetnet\"\nip = \"auto\"\n\n[placement]\ncluster = \"lab-a\"\n\
         labels = { subnet = \"192.168.2.0/24\" }\n\
         constraints = [\"engine.labels.dc == us-west\", \"engine.labels.dc != eu\"]\n",
    );
    assert!(
        printed.contains(
            "  host     lab2 (cluster lab-a: subnet=192.168.2.0/24, engine.labels.dc == \
             us-west, engine.labels.dc != eu matches lab2; the only one up; matched by lab2's \
             engine labels)"
        ),
        "{printed}"
    );
    assert_eq!(inspect(&lab, "lab2", &west, "{{.State.Status}}"), "running");
    let ip: std::net::Ipv4Addr = fleetnet_ip(&lab, "lab2", &west).parse().unwrap();
    assert!(
        "192.168.2.64/26"
            .parse::<ipnet::Ipv4Net>()
            .unwrap()
            .contains(&ip),
        "{ip} is outside lab2's range of the shared pool"
    );
    assert!(!exists(&lab, "lab1", &west));

    // A labels rule reads the engine's dc (the config says dc = "lab" for both).
    let (east, printed) = deploy_ok(
        "place-east",
        "\n[placement]\ncluster = \"lab-a\"\nlabels = { dc = \"us-east\" }\n",
    );
    assert!(
        printed.contains("matched by lab1's engine labels"),
        "{printed}"
    );
    assert_eq!(inspect(&lab, "lab1", &east, "{{.State.Status}}"), "running");
    assert!(!exists(&lab, "lab2", &east));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_daemon_that_breaks_a_constraint_is_refused_and_nothing_is_created() {
    let lab = lab_config(&["lab1", "lab2"]);
    assert_engine_labels(&lab);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &lab);
    let audit = dir.path().join("audit.jsonl");
    let mut on_lab1 = RemoveOnDrop::new(&lab, "lab1");
    let name = on_lab1.add(unique("place-refused"));
    let spec = write_spec(
        dir.path(),
        "s.toml",
        &format!(
            "name = \"{name}\"\nimage = \"busybox:local\"\ncommand = \"sleep 600\"\n\n\
             [placement]\ncluster = \"lab-a\"\nconstraints = [\"engine.labels.dc == us-west\"]\n"
        ),
    );
    let out = fleetdeck(
        &config,
        &audit,
        &["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: placement.constraints[0]: engine.labels.dc == us-west does not hold on lab1 \
             (--to lab1): lab1 has engine label dc=us-east",
            spec.display()
        )) && stderr.contains("nothing was done"),
        "{}",
        text(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", text(&out));
    assert!(!exists(&lab, "lab1", &name));
    assert!(!exists(&lab, "lab2", &name));
    let (records, _) = fleetdeck::audit::read(&audit).unwrap();
    assert!(records.is_empty(), "{records:?}");
}

/// lab5 is left to the Swarm tests: the plan is only printed (no --yes and no terminal to
/// confirm on), never carried out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_labels_of_a_swarm_manager_place_and_a_standalone_daemon_has_none() {
    let lab = lab_config(&["lab1", "lab2"]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &lab);
    let audit = dir.path().join("audit.jsonl");
    let name = unique("place-node");
    let spec = |constraint: &str| {
        write_spec(
            dir.path(),
            "s.toml",
            &format!(
                "name = \"{name}\"\nimage = \"busybox:local\"\n\n\
                 [placement]\nconstraints = [\"{constraint}\"]\n"
            ),
        )
    };
    let plan = |constraint: &str, to: &str| {
        let path = spec(constraint);
        fleetdeck(
            &config,
            &audit,
            &["deploy", path.to_str().unwrap(), "--to", to],
        )
    };

    let out = plan("node.labels.tier == edge", "@swarm");
    assert!(
        stdout(&out).contains(&format!(
            "deploy {name} (busybox:local) to lab5 as revision 1\n  host     lab5 (cluster \
             swarm: node.labels.tier == edge matches lab5; the only one up)"
        )),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stdin is not a terminal"),
        "{}",
        text(&out)
    );

    let out = plan("node.labels.tier == core", "@swarm");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "placement.constraints: no endpoint of cluster swarm has node.labels.tier == core: \
             lab5 has node label tier=edge"
        ),
        "{}",
        text(&out)
    );

    // lab1 is no Swarm node: == fails, != holds, as in Swarm.
    let out = plan("node.labels.tier == edge", "lab1");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("lab1 is not a Swarm node whose labels are known"),
        "{}",
        text(&out)
    );
    let out = plan("node.labels.tier != edge", "lab1");
    assert!(
        stdout(&out).contains("  host     lab1 (--to lab1; node.labels.tier != edge holds)"),
        "{}",
        text(&out)
    );
    assert!(!exists(&lab, "lab1", &name));
    let (records, _) = fleetdeck::audit::read(&audit).unwrap();
    assert!(records.is_empty(), "{records:?}");
}
