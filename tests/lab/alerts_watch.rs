//! `fleetdeck watch` end to end: the real binary, run as a child process with a config written
//! to a temp dir, watching lab daemons, its rules scoped to containers (and a network) this
//! file creates under a unique name, and its `[[notify]]` target a webhook receiver in the
//! test (`webhook.rs`). Each case makes one alert fire and resolve, then stops watch with
//! SIGTERM (it flushes its queue) and checks the receiver got exactly one firing and one
//! resolved notice for it, and that stderr logged both. The partition case cuts lab6 (TLS), as
//! `partition.rs` does, under the same lock.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::partition::Blackhole;
use crate::support::{RemoveOnDrop, daemon_events, docker, docker_raw, lab_config, unique};
use crate::webhook::{Receiver, Request};

const LAB1: &str = "unix:///run/fleetdeck-lab/lab1/docker.sock";

/// `fleetdeck watch` running as a child; SIGKILLed on drop if a test failed before stopping it.
struct WatchRun {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl WatchRun {
    /// Writes `config` into a temp dir and starts `fleetdeck --config FILE watch` on it.
    fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("fleetdeck.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetdeck"))
            .arg("--config")
            .arg(&path)
            .arg("watch")
            .env("XDG_STATE_HOME", dir.path())
            .env("FLEETDECK_AUDIT", dir.path().join("audit.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fleetdeck watch starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("  watch: {line}");
                lines.lock().unwrap().push(line);
            }
        });
        let run = Self {
            child,
            stderr,
            _dir: dir,
        };
        run.wait_stderr("watch started", Duration::from_secs(10), |l| {
            l.contains("fleetdeck: watching")
        });
        run
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_stderr(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        while !self.stderr().iter().any(|l| pred(l)) {
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for stderr: {what}\n{}",
                self.stderr().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits (with a deadline) for a clean exit: 0, after flushing.
    fn stop(mut self) -> Vec<String> {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "watch still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread has the last lines once the pipe closes.
        let closed = Instant::now() + Duration::from_secs(2);
        while !self.stderr().iter().any(|l| l.contains("watch stopped")) && Instant::now() < closed
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let lines = self.stderr();
        assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
        assert!(
            lines.iter().any(|l| l.contains("watch stopped")),
            "{}",
            lines.join("\n")
        );
        lines
    }
}

impl Drop for WatchRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config: `endpoints` as TOML, one rule, the receiver's `/hook` as the only target.
fn config(endpoints: &str, rule: &str, rx: &Receiver, extra: &str) -> String {
    format!(
        "{extra}\n[engine]\nping_s = 1\nbackoff_max_s = 2\nrequest_timeout_s = 5\ndown_after_s = 6\n\n\
         {endpoints}\n\
         {rule}\n[[notify]]\nname = \"test\"\nurl = \"{}\"\n",
        rx.url("/hook")
    )
}

fn lab1_endpoint() -> String {
    format!("[[endpoint]]\nname = \"lab1\"\nurl = \"{LAB1}\"\n")
}

fn rule(name: &str, scope: &str, when: &str, for_: &str) -> String {
    format!(
        "[[alert]]\nname = \"{name}\"\nscope = \"{scope}\"\nwhen = \"{when}\"\nfor = \"{for_}\"\n\
         severity = \"critical\"\n"
    )
}

/// A case over one labelled container on lab1: the receiver, the container's name (and run
/// id, its label's value: `label:fdaw=RUN` is the rule's scope), removed on drop.
struct Case {
    lab: fleetdeck::config::Config,
    rx: Receiver,
    name: String,
    /// `fdaw=RUN`: what the rule's scope matches.
    label: String,
    _cleanup: RemoveOnDrop,
}

impl Case {
    /// The case and a watch whose one rule `rule` (`when`, `for_`) scopes its container.
    fn start(
        prefix: &str,
        rule_name: &str,
        when: &str,
        for_: &str,
        extra: &str,
    ) -> (Self, WatchRun) {
        let lab = lab_config(&["lab1"]);
        let rx = Receiver::start();
        let run_id = unique(prefix);
        let watch = WatchRun::start(&config(
            &lab1_endpoint(),
            &rule(rule_name, &format!("label:fdaw={run_id}"), when, for_),
            &rx,
            extra,
        ));
        let mut cleanup = RemoveOnDrop::new(&lab, "lab1");
        let name = cleanup.add(run_id.clone());
        let case = Self {
            lab,
            rx,
            name,
            label: format!("fdaw={run_id}"),
            _cleanup: cleanup,
        };
        (case, watch)
    }

    /// `docker run -d --name NAME --label fdaw=RUN ARGS…` on lab1.
    fn run(&self, args: &[&str]) {
        docker(&self.lab, "lab1", &self.run_args(true, args));
    }

    /// The same in the foreground, for a container that exits at once; its exit code is the
    /// test's business, not a failure.
    fn run_attached(&self, args: &[&str]) {
        let _ = docker_raw(&self.lab, "lab1", &self.run_args(false, args));
    }

    fn run_args<'a>(&'a self, detach: bool, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["run"];
        if detach {
            all.push("-d");
        }
        all.extend(["--name", self.name.as_str(), "--label", self.label.as_str()]);
        all.extend_from_slice(args);
        all
    }
}

