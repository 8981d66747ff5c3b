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

/// `docker run -d --name NAME busybox:local sleep SECS` on `endpoint`: a container that stays
/// up (and, as PID 1 without a handler, ignores SIGTERM). Returns its id.
pub fn sleeper(config: &Config, endpoint: &str, name: &str, secs: u32) -> String {
    let secs = secs.to_string();
    docker(
        config,
        endpoint,
        &["run", "-d", "--name", name, "busybox:local", "sleep", &secs],
    )
}

/// The daemon's clock now (`docker system info`'s SystemTime), for `docker events --since`.
pub fn daemon_time(config: &Config, endpoint: &str) -> String {
    docker(
        config,
        endpoint,
        &["system", "info", "-f", "{{.SystemTime}}"],
    )
}

/// The actions of `event` events the daemon logged for `container` from `since` (a time or a
/// duration back, as `docker events` takes it) until now by its clock, a line each.
pub fn daemon_events(
    config: &Config,
    endpoint: &str,
    since: &str,
    container: &str,
    event: &str,
) -> String {
    let until = daemon_time(config, endpoint);
    docker(
        config,
        endpoint,
        &[
            "events",
            "--since",
            since,
            "--until",
            &until,
            "--filter",
            &format!("container={container}"),
            "--filter",
            &format!("event={event}"),
            "--format",
            "{{.Action}}",
        ],
    )
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

    /// Applies whatever the engine sends for `d`: a measuring window, not a wait for a
    /// condition (use `wait_for` for that).
    pub async fn pump_for(&mut self, d: Duration) {
        self.pump_for_with(d, |_| {}).await;
    }

    /// As [`Harness::pump_for`], showing `on_msg` every message.
    pub async fn pump_for_with(&mut self, d: Duration, mut on_msg: impl FnMut(&Msg)) {
        let _ = tokio::time::timeout(d, async {
            loop {
                let msg = self.next_msg().await;
                on_msg(&msg);
            }
        })
        .await;
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
/// fleetdeck from a daemon that keeps running (events still happen behind the cut). It also
/// records the request line (`METHOD PATH`) of every HTTP request it forwards, so a test can
/// prove what did, and did not, reach the daemon.
pub struct Proxy {
    pub port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        Self::start_delayed(target, Duration::ZERO).await
    }

    /// Like [`Proxy::start`], but holds every HTTP request for `delay` before passing it on:
    /// a daemon that takes seconds per request.
    pub async fn start_delayed(target: &str, delay: Duration) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = target.to_string();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (en, cs, rq, n) = (
            enabled.clone(),
            conns.clone(),
            requests.clone(),
            accepted.clone(),
        );
        let accept = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                n.fetch_add(1, Ordering::SeqCst);
                if !en.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                let target = target.clone();
                let rq = rq.clone();
                let task = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(&target).await {
                        relay_recording(inbound, outbound, rq, delay).await;
                    }
                });
                cs.lock().unwrap().push(task);
            }
        });
        Self {
            port,
            requests,
            enabled,
            conns,
            accepted,
            accept,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Every request forwarded so far, as `METHOD PATH` (query included), in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
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

/// Forwards both ways; on the way to the daemon, notes each HTTP request line. The scan looks
/// at every line start, bodies included, so it can only over-report requests, never miss one.
async fn relay_recording(
    inbound: tokio::net::TcpStream,
    outbound: tokio::net::TcpStream,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    delay: Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_rd, mut client_wr) = inbound.into_split();
    let (mut daemon_rd, mut daemon_wr) = outbound.into_split();
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut line: Vec<u8> = Vec::new();
        loop {
            let n = match client_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut held = false;
            for &b in &buf[..n] {
                if b == b'\n' {
                    if let Some(req) = request_line(&line) {
                        requests.lock().unwrap().push(req);
                        if !delay.is_zero() && !held {
                            held = true;
                            tokio::time::sleep(delay).await;
                        }
                    }
                    line.clear();
                } else if line.len() < 8192 {
                    line.push(b);
                }
            }
            if daemon_wr.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = daemon_wr.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut daemon_rd, &mut client_wr).await;
        let _ = client_wr.shutdown().await;
    };
    tokio::join!(up, down);
}

/// `METHOD PATH` of an HTTP/1 request line (`POST /v1.41/containers/x/stop?t=3 HTTP/1.1`).
fn request_line(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = text.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    let is_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    (is_method && path.starts_with('/') && version.starts_with("HTTP/1."))
        .then(|| format!("{method} {path}"))
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// An input stream fed by the test that records how long each key waited to be read.
pub struct TimedKeys {
    pub rx: tokio::sync::mpsc::UnboundedReceiver<(Instant, crossterm::event::Event)>,
    pub waits: std::sync::Arc<std::sync::Mutex<Vec<Duration>>>,
}

impl futures::Stream for TimedKeys {
    type Item = std::io::Result<crossterm::event::Event>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some((sent, ev))) => {
                self.waits.lock().unwrap().push(sent.elapsed());
                std::task::Poll::Ready(Some(Ok(ev)))
            }
            std::task::Poll::Ready(None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

/// Tests that change or count the `fleetnet` networks take this, so one does not count while
/// another adds containers.
pub static FLEETNET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Removes the named containers when dropped, so a failing test leaves nothing running that
/// would load the next run (a test that panics never reaches its own `docker rm`).
pub struct RemoveOnDrop {
    config: Config,
    endpoint: String,
    names: Vec<String>,
}

impl RemoveOnDrop {
    pub fn new(config: &Config, endpoint: &str) -> Self {
        Self {
            config: config.clone(),
            endpoint: endpoint.to_string(),
            names: Vec::new(),
        }
    }

    /// Adds a name and returns it.
    pub fn add(&mut self, name: String) -> String {
        self.names.push(name.clone());
        name
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let mut args = vec!["rm", "-f"];
        args.extend(self.names.iter().map(String::as_str));
        let _ = docker_raw(&self.config, &self.endpoint, &args);
    }
}

/// The binary under test with this config and audit file (its state dir beside the audit file).
pub fn fleetdeck(config: &Path, audit: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FLEETDECK_AUDIT", audit)
        .env("XDG_STATE_HOME", audit.parent().unwrap())
        .output()
        .expect("fleetdeck runs")
}

/// Exit code, stdout and stderr of a run, for assertion messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the real dashboard loop (20 fps, no shutdown signal) on a test terminal of
/// `width`x`height` until `input` quits it; answers the terminal, for its screen.
pub async fn run_dashboard<I>(
    app: &mut fleetdeck::app::App,
    input: I,
    rx: mpsc::Receiver<Msg>,
    mut effects: fleetdeck::app::Effects<'_>,
    (width, height): (u16, u16),
) -> ratatui::Terminal<ratatui::backend::TestBackend>
where
    I: futures::Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin,
{
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("a test terminal");
    fleetdeck::app::run(
        &mut term,
        app,
        input,
        rx,
        20,
        std::future::pending(),
        &mut effects,
    )
    .await
    .expect("the dashboard loop ends cleanly");
    term
}
