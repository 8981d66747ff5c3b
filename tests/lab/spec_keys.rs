//! The spec keys that describe real services (volumes, user, hostname, extra hosts, DNS,
//! capabilities, log options, stop signal and timeout, further networks) on lab1, and
//! `deploy --from`, which writes a running container's spec. What the tests assert is read
//! back with the docker CLI.

use std::path::Path;

use crate::actions::QUICK_STOP;
use crate::deploy::{
    SecondNetwork, Service, inspect, networks_section, run_by_hand_with, section, write_spec,
};
use crate::support::{FLEETNET, docker, docker_raw, output_text as text};

const SECTIONS: [&str; 3] = ["Config", "HostConfig", "Mounts"];

fn sections(s: &Service) -> Vec<serde_json::Value> {
    SECTIONS
        .iter()
        .map(|w| section(&s.lab, &s.name, w))
        .collect()
}

fn assert_same(before: &[serde_json::Value], after: &[serde_json::Value]) {
    for (what, (b, a)) in SECTIONS.iter().zip(before.iter().zip(after)) {
        assert_eq!(b, a, "{what} changed:\nbefore {b}\nafter  {a}");
    }
}

/// The plan's `changes` lines: the first, and the ones indented under it.
fn changes(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Some(first) = line.strip_prefix("  changes  ") {
            out.push(first.to_string());
        } else if !out.is_empty() {
            match line.strip_prefix("           ") {
                Some(more) => out.push(more.to_string()),
                None => break,
            }
        }
    }
    out
}

/// Removes what a test made beside its containers (the service's own are removed by it).
fn remove_all(s: &Service, volumes: &[&str]) {
    let names = docker(
        &s.lab,
        "lab1",
        &["ps", "-aq", "--filter", &format!("name=^{}", s.name)],
    );
    for id in names.split_whitespace() {
        let _ = docker_raw(&s.lab, "lab1", &["rm", "-f", id]);
    }
    for v in volumes {
        let _ = docker_raw(&s.lab, "lab1", &["volume", "rm", v]);
    }
}

