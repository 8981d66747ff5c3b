//! The InfluxDB export against a real server: Debian's `victoria-metrics`, which accepts the
//! InfluxDB v2 write API (`/api/v2/write`) and gives points back via `/api/v1/export`
//! (measurement `m` and field `f` become the metric `m_f`; tags become labels).
//!
//! Each test starts its own VictoriaMetrics on 127.0.0.1 (free port, data in a temp dir) and
//! kills it on drop. There is no skipping: without the binary the tests fail and say how to get
//! it (`scripts/lab.sh up` installs it).
//!
//! VictoriaMetrics caches the series a label filter matched, misses included, so asking again
//! and again with the same `match[]` for a series that does not exist yet can keep answering
//! "nothing" long after the points were stored. Every read here adds a matcher that is new each
//! time (`nonce!="N"`, true for every series) so each poll really looks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use fleetdeck::config::{InfluxSettings, InfluxToken};
use fleetdeck::export::{
    ContainerTags, DataPoint, ExportStatus, Exporter, ExporterHandle, container_point,
    endpoint_point,
};
use fleetdeck::model::stats::{Aggregate, StatsSample};

/// Overrides where the binary is looked for.
const BINARY_ENV: &str = "FLEETDECK_VICTORIA_METRICS";
/// Generous: a loaded CI machine. The happy paths take a few seconds.
const DEADLINE: Duration = Duration::from_secs(20);
/// What "instant" means for `offer`: it takes microseconds; this only has to be far below any
/// network round trip or timeout.
const INSTANT: Duration = Duration::from_millis(20);

