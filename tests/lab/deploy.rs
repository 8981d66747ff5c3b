//! Deploy, update and roll back on the lab, through the real binary: lab1 and lab2 share
//! 192.168.2.0/24 on "fleetnet" (disjoint ip-ranges), lab3 is another cluster. What the tests
//! assert is read back with the docker CLI, never from fleetdeck's own report.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use fleetdeck::audit::{self, Phase};
use fleetdeck::config::Config;

use crate::actions::QUICK_STOP;
use crate::support::{
    FLEETNET, Proxy, RemoveOnDrop, docker, docker_raw, fleetdeck, lab_config, lab_url,
    output_text as text, unique,
};

/// Image tags made for one test from the lab's busybox, removed when dropped.
struct Tags {
    config: Config,
    tags: Vec<(String, String)>,
}

impl Tags {
    fn new(config: &Config) -> Self {
        Self {
            config: config.clone(),
            tags: Vec::new(),
        }
    }

    fn make(&mut self, endpoint: &str, tag: &str) -> String {
        docker(&self.config, endpoint, &["tag", "busybox:local", tag]);
        self.tags.push((endpoint.into(), tag.into()));
        tag.to_string()
    }
}

impl Drop for Tags {
    fn drop(&mut self) {
        for (endpoint, tag) in &self.tags {
            let _ = docker_raw(&self.config, endpoint, &["rmi", tag]);
        }
    }
}

/// A config file for the binary: lab1 and lab2 (cluster lab-a, subnet label), lab3 (lab-b);
/// `extra_lab2` adds labels to lab2.
pub(crate) fn write_lab_config(dir: &Path, lab: &Config, extra_lab2: &str) -> PathBuf {
    let mut text =
        String::from("[engine]\nrequest_timeout_s = 5\n\n[deploy]\nkeep_revisions = 2\n\n");
    for (name, cluster, labels) in [
        ("lab1", "lab-a", "subnet = \"192.168.2.0/24\"".to_string()),
        (
            "lab2",
            "lab-a",
            format!("subnet = \"192.168.2.0/24\"{extra_lab2}"),
        ),
        ("lab3", "lab-b", "subnet = \"192.168.3.0/24\"".to_string()),
    ] {
        text.push_str(&format!(
            "[[endpoint]]\nname = \"{name}\"\nurl = \"{}\"\ncluster = \"{cluster}\"\nlabels = {{ {labels} }}\n\n",
            lab_url(lab, name)
        ));
    }
    let path = dir.join("fleetdeck.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn write_spec(dir: &Path, file: &str, body: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, body).unwrap();
    path
}

/// `docker inspect -f FORMAT NAME` on an endpoint.
pub fn inspect(lab: &Config, endpoint: &str, name: &str, format: &str) -> String {
    docker(lab, endpoint, &["inspect", "-f", format, name])
}

pub fn fleetnet_ip(lab: &Config, endpoint: &str, name: &str) -> String {
    inspect(
        lab,
        endpoint,
        name,
        "{{with index .NetworkSettings.Networks \"fleetnet\"}}{{.IPAddress}}{{end}}",
    )
}

/// Every address of fleetnet that a container on `endpoint` has or claims, as the CLI says.
fn fleetnet_taken(lab: &Config, endpoint: &str) -> BTreeSet<Ipv4Addr> {
    let ids = docker(lab, endpoint, &["ps", "-aq"]);
    let mut out = BTreeSet::new();
    for id in ids.split_whitespace() {
        let Ok(o) = std::str::from_utf8(
            &docker_raw(
                lab,
                endpoint,
                &[
                    "inspect",
                    "-f",
                    "{{with index .NetworkSettings.Networks \"fleetnet\"}}{{.IPAddress}} {{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}",
                    id,
                ],
            )
            .stdout,
        )
        .map(str::to_string) else {
            continue;
        };
        out.extend(
            o.split_whitespace()
                .filter_map(|a| a.parse::<Ipv4Addr>().ok()),
        );
    }
    out
}

/// Gateway, aux addresses and range of fleetnet on an endpoint.
pub(crate) fn fleetnet_pool(lab: &Config, endpoint: &str) -> (BTreeSet<Ipv4Addr>, ipnet::Ipv4Net) {
    let o = docker(
        lab,
        endpoint,
        &[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.IPRange}} {{.Gateway}} {{range $k, $v := .AuxiliaryAddresses}}{{$v}} {{end}}{{end}}",
            "fleetnet",
        ],
    );
    let mut words = o.split_whitespace();
    let range: ipnet::Ipv4Net = words.next().unwrap().parse().unwrap();
    (words.filter_map(|a| a.parse().ok()).collect(), range)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_auto_lands_on_the_labelled_host_with_the_next_free_address_of_the_shared_subnet() {
    let lab = lab_config(&["lab1", "lab2", "lab3"]);
    let _fleetnet = FLEETNET.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let role = unique("role");
    let config = write_lab_config(dir.path(), &lab, &format!(", role = \"{role}\""));
    let audit_path = dir.path().join("audit.jsonl");
    let mut on_lab1 = RemoveOnDrop::new(&lab, "lab1");
    let mut on_lab2 = RemoveOnDrop::new(&lab, "lab2");

    // The oracle: what lab2's range holds, and what lab1 holds or reserves on the same LAN.
    let (lab2_reserved, lab2_range) = fleetnet_pool(&lab, "lab2");
    let (lab1_reserved, _) = fleetnet_pool(&lab, "lab1");
    let free_in_lab2 = |extra: &BTreeSet<Ipv4Addr>| {
        let mut taken = fleetnet_taken(&lab, "lab1");
        taken.extend(fleetnet_taken(&lab, "lab2"));
        taken.extend(&lab2_reserved);
        taken.extend(&lab1_reserved);
        taken.extend(extra);
        lab2_range.hosts().find(|ip| !taken.contains(ip)).unwrap()
    };
    // A stopped container on lab1 claims the address lab2 would hand out next.
    let first = free_in_lab2(&BTreeSet::new());
    let claim = on_lab1.add(unique("dep-claim"));
    docker(
        &lab,
        "lab1",
        &[
            "create",
            "--name",
            &claim,
            "--network",
            "fleetnet",
            "--ip",
            &first.to_string(),
            "busybox:local",
            "true",
        ],
    );
    let expected = free_in_lab2(&BTreeSet::from([first]));
    assert_ne!(expected, first);

    let name = on_lab2.add(unique("dep-auto"));
    let spec = write_spec(
        dir.path(),
        "auto.toml",
        &format!(
            "name = \"{name}\"\nimage = \"busybox:local\"\ncommand = \"sleep 600\"\n\
             network = \"fleetnet\"\nip = \"auto\"\n\n\
             [placement]\ncluster = \"lab-a\"\nlabels = {{ role = \"{role}\" }}\n"
        ),
    );
    let out = fleetdeck(
        &config,
        &audit_path,
        &["deploy", spec.to_str().unwrap(), "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "deploy {name} (busybox:local) to lab2 as revision 1"
        )),
        "{}",
        text(&out)
    );
    assert_eq!(fleetnet_ip(&lab, "lab2", &name), expected.to_string());
    assert_eq!(inspect(&lab, "lab2", &name, "{{.State.Status}}"), "running");
    assert_eq!(
        inspect(
            &lab,
            "lab2",
            &name,
            "{{index .Config.Labels \"fleetdeck.deploy.revision\"}}"
        ),
        "1"
    );
    // Every step is in the audit log, each naming the deploy it is a step of, and the deploy
    // itself is one record around them: started before the first step, succeeded after.
    let (records, _) = audit::read(&audit_path).unwrap();
    let op = records
        .iter()
        .find(|r| r.action == "deploy" && r.phase == Phase::Started)
        .map(|r| r.attempt.clone())
        .expect("the deploy's own record");
    let done: Vec<&str> = records
        .iter()
        .filter(|r| r.phase == Phase::Succeeded)
        .map(|r| r.action.as_str())
        .collect();
    assert_eq!(done, ["create", "start", "deploy"], "{records:?}");
    assert!(
        records
            .iter()
            .filter(|r| r.action != "deploy")
            .all(|r| r.operation.as_deref() == Some(op.as_str())),
        "{records:?}"
    );
}