fn keys_spec(
    s: &Service,
    net: &SecondNetwork,
    volume: &str,
    bind_dir: &Path,
    mode: &str,
    caps: &str,
) -> String {
    format!(
        r#"name = "{name}"
image = "{image}"
command = "{QUICK_STOP}"
env = {{ MODE = "{mode}", TOKEN = "s3cret-token" }}
network = "fleetnet"
ip = "auto"
networks = [{{ name = "{net}", ip = "{ip}", aliases = ["keys-alias"] }}]
volumes = ["{volume}:/data", "{bind}:/host:ro"]
user = "1000:1000"
working_dir = "/tmp"
hostname = "keys-host"
extra_hosts = ["db.internal:10.9.9.9"]
dns = ["10.9.9.53"]
cap_add = [{caps}]
stop_signal = "SIGQUIT"
stop_timeout_s = 7
wait_s = 30

[log]
driver = "json-file"
options = {{ max-size = "1m" }}
"#,
        name = s.name,
        image = s.v1,
        net = net.name,
        ip = net.ip,
        bind = bind_dir.display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_with_the_docker_run_keys_deploys_redeploys_unchanged_and_shows_an_edit() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("spec-keys");
    let (lab, name) = (&s.lab, &s.name);
    let net = SecondNetwork::new(&s, 3);
    let bind_dir = s.dir.path().join("host");
    std::fs::create_dir_all(&bind_dir).unwrap();
    let volume = format!("{name}-data");
    let spec = write_spec(
        s.dir.path(),
        "keys.toml",
        &keys_spec(
            &s,
            &net,
            &volume,
            &bind_dir,
            "live",
            "\"NET_ADMIN\", \"SYS_TIME\"",
        ),
    );
    let deploy = || s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);

    let out = deploy();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = |format: &str| inspect(lab, "lab1", name, format);
    assert_eq!(
        got(
            "{{.Config.User}} {{.Config.WorkingDir}} {{.Config.Hostname}} {{.Config.StopSignal}} {{.Config.StopTimeout}}"
        ),
        "1000:1000 /tmp keys-host SIGQUIT 7"
    );
    assert_eq!(
        got("{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}} {{json .HostConfig.CapAdd}}"),
        r#"["db.internal:10.9.9.9"] ["10.9.9.53"] ["CAP_NET_ADMIN","CAP_SYS_TIME"]"#
    );
    assert_eq!(
        got("{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}"),
        "json-file 1m"
    );
    let mounts = section(lab, name, "Mounts");
    assert_eq!(mounts[0]["Type"], "volume", "{mounts}");
    assert_eq!(mounts[0]["Name"], volume.as_str(), "{mounts}");
    assert_eq!(mounts[0]["Destination"], "/data", "{mounts}");
    assert_eq!(mounts[1]["Type"], "bind", "{mounts}");
    assert_eq!(mounts[1]["Destination"], "/host", "{mounts}");
    assert_eq!(mounts[1]["RW"], false, "{mounts}");
    let networks = networks_section(lab, name);
    assert_eq!(networks[&net.name]["fixed"], net.ip.as_str(), "{networks}");
    assert!(
        networks[&net.name]["aliases"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("keys-alias")),
        "{networks}"
    );
    assert!(
        networks["fleetnet"]["address"]
            .as_str()
            .unwrap()
            .starts_with("192.168.2.")
    );

    // The same spec again: a new revision, nothing changed.
    let before = sections(&s);
    let out = deploy();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        changes(&stdout),
        ["none: the same settings, a new revision"],
        "{}",
        text(&out)
    );
    assert!(!stdout.contains("DROPS"), "{}", text(&out));
    assert_same(&before, &sections(&s));
    assert_eq!(networks_section(lab, name), networks);

    // One env value changed and one capability dropped: exactly those two lines, the value
    // never shown.
    write_spec(
        s.dir.path(),
        "keys.toml",
        &keys_spec(&s, &net, &volume, &bind_dir, "test", "\"NET_ADMIN\""),
    );
    let out = deploy();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        changes(&stdout),
        [
            "~ Env MODE (value changed)",
            "~ HostConfig.CapAdd CAP_NET_ADMIN, CAP_SYS_TIME → CAP_NET_ADMIN",
        ],
        "{}",
        text(&out)
    );
    for secret in ["live", "test", "s3cret"] {
        assert!(
            !text(&out).contains(&format!("={secret}")),
            "{}",
            text(&out)
        );
    }
    assert!(got("{{range .Config.Env}}{{.}} {{end}}").contains("MODE=test "));
    assert_eq!(got("{{json .HostConfig.CapAdd}}"), r#"["CAP_NET_ADMIN"]"#);
    assert_eq!(
        got("{{.Config.Hostname}} {{.Config.StopTimeout}}"),
        "keys-host 7"
    );
    assert_eq!(networks_section(lab, name), networks);
    remove_all(&s, &[&volume]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_from_writes_a_spec_that_deploys_back_onto_the_container_unchanged() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("spec-from");
    let (lab, name) = (&s.lab, &s.name);
    let net = SecondNetwork::new(&s, 4);
    let bind_dir = s.dir.path().join("host");
    std::fs::create_dir_all(&bind_dir).unwrap();
    let volume = format!("{name}-data");
    let mounted = format!("{name}-more");
    let mount = format!("type=volume,src={mounted},dst=/more");
    run_by_hand_with(
        &s,
        &s.v1,
        &volume,
        &bind_dir,
        &net,
        &[
            "--entrypoint",
            "env",
            "--stop-signal",
            "SIGQUIT",
            "--stop-timeout",
            "7",
            "--cap-drop",
            "MKNOD",
            "--mount",
            &mount,
            "--tmpfs",
            "/scratch",
            "-p",
            "91",
        ],
    );
    let before = sections(&s);
    let networks_before = networks_section(lab, name);

    // Argument mistakes first: exit 2 for the syntax and the endpoint, 1 for no container.
    for (args, code) in [
        (&["deploy", "--from", "lab1"][..], 2),
        (&["deploy", "--from", "lab9/x"], 2),
        (&["deploy", "--from", "lab1/x", "spec.toml"], 2),
        (&["deploy", "--from", "lab1/x", "--yes"], 2),
        (&["deploy", "--from", "lab1/no-such-container-here"], 1),
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out));
    }

    let out = s.run(&["deploy", "--from", &format!("lab1/{name}")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "# Env values are written in clear",
        "# not expressible in a spec, carried over by updates: tmpfs /scratch",
        "# not expressible in a spec, carried over by updates: port 91/tcp published on a host \
         port Docker picks",
        &format!("name = \"{name}\"\n"),
        "env.DB_PASSWORD = \"hunter2\"\n",
        "command = [\"sh\", \"-c\", ",
        "entrypoint = [\"env\"]\n",
        "hostname = \"byhand\"\n",
        "cap_drop = [\"CAP_MKNOD\"]\n",
        &format!(
            "{{ name = \"{}\", ip = \"{}\", aliases = [\"byhand-alias\"] }}",
            net.name, net.ip
        ),
        &format!("\"{mounted}:/more\""),
        "[placement]\nendpoint = \"lab1\"\n",
    ] {
        assert!(
            written.contains(expected),
            "{expected:?} missing:\n{written}"
        );
    }
    assert!(!written.contains("fleetdeck.deploy"), "{written}");
    let spec = write_spec(s.dir.path(), "from.toml", &written);

    // Deployed onto the container it came from: nothing changes, nothing is dropped.
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{written}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        changes(&stdout),
        ["none: the same settings, a new revision"],
        "{}\n{written}",
        text(&out)
    );
    assert!(!stdout.contains("DROPS"), "{}", text(&out));
    assert_same(&before, &sections(&s));
    assert_eq!(networks_section(lab, name), networks_before, "its networks");
    assert_eq!(
        inspect(lab, "lab1", name, "{{.State.Health.Status}}"),
        "healthy"
    );

    // Now fleetdeck's service: read again, the same spec; deployed again (the spec now
    // describes the whole service), still no change.
    let out = s.run(&["deploy", "--from", &format!("lab1/{name}")]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        written,
        "{}",
        text(&out)
    );
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        changes(&String::from_utf8_lossy(&out.stdout)),
        ["none: the same settings, a new revision"],
        "{}",
        text(&out)
    );
    assert_same(&before, &sections(&s));
    assert_eq!(networks_section(lab, name), networks_before, "its networks");
    remove_all(&s, &[&volume, &mounted]);
}