// ------------------------------------------------------------ the server --

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os(BINARY_ENV) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("victoria-metrics"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "victoria-metrics not found in PATH or /usr/bin: these tests need a real server. \
                 Install it with `apt-get install victoria-metrics` (scripts/lab.sh up does), \
                 or point {BINARY_ENV} at the binary."
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One VictoriaMetrics process; stopped and started again on the same port and data.
struct Victoria {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl Victoria {
    fn start() -> Self {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Self {
        let mut vm = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        vm.launch();
        vm
    }

    fn prefix(&self) -> &str {
        self.extra
            .iter()
            .find_map(|a| a.strip_prefix("-http.pathPrefix="))
            .unwrap_or("")
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("victoria-metrics.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Starts the process and waits until `/health` answers.
    fn launch(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(binary())
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg(format!(
                "-storageDataPath={}",
                self.dir.path().join("data").display()
            ))
            // Points are visible to queries as soon as they are stored, not 30 s later.
            .arg("-search.latencyOffset=0s")
            .arg("-memory.allowedPercent=5")
            .arg("-loggerLevel=WARN")
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "victoria-metrics exited with {status} on port {}:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            if matches!(
                http_get(self.port, &format!("{}/health", self.prefix())),
                Ok((200, _))
            ) {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "victoria-metrics not healthy after {DEADLINE:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGKILL: the server vanishes, connections are refused.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid} failed");
    }

    /// SIGSTOP: the kernel still accepts connections, nobody answers. A stalled server.
    fn pause(&self) {
        self.signal("-STOP");
    }

    fn resume(&self) {
        self.signal("-CONT");
    }

    /// Series matching `selector` (inner matchers, without braces), read fresh.
    fn export(&self, selector: &str) -> Vec<Series> {
        static NONCE: AtomicU64 = AtomicU64::new(0);
        let nonce = NONCE.fetch_add(1, Ordering::Relaxed);
        let query = format!("{{{selector},nonce!=\"{nonce}\"}}");
        let path = format!("/api/v1/export?match%5B%5D={}", percent_encode(&query));
        let (status, body) = http_get(self.port, &path).unwrap();
        assert_eq!(status, 200, "export: {body}");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, serde::Deserialize)]
struct Series {
    metric: BTreeMap<String, String>,
    values: Vec<f64>,
    timestamps: Vec<i64>,
}

impl Series {
    fn name(&self) -> &str {
        &self.metric["__name__"]
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET: status and body. Timeouts so a stopped server fails the call, not
/// the test run.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

// ----------------------------------------------------------------- helpers --

/// Polls `check` until it gives a value or `DEADLINE` passes; the failure names what was awaited
/// and the last thing seen.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if started.elapsed() > DEADLINE => {
                panic!("timed out after {DEADLINE:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn settings(url: &str, queue_capacity: usize) -> InfluxSettings {
    InfluxSettings {
        url: url.to_string(),
        org: "fleetdeck".into(),
        bucket: "test".into(),
        token_env: "FLEETDECK_TEST_TOKEN".into(),
        token: InfluxToken::new("test-token"),
        interval: Duration::from_secs(1),
        queue_capacity,
        request_timeout: Duration::from_secs(1),
    }
}

/// A runtime on its own worker thread, as the app has: the test thread plays the UI and may
/// block on polling without starving the exporter.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn start(rt: &tokio::runtime::Runtime, settings: &InfluxSettings) -> ExporterHandle {
    let _guard = rt.enter();
    Exporter::start(settings).unwrap()
}

fn sample(at: DateTime<Utc>, pids: u64) -> StatsSample {
    StatsSample {
        at,
        cpu_pct: 12.5,
        mem_used: 64 << 20,
        mem_limit: 512 << 20,
        mem_pct: 12.5,
        net_rx_bps: 1000.0,
        net_tx_bps: 250.0,
        blk_read_bps: 0.0,
        blk_write_bps: 4096.0,
        pids,
    }
}

fn tags(container: &str) -> ContainerTags<'_> {
    ContainerTags {
        endpoint: "lab1",
        cluster: "lab-a",
        container,
        image: "busybox:local",
        short_id: "0123456789ab",
    }
}

/// Offers `points`, asserting that the call returned at once.
fn offer_now(handle: &ExporterHandle, points: impl IntoIterator<Item = DataPoint>) {
    let t = Instant::now();
    handle.offer(points);
    let took = t.elapsed();
    assert!(took < INSTANT, "offer took {took:?}");
}

fn status_where(
    handle: &ExporterHandle,
    what: &str,
    ok: impl Fn(&ExportStatus) -> bool,
) -> ExportStatus {
    wait_for(what, || {
        let s = handle.status();
        if ok(&s) { Ok(s) } else { Err(format!("{s:?}")) }
    })
}

/// The `pids` values stored for one container: each test point carries its sequence number there.
fn pids_of(vm: &Victoria, container: &str) -> BTreeSet<i64> {
    vm.export(&format!(
        "__name__=\"container_pids\",container=\"{container}\""
    ))
    .iter()
    .flat_map(|s| s.values.iter().map(|v| *v as i64))
    .collect()
}

// ------------------------------------------------------------------- tests --

#[test]
fn points_of_two_containers_arrive_with_their_tags() {
    let t0 = Instant::now();
    let vm = Victoria::start();
    let rt = runtime();
    let handle = start(&rt, &settings(&vm.url(), 1000));

    let at = Utc::now();
    let web = ContainerTags {
        short_id: "aaaaaaaaaaaa",
        ..tags("web-1")
    };
    let db = ContainerTags {
        endpoint: "lab3",
        cluster: "lab-b",
        container: "db",
        image: "postgres:16",
        short_id: "bbbbbbbbbbbb",
    };
    let mut usage = Aggregate::default();
    usage.add_sample(&sample(at, 3));
    offer_now(
        &handle,
        [
            container_point(&web, &sample(at, 3)).unwrap(),
            container_point(&db, &sample(at, 9)).unwrap(),
            endpoint_point("lab1", "lab-a", &usage, at).unwrap(),
        ],
    );

    let s = status_where(&handle, "3 points sent", |s| s.sent == 3);
    assert_eq!((s.queued, s.dropped, &s.last_error), (0, 0, &None));
    assert!(s.last_success.is_some());

    let series = wait_for("both containers' series", || {
        let series = vm.export("__name__=~\"container_.*\"");
        let containers: BTreeSet<&str> = series
            .iter()
            .map(|s| s.metric["container"].as_str())
            .collect();
        if series.len() == 16 && containers.len() == 2 {
            Ok(series)
        } else {
            Err(format!("{} series: {containers:?}", series.len()))
        }
    });

    let label = |s: &Series, k: &str| s.metric.get(k).cloned().unwrap_or_default();
    for s in &series {
        let expected: BTreeMap<String, String> = match label(s, "container").as_str() {
            "web-1" => [
                ("endpoint", "lab1"),
                ("cluster", "lab-a"),
                ("container", "web-1"),
                ("image", "busybox:local"),
                ("id", "aaaaaaaaaaaa"),
            ],
            "db" => [
                ("endpoint", "lab3"),
                ("cluster", "lab-b"),
                ("container", "db"),
                ("image", "postgres:16"),
                ("id", "bbbbbbbbbbbb"),
            ],
            other => panic!("unexpected container {other:?}"),
        }
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("__name__".to_string(), s.name().to_string())])
        .collect();
        assert_eq!(s.metric, expected, "labels are exactly the tags");
        assert_eq!(s.timestamps, [at.timestamp_millis()], "{}", s.name());
    }

    let names: BTreeSet<&str> = series
        .iter()
        .filter(|s| s.metric["container"] == "web-1")
        .map(Series::name)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "container_blk_read",
            "container_blk_write",
            "container_cpu_pct",
            "container_mem_limit",
            "container_mem_used",
            "container_net_rx",
            "container_net_tx",
            "container_pids",
        ])
    );
    let value = |name: &str, container: &str| {
        series
            .iter()
            .find(|s| s.name() == name && s.metric["container"] == container)
            .map(|s| s.values[0])
            .unwrap()
    };
    assert_eq!(value("container_mem_used", "web-1"), (64 << 20) as f64);
    assert_eq!(value("container_cpu_pct", "db"), 12.5);
    assert_eq!(value("container_pids", "db"), 9.0);

    let endpoint = wait_for("the endpoint point", || {
        let series = vm.export("__name__=\"endpoint_containers\"");
        series.into_iter().next().ok_or_else(|| "none".to_string())
    });
    assert_eq!(endpoint.metric["endpoint"], "lab1");
    assert_eq!(endpoint.metric["cluster"], "lab-a");
    assert_eq!(endpoint.values, [1.0]);
    eprintln!(
        "two containers exported and read back in {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_dead_server_costs_offer_nothing_and_sending_resumes_with_the_newest_points() {
    let t0 = Instant::now();
    let mut vm = Victoria::start();
    let rt = runtime();
    let handle = start(&rt, &settings(&vm.url(), 50));

    offer_now(
        &handle,
        container_point(&tags("probe"), &sample(Utc::now(), 1)),
    );
    status_where(&handle, "the probe sent", |s| s.sent == 1);

    vm.kill();
    // 200 points into a queue of 50, each one offered while the server is gone.
    let base = Utc::now();
    for i in 0..200 {
        let at = base + TimeDelta::milliseconds(i);
        offer_now(
            &handle,
            container_point(&tags("burst"), &sample(at, i as u64)),
        );
    }
    let down = status_where(&handle, "a failed send and a full queue", |s| {
        s.last_error.is_some() && s.queued == 50 && s.dropped == 150
    });
    eprintln!("server down: {down:?}");
    assert_eq!(down.sent, 1);
    let error = down.last_error.unwrap();
    assert!(
        error.starts_with("cannot connect to http://127.0.0.1:")
            && error.ends_with("Connection refused (os error 111)"),
        "{error}"
    );
    // Still instant while the exporter is failing.
    offer_now(&handle, None);

    vm.launch();
    let up = status_where(&handle, "the queue drained after the restart", |s| {
        s.queued == 0 && s.sent == 51
    });
    assert_eq!(up.last_error, None);
    assert_eq!(up.dropped, 150);

    // What the server has is exactly the newest 50: the oldest were the ones dropped.
    let newest: BTreeSet<i64> = (150..200).collect();
    wait_for("the 50 newest burst points", || {
        let got = pids_of(&vm, "burst");
        if got == newest {
            Ok(())
        } else {
            Err(format!(
                "{} values: {:?}…",
                got.len(),
                got.iter().take(5).collect::<Vec<_>>()
            ))
        }
    });

    offer_now(
        &handle,
        container_point(&tags("after"), &sample(Utc::now(), 7)),
    );
    status_where(&handle, "a new point sent", |s| s.sent == 52);
    wait_for("the new point readable", || {
        let got = pids_of(&vm, "after");
        if got.contains(&7) {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });
    eprintln!("down, dropped, restarted and resumed in {:?}", t0.elapsed());
}

#[test]
fn a_stalled_server_times_out_while_offer_stays_instant() {
    let t0 = Instant::now();
    let vm = Victoria::start();
    let rt = runtime();
    let handle = start(&rt, &settings(&vm.url(), 1000));

    offer_now(
        &handle,
        container_point(&tags("probe"), &sample(Utc::now(), 1)),
    );
    status_where(&handle, "the probe sent", |s| s.sent == 1);

    vm.pause();
    // Keep offering (as the app would every few seconds) while a request hangs.
    let mut i = 0u64;
    let stalled = wait_for("the request deadline to fire", || {
        i += 1;
        offer_now(
            &handle,
            container_point(&tags("stalled"), &sample(Utc::now(), i)),
        );
        let s = handle.status();
        match &s.last_error {
            Some(e) if e.contains("no answer") => Ok(s),
            _ => Err(format!("{s:?}")),
        }
    });
    vm.resume();
    eprintln!("server stalled: {stalled:?}");
    assert!(
        stalled
            .last_error
            .as_deref()
            .unwrap()
            .contains("within 1 s"),
        "{stalled:?}"
    );
    assert_eq!(stalled.dropped, 0);

    let offered = i;
    status_where(&handle, "everything sent after the server woke", |s| {
        s.queued == 0 && s.last_error.is_none() && s.sent > offered
    });
    // A request that timed out may still have been stored once the server woke, so its points
    // can arrive twice; what matters is that none is missing.
    wait_for("every stalled point readable", || {
        let got = pids_of(&vm, "stalled");
        let missing: Vec<u64> = (1..=offered)
            .filter(|n| !got.contains(&(*n as i64)))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {missing:?}"))
        }
    });
    eprintln!("stalled, timed out and recovered in {:?}", t0.elapsed());
}