/// One service on lab1 with two image versions to deploy, everything removed when dropped.
pub struct Service {
    pub lab: Config,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub audit: PathBuf,
    pub name: String,
    pub v1: String,
    pub v2: String,
    _cleanup: RemoveOnDrop,
    _tags: Tags,
}

impl Service {
    pub fn new(prefix: &str) -> Self {
        let lab = lab_config(&["lab1", "lab2", "lab3"]);
        let dir = tempfile::tempdir().unwrap();
        let config = write_lab_config(dir.path(), &lab, "");
        let audit = dir.path().join("audit.jsonl");
        let mut cleanup = RemoveOnDrop::new(&lab, "lab1");
        let name = cleanup.add(unique(prefix));
        for r in 1..=24 {
            cleanup.add(format!("{name}--r{r}"));
        }
        let mut tags = Tags::new(&lab);
        let v1 = tags.make("lab1", &format!("busybox:{name}-v1"));
        let v2 = tags.make("lab1", &format!("busybox:{name}-v2"));
        Self {
            lab,
            dir,
            config,
            audit,
            name,
            v1,
            v2,
            _cleanup: cleanup,
            _tags: tags,
        }
    }

    /// Writes the spec of this service with `image` and `command`.
    pub fn spec(&self, image: &str, command: &str) -> PathBuf {
        write_spec(
            self.dir.path(),
            "s.toml",
            &format!(
                "name = \"{}\"\nimage = \"{image}\"\ncommand = \"{command}\"\n\
                 network = \"fleetnet\"\nip = \"auto\"\nwait_s = 20\n",
                self.name
            ),
        )
    }