/// The notices of `rule` the receiver accepted, as (state, subject).
fn notices(rx: &Receiver, rule: &str) -> Vec<(String, String)> {
    rx.delivered("/hook")
        .iter()
        .map(Request::json)
        .filter(|v| v["rule"] == rule)
        .map(|v| {
            (
                v["state"].as_str().unwrap_or_default().to_string(),
                v["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn wait_notice(rx: &Receiver, rule: &str, state: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    rx.wait_until(&format!("{rule} {state}"), limit, |reqs| {
        reqs.iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(Request::json)
            .any(|v| v["rule"] == rule && v["state"] == state)
    });
    started.elapsed()
}

/// After the run: exactly one firing and one resolved for `rule`, on one subject that contains
/// `subject`, in that order; stderr logged both.
fn assert_fired_and_resolved_once(rx: &Receiver, rule: &str, subject: &str, stderr: &[String]) {
    let got = notices(rx, rule);
    assert_eq!(
        got.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["firing", "resolved"],
        "{got:?}"
    );
    assert_eq!(got[0].1, got[1].1);
    assert!(got[0].1.contains(subject), "subject {:?}", got[0].1);
    for state in ["firing", "resolved"] {
        let lines: Vec<&String> = stderr
            .iter()
            .filter(|l| l.contains(&format!("Z {state} ")) && l.contains(subject))
            .collect();
        assert_eq!(lines.len(), 1, "one {state} line on stderr: {stderr:#?}");
    }
}

#[test]
fn alerts_watch_memory_hog_fires_within_for_and_an_interval_and_resolves_when_stopped() {
    let for_s = 4;
    let interval_s = 2;
    let (case, watch) = Case::start(
        "fdaw-mem",
        "mem-high",
        "memory_pct > 90",
        &format!("{for_s}s"),
        &format!("[stats]\ninterval_s = {interval_s}\n"),
    );
    let Case { lab, rx, name, .. } = &case;
    // 60 MB of tmpfs in a 64 MB container: shared memory is charged to it and cannot be
    // reclaimed without swap, so its usage stays above 90 % of the limit. It fills after a
    // while, so watch has been sampling it (a first figure takes two readings) when it crosses.
    case.run(&[
        "-m",
        "64m",
        "--memory-swap",
        "64m",
        "--shm-size",
        "80m",
        "busybox:local",
        "sh",
        "-c",
        "sleep 6; dd if=/dev/zero of=/dev/shm/fill bs=1M count=60 2>/dev/null; echo filled; \
             sleep 600",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !docker(lab, "lab1", &["logs", name]).contains("filled") {
        assert!(Instant::now() < deadline, "the hog never filled its memory");
        std::thread::sleep(Duration::from_millis(100));
    }
    // `for` and one stats interval, plus two ticks of a second: the daemon answers a stats
    // request at its collector's next tick, and watch sees `for` pass at its next evaluation.
    let limit = Duration::from_secs(for_s + interval_s + 3);
    let took = wait_notice(rx, "mem-high", "firing", limit);
    eprintln!(
        "memory hog firing {took:?} after it filled (for {for_s} s, stats every {interval_s} s)"
    );
    docker(lab, "lab1", &["stop", "-t", "0", name]);
    let took = wait_notice(rx, "mem-high", "resolved", Duration::from_secs(15));
    eprintln!("resolved {took:?} after the stop");
    let stderr = watch.stop();
    assert_fired_and_resolved_once(rx, "mem-high", name, &stderr);
}

#[test]
fn alerts_watch_restart_loop_fires_once_and_resolves_after_its_window() {
    let (case, watch) = Case::start("fdaw-loop", "loop", "restarts >= 3 in 20s", "0s", "");
    let Case { lab, rx, name, .. } = &case;
    case.run(&[
        "--restart",
        "always",
        "busybox:local",
        "sh",
        "-c",
        "sleep 1; exit 3",
    ]);
    let took = wait_notice(rx, "loop", "firing", Duration::from_secs(30));
    eprintln!("restart loop firing after {took:?}");
    // Out of the loop: no more deaths, so the window empties.
    docker(lab, "lab1", &["update", "--restart", "no", name]);
    docker(lab, "lab1", &["stop", "-t", "0", name]);
    let took = wait_notice(rx, "loop", "resolved", Duration::from_secs(40));
    eprintln!("resolved {took:?} after the loop ended");
    let stderr = watch.stop();
    assert_fired_and_resolved_once(rx, "loop", name, &stderr);
}

#[test]
fn alerts_watch_oom_kill_fires_once_and_resolves_when_removed() {
    let (case, watch) = Case::start("fdaw-oom", "oom", "oom killed", "0s", "");
    let Case { lab, rx, name, .. } = &case;
    // A string that doubles until the 8 MB limit kills the shell.
    case.run(&[
        "-m",
        "8m",
        "--memory-swap",
        "8m",
        "busybox:local",
        "sh",
        "-c",
        "x=a; while :; do x=$x$x; done",
    ]);
    let took = wait_notice(rx, "oom", "firing", Duration::from_secs(30));
    eprintln!("OOM kill firing after {took:?}");
    // The daemon did say `oom` for it. (Not its inspect's `OOMKilled`: containerd may deliver
    // the exit before the OOM, and Docker then records `false` for a run it reported as
    // OOM-killed; fleetdeck keeps the event's word.)
    let said = daemon_events(lab, "lab1", "10m", name, "oom");
    assert_eq!(said, "oom", "the daemon's oom events for {name}");
    docker(lab, "lab1", &["rm", "-f", name]);
    wait_notice(rx, "oom", "resolved", Duration::from_secs(15));
    let stderr = watch.stop();
    assert_fired_and_resolved_once(rx, "oom", name, &stderr);
}

/// A container that prints a fatal line after a while, under a log rule; with `read_only`
/// the config is read-only everywhere, which must change nothing.
fn log_regex_case(read_only: bool) {
    let (case, watch) = Case::start(
        if read_only { "fdaw-logro" } else { "fdaw-log" },
        "fatal",
        "log =~ 'FATAL: disk [0-9]+ on fire' in 1m",
        "0s",
        if read_only { "read_only = true\n" } else { "" },
    );
    let Case { lab, rx, name, .. } = &case;
    case.run(&[
        "busybox:local",
        "sh",
        "-c",
        "echo booting; echo 'FATAL: disk ? on fire'; sleep 2; echo 'FATAL: disk 7 on fire'; \
             sleep 600",
    ]);
    let took = wait_notice(rx, "fatal", "firing", Duration::from_secs(20));
    eprintln!("log rule firing after {took:?}");
    // The line that does not match ("?") did not fire on its own: the value is one match.
    docker(lab, "lab1", &["rm", "-f", name]);
    wait_notice(rx, "fatal", "resolved", Duration::from_secs(15));
    let stderr = watch.stop();
    assert_fired_and_resolved_once(rx, "fatal", name, &stderr);
    let body = rx
        .delivered("/hook")
        .iter()
        .map(Request::json)
        .find(|v| v["state"] == "firing")
        .unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap_or_default()
            .contains(name.as_str()),
        "{body}"
    );
}

#[test]
fn alerts_watch_log_regex_fires_once_and_resolves_when_removed() {
    log_regex_case(false);
}

#[test]
fn alerts_watch_read_only_changes_nothing_about_alerting() {
    log_regex_case(true);
}

#[test]
fn alerts_watch_pool_over_80_percent_fires_once_and_resolves_below() {
    let lab = lab_config(&["lab1"]);
    let rx = Receiver::start();
    let run_id = unique("fdaw-pool");
    // A /29: 8 addresses, the network and broadcast ones kept back. 4 containers take 6 of 8
    // (75 %), a fifth 7 of 8 (87.5 %). The third octet from the run's id keeps reruns apart.
    let octet = u8::from_str_radix(&run_id[run_id.len() - 2..], 16).unwrap();
    let subnet = format!("10.231.{octet}.0/29");
    let net = format!("{run_id}-net");
    let _ = docker_raw(&lab, "lab1", &["network", "rm", &net]);
    docker(
        &lab,
        "lab1",
        &["network", "create", "--subnet", &subnet, &net],
    );
    /// Removes the network; declared before the containers' guard, so dropped after it.
    struct NetworkOnDrop(fleetdeck::config::Config, String);
    impl Drop for NetworkOnDrop {
        fn drop(&mut self) {
            let _ = docker_raw(&self.0, "lab1", &["network", "rm", &self.1]);
        }
    }
    let _network = NetworkOnDrop(lab.clone(), net.clone());
    let mut cleanup = RemoveOnDrop::new(&lab, "lab1");
    let run = |name: &str| {
        docker(
            &lab,
            "lab1",
            &[
                "run",
                "-d",
                "--name",
                name,
                "--network",
                &net,
                "busybox:local",
                "sleep",
                "600",
            ],
        );
    };
    for i in 0..4 {
        let name = cleanup.add(format!("{run_id}-{i}"));
        run(&name);
    }
    let watch = WatchRun::start(&config(
        &lab1_endpoint(),
        &rule("pool-full", &net, "pool_use_pct > 80", "0s"),
        &rx,
        "",
    ));
    let fifth = cleanup.add(format!("{run_id}-4"));
    run(&fifth);
    let took = wait_notice(&rx, "pool-full", "firing", Duration::from_secs(20));
    eprintln!("pool firing after {took:?}");
    docker(&lab, "lab1", &["rm", "-f", &fifth]);
    wait_notice(&rx, "pool-full", "resolved", Duration::from_secs(20));
    let stderr = watch.stop();
    assert_fired_and_resolved_once(&rx, "pool-full", &subnet, &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_watch_blackholed_endpoint_fires_once_and_resolves_when_lifted() {
    // lab6 is the daemon the partition tests cut; they take turns on this lock.
    let _turn = crate::remote::LAB6.lock().await;
    let rx = Receiver::start();
    let tls = format!("{}/client", crate::remote::TLS_DIR);
    let endpoints = format!(
        "[[endpoint]]\nname = \"lab6\"\nurl = \"{}\"\ntls = {{ dir = \"{tls}\" }}\n",
        crate::remote::LAB6_TLS
    );
    let watch = WatchRun::start(&config(
        &endpoints,
        &rule("down", "@lab6", "endpoint down", "0s"),
        &rx,
        "",
    ));
    let cut = Blackhole::new("10.203.6.2");
    let took = wait_notice(&rx, "down", "firing", Duration::from_secs(30));
    eprintln!("lab6 down notice {took:?} after the cut");
    drop(cut);
    let took = wait_notice(&rx, "down", "resolved", Duration::from_secs(40));
    eprintln!("resolved {took:?} after the rule was lifted");
    let stderr = watch.stop();
    assert_fired_and_resolved_once(&rx, "down", "lab6", &stderr);
}

#[test]
fn alerts_watch_receiver_answering_500_then_200_gets_the_notice_exactly_once() {
    let (case, watch) = Case::start("fdaw-retry", "exit", "exited nonzero", "0s", "");
    let Case { rx, .. } = &case;
    // Nothing fires before the container below exits.
    rx.answer_next(&[500]);
    case.run_attached(&["busybox:local", "sh", "-c", "exit 3"]);
    wait_notice(rx, "exit", "firing", Duration::from_secs(20));
    // The failed try is said, whether the retry has cured it by then or not.
    watch.wait_stderr(
        "the failed try said on stderr",
        Duration::from_secs(5),
        |l| l.contains("fleetdeck: notify test: ") && l.contains("HTTP 500"),
    );
    let stderr = watch.stop();
    let firing: Vec<u16> = rx
        .requests()
        .iter()
        .filter(|r| r.json()["rule"] == "exit")
        .map(|r| r.status)
        .collect();
    assert_eq!(firing, [500, 200], "one failure, then one delivery");
    assert_eq!(notices(rx, "exit").len(), 1);
    assert!(!stderr.iter().any(|l| l.contains("gave up")), "{stderr:#?}");
}
