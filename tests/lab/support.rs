//! Shared helpers for tests against the project's Docker lab (`scripts/lab.sh`). The lab must be
//! up: these tests fail loudly, never skip, when it is not.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fleetdeck::config::{self, Config};
use fleetdeck::engine;
use fleetdeck::model::{Fleet, Msg};
use tokio::sync::mpsc;

pub const LAB_CONFIG: &str = "/run/fleetdeck-lab/fleetdeck.toml";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lab's config with tight engine timings, limited to the named endpoints.
/// Panics with instructions when the lab is not up.
pub fn lab_config(endpoints: &[&str]) -> Config {
    assert!(
        Path::new(LAB_CONFIG).exists(),
        "the Docker lab is not up ({LAB_CONFIG} missing): run `scripts/lab.sh up`, \
         or the README's test command, which brings it up"
    );
    let mut config = config::parse_file(Path::new(LAB_CONFIG)).expect("lab config parses");
    config
        .endpoints
        .retain(|e| endpoints.contains(&e.name.as_str()));
    assert_eq!(
        config.endpoints.len(),
        endpoints.len(),
        "lab config lacks some of {endpoints:?}"
    );
    config.engine.ping = Duration::from_secs(1);
    config.engine.backoff_max = Duration::from_secs(1);
    config.engine.request_timeout = Duration::from_secs(5);
    config.engine.resync = Duration::from_secs(30);
    config
}

/// `docker -H <endpoint url> ARGS…` against a lab endpoint; panics on failure.
pub fn docker(config: &Config, endpoint: &str, args: &[&str]) -> String {
    let out = docker_raw(config, endpoint, args);
    assert!(
        out.status.success(),
        "docker {args:?} on {endpoint} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn docker_raw(config: &Config, endpoint: &str, args: &[&str]) -> Output {
    let spec = config
        .endpoints
        .iter()
        .find(|e| e.name == endpoint)
        .unwrap_or_else(|| panic!("no endpoint {endpoint}"));
    Command::new("docker")
        .arg("-H")
        .arg(&spec.url_text)
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

/// `scripts/lab.sh ARGS…`; panics with its output on failure.
pub fn lab_sh(args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/lab.sh"))
        .args(args)
        .output()
        .expect("lab.sh runs");
    assert!(
        out.status.success(),
        "lab.sh {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running engine over some lab endpoints, with the model it feeds.
pub struct Harness {
    pub fleet: Fleet,
    rx: mpsc::Receiver<Msg>,
    pub tasks: fleetdeck::engine::FleetTasks,
}

impl Harness {
    pub fn start(config: &Config) -> Self {
        let (rx, tasks) = engine::spawn_fleet(config, 1024);
        Self {
            fleet: Fleet::new(config.endpoints.iter().cloned()),
            rx,
            tasks,
        }
    }

    /// Applies engine messages until `pred` holds; returns how long that took, or panics with
    /// `what` after `limit`. `on_msg` sees every message (to mirror it into an App, say).
    pub async fn wait_for_with(
        &mut self,
        what: &str,
        limit: Duration,
        mut on_msg: impl FnMut(&Msg),
        pred: impl Fn(&Fleet) -> bool,
    ) -> Duration {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + limit;
        while !pred(&self.fleet) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => {
                    on_msg(&msg);
                    self.fleet.apply(msg);
                }
                Ok(None) => panic!("engine stopped while waiting for: {what}"),
                Err(_) => panic!(
                    "timed out after {limit:?} waiting for: {what}\nendpoints: {:#?}",
                    self.fleet
                        .endpoints
                        .iter()
                        .map(|e| (e.name().to_string(), e.link.clone(), e.containers.len()))
                        .collect::<Vec<_>>()
                ),
            }
        }
        started.elapsed()
    }

    /// The next engine message, applied to the fleet too.
    pub async fn next_msg(&mut self) -> Msg {
        let msg = self.rx.recv().await.expect("engine running");
        self.fleet.apply(msg.clone());
        msg
    }

    /// Hands the engine over (to a real app loop, say) once the harness has synced.
    pub fn into_parts(self) -> (Fleet, mpsc::Receiver<Msg>, fleetdeck::engine::FleetTasks) {
        (self.fleet, self.rx, self.tasks)
    }

    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Fleet) -> bool,
    ) -> Duration {
        self.wait_for_with(what, limit, |_| {}, pred).await
    }
}

/// A container of `fleet` on `endpoint` by name.
pub fn find<'a>(
    fleet: &'a Fleet,
    endpoint: &str,
    name: &str,
) -> Option<&'a fleetdeck::model::Container> {
    let (_, ep) = fleet.endpoint_by_name(endpoint)?;
    ep.containers.values().find(|c| c.name == name)
}

/// A name no earlier run has used, so reruns do not collide with leftovers.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tag = ((std::process::id() << 16) ^ nanos) & 0xff_ffff;
    format!("{prefix}-{tag:06x}")
}

/// Writes a config file for the binary under test and returns its path.
pub fn write_config(dir: &Path, endpoints: &[(&str, &str, &str)]) -> PathBuf {
    let mut text = String::from("[engine]\nrequest_timeout_s = 5\n\n");
    for (name, url, cluster) in endpoints {
        text.push_str(&format!(
            "[[endpoint]]\nname = \"{name}\"\nurl = \"{url}\"\ncluster = \"{cluster}\"\n\n"
        ));
    }
    let path = dir.join("fleetdeck.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

pub fn lab_url(config: &Config, endpoint: &str) -> String {
    config
        .endpoints
        .iter()
        .find(|e| e.name == endpoint)
        .map(|e| e.url_text.clone())
        .unwrap_or_else(|| panic!("no endpoint {endpoint}"))
}

/// A TCP proxy in front of a lab daemon that the test can cut and restore, to disconnect
/// fleetdeck from a daemon that keeps running (events still happen behind the cut).
pub struct Proxy {
    pub port: u16,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = target.to_string();
        let (en, cs) = (enabled.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !en.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                cs.lock().unwrap().push(task);
            }
        });
        Self {
            port,
            enabled,
            conns,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.enabled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.enabled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Tests that change or count the `fleetnet` networks take this, so one does not count while
/// another adds containers.
pub static FLEETNET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