    pub fn run(&self, args: &[&str]) -> Output {
        fleetdeck(&self.config, &self.audit, args)
    }

    /// Deploys to lab1 and insists it worked; the plan and progress printed.
    pub fn deploy_ok(&self, image: &str, command: &str) -> String {
        let spec = self.spec(image, command);
        let out = self.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_keeps_the_ip_and_the_previous_revision_and_rollback_restores_the_old_image() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-upd");
    let (lab, name) = (&s.lab, &s.name);
    let (kept1, kept2) = (format!("{name}--r1"), format!("{name}--r2"));

    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(lab, "lab1", name);
    assert!(ip.starts_with("192.168.2."), "{ip}");

    let stdout = s.deploy_ok(&s.v2, QUICK_STOP);
    assert!(
        stdout.contains(&format!("keeps    {kept1} stopped, for rollback")),
        "{stdout}"
    );
    assert_eq!(inspect(lab, "lab1", name, "{{.Config.Image}}"), s.v2);
    assert_eq!(inspect(lab, "lab1", name, "{{.State.Status}}"), "running");
    assert_eq!(fleetnet_ip(lab, "lab1", name), ip, "the address is kept");
    assert_eq!(inspect(lab, "lab1", &kept1, "{{.Config.Image}}"), s.v1);
    assert_eq!(inspect(lab, "lab1", &kept1, "{{.State.Status}}"), "exited");
    assert_eq!(
        inspect(
            lab,
            "lab1",
            &kept1,
            "{{index .Config.Labels \"fleetdeck.deploy.revision\"}} {{index .Config.Labels \"fleetdeck.deploy.image\"}}"
        ),
        format!("1 {}", s.v1)
    );

    // The manual rollback: revision 1 runs again, on the same address; revision 2 is kept.
    let out = s.run(&["rollback", &format!("lab1/{name}"), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(inspect(lab, "lab1", name, "{{.Config.Image}}"), s.v1);
    assert_eq!(inspect(lab, "lab1", name, "{{.State.Status}}"), "running");
    assert_eq!(fleetnet_ip(lab, "lab1", name), ip);
    assert_eq!(inspect(lab, "lab1", &kept2, "{{.Config.Image}}"), s.v2);
    assert_eq!(inspect(lab, "lab1", &kept2, "{{.State.Status}}"), "exited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_whose_new_container_exits_at_once_is_rolled_back_automatically() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-bad");
    let (lab, name) = (&s.lab, &s.name);

    s.deploy_ok(&s.v1, QUICK_STOP);
    let ip = fleetnet_ip(lab, "lab1", name);
    let old_id = inspect(lab, "lab1", name, "{{.Id}}");

    let spec = s.spec(&s.v2, "exit 3");
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "ROLLED BACK: revision 2 failed: exited with code 3; {name} runs the previous revision again at {ip}"
        )),
        "{}",
        text(&out)
    );
    // The old container, by id, runs again under its name and on its address; the failed one
    // is gone, and no kept revision is left behind.
    assert_eq!(inspect(lab, "lab1", name, "{{.Id}}"), old_id);
    assert_eq!(inspect(lab, "lab1", name, "{{.State.Status}}"), "running");
    assert_eq!(inspect(lab, "lab1", name, "{{.Config.Image}}"), s.v1);
    assert_eq!(fleetnet_ip(lab, "lab1", name), ip);
    let service = docker(
        lab,
        "lab1",
        &[
            "ps",
            "-a",
            "--filter",
            &format!("label=fleetdeck.deploy.service={name}"),
            "--format",
            "{{.Names}}",
        ],
    );
    assert_eq!(&service, name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_to_a_read_only_endpoint_sends_nothing() {
    let lab = lab_config(&["lab3"]);
    let locked = Proxy::start("10.203.3.2:2375").await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let config = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\nrequest_timeout_s = 5\n\n[[endpoint]]\nname = \"ro3\"\nurl = \"{}\"\n\
             cluster = \"locked\"\nread_only = true\n",
            locked.url()
        ),
    )
    .unwrap();
    let mut cleanup = RemoveOnDrop::new(&lab, "lab3");
    let name = cleanup.add(unique("dep-ro"));
    // One spec whose image is there (the first change would be a create), one whose image is
    // not (the first change would be a pull).
    for image in ["busybox:local", &format!("busybox:{name}-absent")] {
        let spec = write_spec(
            dir.path(),
            "ro.toml",
            &format!("name = \"{name}\"\nimage = \"{image}\"\ncommand = \"sleep 60\"\n"),
        );
        let out = fleetdeck(
            &config,
            &audit_path,
            &["deploy", spec.to_str().unwrap(), "--to", "ro3", "--yes"],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("REFUSED: "),
            "{}",
            text(&out)
        );
    }
    let heard = locked.requests();
    assert!(
        heard.iter().any(|r| r.contains("/containers/json")),
        "the proxy recorded the listing: {heard:?}"
    );
    let changing: Vec<&String> = heard
        .iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect();
    assert!(changing.is_empty(), "{changing:?}");
    assert!(
        !docker(&lab, "lab3", &["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .any(|n| n == name)
    );
    let (records, _) = audit::read(&audit_path).unwrap();
    let refused: Vec<(&str, Phase)> = records
        .iter()
        .map(|r| (r.action.as_str(), r.phase))
        .collect();
    assert_eq!(
        refused,
        [("create", Phase::Refused), ("pull", Phase::Refused)]
    );
}

/// Types into the dashboard: each char a key press.
fn type_keys(app: &mut fleetdeck::app::App, text: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in text.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn press(app: &mut fleetdeck::app::App, code: crossterm::event::KeyCode) {
    use crossterm::event::{KeyEvent, KeyModifiers};
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Hands the app's queued deploy or rollback to the engine, as the app loop does.
fn submit(app: &mut fleetdeck::app::App, tasks: &mut fleetdeck::engine::FleetTasks) -> u64 {
    match app.commands.pop() {
        Some(fleetdeck::app::Command::Deploy { plan }) => tasks.submit_deploy(*plan),
        Some(fleetdeck::app::Command::Rollback { plan }) => tasks.submit_rollback(*plan),
        other => panic!("expected a deploy or rollback, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_deploys_updates_and_rolls_back_with_the_form_and_the_b_key() {
    use crossterm::event::KeyCode;
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-tui");
    let lab = lab_config(&["lab1"]);
    let mut h = crate::support::Harness::start(&lab);
    let mut app = fleetdeck::app::App::new(&lab, fleetdeck::ui::Theme::monochrome());
    h.wait_for_with(
        "lab1 synced",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| f.endpoints[0].synced,
    )
    .await;

    // A blank form (nothing selected), filled in field by field.
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('/'));
    type_keys(&mut app, &format!("name:{}", s.name));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('d'));
    type_keys(&mut app, &s.name);
    press(&mut app, KeyCode::Tab);
    type_keys(&mut app, &s.v1);
    press(&mut app, KeyCode::Tab);
    type_keys(&mut app, QUICK_STOP);
    press(&mut app, KeyCode::Tab);
    type_keys(&mut app, "fleetnet");
    press(&mut app, KeyCode::Enter);
    assert!(
        app.view.plan.is_some(),
        "{:?}",
        app.view.deploy_form.as_ref().map(|f| &f.problems)
    );
    press(&mut app, KeyCode::Char('y'));
    let batch = submit(&mut app, &mut h.tasks);
    let deployed = |f: &fleetdeck::model::Fleet, batch: u64, what: &str| {
        f.actions
            .get(batch)
            .and_then(|b| b.note.as_deref())
            .is_some_and(|n| n.starts_with(what))
    };
    h.wait_for_with(
        "the deploy done",
        Duration::from_secs(40),
        |m| {
            app.apply(m.clone());
        },
        |f| deployed(f, batch, "deployed:"),
    )
    .await;
    assert_eq!(inspect(&s.lab, "lab1", &s.name, "{{.Config.Image}}"), s.v1);
    let ip = fleetnet_ip(&s.lab, "lab1", &s.name);

    // d on the running service: the form comes prefilled; only the image changes.
    h.wait_for_with(
        "the new container listed",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            crate::support::find(f, "lab1", &s.name)
                .is_some_and(|c| c.state == fleetdeck::model::ContainerState::Running)
        },
    )
    .await;
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Tab);
    for _ in 0..60 {
        press(&mut app, KeyCode::Backspace);
    }
    type_keys(&mut app, &s.v2);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('y'));
    let batch = submit(&mut app, &mut h.tasks);
    h.wait_for_with(
        "the update done",
        Duration::from_secs(40),
        |m| {
            app.apply(m.clone());
        },
        |f| deployed(f, batch, "deployed:"),
    )
    .await;
    assert_eq!(inspect(&s.lab, "lab1", &s.name, "{{.Config.Image}}"), s.v2);
    assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip);