#[test]
fn flush_now_and_shutdown_send_without_waiting_for_the_interval() {
    let vm = Victoria::start();
    let rt = runtime();
    let mut s = settings(&vm.url(), 100);
    s.interval = Duration::from_secs(3600);
    let handle = start(&rt, &s);

    offer_now(
        &handle,
        container_point(&tags("now"), &sample(Utc::now(), 1)),
    );
    handle.flush_now();
    status_where(&handle, "the point sent long before the interval", |s| {
        s.sent == 1
    });

    offer_now(
        &handle,
        container_point(&tags("last"), &sample(Utc::now(), 2)),
    );
    let t = Instant::now();
    let end = rt.block_on(handle.shutdown(Duration::from_secs(5)));
    assert_eq!((end.sent, end.queued, end.last_error), (2, 0, None));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    wait_for("the last point readable", || {
        let got = pids_of(&vm, "last");
        if got.contains(&2) {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });
}

#[test]
fn a_batch_the_server_refuses_is_dropped_and_reported_not_retried_forever() {
    // With a path prefix VictoriaMetrics answers 400 to /api/v2/write: the answer a server
    // gives a batch it will never take. Retrying it would block every point behind it.
    let vm = Victoria::start_with(&["-http.pathPrefix=/elsewhere"]);
    let rt = runtime();
    let handle = start(&rt, &settings(&vm.url(), 100));
    offer_now(
        &handle,
        [
            container_point(&tags("x"), &sample(Utc::now(), 1)).unwrap(),
            container_point(&tags("y"), &sample(Utc::now(), 2)).unwrap(),
        ],
    );
    let s = status_where(&handle, "the batch refused", |s| s.dropped == 2);
    assert_eq!((s.queued, s.sent), (0, 0));
    let error = s.last_error.unwrap();
    assert!(error.starts_with("400 Bad Request"), "{error}");
}

/// End to end against the lab: `fleetdeck export` samples a real container on lab2 and its points
/// arrive with the endpoint, cluster, container and image tags; killing and restarting the
/// server loses nothing the bounded queue could hold, and points flow again.
#[test]
fn the_export_command_ships_lab_container_stats_with_their_tags() {
    let lab = std::path::Path::new("/run/fleetdeck-lab/fleetdeck.toml");
    assert!(
        lab.exists(),
        "the Docker lab is not up: run scripts/lab.sh up (the test command does)"
    );
    let mut vm = Victoria::start();
    let name = format!("export-{}", std::process::id());
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .args(["-H", "tcp://10.203.2.2:2375"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success() || args[0] == "rm",
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    docker(&["rm", "-f", &name]);
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox:local",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleetdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[endpoint]]\nname = \"lab2\"\nurl = \"tcp://10.203.2.2:2375\"\ncluster = \"lab-a\"\n\n\
             [stats]\ninterval_s = 1\n\n\
             [influx]\nurl = \"{}\"\norg = \"ops\"\nbucket = \"fleet\"\ntoken_env = \"FD_TEST_TOKEN\"\ninterval_s = 1\n",
            vm.url()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
        .args(["--config", config.to_str().unwrap(), "export"])
        .env("FD_TEST_TOKEN", "not-a-secret")
        .env("XDG_STATE_HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let selector = format!("__name__=\"container_cpu_pct\",container=\"{name}\"");
    let series = wait_for("cpu points of the lab container", || {
        let s = vm.export(&selector);
        if s.first().is_some_and(|s| s.values.len() >= 2) {
            Ok(s)
        } else {
            Err(format!("{s:?}"))
        }
    });
    let m = &series[0].metric;
    assert_eq!(m["endpoint"], "lab2");
    assert_eq!(m["cluster"], "lab-a");
    assert_eq!(m["image"], "busybox:local");
    assert_eq!(m["id"].len(), 12);
    assert!(
        series[0].values.iter().any(|v| *v > 50.0),
        "the burner burns: {:?}",
        series[0].values
    );
    let endpoint_series = wait_for("endpoint totals", || {
        let s = vm.export("__name__=\"endpoint_cpu_pct\",endpoint=\"lab2\"");
        if s.is_empty() {
            Err("none".into())
        } else {
            Ok(s)
        }
    });
    assert_eq!(endpoint_series[0].metric["cluster"], "lab-a");

    // Server gone for a while, then back: points flow again by themselves.
    vm.kill();
    std::thread::sleep(Duration::from_secs(3)); // an outage to ride out, not a synchronisation
    let before = Utc::now().timestamp_millis();
    vm.launch();
    wait_for("points newer than the outage", || {
        let s = vm.export(&selector);
        let newest = s
            .iter()
            .flat_map(|s| s.timestamps.iter().copied())
            .max()
            .unwrap_or(0);
        if newest > before {
            Ok(())
        } else {
            Err(format!("newest {newest} <= {before}"))
        }
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "export kept running through the outage"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "export exits cleanly on SIGTERM: {err}");
    assert!(err.contains("export stopped:"), "{err}");
    docker(&["rm", "-f", &name]);
}