    // b: back to revision 1, once the kept revision is in the model.
    let kept = format!("{}--r1", s.name);
    h.wait_for_with(
        "the kept revision listed",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            crate::support::find(f, "lab1", &kept)
                .is_some_and(|c| c.state == fleetdeck::model::ContainerState::Exited)
                && crate::support::find(f, "lab1", &s.name)
                    .is_some_and(|c| c.state == fleetdeck::model::ContainerState::Running)
        },
    )
    .await;
    press(&mut app, KeyCode::Char('b'));
    assert!(app.view.plan.is_some(), "{:?}", app.view.message);
    press(&mut app, KeyCode::Char('y'));
    let batch = submit(&mut app, &mut h.tasks);
    h.wait_for_with(
        "the rollback done",
        Duration::from_secs(40),
        |m| {
            app.apply(m.clone());
        },
        |f| deployed(f, batch, "rolled back:"),
    )
    .await;
    assert_eq!(inspect(&s.lab, "lab1", &s.name, "{{.Config.Image}}"), s.v1);
    assert_eq!(
        inspect(&s.lab, "lab1", &s.name, "{{.State.Status}}"),
        "running"
    );
    assert_eq!(fleetnet_ip(&s.lab, "lab1", &s.name), ip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pull_is_a_clear_error_and_changes_nothing() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-pull");
    let (lab, name) = (&s.lab, &s.name);
    s.deploy_ok(&s.v1, QUICK_STOP);
    let old_id = inspect(lab, "lab1", name, "{{.Id}}");
    // No registry is reachable from the lab: this image can only fail to pull.
    let absent = format!("busybox:{name}-absent");
    let spec = s.spec(&absent, QUICK_STOP);
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("image    ") && stdout.contains("(not on the host: will be pulled)"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(&format!("FAILED: pull of {absent} failed: "))
            && stdout.contains("; nothing was changed"),
        "{}",
        text(&out)
    );
    assert_eq!(inspect(lab, "lab1", name, "{{.Id}}"), old_id);
    assert_eq!(inspect(lab, "lab1", name, "{{.State.Status}}"), "running");
    assert!(
        !docker(lab, "lab1", &["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .any(|n| n == format!("{name}--r1")),
        "the running revision was not touched"
    );
}

/// A network of the test's own on lab1, with a fixed address for the container made by
/// hand; removed when dropped (after the test's containers, which are removed before it).
pub(crate) struct SecondNetwork {
    lab: Config,
    pub(crate) name: String,
    pub(crate) ip: String,
}

impl SecondNetwork {
    /// Subnet 10.251.OCTET.0/24: each test its own OCTET.
    pub(crate) fn new(s: &Service, octet: u8) -> Self {
        let name = format!("{}-net", s.name);
        // What an earlier run left behind holds the subnet.
        let label = format!("fleetdeck-test-net={octet}");
        let old = docker(
            &s.lab,
            "lab1",
            &["network", "ls", "-q", "--filter", &format!("label={label}")],
        );
        for id in old.split_whitespace() {
            let users = docker(
                &s.lab,
                "lab1",
                &["ps", "-aq", "--filter", &format!("network={id}")],
            );
            for c in users.split_whitespace() {
                let _ = docker_raw(&s.lab, "lab1", &["rm", "-f", c]);
            }
            let _ = docker_raw(&s.lab, "lab1", &["network", "rm", id]);
        }
        docker(
            &s.lab,
            "lab1",
            &[
                "network",
                "create",
                "--label",
                &label,
                "--subnet",
                &format!("10.251.{octet}.0/24"),
                &name,
            ],
        );
        Self {
            lab: s.lab.clone(),
            name,
            ip: format!("10.251.{octet}.7"),
        }
    }
}

impl Drop for SecondNetwork {
    fn drop(&mut self) {
        // A test that failed half-way leaves its containers on it.
        if let Ok(users) = std::str::from_utf8(
            &docker_raw(
                &self.lab,
                "lab1",
                &["ps", "-aq", "--filter", &format!("network={}", self.name)],
            )
            .stdout,
        ) {
            for c in users.split_whitespace() {
                let _ = docker_raw(&self.lab, "lab1", &["rm", "-f", c]);
            }
        }
        let _ = docker_raw(&self.lab, "lab1", &["network", "rm", &self.name]);
    }
}

/// Each network of a container: its fixed address and the aliases it was given (less the
/// short id Docker adds), as the CLI reports them.
pub(crate) fn networks_section(lab: &Config, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&inspect(
        lab,
        "lab1",
        name,
        "{{json .NetworkSettings.Networks}}",
    ))
    .unwrap();
    let mut out = serde_json::Map::new();
    for (net, ep) in v.as_object().unwrap() {
        let mut aliases: Vec<String> = ep["Aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .filter(|a| !(a.len() == 12 && a.chars().all(|c| c.is_ascii_hexdigit())) && *a != name)
            .map(str::to_string)
            .collect();
        aliases.sort();
        let fixed = ep["IPAMConfig"]["IPv4Address"].as_str().unwrap_or_default();
        let address = if fixed.is_empty() {
            ""
        } else {
            ep["IPAddress"].as_str().unwrap_or_default()
        };
        out.insert(
            net.clone(),
            serde_json::json!({ "fixed": fixed, "address": address, "aliases": aliases }),
        );
    }
    serde_json::Value::Object(out)
}

/// A container made the way operators make them by hand, with every common option, on the
/// default bridge and on `net` with a fixed address and an alias.
pub(crate) fn run_by_hand(
    s: &Service,
    image: &str,
    volume: &str,
    bind_dir: &Path,
    net: &SecondNetwork,
) {
    run_by_hand_with(s, image, volume, bind_dir, net, &[]);
}

/// [`run_by_hand`] with `extra` options before the image.
pub(crate) fn run_by_hand_with(
    s: &Service,
    image: &str,
    volume: &str,
    bind_dir: &Path,
    net: &SecondNetwork,
    extra: &[&str],
) {
    run_by_hand_on(s, image, volume, bind_dir, extra);
    docker(
        &s.lab,
        "lab1",
        &[
            "network",
            "connect",
            "--ip",
            &net.ip,
            "--alias",
            "byhand-alias",
            &net.name,
            &s.name,
        ],
    );
}

fn run_by_hand_on(
    s: &Service,
    image: &str,
    volume: &str,
    bind_dir: &Path,
    extra: &[&str],
) -> String {
    let bind = format!("{}:/host", bind_dir.display());
    let volume = format!("{volume}:/data");
    let mut args = vec![
        "run",
        "-d",
        "--name",
        &s.name,
        "-e",
        "MODE=prod",
        "-e",
        "DB_PASSWORD=hunter2",
        "-p",
        "127.0.0.1:18089:80",
        "-p",
        "127.0.0.1:18090:90/udp",
        "-v",
        &volume,
        "-v",
        &bind,
        "--restart",
        "always",
        "--health-cmd",
        "true",
        "--health-interval",
        "2s",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--user",
        "1000",
        "--workdir",
        "/tmp",
        "--hostname",
        "byhand",
        "--add-host",
        "db.internal:10.9.9.9",
        "--dns",
        "10.9.9.53",
        "--cap-add",
        "NET_ADMIN",
        "--log-opt",
        "max-size=1m",
        "--label",
        "team=shop",
    ];
    args.extend(extra);
    args.extend([image, "sh", "-c", QUICK_STOP]);
    docker(&s.lab, "lab1", &args)
}

/// `docker inspect` of a section, as JSON, less what differs between any two containers.
pub(crate) fn section(lab: &Config, name: &str, what: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&inspect(
        lab,
        "lab1",
        name,
        &format!("{{{{json .{what}}}}}"),
    ))
    .unwrap();
    if what == "Config"
        && let Some(labels) = v.get_mut("Labels").and_then(|l| l.as_object_mut())
    {
        labels.retain(|k, _| !k.starts_with("fleetdeck.deploy."));
    }
    // The daemon lists mounts in no particular order: order is no setting.
    if what == "Mounts"
        && let Some(mounts) = v.as_array_mut()
    {
        mounts.sort_by_key(|m| m["Destination"].as_str().unwrap_or_default().to_string());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_a_container_made_by_hand_keeps_every_setting_it_had() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-carry");
    let (lab, name) = (&s.lab, &s.name);
    let bind_dir = s.dir.path().join("host");
    std::fs::create_dir_all(&bind_dir).unwrap();
    let volume = format!("{name}-data");
    let net = SecondNetwork::new(&s, 1);
    run_by_hand(&s, &s.v1, &volume, &bind_dir, &net);
    let before: Vec<serde_json::Value> = ["Config", "HostConfig", "Mounts"]
        .iter()
        .map(|w| section(lab, name, w))
        .collect();
    let networks_before = networks_section(lab, name);
    assert_eq!(
        networks_before[&net.name]["fixed"],
        net.ip.as_str(),
        "{networks_before}"
    );
    let old_id = inspect(lab, "lab1", name, "{{.Id}}");

    // The same image, the spec naming only the service and its command: nothing to drop.
    let spec = write_spec(
        s.dir.path(),
        "byhand.toml",
        &format!(
            "name = \"{name}\"\nimage = \"{}\"\ncommand = \"{QUICK_STOP}\"\nwait_s = 30\n",
            s.v1
        ),
    );
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The plan reads the running revision: the same settings, nothing to change or drop.
    assert!(
        text(&out).contains("changes  none: the same settings, a new revision")
            && text(&out).contains(&format!(
                "joins    {} ({}, aliases byhand-alias",
                net.name, net.ip
            )),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("DROPS"), "{}", text(&out));
    assert_ne!(
        inspect(lab, "lab1", name, "{{.Id}}"),
        old_id,
        "a new container"
    );
    let after: Vec<serde_json::Value> = ["Config", "HostConfig", "Mounts"]
        .iter()
        .map(|w| section(lab, name, w))
        .collect();
    for (what, (b, a)) in ["Config", "HostConfig", "Mounts"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        assert_eq!(b, a, "{what} changed:\nbefore {b}\nafter  {a}");
    }
    assert_eq!(networks_section(lab, name), networks_before, "its networks");
    assert_eq!(
        inspect(lab, "lab1", name, "{{.State.Health.Status}}"),
        "healthy"
    );
    let _ = docker_raw(lab, "lab1", &["rm", "-f", &format!("{name}--r0")]);
    let _ = docker_raw(lab, "lab1", &["rm", "-f", name]);
    let _ = docker_raw(lab, "lab1", &["volume", "rm", &volume]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_would_drop_a_setting_is_refused_naming_it_unless_accepted() {
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-loss");
    let (lab, name) = (&s.lab, &s.name);
    // On the host's own network stack: no container network can keep that.
    docker(
        lab,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-e",
            "DB_PASSWORD=hunter2",
            "--restart",
            "always",
            "--user",
            "1000",
            &s.v1,
            "sh",
            "-c",
            QUICK_STOP,
        ],
    );
    let old_id = inspect(lab, "lab1", name, "{{.Id}}");
    // The spec moves it to fleetnet: its host networking cannot come along.
    let spec = s.spec(&s.v2, QUICK_STOP);
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("DROPS    network mode host"), "{report}");
    assert!(report.contains("--accept-loss"), "{report}");
    assert!(
        !report.contains("hunter2"),
        "an env value was shown:\n{report}"
    );
    assert_eq!(inspect(lab, "lab1", name, "{{.Id}}"), old_id, "untouched");
    assert_eq!(inspect(lab, "lab1", name, "{{.State.Status}}"), "running");

    // The dashboard's way in, a plan without the operator's acceptance: refused by the engine.
    let config = fleetdeck::config::parse_file(&s.config).unwrap();
    let mut fleet = fleetdeck::model::Fleet::new(config.endpoints.iter().cloned());
    for msg in fleetdeck::engine::sync_all_once(&config).await {
        fleet.apply(msg);
    }
    let spec_model = fleetdeck::config::deploy::load_spec(&spec, 20).unwrap();
    let plan = fleetdeck::model::deploy::plan(
        &spec_model,
        &fleet,
        Some(&fleetdeck::model::deploy::placement::DeployTarget::parse("lab1").unwrap()),
        2,
        &fleetdeck::model::deploy::Deployer {
            who: "test@lab".into(),
            at: chrono::Utc::now(),
        },
    )
    .unwrap();
    let gate =
        fleetdeck::engine::gate::Gate::new(&config, fleetdeck::audit::AuditLog::at(&s.audit));
    let result = fleetdeck::engine::deploy::deploy(
        &gate,
        &plan,
        &|_| {},
        &fleetdeck::engine::deploy::Interrupt::never(),
    )
    .await;
    match result {
        fleetdeck::engine::deploy::DeployResult::Refused { reason } => {
            assert!(reason.contains("network mode host"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(inspect(lab, "lab1", name, "{{.Id}}"), old_id);

    // Accepted: it goes ahead, on fleetnet, with everything else carried over.
    let out = s.run(&[
        "deploy",
        spec.to_str().unwrap(),
        "--to",
        "lab1",
        "--yes",
        "--accept-loss",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("(accepted: --accept-loss)"),
        "{}",
        text(&out)
    );
    assert_eq!(inspect(lab, "lab1", name, "{{.Config.Image}}"), s.v2);
    assert!(fleetnet_ip(lab, "lab1", name).starts_with("192.168.2."));
    assert_eq!(
        inspect(
            lab,
            "lab1",
            name,
            "{{.HostConfig.RestartPolicy.Name}} {{.Config.User}} {{range .Config.Env}}{{.}} {{end}}"
        ),
        format!(
            "always 1000 {}",
            inspect(
                lab,
                "lab1",
                &format!("{name}--r0"),
                "{{range .Config.Env}}{{.}} {{end}}"
            )
        )
    );
    let _ = docker_raw(lab, "lab1", &["rm", "-f", &format!("{name}--r0")]);
    let _ = docker_raw(lab, "lab1", &["rm", "-f", name]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_form_updates_a_container_made_by_hand_keeping_every_setting() {
    use crossterm::event::KeyCode;
    let _fleetnet = FLEETNET.lock().await;
    let s = Service::new("dep-carry-tui");
    let (lab, name) = (&s.lab, &s.name);
    let bind_dir = s.dir.path().join("host");
    std::fs::create_dir_all(&bind_dir).unwrap();
    let volume = format!("{name}-data");
    let net = SecondNetwork::new(&s, 2);
    run_by_hand(&s, &s.v1, &volume, &bind_dir, &net);
    let before: Vec<serde_json::Value> = ["Config", "HostConfig", "Mounts"]
        .iter()
        .map(|w| section(lab, name, w))
        .collect();
    let networks_before = networks_section(lab, name);
    let old_id = inspect(lab, "lab1", name, "{{.Id}}");

    let lab1 = lab_config(&["lab1"]);
    let mut h = crate::support::Harness::start(&lab1);
    h.tasks.replace_gate(fleetdeck::engine::gate::Gate::new(
        &lab1,
        fleetdeck::audit::AuditLog::at(&s.audit),
    ));
    let mut app = fleetdeck::app::App::new(&lab1, fleetdeck::ui::Theme::monochrome());
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('/'));
    type_keys(&mut app, &format!("name:{name}"));
    press(&mut app, KeyCode::Enter);
    h.wait_for_with(
        "the container listed with its detail",
        Duration::from_secs(20),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            crate::support::find(f, "lab1", name).is_some_and(|c| {
                c.state == fleetdeck::model::ContainerState::Running && !c.detail.command.is_empty()
            })
        },
    )
    .await;
    // d on it, the form as it comes (same image), Enter for the plan: the engine reads the
    // running revision and the plan shows what changes (nothing), then y.
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Enter);
    assert!(
        app.view.plan.is_some(),
        "{:?} {:?}",
        app.view.deploy_form.as_ref().map(|f| &f.problems),
        app.view.message
    );
    match app.commands.pop() {
        Some(fleetdeck::app::Command::ReviewDeploy { plan }) => h.tasks.review_deploy(*plan),
        other => panic!("expected the plan to be read first, got {other:?}"),
    }
    let reviewed = std::cell::Cell::new(false);
    h.wait_for_with(
        "the plan read against the running revision",
        Duration::from_secs(20),
        |m| {
            if matches!(m.kind, fleetdeck::model::MsgKind::DeployReviewed(_)) {
                reviewed.set(true);
            }
            app.apply(m.clone());
        },
        |_| reviewed.get(),
    )
    .await;
    let shown = match &app.view.plan {
        Some(work) => work.lines().join("\n"),
        None => String::new(),
    };
    assert!(
        shown.contains("changes  none: the same settings, a new revision")
            && shown.contains(&format!("joins    {} ({}", net.name, net.ip))
            && !shown.contains("DROPS"),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('y'));
    let batch = submit(&mut app, &mut h.tasks);
    h.wait_for_with(
        "the update done",
        Duration::from_secs(60),
        |m| {
            app.apply(m.clone());
        },
        |f| {
            f.actions
                .get(batch)
                .and_then(|b| b.note.as_deref())
                .is_some_and(|n| {
                    n.starts_with("deployed:") || n.contains("FAILED") || n.contains("refused")
                })
        },
    )
    .await;
    let note = h
        .fleet
        .actions
        .get(batch)
        .and_then(|b| b.note.clone())
        .unwrap_or_default();
    assert!(note.starts_with("deployed:"), "{note}");
    assert_ne!(
        inspect(lab, "lab1", name, "{{.Id}}"),
        old_id,
        "a new container"
    );
    let after: Vec<serde_json::Value> = ["Config", "HostConfig", "Mounts"]
        .iter()
        .map(|w| section(lab, name, w))
        .collect();
    for (what, (b, a)) in ["Config", "HostConfig", "Mounts"]
        .iter()
        .zip(before.iter().zip(&after))
    {
        assert_eq!(b, a, "{what} changed:\nbefore {b}\nafter  {a}");
    }
    assert_eq!(networks_section(lab, name), networks_before, "its networks");
    let _ = docker_raw(lab, "lab1", &["rm", "-f", &format!("{name}--r0")]);
    let _ = docker_raw(lab, "lab1", &["rm", "-f", name]);
    let _ = docker_raw(lab, "lab1", &["volume", "rm", &volume]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_that_names_no_network_leaves_a_container_on_its_own_network_and_address() {
    let s = Service::new("dep-first-net");
    let (lab, name) = (&s.lab, &s.name);
    let net = SecondNetwork::new(&s, 3);
    docker(
        lab,
        "lab1",
        &[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            &net.name,
            "--ip",
            &net.ip,
            "-e",
            "MODE=prod",
            &s.v1,
            "sh",
            "-c",
            QUICK_STOP,
        ],
    );
    let networks_before = networks_section(lab, name);
    let spec = write_spec(
        s.dir.path(),
        "first-net.toml",
        &format!(
            "name = \"{name}\"\nimage = \"{}\"\ncommand = \"{QUICK_STOP}\"\nwait_s = 30\n",
            s.v2
        ),
    );
    let out = s.run(&["deploy", spec.to_str().unwrap(), "--to", "lab1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("network  {}", net.name))
            && text(&out).contains(&format!("changes  ~ Image {} → {}", s.v1, s.v2))
            && !text(&out).contains("network bridge"),
        "{}",
        text(&out)
    );
    assert_eq!(inspect(lab, "lab1", name, "{{.Config.Image}}"), s.v2);
    assert_eq!(
        networks_section(lab, name),
        networks_before,
        "its network and address"
    );
    let _ = docker_raw(lab, "lab1", &["rm", "-f", &format!("{name}--r0")]);
    let _ = docker_raw(lab, "lab1", &["rm", "-f", name]);
}
